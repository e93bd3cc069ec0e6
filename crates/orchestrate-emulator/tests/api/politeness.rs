//! ETags and 304s, the primary rate limit, secondary limits, injected faults, `/rate_limit`,
//! and the request log.

use orchestrate_emulator::{EmulatorConfig, Fault, FaultConfig, ScriptedFault};
use serde_json::json;

use crate::support::{Env, assert_error, config, start};

#[tokio::test]
async fn etag_304_does_not_count_against_the_rate_limit() {
    let env = Env::standard().await;
    let id = env.dispatch("1.0.0", "e").await;
    let path = format!("/repos/octo/api/actions/runs/{id}");
    let first = env.get(&path).await;
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let remaining: u32 = first
        .header("x-ratelimit-remaining")
        .parse()
        .expect("remaining");
    let request = env
        .http
        .get(env.url(&path))
        .bearer_auth(&env.token)
        .header("if-none-match", &etag);
    let again = env.send(request).await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.header("etag"), etag);
    assert_eq!(again.header("x-ratelimit-remaining"), remaining.to_string());
    // Time moves the run on, which changes its representation and its ETag.
    env.advance(15);
    let request = env
        .http
        .get(env.url(&path))
        .bearer_auth(&env.token)
        .header("if-none-match", &etag);
    let changed = env.send(request).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body["status"], "in_progress");
    assert_eq!(
        changed.header("x-ratelimit-remaining"),
        (remaining - 1).to_string()
    );
    let log = env.emu.requests();
    let not_modified = log.iter().find(|r| r.status == 304).expect("304 recorded");
    assert!(!not_modified.counted);
    assert_eq!(not_modified.token_id.as_deref(), Some("default"));
}

#[tokio::test]
async fn primary_exhaustion_answers_403_with_remaining_zero_and_reset() {
    let env = start(EmulatorConfig {
        rate_limit: 3,
        ..config()
    })
    .await;
    for expected in ["2", "1", "0"] {
        let answer = env.get("/repos/octo/api/actions/runs").await;
        assert_eq!(
            (answer.status, answer.header("x-ratelimit-remaining")),
            (200, expected)
        );
        assert_eq!(answer.header("x-ratelimit-limit"), "3");
        assert_eq!(answer.header("x-ratelimit-resource"), "core");
    }
    let limited = env.get("/repos/octo/api/actions/runs").await;
    assert_error(&limited, 403, "API rate limit exceeded for user ID");
    assert_eq!(limited.header("x-ratelimit-remaining"), "0");
    assert_eq!(limited.header("x-ratelimit-used"), "3");
    let reset: i64 = limited
        .header("x-ratelimit-reset")
        .parse()
        .expect("epoch seconds");
    assert!(reset > chrono::Utc::now().timestamp());
    // /rate_limit is not counted and still answers.
    let overview = env.get("/rate_limit").await;
    assert_eq!(overview.status, 200);
    assert_eq!(overview.body["resources"]["core"]["remaining"], 0);
    assert_eq!(overview.body["rate"]["used"], 3);
}

#[tokio::test]
async fn rate_limit_endpoint_drops_rate_under_api_2026() {
    let env = Env::standard().await;
    let request = env
        .http
        .get(env.url("/rate_limit"))
        .bearer_auth(&env.token)
        .header("x-github-api-version", "2026-03-10");
    let answer = env.send(request).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.get("rate").is_none());
    assert_eq!(answer.body["resources"]["core"]["limit"], 1000);
    assert!(env.emu.requests().iter().all(|r| !r.counted));
}

#[tokio::test]
async fn secondary_limit_answers_429_with_retry_after() {
    let env = Env::standard().await;
    env.emu.inject(ScriptedFault::new(
        Some("GET"),
        "/actions/runs",
        Fault::SecondaryLimit {
            status: 429,
            retry_after: 30,
        },
    ));
    let limited = env.get("/repos/octo/api/actions/runs").await;
    assert_error(&limited, 429, "secondary rate limit");
    assert_eq!(limited.header("retry-after"), "30");
    assert_eq!(env.get("/repos/octo/api/actions/runs").await.status, 200);
}

