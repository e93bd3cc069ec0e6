//! Serves an emulator for the Node cross-check (`tests/node/run.sh`): one repository with one
//! dispatched run, a runtime token for a job of that run, and a REST token that can read the
//! repository; plus, for `@octokit/rest`, a fast `release.yml` (inputs, `run-name`, an
//! artifact) and a token that can dispatch it. Prints one JSON line with the environment the
//! Node clients need, then serves until killed.

use std::time::Duration;

use orchestrate_emulator::{
    Access, ArtifactSpec, Behaviour, Emulator, EmulatorConfig, Permission, RepoSpec, Scenario,
    TokenSpec, WorkflowSpec,
};

const REPO: &str = "octo/api";
const WORKFLOW: &str = "build.yml";
/// What `octokit-rest.mjs` dispatches: done in about a second of real time, with an artifact.
const RELEASE_WORKFLOW: &str = "release.yml";
/// Dispatches the run the artifacts belong to.
const WRITER_TOKEN: &str = "ghp_node_writer";
/// What the Node clients use: read access to the repository's actions, nothing more.
const READER_TOKEN: &str = "ghp_node_reader";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // reqwest is built without a crypto provider; plain http to 127.0.0.1 still needs one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let scenario = Scenario::builder().repo(
        RepoSpec::new(REPO)
            .workflow(WorkflowSpec::new(WORKFLOW))
            .workflow(release_workflow()),
    );
    let mut config = EmulatorConfig::new(scenario);
    config.tokens = vec![
        TokenSpec::scoped(
            "node-writer",
            WRITER_TOKEN,
            &[REPO],
            &[(Permission::Actions, Access::Write)],
        ),
        TokenSpec::scoped(
            "node-reader",
            READER_TOKEN,
            &[REPO],
            &[(Permission::Actions, Access::Read)],
        ),
    ];
    let emulator = Emulator::start(config).await?;
    let base = emulator.base_url().to_owned();

    let dispatched: serde_json::Value = reqwest::Client::builder()
        .build()?
        .post(format!(
            "{base}/repos/{REPO}/actions/workflows/{WORKFLOW}/dispatches"
        ))
        .bearer_auth(WRITER_TOKEN)
        .header("accept", "application/vnd.github+json")
        .header("user-agent", "serve_for_node")
        .json(&serde_json::json!({ "ref": "main", "return_run_details": true }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let run_id = dispatched["workflow_run_id"]
        .as_u64()
        .ok_or("dispatch answered without workflow_run_id")?;
    let (runtime_token, _, _) = emulator.runtime_token(REPO, run_id);

    let env = serde_json::json!({
        "ACTIONS_RESULTS_URL": format!("{base}/"),
        "ACTIONS_RUNTIME_TOKEN": runtime_token,
        "GITHUB_API_URL": base,
        "GITHUB_TOKEN": READER_TOKEN,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_RUN_ID": run_id.to_string(),
        "GITHUB_WRITE_TOKEN": WRITER_TOKEN,
        "RELEASE_WORKFLOW": RELEASE_WORKFLOW,
    });
    announce(&env.to_string());
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await?;
    Ok(())
}

/// `release.yml`: inputs `version` (required) and `orchestrate_id`, a `run-name` built from
/// them, 200 ms queued and 1 s in progress, and a `release-manifest` artifact.
fn release_workflow() -> WorkflowSpec {
    let mut manifest = ArtifactSpec {
        name: "release-manifest".to_owned(),
        files: Default::default(),
    };
    manifest.files.insert(
        "manifest.json".to_owned(),
        serde_json::json!({ "version": "${{ inputs.version }}" }),
    );
    let behaviour = Behaviour {
        artifacts: vec![manifest],
        ..Behaviour::timed(
            Duration::from_millis(200),
            Duration::from_secs(1),
            "success",
        )
    };
    WorkflowSpec::new(RELEASE_WORKFLOW)
        .run_name("Release ${{ inputs.version }} [${{ inputs.orchestrate_id }}]")
        .input("version", true)
        .input("orchestrate_id", false)
        .behaviour(behaviour)
}

#[expect(
    clippy::print_stdout,
    reason = "the JSON line on stdout is this program's output"
)]
fn announce(line: &str) {
    println!("{line}");
}
