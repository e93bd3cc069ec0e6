//! Run lists: newest first, filters (`event`, `status`, `branch`, `created`, …), pagination
//! with absolute `Link` headers.

use serde_json::json;

use crate::support::{Env, assert_error};

fn ids(answer: &crate::support::Answer) -> Vec<u64> {
    answer.body["workflow_runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["id"].as_u64())
        .collect()
}

#[tokio::test]
async fn pagination_links_are_absolute_and_pages_are_newest_first() {
    let env = Env::standard().await;
    let mut created = Vec::new();
    for i in 0..35 {
        created.push(env.dispatch(&format!("1.{i}"), "p").await);
    }
    let first = env
        .get("/repos/octo/api/actions/workflows/deploy.yml/runs?per_page=10")
        .await;
    assert_eq!(first.body["total_count"], 35);
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(ids(&first), newest_first[..10]);
    let base = env.emu.base_url();
    let link = first.header("link");
    assert!(link.contains(&format!("<{base}/repos/octo/api/actions/workflows/deploy.yml/runs?per_page=10&page=2>; rel=\"next\"")), "{link}");
    assert!(link.contains("page=4>; rel=\"last\""), "{link}");
    let last = env
        .get("/repos/octo/api/actions/runs?per_page=10&page=4")
        .await;
    assert_eq!(ids(&last), newest_first[30..]);
    let link = last.header("link");
    assert!(
        link.contains("page=3>; rel=\"prev\"")
            && link.contains("page=1>; rel=\"first\"")
            && !link.contains("next"),
        "{link}"
    );
    let default = env.get("/repos/octo/api/actions/runs").await;
    assert_eq!(
        default.body["workflow_runs"].as_array().map(Vec::len),
        Some(30)
    );
    let capped = env.get("/repos/octo/api/actions/runs?per_page=500").await;
    assert_eq!(
        capped.body["workflow_runs"].as_array().map(Vec::len),
        Some(35)
    );
    assert!(capped.header("link").is_empty());
}

#[tokio::test]
async fn created_status_event_and_branch_filters() {
    let env = Env::standard().await;
    let early = env.dispatch("1.0.0", "a").await;
    env.advance(3600);
    let late = env.dispatch("1.0.1", "b").await;
    let since = env
        .get("/repos/octo/api/actions/runs?created=%3E%3D2026-05-01T10:30:00Z")
        .await;
    assert_eq!(ids(&since), [late]);
    let before = env
        .get("/repos/octo/api/actions/runs?created=%3C2026-05-01T10:30:00Z")
        .await;
    assert_eq!(ids(&before), [early]);
    let range = env
        .get("/repos/octo/api/actions/runs?created=2026-05-01..2026-05-01")
        .await;
    assert_eq!(ids(&range), [late, early]);
    let next_day = env
        .get("/repos/octo/api/actions/runs?created=%3E2026-05-01")
        .await;
    assert_eq!(next_day.body["total_count"], 0);
    assert_error(
        &env.get("/repos/octo/api/actions/runs?created=soon").await,
        422,
        "Validation Failed",
    );
    assert_eq!(
        ids(&env
            .get("/repos/octo/api/actions/runs?status=completed")
            .await),
        [early]
    );
    assert_eq!(
        ids(&env.get("/repos/octo/api/actions/runs?status=success").await),
        [early]
    );
    assert_eq!(
        ids(&env.get("/repos/octo/api/actions/runs?status=queued").await),
        [late]
    );
    assert_eq!(
        env.get("/repos/octo/api/actions/runs?event=push")
            .await
            .body["total_count"],
        0
    );
    assert_eq!(
        env.get("/repos/octo/api/actions/runs?event=workflow_dispatch&branch=main")
            .await
            .body["total_count"],
        2
    );
    assert_eq!(
        env.get("/repos/octo/api/actions/runs?branch=release")
            .await
            .body["total_count"],
        0
    );
    let sha = env
        .get(&format!("/repos/octo/api/actions/runs/{early}"))
        .await
        .body["head_sha"]
        .clone();
    let by_sha = env
        .get(&format!(
            "/repos/octo/api/actions/runs?head_sha={}",
            sha.as_str().expect("sha")
        ))
        .await;
    assert_eq!(by_sha.body["total_count"], 2);
    assert_eq!(
        env.get("/repos/octo/api/actions/runs?actor=octocat")
            .await
            .body["total_count"],
        2
    );
}

#[tokio::test]
async fn repository_dispatch_starts_listening_workflows() {
    let env = Env::standard().await;
    let answer = env
        .post(
            "/repos/octo/api/dispatches",
            json!({ "event_type": "deploy", "client_payload": { "version": "9.9.9" } }),
        )
        .await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    let runs = env
        .get("/repos/octo/api/actions/runs?event=repository_dispatch")
        .await;
    assert_eq!(runs.body["total_count"], 1);
    assert_eq!(
        runs.body["workflow_runs"][0]["display_title"],
        "Event 9.9.9"
    );
    let other = env
        .post(
            "/repos/octo/api/dispatches",
            json!({ "event_type": "unrelated" }),
        )
        .await;
    assert_eq!(other.status, 204);
    assert_eq!(env.emu.runs("octo/api").len(), 1);
    let payload: serde_json::Map<String, serde_json::Value> =
        (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    assert_error(
        &env.post(
            "/repos/octo/api/dispatches",
            json!({ "event_type": "deploy", "client_payload": payload }),
        )
        .await,
        422,
        "No more than 10",
    );
    assert_error(
        &env.post("/repos/octo/api/dispatches", json!({ "event_type": "" }))
            .await,
        422,
        "between 1 and 100",
    );
}
