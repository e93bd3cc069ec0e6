//! Notifications end to end (issue 5's acceptance): `orchestrate action` against the emulator
//! with rules that route to a webhook and Slack (a local HTTP server that checks the HMAC and
//! keeps every body), a GitHub issue (the emulator) and email on a dead port. The release's
//! exit code is its own whatever the failing channel does, the summary lists the failed
//! delivery, `deployment_started` goes out when the release starts, and no configured secret
//! appears in stdout, stderr, the outputs, the summary or any payload.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use orchestrate_core::notify::verify_signature;
use orchestrate_emulator::{HealthFailure, RunningEmulator, TokenSpec};
use orchestrate_github::{
    Client, ClientConfig, Credentials, DeploymentState, DeploymentStatusUpdate, GitHub,
    NewDeployment, Repo, Secret,
};
use serde_json::Value;

use crate::engine_github::{PLAN, action_env, emulator, run_action, workspace_with};
use crate::runner::parse_env_file;
use crate::support::Output;

const TOKEN: &str = "ghp_notifyTokenS3cret0123456789";
const SLACK_PATH: &str = "/slack/T000/B000/slackS3cretPath";
const HOOK_PATH: &str = "/hooks/hookS3cretPath";
const HMAC_SECRET: &str = "hmacS3cretValue";
const SMTP_PASSWORD: &str = "smtpS3cretPassword";

const NOTIFICATIONS: &str = r#"
notifications:
  - on: [deployment_started, rollback_started]
    to: [webhook]
  - on: [deployment_failed, health_check_failed]
    to: [webhook, slack, github_issue, email]
  - on: [deployment_succeeded]
    to: [webhook, email]
channels:
  slack: { webhook_url_env: SLACK_WEBHOOK_URL }
  webhook: { url_env: HOOK_URL, secret_env: HOOK_SECRET, timeout: 5s }
  github_issue: { repo: acme/release }
  email: { to: [ops@example.com], from: orchestrate@example.com }
"#;

/// What the local server received: path, whether the signature checked out, body.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    signed: bool,
    body: String,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

async fn receive(
    State(inbox): State<Inbox>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signed = headers
        .get("x-orchestrate-signature-256")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| verify_signature(HMAC_SECRET.as_bytes(), &body, h));
    inbox.lock().expect("inbox").push(Received {
        path: uri.path().to_owned(),
        signed,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    StatusCode::OK
}

/// A local server for Slack and the webhook; its base URL and inbox.
async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/slack/{*rest}", post(receive))
        .route("/hooks/{*rest}", post(receive))
        .with_state(Arc::clone(&inbox));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), inbox)
}

/// A port nothing listens on.
async fn dead_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr").port()
}

struct Notified {
    out: Output,
    outputs: String,
    summary: String,
    inbox: Vec<Received>,
}

async fn release(emu: &RunningEmulator) -> Notified {
    let (base, inbox) = receiver().await;
    let plan = PLAN
        .replace("health_timeout: 20s", "health_timeout: 3s")
        .replace(
            "    correlate: true\n",
            "    correlate: true\n    rollback: { inputs: { version: \"{{ previous_version }}\" } }\n",
        );
    assert!(plan.contains("previous_version"), "backend can roll back");
    let plan = format!("{plan}{NOTIFICATIONS}");
    let root = workspace_with(emu, &plan);
    let mut env = action_env(
        emu,
        root.path(),
        TOKEN,
        crate::engine_github::VERSIONS,
        "555",
    );
    let smtp_port = dead_port().await.to_string();
    for (k, v) in [
        ("SLACK_WEBHOOK_URL", format!("{base}{SLACK_PATH}")),
        ("HOOK_URL", format!("{base}{HOOK_PATH}")),
        ("HOOK_SECRET", HMAC_SECRET.to_owned()),
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", smtp_port),
        ("SMTP_SECURITY", "none".to_owned()),
        ("SMTP_USERNAME", "orchestrate".to_owned()),
        ("SMTP_PASSWORD", SMTP_PASSWORD.to_owned()),
    ] {
        env.push((k.to_owned(), v));
    }
    let out = run_action(root.path(), env).await;
    let read = |name: &str| std::fs::read_to_string(root.path().join(name)).expect("file");
    let inbox = inbox.lock().expect("inbox").clone();
    Notified {
        outputs: read("set_output"),
        summary: read("step_summary"),
        out,
        inbox,
    }
}

/// Every place a secret could leak to, without the `::add-mask::` lines (they are how the
/// runner learns what to mask).
fn leaks(n: &Notified, emu: &RunningEmulator) -> Vec<String> {
    let stdout: String = n
        .out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    let issues: Vec<String> = emu
        .issues("acme/release")
        .iter()
        .map(|i| format!("{i:?}"))
        .collect();
    let mut places = vec![
        ("stdout", stdout),
        ("stderr", n.out.stderr.clone()),
        ("outputs", n.outputs.clone()),
        ("summary", n.summary.clone()),
        ("issues", issues.join("\n")),
    ];
    for r in &n.inbox {
        places.push(("payload", r.body.clone()));
    }
    let secrets = [
        TOKEN,
        SLACK_PATH,
        "slackS3cretPath",
        HOOK_PATH,
        "hookS3cretPath",
        HMAC_SECRET,
        SMTP_PASSWORD,
    ];
    let mut found = Vec::new();
    for (place, text) in &places {
        for secret in secrets {
            if text.contains(secret) {
                found.push(format!("{secret} in {place}"));
            }
        }
    }
    found
}

