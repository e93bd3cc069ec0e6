//! The scheduler: a pure state machine that decides what to deploy, cancel and roll back.
//! The driver feeds it [`Event`]s and executes the [`Command`]s it returns; time is data.
//!
//! # Protocol
//!
//! - `Start` dispatches the first services. A service is dispatched only when every service it
//!   needs is *verified* (run succeeded and health gate passed, or no gate). `sequential`
//!   keeps one service in flight, `parallel` up to `max_parallel`; both take ready services in
//!   file order. `canary` first runs the canary services and what they need (as parallel); when
//!   every canary service is verified it sends `Bake{until}` and waits for a `Tick` at or after
//!   `until` before running the rest (as parallel). A zero bake, or nothing left after the
//!   canary, skips the bake. During the bake a failing `HealthVerdict` on a canary fails it.
//! - `Dispatch` → `Dispatched` → `Await` → `RunFinished`; on success `Check` → `HealthVerdict`
//!   (without a health gate, run success is verification).
//! - A failure (run failed, health failed, `TimedOut`) skips everything downstream of it
//!   (`Skip{NeedFailed}`); a timed-out service is also sent `Cancel`. With `fail_fast`, every
//!   other service in flight is sent `Cancel` and every other pending service is skipped
//!   (`Skip{Stopped}`); without it, independent branches carry on. A failure before the
//!   canary is released skips everything outside the canary set at once.
//! - `ReleaseTimeout` and `Abort` cancel everything in flight and skip everything pending.
//!   Services cancelled this way end `TimedOut` / `Cancelled`.
//! - A `Cancel` is answered by `Cancelled` (or by `RunFinished` when the run concluded first;
//!   a successful one counts as deployed). Nothing more starts until no service is in flight.
//! - Then, if anything went wrong and `rollback_on_failure` is set, every service whose run
//!   succeeded (verified or not: its new version went out) is handled in reverse order of run
//!   success, which is reverse dependency order: irreversible ones get `Halt` (report only),
//!   the others `Rollback`, one at a time, each awaited by `RollbackFinished`.
//! - `Done` comes last and exactly once: `succeeded` when every service verified;
//!   `cancelled` after an `Abort`; otherwise `rolled_back` when at least one rollback ran and
//!   every rollback succeeded (halted irreversible services do not prevent it), else `failed`.
//!   The [`DoneReason`] is the first cause (`Failed`, `TimedOut` or `Aborted`), so a
//!   timeout maps to exit code 4.
//!   A per-service `TimedOut` counts as `TimedOut` too.
//! - `ReleaseTimeout` and `Abort` are rejected once nothing new may start anyway (after a
//!   fail-fast failure, a timeout or an abort) and during the rollback phase: the driver bounds
//!   each rollback itself and reports an overrun as a failed rollback. Without fail-fast, a
//!   release that goes on after a failure still accepts them.
//! - Outcomes ([`Scheduler::outcome`]): a verified or cancelled service that was rolled back
//!   reports `rolled_back` (or `halted`); a failed or timed-out one stays so, its rollback
//!   shows in [`Scheduler::rollbacks`].
//!
//! The snapshots next to the tests are readable transcripts of whole releases (`> event`,
//! `<   command`) for the reference plan under each strategy and failure.
//!
//! Events that do not apply (unknown service, duplicate, wrong state, after `Done`) change
//! nothing and return no commands; [`Scheduler::try_event`] says why.

mod protocol;

use std::collections::VecDeque;
use std::time::Duration;

pub use protocol::{
    Command, DoneReason, Event, NodeSpec, Rejected, SchedulerConfig, SkipReason, StrategyConfig,
};

use super::graph::{Graph, GraphError};
use crate::report::{ReleaseStatus, RollbackOutcome};

#[cfg(test)]
mod direct_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

mod progress;
mod state;

pub use state::{RollbackStatus, ServiceState, ServiceStatus};

#[derive(Debug, Clone)]
struct Slot {
    state: ServiceState,
    /// What a `Cancelling` service becomes once the cancel is answered.
    cancel_as: ServiceState,
    skip: Option<SkipReason>,
    /// Position in the order of run successes.
    deployed: Option<u64>,
    rollback: Option<RollbackStatus>,
}

#[derive(Debug, Clone)]
struct CanaryGate {
    /// The canary services and what they need.
    first: Vec<bool>,
    services: Vec<usize>,
    bake: Duration,
    released: bool,
}

#[derive(Debug, Clone)]
enum Phase {
    NotStarted,
    Deploying,
    Baking {
        until: Duration,
    },
    RollingBack {
        queue: VecDeque<usize>,
        current: Option<usize>,
    },
    Finished {
        status: ReleaseStatus,
        reason: DoneReason,
    },
}

