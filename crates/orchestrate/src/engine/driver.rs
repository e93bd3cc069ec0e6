//! The event loop: feeds the scheduler events, executes the commands it returns as tasks, and
//! turns what the tasks report (and the clocks: service deadlines, the release deadline, the
//! bake) back into events, until the scheduler sends `Done`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use orchestrate_core::dag::{Command, DoneReason, Event, Scheduler, SchedulerConfig, SkipReason};
use orchestrate_core::report::{FailureDetail, RollbackOutcome, RollbackReport, TimelineEntry};
use orchestrate_github::RunWatcher;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use super::announce::Announcements;
use super::observe::Observer;
use super::prepare::Prepared;
pub use super::svc::Svc;
use super::tasks::{Ctx, Msg};
use super::vars::ReleaseVars;
use super::{Engine, Outcome, Release, finish};

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
    /// Since when some run waits for an approval: the release's `timeout` is paused.
    pub(super) approval_pause: Option<Duration>,
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
            .is_some_and(|s| !s.downloads().is_empty())
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
            let svc = Svc::new(s, targets.get(&s.name).cloned().unwrap_or_default());
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
        store: Arc::clone(&engine.store),
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
        approval_pause: None,
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
        // A run waiting for an approval races its `approval_timeout`, not its `timeout`.
        let services = self.svcs.iter().filter_map(|(name, svc)| {
            svc.deadline
                .filter(|_| svc.gate.is_none() && self.racing_its_limit(name))
        });
        let release = self
            .release_deadline
            .filter(|_| self.approval_pause.is_none());
        services
            .chain(release)
            .chain(self.approval_deadline())
            .min()
    }

    /// In flight and not being cancelled already: its own `timeout` still applies.
    pub(super) fn racing_its_limit(&self, name: &str) -> bool {
        self.scheduler
            .state(name)
            .is_some_and(|s| s.in_flight() && s != orchestrate_core::dag::ServiceState::Cancelling)
    }

    fn on_deadlines(&mut self) {
        let now = self.now();
        if let Some(limit) = self.release_deadline
            && self.approval_pause.is_none()
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
            .filter(|(n, s)| {
                s.gate.is_none() && s.deadline.is_some_and(|d| now >= d) && self.racing_its_limit(n)
            })
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
        self.on_approval_deadlines(now);
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
                    source: None,
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
}

pub(super) fn detail(message: &str) -> FailureDetail {
    FailureDetail {
        job: None,
        step: None,
        job_url: None,
        message: message.to_owned(),
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
