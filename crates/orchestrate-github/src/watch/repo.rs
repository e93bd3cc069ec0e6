//! One repository's poller: a task of its own that owns the runs awaited there, sends one
//! conditional list request per tick for all of them, and sets the next tick from the runs'
//! forecasts (or ages), the rate-limit budget and its own failures.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{Duplicate, Pacing, Registration, RunState, Side, WatchFailure, WatchTarget};
use crate::api::GitHub;
use crate::error::Error;
use crate::forecast::Forecast;
use crate::pacing::{PollPolicy, RetryPolicy, paced_interval, rate_limited_poll_wait};
use crate::types::{PollQuery, PollResult, Repo, RunSummary};

/// Consecutive failed polls of a repository before its runs are given up on.
const MAX_POLL_FAILURES: u32 = 10;

/// A repository's poller, as the watcher holds it. Dropping it stops the task.
pub(super) struct Task {
    tx: mpsc::UnboundedSender<(Registration, Instant)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Task {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Task {
    pub(super) fn spawn(
        github: Arc<dyn GitHub>,
        pacing: Pacing,
        repo: Repo,
        active: Arc<AtomicUsize>,
    ) -> Task {
        let (tx, rx) = mpsc::unbounded_channel();
        let poller = Poller {
            github,
            pacing,
            repo,
            entries: Vec::new(),
            forecasts: BTreeMap::new(),
            next_poll: None,
            failures: 0,
            active,
        };
        Task {
            tx,
            task: tokio::spawn(poller.run(rx)),
        }
    }

    /// Hands the registration over, or back when the task is gone.
    pub(super) fn send(&self, registration: Registration) -> Result<(), Box<Registration>> {
        self.tx
            .send((registration, Instant::now()))
            .map_err(|e| Box::new(e.0.0))
    }
}

struct Entry {
    target: WatchTarget,
    tx: watch::Sender<RunState>,
    side: Arc<Mutex<Side>>,
    forecast: Option<Forecast>,
    registered: Instant,
    /// Where the forecast's ages count from: the registration, or the end of an approval wait.
    origin: Instant,
    /// Since when the run has been seen waiting for an approval.
    waiting_since: Option<Instant>,
    /// The last poll that saw the run queued (its registration before that), until it is
    /// seen started.
    queued_seen: Option<Instant>,
    /// Duplicate run ids already reported.
    reported: BTreeSet<u64>,
    done: bool,
}

impl Entry {
    /// The wait this run asks for before the next poll.
    fn interval(&self, pacing: &Pacing, now: Instant) -> Duration {
        match pacing {
            Pacing::Growth(policy) => policy.interval(now - self.registered),
            // A wait for a reviewer can last hours: back off with its length.
            Pacing::Forecast(policy) => match self.waiting_since {
                Some(since) => PollPolicy {
                    min: policy.dense,
                    ..PollPolicy::default()
                }
                .interval(now - since),
                None => policy.interval(self.forecast.as_ref(), now - self.origin),
            },
        }
    }
}

struct Poller {
    github: Arc<dyn GitHub>,
    pacing: Pacing,
    repo: Repo,
    entries: Vec<Entry>,
    /// Each workflow's forecast, read once (`None`: no history, or it could not be read).
    forecasts: BTreeMap<String, Option<Forecast>>,
    next_poll: Option<Instant>,
    failures: u32,
    /// Repositories with runs awaited, across the watcher: they share the rate-limit budget.
    active: Arc<AtomicUsize>,
}

impl Poller {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<(Registration, Instant)>) {
        let backoff = RetryPolicy::default();
        loop {
            self.prune();
            let next = self.next_poll.filter(|_| !self.entries.is_empty());
            tokio::select! {
                registration = rx.recv() => {
                    let Some((registration, at)) = registration else { return };
                    self.add(registration, at).await;
                }
                () = sleep_until(next) => self.poll(&backoff).await,
            }
        }
    }

    fn min_interval(&self) -> Duration {
        match &self.pacing {
            Pacing::Growth(policy) => policy.min,
            Pacing::Forecast(policy) => policy.dense,
        }
    }

    async fn add(&mut self, registration: Registration, at: Instant) {
        let Registration {
            target,
            history,
            tx,
            side,
        } = registration;
        let forecast = match (&self.pacing, history) {
            (Pacing::Forecast(_), Some(workflow)) => self.forecast(&workflow).await,
            _ => None,
        };
        if self.entries.is_empty() {
            self.active.fetch_add(1, Ordering::Relaxed);
        }
        let entry = Entry {
            target,
            tx,
            side,
            forecast,
            registered: at,
            origin: at,
            waiting_since: None,
            queued_seen: Some(at),
            reported: BTreeSet::new(),
            done: false,
        };
        let now = Instant::now();
        // A new run is polled when it asks, whatever the pace of older runs here.
        let due = at + entry.interval(&self.pacing, now).max(self.min_interval());
        self.next_poll = Some(self.next_poll.map_or(due, |n| n.min(due)));
        self.entries.push(entry);
    }

    async fn forecast(&mut self, workflow: &str) -> Option<Forecast> {
        if let Some(known) = self.forecasts.get(workflow) {
            return *known;
        }
        let forecast = match self.github.workflow_durations(&self.repo, workflow).await {
            Ok(durations) => Forecast::from_durations(&durations),
            Err(err) => {
                tracing::warn!(repo = %self.repo, workflow, error = %err, "reading the workflow's recent runs failed; polling without a forecast");
                None
            }
        };
        match &forecast {
            Some(f) => {
                tracing::debug!(repo = %self.repo, workflow, median_secs = f.median.as_secs_f64(), low_secs = f.low.as_secs_f64(), high_secs = f.high.as_secs_f64(), "forecast from recent runs")
            }
            None => {
                tracing::debug!(repo = %self.repo, workflow, "no recent successful runs to forecast from")
            }
        }
        self.forecasts.insert(workflow.to_owned(), forecast);
        forecast
    }

    fn prune(&mut self) {
        let before = self.entries.len();
        self.entries.retain(|e| !e.done && !e.tx.is_closed());
        if before > 0 && self.entries.is_empty() {
            self.active.fetch_sub(1, Ordering::Relaxed);
            self.next_poll = None;
        }
    }

    async fn poll(&mut self, backoff: &RetryPolicy) {
        let query = self.query();
        let result = self.github.poll_runs(&self.repo, &query).await;
        let now = Instant::now();
        match result {
            Ok(result) => {
                self.failures = 0;
                self.apply(&result, now).await;
                let interval = self
                    .entries
                    .iter()
                    .filter(|e| !e.done)
                    .map(|e| e.interval(&self.pacing, now))
                    .min()
                    .unwrap_or_default();
                let rate = self.github.stats().rate;
                let pollers = self.active.load(Ordering::Relaxed);
                let interval = paced_interval(interval, &rate, pollers, Utc::now().timestamp());
                tracing::trace!(repo = %self.repo, runs = self.entries.len(), not_modified = result.not_modified, next_ms = interval.as_millis() as u64, "polled");
                self.next_poll = Some(now + interval);
            }
            // Not a failure: the budget comes back at the reset, and polling before it would only
            // be refused again (or worse, get the integration banned).
            Err(Error::RateLimited { reset_at, .. }) => {
                let wait = rate_limited_poll_wait(reset_at, Utc::now(), rand::random::<f64>());
                tracing::warn!(repo = %self.repo, wait_secs = wait.as_secs(), "rate limited by GitHub; polling again after the reset");
                self.next_poll = Some(now + wait);
            }
            Err(err) => {
                self.failures += 1;
                tracing::warn!(repo = %self.repo, error = %err, "polling runs failed");
                if err.is_refusal() || self.failures >= MAX_POLL_FAILURES {
                    self.fail_all(&WatchFailure {
                        message: err.to_string(),
                        refusal: err.is_refusal(),
                    });
                }
                let wait = backoff.backoff(self.failures, rand::random::<f64>());
                self.next_poll = Some(now + wait.max(self.min_interval()));
            }
        }
    }

    fn query(&self) -> PollQuery {
        let mut query = PollQuery::default();
        let mut since: Option<Option<DateTime<Utc>>> = None;
        let mut events = Vec::new();
        for entry in self.entries.iter().filter(|e| !e.done) {
            let (created, event) = match &entry.target {
                WatchTarget::Run {
                    run_id,
                    created_since,
                    event,
                    correlation,
                    ..
                } => {
                    query.run_ids.push(*run_id);
                    if let Some(c) = correlation {
                        query.correlations.push(c.id.clone());
                    }
                    (*created_since, event.clone())
                }
                WatchTarget::Correlated(c) => {
                    query.correlations.push(c.id.clone());
                    (Some(c.since), Some(c.event.clone()))
                }
            };
            since = Some(match (since, created) {
                (None, c) => c,
                (Some(Some(a)), Some(b)) => Some(a.min(b)),
                _ => None,
            });
            events.push(event);
        }
        // Whole seconds so the URL, and so its ETag, is stable from tick to tick.
        query.created_since = since
            .flatten()
            .and_then(|s| DateTime::from_timestamp(s.timestamp(), 0));
        query.event = match events.first() {
            Some(Some(first)) if events.iter().all(|e| e.as_ref() == Some(first)) => {
                Some(first.clone())
            }
            _ => None,
        };
        query
    }

    async fn apply(&mut self, result: &PollResult, now: Instant) {
        let mut duplicates = Vec::new();
        for (index, entry) in self.entries.iter_mut().enumerate().filter(|(_, e)| !e.done) {
            let state = match &entry.target {
                WatchTarget::Run {
                    run_id,
                    correlation,
                    ..
                } => {
                    if let Some(c) = correlation {
                        for run in result.correlated.get(&c.id).into_iter().flatten() {
                            if run.id != *run_id
                                && run.is_of_workflow(&c.workflow)
                                && entry.reported.insert(run.id)
                            {
                                duplicates.push((index, *run_id, run.clone()));
                            }
                        }
                    }
                    match result.runs.get(run_id) {
                        Some(run) => state_of(run),
                        None => continue,
                    }
                }
                WatchTarget::Correlated(c) => {
                    let runs: Vec<&RunSummary> = result
                        .correlated
                        .get(&c.id)
                        .map(|runs| {
                            runs.iter()
                                .filter(|r| {
                                    r.created_at >= c.since && r.is_of_workflow(&c.workflow)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    match runs.as_slice() {
                        [] => continue,
                        [run] => {
                            let state = state_of(run);
                            entry.target = WatchTarget::Run {
                                repo: c.repo.clone(),
                                run_id: run.id,
                                created_since: Some(c.since),
                                event: Some(c.event.clone()),
                                correlation: Some(c.clone()),
                            };
                            state
                        }
                        many => RunState::Failed(WatchFailure {
                            message: format!(
                                "{} runs in {} carry correlation id {}: {}",
                                many.len(),
                                c.repo,
                                c.id,
                                many.iter()
                                    .map(|r| r.html_url.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            refusal: false,
                        }),
                    }
                }
            };
            if let RunState::Running(run) | RunState::Completed(run) = &state
                && let Some(queued) = entry.queued_seen
            {
                if !run.has_started() {
                    entry.queued_seen = Some(now);
                } else {
                    entry.queued_seen = None;
                    entry
                        .side
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .start_bracket = Some(now - queued);
                }
            }
            if let RunState::Running(run) = &state {
                let waiting = run.status == "waiting";
                match (waiting, entry.waiting_since) {
                    (true, None) => entry.waiting_since = Some(now),
                    (false, Some(_)) => {
                        entry.waiting_since = None;
                        entry.origin = now;
                    }
                    _ => {}
                }
            }
            entry.done = matches!(state, RunState::Completed(_) | RunState::Failed(_));
            entry.tx.send_if_modified(|current| {
                let changed = *current != state;
                *current = state.clone();
                changed
            });
        }
        for (index, kept, run) in duplicates {
            self.cancel_duplicate(index, kept, run).await;
        }
    }

    /// Cancels a duplicate run and reports it on its handle (waking it even when the awaited
    /// run's state did not change).
    async fn cancel_duplicate(&mut self, index: usize, kept: u64, run: RunSummary) {
        let cancelled = if run.is_completed() {
            Ok(crate::types::CancelOutcome::AlreadyCompleted)
        } else {
            self.github
                .cancel_run(&self.repo, run.id)
                .await
                .map_err(|e| e.to_string())
        };
        tracing::warn!(repo = %self.repo, kept, duplicate = run.id, url = %run.html_url, cancelled = ?cancelled, "a second run carries the same correlation id");
        let Some(entry) = self.entries.get(index) else {
            return;
        };
        entry
            .side
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .duplicates
            .push(Duplicate {
                kept,
                run,
                cancelled,
            });
        entry.tx.send_modify(|_| {});
    }

    fn fail_all(&mut self, failure: &WatchFailure) {
        for entry in self.entries.iter_mut().filter(|e| !e.done) {
            entry.done = true;
            let _ = entry.tx.send(RunState::Failed(failure.clone()));
        }
    }
}

fn state_of(run: &RunSummary) -> RunState {
    if run.is_completed() {
        RunState::Completed(run.clone())
    } else {
        RunState::Running(run.clone())
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
