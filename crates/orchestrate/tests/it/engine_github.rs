//! `orchestrate run` and `orchestrate action` against an emulator the test starts in-process,
//! over HTTP: a release that records its deployments, a dispatch answered 502 after it created
//! its run, a secondary rate limit, a token that cannot see a repository, a release timeout,
//! and the action's outputs and summary as the runner reads them.

use std::collections::BTreeMap;
use std::time::Duration;

use orchestrate_emulator::{
    Access, ArtifactSpec, Behaviour, DEFAULT_TOKEN, Emulator, EmulatorConfig, Fault, HealthFailure,
    HealthSpec, Permission, RepoSpec, RunningEmulator, Scenario, ScriptedFault, TokenSpec,
    WorkflowSpec,
};

use crate::runner::{parse_command, parse_env_file};
use crate::support::{Output, run_in};

pub(crate) const PLAN: &str = r#"version: 1
name: mini
strategy: parallel
environments:
  staging: { vars: { health: "EMULATOR/_health" }, health_timeout: 20s }
services:
  backend:
    repo: acme/api
    workflow: deploy.yml
    correlate: true
    artifacts: [build-info]
    inputs: { version: "{{ version }}" }
    health:
      url: "{{ vars.health }}/backend"
      expect: { status: 200, json: { version: "{{ version }}" } }
  web:
    repo: acme/web
    workflow: deploy.yml
    needs: [backend]
    inputs: { version: "{{ version }}", image: "{{ artifacts.backend.build-info.image }}" }
"#;

pub(crate) const VERSIONS: &str = "{backend: 1.3.0, web: 2.1.0}";

pub(crate) fn scenario(in_progress: Duration) -> Scenario {
    let behaviour = |artifacts: Vec<ArtifactSpec>| Behaviour {
        artifacts,
        ..Behaviour::timed(Duration::from_secs(1), in_progress, "success")
    };
    let info = ArtifactSpec {
        name: "build-info".into(),
        files: BTreeMap::from([(
            "build-info.json".to_owned(),
            serde_json::json!({ "image": "ghcr.io/acme/api:${{ inputs.version }}" }),
        )]),
    };
    let api = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .input("orchestrate_id", false)
        .run_name("deploy ${{ inputs.version }} [${{ inputs.orchestrate_id }}]")
        .behaviour(behaviour(vec![info]));
    let web = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .input("image", true)
        .behaviour(behaviour(Vec::new()));
    Scenario::builder()
        .repo(RepoSpec::new("acme/api").workflow(api))
        .repo(RepoSpec::new("acme/web").workflow(web))
        .repo(RepoSpec::new("acme/release"))
        .health(HealthSpec {
            service: "backend".into(),
            repo: "acme/api".into(),
            workflow: "deploy.yml".into(),
            version_input: "version".into(),
            initial_version: "1.2.0".into(),
            failure: HealthFailure::None,
            unhealthy_versions: Vec::new(),
        })
}

pub(crate) async fn emulator(
    in_progress: Duration,
    speed: f64,
    tokens: Vec<TokenSpec>,
) -> RunningEmulator {
    let config = EmulatorConfig {
        time_factor: Some(speed),
        tokens,
        ..EmulatorConfig::new(scenario(in_progress))
    };
    Emulator::start(config).await.expect("emulator starts")
}

fn workspace(emu: &RunningEmulator) -> tempfile::TempDir {
    workspace_with(emu, PLAN)
}

/// A checkout whose `.github/orchestrate.yml` is `plan`, with `EMULATOR` replaced by the
/// emulator's base URL.
pub(crate) fn workspace_with(emu: &RunningEmulator, plan: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(".github")).expect("mkdir");
    std::fs::write(
        dir.path().join(".github/orchestrate.yml"),
        plan.replace("EMULATOR", emu.base_url()),
    )
    .expect("plan");
    dir
}

