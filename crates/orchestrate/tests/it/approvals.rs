//! Approval gates end to end: a run waiting for its environment's reviewers is timed against
//! `approval_timeout` (not its run `timeout`, nor the release's), is cancelled and fails (and
//! the release rolls back) when nobody approves in time, is approved by orchestrate itself with
//! `auto_approve` when the token may and waits for a person when it may not, and announces
//! `approval_required` (with the run to review) while it waits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::post;
use orchestrate_emulator::{
    Behaviour, EnvironmentSpec, RepoSpec, ReviewScript, Scenario, WorkflowSpec,
};
use serde_json::Value;

use crate::engine_edges::{rehearse, run_on, start_emulator};
use crate::support::{service, timeline_of};

/// `a` (ungated, rolled back by re-running its deploy workflow) then `b`, whose deploy job
/// references `production`; `b_keys` adds keys to `b`.
fn plan(b_keys: &str, release_keys: &str) -> String {
    format!(
        r#"version: 1
name: gates
strategy: sequential
environments: {{ staging: {{ {release_keys} }} }}
services:
  a:
    repo: acme/a
    workflow: deploy.yml
    inputs: {{ version: "{{{{ version }}}}" }}
    rollback: {{ inputs: {{ version: "{{{{ previous_version }}}}" }} }}
  b:
    repo: acme/b
    workflow: deploy.yml
    needs: [a]
    inputs: {{ version: "{{{{ version }}}}" }}
{b_keys}"#
    )
}

/// The rehearsal: `a` deployed at 1.0.0, both released at 1.1.0, `b`'s environment `env`.
fn scenario(env: &str, timeout: Option<&str>) -> String {
    let timeout = timeout.map_or(String::new(), |t| format!(", timeout: {t}"));
    format!(
        r#"speed: 120
release: {{ environment: staging, versions: {{ a: 1.1.0, b: 1.1.0 }}{timeout} }}
deployed: {{ a: 1.0.0, b: 1.0.0 }}
repos:
  - name: acme/a
    workflows:
      - {{ file: deploy.yml, inputs: {{ version: {{ required: true }} }}, behaviour: {{ queued: 5s, in_progress: 30s }} }}
  - name: acme/b
    workflows:
      - file: deploy.yml
        inputs: {{ version: {{ required: true }} }}
        behaviour: {{ queued: 5s, in_progress: 30s }}
        environment: {env}
"#
    )
}

fn approval(report: &Value, name: &str) -> Value {
    service(report, name)["approvals"][0].clone()
}

#[test]
fn the_wait_counts_against_approval_timeout_not_the_run_or_release_timeout() {
    // b may run 1m, the release 3m; alice approves after 4m.
    let plan = plan("    timeout: 1m\n    approval_timeout: 10m\n", "");
    let env = "{ name: production, reviewers: [alice, bob], review: approved after 4m by alice }";
    let (out, report) = rehearse(&plan, &scenario(env, Some("3m")));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(service(&report, "b")["outcome"], "succeeded");
    let gate = approval(&report, "b");
    assert_eq!(gate["state"], "approved", "{gate}");
    assert_eq!(gate["by"], "alice");
    assert_eq!(gate["environments"], serde_json::json!(["production"]));
    assert_eq!(gate["reviewers"], serde_json::json!(["alice", "bob"]));
    let waited = gate["waited"].as_f64().expect("waited");
    assert!((230.0..=270.0).contains(&waited), "about 4m: {waited}");
    assert_eq!(gate["timeout"], 600.0);
    let b = timeline_of(&report, "b");
    assert!(
        b.iter()
            .any(|w| w
                .starts_with("waiting for approval: in production (reviewers: alice, bob) http")),
        "{b:?}"
    );
    assert!(
        b.iter().any(|w| w.starts_with("approved: by alice after")),
        "{b:?}"
    );
    // The Wait column is the wait for a runner, not for alice.
    let queued = service(&report, "b")["queued"].as_f64().expect("queued");
    assert!(queued < 60.0, "{queued}");
}

