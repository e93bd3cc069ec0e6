//! The sweep: drives every operation of the subset through every status the emulator can
//! answer for it (the checker validates each body), area by area, plus the gateway answers
//! (401, 403, 404, rate limits, injected faults) for every operation.

use std::collections::{BTreeMap, BTreeSet};

use orchestrate_emulator::{Fault, ScriptedFault};
use reqwest::Method;
use serde_json::{Value, json};

use super::spec::API_2026;
use super::{Env, INTEGRATION, METADATA_ONLY, OUTSIDER, READER, STRANGER, TINY};

const WF: &str = "/repos/octo/api/actions/workflows";
const RUNS: &str = "/repos/octo/api/actions/runs";
const ART: &str = "/repos/octo/api/actions/artifacts";
const DEP: &str = "/repos/octo/api/deployments";
const GATED: &str = "/repos/octo/gated/actions";

/// Handler statuses each operation must have answered during the sweep (the gateway's 401,
/// 403 and 404 are added for every operation by [`expected`]).
const HANDLER_STATUSES: &[(&str, &[u16])] = &[
    ("rate-limit/get", &[200, 304]),
    ("actions/list-artifacts-for-repo", &[200, 304]),
    ("actions/get-artifact", &[200]),
    ("actions/delete-artifact", &[204]),
    ("actions/download-artifact", &[302, 410]),
    ("actions/get-job-for-workflow-run", &[200, 500]),
    ("actions/list-workflow-runs-for-repo", &[200, 304, 422, 429]),
    ("actions/get-workflow-run", &[200, 304]),
    ("actions/list-workflow-run-artifacts", &[200]),
    ("actions/get-workflow-run-attempt", &[200]),
    ("actions/list-jobs-for-workflow-run-attempt", &[200]),
    ("actions/cancel-workflow-run", &[202, 409]),
    ("actions/force-cancel-workflow-run", &[202, 409]),
    ("actions/list-jobs-for-workflow-run", &[200]),
    ("actions/download-workflow-run-logs", &[302]),
    ("actions/re-run-workflow", &[201]),
    ("actions/re-run-workflow-failed-jobs", &[201]),
    ("actions/list-repo-workflows", &[200]),
    ("actions/get-workflow", &[200]),
    (
        "actions/create-workflow-dispatch",
        &[200, 204, 400, 422, 502],
    ),
    ("actions/list-workflow-runs", &[200, 422]),
    ("repos/list-deployments", &[200]),
    ("repos/create-deployment", &[201, 202, 400, 409, 422]),
    ("repos/get-deployment", &[200]),
    ("repos/delete-deployment", &[204, 422]),
    ("repos/list-deployment-statuses", &[200]),
    ("repos/create-deployment-status", &[201, 422]),
    ("repos/get-deployment-status", &[200]),
    ("repos/create-dispatch-event", &[204, 422]),
    ("issues/create", &[201, 400, 422, 503]),
    ("issues/create-comment", &[201, 422]),
    ("actions/get-pending-deployments-for-run", &[200, 304]),
    (
        "actions/review-pending-deployments-for-run",
        &[200, 403, 422],
    ),
    ("actions/get-reviews-for-run", &[200]),
];

/// Every (operation, status) the sweep must exercise: the table above, plus 401 for every
/// operation and 403/404 for every repository operation.
pub fn expected(env: &Env<'_>) -> BTreeMap<String, BTreeSet<u16>> {
    let mut all: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (id, statuses) in HANDLER_STATUSES {
        all.entry((*id).to_owned())
            .or_default()
            .extend(statuses.iter());
    }
    for op in &env.checker.spec.operations {
        let entry = all.entry(op.id.clone()).or_default();
        entry.insert(401);
        if op.repo_scoped() {
            entry.extend([403, 404]);
        }
    }
    all
}

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

