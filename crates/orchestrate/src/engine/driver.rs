//! The event loop: feeds the scheduler events, executes the commands it returns as tasks, and
//! turns what the tasks report (and the clocks: service deadlines, the release deadline, the
//! bake) back into events, until the scheduler sends `Done`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orchestrate_core::dag::{Command, DoneReason, Event, Scheduler, SchedulerConfig, SkipReason};
use orchestrate_core::plan::Service;
use orchestrate_core::report::{
    FailureDetail, HealthVerdict, RollbackOutcome, RollbackReport, TimelineEntry,
};
use orchestrate_github::{DeploymentId, Dispatched, RunSummary, RunWatcher};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::announce::Announcements;
use super::health::Gate;
use super::observe::Observer;
use super::prepare::Prepared;
use super::registry::deployment_environment;
use super::tasks::{self, Ctx, DeploymentSpec, Msg};
use super::vars::{ReleaseVars, render_all};
use super::{Engine, Outcome, Release, finish};

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
}

/// How long a cancelled run is followed until it completes (emulated time).
pub(super) const CANCEL_SETTLE: Duration = Duration::from_secs(10 * 60);

pub struct Driver<'a> {
    pub engine: &'a Engine,
    pub release: &'a Release,
    pub prepared: Prepared,
    pub scheduler: Scheduler,
    pub svcs: BTreeMap<String, Svc>,
    pub vars: ReleaseVars,
    pub timeline: Vec<TimelineEntry>,
    pub rollbacks: Vec<RollbackReport>,
    pub refused: Option<String>,
    pub bakes: Vec<(Duration, Duration)>,
    pub(super) ctx: Ctx,
    pub(super) rx: mpsc::UnboundedReceiver<Msg>,
    pub(super) queue: VecDeque<Event>,
    pub(super) release_deadline: Option<Duration>,
    pub(super) done: Option<DoneReason>,
    pub(super) observer: &'a mut dyn Observer,
    /// A canary bake is under way; its health watches are `bake_watch`.
    pub(super) baking: bool,
    pub(super) bake_watch: Vec<AbortHandle>,
    pub(super) announced: Announcements,
}

