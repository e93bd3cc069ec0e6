//! Awaiting runs: the driver registers runs (by id, or by correlation id while the run is not
//! known yet) and gets a handle that reports each state change; one background task polls each
//! repository with one request per tick for all the runs awaited there, at an interval that
//! starts short, grows with the runs' age, and stretches when the rate-limit budget runs low.
//! A repository whose requests are refused for a rate limit is polled again after the reset;
//! how long a run may take is the driver's timeouts' business, not the watcher's.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::api::GitHub;
use crate::error::Error;
use crate::pacing::{PollPolicy, RetryPolicy, paced_interval, rate_limited_poll_wait};
use crate::types::{Correlation, Dispatched, PollQuery, PollResult, Repo, RunSummary};

/// Consecutive failed polls of a repository before its runs are given up on.
const MAX_POLL_FAILURES: u32 = 10;

/// What to await.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchTarget {
    Run {
        repo: Repo,
        run_id: u64,
        /// The run was created at or after this (narrows the list request); `None` if unknown.
        created_since: Option<DateTime<Utc>>,
        event: Option<String>,
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

/// A registered run. Dropping it stops the watching.
#[derive(Debug)]
pub struct RunHandle {
    rx: watch::Receiver<RunState>,
}

impl RunHandle {
    pub fn state(&self) -> RunState {
        self.rx.borrow().clone()
    }

    /// The next state, once it differs from the last one seen; `None` once the watcher is gone.
    pub async fn changed(&mut self) -> Option<RunState> {
        self.rx.changed().await.ok()?;
        Some(self.rx.borrow_and_update().clone())
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
                return Err(WatchFailure {
                    message: "the run watcher stopped".into(),
                    refusal: false,
                });
            }
        }
    }
}

struct Registration {
    target: WatchTarget,
    tx: watch::Sender<RunState>,
}

/// Polls GitHub for registered runs in the background. Dropping it stops the polling.
pub struct RunWatcher {
    tx: mpsc::UnboundedSender<Registration>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunWatcher").finish_non_exhaustive()
    }
}

impl Drop for RunWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RunWatcher {
    pub fn spawn(github: Arc<dyn GitHub>, policy: PollPolicy) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_loop(github, policy, rx));
        RunWatcher { tx, task }
    }

    pub fn watch(&self, target: WatchTarget) -> RunHandle {
        let initial = RunState::Searching;
        let (tx, rx) = watch::channel(initial);
        if self.tx.send(Registration { target, tx }).is_err() {
            // The loop is gone; the handle reports that when awaited.
            return RunHandle {
                rx: watch::channel(RunState::Failed(WatchFailure {
                    message: "the run watcher stopped".into(),
                    refusal: false,
                }))
                .1,
            };
        }
        RunHandle { rx }
    }
}

struct Entry {
    target: WatchTarget,
    tx: watch::Sender<RunState>,
    registered: Instant,
    done: bool,
}

struct RepoWatch {
    entries: Vec<Entry>,
    next_poll: Instant,
    failures: u32,
}

