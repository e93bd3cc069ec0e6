//! The GitHub layer against the emulator crate over HTTP: many concurrent dispatches with and
//! without run details (every dispatch awaits its own run), a dispatch answered 502 after it
//! created its run, a secondary rate limit with `retry-after`, and a watcher waiting out an
//! exhausted primary budget.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use orchestrate_emulator::{
    Behaviour, Emulator, EmulatorConfig, Fault, RepoSpec, RunningEmulator, Scenario, ScriptedFault,
    WorkflowSpec,
};
use orchestrate_github::{
    CancelOutcome, Client, ClientConfig, Credentials, DispatchRequest, ForecastPolicy, GitHub,
    Pacing, PollPolicy, RetryPolicy, RunState, RunWatcher, Secret, WatchTarget,
};

use crate::repo;

async fn emulator(legacy_ghes: bool) -> RunningEmulator {
    emulator_with_budget(legacy_ghes, EmulatorConfig::default().rate_limit).await
}

async fn emulator_with_budget(legacy_ghes: bool, rate_limit: u32) -> RunningEmulator {
    let workflow = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .input("orchestrate_id", false)
        .run_name("deploy ${{ inputs.version }} [${{ inputs.orchestrate_id }}]")
        .behaviour(Behaviour::timed(
            Duration::from_secs(2),
            Duration::from_secs(8),
            "success",
        ));
    let scenario = Scenario::builder().repo(RepoSpec::new("acme/api").workflow(workflow));
    let config = EmulatorConfig {
        legacy_ghes,
        rate_limit,
        time_factor: Some(20.0),
        ..EmulatorConfig::new(scenario)
    };
    Emulator::start(config).await.expect("emulator starts")
}

fn client(url: &str) -> Client {
    let mut config = ClientConfig::new(
        url,
        Credentials::Token(Secret::new(orchestrate_emulator::DEFAULT_TOKEN)),
    );
    config.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    config.dispatch_lookup = Duration::from_secs(2);
    config.dispatch_lookup_interval = Duration::from_millis(100);
    Client::new(config).expect("client")
}

fn request(n: usize, correlate: bool) -> DispatchRequest {
    DispatchRequest {
        repo: repo(),
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: BTreeMap::from([("version".to_owned(), format!("1.0.{n}"))]),
        correlate,
    }
}

/// Dispatch 50 runs concurrently and await them all; every dispatch must get its own run.
async fn fifty(emu: &RunningEmulator, correlate: bool) {
    fifty_paced(emu, correlate, PollPolicy::fast().into(), false).await;
}

/// The same, with any pacing; `predicted`: each run awaited with its workflow's forecast.
async fn fifty_paced(emu: &RunningEmulator, correlate: bool, pacing: Pacing, predicted: bool) {
    let github: Arc<dyn GitHub> = Arc::new(client(emu.base_url()));
    let mut dispatches = tokio::task::JoinSet::new();
    for n in 0..50 {
        let github = github.clone();
        dispatches.spawn(async move { (n, github.dispatch(&request(n, correlate)).await) });
    }
    let watcher = RunWatcher::spawn(github.clone(), pacing);
    let mut handles = Vec::new();
    while let Some(joined) = dispatches.join_next().await {
        let (n, dispatched) = joined.expect("task");
        let dispatched = dispatched.expect("dispatch succeeds");
        let target = WatchTarget::from_dispatch(&dispatched, chrono::Duration::seconds(120))
            .expect("identifiable");
        let handle = if predicted {
            watcher.watch_predicted(target, "deploy.yml")
        } else {
            watcher.watch(target)
        };
        handles.push((n, handle));
    }
    let mut ids = BTreeSet::new();
    for (n, handle) in handles {
        let run = tokio::time::timeout(Duration::from_secs(30), handle.completed())
            .await
            .expect("in time")
            .expect("completes");
        assert!(run.succeeded(), "{run:?}");
        assert!(
            run.display_title.starts_with(&format!("deploy 1.0.{n} ")),
            "run {} is not dispatch {n}: {}",
            run.id,
            run.display_title
        );
        ids.insert(run.id);
    }
    assert_eq!(ids.len(), 50, "every dispatch awaited its own run");
    assert_eq!(emu.runs("acme/api").len(), 50);
    // Awaiting is one list per tick for the repository, not one GET per run; 304s are free.
    let requests = emu.requests();
    let per_run = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path_only().starts_with("/repos/acme/api/actions/runs/"))
        .count();
    let lists = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path_only() == "/repos/acme/api/actions/runs")
        .count();
    let not_modified = requests.iter().filter(|r| r.status == 304).count();
    assert_eq!(per_run, 0, "no per-run GETs");
    assert!(lists < 60, "{lists} list requests for 50 runs");
    assert!(
        not_modified > 0 || lists < 20,
        "conditional requests answered 304"
    );
}

#[tokio::test]
async fn fifty_dispatches_with_run_details() {
    let emu = emulator(false).await;
    fifty(&emu, false).await;
}

/// Real-time forecast pacing (the workflow has no history here, so its no-history intervals),
/// by correlation: still one list per tick, every dispatch its own run.
#[tokio::test]
async fn fifty_dispatches_with_forecast_pacing_by_correlation() {
    let emu = emulator(true).await;
    fifty_paced(&emu, true, ForecastPolicy::default().into(), true).await;
    let history = emu
        .requests()
        .iter()
        .filter(|r| r.path_only() == "/repos/acme/api/actions/workflows/deploy.yml/runs")
        .count();
    assert_eq!(
        history, 1,
        "the workflow's history is read once for its 50 runs"
    );
}

