//! The sweep of the gateway answers every operation can get: 401, 403, 404, rate limits and
//! injected faults.

use std::collections::BTreeMap;

use super::super::{METADATA_ONLY, OUTSIDER, READER, TINY};
use super::*;

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
