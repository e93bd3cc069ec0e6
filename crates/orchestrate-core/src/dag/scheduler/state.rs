//! What the scheduler knows about each service, and the read-only views the driver builds
//! its report from.

use super::{DoneReason, Phase, Scheduler, SkipReason};
use crate::dag::Graph;
use crate::report::{ReleaseStatus, RollbackOutcome, ServiceOutcome};

/// Where a service is in its deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceState {
    Pending,
    /// `Dispatch` sent, run not yet known.
    Dispatching,
    /// Run known and awaited.
    Running,
    /// Run succeeded; health gate in progress.
    Checking,
    /// `Cancel` sent, answer awaited.
    Cancelling,
    Verified,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
}

impl ServiceState {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Pending => "pending",
            ServiceState::Dispatching => "dispatching",
            ServiceState::Running => "running",
            ServiceState::Checking => "checking",
            ServiceState::Cancelling => "cancelling",
            ServiceState::Verified => "verified",
            ServiceState::Failed => "failed",
            ServiceState::TimedOut => "timed out",
            ServiceState::Cancelled => "cancelled",
            ServiceState::Skipped => "skipped",
        }
    }

    /// Started and not settled: counts against `max_parallel`.
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            ServiceState::Dispatching
                | ServiceState::Running
                | ServiceState::Checking
                | ServiceState::Cancelling
        )
    }
}

/// The rollback side of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackStatus {
    InProgress,
    Finished(RollbackOutcome),
    /// Irreversible: left as deployed.
    Halted,
}

/// A snapshot of one service for the driver's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub name: String,
    pub state: ServiceState,
    pub skip: Option<SkipReason>,
    /// Its run succeeded, so its new version went out (verified or not).
    pub deployed: bool,
    pub rollback: Option<RollbackStatus>,
}

impl Scheduler {
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The final status and reason, once `Done` was sent.
    pub fn done(&self) -> Option<(ReleaseStatus, DoneReason)> {
        match self.phase {
            Phase::Finished { status, reason } => Some((status, reason)),
            _ => None,
        }
    }

    pub fn state(&self, service: &str) -> Option<ServiceState> {
        self.graph.index_of(service).map(|i| self.slots[i].state)
    }

    pub fn status(&self, service: &str) -> Option<ServiceStatus> {
        self.graph.index_of(service).map(|i| self.status_of(i))
    }

    /// Every service in file order.
    pub fn statuses(&self) -> Vec<ServiceStatus> {
        (0..self.slots.len()).map(|i| self.status_of(i)).collect()
    }

    /// The report outcome of a service; `None` while it is pending or in flight. A verified
    /// or cancelled service that was rolled back or halted reports that; a failed or timed-out
    /// one stays failed or timed out (its rollback shows in [`Scheduler::rollbacks`]).
    pub fn outcome(&self, service: &str) -> Option<ServiceOutcome> {
        self.graph
            .index_of(service)
            .and_then(|i| self.outcome_of(i))
    }

    /// Every service in file order with its outcome (`None` while unsettled).
    pub fn outcomes(&self) -> Vec<(String, Option<ServiceOutcome>)> {
        (0..self.slots.len())
            .map(|i| (self.graph.name(i).to_owned(), self.outcome_of(i)))
            .collect()
    }

    /// Rollbacks and halts in the order they happened; a halt is reported as `Refused`.
    pub fn rollbacks(&self) -> Vec<(String, RollbackOutcome)> {
        self.rollback_log
            .iter()
            .map(|(i, o)| (self.graph.name(*i).to_owned(), o.clone()))
            .collect()
    }

    fn status_of(&self, i: usize) -> ServiceStatus {
        let slot = &self.slots[i];
        ServiceStatus {
            name: self.graph.name(i).to_owned(),
            state: slot.state,
            skip: slot.skip.clone(),
            deployed: slot.deployed.is_some(),
            rollback: slot.rollback.clone(),
        }
    }

    fn outcome_of(&self, i: usize) -> Option<ServiceOutcome> {
        let slot = &self.slots[i];
        // A failure stays visible as such; the rollback report says it was rolled back.
        let failed = matches!(slot.state, ServiceState::Failed | ServiceState::TimedOut);
        match &slot.rollback {
            _ if failed => {}
            Some(RollbackStatus::Finished(RollbackOutcome::Succeeded)) => {
                return Some(ServiceOutcome::RolledBack);
            }
            Some(RollbackStatus::Halted) => return Some(ServiceOutcome::Halted),
            _ => {}
        }
        match slot.state {
            ServiceState::Verified => Some(ServiceOutcome::Succeeded),
            ServiceState::Failed => Some(ServiceOutcome::Failed),
            ServiceState::TimedOut => Some(ServiceOutcome::TimedOut),
            ServiceState::Cancelled => Some(ServiceOutcome::Cancelled),
            ServiceState::Skipped => Some(ServiceOutcome::Skipped),
            _ => None,
        }
    }
}
