//! Starting the work of the scheduler's `Dispatch`, `Await` and `Check` commands: each becomes
//! a task that reports back to the driver's loop.

use std::sync::Arc;
use std::time::Duration;

use orchestrate_core::dag::Event;
use orchestrate_core::report::HealthVerdict;

use super::driver::{Driver, detail};
use super::health::Gate;
use super::registry::deployment_environment;
use super::tasks::{self, DeploymentSpec, Msg};
use super::vars::render_all;

impl Driver<'_> {
    pub(super) fn dispatch(&mut self, name: &str, now: Duration) {
        let vars = self.vars.for_deploy(name);
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        svc.dispatched_at = Some(now);
        svc.deadline = svc.spec.timeout.map(|t| now + t);
        let inputs = match render_all(&svc.spec.inputs, &vars) {
            Ok(inputs) => inputs,
            Err(why) => {
                svc.failure = Some(detail(&format!("not dispatched: {why}")));
                self.note(Some(name), format!("failed: not dispatched, {why}"));
                self.queue.push_back(Event::RunFinished {
                    service: name.to_owned(),
                    success: false,
                    now,
                });
                return;
            }
        };
        let (github, tx, spec) = (
            Arc::clone(&self.ctx.github),
            self.ctx.tx.clone(),
            svc.spec.clone(),
        );
        let handle = tokio::spawn(async move {
            let result = tasks::dispatch(&github, &spec, None, inputs).await;
            let _ = tx.send(Msg::Dispatched {
                service: spec.name.clone(),
                result,
            });
        });
        svc.task = Some(handle.abort_handle());
        let version = svc.target.clone();
        self.note(Some(name), format!("dispatching: {version}"));
    }

    pub(super) fn await_run(&mut self, name: &str) {
        let settings = &self.release.settings;
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        let Some(dispatched) = svc.dispatched.clone() else {
            return;
        };
        let deployment = DeploymentSpec {
            environment: deployment_environment(&settings.plan, &svc.spec, &settings.environment),
            git_ref: match &svc.spec.trigger {
                orchestrate_core::plan::Trigger::WorkflowDispatch { git_ref, .. } => {
                    git_ref.clone()
                }
                orchestrate_core::plan::Trigger::RepositoryDispatch { .. } => "HEAD".to_owned(),
            },
            version: svc.target.clone(),
            release_id: self.prepared.record.to_string(),
            plan: settings.plan.name.clone(),
            release_environment: settings.environment.clone(),
        };
        let handle = tokio::spawn(tasks::await_run(
            self.ctx.clone(),
            svc.spec.clone(),
            dispatched,
            deployment,
            self.engine.work_dir.clone(),
        ));
        svc.task = Some(handle.abort_handle());
    }

    pub(super) fn check(&mut self, name: &str, now: Duration) {
        let vars = self.vars.for_deploy(name);
        let env_timeout = self.release.settings.health_timeout();
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        if let Some(problem) = svc.gate_problem.clone() {
            svc.settled_at = Some(now);
            svc.failure = Some(detail(&problem));
            self.note(Some(name), format!("failed: {problem}"));
            self.queue.push_back(Event::HealthVerdict {
                service: name.to_owned(),
                ok: false,
                now,
            });
            return;
        }
        let Some(health) = &svc.spec.health else {
            // Only its artifacts made this a gate, and they were handed on.
            svc.settled_at.get_or_insert(now);
            self.queue.push_back(Event::HealthVerdict {
                service: name.to_owned(),
                ok: true,
                now,
            });
            return;
        };
        match Gate::new(name, health, &vars, env_timeout, &self.engine.health_route) {
            Ok(gate) => {
                let (http, pace, tx) = (
                    self.engine.http.clone(),
                    self.engine.pace,
                    self.ctx.tx.clone(),
                );
                let url = gate.url.clone();
                let handle = tokio::spawn(async move {
                    let verdict = gate.run(&http, &pace).await;
                    let _ = tx.send(Msg::Health {
                        service: gate.service.clone(),
                        verdict,
                    });
                });
                svc.task = Some(handle.abort_handle());
                self.note(Some(name), format!("checking health: {url}"));
            }
            Err(why) => {
                svc.health = HealthVerdict::Failed {
                    attempts: 0,
                    reason: why.clone(),
                };
                self.queue.push_back(Event::HealthVerdict {
                    service: name.to_owned(),
                    ok: false,
                    now,
                });
            }
        }
    }
}