#[tokio::test]
async fn dispatch_that_answers_502_still_creates_the_run() {
    let env = Env::standard().await;
    env.emu.inject(ScriptedFault::new(
        Some("POST"),
        "/dispatches",
        Fault::SucceedThen502,
    ));
    let answer = env
        .post(
            "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
            json!({ "ref": "main", "inputs": { "version": "1" } }),
        )
        .await;
    assert_eq!(answer.status, 502);
    assert_eq!(env.emu.runs("octo/api").len(), 1);
}

/// A late run: created, answered 502, and missing from the run lists (the workflow's and the
/// repository's) until `listed_after` has passed; a GET by id sees it at once.
#[tokio::test]
async fn a_late_run_is_left_out_of_the_lists_until_it_is_listed() {
    let env = Env::standard().await;
    env.emu.inject(ScriptedFault::new(
        Some("POST"),
        "/dispatches",
        Fault::LateRun { listed_after: 60 },
    ));
    let answer = env
        .post(
            "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
            json!({ "ref": "main", "inputs": { "version": "1" } }),
        )
        .await;
    assert_eq!(answer.status, 502);
    let runs = env.emu.runs("octo/api");
    assert_eq!(runs.len(), 1);
    let id = runs[0].id;
    let count = |body: &serde_json::Value| body["total_count"].as_u64();
    let lists = [
        "/repos/octo/api/actions/runs",
        "/repos/octo/api/actions/workflows/deploy.yml/runs",
    ];
    for list in lists {
        assert_eq!(count(&env.get(list).await.body), Some(0), "{list}");
    }
    assert_eq!(
        env.get(&format!("/repos/octo/api/actions/runs/{id}"))
            .await
            .status,
        200
    );
    env.advance(61);
    for list in lists {
        let listed = env.get(list).await.body;
        assert_eq!(count(&listed), Some(1), "{list}");
        assert_eq!(listed["workflow_runs"][0]["id"].as_u64(), Some(id));
    }
}

#[tokio::test]
async fn seeded_faults_reset_connections_and_answer_5xx() {
    let faults = FaultConfig {
        seed: 42,
        error_rate: 0.3,
        reset_rate: 0.2,
        ..FaultConfig::default()
    };
    let env = start(EmulatorConfig { faults, ..config() }).await;
    let (mut resets, mut errors, mut fine) = (0, 0, 0);
    for _ in 0..40 {
        let request = env
            .http
            .get(env.url("/repos/octo/api/actions/workflows"))
            .bearer_auth(&env.token);
        match request.send().await {
            Err(_) => resets += 1,
            Ok(r) if r.status().is_server_error() => errors += 1,
            Ok(r) if r.status().is_success() => fine += 1,
            Ok(r) => panic!("unexpected status {}", r.status()),
        }
    }
    assert!(
        resets > 0 && errors > 0 && fine > 0,
        "resets {resets}, errors {errors}, fine {fine}"
    );
    let reset_records = env.emu.requests().iter().filter(|r| r.status == 0).count();
    assert_eq!(reset_records, resets);
}

#[tokio::test]
async fn every_request_is_recorded_without_the_token() {
    let env = Env::standard().await;
    env.get("/repos/octo/api/actions/runs?per_page=5").await;
    let log = env.emu.requests();
    let entry = log.last().expect("recorded");
    assert_eq!(
        (entry.method.as_str(), entry.path.as_str(), entry.status),
        ("GET", "/repos/octo/api/actions/runs?per_page=5", 200)
    );
    assert!(entry.counted);
    assert_eq!(entry.at.to_rfc3339(), "2026-05-01T10:00:00+00:00");
    assert!(!format!("{log:?}").contains(&env.token));
}
