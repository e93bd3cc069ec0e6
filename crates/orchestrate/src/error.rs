//! The one error type commands return. Each variant is one exit code of SPEC §4; `main` does
//! the mapping and the printing.

use crate::settings::Problems;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad input or plan (exit 2). The problems are rendered in full by `main`.
    #[error("{}", .0.summary_line())]
    BadInput(Problems),
    /// The release ran and failed, rolled back or not (exit 1).
    #[error("the release failed: {0}")]
    DeploymentFailed(String),
    /// A health check failed (`orchestrate health`, exit 1).
    #[error("not healthy: {0}")]
    Unhealthy(String),
    /// GitHub refused: auth, permissions, not found (exit 3).
    #[error("github refused the request: {0}")]
    GitHubRefused(String),
    /// The release or a run exceeded its time limit (exit 4).
    #[error("timed out: {0}")]
    TimedOut(String),
    /// Anything unexpected: I/O on the runner files, a bug (exit 5).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Problems> for Failure {
    fn from(problems: Problems) -> Failure {
        Failure::BadInput(problems)
    }
}

/// Exit codes, SPEC §4.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const DEPLOYMENT_FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const GITHUB_REFUSED: u8 = 3;
    pub const TIMED_OUT: u8 = 4;
    pub const INTERNAL: u8 = 5;
}
