//! Cancelling a service's run (the scheduler's `Cancel`): stopping its health gate, waiting
//! for a dispatch still in flight, or cancelling the run in a task that follows it until it
//! stops.

use std::time::Duration;

use orchestrate_core::dag::Event;
use orchestrate_github::{Dispatched, RunSummary};

use super::driver::Driver;
use super::tasks;

/// How long a cancelled run is followed until it completes (emulated time).
pub(super) const CANCEL_SETTLE: Duration = Duration::from_secs(10 * 60);

impl Driver<'_> {
    pub(super) fn cancel(&mut self, name: &str, now: Duration) {
        self.end_wait_on_cancel(name, now);
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        let checking = svc.run.as_ref().is_some_and(RunSummary::succeeded);
        let dispatching = svc.dispatched.is_none()
            && svc.dispatched_at.is_some()
            && svc.failure.is_none()
            && !checking;
        // The dispatch task is left to answer: aborted, it would never report (the service
        // would stay cancelling forever) and a run it may have created would go uncancelled.
        if !dispatching && let Some(task) = svc.task.take() {
            task.abort();
        }
        match (&svc.dispatched, checking) {
            // The run is done; only the health gate was going: stopping it is the cancel.
            (_, true) => {
                svc.settled_at.get_or_insert(now);
                self.queue.push_back(Event::Cancelled {
                    service: name.to_owned(),
                    now,
                });
            }
            (Some(dispatched), false) => {
                let dispatched = dispatched.clone();
                self.spawn_cancel(name, dispatched);
            }
            // Dispatch in flight: cancel once it answers.
            (None, false) if dispatching => svc.cancel_pending = true,
            (None, false) => {
                svc.settled_at.get_or_insert(now);
                self.queue.push_back(Event::Cancelled {
                    service: name.to_owned(),
                    now,
                });
            }
        }
        self.note(Some(name), "cancelling".into());
    }

    /// Cancels `name`'s dispatched run in a task that reports `CancelDone`.
    pub(super) fn spawn_cancel(&mut self, name: &str, dispatched: Dispatched) {
        let settle = self.engine.pace.to_real(CANCEL_SETTLE);
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        let handle = tokio::spawn(tasks::cancel(
            self.ctx.clone(),
            svc.spec.clone(),
            dispatched,
            settle,
        ));
        svc.task = Some(handle.abort_handle());
    }
}
