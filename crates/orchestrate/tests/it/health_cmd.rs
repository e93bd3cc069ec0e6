//! `orchestrate health` and `plan --health` against the emulator's `/_health/<service>`: after
//! a release every check passes (exit 0), a service that goes down fails (exit 1), bad input is
//! exit 2, JSON parses, and a token in a health URL's query is never printed.

use std::time::Duration;

use orchestrate_emulator::{
    Behaviour, DEFAULT_TOKEN, Emulator, EmulatorConfig, HealthFailure, HealthSpec, RepoSpec,
    RunningEmulator, Scenario, WorkflowSpec,
};
use serde_json::Value;

use crate::engine_github::workspace_with;
use crate::support::{Output, run_in};

const CANARY: &str = "health-query-canary-7f3a";

const PLAN: &str = r#"version: 1
name: checkup
strategy: parallel
environments:
  staging: { vars: { health: "EMULATOR/_health" }, health_timeout: 20s }
services:
  backend:
    repo: acme/api
    workflow: deploy.yml
    inputs: { version: "{{ version }}" }
    health:
      url: "{{ vars.health }}/backend"
      expect: { status: 200, json: { version: "{{ version }}" } }
  web:
    repo: acme/web
    workflow: deploy.yml
    needs: [backend]
    inputs: { version: "{{ version }}" }
    health:
      url: "{{ vars.health }}/web?token=CANARY&run={{ runs.web.id }}"
      expect: { json: { version: "{{ version }}" } }
  docs:
    repo: acme/docs
    workflow: deploy.yml
    inputs: { version: "{{ version }}" }
"#;

pub(crate) fn health(service: &str, repo: &str) -> HealthSpec {
    HealthSpec {
        service: service.into(),
        repo: repo.into(),
        workflow: "deploy.yml".into(),
        version_input: "version".into(),
        initial_version: "0.0.0".into(),
        failure: HealthFailure::None,
        unhealthy_versions: Vec::new(),
    }
}

async fn emulator() -> RunningEmulator {
    let deploy = || {
        WorkflowSpec::new("deploy.yml")
            .input("version", true)
            .behaviour(Behaviour::timed(
                Duration::from_secs(1),
                Duration::from_secs(2),
                "success",
            ))
    };
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/api").workflow(deploy()))
        .repo(RepoSpec::new("acme/web").workflow(deploy()))
        .repo(RepoSpec::new("acme/docs").workflow(deploy()))
        .repo(RepoSpec::new("acme/release"))
        .health(health("backend", "acme/api"))
        .health(health("web", "acme/web"));
    let config = EmulatorConfig {
        time_factor: Some(10.0),
        ..EmulatorConfig::new(scenario)
    };
    Emulator::start(config).await.expect("emulator starts")
}

pub(crate) async fn orchestrate(
    emu: &RunningEmulator,
    dir: &std::path::Path,
    args: &[&str],
) -> Output {
    let (dir, url) = (dir.to_path_buf(), emu.base_url().to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = [
            ("GITHUB_API_URL", url.as_str()),
            ("ORCHESTRATE_TOKEN", DEFAULT_TOKEN),
            ("GITHUB_REPOSITORY", "acme/release"),
        ];
        run_in(&dir, &args, &env)
    })
    .await
    .expect("the binary ran")
}

