//! The async work behind each scheduler command: dispatching a run (here), awaiting it
//! (`await_run`: recording its deployment, following its waits for an environment gate in
//! `gate`, reading the failed job and step, downloading artifacts), cancelling it (`cancel`), and rolling a service back (`rollback`). Each task
//! reports back to the driver's loop with [`Msg`]s.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use orchestrate_core::plan::{Service, Trigger};
use orchestrate_core::report::{FailureDetail, HealthVerdict, RollbackOutcome, RunRef};
use orchestrate_github::{
    DeploymentId, DispatchRequest, Dispatched, GitHub, RepositoryDispatchRequest, RunSummary,
    RunWatcher,
};
use tokio::sync::mpsc::UnboundedSender;

mod await_run;
mod cancel;
mod gate;
mod rollback;

pub use await_run::{DeploymentSpec, await_run};
pub use cancel::{CancelResult, cancel};
pub use gate::AutoApproval;
pub use rollback::rollback;

/// A task's report to the driver.
#[derive(Debug)]
pub enum Msg {
    Dispatched {
        service: String,
        result: Result<Dispatched, Problem>,
    },
    /// The awaited run is known (from the dispatch answer or found by correlation).
    RunKnown {
        service: String,
        run: RunSummary,
    },
    DeploymentCreated {
        service: String,
        id: DeploymentId,
    },
    /// The run was first seen past `queued` (in progress or already completed), at this time
    /// on GitHub's clock: the end of its wait for a runner, to within one poll.
    RunStarted {
        service: String,
        at: DateTime<Utc>,
    },
    RunDone {
        service: String,
        run: RunSummary,
        /// When GitHub's clock said the run completed was noticed (for the measurement).
        noticed: DateTime<Utc>,
        failure: Option<FailureDetail>,
        /// `artifact name → JSON fields`, when the run succeeded and declared artifacts.
        artifacts: BTreeMap<String, BTreeMap<String, String>>,
        /// The artifacts it hands on (`share:`), referenced.
        shared: Vec<orchestrate_core::artifact::ArtifactRef>,
        /// The run succeeded but its declared artifacts could not be handed on: its new
        /// version went out, so it counts as deployed and fails at its gate instead.
        artifact_problem: Option<Problem>,
    },
    /// The run waits for its environment gate (first seen at `seen`, GitHub's clock): what it
    /// waits for, read once, and what `auto_approve` did.
    ApprovalWaiting {
        service: String,
        gates: Vec<orchestrate_github::PendingGate>,
        auto: AutoApproval,
        seen: DateTime<Utc>,
    },
    /// The run left its wait (seen at `seen`): the review that decided it, when the run's
    /// review history shows one (a wait timer alone leaves none).
    ApprovalEnded {
        service: String,
        review: Option<orchestrate_github::Review>,
        seen: DateTime<Utc>,
    },
    /// A second run carries the awaited run's correlation id (a re-sent dispatch's first
    /// attempt created a run after all); the watcher cancelled it.
    Duplicate {
        service: String,
        duplicate: orchestrate_github::Duplicate,
    },
    /// The run could not be awaited (the watcher gave up, …).
    AwaitFailed {
        service: String,
        problem: Problem,
    },
    Health {
        service: String,
        verdict: HealthVerdict,
    },
    Tick,
    /// A canary failed its health checks during the bake.
    BakeUnhealthy {
        service: String,
        verdict: HealthVerdict,
    },
    /// A cancel was answered (see [`CancelResult`]).
    CancelDone {
        service: String,
        result: CancelResult,
    },
    RollbackDone {
        service: String,
        outcome: RollbackOutcome,
        run: Option<RunRef>,
        reason: Option<String>,
    },
}

/// What went wrong, and whether GitHub refused (exit 3).
#[derive(Debug, Clone)]
pub struct Problem {
    pub message: String,
    pub refusal: bool,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            refusal: false,
        }
    }
}

impl From<orchestrate_github::Error> for Problem {
    fn from(e: orchestrate_github::Error) -> Problem {
        Problem {
            refusal: e.is_refusal(),
            message: e.to_string(),
        }
    }
}

/// Everything a task needs, cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub github: Arc<dyn GitHub>,
    pub watcher: Arc<RunWatcher>,
    pub tx: UnboundedSender<Msg>,
    pub skew: chrono::Duration,
    pub now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// Where shared typed documents are copied (`s3`/`local` stores).
    pub store: Arc<crate::store::Store>,
}

/// Sends a `workflow_dispatch` or `repository_dispatch` of `workflow` (the service's own when
/// `None`) with `inputs`.
pub async fn dispatch(
    github: &Arc<dyn GitHub>,
    service: &Service,
    workflow: Option<&str>,
    inputs: BTreeMap<String, String>,
) -> Result<Dispatched, Problem> {
    match &service.trigger {
        Trigger::WorkflowDispatch {
            workflow: deploy,
            git_ref,
        } => {
            let req = DispatchRequest {
                repo: service.repo.clone(),
                workflow: workflow.unwrap_or(deploy).to_owned(),
                git_ref: git_ref.clone(),
                inputs,
                correlate: service.correlate,
            };
            Ok(github.dispatch(&req).await?)
        }
        Trigger::RepositoryDispatch {
            event_type,
            workflow: deploy,
        } => {
            let req = RepositoryDispatchRequest {
                repo: service.repo.clone(),
                event_type: event_type.clone(),
                workflow: workflow.unwrap_or(deploy).to_owned(),
                client_payload: inputs
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            };
            Ok(github.repository_dispatch(&req).await?)
        }
    }
}
