//! The scheduler's vocabulary: its configuration, the events the driver reports and the
//! commands it receives back, with a one-line text form for logs and test transcripts.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use crate::plan::{Plan, Strategy};
use crate::report::{ReleaseStatus, RollbackOutcome};

/// One service of the release set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    /// Services of the release set it needs. Needs on services outside the release set are
    /// satisfied by the registry and must be left out.
    pub needs: Vec<String>,
    /// Halted, never rolled back.
    pub irreversible: bool,
    /// A health gate runs after its run succeeds; without one, run success is verification.
    pub has_health: bool,
}

/// How much runs at once. `max_parallel` below 1 counts as 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyConfig {
    /// One service in flight at a time, in topological order (file order breaks ties).
    Sequential,
    /// Every ready service, at most `max_parallel` in flight.
    Parallel { max_parallel: usize },
    /// The canary services and what they need (as parallel), then a bake, then the rest (as
    /// parallel). Names not in the release set are ignored; with none left it is parallel.
    Canary {
        services: Vec<String>,
        bake: Duration,
        max_parallel: usize,
    },
}

impl StrategyConfig {
    /// The strategy of a plan, with `strategy` overriding the plan's (the input may do so).
    /// A canary plan without a `canary:` section runs as parallel.
    pub fn from_plan(plan: &Plan, strategy: Strategy) -> Self {
        match (strategy, &plan.canary) {
            (Strategy::Sequential, _) => StrategyConfig::Sequential,
            (Strategy::Canary, Some(canary)) => StrategyConfig::Canary {
                services: canary.services.clone(),
                bake: canary.bake,
                max_parallel: plan.max_parallel,
            },
            (Strategy::Parallel | Strategy::Canary, _) => StrategyConfig::Parallel {
                max_parallel: plan.max_parallel,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// The release set in plan file order; the order breaks every tie.
    pub nodes: Vec<NodeSpec>,
    pub strategy: StrategyConfig,
    /// On a failure, cancel what is in flight and start nothing new. Without it, branches
    /// that do not need the failed service carry on.
    pub fail_fast: bool,
    /// Roll back what was deployed when the release fails, times out or is aborted.
    pub rollback_on_failure: bool,
}

impl SchedulerConfig {
    /// The configuration for the services of `plan` in `release` (file order kept, needs
    /// outside the release set dropped), fail-fast on.
    pub fn for_release(
        plan: &Plan,
        release: &BTreeSet<String>,
        strategy: Strategy,
        rollback_on_failure: bool,
    ) -> Self {
        let nodes = plan
            .services
            .iter()
            .filter(|s| release.contains(&s.name))
            .map(|s| NodeSpec {
                name: s.name.clone(),
                needs: s
                    .needs
                    .iter()
                    .filter(|n| release.contains(*n))
                    .cloned()
                    .collect(),
                irreversible: s.irreversible,
                has_health: s.health.is_some(),
            })
            .collect();
        SchedulerConfig {
            nodes,
            strategy: StrategyConfig::from_plan(plan, strategy),
            fail_fast: true,
            rollback_on_failure,
        }
    }
}

/// What the driver reports. `now` is the time since the release started, as the driver's
/// clock says; the scheduler never reads a clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Begin; answered by the first dispatches.
    Start { now: Duration },
    /// The run for a `Dispatch` exists (its id is known to the driver).
    Dispatched { service: String, now: Duration },
    /// The run concluded; `success` only for the `success` conclusion. A dispatch that could
    /// not create a run is reported as a failed run.
    RunFinished {
        service: String,
        success: bool,
        now: Duration,
    },
    /// The health gate's verdict after a `Check`; during a bake, a failing verdict on a
    /// canary service fails the canary.
    HealthVerdict {
        service: String,
        ok: bool,
        now: Duration,
    },
    /// Time passed (ends a bake when `now` reaches its `until`).
    Tick { now: Duration },
    /// A `Cancel` took effect (the run was cancelled or the health gate stopped).
    Cancelled { service: String, now: Duration },
    /// The service's own time limit passed while it was in flight.
    TimedOut { service: String, now: Duration },
    /// The release's time limit passed.
    ReleaseTimeout { now: Duration },
    /// A `Rollback` finished.
    RollbackFinished {
        service: String,
        outcome: RollbackOutcome,
        now: Duration,
    },
    /// The user cancelled the release.
    Abort { now: Duration },
}

impl Event {
    pub fn now(&self) -> Duration {
        match self {
            Event::Start { now }
            | Event::Dispatched { now, .. }
            | Event::RunFinished { now, .. }
            | Event::HealthVerdict { now, .. }
            | Event::Tick { now }
            | Event::Cancelled { now, .. }
            | Event::TimedOut { now, .. }
            | Event::ReleaseTimeout { now }
            | Event::RollbackFinished { now, .. }
            | Event::Abort { now } => *now,
        }
    }

    /// The service the event is about, if any.
    pub fn service(&self) -> Option<&str> {
        match self {
            Event::Dispatched { service, .. }
            | Event::RunFinished { service, .. }
            | Event::HealthVerdict { service, .. }
            | Event::Cancelled { service, .. }
            | Event::TimedOut { service, .. }
            | Event::RollbackFinished { service, .. } => Some(service),
            Event::Start { .. }
            | Event::Tick { .. }
            | Event::ReleaseTimeout { .. }
            | Event::Abort { .. } => None,
        }
    }
}

/// Why a service never started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `failed` (something it needs, directly or transitively) failed, timed out or was
    /// cancelled.
    NeedFailed { failed: String },
    /// The release stopped first: fail-fast, a failed canary, a timeout or an abort.
    Stopped,
}

/// Why the release ended; `TimedOut` maps to exit code 4, `Failed` to 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoneReason {
    /// Every service verified.
    Completed,
    /// A run or a health gate failed.
    Failed,
    /// A service's or the release's time limit passed.
    TimedOut,
    /// The user cancelled.
    Aborted,
}