pub async fn drive(
    engine: &Engine,
    release: &Release,
    mut prepared: Prepared,
    observer: &mut dyn Observer,
) -> Outcome {
    let settings = &release.settings;
    let members: BTreeSet<String> = settings.release.iter().map(|(s, _)| s.to_owned()).collect();
    let mut config = SchedulerConfig::for_release(
        &settings.plan,
        &members,
        settings.strategy,
        settings.rollback_on_failure,
    );
    // Handing artifacts on is part of a service's gate: a run that succeeded deployed, so an
    // artifact that cannot be read must fail the service after it counts as deployed (and is
    // rolled back), not as a failed run.
    for node in &mut config.nodes {
        if settings
            .plan
            .service(&node.name)
            .is_some_and(|s| !s.artifacts.is_empty())
        {
            node.has_health = true;
        }
    }
    let scheduler = match Scheduler::new(config) {
        Ok(s) => s,
        // Plan validation rules out cycles and unknown needs; should it happen, nothing ran.
        Err(e) => unreachable_graph(&e),
    };
    let targets: BTreeMap<String, String> = settings
        .release
        .iter()
        .map(|(s, v)| (s.to_owned(), v.to_string()))
        .collect();
    let deployed_now: BTreeMap<String, String> = prepared
        .deployed
        .iter()
        .filter_map(|(s, d)| Some((s.clone(), d.current.clone()?)))
        .collect();
    let vars = ReleaseVars::new(
        &settings.plan,
        &settings.environment,
        &prepared.record.to_string(),
        targets.clone(),
        deployed_now,
    );
    let svcs = settings
        .plan
        .services
        .iter()
        .filter(|s| members.contains(&s.name))
        .map(|s| {
            let svc = Svc {
                spec: s.clone(),
                target: targets.get(&s.name).cloned().unwrap_or_default(),
                dispatched_at: None,
                settled_at: None,
                dispatched: None,
                run: None,
                deployment: None,
                health: if s.health.is_some() {
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
            };
            (s.name.clone(), svc)
        })
        .collect();
    let (tx, rx) = mpsc::unbounded_channel();
    let pace = engine.pace;
    let ctx = Ctx {
        github: Arc::clone(&engine.github),
        watcher: Arc::new(RunWatcher::spawn(Arc::clone(&engine.github), engine.poll)),
        tx,
        skew: engine.skew,
        now: Arc::new(move || pace.github_now()),
    };
    let timeline = std::mem::take(&mut prepared.notes);
    // The release's own limit counts from here: waiting for the lock does not eat into it.
    let release_deadline = settings.timeout.map(|t| engine.pace.now() + t);
    let mut driver = Driver {
        engine,
        release,
        prepared,
        scheduler,
        svcs,
        vars,
        timeline,
        rollbacks: Vec::new(),
        refused: None,
        bakes: Vec::new(),
        ctx,
        rx,
        queue: VecDeque::new(),
        release_deadline,
        done: None,
        observer,
        baking: false,
        bake_watch: Vec::new(),
        announced: Announcements::default(),
    };
    driver.run().await;
    finish::finish(driver).await
}

fn unreachable_graph(e: &orchestrate_core::dag::GraphError) -> ! {
    // Validation guarantees an acyclic graph of known services; this is a bug, not bad input.
    panic!("validated plan does not form a graph: {e}")
}

impl<'a> Driver<'a> {
    pub fn done_reason(&self) -> Option<DoneReason> {
        self.done
    }

    pub fn into_observer(self) -> &'a mut dyn Observer {
        self.observer
    }

    pub(super) fn now(&self) -> Duration {
        self.engine.pace.now()
    }

    pub(super) fn note(&mut self, service: Option<&str>, what: String) {
        let at = self.now();
        match service {
            Some(s) => {
                let (state, detail) = what.split_once(": ").unwrap_or((what.as_str(), ""));
                self.observer.service(at, s, state, detail);
            }
            None => self.observer.release(at, &what),
        }
        self.timeline.push(TimelineEntry {
            at: self.engine.pace.system_now(),
            service: service.map(str::to_owned),
            what,
        });
    }

    async fn run(&mut self) {
        self.note(
            None,
            format!(
                "release {} to {} started ({} services)",
                self.prepared.record,
                self.release.settings.environment,
                self.svcs.len()
            ),
        );
        self.announce_start();
        self.queue.push_back(Event::Start { now: self.now() });
        let mut interrupted = false;
        while self.done.is_none() {
            self.pump();
            if self.done.is_some() {
                break;
            }
            let next = self.next_deadline();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(self.engine.pace.deadline(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(msg) => self.on_msg(msg),
                    None => break,
                },
                () = sleep => self.on_deadlines(),
                _ = tokio::signal::ctrl_c(), if !interrupted => {
                    interrupted = true;
                    self.note(None, "interrupted: cancelling the release".into());
                    self.end_bake();
                    self.queue.push_back(Event::Abort { now: self.now() });
                }
            }
        }
        self.end_bake();
        for svc in self.svcs.values_mut() {
            if let Some(task) = svc.task.take() {
                task.abort();
            }
        }
    }

    /// Feeds queued events to the scheduler and executes the commands, until both are empty.
    fn pump(&mut self) {
        while let Some(event) = self.queue.pop_front() {
            tracing::debug!(%event, "scheduler event");
            match self.scheduler.try_event(event) {
                Ok(commands) => {
                    for command in commands {
                        tracing::debug!(%command, "scheduler command");
                        self.execute(command);
                    }
                }
                Err(why) => tracing::debug!(%why, "event ignored"),
            }
        }
    }

    fn next_deadline(&self) -> Option<Duration> {
        let services = self
            .svcs
            .iter()
            .filter_map(|(name, svc)| svc.deadline.filter(|_| self.racing_its_limit(name)));
        services.chain(self.release_deadline).min()
    }

    /// In flight and not being cancelled already: its own `timeout` still applies.
    fn racing_its_limit(&self, name: &str) -> bool {
        self.scheduler
            .state(name)
            .is_some_and(|s| s.in_flight() && s != orchestrate_core::dag::ServiceState::Cancelling)
    }

    fn on_deadlines(&mut self) {
        let now = self.now();
        if let Some(limit) = self.release_deadline
            && now >= limit
        {
            self.release_deadline = None;
            self.note(
                None,
                format!(
                    "the release's time limit ({}) passed",
                    humantime::format_duration(self.release.settings.timeout.unwrap_or(limit))
                ),
            );
            // A stop ends the bake: a canary check failing after it must not fail a service
            // that is being rolled back (the scheduler no longer bakes either).
            self.end_bake();
            self.queue.push_back(Event::ReleaseTimeout { now });
        }
        // Only a service still under way can time out; one that settled keeps its verdict.
        let expired: Vec<String> = self
            .svcs
            .iter()
            .filter(|(n, s)| s.deadline.is_some_and(|d| now >= d) && self.racing_its_limit(n))
            .map(|(n, _)| n.clone())
            .collect();
        for name in expired {
            if let Some(svc) = self.svcs.get_mut(&name) {
                svc.deadline = None;
                if svc.failure.is_none() {
                    svc.failure = Some(detail("did not finish within its `timeout`"));
                }
            }
            self.note(Some(&name), "timed out: its own time limit passed".into());
            self.queue.push_back(Event::TimedOut { service: name, now });
        }
    }

    fn execute(&mut self, command: Command) {
        let now = self.now();
        match command {
            Command::Dispatch { service } => self.dispatch(&service, now),
            Command::Await { service } => self.await_run(&service),
            Command::Check { service } => self.check(&service, now),
            Command::Bake { until } => self.bake(until, now),
            Command::Cancel { service } => self.cancel(&service, now),
            Command::Skip { service, reason } => {
                let why = match &reason {
                    SkipReason::NeedFailed { failed } => {
                        format!("skipped: needs {failed}, which failed")
                    }
                    SkipReason::Stopped => "skipped: the release stopped".to_owned(),
                };
                if let Some(svc) = self.svcs.get_mut(&service) {
                    svc.skipped = Some(reason);
                }
                self.note(Some(&service), why);
            }
            Command::Rollback { service } => self.rollback(&service, now),
            Command::Halt { service } => {
                self.rollbacks.push(RollbackReport {
                    service: service.clone(),
                    to_version: None,
                    run: None,
                    outcome: RollbackOutcome::Refused,
                    reason: Some("irreversible: halted, left as deployed".into()),
                });
                self.note(
                    Some(&service),
                    "halted: irreversible, left as deployed".into(),
                );
            }
            Command::Done { status, reason } => {
                self.done = Some(reason);
                self.note(None, format!("release {}", status.as_str()));
            }
        }
    }

    fn dispatch(&mut self, name: &str, now: Duration) {
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

    fn await_run(&mut self, name: &str) {
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

    fn check(&mut self, name: &str, now: Duration) {
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

    fn cancel(&mut self, name: &str, now: Duration) {
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
}

impl Driver<'_> {
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

pub(super) fn detail(message: &str) -> FailureDetail {
    FailureDetail {
        job: None,
        step: None,
        job_url: None,
        message: message.to_owned(),
    }
}

pub(super) fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub(super) fn outcome_word(o: &RollbackOutcome) -> &'static str {
    match o {
        RollbackOutcome::Succeeded => "rolled back",
        RollbackOutcome::Failed => "rollback failed",
        RollbackOutcome::Refused => "rollback refused",
        RollbackOutcome::NoPrevious => "not rolled back",
    }
}
