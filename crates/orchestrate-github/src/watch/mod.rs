//! Awaiting runs: the driver registers runs (by id, or by correlation id while the run is not
//! known yet) and gets a handle that reports each state change. Each repository has a task of
//! its own (`repo.rs`) that polls it with one request per tick for all the runs awaited there,
//! so a rate-limit pause or a slow answer in one repository never delays the others.
//!
//! How often is the [`Pacing`]'s business: either an interval that grows with the runs' age
//! (the accelerated emulator), or, in real time, a forecast from the workflow's recent
//! successful runs (one list request per workflow, cached for the watcher's life): sparse
//! while the run is young, dense where it is likely to end, backing off past that. Both stretch
//! when the rate-limit budget runs low; a repository whose requests are refused for a rate
//! limit is polled again after the reset. How long a run may take is the driver's timeouts'
//! business, not the watcher's.
//!
//! A run that carries a correlation id keeps being looked for by it after it was matched: a
//! second run with the same id (a re-sent dispatch whose first attempt did create a run after
//! all) is a duplicate, cancelled and reported on the handle.

mod repo;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::api::GitHub;
use crate::forecast::ForecastPolicy;
use crate::pacing::PollPolicy;
use crate::types::{CancelOutcome, Correlation, Dispatched, Repo, RunSummary};

/// How often awaited runs are polled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// The interval grows with the age of the youngest run awaited in the repository.
    Growth(PollPolicy),
    /// Each run is polled where its workflow's history says it ends (see `forecast.rs`);
    /// runs registered without a workflow, and workflows without history, use the policy's
    /// no-history intervals.
    Forecast(ForecastPolicy),
}

impl From<PollPolicy> for Pacing {
    fn from(policy: PollPolicy) -> Self {
        Pacing::Growth(policy)
    }
}

impl From<ForecastPolicy> for Pacing {
    fn from(policy: ForecastPolicy) -> Self {
        Pacing::Forecast(policy)
    }
}

/// What to await.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchTarget {
    Run {
        repo: Repo,
        run_id: u64,
        /// The run was created at or after this (narrows the list request); `None` if unknown.
        created_since: Option<DateTime<Utc>>,
        event: Option<String>,
        /// The correlation id the run carries, when one was sent: runs carrying it that are
        /// not this one are duplicates.
        correlation: Option<Correlation>,
    },
    Correlated(Correlation),
}

impl WatchTarget {
    /// The target for a dispatch: its run when known, else its correlation.
    pub fn from_dispatch(d: &Dispatched, skew: chrono::Duration) -> Option<Self> {
        match (&d.run, &d.correlation) {
            (Some(run), c) => Some(WatchTarget::Run {
                repo: d.repo.clone(),
                run_id: run.id,
                created_since: Some(c.as_ref().map_or(d.dispatched_at - skew, |c| c.since)),
                event: c.as_ref().map(|c| c.event.clone()),
                correlation: c.clone(),
            }),
            (None, Some(c)) => Some(WatchTarget::Correlated(c.clone())),
            (None, None) => None,
        }
    }

    fn repo(&self) -> &Repo {
        match self {
            WatchTarget::Run { repo, .. } => repo,
            WatchTarget::Correlated(c) => &c.repo,
        }
    }
}

/// Why the watcher gave up on a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchFailure {
    pub message: String,
    /// GitHub refused (auth, permissions, not found): exit code 3.
    pub refusal: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Not seen yet (for a correlation: no run carries the id yet).
    Searching,
    Running(RunSummary),
    Completed(RunSummary),
    Failed(WatchFailure),
}

/// A second run carrying an awaited run's correlation id, and what cancelling it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The awaited run, the one kept.
    pub kept: u64,
    pub run: RunSummary,
    /// The cancel's answer, or why it failed.
    pub cancelled: Result<CancelOutcome, String>,
}

/// What the watcher reports beside the state.
#[derive(Debug, Default)]
struct Side {
    duplicates: Vec<Duplicate>,
    /// How precisely the run's start was seen: the time from the last poll that saw it queued
    /// (or from its registration) to the first that saw it started.
    start_bracket: Option<std::time::Duration>,
}

