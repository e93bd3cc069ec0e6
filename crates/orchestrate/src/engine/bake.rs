//! The canary's bake: after every canary service is verified, the driver waits the plan's
//! `bake` time before the rest deploys, and meanwhile keeps checking each canary service's
//! health at its own interval. A canary that turns unhealthy during the bake (see
//! [`BAKE_STRIKES`](super::health::BAKE_STRIKES)) is reported to the scheduler as a failing
//! `HealthVerdict`, which fails the canary: the rest is skipped and what deployed is rolled back.

use std::time::Duration;

use orchestrate_core::dag::Event;
use orchestrate_core::report::HealthVerdict;

use super::driver::{Driver, detail};
use super::health::Gate;
use super::tasks::Msg;

impl Driver<'_> {
    /// Starts the bake: a timer to `until` (emulated time since the start) and a health watch
    /// per canary service that has a health check.
    pub(super) fn bake(&mut self, until: Duration, now: Duration) {
        self.bakes.push((now, until));
        self.note(
            None,
            format!(
                "canary verified; baking for {}",
                humantime::format_duration(Duration::from_secs(
                    until.saturating_sub(now).as_secs()
                ))
            ),
        );
        let (pace, tx) = (self.engine.pace, self.ctx.tx.clone());
        tokio::spawn(async move {
            pace.sleep(until.saturating_sub(pace.now())).await;
            let _ = tx.send(Msg::Tick);
        });
        self.baking = true;
        for name in self.canary_services() {
            self.watch(&name);
        }
    }

    /// The plan's canary services in this release.
    fn canary_services(&self) -> Vec<String> {
        let plan = &self.release.settings.plan;
        plan.canary
            .iter()
            .flat_map(|c| c.services.iter())
            .filter(|s| self.svcs.contains_key(*s))
            .cloned()
            .collect()
    }

    fn watch(&mut self, name: &str) {
        let vars = self.vars.for_deploy(name);
        let env_timeout = self.release.settings.health_timeout();
        let Some(health) = self.svcs.get(name).and_then(|s| s.spec.health.as_ref()) else {
            return;
        };
        // The gate rendered once already; an error here cannot happen after it passed.
        let Ok(gate) = Gate::new(name, health, &vars, env_timeout, &self.engine.health_route)
        else {
            return;
        };
        let (http, pace, tx) = (
            self.engine.http.clone(),
            self.engine.pace,
            self.ctx.tx.clone(),
        );
        let handle = tokio::spawn(async move {
            let verdict = gate.watch(&http, &pace).await;
            let _ = tx.send(Msg::BakeUnhealthy {
                service: gate.service.clone(),
                verdict,
            });
        });
        self.bake_watch.push(handle.abort_handle());
    }

    /// The bake is over (its end, a failure, the end of the release): stop watching.
    pub(super) fn end_bake(&mut self) {
        self.baking = false;
        for watch in self.bake_watch.drain(..) {
            watch.abort();
        }
    }

    /// A canary's health failed during the bake.
    pub(super) fn on_bake_unhealthy(&mut self, service: String, verdict: HealthVerdict) {
        if !self.baking {
            return;
        }
        self.end_bake();
        let now = self.now();
        let reason = match &verdict {
            HealthVerdict::Failed { reason, .. } => reason.clone(),
            _ => "unhealthy".to_owned(),
        };
        if let Some(svc) = self.svcs.get_mut(&service) {
            svc.failure = Some(detail(&format!(
                "health check failed during the canary bake: {reason}"
            )));
            svc.health = verdict;
        }
        self.note(
            Some(&service),
            format!("failed: unhealthy during the bake, {reason}"),
        );
        self.queue.push_back(Event::HealthVerdict {
            service,
            ok: false,
            now,
        });
    }
}
