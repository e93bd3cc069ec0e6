//! The release manifest end to end: `orchestrate action` uploads it to the orchestrating run
//! through the emulator's results service (its runtime token a canary that must never show),
//! a later reader downloads it by REST and it validates against the committed JSON Schema; a
//! shared artifact reaches the downstream run as a reference; without a runtime token the
//! release still succeeds and says so; a rehearsed rollback restores the last verified
//! manifest's versions, even where the registry says otherwise.

use std::time::Duration;

use orchestrate_core::artifact::Manifest;
use orchestrate_emulator::{DEFAULT_TOKEN, RepoSpec, RunningEmulator, WorkflowSpec};
use orchestrate_github::{ArtifactLimits, Client, ClientConfig, Credentials, GitHub, Repo, Secret};
use serde_json::Value;

use crate::engine_github::{action_env, run_action, workspace_with};
use crate::runner::parse_env_file;
use crate::support::{repo_root, run_in};

const SHARING_PLAN: &str = r#"version: 1
name: mini
strategy: parallel
environments:
  staging: { vars: { health: "EMULATOR/_health" }, health_timeout: 20s }
services:
  backend:
    repo: acme/api
    workflow: deploy.yml
    correlate: true
    share: [build-info]
    inputs: { version: "{{ version }}" }
    health:
      url: "{{ vars.health }}/backend"
      expect: { status: 200, json: { version: "{{ version }}" } }
  web:
    repo: acme/web
    workflow: deploy.yml
    needs: [backend]
    inputs: { version: "{{ version }}", image: "{{ artifacts.backend.build-info.id }}" }
"#;