/// Workflows and dispatch.
pub async fn workflows(env: &Env<'_>) {
    let list = env.get(WF).expect(200).await;
    let id = list.body["workflows"][0]["id"]
        .as_u64()
        .expect("workflow id");
    env.get(&format!("{WF}/deploy.yml")).expect(200).await;
    env.get(&format!("{WF}/{id}")).expect(200).await;
    env.get(&format!("{WF}/missing.yml")).expect(404).await;

    let dispatch = format!("{WF}/deploy.yml/dispatches");
    let inputs = json!({ "version": "1.0.0" });
    env.post(&dispatch, json!({ "ref": "main", "inputs": inputs }))
        .expect(204)
        .await;
    env.post(
        &dispatch,
        json!({ "ref": "main", "inputs": inputs, "return_run_details": true }),
    )
    .expect(200)
    .await;
    env.post(&dispatch, json!({ "ref": "v1.0.0", "inputs": inputs }))
        .version(API_2026)
        .expect(200)
        .await;
    let too_many: serde_json::Map<String, Value> =
        (0..26).map(|i| (format!("i{i}"), json!("x"))).collect();
    for body in [
        json!({ "inputs": inputs }),
        json!({ "ref": "nope", "inputs": inputs }),
        json!({ "ref": "main", "inputs": { "version": "1", "extra": "x" } }),
        json!({ "ref": "main" }),
        json!({ "ref": "main", "inputs": too_many }),
        json!({ "ref": "main", "inputs": { "version": "x".repeat(70_000) } }),
    ] {
        env.post(&dispatch, body).expect(422).await;
    }
    env.post(
        &format!("{WF}/on-event.yml/dispatches"),
        json!({ "ref": "main" }),
    )
    .expect(422)
    .await;
    env.req(Method::POST, &dispatch)
        .raw("{not json")
        .expect(400)
        .await;
    env.post(
        &format!("{WF}/missing.yml/dispatches"),
        json!({ "ref": "main" }),
    )
    .expect(404)
    .await;

    env.get(&format!("{WF}/deploy.yml/runs?per_page=1"))
        .expect(200)
        .await;
    env.get(&format!("{WF}/deploy.yml/runs?created=yesterday"))
        .expect(422)
        .await;
    env.get(&format!("{WF}/missing.yml/runs")).expect(404).await;
}

/// Old GHES: `return_run_details` is an unknown key.
pub async fn legacy_dispatch(env: &Env<'_>) {
    let dispatch = format!("{WF}/deploy.yml/dispatches");
    let answer = env
        .post(
            &dispatch,
            json!({ "ref": "main", "inputs": { "version": "1" }, "return_run_details": true }),
        )
        .expect(400)
        .await;
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"return_run_details\" is not a permitted key.")),
        "{}",
        answer.body
    );
    env.post(
        &dispatch,
        json!({ "ref": "main", "inputs": { "version": "1" } }),
    )
    .expect(204)
    .await;
}

/// Runs, attempts, jobs, logs, cancel and re-run.
pub async fn runs(env: &Env<'_>) {
    let run = env.dispatch("1.1.0").await;
    let failing = env.dispatch("2.0.0").await;
    env.get(RUNS).expect(200).await;
    env.get(&format!(
        "{RUNS}?event=workflow_dispatch&branch=main&status=queued&created=%3E%3D2026-05-01&per_page=2"
    ))
    .expect(200)
    .await;
    env.get(&format!("{RUNS}?created=yesterday"))
        .expect(422)
        .await;
    env.get(&format!("{RUNS}/{run}")).expect(200).await;
    env.get(&format!("{RUNS}/{run}"))
        .version(API_2026)
        .expect(200)
        .await;
    env.get(RUNS).version(API_2026).expect(200).await;
    env.get(&format!("{RUNS}/99999")).expect(404).await;
    env.advance(15);
    let jobs = env.get(&format!("{RUNS}/{run}/jobs")).expect(200).await;
    let job = jobs.body["jobs"][0]["id"].as_u64().expect("job id");
    env.get(&format!("/repos/octo/api/actions/jobs/{job}"))
        .expect(200)
        .await;
    env.get("/repos/octo/api/actions/jobs/99999")
        .expect(404)
        .await;
    env.get(&format!("{RUNS}/{run}/attempts/1"))
        .expect(200)
        .await;
    env.get(&format!("{RUNS}/{run}/attempts/1/jobs"))
        .expect(200)
        .await;
    env.get(&format!("{RUNS}/{run}/attempts/7"))
        .expect(404)
        .await;
    env.get(&format!("{RUNS}/{run}/attempts/7/jobs"))
        .expect(404)
        .await;
    env.get(&format!("{RUNS}/99999/jobs")).expect(404).await;
    let logs = env.get(&format!("{RUNS}/{run}/logs")).expect(302).await;
    let location = logs.header("location").to_owned();
    let text = env
        .checker
        .http()
        .get(&location)
        .send()
        .await
        .expect("logs");
    assert_eq!(
        text.status().as_u16(),
        200,
        "log URL {location} without a token"
    );
    env.get(&format!("{RUNS}/99999/logs")).expect(404).await;

    // Still running: re-runs are refused, cancel is accepted once.
    env.post(&format!("{RUNS}/{run}/rerun"), json!({}))
        .expect(403)
        .await;
    env.post(&format!("{RUNS}/{run}/rerun-failed-jobs"), json!({}))
        .expect(403)
        .await;
    env.post(&format!("{RUNS}/{run}/cancel"), json!({}))
        .expect(202)
        .await;
    env.post(&format!("{RUNS}/{run}/cancel"), json!({}))
        .expect(409)
        .await;
    env.post(&format!("{RUNS}/{failing}/force-cancel"), json!({}))
        .expect(202)
        .await;
    env.post(&format!("{RUNS}/{failing}/force-cancel"), json!({}))
        .expect(409)
        .await;
    env.post(&format!("{RUNS}/99999/cancel"), json!({}))
        .expect(404)
        .await;
    env.post(
        &format!("{RUNS}/{run}/rerun"),
        json!({ "enable_debug_logging": false }),
    )
    .expect(201)
    .await;
    env.post(&format!("{RUNS}/{failing}/rerun-failed-jobs"), json!({}))
        .expect(201)
        .await;
    env.post(&format!("{RUNS}/99999/rerun"), json!({}))
        .expect(404)
        .await;
    env.advance(120);
    env.get(&format!("{RUNS}/{run}/jobs?filter=all"))
        .expect(200)
        .await;
    env.get(&format!("{RUNS}/{run}/attempts/2"))
        .expect(200)
        .await;
    env.get(&format!("{RUNS}/{failing}")).expect(200).await;
}