fn events(n: &Notified, path: &str) -> Vec<(String, String)> {
    n.inbox
        .iter()
        .filter(|r| r.path == path)
        .map(|r| {
            let body: Value = serde_json::from_str(&r.body).expect("JSON body");
            let event = body["event"].as_str().unwrap_or("").to_owned();
            let status = body["status"].as_str().unwrap_or("").to_owned();
            (event, status)
        })
        .collect()
}

/// Records `version` as backend's successful deployment in staging, before the release.
async fn deployed_before(emu: &RunningEmulator, version: &str) {
    let client = Client::new(ClientConfig::new(
        emu.base_url(),
        Credentials::Token(Secret::new(TOKEN)),
    ))
    .expect("client");
    let repo = Repo {
        owner: "acme".into(),
        name: "api".into(),
    };
    let deployment = NewDeployment {
        environment: "staging".into(),
        git_ref: "main".into(),
        task: orchestrate_github::deployments::TASK_DEPLOY.to_owned(),
        payload: serde_json::json!({ "service": "backend", "version": version }),
        description: None,
        production_environment: None,
    };
    let id = client
        .create_deployment(&repo, &deployment)
        .await
        .expect("deployment");
    let status = DeploymentStatusUpdate {
        state: DeploymentState::Success,
        log_url: None,
        environment_url: None,
        description: None,
    };
    client
        .set_deployment_status(&repo, id, &status)
        .await
        .expect("status");
}

fn failed_email_listed(summary: &str) -> bool {
    summary
        .lines()
        .any(|l| l.starts_with("- `email`") && l.contains("not delivered"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_release_notifies_every_channel_exits_1_and_leaks_no_secret() {
    let emu = emulator(
        Duration::from_secs(2),
        10.0,
        vec![TokenSpec::permissive("notify", TOKEN)],
    )
    .await;
    deployed_before(&emu, "1.2.0").await;
    emu.set_health_failure("backend", HealthFailure::Down);
    let n = release(&emu).await;
    assert_eq!(n.out.code, 1, "the release's own failure: {:?}", n.out);
    let status = parse_env_file(&n.outputs).expect("outputs")["status"].clone();
    assert_eq!(status, "rolled_back");
    // The webhook got the start and the rollback's start while the release ran, then the
    // failure (without `rollback_started` again), all signed.
    assert_eq!(
        events(&n, HOOK_PATH),
        [
            ("deployment_started".to_owned(), "in_progress".to_owned()),
            ("rollback_started".to_owned(), "in_progress".to_owned()),
            ("deployment_failed".to_owned(), "rolled_back".to_owned()),
        ]
    );
    let rollback_run = emu
        .runs("acme/api")
        .into_iter()
        .find(|r| r.inputs.get("version").map(String::as_str) == Some("1.2.0"));
    assert!(rollback_run.is_some(), "backend was rolled back to 1.2.0");
    assert!(
        n.inbox
            .iter()
            .filter(|r| r.path == HOOK_PATH)
            .all(|r| r.signed),
        "every webhook body carries a valid HMAC"
    );
    let slack: Vec<&Received> = n.inbox.iter().filter(|r| r.path == SLACK_PATH).collect();
    assert_eq!(slack.len(), 1, "{:?}", n.inbox);
    assert!(
        slack[0].body.contains("Release rolled back in staging"),
        "{}",
        slack[0].body
    );
    let issues = emu.issues("acme/release");
    assert_eq!(issues.len(), 1, "one failure issue: {issues:?}");
    assert!(failed_email_listed(&n.summary), "{}", n.summary);
    assert!(
        n.summary
            .contains("- `webhook` `deployment_started`: ✅ delivered"),
        "{}",
        n.summary
    );
    let found = leaks(&n, &emu);
    assert!(found.is_empty(), "secrets leaked: {found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_successful_release_exits_0_even_when_a_channel_fails() {
    let emu = emulator(
        Duration::from_secs(2),
        10.0,
        vec![TokenSpec::permissive("notify", TOKEN)],
    )
    .await;
    let n = release(&emu).await;
    assert_eq!(n.out.code, 0, "{:?}", n.out);
    assert_eq!(
        events(&n, HOOK_PATH),
        [
            ("deployment_started".to_owned(), "in_progress".to_owned()),
            ("deployment_succeeded".to_owned(), "succeeded".to_owned()),
        ]
    );
    assert!(failed_email_listed(&n.summary), "{}", n.summary);
    assert!(
        emu.issues("acme/release").is_empty(),
        "no issue for a success"
    );
    let found = leaks(&n, &emu);
    assert!(found.is_empty(), "secrets leaked: {found:?}");
}
