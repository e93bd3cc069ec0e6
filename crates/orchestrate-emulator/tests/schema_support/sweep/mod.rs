//! The sweep: drives every operation of the subset through every status the emulator can
//! answer for it (the checker validates each body), area by area, plus the gateway answers
//! (401, 403, 404, rate limits, injected faults) for every operation.

use std::collections::{BTreeMap, BTreeSet};

use orchestrate_emulator::{Fault, ScriptedFault};
use reqwest::Method;
use serde_json::{Value, json};

use super::Env;
use super::spec::API_2026;

mod gates;
mod gateway;
mod history;

pub use gates::approvals;
pub use gateway::gateway;
pub use history::{history, with_history};

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