/// Artifacts: list, get, download (302 and 410), delete.
pub async fn artifacts(env: &Env<'_>) {
    let run = env.dispatch("1.2.0").await;
    env.advance(120);
    let listed = env
        .get(&format!("{RUNS}/{run}/artifacts?name=release-manifest"))
        .expect(200)
        .await;
    let id = listed.body["artifacts"][0]["id"]
        .as_u64()
        .expect("the completed run uploaded its artifact");
    env.get(&format!("{RUNS}/99999/artifacts"))
        .expect(404)
        .await;
    env.get(&format!("{ART}?per_page=1")).expect(200).await;
    env.get(&format!("{ART}/{id}")).expect(200).await;
    env.get(&format!("{ART}/99999")).expect(404).await;
    env.get(&format!("{ART}/{id}/zip")).expect(302).await;
    env.get(&format!("{ART}/{id}/tar")).expect(404).await;
    env.get(&format!("{ART}/99999/zip")).expect(404).await;

    let other = env.dispatch("1.3.0").await;
    env.advance(120);
    let listed = env
        .get(&format!("{RUNS}/{other}/artifacts"))
        .expect(200)
        .await;
    let old = listed.body["artifacts"][0]["id"].as_u64().expect("id");
    assert!(env.emu.artifacts().expire(old));
    env.get(&format!("{ART}/{old}/zip")).expect(410).await;
    env.get(&format!("{ART}/{old}")).expect(200).await;

    env.delete(&format!("{ART}/{id}")).expect(204).await;
    env.delete(&format!("{ART}/{id}")).expect(404).await;
}

