//! Dispatch: run details (200), 204 with correlation, old-GHES 400 fallback, and the rule that
//! an ambiguous answer is resolved by looking, never by re-sending blindly.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use orchestrate_github::{DispatchRequest, Error, GitHub};

use crate::fake::{self, Req, Resp, run_json};
use crate::{TOKEN, client, repo};

const DISPATCHES: &str = "/repos/acme/api/actions/workflows/deploy.yml/dispatches";
const RUNS: &str = "/repos/acme/api/actions/workflows/deploy.yml/runs";

fn request(correlate: bool) -> DispatchRequest {
    DispatchRequest {
        repo: repo(),
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: BTreeMap::from([("version".to_owned(), "1.2.3".to_owned())]),
        correlate,
    }
}

/// The dispatch answer that creates no run yet (204), keeping the correlation id it carried.
fn remember_correlation(req: &Req, seen: &Mutex<Option<String>>) -> Resp {
    *seen.lock().expect("lock") = req.body["inputs"]["orchestrate_id"]
        .as_str()
        .map(str::to_owned);
    Resp::empty(204)
}

/// A workflow-runs list answer holding `runs`.
fn runs_page(runs: Vec<serde_json::Value>) -> Resp {
    Resp::json(
        200,
        serde_json::json!({"total_count": runs.len(), "workflow_runs": runs}),
    )
}

