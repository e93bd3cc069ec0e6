//! The watcher on a scripted GitHub with tokio's paused clock: rate limits waited out, slow
//! repositories isolated, forecasts placing the polls, duplicates cancelled.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::error::Error;
use crate::fake::FakeGitHub;
use crate::forecast::ForecastPolicy;
use crate::types::{Correlation, PollQuery, PollResult};

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
        correlation: None,
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

fn repo(name: &str) -> Repo {
    Repo {
        owner: "acme".into(),
        name: name.into(),
    }
}

fn by_id(repo: &str, run_id: u64) -> WatchTarget {
    WatchTarget::Run {
        repo: self::repo(repo),
        run_id,
        created_since: None,
        event: None,
        correlation: None,
    }
}

fn running(id: u64) -> RunSummary {
    RunSummary {
        status: "in_progress".into(),
        conclusion: None,
        ..run(id)
    }
}

/// Every awaited run of `query`, completed when `done`, else in progress.
fn answer_runs(query: &PollQuery, done: bool) -> crate::error::Result<PollResult> {
    answer(
        query
            .run_ids
            .iter()
            .map(|&id| if done { run(id) } else { running(id) })
            .collect(),
    )
}

fn answer(runs: Vec<RunSummary>) -> crate::error::Result<PollResult> {
    Ok(PollResult {
        runs: runs.iter().map(|r| (r.id, r.clone())).collect(),
        correlated: BTreeMap::new(),
        not_modified: false,
        requests: 1,
    })
}

/// A repository whose every poll takes two minutes (a server that answers slowly, a client
/// retrying with backoff) does not hold up the polling of another repository.
#[tokio::test(start_paused = true)]
async fn a_slow_repository_does_not_delay_the_others() {
    let started = Instant::now();
    let fake = Arc::new(
        FakeGitHub::polls(Box::new(move |_, repo, query| {
            let done = Instant::now() - started >= Duration::from_secs(3);
            answer_runs(query, done && repo.name == "fast")
        }))
        .slow("slow", Duration::from_secs(120)),
    );
    let watcher = RunWatcher::spawn(fake.clone(), PollPolicy::default());
    let slow = watcher.watch(by_id("slow", 1));
    let fast = watcher.watch(by_id("fast", 2));
    let done = tokio::time::timeout(Duration::from_secs(10), fast.completed())
        .await
        .expect("the fast repository's run is seen completed while the slow poll hangs")
        .expect("completed");
    assert_eq!(done.id, 2);
    assert!(Instant::now() - started < Duration::from_secs(6));
    assert_eq!(
        slow.state(),
        RunState::Searching,
        "its first poll is still out"
    );
}

/// With a history of 20 s runs the first poll waits for the core of the window [19 s, 21 s]
/// (20 s ± 0.65 s); the run ending at 20 s is seen on the next poll, 1.3 s later. Two runs of
/// the workflow in the same repository read its history once.
#[tokio::test(start_paused = true)]
async fn the_forecast_places_the_polls_where_the_run_ends() {
    let started = Instant::now();
    let fake = Arc::new(
        FakeGitHub::polls(Box::new(move |_, _, query| {
            let done = Instant::now() - started >= Duration::from_secs(20);
            answer_runs(query, done)
        }))
        .history(vec![Duration::from_secs(20); 5]),
    );
    let watcher = RunWatcher::spawn(fake.clone(), ForecastPolicy::default());
    let first = watcher.watch_predicted(by_id("api", 1), "deploy.yml");
    let second = watcher.watch_predicted(by_id("api", 2), "deploy.yml");
    let mut first = first;
    first.changed().await.expect("seen");
    // Seen started first at 19.35 s: that far from the registration, the start is not
    // measured.
    assert_eq!(first.start_bracket(), Some(Duration::from_millis(19_350)));
    first.completed().await.expect("completed");
    second.completed().await.expect("completed");
    let polls: Vec<u128> = fake
        .poll_times()
        .iter()
        .map(|t| (*t - started).as_millis())
        .collect();
    assert_eq!(
        polls,
        [19_350, 20_650],
        "one list request per tick for both runs"
    );
    assert_eq!(fake.history_reads(), 1);
}

/// Without a workflow (or without history) the no-history intervals apply: 1.3 s.
#[tokio::test(start_paused = true)]
async fn without_a_forecast_polls_are_dense() {
    let started = Instant::now();
    let fake = Arc::new(FakeGitHub::polls(Box::new(move |_, _, query| {
        let done = Instant::now() - started >= Duration::from_secs(3);
        answer_runs(query, done)
    })));
    let watcher = RunWatcher::spawn(fake.clone(), ForecastPolicy::default());
    let mut handle = watcher.watch(by_id("api", 1));
    handle.changed().await.expect("seen");
    assert_eq!(handle.start_bracket(), Some(Duration::from_millis(1300)));
    handle.completed().await.expect("completed");
    let polls: Vec<u128> = fake
        .poll_times()
        .iter()
        .map(|t| (*t - started).as_millis())
        .collect();
    assert_eq!(polls, [1300, 2600, 3900]);
    assert_eq!(fake.history_reads(), 0);
}

/// A second run carrying the awaited run's correlation id is cancelled and reported once,
/// and the awaited run is still followed to its end.
#[tokio::test(start_paused = true)]
async fn a_duplicate_run_is_cancelled_and_reported_once() {
    let correlation = Correlation {
        repo: repo("api"),
        workflow: "deploy.yml".into(),
        git_ref: Some("main".into()),
        event: "workflow_dispatch".into(),
        id: "orc-7".into(),
        since: Utc::now() - chrono::Duration::minutes(1),
    };
    let id = correlation.id.clone();
    let fake = Arc::new(FakeGitHub::polls(Box::new(move |n, _, query| {
        assert!(
            query.correlations.contains(&"orc-7".to_owned()),
            "{query:?}"
        );
        let awaited = if n >= 2 { run(7) } else { running(7) };
        let duplicate = running(8);
        Ok(PollResult {
            runs: BTreeMap::from([(7, awaited.clone())]),
            correlated: BTreeMap::from([(id.clone(), vec![awaited, duplicate])]),
            not_modified: false,
            requests: 1,
        })
    })));
    let watcher = RunWatcher::spawn(fake.clone(), PollPolicy::default());
    let mut handle = watcher.watch(WatchTarget::Run {
        repo: repo("api"),
        run_id: 7,
        created_since: None,
        event: None,
        correlation: Some(correlation),
    });
    let mut reported = Vec::new();
    loop {
        reported.extend(handle.take_duplicates());
        if matches!(handle.state(), RunState::Completed(_)) {
            break;
        }
        handle.changed().await.expect("watching");
    }
    reported.extend(handle.take_duplicates());
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!((reported[0].kept, reported[0].run.id), (7, 8));
    assert_eq!(reported[0].cancelled, Ok(CancelOutcome::Requested));
    assert_eq!(fake.cancelled(), [8]);
}
