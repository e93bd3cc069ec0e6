//! The release engine: takes validated [`Settings`], reads the registry, checks compatibility,
//! takes the environment's lock, records the release set, then drives the core's scheduler
//! on tokio: every command it returns (dispatch, await, health check, bake, cancel, rollback)
//! runs as a task whose result comes back as the scheduler's next event. It ends with the
//! deployment statuses, the release set's status and a [`RunReport`].
//!
//! Layout: `prepare` (registry, compatibility, lock) → `driver` (the event loop over `svc`, the
//! state of each service; `launch` for the commands that start work, `cancel` for cancels,
//! `events` for what tasks report, `approval` for runs waiting for an environment gate, `bake`
//! for the canary's bake, `rollback` for rollbacks, `announce` for notifications sent while it
//! runs) with `tasks` (the async work of each command) → `finish` (statuses, the report and its
//! manifest: `manifest`). `session` holds what the commands share around it.
//! Time goes through [`pace::Pace`] so a rehearsal on the accelerated emulator keeps the
//! plan's timings (a 5m bake, a 60s health timeout) in GitHub time.

pub mod health;
pub mod lease;
pub mod manifest;
pub mod metrics;
pub mod observe;
pub mod pace;
pub mod registry;
pub mod rehearsal;
pub mod session;
pub mod vars;

mod announce;
mod approval;
mod bake;
mod cancel;
mod driver;
mod events;
mod finish;
mod launch;
mod prepare;
mod rollback;
mod svc;
mod tasks;

use std::path::PathBuf;
use std::sync::Arc;

use orchestrate_core::report::RunReport;
use orchestrate_github::{GitHub, Pacing, Repo};

pub use announce::Notifications;
pub use health::HealthRoute;
pub use metrics::Metrics;
pub use observe::Observer;
pub use pace::Pace;

use crate::settings::Settings;

/// What is released, and where it is recorded.
#[derive(Debug, Clone)]
pub struct Release {
    pub settings: Settings,
    /// The repository the release set is recorded in (the orchestrating repository).
    pub orchestrator: Repo,
    /// The ref of the release-set deployment there.
    pub orchestrator_ref: String,
    /// The orchestrating workflow run, when there is one.
    pub run_url: Option<String>,
}

/// How the engine reaches the world.
pub struct Engine {
    pub github: Arc<dyn GitHub>,
    /// For health checks (no GitHub token on it).
    pub http: reqwest::Client,
    pub pace: Pace,
    /// How awaited runs are polled.
    pub poll: Pacing,
    pub health_route: HealthRoute,
    /// Artifacts are unpacked below it.
    pub work_dir: PathBuf,
    /// Clock skew allowed between us and GitHub when matching runs by creation time.
    pub skew: chrono::Duration,
    /// Where start notifications go (`None`: nothing is sent, as in a rehearsal).
    pub notify: Option<Arc<Notifications>>,
    /// The plan's artifact store: the manifest at the end, shared artifacts on the way.
    pub store: Arc<crate::store::Store>,
}

/// How a release ended, for the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Succeeded,
    /// A run, a health gate or a rollback failed (exit 1).
    Failed,
    /// A service's or the release's time limit passed (exit 4).
    TimedOut,
    /// Stopped by the user (exit 1).
    Cancelled,
    /// GitHub refused a request during the release (exit 3); the message has the remedy.
    Refused(String),
}

#[derive(Debug)]
pub struct Outcome {
    pub report: RunReport,
    pub end: End,
    pub metrics: Metrics,
    /// Notification events already sent while the release ran (`deployment_started`,
    /// `rollback_started`); the end of release notifications leave them out.
    pub announced: Vec<orchestrate_core::notify::rule::Event>,
}

/// Why a release did not start. Nothing was dispatched.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `requires` ranges violated (exit 2).
    #[error("incompatible release: {}", .0.join("; "))]
    Incompatible(Vec<String>),
    /// Templates would render without a value (exit 2): service, field and variable each.
    #[error("unresolvable template variables: {}", .0.join("; "))]
    Unresolvable(Vec<String>),
    /// GitHub refused a registry read or the release-set record (exit 3).
    #[error("{0}")]
    Refused(String),
    /// The environment stayed locked by another release for as long as this one could wait
    /// (exit 1).
    #[error("{0}")]
    Locked(String),
    /// GitHub could not be reached or answered unexpectedly (exit 5).
    #[error("{0}")]
    GitHub(String),
    /// The plan's artifact store cannot be used (exit 2): unreachable, bad credentials, no
    /// such bucket.
    #[error("artifact store: {message}")]
    Store { message: String, hint: String },
}

impl StartError {
    fn from_github(err: &orchestrate_github::Error) -> StartError {
        if err.is_refusal() {
            StartError::Refused(err.to_string())
        } else {
            StartError::GitHub(err.to_string())
        }
    }
}

/// Runs the release to its end.
pub async fn execute(
    engine: &Engine,
    release: &Release,
    observer: &mut dyn Observer,
) -> Result<Outcome, StartError> {
    let prepared = prepare::prepare(engine, release, observer).await?;
    Ok(driver::drive(engine, release, prepared, observer).await)
}
