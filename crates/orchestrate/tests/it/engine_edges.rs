//! Edges of the release engine that once went wrong: a failure while another service's
//! dispatch is still in flight, a service's own `timeout` after it already finished, a cancel
//! that lands while a service's deployment is being recorded, and the duration of a service
//! cancelled during its health check.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orchestrate_emulator::{
    Behaviour, DEFAULT_TOKEN, Emulator, EmulatorConfig, Fault, RepoSpec, RunningEmulator, Scenario,
    ScriptedFault, WorkflowSpec,
};
use serde_json::Value;

use crate::engine_github::workspace_with;
use crate::support::{Output, service, timeline_of};

/// Runs `orchestrate args…` in `dir`, killing it when it has not ended after `limit`.
pub(crate) fn run_bounded(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("killed");
            panic!(
                "hung: still running after {limit:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("ended").into()
}

/// The emulator serving `scenario`, its time running `speed` times as fast.
pub(crate) async fn start_emulator(scenario: Scenario, speed: f64) -> RunningEmulator {
    Emulator::start(EmulatorConfig {
        time_factor: Some(speed),
        ..EmulatorConfig::new(scenario)
    })
    .await
    .expect("emulator starts")
}

/// `orchestrate run --env staging <args>` in a checkout of `plan`, against `emu` as
/// `acme/release` with its token and `extra_env`, in a blocking task while the emulator
/// serves; killed when it has not ended after `limit`.
pub(crate) async fn run_on(
    emu: &RunningEmulator,
    plan: &str,
    args: &[&str],
    extra_env: &[(&str, &str)],
    limit: Duration,
) -> Output {
    let dir = workspace_with(emu, plan);
    let url = emu.base_url().to_owned();
    let args: Vec<String> = ["run", "--env", "staging"]
        .iter()
        .chain(args)
        .map(|a| (*a).to_owned())
        .collect();
    let extra: Vec<(String, String)> = extra_env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut env = vec![
            ("GITHUB_API_URL", url.as_str()),
            ("ORCHESTRATE_TOKEN", DEFAULT_TOKEN),
            ("GITHUB_REPOSITORY", "acme/release"),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        run_bounded(dir.path(), &args, &env, limit)
    })
    .await
    .expect("ran")
}

/// `orchestrate rehearse plan.yml --scenario scenario.yml --format json`; exit and report.
pub(crate) fn rehearse(plan: &str, scenario: &str) -> (Output, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("plan.yml"), plan).expect("plan");
    std::fs::write(dir.path().join("scenario.yml"), scenario).expect("scenario");
    let args = [
        "rehearse",
        "plan.yml",
        "--scenario",
        "scenario.yml",
        "--format",
        "json",
    ];
    let out = run_bounded(dir.path(), &args, &[], Duration::from_secs(60));
    let report = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("report JSON: {e}\n{out:?}"));
    (out, report)
}

#[test]
fn a_failure_while_another_dispatch_is_in_flight_cancels_it_once_dispatched() {
    // `a`'s dispatch is answered 400 at once; `b`, dispatched in the same wave, is held up by a
    // rate limit, so it is cancelled while its dispatch request is still under way. The
    // release must still end.
    let plan = r#"version: 1
name: race
strategy: parallel
environments: { staging: {} }
services:
  a: { repo: acme/a, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let scenario = r#"speed: 60
release: { environment: staging, versions: { a: 1.0.0, b: 1.0.0 } }
faults:
  script:
    - { method: POST, path_contains: /repos/acme/a/actions/workflows/deploy.yml/dispatches, fault: { status: 400 } }
    - { method: POST, path_contains: /repos/acme/b/actions/workflows/deploy.yml/dispatches, fault: { secondary_limit: { status: 429, retry_after: 5 } } }
repos:
  - name: acme/a
    workflows: [{ file: deploy.yml, inputs: { version: { required: true } } }]
  - name: acme/b
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 10m }
"#;
    let (out, report) = rehearse(plan, scenario);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(service(&report, "a")["outcome"], "failed");
    assert_eq!(service(&report, "b")["outcome"], "cancelled", "{report}");
    let b = timeline_of(&report, "b");
    let dispatched = b.iter().position(|w| w.starts_with("dispatched"));
    let cancelling = b.iter().position(|w| w == "cancelling");
    assert!(
        matches!((cancelling, dispatched), (Some(c), Some(d)) if c < d)
            && b.iter().any(|w| w == "cancelled"),
        "b's cancel came while it was dispatching, and its run was cancelled once known: {b:?}"
    );
}