async fn emulator() -> RunningEmulator {
    let mut scenario = crate::engine_github::scenario(Duration::from_secs(4));
    scenario.repos.retain(|r| r.name != "acme/release");
    scenario.repos.push(RepoSpec::new("acme/release").workflow(
        WorkflowSpec::new("orchestrate.yml").behaviour(orchestrate_emulator::Behaviour::timed(
            Duration::ZERO,
            Duration::from_secs(86_400),
            "success",
        )),
    ));
    let config = orchestrate_emulator::EmulatorConfig {
        time_factor: Some(10.0),
        ..orchestrate_emulator::EmulatorConfig::new(scenario)
    };
    orchestrate_emulator::Emulator::start(config)
        .await
        .expect("emulator starts")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(repo_root().join("schema/manifest.schema.json"))
        .expect("the committed schema");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// Downloads release `id`'s manifest artifact the way a later release does (REST by name).
async fn download_manifest(
    emu: &RunningEmulator,
    id: &str,
) -> (Vec<u8>, orchestrate_github::ArtifactInfo) {
    let client = Client::new(ClientConfig::new(
        emu.base_url(),
        Credentials::Token(Secret::new(DEFAULT_TOKEN)),
    ))
    .expect("client");
    let repo = Repo {
        owner: "acme".into(),
        name: "release".into(),
    };
    let found = client
        .find_artifacts(&repo, &format!("orchestrate-manifest-{id}"))
        .await
        .expect("listed");
    let artifact = found
        .into_iter()
        .next()
        .expect("the manifest artifact exists");
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("m");
    let extracted = client
        .download_artifact(&repo, &artifact, &dest, &ArtifactLimits::default())
        .await
        .expect("downloads");
    assert!(
        extracted.digest_verified,
        "the published digest was checked"
    );
    (
        std::fs::read(dest.join("manifest.json")).expect("manifest.json"),
        artifact,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_uploads_a_manifest_that_validates_and_references_what_was_shared() {
    let emu = emulator().await;
    let run_id = emu
        .start_run("acme/release", "orchestrate.yml", "octocat")
        .expect("the orchestrating run");
    let (runtime_token, _, _) = emu.runtime_token("acme/release", run_id);
    let root = workspace_with(&emu, SHARING_PLAN);
    let mut env = action_env(
        &emu,
        root.path(),
        DEFAULT_TOKEN,
        "{backend: 1.3.0, web: 2.1.0}",
        &run_id.to_string(),
    );
    env.push(("ACTIONS_RUNTIME_TOKEN".into(), runtime_token.clone()));
    env.push(("ACTIONS_RESULTS_URL".into(), format!("{}/", emu.base_url())));
    let out = run_action(root.path(), env).await;
    assert_eq!(out.code, 0, "{out:?}");
    let outputs =
        parse_env_file(&std::fs::read_to_string(root.path().join("set_output")).expect("outputs"))
            .expect("the runner accepts the outputs");
    let summary = std::fs::read_to_string(root.path().join("step_summary")).expect("summary");
    let artifact_id: u64 = outputs["manifest_artifact_id"]
        .parse()
        .unwrap_or_else(|_| panic!("manifest_artifact_id: {outputs:?}"));

    let (bytes, artifact) = download_manifest(&emu, &outputs["deployment_id"]).await;
    assert_eq!(artifact.id, artifact_id);
    assert_eq!(
        artifact.run_id,
        Some(run_id),
        "an artifact of the orchestrating run"
    );
    let json: Value = serde_json::from_slice(&bytes).expect("JSON");
    let schema = schema();
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let problems: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{json:#}");
    let manifest = Manifest::parse(&bytes).expect("a manifest");
    assert!(manifest.verified);
    assert_eq!(manifest.deployment_id, outputs["deployment_id"]);
    assert_eq!(manifest.verified_version("backend"), Some("1.3.0"));

    // `share:` handed web a reference it could give actions/download-artifact.
    let shared = &manifest.services["backend"].artifacts;
    assert_eq!(shared.len(), 1, "{shared:?}");
    let info = &shared[0];
    assert_eq!(info.name, "build-info");
    assert!(
        info.digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    let web = emu.runs("acme/web");
    assert_eq!(
        web[0].inputs.get("image").map(String::as_str),
        info.id.map(|id| id.to_string()).as_deref(),
        "web received the artifact id"
    );

    // The runtime token is a secret: only `::add-mask::` carries it.
    for (what, text) in [
        ("stdout", out.stdout.as_str()),
        ("stderr", out.stderr.as_str()),
        ("summary", summary.as_str()),
    ] {
        let leaked = text
            .lines()
            .any(|l| l.contains(&runtime_token) && !l.starts_with("::add-mask::"));
        assert!(!leaked, "the runtime token shows in {what}");
    }
    assert!(
        !outputs.values().any(|v| v.contains(&runtime_token)),
        "the runtime token shows in the outputs"
    );
    assert!(summary.contains("### Manifest"), "{summary}");
    // The signed upload URL's signature was masked before its use (the only secret that
    // appears during the release, announced on stderr), and no URL with it was printed.
    assert!(
        out.stderr.lines().any(|l| l.starts_with("::add-mask::")),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("sig=") && !out.stderr.contains("sig="));

    // `status` shows the last verified release set with its manifest.
    let status = {
        let dir = root.path().to_path_buf();
        let url = emu.base_url().to_owned();
        tokio::task::spawn_blocking(move || {
            let env = [
                ("GITHUB_API_URL", url.as_str()),
                ("ORCHESTRATE_TOKEN", DEFAULT_TOKEN),
                ("GITHUB_REPOSITORY", "acme/release"),
            ];
            run_in(&dir, &["status", "--env", "staging"], &env)
        })
        .await
        .expect("ran")
    };
    assert_eq!(status.code, 0, "{status:?}");
    let line = format!("Last verified release set: {}", outputs["deployment_id"]);
    assert!(
        status.stdout.contains(&line)
            && status.stdout.contains("backend 1.3.0, web 2.1.0")
            && status.stdout.contains("orchestrate-manifest-"),
        "{}",
        status.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_runtime_token_the_release_succeeds_and_says_the_manifest_was_not_stored() {
    let emu = emulator().await;
    let root = workspace_with(&emu, SHARING_PLAN);
    let env = action_env(
        &emu,
        root.path(),
        DEFAULT_TOKEN,
        "{backend: 1.3.0, web: 2.1.0}",
        "4242",
    );
    let out = run_action(root.path(), env).await;
    assert_eq!(out.code, 0, "{out:?}");
    let outputs =
        parse_env_file(&std::fs::read_to_string(root.path().join("set_output")).expect("outputs"))
            .expect("outputs parse");
    assert_eq!(outputs["status"], "succeeded");
    assert_eq!(outputs["manifest_artifact_id"], "");
    let summary = std::fs::read_to_string(root.path().join("step_summary")).expect("summary");
    assert!(
        summary.contains("not stored") && summary.contains("ACTIONS_RUNTIME_TOKEN"),
        "{summary}"
    );
}

fn rehearse(args: &[&str]) -> crate::support::Output {
    let plan = repo_root().join("examples/orchestrate.yml");
    let plan = plan.to_str().expect("utf-8");
    let mut all = vec!["rehearse", plan];
    all.extend_from_slice(args);
    run_in(&repo_root(), &all, &[])
}

#[test]
fn a_rehearsed_rollback_restores_the_last_verified_manifest() {
    let out = rehearse(&["--scenario", "android-upload-fails", "--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON report");
    let rollbacks = report["rollbacks"].as_array().expect("rollbacks");
    let rolled: Vec<(&str, &str, &str)> = rollbacks
        .iter()
        .filter(|r| r["outcome"] == "succeeded")
        .map(|r| {
            (
                r["service"].as_str().unwrap_or(""),
                r["to_version"].as_str().unwrap_or(""),
                r["source"]["from"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rolled,
        [
            ("desktop", "2.0.0", "manifest"),
            ("web", "2.0.0", "manifest"),
            ("backend", "1.2.0", "manifest")
        ],
        "{rollbacks:#?}"
    );
    assert!(
        report["manifest"]["artifact_id"].as_u64().is_some(),
        "{}",
        report["manifest"]
    );
    assert!(
        out.stderr.contains("starting from verified release"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_manifest_wins_over_a_registry_that_moved_on_since_the_last_verified_release() {
    // web 2.0.1 went out by hand after the last verified release (web 2.0.0): a rollback goes
    // back to the verified set, not to the unverified hotfix.
    let text =
        std::fs::read_to_string(repo_root().join("examples/scenarios/android-upload-fails.yml"))
            .expect("scenario");
    let text = text.replacen(
        "deployed: { backend: 1.2.0, android: 2.0.0, ios: 2.0.0, web: 2.0.0, desktop: 2.0.0 }",
        "deployed: { backend: 1.2.0, android: 2.0.0, ios: 2.0.0, web: 2.0.1, desktop: 2.0.0 }",
        1,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hotfix.yml");
    std::fs::write(&path, text).expect("scenario file");
    let out = rehearse(&[
        "--scenario",
        path.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON report");
    let web = report["rollbacks"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["service"] == "web"))
        .expect("web rolled back");
    assert_eq!(web["to_version"], "2.0.0", "{web}");
    assert_eq!(web["source"]["from"], "manifest", "{web}");
    let from = report["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "web"))
        .map(|s| s["from_version"].clone());
    assert_eq!(
        from,
        Some(Value::from("2.0.1")),
        "the registry's version is what was replaced"
    );
}
