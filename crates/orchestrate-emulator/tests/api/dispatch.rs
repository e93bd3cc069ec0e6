//! Workflow dispatch answers exactly as GitHub's: 204, 200 with run details, 400 on old GHES,
//! 422 validation failures, 404; and many concurrent dispatches.

use std::collections::BTreeSet;
use std::sync::Arc;

use orchestrate_emulator::EmulatorConfig;
use serde_json::{Map, Value, json};

use crate::support::{Env, assert_error, config, start};

const DISPATCH: &str = "/repos/octo/api/actions/workflows/deploy.yml/dispatches";

#[tokio::test]
async fn dispatch_answers_204_by_default_and_creates_the_run() {
    let env = Env::standard().await;
    let answer = env
        .post(
            DISPATCH,
            json!({ "ref": "main", "inputs": { "version": "1.2.3", "orchestrate_id": "abc" } }),
        )
        .await;
    assert_eq!(answer.status, 204);
    assert!(answer.text.is_empty());
    let runs = env.emu.runs("octo/api");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].display_title, "Deploy 1.2.3 [abc]");
    assert_eq!(runs[0].event, "workflow_dispatch");
    assert_eq!(runs[0].status, "queued");
}

#[tokio::test]
async fn return_run_details_answers_200_with_urls_on_the_emulator() {
    let env = Env::standard().await;
    let body =
        json!({ "ref": "main", "inputs": { "version": "1.0.0" }, "return_run_details": true });
    let answer = env.post(DISPATCH, body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let id = answer.body["workflow_run_id"].as_u64().expect("id");
    let base = env.emu.base_url();
    assert_eq!(
        answer.body["run_url"],
        json!(format!("{base}/repos/octo/api/actions/runs/{id}"))
    );
    assert_eq!(
        answer.body["html_url"],
        json!(format!("{base}/octo/api/actions/runs/{id}"))
    );
    let run = env.get(&format!("/repos/octo/api/actions/runs/{id}")).await;
    assert_eq!(run.body["display_title"], "Deploy 1.0.0 []");
}

#[tokio::test]
async fn api_version_2026_always_answers_200_and_numeric_ids_work() {
    let env = Env::standard().await;
    let workflows = env.get("/repos/octo/api/actions/workflows").await;
    let id = workflows.body["workflows"][0]["id"]
        .as_u64()
        .expect("workflow id");
    let request = env
        .http
        .post(env.url(&format!(
            "/repos/octo/api/actions/workflows/{id}/dispatches"
        )))
        .bearer_auth(&env.token)
        .header("x-github-api-version", "2026-03-10")
        .json(&json!({ "ref": "refs/heads/main", "inputs": { "version": "1.0.0" } }));
    let answer = env.send(request).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.body["workflow_run_id"].is_u64());
    assert_eq!(answer.header("x-github-api-version-selected"), "2026-03-10");
}

#[tokio::test]
async fn old_ghes_rejects_return_run_details_with_400() {
    let env = start(EmulatorConfig {
        legacy_ghes: true,
        ..config()
    })
    .await;
    let body = json!({ "ref": "main", "inputs": { "version": "1" }, "return_run_details": true });
    assert_error(
        &env.post(DISPATCH, body).await,
        400,
        "\"return_run_details\" is not a permitted key.",
    );
    assert!(env.emu.runs("octo/api").is_empty());
    let plain = env
        .post(
            DISPATCH,
            json!({ "ref": "main", "inputs": { "version": "1" } }),
        )
        .await;
    assert_eq!(plain.status, 204);
}

#[tokio::test]
async fn a_scenario_file_turns_old_ghes_on() {
    let yaml =
        "legacy_ghes: true\nrepos:\n  - name: octo/api\n    workflows:\n      - file: deploy.yml\n";
    let scenario = orchestrate_emulator::Scenario::from_yaml(yaml).expect("valid scenario");
    let env = start(EmulatorConfig::new(scenario)).await;
    let body = json!({ "ref": "main", "return_run_details": true });
    assert_error(
        &env.post(DISPATCH, body).await,
        400,
        "\"return_run_details\" is not a permitted key.",
    );
    let plain = env.post(DISPATCH, json!({ "ref": "main" })).await;
    assert_eq!(plain.status, 204);
}

#[tokio::test]
async fn invalid_dispatches_answer_422_and_create_nothing() {
    let env = Env::standard().await;
    let cases = [
        (
            json!({ "ref": "main", "inputs": { "version": "1", "x": "y" } }),
            "Unexpected inputs provided: [\"x\"]",
        ),
        (
            json!({ "ref": "main", "inputs": {} }),
            "Required input 'version' not provided",
        ),
        (
            json!({ "ref": "nope", "inputs": { "version": "1" } }),
            "No ref found for: nope",
        ),
        (
            json!({ "inputs": { "version": "1" } }),
            "\"ref\" wasn't supplied",
        ),
    ];
    for (body, message) in cases {
        assert_error(&env.post(DISPATCH, body).await, 422, message);
    }
    let many: Map<String, Value> = (0..26).map(|i| (format!("i{i}"), json!("v"))).collect();
    let answer = env
        .post(DISPATCH, json!({ "ref": "main", "inputs": many }))
        .await;
    assert_error(&answer, 422, "only 25 are allowed");
    let huge = "x".repeat(65_536);
    let answer = env
        .post(
            DISPATCH,
            json!({ "ref": "main", "inputs": { "version": huge } }),
        )
        .await;
    assert_error(&answer, 422, "inputs are too large.");
    let on_event = env
        .post(
            "/repos/octo/api/actions/workflows/on-event.yml/dispatches",
            json!({ "ref": "main" }),
        )
        .await;
    assert_error(
        &on_event,
        422,
        "Workflow does not have 'workflow_dispatch' trigger",
    );
    assert_error(
        &env.post(
            "/repos/octo/api/actions/workflows/missing.yml/dispatches",
            json!({ "ref": "main" }),
        )
        .await,
        404,
        "Not Found",
    );
    assert!(env.emu.runs("octo/api").is_empty());
}

#[tokio::test]
async fn tags_are_valid_refs_and_become_head_branch() {
    let env = Env::standard().await;
    let answer = env
        .post(
            DISPATCH,
            json!({ "ref": "v1.0.0", "inputs": { "version": "1" } }),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(env.emu.runs("octo/api")[0].head_branch, "v1.0.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_dispatches_get_their_own_run_and_run_name() {
    let env = Arc::new(Env::standard().await);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let env = Arc::clone(&env);
            tokio::spawn(async move {
                (
                    i,
                    env.dispatch(&format!("1.0.{i}"), &format!("corr-{i}"))
                        .await,
                )
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("dispatch task"));
    }
    let ids: BTreeSet<u64> = results.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), 50);
    for (i, id) in &results {
        let run = env.get(&format!("/repos/octo/api/actions/runs/{id}")).await;
        assert_eq!(
            run.body["display_title"],
            json!(format!("Deploy 1.0.{i} [corr-{i}]"))
        );
    }
    let numbers: BTreeSet<u64> = env
        .emu
        .runs("octo/api")
        .iter()
        .map(|r| r.run_number)
        .collect();
    assert_eq!(numbers, (1..=50).collect());
}