/// A dispatch whose first attempt created a run that showed up late (after the dispatch was
/// re-sent): the second run carrying the same correlation id is cancelled and reported, and
/// the awaited run is followed to its end.
#[tokio::test]
async fn a_late_duplicate_of_a_dispatch_is_cancelled_and_reported() {
    let emu = emulator(false).await;
    let github: Arc<dyn GitHub> = Arc::new(client(emu.base_url()));
    let dispatched = github
        .dispatch(&request(1, true))
        .await
        .expect("dispatched");
    let correlation = dispatched.correlation.clone().expect("a correlation id");
    let kept = dispatched.run.as_ref().expect("run details").id;
    // The late first attempt: the same inputs and correlation id, a run of its own.
    let late = reqwest::Client::new()
        .post(format!(
            "{}/repos/acme/api/actions/workflows/deploy.yml/dispatches",
            emu.base_url()
        ))
        .bearer_auth(orchestrate_emulator::DEFAULT_TOKEN)
        .header("accept", "application/vnd.github+json")
        .json(&serde_json::json!({
            "ref": "main",
            "inputs": { "version": "1.0.1", "orchestrate_id": correlation.id },
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(late.status(), 204);
    let watcher = RunWatcher::spawn(github.clone(), PollPolicy::fast());
    let target = WatchTarget::from_dispatch(&dispatched, chrono::Duration::seconds(120))
        .expect("identifiable");
    let mut handle = watcher.watch(target);
    let mut duplicates = Vec::new();
    let done = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            duplicates.extend(handle.take_duplicates());
            if let RunState::Completed(run) = handle.state() {
                duplicates.extend(handle.take_duplicates());
                return run;
            }
            handle.changed().await.expect("watching");
        }
    })
    .await
    .expect("in time");
    assert_eq!(
        done.id, kept,
        "the awaited run is the one the dispatch named"
    );
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert_eq!(duplicates[0].kept, kept);
    assert_eq!(duplicates[0].cancelled, Ok(CancelOutcome::Requested));
    let runs = emu.runs("acme/api");
    let duplicate = runs
        .iter()
        .find(|r| r.id == duplicates[0].run.id)
        .expect("the duplicate is a run of the emulator");
    assert_ne!(duplicate.id, kept);
    assert_eq!(
        (duplicate.status.as_str(), duplicate.conclusion.as_deref()),
        ("completed", Some("cancelled"))
    );
}

#[tokio::test]
async fn fifty_dispatches_on_old_ghes_by_correlation() {
    let emu = emulator(true).await;
    fifty(&emu, false).await;
}

#[tokio::test]
async fn a_502_after_the_run_was_created_leaves_exactly_one_run() {
    let emu = emulator(false).await;
    emu.inject(ScriptedFault::new(
        Some("POST"),
        "/dispatches",
        Fault::SucceedThen502,
    ));
    let dispatched = client(emu.base_url())
        .dispatch(&request(1, true))
        .await
        .expect("the run is found");
    let runs = emu.runs("acme/api");
    assert_eq!(runs.len(), 1, "exactly one run exists");
    assert_eq!(dispatched.run.map(|r| r.id), Some(runs[0].id));
}

#[tokio::test]
async fn a_secondary_rate_limit_is_waited_out() {
    let emu = emulator(false).await;
    let github = client(emu.base_url());
    let dispatched = github.dispatch(&request(1, false)).await.expect("dispatch");
    let run_id = dispatched.run.expect("run details").id;
    emu.inject(ScriptedFault::new(
        Some("GET"),
        "/actions/runs/",
        Fault::SecondaryLimit {
            status: 429,
            retry_after: 1,
        },
    ));
    let started = std::time::Instant::now();
    let run = github
        .get_run(&repo(), run_id)
        .await
        .expect("succeeds after waiting");
    assert_eq!(run.id, run_id);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

/// With the token's budget spent (the emulator's window is an hour of wall time), the watcher
/// neither fails the awaited run nor sends a request before the reset: it has scheduled its
/// next poll for then. (That it polls again and completes after the reset is shown with a
/// paused clock in `watch.rs`: the emulator's window cannot be shortened.)
#[tokio::test]
async fn a_watcher_waits_for_an_exhausted_budget_without_failing_or_asking() {
    let emu = emulator_with_budget(false, 3).await;
    let github = Arc::new(client(emu.base_url()));
    let run_id = github
        .dispatch(&request(1, false))
        .await
        .expect("dispatch")
        .run
        .expect("run details")
        .id;
    let mut refused = None;
    for _ in 0..5 {
        // Unconditional reads: a 304 would be free.
        github.clear_etag_cache();
        if let Err(err) = github.get_run(&repo(), run_id).await {
            refused = Some(err);
            break;
        }
    }
    let Some(orchestrate_github::Error::RateLimited { reset_at, .. }) = refused else {
        panic!("the budget runs out: {refused:?}");
    };
    let reset_at = reset_at.expect("reset named");
    assert!(reset_at > chrono::Utc::now() + chrono::Duration::minutes(55));
    let sent = emu.requests().len();
    let github: Arc<dyn GitHub> = github;
    let watcher = RunWatcher::spawn(github, PollPolicy::fast());
    let handle = watcher.watch(WatchTarget::Run {
        repo: repo(),
        run_id,
        created_since: None,
        event: None,
        correlation: None,
    });
    // Ten times the fast policy's longest interval: enough for failed polls to pile up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(handle.state(), orchestrate_github::RunState::Searching);
    assert_eq!(emu.requests().len(), sent, "no request before the reset");
}
