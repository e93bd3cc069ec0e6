//! The request log: every request the emulator answers, readable by tests and benchmarks.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One answered request. The token itself is never stored, only the id it was configured with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Status answered; 0 when the connection was reset instead.
    pub status: u16,
    /// Whether the request was counted against the token's primary rate limit.
    pub counted: bool,
    /// The configured id of the token used, if one was recognised.
    pub token_id: Option<String>,
    /// Emulated time at which the request arrived.
    pub at: DateTime<Utc>,
    /// Wall-clock time at which the request arrived.
    pub wall: DateTime<Utc>,
}

impl RecordedRequest {
    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}
