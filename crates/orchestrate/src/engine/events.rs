//! The driver's handling of what its tasks report: each message updates what the driver knows
//! about a service (run, deployment, health, failure) and queues the scheduler's next event.

use std::time::Duration;

use orchestrate_core::dag::Event;
use orchestrate_core::report::format::plural;
use orchestrate_core::report::{HealthVerdict, RollbackReport};
use orchestrate_github::Dispatched;

use super::driver::{Driver, detail, outcome_word};
use super::tasks::{CancelResult, Msg, Problem};

impl Driver<'_> {
    pub(super) fn on_msg(&mut self, msg: Msg) {
        let now = self.now();
        match msg {
            Msg::Dispatched { service, result } => self.on_dispatched(&service, result, now),
            Msg::RunKnown { service, run } => {
                self.vars.set_run(&service, run.id, &run.html_url);
                self.note(Some(&service), format!("running: {}", run.html_url));
                if let Some(svc) = self.svcs.get_mut(&service) {
                    svc.run = Some(run);
                }
            }
            Msg::RunStarted { service, at } => {
                if let Some(svc) = self.svcs.get_mut(&service) {
                    svc.started_seen = Some(at);
                }
            }
            Msg::DeploymentCreated { service, id } => {
                if let Some(svc) = self.svcs.get_mut(&service) {
                    svc.deployment = Some(id);
                }
            }
            Msg::RunDone {
                service,
                run,
                noticed,
                failure,
                artifacts,
                shared,
                artifact_problem,
            } => {
                self.vars.set_run(&service, run.id, &run.html_url);
                for (name, fields) in &artifacts {
                    self.vars.set_artifact(&service, name, fields);
                }
                let success = run.succeeded();
                let text = match &failure {
                    Some(f) => format!("failed: {}", f.message),
                    None if success => "run succeeded".to_owned(),
                    None => format!(
                        "failed: concluded {}",
                        run.conclusion.as_deref().unwrap_or("?")
                    ),
                };
                if let Some(svc) = self.svcs.get_mut(&service) {
                    svc.shared = shared;
                    svc.detection = Some((run.updated_at, noticed));
                    svc.task = None;
                    if !success || svc.spec.health.is_none() {
                        svc.settled_at = Some(now);
                    }
                    if !success {
                        svc.failure = failure.or_else(|| Some(detail(&text)));
                    }
                    svc.run = Some(run);
                    // Failed at its gate (see `Driver::check`): it deployed, so it is rolled back.
                    if let Some(problem) = &artifact_problem {
                        svc.gate_problem = Some(format!("artifact hand-off: {}", problem.message));
                    }
                }
                if let Some(problem) = artifact_problem
                    && problem.refusal
                    && self.refused.is_none()
                {
                    self.refused = Some(problem.message);
                }
                self.note(Some(&service), text);
                self.queue.push_back(Event::RunFinished {
                    service,
                    success,
                    now,
                });
            }
            Msg::ApprovalWaiting {
                service,
                gates,
                auto,
                seen,
            } => self.on_approval_waiting(&service, &gates, auto, seen),
            Msg::ApprovalEnded {
                service,
                review,
                seen,
            } => self.on_approval_ended(&service, review, seen),
            Msg::Duplicate { service, duplicate } => {
                let what = match &duplicate.cancelled {
                    Ok(orchestrate_github::CancelOutcome::Requested) => "cancelled".to_owned(),
                    Ok(orchestrate_github::CancelOutcome::AlreadyCompleted) => {
                        "already completed".to_owned()
                    }
                    Err(e) => format!("could not be cancelled: {e}"),
                };
                self.note(
                    Some(&service),
                    format!(
                        "duplicate run: {} carries the same correlation id as run {} ({what})",
                        duplicate.run.html_url, duplicate.kept
                    ),
                );
            }
            Msg::AwaitFailed { service, problem } => {
                self.fail_run(&service, &problem, now);
            }
            Msg::Health { service, verdict } => {
                let ok = matches!(verdict, HealthVerdict::Passed { .. });
                let text = match &verdict {
                    HealthVerdict::Passed { attempts } => {
                        format!("verified: healthy after {}", plural(*attempts, "check"))
                    }
                    HealthVerdict::Failed { reason, .. } => {
                        format!("failed: health check, {reason}")
                    }
                    _ => "health not checked".into(),
                };
                if let Some(svc) = self.svcs.get_mut(&service) {
                    svc.task = None;
                    svc.settled_at = Some(now);
                    if let HealthVerdict::Failed { reason, .. } = &verdict {
                        svc.failure = Some(detail(&format!("health check failed: {reason}")));
                    }
                    svc.health = verdict;
                }
                self.note(Some(&service), text);
                self.queue
                    .push_back(Event::HealthVerdict { service, ok, now });
            }
            Msg::Tick => {
                self.end_bake();
                self.queue.push_back(Event::Tick { now });
            }
            Msg::BakeUnhealthy { service, verdict } => self.on_bake_unhealthy(service, verdict),
            Msg::CancelDone { service, result } => self.on_cancel_done(service, result, now),
            Msg::RollbackDone {
                service,
                outcome,
                run,
                reason,
            } => {
                let word = outcome_word(&outcome);
                let link = run.as_ref().map(|r| r.url.clone()).unwrap_or_default();
                self.note(
                    Some(&service),
                    format!("{word}: {}", reason.clone().unwrap_or(link)),
                );
                let (to_version, source) = self.rollback_target(&service);
                self.rollbacks.push(RollbackReport {
                    service: service.clone(),
                    to_version,
                    run,
                    outcome: outcome.clone(),
                    reason,
                    source: Some(source),
                });
                self.queue.push_back(Event::RollbackFinished {
                    service,
                    outcome,
                    now,
                });
            }
        }
    }

    fn on_dispatched(&mut self, name: &str, result: Result<Dispatched, Problem>, now: Duration) {
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        svc.task = None;
        match result {
            Ok(dispatched) => {
                svc.dispatched = Some(dispatched.clone());
                let pending = std::mem::take(&mut svc.cancel_pending);
                if let Some(run) = &dispatched.run {
                    let url = run.html_url.clone();
                    self.vars.set_run(name, run.id, &url);
                    self.note(Some(name), format!("dispatched: {url}"));
                } else {
                    self.note(
                        Some(name),
                        "dispatched: run to be found by correlation id".into(),
                    );
                }
                self.queue.push_back(Event::Dispatched {
                    service: name.to_owned(),
                    now,
                });
                if pending {
                    self.spawn_cancel(name, dispatched);
                }
            }
            Err(problem) => {
                if std::mem::take(&mut svc.cancel_pending) {
                    self.queue.push_back(Event::Cancelled {
                        service: name.to_owned(),
                        now,
                    });
                } else {
                    self.fail_run(name, &problem, now);
                }
            }
        }
    }

    fn on_cancel_done(&mut self, service: String, result: CancelResult, now: Duration) {
        let Some(svc) = self.svcs.get_mut(&service) else {
            return;
        };
        svc.task = None;
        svc.settled_at.get_or_insert(now);
        match result {
            CancelResult::Succeeded(run) => {
                svc.run = Some(run);
                self.note(
                    Some(&service),
                    "run succeeded before the cancel took effect: its new version went out".into(),
                );
                self.queue.push_back(Event::RunFinished {
                    service,
                    success: true,
                    now,
                });
            }
            CancelResult::Stopped(run) => {
                if let Some(run) = run {
                    svc.run = Some(run);
                }
                self.note(Some(&service), "cancelled".into());
                self.queue.push_back(Event::Cancelled { service, now });
            }
            CancelResult::Failed(why) => {
                let text = format!("cancel failed: run may still be running ({why})");
                svc.cancel_failed = true;
                svc.failure = Some(detail(&text));
                self.note(Some(&service), text);
                // Nothing more can be done for it; the release goes on to its end.
                self.queue.push_back(Event::Cancelled { service, now });
            }
        }
    }

    fn fail_run(&mut self, name: &str, problem: &Problem, now: Duration) {
        if problem.refusal && self.refused.is_none() {
            self.refused = Some(problem.message.clone());
        }
        if let Some(svc) = self.svcs.get_mut(name) {
            svc.task = None;
            svc.settled_at = Some(now);
            svc.failure = Some(detail(&problem.message));
        }
        self.note(Some(name), format!("failed: {}", problem.message));
        self.queue.push_back(Event::RunFinished {
            service: name.to_owned(),
            success: false,
            now,
        });
    }
}
