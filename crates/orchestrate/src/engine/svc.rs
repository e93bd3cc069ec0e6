//! What the driver knows about each service of the release set while it runs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orchestrate_core::dag::SkipReason;
use orchestrate_core::plan::Service;
use orchestrate_core::report::{ApprovalReport, FailureDetail, HealthVerdict};
use orchestrate_github::{DeploymentId, Dispatched, RunSummary};
use tokio::task::AbortHandle;

/// What the driver knows about one service of the release set.
#[derive(Debug)]
pub struct Svc {
    pub spec: Service,
    pub target: String,
    pub dispatched_at: Option<Duration>,
    pub settled_at: Option<Duration>,
    pub dispatched: Option<Dispatched>,
    pub run: Option<RunSummary>,
    pub deployment: Option<DeploymentId>,
    pub health: HealthVerdict,
    pub failure: Option<FailureDetail>,
    pub skipped: Option<SkipReason>,
    /// A `Cancel` came before the run was known.
    pub(super) cancel_pending: bool,
    pub(super) task: Option<AbortHandle>,
    /// Emulated time since the start when its own limit passes.
    pub(super) deadline: Option<Duration>,
    /// GitHub's completion time of the run and when the driver noticed it.
    pub detection: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// When the run was first seen past `queued` (GitHub's clock).
    pub started_seen: Option<DateTime<Utc>>,
    /// Why its gate fails whatever its health says (its run succeeded but what it had to hand
    /// on downstream, its artifacts, could not be read).
    pub(super) gate_problem: Option<String>,
    /// Its cancel could not be sent (or did not take): its run may still be running.
    pub(super) cancel_failed: bool,
    /// The artifacts its run handed on (`share:`).
    pub shared: Vec<orchestrate_core::artifact::ArtifactRef>,
    /// Its run waits for an environment gate now (see `approval`).
    pub(super) gate: Option<super::approval::GateWait>,
    /// Each wait of its run for an environment gate, for the report.
    pub approvals: Vec<ApprovalReport>,
    /// `approval_required` was announced for it (once per release).
    pub(super) approval_announced: bool,
}

impl Svc {
    /// A service of the release set before anything happened to it, deploying `target`.
    pub fn new(spec: &Service, target: String) -> Svc {
        Svc {
            spec: spec.clone(),
            target,
            dispatched_at: None,
            settled_at: None,
            dispatched: None,
            run: None,
            deployment: None,
            health: if spec.health.is_some() {
                HealthVerdict::NotChecked
            } else {
                HealthVerdict::NoCheck
            },
            failure: None,
            skipped: None,
            cancel_pending: false,
            task: None,
            deadline: None,
            detection: None,
            started_seen: None,
            gate_problem: None,
            cancel_failed: false,
            shared: Vec::new(),
            gate: None,
            approvals: Vec::new(),
            approval_announced: false,
        }
    }
}