impl RepoWatch {
    fn query(&self) -> PollQuery {
        let mut query = PollQuery::default();
        let mut since: Option<Option<DateTime<Utc>>> = None;
        let mut events = Vec::new();
        for entry in &self.entries {
            let (created, event) = match &entry.target {
                WatchTarget::Run {
                    run_id,
                    created_since,
                    event,
                    ..
                } => {
                    query.run_ids.push(*run_id);
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

    fn apply(&mut self, result: &PollResult) {
        for entry in self.entries.iter_mut().filter(|e| !e.done) {
            let state = match &entry.target {
                WatchTarget::Run { run_id, .. } => match result.runs.get(run_id) {
                    Some(run) => state_of(run),
                    None => continue,
                },
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
            entry.done = matches!(state, RunState::Completed(_) | RunState::Failed(_));
            entry.tx.send_if_modified(|current| {
                let changed = *current != state;
                *current = state.clone();
                changed
            });
        }
    }

    fn fail_all(&mut self, failure: &WatchFailure) {
        for entry in self.entries.iter_mut().filter(|e| !e.done) {
            entry.done = true;
            let _ = entry.tx.send(RunState::Failed(failure.clone()));
        }
    }

    fn prune(&mut self) {
        self.entries.retain(|e| !e.done && !e.tx.is_closed());
    }
}

fn state_of(run: &RunSummary) -> RunState {
    if run.is_completed() {
        RunState::Completed(run.clone())
    } else {
        RunState::Running(run.clone())
    }
}

async fn run_loop(
    github: Arc<dyn GitHub>,
    policy: PollPolicy,
    mut rx: mpsc::UnboundedReceiver<Registration>,
) {
    let mut repos: BTreeMap<Repo, RepoWatch> = BTreeMap::new();
    let mut open = true;
    let backoff = RetryPolicy::default();
    loop {
        repos.values_mut().for_each(RepoWatch::prune);
        repos.retain(|_, r| !r.entries.is_empty());
        if !open && repos.is_empty() {
            return;
        }
        let next = repos.values().map(|r| r.next_poll).min();
        tokio::select! {
            registration = rx.recv(), if open => {
                let Some(Registration { target, tx }) = registration else { open = false; continue };
                let now = Instant::now();
                let repo = repos.entry(target.repo().clone()).or_insert_with(|| RepoWatch {
                    entries: Vec::new(),
                    next_poll: now + policy.min,
                    failures: 0,
                });
                // A new run is polled soon, whatever the pace of older runs in its repository.
                repo.next_poll = repo.next_poll.min(now + policy.min);
                repo.entries.push(Entry { target, tx, registered: now, done: false });
            }
            () = sleep_until(next) => {
                poll_due(&github, &policy, &backoff, &mut repos).await;
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn poll_due(
    github: &Arc<dyn GitHub>,
    policy: &PollPolicy,
    backoff: &RetryPolicy,
    repos: &mut BTreeMap<Repo, RepoWatch>,
) {
    let now = Instant::now();
    let mut polls = tokio::task::JoinSet::new();
    for (repo, watch) in repos.iter().filter(|(_, w)| w.next_poll <= now) {
        let (github, repo, query) = (github.clone(), repo.clone(), watch.query());
        polls.spawn(async move {
            let result = github.poll_runs(&repo, &query).await;
            (repo, result)
        });
    }
    let pollers = repos.len();
    while let Some(joined) = polls.join_next().await {
        let Ok((repo, result)) = joined else { continue };
        let Some(watch) = repos.get_mut(&repo) else {
            continue;
        };
        let now = Instant::now();
        match result {
            Ok(result) => {
                watch.failures = 0;
                watch.apply(&result);
                let youngest = watch
                    .entries
                    .iter()
                    .filter(|e| !e.done)
                    .map(|e| now - e.registered)
                    .min()
                    .unwrap_or_default();
                let rate = github.stats().rate;
                let interval = paced_interval(
                    policy.interval(youngest),
                    &rate,
                    pollers,
                    Utc::now().timestamp(),
                );
                watch.next_poll = now + interval;
            }
            // Not a failure: the budget comes back at the reset, and polling before it would only
            // be refused again (or worse, get the integration banned).
            Err(Error::RateLimited { reset_at, .. }) => {
                let wait = rate_limited_poll_wait(reset_at, Utc::now(), rand::random::<f64>());
                tracing::warn!(repo = %repo, wait_secs = wait.as_secs(), "rate limited by GitHub; polling again after the reset");
                watch.next_poll = now + wait;
            }
            Err(err) => {
                watch.failures += 1;
                tracing::warn!(repo = %repo, error = %err, "polling runs failed");
                if err.is_refusal() || watch.failures >= MAX_POLL_FAILURES {
                    watch.fail_all(&WatchFailure {
                        message: err.to_string(),
                        refusal: err.is_refusal(),
                    });
                }
                watch.next_poll = now
                    + backoff
                        .backoff(watch.failures, rand::random::<f64>())
                        .max(policy.min);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fake::FakeGitHub;

    fn run(id: u64) -> RunSummary {
        let at = Utc::now();
        RunSummary {
            id,
            html_url: format!("https://github.com/acme/api/actions/runs/{id}"),
            status: "completed".into(),
            conclusion: Some("success".into()),
            display_title: "deploy".into(),
            event: "workflow_dispatch".into(),
            head_branch: Some("main".into()),
            path: ".github/workflows/deploy.yml".into(),
            created_at: at,
            updated_at: at,
            run_started_at: Some(at),
            run_attempt: Some(1),
        }
    }

    /// A rate limit lasting half an hour (far longer than ten failed polls with backoff) is
    /// waited out: no poll before the reset, no failure, and the run completes after it.
    #[tokio::test(start_paused = true)]
    async fn a_long_rate_limit_is_waited_out_not_counted_as_failures() {
        let reset_at = Utc::now() + chrono::Duration::minutes(30);
        // The first poll is refused until the reset; later ones show the run completed.
        let fake = Arc::new(FakeGitHub::polls(Box::new(move |n, repo, query| {
            if n == 0 {
                return Err(Error::RateLimited {
                    path: format!("/repos/{repo}/actions/runs"),
                    reset_at: Some(reset_at),
                });
            }
            Ok(PollResult {
                runs: query.run_ids.iter().map(|&id| (id, run(id))).collect(),
                correlated: BTreeMap::new(),
                not_modified: false,
                requests: 1,
            })
        })));
        let watcher = RunWatcher::spawn(fake.clone(), PollPolicy::default());
        let started = Instant::now();
        let handle = watcher.watch(WatchTarget::Run {
            repo: Repo {
                owner: "acme".into(),
                name: "api".into(),
            },
            run_id: 7,
            created_since: None,
            event: None,
        });
        tokio::time::sleep(Duration::from_secs(29 * 60)).await;
        assert_eq!(handle.state(), RunState::Searching);
        assert_eq!(fake.poll_times().len(), 1, "no poll before the reset");
        let done = tokio::time::timeout(Duration::from_secs(5 * 60), handle.completed())
            .await
            .expect("polled again after the reset")
            .expect("completed");
        assert_eq!(done.id, 7);
        let polls = fake.poll_times();
        assert_eq!(polls.len(), 2);
        let waited = polls[1] - started;
        assert!(
            waited >= Duration::from_secs(30 * 60) && waited < Duration::from_secs(31 * 60),
            "{waited:?}"
        );
    }
}
