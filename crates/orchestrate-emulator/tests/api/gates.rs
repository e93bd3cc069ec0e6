//! Environment gates over HTTP: a scripted review opens (or fails) a waiting run at its time,
//! the run's ETag changes when it leaves `waiting`, the review shows in the run's history,
//! and `status=waiting` finds waiting runs.

use orchestrate_emulator::{EmulatorConfig, EnvironmentSpec, ReviewScript, Scenario};
use serde_json::json;

use crate::support::{Answer, Env, config, start};

const RUNS: &str = "/repos/octo/gated/actions/runs";

/// The standard scenario with `release.yml` reviewed as `review` says.
async fn scripted(review: &str) -> Env {
    let mut scenario: Scenario = crate::support::scenario();
    let repo = scenario
        .repos
        .iter_mut()
        .find(|r| r.name == "octo/gated")
        .expect("octo/gated");
    let mut env = EnvironmentSpec::new("production", &["alice", "bob"]);
    env.review = Some(ReviewScript::parse(review).expect("valid review"));
    repo.workflows[0].environment = Some(env);
    start(EmulatorConfig {
        scenario,
        ..config()
    })
    .await
}

/// The run again, conditionally on `etag`.
async fn revalidate(env: &Env, run: u64, etag: &str) -> Answer {
    let request = env
        .http
        .get(env.url(&format!("{RUNS}/{run}")))
        .bearer_auth(&env.token)
        .header("if-none-match", etag);
    env.send(request).await
}

async fn dispatch(env: &Env) -> u64 {
    let answer = env
        .post(
            "/repos/octo/gated/actions/workflows/release.yml/dispatches",
            json!({ "ref": "main", "inputs": { "version": "1.0.0" }, "return_run_details": true }),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["workflow_run_id"].as_u64().expect("run id")
}

#[tokio::test]
async fn a_scripted_approval_opens_the_gate_and_changes_the_etag() {
    let env = scripted("approved after 2m by bob").await;
    let run = dispatch(&env).await;
    env.advance(10);
    let waiting = env.get(&format!("{RUNS}/{run}")).await;
    assert_eq!(waiting.body["status"], "waiting");
    let listed = env.get(&format!("{RUNS}?status=waiting")).await;
    assert_eq!(listed.body["total_count"], 1);
    let etag = waiting.header("etag").to_owned();
    let history = env.get(&format!("{RUNS}/{run}/approvals")).await;
    assert_eq!(history.body, json!([]), "nobody reviewed yet");
    env.advance(119);
    let still = revalidate(&env, run, &etag).await;
    assert_eq!(still.status, 304, "unchanged while it waits");
    env.advance(1);
    let running = revalidate(&env, run, &etag).await;
    assert_eq!(running.status, 200, "leaving `waiting` changes the ETag");
    assert_eq!(running.body["status"], "in_progress");
    assert_eq!(running.body["updated_at"], "2026-05-01T10:02:10Z");
    let history = env.get(&format!("{RUNS}/{run}/approvals")).await;
    assert_eq!(history.body[0]["user"]["login"], "bob");
    assert_eq!(history.body[0]["state"], "approved");
    assert_eq!(history.body[0]["environments"][0]["name"], "production");
    env.advance(60);
    let done = env.get(&format!("{RUNS}/{run}")).await;
    assert_eq!(done.body["conclusion"], "success");
}

#[tokio::test]
async fn a_scripted_rejection_fails_the_run_and_a_cancel_ends_the_wait() {
    let env = scripted("rejected after 30s by bob").await;
    let run = dispatch(&env).await;
    env.advance(40);
    let done = env.get(&format!("{RUNS}/{run}")).await;
    assert_eq!(
        (
            done.body["status"].as_str(),
            done.body["conclusion"].as_str()
        ),
        (Some("completed"), Some("failure"))
    );
    let history = env.get(&format!("{RUNS}/{run}/approvals")).await;
    assert_eq!(
        (
            history.body[0]["state"].as_str(),
            history.body[0]["user"]["login"].as_str()
        ),
        (Some("rejected"), Some("bob"))
    );
    let artifacts = env.get(&format!("{RUNS}/{run}/artifacts")).await;
    assert_eq!(
        artifacts.body["total_count"], 0,
        "a rejected run uploads nothing"
    );

    let second = dispatch(&env).await;
    env.advance(20);
    let cancel = env
        .post(&format!("{RUNS}/{second}/cancel"), json!({}))
        .await;
    assert_eq!(cancel.status, 202);
    env.advance(60);
    let cancelled = env.get(&format!("{RUNS}/{second}")).await;
    assert_eq!(cancelled.body["conclusion"], "cancelled");
    let history = env.get(&format!("{RUNS}/{second}/approvals")).await;
    assert_eq!(history.body, json!([]), "the review never came");
}