#[test]
fn no_approval_within_approval_timeout_cancels_the_run_and_rolls_back() {
    let plan = plan("    approval_timeout: 2m\n", "");
    let (out, report) = rehearse(
        &plan,
        &scenario("{ name: production, reviewers: [alice] }", None),
    );
    assert_eq!(out.code, 4, "a timeout: {}", out.stderr);
    assert_eq!(report["status"], "rolled_back", "{report}");
    let b = service(&report, "b");
    assert_eq!(b["outcome"], "timed_out");
    let why = b["failure"]["message"].as_str().expect("a reason");
    assert_eq!(
        why,
        "no approval in production within its approval_timeout (2m): run cancelled"
    );
    assert_eq!(
        b["run"]["conclusion"], "cancelled",
        "the run was cancelled: {b}"
    );
    assert_eq!(approval(&report, "b")["state"], "timed_out");
    let rolled: Vec<&str> = report["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .filter_map(|r| r["service"].as_str())
        .collect();
    assert_eq!(rolled, ["a"]);
}

#[test]
fn auto_approve_approves_as_the_token_user_when_it_may() {
    // The rehearsal's token is `octocat`'s, a required reviewer here.
    let plan = plan("    auto_approve: true\n", "");
    let env = "{ name: production, reviewers: [octocat, alice] }";
    let (out, report) = rehearse(&plan, &scenario(env, None));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gate = approval(&report, "b");
    assert_eq!(
        (
            gate["state"].as_str(),
            gate["by"].as_str(),
            gate["auto_approved"].as_bool()
        ),
        (Some("approved"), Some("octocat"), Some(true)),
        "{gate}"
    );
    assert!(
        gate["comment"]
            .as_str()
            .is_some_and(|c| c.contains("auto_approve")),
        "{gate}"
    );
    let b = timeline_of(&report, "b");
    assert!(
        b.iter().any(|w| w.starts_with("approving: production")),
        "{b:?}"
    );
    assert!(
        b.iter()
            .any(|w| w.starts_with("approved: by octocat (auto_approve)")),
        "{b:?}"
    );
}

#[test]
fn auto_approve_waits_for_a_person_when_the_token_may_not() {
    let plan = plan("    auto_approve: true\n", "");
    let env = "{ name: production, reviewers: [alice], review: approved after 1m by alice }";
    let (out, report) = rehearse(&plan, &scenario(env, None));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gate = approval(&report, "b");
    assert_eq!(
        (gate["by"].as_str(), gate["auto_approved"].as_bool()),
        (Some("alice"), Some(false))
    );
    let b = timeline_of(&report, "b");
    assert!(
        b.iter().any(|w| w
            .contains("(auto_approve: the token may not approve here; waiting for a reviewer)")),
        "{b:?}"
    );
}

#[test]
fn a_rejection_fails_the_service_with_the_reviewer_named() {
    let env = r#"{ name: production, reviewers: [alice, bob], review: { state: rejected, after: 20s, by: bob, comment: "not today" } }"#;
    let (out, report) = rehearse(&plan("", ""), &scenario(env, None));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["status"], "rolled_back");
    let b = service(&report, "b");
    assert_eq!(b["outcome"], "failed");
    assert_eq!(
        b["failure"]["message"],
        "rejected by bob in production: not today"
    );
    assert_eq!(b["run"]["conclusion"], "failure");
    assert_eq!(approval(&report, "b")["state"], "rejected");
}

const HOOK_PATH: &str = "/hooks/approvalHookS3cret";
const SLACK_PATH: &str = "/slack/T0/B0/approvalSlackS3cret";

type Inbox = Arc<Mutex<Vec<(String, String)>>>;

async fn keep(State(inbox): State<Inbox>, uri: Uri, body: Bytes) -> StatusCode {
    inbox.lock().expect("inbox").push((
        uri.path().to_owned(),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_required_goes_out_while_the_run_waits() {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/hooks/{*rest}", post(keep))
        .route("/slack/{*rest}", post(keep))
        .with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let gated = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .behaviour(Behaviour::timed(
            Duration::from_secs(2),
            Duration::from_secs(10),
            "success",
        ))
        .environment(
            EnvironmentSpec::new("production", &["alice"])
                .review(ReviewScript::parse("approved after 3m by alice").expect("valid")),
        );
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/b").workflow(gated))
        .repo(RepoSpec::new("acme/release"));
    let emu = start_emulator(scenario, 60.0).await;
    let plan = r#"version: 1
name: gates
environments: { staging: {} }
services:
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
notifications:
  - on: [approval_required]
    to: [webhook, slack]
channels:
  slack: { webhook_url_env: SLACK_URL }
  webhook: { url_env: HOOK_URL }
"#;
    let hook = format!("{base}{HOOK_PATH}");
    let slack = format!("{base}{SLACK_PATH}");
    let out = run_on(
        &emu,
        plan,
        &["--versions", "{b: 1.1.0}"],
        &[("HOOK_URL", &hook), ("SLACK_URL", &slack)],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let received = inbox.lock().expect("inbox").clone();
    let hook: Value = received
        .iter()
        .find(|(path, _)| path == HOOK_PATH)
        .map(|(_, body)| serde_json::from_str(body).expect("json"))
        .expect("the webhook was called");
    assert_eq!(hook["event"], "approval_required");
    assert_eq!(hook["status"], "in_progress", "sent while the release ran");
    let b = &hook["services"][0];
    assert_eq!(b["approvals"][0]["state"], "waiting");
    assert_eq!(b["approvals"][0]["reviewers"], serde_json::json!(["alice"]));
    let run_url = b["run_url"].as_str().expect("the run to review");
    assert!(run_url.contains("/acme/b/actions/runs/"), "{run_url}");
    let slack = received
        .iter()
        .find(|(path, _)| path == SLACK_PATH)
        .map(|(_, body)| body.clone())
        .expect("slack was called");
    assert!(slack.contains("Approval required in staging"), "{slack}");
    assert!(slack.contains(&format!("<{run_url}|review run")), "{slack}");
    assert_eq!(
        received.len(),
        2,
        "one approval_required per channel: {received:?}"
    );
    for secret in ["approvalHookS3cret", "approvalSlackS3cret"] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{secret} leaked"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_release_leases_its_environment_for_its_approval_waits_too() {
    let workflow = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .behaviour(Behaviour::timed(
            Duration::from_secs(1),
            Duration::from_secs(5),
            "success",
        ));
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/b").workflow(workflow))
        .repo(RepoSpec::new("acme/release"));
    let emu = start_emulator(scenario, 60.0).await;
    let plan = r#"version: 1
name: gates
environments: { staging: { lock: true, approval_timeout: 3h } }
services:
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let out = run_on(
        &emu,
        plan,
        &["--versions", "{b: 1.1.0}", "--timeout", "20m"],
        &[],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = emu
        .deployments("acme/release")
        .into_iter()
        .find(|d| d.task == "deploy:release-set")
        .expect("the release set");
    let expires = record.payload["release_set"]["lease_expires_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("a lease");
    let lease = expires.to_utc() - record.created_at;
    // 20m of timeout, 10m of margin, 3h of approval wait; the emulated clock runs 60x.
    let minutes = lease.num_minutes();
    assert!((205..=215).contains(&minutes), "{minutes} minutes");
}
