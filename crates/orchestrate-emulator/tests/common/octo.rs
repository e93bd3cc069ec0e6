//! The `octo/*` world both HTTP test suites of the emulator (`api`, `schema`) run against, so
//! they test the same repositories; each suite adds what only it needs.

use std::time::Duration;

use orchestrate_emulator::{
    ArtifactSpec, Behaviour, BehaviourPatch, EnvironmentSpec, JobSpec, RepoSpec, WorkflowSpec,
};
use serde_json::json;

/// The fixed emulated start time of every test.
pub const START: &str = "2026-05-01T10:00:00Z";

/// `octo/api`: `deploy.yml` (inputs, run-name, two jobs of which `deploy` fails at `push`, an
/// artifact; version 2.0.0 concludes `failure`) and `on-event.yml` (repository_dispatch
/// `deploy`); branch `release` is behind `main`; tag `v1.0.0`.
pub fn api() -> RepoSpec {
    let mut manifest = ArtifactSpec {
        name: "release-manifest".into(),
        files: Default::default(),
    };
    manifest.files.insert(
        "manifest.json".into(),
        json!({ "version": "${{ inputs.version }}" }),
    );
    let behaviour = Behaviour {
        jobs: vec![
            JobSpec {
                name: "build".into(),
                steps: vec!["compile".into()],
                fails: false,
                failing_step: None,
            },
            JobSpec {
                name: "deploy".into(),
                steps: vec!["push".into(), "verify".into()],
                fails: true,
                failing_step: Some("push".into()),
            },
        ],
        artifacts: vec![manifest],
        ..Behaviour::timed(Duration::from_secs(10), Duration::from_secs(60), "success")
    };
    let failing = BehaviourPatch {
        conclusion: Some("failure".into()),
        ..BehaviourPatch::default()
    };
    let deploy = WorkflowSpec::new("deploy.yml")
        .run_name("Deploy ${{ inputs.version }} [${{ inputs.orchestrate_id }}]")
        .input("version", true)
        .input("orchestrate_id", false)
        .behaviour(behaviour)
        .when_input("version", "2.0.0", failing);
    let mut on_event = WorkflowSpec::new("on-event.yml")
        .run_name("Event ${{ github.event.client_payload.version }}");
    on_event.repository_dispatch = vec!["deploy".into()];
    on_event.workflow_dispatch = false;
    let mut api = RepoSpec::new("octo/api")
        .branch("release")
        .workflow(deploy)
        .workflow(on_event);
    api.tags.push("v1.0.0".into());
    api.behind_default.push("release".into());
    api
}

/// `octo/web`: `ci.yml` and a failing commit-status context `ci/test`.
pub fn web() -> RepoSpec {
    let mut web = RepoSpec::new("octo/web").workflow(WorkflowSpec::new("ci.yml"));
    web.failing_contexts.push("ci/test".into());
    web
}

/// `octo/gated`: `release.yml`, whose deploy job references `production` (reviewers `octocat`
/// — the login of every test token — `alice` and the team `octo/releasers`; nobody reviews
/// unless a test does), and `timed.yml`, held by a 2-minute wait timer of `staging` alone.
pub fn gated() -> RepoSpec {
    let behaviour = Behaviour::timed(Duration::from_secs(10), Duration::from_secs(60), "success");
    let release = WorkflowSpec::new("release.yml")
        .run_name("Release ${{ inputs.version }}")
        .input("version", true)
        .behaviour(Behaviour {
            jobs: vec![
                JobSpec {
                    name: "deploy".into(),
                    steps: vec!["roll out".into()],
                    fails: false,
                    failing_step: None,
                },
                JobSpec {
                    name: "announce".into(),
                    steps: vec![],
                    fails: false,
                    failing_step: None,
                },
            ],
            ..behaviour.clone()
        })
        .environment(EnvironmentSpec::new(
            "production",
            &["octocat", "alice", "octo/releasers"],
        ));
    let timed = WorkflowSpec::new("timed.yml")
        .input("version", false)
        .behaviour(behaviour)
        .environment(EnvironmentSpec::new("staging", &[]).wait_timer(Duration::from_secs(120)));
    RepoSpec::new("octo/gated")
        .workflow(release)
        .workflow(timed)
}
