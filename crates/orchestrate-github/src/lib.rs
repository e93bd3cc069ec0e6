//! The only crate of orchestrate that talks to GitHub: the [`GitHub`] trait (one method per use
//! case, orchestrate's own types in and out), its REST implementation [`Client`], the
//! [`RunWatcher`] that awaits runs cheaply, and the pure policies behind them (poll intervals,
//! backoff, rate-limit pacing, correlation, `Link` parsing, safe unzip), and the Actions
//! results-service client that uploads artifacts to the run orchestrate runs in (`results.rs`). The issue notification
//! channel's calls are inherent methods of [`Client`] (`issues.rs`).

mod api;
pub mod approvals;
mod artifacts;
pub mod auth;
pub mod client;
pub mod correlate;
pub mod deployments;
mod dispatch;
pub mod error;
mod etag;
#[cfg(test)]
mod fake;
pub mod forecast;
mod gate;
mod issues;
pub mod link;
mod models;
pub mod pacing;
pub mod results;
mod runs;
pub mod stats;
mod transport;
pub mod types;
pub mod unzip;
pub mod watch;

pub use api::{BoxFuture, GitHub};
pub use approvals::{GateReview, PendingGate, Review, Reviewer};
pub use artifacts::verify_digest;
pub use auth::{Credentials, Secret};
pub use client::{ApiVersion, Client, ClientConfig, Method, Request, Response, SecretHook};
pub use error::{Error, Result};
pub use forecast::{Forecast, ForecastPolicy};
pub use pacing::{PollPolicy, RetryPolicy};
pub use stats::{RequestStats, StatsSnapshot};
pub use types::*;
pub use watch::{Duplicate, Pacing, RunHandle, RunState, RunWatcher, WatchFailure, WatchTarget};
