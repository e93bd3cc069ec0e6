//! Waiting: conditional requests (a 304 is free), one list request per repository for every run
//! awaited there, retry-after honoured, GET retries on 5xx, cancel's 202/409.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use orchestrate_github::{
    CancelOutcome, GitHub, PollPolicy, PollQuery, RunState, RunWatcher, WatchTarget,
};

use crate::fake::{self, Resp, run_json};
use crate::{client, repo};

const T0: &str = "2026-01-01T10:00:00Z";

#[tokio::test]
async fn an_unchanged_list_answers_304_and_costs_nothing() {
    let gh = fake::start(|req| {
        if req.is("GET", "/repos/acme/api/actions/runs?") {
            if req.header("if-none-match") == Some("\"v1\"") {
                return Resp::empty(304).header("etag", "\"v1\"");
            }
            return Resp::json(200, serde_json::json!({"total_count": 1, "workflow_runs": [run_json(1, "a", "in_progress", None, T0)]}))
                .header("etag", "\"v1\"")
                .header("x-ratelimit-limit", "5000")
                .header("x-ratelimit-remaining", "4990")
                .header("x-ratelimit-reset", "4102444800");
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let query = PollQuery {
        run_ids: vec![1],
        created_since: Some(T0.parse().expect("time")),
        ..PollQuery::default()
    };
    let first = github.poll_runs(&repo(), &query).await.expect("first poll");
    assert!(!first.not_modified);
    let second = github
        .poll_runs(&repo(), &query)
        .await
        .expect("second poll");
    assert!(second.not_modified);
    assert_eq!(
        second.runs[&1].status, "in_progress",
        "served from the cache"
    );
    let stats = github.stats();
    assert_eq!(
        (stats.requests, stats.counted, stats.not_modified),
        (2, 1, 1)
    );
    assert_eq!(stats.rate.remaining, Some(4990));
    assert_eq!(gh.requests()[1].header("if-none-match"), Some("\"v1\""));
    assert!(
        gh.requests()[0]
            .path
            .contains("created=%3E%3D2026-01-01T10%3A00%3A00Z"),
        "{}",
        gh.requests()[0].path
    );
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_request_succeeds() {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/3") {
            if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                return Resp::json(
                    429,
                    serde_json::json!({"message": "You have exceeded a secondary rate limit"}),
                )
                .header("retry-after", "1");
            }
            return Resp::json(200, run_json(3, "a", "completed", Some("success"), T0));
        }
        Resp::empty(404)
    })
    .await;
    let started = Instant::now();
    let run = client(&gh.url)
        .get_run(&repo(), 3)
        .await
        .expect("succeeds after waiting");
    assert!(run.succeeded());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn gets_are_retried_after_5xx() {
    let calls = Arc::new(AtomicU32::new(0));
    let seen = calls.clone();
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/4")
            && seen.fetch_add(1, Ordering::SeqCst) < 2
        {
            return Resp::json(503, serde_json::json!({"message": "unavailable"}));
        }
        Resp::json(200, run_json(4, "a", "queued", None, T0))
    })
    .await;
    let github = client(&gh.url);
    assert_eq!(
        github
            .get_run(&repo(), 4)
            .await
            .expect("third try works")
            .id,
        4
    );
    assert_eq!(github.stats().retries, 2);
}

#[tokio::test]
async fn cancel_accepts_202_and_409() {
    let gh = fake::start(|req| match req.path.as_str() {
        "/repos/acme/api/actions/runs/1/cancel" => Resp::json(202, serde_json::json!({})),
        "/repos/acme/api/actions/runs/2/cancel" => Resp::json(
            409,
            serde_json::json!({"message": "Cannot cancel a workflow run that is completed."}),
        ),
        _ => Resp::empty(404),
    })
    .await;
    let github = client(&gh.url);
    assert_eq!(
        github.cancel_run(&repo(), 1).await.expect("202"),
        CancelOutcome::Requested
    );
    assert_eq!(
        github.cancel_run(&repo(), 2).await.expect("409"),
        CancelOutcome::AlreadyCompleted
    );
}

#[tokio::test]
async fn the_watcher_polls_once_per_repository_for_all_its_runs() {
    let lists = Arc::new(AtomicU32::new(0));
    let counter = lists.clone();
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs?") || req.is("GET", "/repos/acme/web/actions/runs?") {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            // Runs finish after a few polls; the second one later than the first.
            let state = |id: u64, after: u32| {
                if n >= after { run_json(id, "r", "completed", Some("success"), T0) } else { run_json(id, "r", "in_progress", None, T0) }
            };
            return Resp::json(200, serde_json::json!({"total_count": 3, "workflow_runs": [state(1, 2), state(2, 4), state(3, 3)]}));
        }
        Resp::empty(404)
    })
    .await;
    let github: Arc<dyn GitHub> = Arc::new(client(&gh.url));
    let policy = PollPolicy {
        min: Duration::from_millis(20),
        max: Duration::from_millis(50),
        growth: 0.05,
    };
    let watcher = RunWatcher::spawn(github.clone(), policy);
    let web = orchestrate_github::Repo {
        owner: "acme".into(),
        name: "web".into(),
    };
    let target = |repo: &orchestrate_github::Repo, run_id| WatchTarget::Run {
        repo: repo.clone(),
        run_id,
        created_since: Some(T0.parse().expect("time")),
        event: Some("workflow_dispatch".into()),
        correlation: None,
    };
    let handles = vec![
        watcher.watch(target(&repo(), 1)),
        watcher.watch(target(&repo(), 2)),
        watcher.watch(target(&web, 3)),
    ];
    for handle in handles {
        let run = tokio::time::timeout(Duration::from_secs(10), handle.completed())
            .await
            .expect("in time")
            .expect("completes");
        assert!(run.succeeded());
    }
    let requests = gh.requests();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path.contains("/actions/runs/"))
            .count(),
        0,
        "no GET per run"
    );
    let api = requests
        .iter()
        .filter(|r| r.path.starts_with("/repos/acme/api/"))
        .count();
    let web = requests
        .iter()
        .filter(|r| r.path.starts_with("/repos/acme/web/"))
        .count();
    assert!(
        api <= 8 && web <= 8,
        "one list request per repository per tick: api={api} web={web}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.path.contains("event=workflow_dispatch"))
    );
}