/// A registered run. Dropping it stops the watching.
#[derive(Debug)]
pub struct RunHandle {
    rx: watch::Receiver<RunState>,
    side: Arc<Mutex<Side>>,
}

impl RunHandle {
    pub fn state(&self) -> RunState {
        self.rx.borrow().clone()
    }

    /// The next state, once it differs from the last one seen (or a duplicate was found);
    /// `None` once the watcher is gone.
    pub async fn changed(&mut self) -> Option<RunState> {
        self.rx.changed().await.ok()?;
        Some(self.rx.borrow_and_update().clone())
    }

    /// The duplicates found since the last call.
    pub fn take_duplicates(&self) -> Vec<Duplicate> {
        std::mem::take(&mut self.side().duplicates)
    }

    /// Once the run was seen started: the time between the last poll that saw it queued (or
    /// its registration) and the first that saw it started, the precision of its start.
    pub fn start_bracket(&self) -> Option<std::time::Duration> {
        self.side().start_bracket
    }

    fn side(&self) -> std::sync::MutexGuard<'_, Side> {
        self.side.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for the run to complete.
    pub async fn completed(mut self) -> Result<RunSummary, WatchFailure> {
        loop {
            match self.rx.borrow_and_update().clone() {
                RunState::Completed(run) => return Ok(run),
                RunState::Failed(failure) => return Err(failure),
                RunState::Searching | RunState::Running(_) => {}
            }
            if self.rx.changed().await.is_err() {
                return Err(stopped());
            }
        }
    }
}

fn stopped() -> WatchFailure {
    WatchFailure {
        message: "the run watcher stopped".into(),
        refusal: false,
    }
}

/// One `watch` call, on its way to its repository's task.
struct Registration {
    target: WatchTarget,
    /// The workflow whose history forecasts the run's end.
    history: Option<String>,
    tx: watch::Sender<RunState>,
    side: Arc<Mutex<Side>>,
}

/// Polls GitHub for registered runs in the background, one task per repository. Dropping it
/// stops the polling.
pub struct RunWatcher {
    github: Arc<dyn GitHub>,
    pacing: Pacing,
    repos: Mutex<BTreeMap<Repo, repo::Task>>,
    /// Repositories with runs awaited now (they share the rate-limit budget).
    active: Arc<AtomicUsize>,
}

impl std::fmt::Debug for RunWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunWatcher")
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

impl RunWatcher {
    /// Needs a Tokio runtime: the repository tasks are spawned on the first `watch` there.
    pub fn spawn(github: Arc<dyn GitHub>, pacing: impl Into<Pacing>) -> Self {
        RunWatcher {
            github,
            pacing: pacing.into(),
            repos: Mutex::new(BTreeMap::new()),
            active: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Await `target`, polled at the pacing's no-history intervals.
    pub fn watch(&self, target: WatchTarget) -> RunHandle {
        self.register(target, None)
    }

    /// Await `target`, a run of `workflow`, polled where that workflow's recent successful
    /// runs say it ends.
    pub fn watch_predicted(&self, target: WatchTarget, workflow: &str) -> RunHandle {
        self.register(target, Some(workflow.to_owned()))
    }

    fn register(&self, target: WatchTarget, history: Option<String>) -> RunHandle {
        let (tx, rx) = watch::channel(RunState::Searching);
        let side = Arc::new(Mutex::new(Side::default()));
        let handle = RunHandle {
            rx,
            side: Arc::clone(&side),
        };
        let mut registration = Registration {
            target,
            history,
            tx,
            side,
        };
        let mut repos = self.repos.lock().unwrap_or_else(|e| e.into_inner());
        let repo = registration.target.repo().clone();
        // A task that ended (all its runs done) is replaced by a fresh one.
        for _ in 0..2 {
            let task = repos.entry(repo.clone()).or_insert_with(|| {
                repo::Task::spawn(
                    Arc::clone(&self.github),
                    self.pacing,
                    repo.clone(),
                    Arc::clone(&self.active),
                )
            });
            match task.send(registration) {
                Ok(()) => return handle,
                Err(back) => {
                    registration = *back;
                    repos.remove(&repo);
                }
            }
        }
        let _ = registration.tx.send(RunState::Failed(stopped()));
        handle
    }
}

#[cfg(test)]
mod tests;