/// Deployments and their statuses.
pub async fn deployments(env: &Env<'_>) {
    let create = |environment: &str| {
        json!({ "ref": "main", "auto_merge": false, "required_contexts": [],
                "environment": environment, "payload": { "version": "1.0.0" },
                "description": "release" })
    };
    let first = env.post(DEP, create("staging")).expect(201).await;
    let first = first.body["id"].as_u64().expect("id");
    let second = env.post(DEP, create("staging")).expect(201).await;
    let second = second.body["id"].as_u64().expect("id");
    env.post(DEP, json!({ "ref": "release", "environment": "staging" }))
        .expect(202)
        .await;
    env.post(
        "/repos/octo/web/deployments",
        json!({ "ref": "main", "auto_merge": false }),
    )
    .expect(409)
    .await;
    env.post(DEP, json!({ "environment": "staging" }))
        .expect(422)
        .await;
    env.post(DEP, json!({ "ref": "nope" })).expect(422).await;
    env.req(Method::POST, DEP).raw("[").expect(400).await;

    env.get(&format!("{DEP}?environment=staging&per_page=1"))
        .expect(200)
        .await;
    env.get(&format!("{DEP}/{first}")).expect(200).await;
    env.get(&format!("{DEP}/99999")).expect(404).await;

    let statuses = |id: u64| format!("{DEP}/{id}/statuses");
    for id in [first, second] {
        env.post(&statuses(id), json!({ "state": "in_progress" }))
            .expect(201)
            .await;
        env.post(
            &statuses(id),
            json!({ "state": "success", "environment_url": "https://staging.example.com",
                    "log_url": "https://example.com/log" }),
        )
        .expect(201)
        .await;
    }
    env.post(&statuses(first), json!({ "state": "bogus" }))
        .expect(422)
        .await;
    env.post(
        &statuses(first),
        json!({ "state": "success", "description": "d".repeat(141) }),
    )
    .expect(422)
    .await;
    env.post(&statuses(99999), json!({ "state": "success" }))
        .expect(404)
        .await;
    let listed = env.get(&statuses(first)).expect(200).await;
    let status_id = listed.body[0]["id"].as_u64().expect("status id");
    env.get(&statuses(99999)).expect(404).await;
    env.get(&format!("{}/{status_id}", statuses(first)))
        .expect(200)
        .await;
    env.get(&format!("{}/99999", statuses(first)))
        .expect(404)
        .await;

    // `second` succeeded last and is active in a shared environment; `first` went inactive.
    env.delete(&format!("{DEP}/{second}")).expect(422).await;
    env.delete(&format!("{DEP}/{first}")).expect(204).await;
    env.delete(&format!("{DEP}/{first}")).expect(404).await;
}

/// Issues, comments and repository_dispatch.
pub async fn issues_and_dispatches(env: &Env<'_>) {
    let issues = "/repos/octo/api/issues";
    let issue = json!({ "title": "Release 1.0.0 failed", "body": "see run",
                        "labels": ["release"], "assignees": ["octocat"] });
    let created = env.post(issues, issue.clone()).expect(201).await;
    let number = created.body["number"].as_u64().expect("number");
    env.post(issues, issue).version(API_2026).expect(201).await;
    env.post(issues, json!({ "body": "no title" }))
        .expect(422)
        .await;
    env.req(Method::POST, issues).raw("{").expect(400).await;
    env.inject(ScriptedFault::new(
        Some("POST"),
        "/issues",
        Fault::Status(503),
    ));
    env.post(issues, json!({ "title": "x" })).expect(503).await;

    let comments = format!("{issues}/{number}/comments");
    env.post(&comments, json!({ "body": "Rolled back." }))
        .expect(201)
        .await;
    env.post(&comments, json!({})).expect(422).await;
    env.post(&format!("{issues}/99999/comments"), json!({ "body": "x" }))
        .expect(404)
        .await;

    let dispatches = "/repos/octo/api/dispatches";
    env.post(
        dispatches,
        json!({ "event_type": "deploy", "client_payload": { "version": "1" } }),
    )
    .expect(204)
    .await;
    env.post(dispatches, json!({})).expect(422).await;
    let big: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    env.post(
        dispatches,
        json!({ "event_type": "deploy", "client_payload": big }),
    )
    .expect(422)
    .await;
}

