//! How the release moves forward: failures and stops, new dispatches, the canary gate, the
//! rollback phase and the final status.

use std::time::Duration;

use super::{
    Command, DoneReason, Phase, Rejected, RollbackStatus, Scheduler, ServiceState, SkipReason,
};
use crate::report::{ReleaseStatus, RollbackOutcome};

impl Scheduler {
    /// Service `failed` failed: skip what needs it, and stop the rest as the strategy says.
    pub(super) fn fail(&mut self, failed: usize, cause: DoneReason, out: &mut Vec<Command>) {
        self.cause.get_or_insert(cause);
        if self.fail_fast {
            self.stopped = true;
            for i in 0..self.slots.len() {
                if i != failed
                    && self.slots[i].state.in_flight()
                    && self.slots[i].state != ServiceState::Cancelling
                {
                    self.cancel(i, ServiceState::Cancelled, out);
                }
            }
        }
        let mut downstream = vec![false; self.slots.len()];
        for i in self.graph.downstream_idx(&[failed]) {
            downstream[i] = true;
        }
        let canary_pending = self
            .canary
            .as_ref()
            .filter(|c| !c.released)
            .map(|c| c.first.clone());
        for i in 0..self.slots.len() {
            if self.slots[i].state != ServiceState::Pending {
                continue;
            }
            if downstream[i] {
                let failed = self.graph.name(failed).to_owned();
                self.skip(i, SkipReason::NeedFailed { failed }, out);
            } else if self.fail_fast || canary_pending.as_ref().is_some_and(|first| !first[i]) {
                self.skip(i, SkipReason::Stopped, out);
            }
        }
    }

    /// Timeout or abort: cancel everything in flight, skip everything pending.
    pub(super) fn stop(
        &mut self,
        cause: DoneReason,
        cancel_as: ServiceState,
        out: &mut Vec<Command>,
    ) -> Result<(), Rejected> {
        let draining = self.stopped && !matches!(self.phase, Phase::Baking { .. });
        if draining || matches!(self.phase, Phase::RollingBack { .. }) {
            return Err(Rejected::AlreadyStopping);
        }
        self.cause.get_or_insert(cause);
        self.stopped = true;
        self.phase = Phase::Deploying;
        for i in 0..self.slots.len() {
            let state = self.slots[i].state;
            if state.in_flight() && state != ServiceState::Cancelling {
                self.cancel(i, cancel_as, out);
            }
        }
        for i in 0..self.slots.len() {
            if self.slots[i].state == ServiceState::Pending {
                self.skip(i, SkipReason::Stopped, out);
            }
        }
        Ok(())
    }

    pub(super) fn release_canary(&mut self) {
        self.phase = Phase::Deploying;
        if let Some(gate) = &mut self.canary {
            gate.released = true;
        }
    }

    /// Moves the release forward after an event: new dispatches, the canary gate, the end of
    /// the deploy phase, the next rollback, `Done`.
    pub(super) fn pump(&mut self, now: Duration, out: &mut Vec<Command>) {
        match self.phase {
            Phase::Deploying => {}
            Phase::RollingBack { .. } => return self.next_rollback(out),
            Phase::NotStarted | Phase::Baking { .. } | Phase::Finished { .. } => return,
        }
        if !self.stopped {
            self.dispatch_ready(out);
            if self.canary_ready() {
                let bake = self.canary.as_ref().map_or(Duration::ZERO, |c| c.bake);
                if bake.is_zero() {
                    self.release_canary();
                    self.dispatch_ready(out);
                } else {
                    let until = now + bake;
                    self.phase = Phase::Baking { until };
                    out.push(Command::Bake { until });
                    return;
                }
            }
        }
        if self.slots.iter().any(|s| s.state.in_flight()) {
            return;
        }
        // Nothing in flight and nothing could start: whatever is still pending never will.
        for i in 0..self.slots.len() {
            if self.slots[i].state == ServiceState::Pending {
                self.cause.get_or_insert(DoneReason::Failed);
                self.skip(i, SkipReason::Stopped, out);
            }
        }
        if self.cause.is_some() && self.rollback_on_failure {
            let mut deployed: Vec<(u64, usize)> = (0..self.slots.len())
                .filter_map(|i| self.slots[i].deployed.map(|seq| (seq, i)))
                .collect();
            deployed.sort_unstable_by(|a, b| b.cmp(a));
            self.phase = Phase::RollingBack {
                queue: deployed.into_iter().map(|(_, i)| i).collect(),
                current: None,
            };
            self.next_rollback(out);
        } else {
            self.finish(out);
        }
    }

    /// The canary services are all verified and the rest has not been released yet.
    pub(super) fn canary_ready(&self) -> bool {
        let Some(gate) = &self.canary else {
            return false;
        };
        if gate.released || self.cause.is_some() {
            return false;
        }
        let all_verified = gate
            .services
            .iter()
            .all(|&i| self.slots[i].state == ServiceState::Verified);
        let rest_waiting = (0..self.slots.len())
            .any(|i| !gate.first[i] && self.slots[i].state == ServiceState::Pending);
        all_verified && rest_waiting
    }

    pub(super) fn dispatch_ready(&mut self, out: &mut Vec<Command>) {
        let mut in_flight = self.slots.iter().filter(|s| s.state.in_flight()).count();
        for i in 0..self.slots.len() {
            if in_flight >= self.cap {
                break;
            }
            let allowed = self
                .canary
                .as_ref()
                .is_none_or(|gate| gate.released || gate.first[i]);
            let ready = self.slots[i].state == ServiceState::Pending
                && allowed
                && self
                    .graph
                    .needs(i)
                    .iter()
                    .all(|&j| self.slots[j].state == ServiceState::Verified);
            if ready {
                self.slots[i].state = ServiceState::Dispatching;
                out.push(Command::Dispatch {
                    service: self.graph.name(i).to_owned(),
                });
                in_flight += 1;
            }
        }
    }

    pub(super) fn next_rollback(&mut self, out: &mut Vec<Command>) {
        loop {
            let Phase::RollingBack { queue, current } = &mut self.phase else {
                return;
            };
            if current.is_some() {
                return;
            }
            let Some(i) = queue.pop_front() else {
                return self.finish(out);
            };
            let service = self.graph.name(i).to_owned();
            if self.irreversible[i] {
                self.slots[i].rollback = Some(RollbackStatus::Halted);
                self.rollback_log.push((i, RollbackOutcome::Refused));
                out.push(Command::Halt { service });
            } else {
                *current = Some(i);
                self.slots[i].rollback = Some(RollbackStatus::InProgress);
                out.push(Command::Rollback { service });
            }
        }
    }

    pub(super) fn finish(&mut self, out: &mut Vec<Command>) {
        let (status, reason) = match self.cause {
            None => (ReleaseStatus::Succeeded, DoneReason::Completed),
            Some(DoneReason::Aborted) => (ReleaseStatus::Cancelled, DoneReason::Aborted),
            Some(reason) => {
                let attempted: Vec<&RollbackOutcome> = self
                    .slots
                    .iter()
                    .filter_map(|s| match &s.rollback {
                        Some(RollbackStatus::Finished(o)) => Some(o),
                        _ => None,
                    })
                    .collect();
                let rolled_back = !attempted.is_empty()
                    && attempted.iter().all(|o| **o == RollbackOutcome::Succeeded);
                let status = if rolled_back {
                    ReleaseStatus::RolledBack
                } else {
                    ReleaseStatus::Failed
                };
                (status, reason)
            }
        };
        self.phase = Phase::Finished { status, reason };
        out.push(Command::Done { status, reason });
    }
}