#[test]
fn a_service_that_finished_within_its_timeout_is_not_reported_timed_out_later() {
    let plan = r#"version: 1
name: limits
strategy: parallel
environments: { staging: {} }
services:
  a: { repo: acme/a, workflow: deploy.yml, timeout: 2m, inputs: { version: "{{ version }}" } }
  b: { repo: acme/b, workflow: deploy.yml, timeout: 5m, inputs: { version: "{{ version }}" } }
"#;
    let scenario = r#"speed: 120
release: { environment: staging, versions: { a: 1.0.0, b: 1.0.0 } }
repos:
  - name: acme/a
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 30s }
  - name: acme/b
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 20m }
"#;
    let (out, report) = rehearse(plan, scenario);
    assert_eq!(out.code, 4, "b's own timeout: {}", out.stderr);
    assert_eq!(service(&report, "b")["outcome"], "timed_out");
    let a = service(&report, "a");
    assert!(a["failure"].is_null(), "a finished in 35s of its 2m: {a}");
    let a_timeline = timeline_of(&report, "a");
    assert!(
        a_timeline.iter().any(|w| w == "run succeeded")
            && !a_timeline.iter().any(|w| w.starts_with("timed out")),
        "{a_timeline:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_recorded_just_before_a_cancel_still_gets_its_final_status() {
    // b's run is known and its deployment created; setting the `in_progress` status is held
    // up (rate limited for 8s) when the release's 3s limit passes and b is cancelled.
    let b = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .behaviour(Behaviour::timed(
            Duration::from_secs(1),
            Duration::from_secs(600),
            "success",
        ));
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/b").workflow(b))
        .repo(RepoSpec::new("acme/release"));
    let emu = start_emulator(scenario, 10.0).await;
    emu.inject(ScriptedFault::new(
        Some("POST"),
        "/repos/acme/b/deployments/",
        Fault::SecondaryLimit {
            status: 429,
            retry_after: 8,
        },
    ));
    let plan = r#"version: 1
name: statuses
environments: { staging: {} }
services:
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let args = ["--versions", "{b: 1.0.0}", "--timeout", "3s"];
    let out = run_on(&emu, plan, &args, &[], Duration::from_secs(90)).await;
    assert_eq!(out.code, 4, "{out:?}");
    let requests = emu.requests();
    assert!(
        requests.iter().any(|r| r.status == 429),
        "the status was held up"
    );
    let states: BTreeMap<u64, Option<String>> = emu
        .deployments("acme/b")
        .iter()
        .filter(|d| d.task == "deploy")
        .map(|d| (d.id, d.latest_state().map(str::to_owned)))
        .collect();
    assert_eq!(states.len(), 1, "b's deployment was recorded: {states:?}");
    assert!(
        states.values().all(|s| s.as_deref() == Some("failure")),
        "closed as failed, not left without a final status: {states:?}"
    );
}

#[test]
fn a_service_cancelled_during_its_health_check_reports_how_long_it_took() {
    // a's run succeeds in ~35s, then its health check never passes; b fails at ~3m and a is
    // cancelled while still checking.
    let plan = r#"version: 1
name: durations
strategy: parallel
environments: { staging: { vars: { h: "http://x" }, health_timeout: 30m } }
services:
  a:
    repo: acme/a
    workflow: deploy.yml
    inputs: { version: "{{ version }}" }
    health: { url: "{{ vars.h }}/health", expect: { status: 200 } }
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let scenario = r#"speed: 120
release: { environment: staging, versions: { a: 1.0.0, b: 1.0.0 } }
repos:
  - name: acme/a
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 30s }
  - name: acme/b
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 3m, conclusion: failure }
health:
  - { service: a, repo: acme/a, workflow: deploy.yml, initial_version: 0.9.0, failure: down }
"#;
    let (out, report) = rehearse(plan, scenario);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let a = service(&report, "a");
    assert_eq!(a["outcome"], "cancelled", "{a}");
    let secs = a["duration"].as_f64().unwrap_or_else(|| panic!("{a}"));
    assert!(secs >= 150.0, "from dispatch to the cancel, ~3m: {a}");
}