/// `GET /rate_limit` in both API versions, and its 304.
pub async fn rate_limit(env: &Env<'_>) {
    let first = env.get("/rate_limit").expect(200).await;
    env.get("/rate_limit").version(API_2026).expect(200).await;
    let etag = first.header("etag").to_owned();
    env.get("/rate_limit")
        .header("if-none-match", &etag)
        .expect(304)
        .await;
    let list = env.get(ART).expect(200).await;
    env.get(ART)
        .header("if-none-match", list.header("etag"))
        .expect(304)
        .await;
    let runs = env.get(RUNS).expect(200).await;
    env.get(RUNS)
        .header("if-none-match", runs.header("etag"))
        .expect(304)
        .await;
    let run = runs.body["workflow_runs"][0]["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("a run")
        .to_owned();
    let one = env.get(&format!("{RUNS}/{run}")).expect(200).await;
    env.get(&format!("{RUNS}/{run}"))
        .header("if-none-match", one.header("etag"))
        .expect(304)
        .await;
}

/// A concrete path for `template` in octo/api with ids that exist.
fn concrete(template: &str, ids: &BTreeMap<&str, String>) -> String {
    let mut path = template.to_owned();
    for (name, value) in ids {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    path
}

/// The gateway answers, for every operation: no token and a bad token (401), an invisible
/// repository (404), a token without the permission (403); then a primary limit (403), the
/// secondary limits (403 and 429 with `retry-after`), a 5xx and a dispatch that worked but
/// answered 502.
pub async fn gateway(env: &Env<'_>) {
    let run = env.dispatch("1.4.0").await;
    env.advance(120);
    let jobs = env.get(&format!("{RUNS}/{run}/jobs")).expect(200).await;
    let artifacts = env
        .get(&format!("{RUNS}/{run}/artifacts"))
        .expect(200)
        .await;
    let deployment = env
        .post(
            DEP,
            json!({ "ref": "main", "auto_merge": false, "required_contexts": [] }),
        )
        .expect(201)
        .await;
    let deployment = deployment.body["id"].as_u64().expect("id");
    let status = env
        .post(
            &format!("{DEP}/{deployment}/statuses"),
            json!({ "state": "queued" }),
        )
        .expect(201)
        .await;
    let ids: BTreeMap<&str, String> = [
        ("owner", "octo".to_owned()),
        ("repo", "api".to_owned()),
        ("workflow_id", "deploy.yml".to_owned()),
        ("run_id", run.to_string()),
        ("attempt_number", "1".to_owned()),
        ("job_id", jobs.body["jobs"][0]["id"].to_string()),
        (
            "artifact_id",
            artifacts.body["artifacts"][0]["id"].to_string(),
        ),
        ("archive_format", "zip".to_owned()),
        ("deployment_id", deployment.to_string()),
        ("status_id", status.body["id"].to_string()),
        ("issue_number", "1".to_owned()),
    ]
    .into_iter()
    .collect();
    for op in &env.checker.spec.operations {
        let path = concrete(&op.path, &ids);
        assert!(
            !path.contains('{'),
            "no value for a parameter of {}",
            op.path
        );
        let method = Method::from_bytes(op.method.as_bytes()).expect("method");
        env.req(method.clone(), &path).token(None).expect(401).await;
        env.req(method.clone(), &path)
            .token(Some("ghp_not_a_token"))
            .expect(401)
            .await;
        if op.repo_scoped() {
            env.req(method.clone(), &path)
                .token(Some(OUTSIDER))
                .expect(404)
                .await;
            env.req(method.clone(), &path)
                .token(Some(METADATA_ONLY))
                .expect(403)
                .await;
            // Read access is not enough to change anything, except a review: "required
            // reviewers with read access to the repository contents and deployments can use
            // this endpoint" (GitHub's description of it).
            if method != Method::GET && op.id != "actions/review-pending-deployments-for-run" {
                env.req(method, &path).token(Some(READER)).expect(403).await;
            }
        }
    }

    env.get(&format!("{RUNS}/{run}"))
        .token(Some(TINY))
        .expect(200)
        .await;
    let exhausted = env
        .get(&format!("{RUNS}/{run}"))
        .token(Some(TINY))
        .expect(403)
        .await;
    assert_eq!(exhausted.header("x-ratelimit-remaining"), "0");
    assert!(!exhausted.header("x-ratelimit-reset").is_empty());

    for status in [403, 429] {
        env.inject(ScriptedFault::new(
            Some("GET"),
            "/actions/runs",
            Fault::SecondaryLimit {
                status,
                retry_after: 30,
            },
        ));
        let limited = env.get(RUNS).expect(status).await;
        assert_eq!(limited.header("retry-after"), "30");
    }
    env.inject(ScriptedFault::new(
        Some("GET"),
        "/actions/jobs/",
        Fault::Status(500),
    ));
    env.get(&format!("/repos/octo/api/actions/jobs/{}", ids["job_id"]))
        .expect(500)
        .await;
    let before = env.emu.runs("octo/api").len();
    env.inject(ScriptedFault::new(
        Some("POST"),
        "/dispatches",
        Fault::SucceedThen502,
    ));
    env.post(
        &format!("{WF}/deploy.yml/dispatches"),
        json!({ "ref": "main", "inputs": { "version": "1.9.0" } }),
    )
    .expect(502)
    .await;
    assert_eq!(
        env.emu.runs("octo/api").len(),
        before + 1,
        "the dispatch that answered 502 still created its run"
    );
}