/// The environment the runner gives `orchestrate action` in `root`: inputs, the `GITHUB_*`
/// context (run `run_id` of `acme/release`) and the output and summary files, which are
/// created empty.
pub(crate) fn action_env(
    emu: &RunningEmulator,
    root: &std::path::Path,
    token: &str,
    versions: &str,
    run_id: &str,
) -> Vec<(String, String)> {
    let output = root.join("set_output");
    let summary = root.join("step_summary");
    std::fs::write(&output, "").expect("output");
    std::fs::write(&summary, "").expect("summary");
    let path = |p: &std::path::Path| p.to_str().expect("utf-8").to_owned();
    [
        ("INPUT_GITHUB_TOKEN", token.to_owned()),
        ("INPUT_PLAN", ".github/orchestrate.yml".to_owned()),
        ("INPUT_TARGET_ENVIRONMENT", "staging".to_owned()),
        ("INPUT_VERSIONS", versions.to_owned()),
        ("INPUT_DEPLOYMENT_STRATEGY", String::new()),
        ("INPUT_ROLLBACK_ON_FAILURE", "true".to_owned()),
        ("INPUT_DRY_RUN", "false".to_owned()),
        ("INPUT_TIMEOUT", String::new()),
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("GITHUB_API_URL", emu.base_url().to_owned()),
        ("GITHUB_SERVER_URL", emu.base_url().to_owned()),
        ("GITHUB_REPOSITORY", "acme/release".to_owned()),
        ("GITHUB_SHA", "main".to_owned()),
        ("GITHUB_RUN_ID", run_id.to_owned()),
        ("GITHUB_WORKSPACE", path(root)),
        ("GITHUB_OUTPUT", path(&output)),
        ("GITHUB_STEP_SUMMARY", path(&summary)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `orchestrate action` in `root` with `env`, in a blocking task while the emulator serves.
pub(crate) async fn run_action(root: &std::path::Path, env: Vec<(String, String)>) -> Output {
    let dir = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_in(&dir, &["action"], &env)
    })
    .await
    .expect("ran")
}

/// `orchestrate run` in a blocking task while the emulator serves.
pub(crate) async fn run_release(emu: &RunningEmulator, token: &str, extra: &[&str]) -> Output {
    let dir = workspace(emu);
    let url = emu.base_url().to_owned();
    let token = token.to_owned();
    let mut args: Vec<String> = ["run", "--env", "staging", "--versions", VERSIONS]
        .map(String::from)
        .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = [
            ("GITHUB_API_URL", url.as_str()),
            ("ORCHESTRATE_TOKEN", token.as_str()),
            ("GITHUB_REPOSITORY", "acme/release"),
        ];
        run_in(dir.path(), &args, &env)
    })
    .await
    .expect("the binary ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_records_deployments_and_passes_artifact_fields_downstream() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    let out = run_release(&emu, DEFAULT_TOKEN, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let web = emu.runs("acme/web");
    assert_eq!(web.len(), 1);
    assert_eq!(
        web[0].inputs.get("image").map(String::as_str),
        Some("ghcr.io/acme/api:1.3.0")
    );
    let deployments = emu.deployments("acme/api");
    let service = deployments
        .iter()
        .find(|d| d.task == "deploy")
        .expect("a service deployment");
    assert_eq!(service.payload["version"], "1.3.0");
    let release_set = emu.deployments("acme/release");
    assert_eq!(release_set.len(), 1, "one release-set record");
    // What `status` then reports comes from the same registry.
    let dir = workspace(&emu);
    let url = emu.base_url().to_owned();
    let status = tokio::task::spawn_blocking(move || {
        run_in(
            dir.path(),
            &["status", "--env", "staging"],
            &[
                ("GITHUB_API_URL", url.as_str()),
                ("ORCHESTRATE_TOKEN", DEFAULT_TOKEN),
                ("GITHUB_REPOSITORY", "acme/release"),
            ],
        )
    })
    .await
    .expect("status ran");
    assert_eq!(status.code, 0, "{status:?}");
    assert!(
        status.stdout.contains("backend") && status.stdout.contains("1.3.0"),
        "{}",
        status.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_answered_502_after_it_created_its_run_is_not_sent_again() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    emu.inject(ScriptedFault::new(
        Some("POST"),
        "/repos/acme/api/actions/workflows/deploy.yml/dispatches",
        Fault::SucceedThen502,
    ));
    let out = run_release(&emu, DEFAULT_TOKEN, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(emu.runs("acme/api").len(), 1, "exactly one run exists");
    let dispatches = emu
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "POST"
                && r.path_only().ends_with("/deploy.yml/dispatches")
                && r.path.contains("acme/api")
        })
        .count();
    assert_eq!(dispatches, 1, "the POST was not re-sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_rate_limit_is_waited_out_then_the_release_succeeds() {
    let emu = emulator(Duration::from_secs(6), 10.0, Vec::new()).await;
    let mut fault = ScriptedFault::new(
        Some("GET"),
        "/repos/acme/api/actions/runs",
        Fault::SecondaryLimit {
            status: 429,
            retry_after: 2,
        },
    );
    fault.skip = 1;
    emu.inject(fault);
    let out = run_release(&emu, DEFAULT_TOKEN, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let requests = emu.requests();
    let limited = requests
        .iter()
        .position(|r| r.status == 429)
        .expect("a 429 was answered");
    let next = requests[limited + 1..]
        .iter()
        .find(|r| r.path.contains("/repos/acme/api/actions/runs"))
        .expect("polling went on");
    let waited = (next.wall - requests[limited].wall)
        .to_std()
        .expect("later");
    assert!(
        waited >= Duration::from_millis(1900),
        "waited only {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_cannot_see_a_repository_exits_3_with_the_remedy() {
    let all = [
        Permission::Actions,
        Permission::Deployments,
        Permission::Contents,
    ]
    .map(|p| (p, Access::Write));
    let limited = TokenSpec::scoped(
        "limited",
        "tok-limited",
        &["acme/api", "acme/release"],
        &all,
    );
    let emu = emulator(Duration::from_secs(4), 10.0, vec![limited]).await;
    let out = run_release(&emu, "tok-limited", &[]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("acme/web"),
        "names the repository: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("needs") || out.stderr.contains("token"),
        "gives the remedy: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("tok-limited"),
        "the token is never printed"
    );
    assert!(emu.runs("acme/api").is_empty(), "nothing was dispatched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_times_out_cancels_its_runs_and_exits_4() {
    let emu = emulator(Duration::from_secs(600), 1.0, Vec::new()).await;
    let out = run_release(&emu, DEFAULT_TOKEN, &["--timeout", "3s"]).await;
    assert_eq!(out.code, 4, "{out:?}");
    let cancels = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path_only().ends_with("/cancel"))
        .collect::<Vec<_>>();
    assert_eq!(
        cancels.len(),
        1,
        "the backend's run was cancelled: {cancels:?}"
    );
    assert!(emu.runs("acme/web").is_empty(), "web never started");
    // Every deployment it created, the release set's included, ends with a final status.
    let mut created = 0;
    for repo in ["acme/api", "acme/web", "acme/release"] {
        for d in emu.deployments(repo) {
            created += 1;
            let state = d.latest_state().map(str::to_owned);
            assert!(
                matches!(
                    state.as_deref(),
                    Some("success" | "failure" | "inactive" | "error")
                ),
                "{repo} deployment {} ({}) left {state:?}",
                d.id,
                d.task
            );
        }
    }
    assert!(
        created >= 2,
        "the backend's and the release set's deployments exist"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_writes_outputs_the_runner_accepts_and_a_summary_with_the_graph() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    let root = workspace(&emu);
    let output = root.path().join("set_output");
    let summary = root.path().join("step_summary");
    let env = action_env(&emu, root.path(), DEFAULT_TOKEN, VERSIONS, "4242");
    let out = run_action(root.path(), env).await;
    assert_eq!(out.code, 0, "{out:?}");
    let outputs = parse_env_file(&std::fs::read_to_string(&output).expect("outputs"))
        .expect("the runner accepts the outputs");
    assert_eq!(outputs["status"], "succeeded");
    let runs: serde_json::Value = serde_json::from_str(&outputs["runs"]).expect("runs is JSON");
    assert!(runs["backend"]["id"].as_u64().is_some(), "{runs}");
    let summary = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        summary.contains("```mermaid") && summary.contains("click s0 href"),
        "{summary}"
    );
    let groups: Vec<String> = out
        .stdout
        .lines()
        .filter_map(parse_command)
        .filter(|c| c.name == "group")
        .map(|c| c.message)
        .collect();
    assert!(
        groups.iter().any(|g| g.starts_with("backend"))
            && groups.iter().any(|g| g.starts_with("web")),
        "{groups:?}"
    );
    // Only `::add-mask::` itself carries the token (that is how the runner learns to mask it).
    let leaked = out
        .stdout
        .lines()
        .any(|l| l.contains(DEFAULT_TOKEN) && !l.starts_with("::add-mask::"));
    assert!(
        !leaked && !summary.contains(DEFAULT_TOKEN),
        "the token is masked"
    );
}