/// What the driver must do. Every command naming a service that expects an answer is
/// answered by one event: `Dispatch` by `Dispatched` (or a failed `RunFinished`), `Await` by
/// `RunFinished`, `Check` by `HealthVerdict`, `Cancel` by `Cancelled` (or `RunFinished` when
/// the run concluded first), `Rollback` by `RollbackFinished`, `Bake` by a `Tick` at `until`.
/// `Skip` and `Halt` are for the report only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Dispatch {
        service: String,
    },
    Await {
        service: String,
    },
    Check {
        service: String,
    },
    Bake {
        until: Duration,
    },
    /// Cancel the run (or stop the health gate). May come before `Dispatched`: the driver
    /// then cancels the run as soon as it knows it.
    Cancel {
        service: String,
    },
    Skip {
        service: String,
        reason: SkipReason,
    },
    Rollback {
        service: String,
    },
    /// Irreversible: deployed and left as is; report it, never roll it back.
    Halt {
        service: String,
    },
    /// The last command, sent exactly once.
    Done {
        status: ReleaseStatus,
        reason: DoneReason,
    },
}

impl Command {
    pub fn service(&self) -> Option<&str> {
        match self {
            Command::Dispatch { service }
            | Command::Await { service }
            | Command::Check { service }
            | Command::Cancel { service }
            | Command::Skip { service, .. }
            | Command::Rollback { service }
            | Command::Halt { service } => Some(service),
            Command::Bake { .. } | Command::Done { .. } => None,
        }
    }
}

/// Why an event changed nothing. The scheduler ignores such events; the driver may log them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no service `{0}` in the release set")]
    UnknownService(String),
    #[error("the release has not started")]
    NotStarted,
    #[error("the release has already started")]
    AlreadyStarted,
    #[error("the release is over")]
    Finished,
    #[error("`{service}` is {state}: this event does not apply")]
    WrongState {
        service: String,
        state: &'static str,
    },
    #[error("the release is already stopping")]
    AlreadyStopping,
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}.{:03}s", d.as_secs(), d.subsec_millis())
    }
}

fn ok(b: bool) -> &'static str {
    if b { "ok" } else { "failed" }
}

fn rollback_outcome(o: &RollbackOutcome) -> &'static str {
    match o {
        RollbackOutcome::Succeeded => "succeeded",
        RollbackOutcome::Failed => "failed",
        RollbackOutcome::Refused => "refused",
        RollbackOutcome::NoPrevious => "no_previous",
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", secs(self.now()))?;
        match self {
            Event::Start { .. } => write!(f, "Start"),
            Event::Dispatched { service, .. } => write!(f, "Dispatched {service}"),
            Event::RunFinished {
                service, success, ..
            } => write!(f, "RunFinished {service} {}", ok(*success)),
            Event::HealthVerdict { service, ok: v, .. } => {
                write!(f, "HealthVerdict {service} {}", ok(*v))
            }
            Event::Tick { .. } => write!(f, "Tick"),
            Event::Cancelled { service, .. } => write!(f, "Cancelled {service}"),
            Event::TimedOut { service, .. } => write!(f, "TimedOut {service}"),
            Event::ReleaseTimeout { .. } => write!(f, "ReleaseTimeout"),
            Event::RollbackFinished {
                service, outcome, ..
            } => write!(
                f,
                "RollbackFinished {service} {}",
                rollback_outcome(outcome)
            ),
            Event::Abort { .. } => write!(f, "Abort"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Dispatch { service } => write!(f, "Dispatch {service}"),
            Command::Await { service } => write!(f, "Await {service}"),
            Command::Check { service } => write!(f, "Check {service}"),
            Command::Bake { until } => write!(f, "Bake until {}", secs(*until)),
            Command::Cancel { service } => write!(f, "Cancel {service}"),
            Command::Skip {
                service,
                reason: SkipReason::NeedFailed { failed },
            } => write!(f, "Skip {service} (needs {failed}, which failed)"),
            Command::Skip {
                service,
                reason: SkipReason::Stopped,
            } => write!(f, "Skip {service} (release stopped)"),
            Command::Rollback { service } => write!(f, "Rollback {service}"),
            Command::Halt { service } => write!(f, "Halt {service}"),
            Command::Done { status, reason } => {
                write!(f, "Done {} ({reason:?})", status.as_str())
            }
        }
    }
}