fn row<'a>(report: &'a Value, service: &str) -> &'a Value {
    report["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|r| r["service"] == service)
        .unwrap_or_else(|| panic!("no row for {service}: {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_passes_after_a_release_and_fails_when_a_service_goes_down() {
    let emu = emulator().await;
    let dir = workspace_with(&emu, &PLAN.replace("CANARY", CANARY));
    let versions = "{backend: 1.3.0, web: 2.1.0, docs: 0.9.0}";
    let release = orchestrate(
        &emu,
        dir.path(),
        &["run", "--env", "staging", "--versions", versions],
    )
    .await;
    assert_eq!(release.code, 0, "{release:?}");

    let ok = orchestrate(&emu, dir.path(), &["health", "--env", "staging"]).await;
    assert_eq!(ok.code, 0, "{ok:?}");
    let lines: Vec<&str> = ok.stdout.lines().collect();
    let line_of = |name: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .copied()
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", ok.stdout))
    };
    assert!(line_of("backend").contains("pass"), "{}", ok.stdout);
    assert!(
        line_of("backend").contains("1.3.0 / 1.3.0"),
        "{}",
        ok.stdout
    );
    assert!(line_of("web").contains("2.1.0 / 2.1.0"), "{}", ok.stdout);
    assert!(line_of("web").contains("/_health/web?…"), "{}", ok.stdout);
    assert!(line_of("docs").contains("no check"), "{}", ok.stdout);
    assert!(
        ok.stdout
            .contains("2 passed, 0 failed, 0 skipped, 1 without a health check")
    );

    let json = orchestrate(
        &emu,
        dir.path(),
        &["health", "--env", "staging", "--format", "json"],
    )
    .await;
    assert_eq!(json.code, 0, "{json:?}");
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let backend = row(&report, "backend");
    assert_eq!(backend["verdict"], "passed");
    assert_eq!(backend["http_status"], 200);
    assert_eq!(backend["deployed"], "1.3.0");
    assert_eq!(backend["fields"][0]["seen"], "1.3.0");
    assert_eq!(backend["fields"][0]["expected"], "1.3.0");
    assert!(backend["latency_ms"].as_u64().is_some(), "{backend}");
    assert_eq!(row(&report, "docs")["verdict"], "no_check");

    assert!(emu.set_health_failure("web", HealthFailure::Down));
    let down = orchestrate(&emu, dir.path(), &["health", "--env", "staging"]).await;
    assert_eq!(down.code, 1, "{down:?}");
    assert!(
        down.stdout.contains("answered HTTP 503, expected 200"),
        "{}",
        down.stdout
    );
    assert!(
        down.stderr
            .contains("not healthy: 1 of 3 health checks failed in `staging`: web"),
        "{}",
        down.stderr
    );
    let only = orchestrate(
        &emu,
        dir.path(),
        &[
            "health",
            "--env",
            "staging",
            "--service",
            "backend",
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(only.code, 0, "only backend is checked: {only:?}");
    let report: Value = serde_json::from_str(&only.stdout).expect("JSON");
    assert_eq!(report["services"].as_array().map(Vec::len), Some(1));

    let preview = orchestrate(
        &emu,
        dir.path(),
        &[
            "plan",
            "--env",
            "staging",
            "--versions",
            "{backend: 1.4.0}",
            "--health",
        ],
    )
    .await;
    assert_eq!(preview.code, 0, "a preview is not a gate: {preview:?}");
    assert!(
        preview.stdout.contains("Current health"),
        "{}",
        preview.stdout
    );
    assert!(
        preview.stdout.contains("1 passed, 1 failed"),
        "{}",
        preview.stdout
    );

    for out in [&ok, &json, &down, &only, &preview] {
        assert!(
            !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
            "{out:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_any_release_checks_are_skipped_and_bad_input_is_exit_2() {
    let emu = emulator().await;
    let dir = workspace_with(&emu, &PLAN.replace("CANARY", CANARY));
    let fresh = orchestrate(
        &emu,
        dir.path(),
        &["health", "--env", "staging", "--format", "json"],
    )
    .await;
    assert_eq!(
        fresh.code, 0,
        "nothing failed, nothing could be checked: {fresh:?}"
    );
    let report: Value = serde_json::from_str(&fresh.stdout).expect("JSON");
    let backend = row(&report, "backend");
    assert_eq!(backend["verdict"], "skipped");
    assert!(
        backend["reason"].as_str().is_some_and(
            |r| r.contains("no such version of `backend` is recorded as deployed in `staging`")
        ),
        "{backend}"
    );
    let web = row(&report, "web");
    assert_eq!(web["verdict"], "skipped", "{web}");

    let typo = orchestrate(
        &emu,
        dir.path(),
        &["health", "--env", "staging", "--service", "bakend"],
    )
    .await;
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(
        typo.stderr.contains("did you mean `backend`?"),
        "{}",
        typo.stderr
    );
    let no_env = orchestrate(&emu, dir.path(), &["health", "--env", "prod"]).await;
    assert_eq!(no_env.code, 2, "{no_env:?}");
}