#[tokio::test]
async fn the_watcher_reports_a_refusal() {
    let gh = fake::start(|_| Resp::json(404, serde_json::json!({"message": "Not Found"}))).await;
    let github: Arc<dyn GitHub> = Arc::new(client(&gh.url));
    let watcher = RunWatcher::spawn(github, PollPolicy::fast());
    let mut handle = watcher.watch(WatchTarget::Run {
        repo: repo(),
        run_id: 9,
        created_since: None,
        event: None,
        correlation: None,
    });
    let state = tokio::time::timeout(Duration::from_secs(5), handle.changed())
        .await
        .expect("in time");
    match state {
        Some(RunState::Failed(failure)) => {
            assert!(failure.refusal);
            assert!(
                failure.message.contains("token cannot see acme/api"),
                "{}",
                failure.message
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_long_primary_limit_fails_fast_and_stops_sending() {
    let reset = chrono::Utc::now().timestamp() + 3600;
    let gh = fake::start(move |_| {
        Resp::json(
            403,
            serde_json::json!({"message": "API rate limit exceeded for installation ID 1."}),
        )
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", reset.to_string())
    })
    .await;
    let github = client(&gh.url);
    for _ in 0..3 {
        let err = github.get_run(&repo(), 3).await.expect_err("rate limited");
        match err {
            orchestrate_github::Error::RateLimited { reset_at, .. } => {
                let at = reset_at.expect("reset known").timestamp();
                assert!((reset - 5..=reset + 5).contains(&at), "{at} vs {reset}");
            }
            other => panic!("expected a rate limit, got {other}"),
        }
    }
    let cancel = github
        .cancel_run(&repo(), 3)
        .await
        .expect_err("rate limited");
    assert!(
        matches!(cancel, orchestrate_github::Error::RateLimited { .. }),
        "{cancel}"
    );
    assert_eq!(
        gh.requests().len(),
        1,
        "nothing more is sent while GitHub refuses"
    );
}

#[tokio::test]
async fn a_renamed_repository_is_followed_on_the_same_host_only() {
    let gh = fake::start(|req| {
        if req.is("GET", "/repos/acme/api/actions/runs/3") {
            // GitHub's answer for a renamed repository: where it lives now, absolute.
            let host = req.header("host").unwrap_or_default().to_owned();
            return Resp::json(301, serde_json::json!({"message": "Moved Permanently"})).header(
                "location",
                format!("http://{host}/repositories/9/actions/runs/3"),
            );
        }
        if req.is("GET", "/repositories/9/actions/runs/3") {
            return Resp::json(200, run_json(3, "a", "completed", Some("success"), T0));
        }
        if req.is("POST", "/repos/acme/api/actions/runs/4/cancel") {
            return Resp::empty(307).header("location", "http://evil.example.net/cancel");
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let run = github.get_run(&repo(), 3).await.expect("followed");
    assert_eq!(run.id, 3);
    let err = github.cancel_run(&repo(), 4).await.expect_err("foreign");
    assert!(
        matches!(err, orchestrate_github::Error::ForeignHost { .. }),
        "{err}"
    );
    assert_eq!(gh.requests().len(), 3, "nothing was sent to the other host");
}

/// The cache loses a body (evicted, cleared) while its 304 is on the way: the request is asked
/// again once without `If-None-Match`, instead of failing with "GitHub answered 304".
#[tokio::test]
async fn a_304_for_an_evicted_body_is_asked_again_without_the_validator() {
    let slot: Arc<std::sync::OnceLock<Arc<orchestrate_github::Client>>> = Arc::default();
    let evict = slot.clone();
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs?") {
            if req.header("if-none-match") == Some("\"v1\"") {
                if let Some(client) = evict.get() {
                    client.clear_etag_cache();
                }
                return Resp::empty(304).header("etag", "\"v1\"");
            }
            return Resp::json(200, serde_json::json!({"total_count": 1, "workflow_runs": [run_json(1, "a", "in_progress", None, T0)]}))
                .header("etag", "\"v1\"");
        }
        Resp::empty(404)
    })
    .await;
    let github = Arc::new(client(&gh.url));
    slot.set(github.clone()).expect("set once");
    let query = PollQuery {
        run_ids: vec![1],
        created_since: Some(T0.parse().expect("time")),
        ..PollQuery::default()
    };
    github.poll_runs(&repo(), &query).await.expect("first poll");
    let second = github
        .poll_runs(&repo(), &query)
        .await
        .expect("second poll survives the eviction");
    assert_eq!(second.runs[&1].status, "in_progress");
    assert!(!second.not_modified);
    let validators: Vec<_> = gh
        .requests()
        .iter()
        .map(|r| r.header("if-none-match").map(str::to_owned))
        .collect();
    assert_eq!(validators, [None, Some("\"v1\"".to_owned()), None]);
}
