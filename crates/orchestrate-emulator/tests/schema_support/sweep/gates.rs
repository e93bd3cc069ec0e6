//! The sweep of environment gates: pending deployments, reviews refused and granted, the
//! review history, wait timers.

use super::super::{INTEGRATION, STRANGER};
use super::*;

/// Dispatches `workflow` of `octo/gated` with run details; returns the run id.
async fn dispatch_gated(env: &Env<'_>, workflow: &str) -> u64 {
    let answer = env
        .post(
            &format!("{GATED}/workflows/{workflow}/dispatches"),
            json!({ "ref": "main", "inputs": { "version": "1.0.0" }, "return_run_details": true }),
        )
        .expect(200)
        .await;
    answer.body["workflow_run_id"].as_u64().expect("run id")
}

/// Environment gates: a run waiting for its reviewers, reviews refused (an App token, a
/// non-reviewer, a wrong environment, a bad body, nothing pending), an approval, a rejection,
/// the review history, and a run held by a wait timer alone.
pub async fn approvals(env: &Env<'_>) {
    let run = dispatch_gated(env, "release.yml").await;
    let pending = format!("{GATED}/runs/{run}/pending_deployments");
    let queued = env.get(&pending).expect(200).await;
    assert_eq!(queued.body, json!([]), "nothing pending while queued");
    env.advance(10);
    let waiting = env.get(&format!("{GATED}/runs/{run}")).expect(200).await;
    assert_eq!(waiting.body["status"], "waiting");
    let jobs = env
        .get(&format!("{GATED}/runs/{run}/jobs"))
        .expect(200)
        .await;
    let statuses: Vec<&str> = jobs.body["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["status"].as_str())
        .collect();
    assert_eq!(statuses, ["waiting", "queued"]);
    let gate = env.get(&pending).expect(200).await;
    let entry = &gate.body[0];
    assert_eq!(entry["environment"]["name"], "production");
    assert_eq!(entry["current_user_can_approve"], true);
    assert_eq!(entry["wait_timer"], 0);
    assert!(entry["wait_timer_started_at"].is_null());
    let kinds: Vec<&str> = entry["reviewers"]
        .as_array()
        .expect("reviewers")
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(kinds, ["User", "User", "Team"]);
    let etag = gate.header("etag").to_owned();
    env.get(&pending)
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    let stranger = env.get(&pending).token(Some(STRANGER)).expect(200).await;
    assert_eq!(stranger.body[0]["current_user_can_approve"], false);
    let env_id = entry["environment"]["id"].as_u64().expect("environment id");
    let approve = json!({ "environment_ids": [env_id], "state": "approved", "comment": "Ship it" });
    env.post(&pending, approve.clone())
        .token(Some(INTEGRATION))
        .expect(403)
        .await;
    let refused = env
        .post(&pending, approve.clone())
        .token(Some(STRANGER))
        .expect(422)
        .await;
    assert!(
        refused.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("mallory")),
        "{}",
        refused.body
    );
    for body in [
        json!({ "environment_ids": [env_id + 1], "state": "approved", "comment": "" }),
        json!({ "environment_ids": [env_id], "state": "maybe", "comment": "" }),
        json!({ "environment_ids": [env_id], "state": "approved" }),
        json!({ "state": "approved", "comment": "" }),
    ] {
        env.post(&pending, body).expect(422).await;
    }
    let approved = env.post(&pending, approve.clone()).expect(200).await;
    let deployment = &approved.body[0];
    assert_eq!(
        (
            deployment["environment"].as_str(),
            deployment["task"].as_str()
        ),
        (Some("production"), Some("deploy"))
    );
    env.post(&pending, approve.clone()).expect(422).await;
    let history = env
        .get(&format!("{GATED}/runs/{run}/approvals"))
        .expect(200)
        .await;
    assert_eq!(
        (
            history.body[0]["state"].as_str(),
            history.body[0]["user"]["login"].as_str(),
            history.body[0]["comment"].as_str()
        ),
        (Some("approved"), Some("octocat"), Some("Ship it"))
    );
    let started = env.get(&format!("{GATED}/runs/{run}")).expect(200).await;
    assert_eq!(started.body["status"], "in_progress");
    assert_eq!(env.get(&pending).expect(200).await.body, json!([]));

    let rejected = dispatch_gated(env, "release.yml").await;
    env.advance(10);
    env.post(
        &format!("{GATED}/runs/{rejected}/pending_deployments"),
        json!({ "environment_ids": [env_id], "state": "rejected", "comment": "not today" }),
    )
    .expect(200)
    .await;
    let failed = env
        .get(&format!("{GATED}/runs/{rejected}"))
        .expect(200)
        .await;
    assert_eq!(
        (
            failed.body["status"].as_str(),
            failed.body["conclusion"].as_str()
        ),
        (Some("completed"), Some("failure"))
    );
    let jobs = env
        .get(&format!("{GATED}/runs/{rejected}/jobs"))
        .expect(200)
        .await;
    assert_eq!(jobs.body["jobs"][0]["conclusion"], "failure");
    assert_eq!(jobs.body["jobs"][0]["steps"], json!([]));
    assert_eq!(jobs.body["jobs"][1]["conclusion"], "skipped");
    // GitHub records a deployment for each gated job; the rejected one failed at once.
    let deployments = env
        .get("/repos/octo/gated/deployments?environment=production")
        .expect(200)
        .await;
    let newest = deployments
        .body
        .as_array()
        .expect("deployments")
        .iter()
        .max_by_key(|d| d["id"].as_u64());
    let newest = newest.and_then(|d| d["id"].as_u64()).expect("a deployment");
    let statuses = env
        .get(&format!("/repos/octo/gated/deployments/{newest}/statuses"))
        .expect(200)
        .await;
    assert_eq!(statuses.body[0]["state"], "failure", "{}", statuses.body);

    let timed = dispatch_gated(env, "timed.yml").await;
    env.advance(10);
    let held = env
        .get(&format!("{GATED}/runs/{timed}/pending_deployments"))
        .expect(200)
        .await;
    assert_eq!(
        (
            held.body[0]["wait_timer"].as_u64(),
            held.body[0]["current_user_can_approve"].as_bool()
        ),
        (Some(2), Some(false))
    );
    assert!(held.body[0]["wait_timer_started_at"].is_string());
    env.advance(120);
    let going = env.get(&format!("{GATED}/runs/{timed}")).expect(200).await;
    assert_eq!(going.body["status"], "in_progress", "the timer passed");
}
