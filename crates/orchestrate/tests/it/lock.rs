//! The environment lock (SPEC §6) end to end: two `orchestrate action` releases started
//! together against one emulator, to an environment with `lock: true`, run one after the
//! other; a lease left by a killed job is ignored once expired, and waited for (then a clear
//! failure) while it is not.

use std::time::Duration;

use chrono::Utc;
use orchestrate_emulator::{DEFAULT_TOKEN, RunningEmulator};
use orchestrate_github::{
    Client, ClientConfig, Credentials, DeploymentState, DeploymentStatusUpdate, GitHub, ReleaseSet,
    Repo, Secret,
};
use serde_json::Value;

use crate::engine_github::{PLAN, action_env, emulator, run_action, workspace_with};
use crate::runner::parse_env_file;
use crate::support::Output;

fn locked_plan() -> String {
    let plan = PLAN.replace("health_timeout: 20s }", "health_timeout: 20s, lock: true }");
    assert!(plan.contains("lock: true"), "the plan locks staging");
    plan
}

/// A release by `orchestrate action` (run `run_id`); its exit, output and parsed report.
async fn release(emu: &RunningEmulator, versions: &str, run_id: &str, timeout: &str) -> Released {
    let root = workspace_with(emu, &locked_plan());
    let mut env = action_env(emu, root.path(), DEFAULT_TOKEN, versions, run_id);
    for (k, v) in &mut env {
        if k == "INPUT_TIMEOUT" {
            *v = timeout.to_owned();
        }
    }
    let out = run_action(root.path(), env).await;
    let outputs = std::fs::read_to_string(root.path().join("set_output")).expect("outputs");
    let report = parse_env_file(&outputs)
        .ok()
        .and_then(|o| serde_json::from_str(o.get("report")?).ok())
        .unwrap_or(Value::Null);
    Released { out, report }
}

struct Released {
    out: Output,
    report: Value,
}

impl Released {
    fn timeline(&self) -> Vec<String> {
        self.report["timeline"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|e| e["what"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn waited(&self) -> bool {
        self.timeline().iter().any(|w| w.starts_with("waiting:"))
    }
}

fn release_repo() -> Repo {
    Repo {
        owner: "acme".into(),
        name: "release".into(),
    }
}

/// Records a release set holding staging's lease until `expires_in` from now, left
/// `in_progress` as a killed job leaves it.
async fn leave_lease(emu: &RunningEmulator, expires_in: chrono::Duration) -> u64 {
    let client = Client::new(ClientConfig::new(
        emu.base_url(),
        Credentials::Token(Secret::new(DEFAULT_TOKEN)),
    ))
    .expect("client");
    let set = ReleaseSet {
        release_id: "killed-release".into(),
        environment: "staging".into(),
        git_ref: "main".into(),
        members: Vec::new(),
        lease_expires_at: Some(Utc::now() + expires_in),
        run_url: Some("https://github.example/acme/release/actions/runs/77".into()),
    };
    let id = client
        .record_release_set(&release_repo(), &set)
        .await
        .expect("recorded");
    let status = DeploymentStatusUpdate {
        state: DeploymentState::InProgress,
        log_url: None,
        environment_url: None,
        description: Some("release in progress".into()),
    };
    client
        .set_deployment_status(&release_repo(), id, &status)
        .await
        .expect("status");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_releases_to_a_locked_environment_run_one_after_the_other() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    let (a, b) = tokio::join!(
        release(&emu, "{backend: 1.3.0, web: 2.1.0}", "1001", ""),
        release(&emu, "{backend: 1.4.0, web: 2.2.0}", "1002", ""),
    );
    assert_eq!(a.out.code, 0, "{:?}", a.out);
    assert_eq!(b.out.code, 0, "{:?}", b.out);
    assert!(
        a.waited() != b.waited(),
        "exactly one waited: {:?} / {:?}",
        a.timeline(),
        b.timeline()
    );
    let (first, second) = if a.waited() { (&b, &a) } else { (&a, &b) };
    // The waiting one named the holder: its release id and its orchestrating run.
    let holder = first.report["deployment_id"].as_str().expect("id");
    let holder_run = first.report["orchestrator_run_url"].as_str().expect("url");
    let waiting = second
        .timeline()
        .into_iter()
        .find(|w| w.starts_with("waiting:"))
        .expect("a wait");
    assert!(
        waiting.contains(&format!("locked by release {holder} ({holder_run}) until")),
        "{waiting}"
    );
    // No overlap: the second release dispatched nothing before the first one's release set
    // got its final status (which frees the lease).
    let requests = emu.requests();
    let freed = requests
        .iter()
        .rposition(|r| {
            r.method == "POST"
                && r.path_only() == format!("/repos/acme/release/deployments/{holder}/statuses")
        })
        .expect("the first release finished its record");
    let dispatches: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "POST" && r.path_only().ends_with("/dispatches"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(dispatches.len(), 4, "two services, two releases");
    assert!(dispatches[..2].iter().all(|i| *i < freed), "{dispatches:?}");
    assert!(
        dispatches[2..].iter().all(|i| *i > freed),
        "{dispatches:?} vs {freed}"
    );
    let versions: Vec<String> = emu
        .runs("acme/api")
        .iter()
        .filter_map(|r| r.inputs.get("version").cloned())
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_left_by_a_killed_job_is_ignored() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    leave_lease(&emu, chrono::Duration::hours(-1)).await;
    let r = release(&emu, "{backend: 1.3.0, web: 2.1.0}", "1003", "").await;
    assert_eq!(r.out.code, 0, "{:?}", r.out);
    assert!(!r.waited(), "{:?}", r.timeline());
    assert_eq!(r.report["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_past_the_release_timeout_fails_clearly_and_dispatches_nothing() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    let held = leave_lease(&emu, chrono::Duration::hours(1)).await;
    let started = std::time::Instant::now();
    let r = release(&emu, "{backend: 1.3.0, web: 2.1.0}", "1004", "3s").await;
    assert_eq!(r.out.code, 1, "{:?}", r.out);
    let expected = format!(
        "environment `staging` is locked by release {held} (https://github.example/acme/release/actions/runs/77) until"
    );
    assert!(r.out.stderr.contains(&expected), "{}", r.out.stderr);
    assert!(r.out.stderr.contains("waited 3s"), "{}", r.out.stderr);
    assert!(started.elapsed() >= Duration::from_secs(3), "it waited");
    assert!(emu.runs("acme/api").is_empty(), "nothing was dispatched");
    // Polite: the lease was looked at a few times, not hammered.
    let looks = emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path_only() == "/repos/acme/release/deployments")
        .count();
    assert!((2..=4).contains(&looks), "{looks} looks at the lease");
}