/// The release's state machine. See the module documentation for the protocol.
#[derive(Debug, Clone)]
pub struct Scheduler {
    graph: Graph,
    irreversible: Vec<bool>,
    has_health: Vec<bool>,
    cap: usize,
    canary: Option<CanaryGate>,
    fail_fast: bool,
    rollback_on_failure: bool,
    slots: Vec<Slot>,
    phase: Phase,
    /// The first reason the release went wrong.
    cause: Option<DoneReason>,
    /// Nothing new starts (fail-fast failure, timeout, abort).
    stopped: bool,
    deploy_seq: u64,
    rollback_log: Vec<(usize, RollbackOutcome)>,
}

impl Scheduler {
    /// Fails only when the nodes do not form an acyclic graph (duplicates, unknown needs,
    /// cycles), which plan validation already rules out.
    pub fn new(config: SchedulerConfig) -> Result<Self, GraphError> {
        let graph = Graph::new(
            config
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.needs.clone())),
        )?;
        let n = graph.len();
        let (cap, canary) = match config.strategy {
            StrategyConfig::Sequential => (1, None),
            StrategyConfig::Parallel { max_parallel } => (max_parallel.max(1), None),
            StrategyConfig::Canary {
                services,
                bake,
                max_parallel,
            } => {
                let services: Vec<usize> =
                    services.iter().filter_map(|s| graph.index_of(s)).collect();
                let gate = (!services.is_empty()).then(|| {
                    let mut first = vec![false; n];
                    for i in graph.upstream_idx(&services) {
                        first[i] = true;
                    }
                    CanaryGate {
                        first,
                        services,
                        bake,
                        released: false,
                    }
                });
                (max_parallel.max(1), gate)
            }
        };
        Ok(Scheduler {
            irreversible: config.nodes.iter().map(|n| n.irreversible).collect(),
            has_health: config.nodes.iter().map(|n| n.has_health).collect(),
            graph,
            cap,
            canary,
            fail_fast: config.fail_fast,
            rollback_on_failure: config.rollback_on_failure,
            slots: vec![
                Slot {
                    state: ServiceState::Pending,
                    cancel_as: ServiceState::Cancelled,
                    skip: None,
                    deployed: None,
                    rollback: None,
                };
                n
            ],
            phase: Phase::NotStarted,
            cause: None,
            stopped: false,
            deploy_seq: 0,
            rollback_log: Vec::new(),
        })
    }

    /// Handles one event; an event that does not apply returns no commands.
    pub fn on_event(&mut self, event: Event) -> Vec<Command> {
        self.try_event(event).unwrap_or_default()
    }

    /// Handles one event, saying why when it does not apply (nothing changes then).
    pub fn try_event(&mut self, event: Event) -> Result<Vec<Command>, Rejected> {
        match self.phase {
            Phase::Finished { .. } => return Err(Rejected::Finished),
            Phase::NotStarted if !matches!(event, Event::Start { .. }) => {
                return Err(Rejected::NotStarted);
            }
            _ => {}
        }
        let now = event.now();
        let mut out = Vec::new();
        match event {
            Event::Start { .. } => {
                if !matches!(self.phase, Phase::NotStarted) {
                    return Err(Rejected::AlreadyStarted);
                }
                self.phase = Phase::Deploying;
            }
            Event::Dispatched { service, .. } => self.on_dispatched(&service, &mut out)?,
            Event::RunFinished {
                service, success, ..
            } => self.on_run_finished(&service, success, &mut out)?,
            Event::HealthVerdict { service, ok, .. } => self.on_health(&service, ok, &mut out)?,
            Event::Tick { .. } => {
                if let Phase::Baking { until } = self.phase
                    && now >= until
                {
                    self.release_canary();
                }
            }
            Event::Cancelled { service, .. } => {
                let i = self.lookup(&service)?;
                self.expect_state(i, &[ServiceState::Cancelling])?;
                self.slots[i].state = self.slots[i].cancel_as;
            }
            Event::TimedOut { service, .. } => {
                let i = self.lookup(&service)?;
                self.expect_state(
                    i,
                    &[
                        ServiceState::Dispatching,
                        ServiceState::Running,
                        ServiceState::Checking,
                    ],
                )?;
                self.cancel(i, ServiceState::TimedOut, &mut out);
                self.fail(i, DoneReason::TimedOut, &mut out);
            }
            Event::ReleaseTimeout { .. } => {
                self.stop(DoneReason::TimedOut, ServiceState::TimedOut, &mut out)?;
            }
            Event::Abort { .. } => {
                self.stop(DoneReason::Aborted, ServiceState::Cancelled, &mut out)?;
            }
            Event::RollbackFinished {
                service, outcome, ..
            } => self.on_rollback_finished(&service, outcome)?,
        }
        self.pump(now, &mut out);
        Ok(out)
    }

    fn lookup(&self, service: &str) -> Result<usize, Rejected> {
        self.graph
            .index_of(service)
            .ok_or_else(|| Rejected::UnknownService(service.to_owned()))
    }

    fn expect_state(&self, i: usize, allowed: &[ServiceState]) -> Result<(), Rejected> {
        let state = self.slots[i].state;
        if allowed.contains(&state) {
            Ok(())
        } else {
            Err(self.wrong_state(i))
        }
    }

    fn wrong_state(&self, i: usize) -> Rejected {
        Rejected::WrongState {
            service: self.graph.name(i).to_owned(),
            state: self.slots[i].state.as_str(),
        }
    }

    fn on_dispatched(&mut self, service: &str, out: &mut Vec<Command>) -> Result<(), Rejected> {
        let i = self.lookup(service)?;
        let slot = &mut self.slots[i];
        match slot.state {
            ServiceState::Dispatching => {
                slot.state = ServiceState::Running;
                out.push(Command::Await {
                    service: service.to_owned(),
                });
                Ok(())
            }
            // The cancel already sent covers the run now known; nothing more to do.
            ServiceState::Cancelling if slot.deployed.is_none() => Ok(()),
            _ => Err(self.wrong_state(i)),
        }
    }

    fn on_run_finished(
        &mut self,
        service: &str,
        success: bool,
        out: &mut Vec<Command>,
    ) -> Result<(), Rejected> {
        let i = self.lookup(service)?;
        match self.slots[i].state {
            ServiceState::Dispatching | ServiceState::Running => {
                if !success {
                    self.slots[i].state = ServiceState::Failed;
                    self.fail(i, DoneReason::Failed, out);
                    return Ok(());
                }
                self.mark_deployed(i);
                if self.has_health[i] {
                    self.slots[i].state = ServiceState::Checking;
                    out.push(Command::Check {
                        service: service.to_owned(),
                    });
                } else {
                    self.slots[i].state = ServiceState::Verified;
                }
                Ok(())
            }
            // The run concluded before the cancel took effect.
            ServiceState::Cancelling if self.slots[i].deployed.is_none() => {
                if success {
                    self.mark_deployed(i);
                }
                self.slots[i].state = self.slots[i].cancel_as;
                Ok(())
            }
            _ => Err(self.wrong_state(i)),
        }
    }

    fn on_health(
        &mut self,
        service: &str,
        ok: bool,
        out: &mut Vec<Command>,
    ) -> Result<(), Rejected> {
        let i = self.lookup(service)?;
        let state = self.slots[i].state;
        let baking_canary = matches!(self.phase, Phase::Baking { .. })
            && self
                .canary
                .as_ref()
                .is_some_and(|c| c.services.contains(&i));
        match state {
            ServiceState::Checking if ok => self.slots[i].state = ServiceState::Verified,
            ServiceState::Checking => {
                self.slots[i].state = ServiceState::Failed;
                self.fail(i, DoneReason::Failed, out);
            }
            ServiceState::Verified if baking_canary && !ok => {
                self.slots[i].state = ServiceState::Failed;
                // The bake is over: nothing is in flight and the rest never starts.
                self.phase = Phase::Deploying;
                self.fail(i, DoneReason::Failed, out);
            }
            ServiceState::Verified if baking_canary => {}
            _ => return Err(self.wrong_state(i)),
        }
        Ok(())
    }

    fn on_rollback_finished(
        &mut self,
        service: &str,
        outcome: RollbackOutcome,
    ) -> Result<(), Rejected> {
        let i = self.lookup(service)?;
        match &mut self.phase {
            Phase::RollingBack { current, .. } if *current == Some(i) => {
                *current = None;
                self.slots[i].rollback = Some(RollbackStatus::Finished(outcome.clone()));
                self.rollback_log.push((i, outcome));
                Ok(())
            }
            _ => Err(self.wrong_state(i)),
        }
    }

    fn mark_deployed(&mut self, i: usize) {
        self.deploy_seq += 1;
        self.slots[i].deployed = Some(self.deploy_seq);
    }

    fn cancel(&mut self, i: usize, cancel_as: ServiceState, out: &mut Vec<Command>) {
        let slot = &mut self.slots[i];
        slot.state = ServiceState::Cancelling;
        slot.cancel_as = cancel_as;
        out.push(Command::Cancel {
            service: self.graph.name(i).to_owned(),
        });
    }

    fn skip(&mut self, i: usize, reason: SkipReason, out: &mut Vec<Command>) {
        let slot = &mut self.slots[i];
        slot.state = ServiceState::Skipped;
        slot.skip = Some(reason.clone());
        out.push(Command::Skip {
            service: self.graph.name(i).to_owned(),
            reason,
        });
    }
}
