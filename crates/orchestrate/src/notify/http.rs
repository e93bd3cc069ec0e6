//! HTTP for the Slack and webhook channels: a rustls client with bundled roots, one POST per
//! attempt, and the classification of its result into done, transient or permanent, with
//! error messages that never carry the (secret) URL.

use std::time::Duration;

use crate::notify::retry::AttemptError;

/// A client that works without an OS certificate store (the action's image is minimal): the
/// GitHub crate's recipe, so every HTTPS client of orchestrate trusts the same roots.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    orchestrate_github::client::https_client_builder()
        .build()
        .map_err(reqwest::Error::without_url)
}

/// Describes a reqwest error with its causes but without the URL it was about.
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut out = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn classify_error(err: reqwest::Error) -> AttemptError {
    let transient = err.is_connect() || err.is_timeout() || err.is_request() || err.is_body();
    let message = describe(err);
    AttemptError {
        transient,
        retry_after: None,
        message,
    }
}

/// `retry-after` in seconds (the form Slack and most services use); an HTTP date is ignored
/// and the policy's backoff applies.
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// POSTs `body` as JSON with `headers`; 2xx is done, 408/429/5xx and network errors are
/// transient, anything else is permanent. The response body is quoted (briefly) because
/// services explain refusals there (Slack: `invalid_token`, `no_service`).
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
    timeout: Duration,
) -> Result<(), AttemptError> {
    let mut req = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.map_err(classify_error)?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let wait = retry_after(&resp);
    let text = resp.text().await.unwrap_or_default();
    let snippet: String = text.trim().chars().take(200).collect();
    let mut message = format!("HTTP {status}");
    if !snippet.is_empty() {
        message.push_str(&format!(": {snippet}"));
    }
    let transient = status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT;
    Err(AttemptError {
        transient,
        retry_after: wait,
        message,
    })
}