/// The POST requests the fake received, in order.
fn posts(gh: &fake::Fake) -> Vec<Req> {
    gh.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[tokio::test]
async fn run_details_are_used_and_headers_are_deliberate() {
    let gh = fake::start(|req| {
        if req.is("POST", DISPATCHES) {
            return Resp::json(
                200,
                serde_json::json!({"workflow_run_id": 42,
                "run_url": "http://x/repos/acme/api/actions/runs/42",
                "html_url": "https://github.com/acme/api/actions/runs/42"}),
            );
        }
        Resp::empty(404)
    })
    .await;
    let dispatched = client(&gh.url)
        .dispatch(&request(false))
        .await
        .expect("dispatch succeeds");
    assert_eq!(dispatched.run.map(|r| r.id), Some(42));
    assert!(dispatched.correlation.is_none());

    let sent = &gh.requests()[0];
    assert_eq!(sent.body["return_run_details"], true);
    assert_eq!(sent.body["inputs"]["version"], "1.2.3");
    assert!(
        sent.body["inputs"].get("orchestrate_id").is_none(),
        "the id is only sent when needed"
    );
    assert_eq!(
        sent.header("user-agent"),
        Some(concat!("orchestrate/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(sent.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(sent.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(
        sent.header("authorization").map(str::to_owned),
        Some(format!("Bearer {TOKEN}"))
    );
}

#[tokio::test]
async fn a_204_with_correlation_finds_the_run_by_its_title_only() {
    let sent_id: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = sent_id.clone();
    let gh = fake::start(move |req| {
        if req.is("POST", DISPATCHES) {
            return remember_correlation(req, &seen);
        }
        if req.is("GET", RUNS) {
            let id = seen.lock().expect("lock").clone().unwrap_or_default();
            // A newer run of someone else comes first: it must not be picked.
            return runs_page(vec![
                run_json(8, "deploy [orch-someoneelse00000]", "queued", None, &now()),
                run_json(7, &format!("deploy 1.2.3 [{id}]"), "queued", None, &now()),
            ]);
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let dispatched = github
        .dispatch(&request(true))
        .await
        .expect("dispatch succeeds");
    let correlation = dispatched.correlation.expect("correlation id sent");
    assert_eq!(
        Some(correlation.id.clone()),
        sent_id.lock().expect("lock").clone()
    );
    let run = github
        .find_dispatched_run(&correlation)
        .await
        .expect("lookup works")
        .expect("run found");
    assert_eq!(run.id, 7);
    let list = gh
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .expect("a list request");
    assert!(
        list.path.contains("event=workflow_dispatch"),
        "{}",
        list.path
    );
    assert!(list.path.contains("branch=main"), "{}", list.path);
    assert!(list.path.contains("created=%3E%3D"), "{}", list.path);
}

#[tokio::test]
async fn old_ghes_400_falls_back_to_correlation_and_is_remembered() {
    let gh = fake::start(|req| {
        if req.is("POST", DISPATCHES) {
            if req.body.get("return_run_details").is_some() {
                return Resp::json(400, serde_json::json!({"message": "Invalid request.\n\n\"return_run_details\" is not a permitted key."}));
            }
            return Resp::empty(204);
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let first = github
        .dispatch(&request(false))
        .await
        .expect("fallback dispatch succeeds");
    assert!(first.run.is_none());
    assert!(
        first.correlation.is_some(),
        "the fallback needs the correlation id"
    );
    let second = github
        .dispatch(&request(false))
        .await
        .expect("second dispatch succeeds");
    assert!(second.correlation.is_some());
    let posts = posts(&gh);
    assert_eq!(
        posts.len(),
        3,
        "400, retry without the field, then straight to correlation"
    );
    assert!(posts[1].body.get("return_run_details").is_none());
    assert!(posts[1].body["inputs"]["orchestrate_id"].is_string());
    assert!(posts[2].body.get("return_run_details").is_none());
}

#[tokio::test]
async fn a_502_that_created_a_run_is_found_not_dispatched_again() {
    let runs: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let store = runs.clone();
    let gh = fake::start(move |req| {
        if req.is("POST", DISPATCHES) {
            let id = req.body["inputs"]["orchestrate_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut runs = store.lock().expect("lock");
            let n = 100 + runs.len() as u64;
            runs.push(run_json(
                n,
                &format!("deploy [{id}]"),
                "queued",
                None,
                &now(),
            ));
            return Resp::json(502, serde_json::json!({"message": "Server Error"}));
        }
        if req.is("GET", RUNS) {
            let runs = store.lock().expect("lock").clone();
            return runs_page(runs);
        }
        Resp::empty(404)
    })
    .await;
    let dispatched = client(&gh.url)
        .dispatch(&request(true))
        .await
        .expect("run found after the 502");
    assert_eq!(dispatched.run.map(|r| r.id), Some(100));
    assert_eq!(gh.count("POST", "/repos"), 1, "the POST is not re-sent");
    assert_eq!(
        runs.lock().expect("lock").len(),
        1,
        "exactly one run exists"
    );
}

#[tokio::test]
async fn a_502_without_a_correlation_id_is_reported_not_retried() {
    let gh = fake::start(|req| {
        if req.method == "POST" {
            return Resp::json(502, serde_json::json!({"message": "Server Error"}));
        }
        Resp::empty(404)
    })
    .await;
    let err = client(&gh.url)
        .dispatch(&request(false))
        .await
        .expect_err("ambiguous");
    assert!(matches!(err, Error::DispatchAmbiguous { .. }), "{err}");
    assert!(err.to_string().contains("not re-dispatching"), "{err}");
    assert_eq!(gh.count("POST", "/repos"), 1);
}

#[tokio::test]
async fn refusals_carry_remedies_and_no_token() {
    let gh = fake::start(|req| {
        if req.path.contains("/dispatches") {
            return Resp::json(404, serde_json::json!({"message": "Not Found"}));
        }
        Resp::json(
            422,
            serde_json::json!({"message": "Unexpected inputs provided: [\"orchestrate_id\"]"}),
        )
    })
    .await;
    let err = client(&gh.url)
        .dispatch(&request(false))
        .await
        .expect_err("refused");
    assert!(err.is_refusal());
    let text = err.to_string();
    assert!(
        text.contains("token cannot see acme/api: it needs `actions: write` on acme/api"),
        "{text}"
    );
    assert!(!text.contains(TOKEN));
    assert!(!format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn api_version_2026_never_sends_return_run_details() {
    let gh = fake::start(|req| {
        if req.method == "POST" {
            return Resp::json(
                200,
                serde_json::json!({"workflow_run_id": 5, "run_url": "u", "html_url": "h"}),
            );
        }
        Resp::empty(404)
    })
    .await;
    let mut config =
        orchestrate_github::ClientConfig::new(&gh.url, orchestrate_github::Credentials::Anonymous);
    config.api_version = orchestrate_github::ApiVersion::V2026_03_10;
    let github = orchestrate_github::Client::new(config).expect("client");
    let dispatched = github.dispatch(&request(false)).await.expect("dispatch");
    assert_eq!(dispatched.run.map(|r| r.id), Some(5));
    let sent = &gh.requests()[0];
    assert!(sent.body.get("return_run_details").is_none());
    assert_eq!(sent.header("x-github-api-version"), Some("2026-03-10"));
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test]
async fn a_full_ref_is_looked_for_by_its_branch_name() {
    let sent_id: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = sent_id.clone();
    let gh = fake::start(move |req| {
        if req.is("POST", DISPATCHES) {
            return remember_correlation(req, &seen);
        }
        if req.is("GET", RUNS) {
            // Like GitHub: `branch` matches `head_branch`, the short name.
            let runs = if req.path.contains("branch=main&") {
                let id = seen.lock().expect("lock").clone().unwrap_or_default();
                vec![run_json(
                    7,
                    &format!("deploy [{id}]"),
                    "queued",
                    None,
                    &now(),
                )]
            } else {
                Vec::new()
            };
            return runs_page(runs);
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let dispatched = github
        .dispatch(&DispatchRequest {
            git_ref: "refs/heads/main".into(),
            ..request(true)
        })
        .await
        .expect("dispatch succeeds");
    assert_eq!(
        gh.requests()[0].body["ref"],
        "refs/heads/main",
        "the ref itself is sent as given"
    );
    let correlation = dispatched.correlation.expect("correlation id sent");
    let run = github
        .find_dispatched_run(&correlation)
        .await
        .expect("lookup works");
    assert_eq!(run.map(|r| r.id), Some(7));
}

#[tokio::test]
async fn a_422_refusing_return_run_details_falls_back_to_correlation() {
    let gh = fake::start(|req| {
        if req.is("POST", DISPATCHES) {
            if req.body.get("return_run_details").is_some() {
                return Resp::json(
                    422,
                    serde_json::json!({"message": "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
                        "documentation_url": "https://docs.github.com/rest", "status": "422"}),
                );
            }
            return Resp::empty(204);
        }
        Resp::empty(404)
    })
    .await;
    let dispatched = client(&gh.url)
        .dispatch(&request(false))
        .await
        .expect("fallback dispatch succeeds");
    assert!(dispatched.run.is_none());
    assert!(dispatched.correlation.is_some());
    let posts = posts(&gh);
    assert_eq!(posts.len(), 2);
    assert!(posts[1].body.get("return_run_details").is_none());
    assert!(posts[1].body["inputs"]["orchestrate_id"].is_string());
}
