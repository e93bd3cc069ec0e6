//! Environment gates against the emulator: what a waiting run waits for, an approval and a
//! rejection through the API, the review history, a refused review, and the registry ignoring
//! the deployment GitHub records for a gated job.

use std::time::Duration;

use orchestrate_emulator::{
    Behaviour, Emulator, EmulatorConfig, EnvironmentSpec, RepoSpec, RunningEmulator, Scenario,
    TokenKind, TokenSpec, WorkflowSpec,
};
use orchestrate_github::{
    Client, ClientConfig, Credentials, DeploymentState, DeploymentStatusUpdate, DispatchRequest,
    GateReview, GitHub, NewDeployment, RetryPolicy, Secret,
};

use crate::repo;

const APP_TOKEN: &str = "ghs_approvals_app_token";

async fn emulator() -> RunningEmulator {
    let workflow = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .behaviour(Behaviour::timed(
            Duration::from_secs(5),
            Duration::from_secs(30),
            "success",
        ))
        .environment(EnvironmentSpec::new(
            "production",
            &["octocat", "acme/release-managers"],
        ));
    let scenario = Scenario::builder().repo(RepoSpec::new("acme/api").workflow(workflow));
    let mut app = TokenSpec::permissive("app", APP_TOKEN);
    app.kind = TokenKind::Integration;
    let config = EmulatorConfig {
        time_factor: Some(0.0),
        tokens: vec![
            TokenSpec::permissive("default", orchestrate_emulator::DEFAULT_TOKEN),
            app,
        ],
        ..EmulatorConfig::new(scenario)
    };
    Emulator::start(config).await.expect("emulator starts")
}

fn client(url: &str, token: &str) -> Client {
    let mut config = ClientConfig::new(url, Credentials::Token(Secret::new(token)));
    config.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    Client::new(config).expect("client")
}

async fn dispatch(github: &Client) -> u64 {
    let req = DispatchRequest {
        repo: repo(),
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: [("version".to_owned(), "1.0.0".to_owned())].into(),
        correlate: false,
    };
    github
        .dispatch(&req)
        .await
        .expect("dispatched")
        .run
        .expect("run details")
        .id
}

#[tokio::test]
async fn a_waiting_run_is_approved_and_its_reviewer_is_read_back() {
    let emu = emulator().await;
    let github = client(emu.base_url(), orchestrate_emulator::DEFAULT_TOKEN);
    let run = dispatch(&github).await;
    assert!(
        github
            .pending_gates(&repo(), run)
            .await
            .expect("read")
            .is_empty()
    );
    emu.advance(Duration::from_secs(5));
    assert_eq!(
        github.get_run(&repo(), run).await.expect("run").status,
        "waiting"
    );
    let gates = github.pending_gates(&repo(), run).await.expect("read");
    assert_eq!(gates.len(), 1);
    let gate = &gates[0];
    assert_eq!(gate.environment, "production");
    assert!(gate.can_approve);
    let reviewers: Vec<String> = gate.reviewers.iter().map(ToString::to_string).collect();
    assert_eq!(reviewers, ["octocat", "acme/release-managers"]);

    let app = client(emu.base_url(), APP_TOKEN);
    let review = GateReview {
        environment_ids: vec![gate.environment_id],
        approve: true,
        comment: "approved by orchestrate".into(),
    };
    let refused = app
        .review_gates(&repo(), run, &review)
        .await
        .expect_err("an App may not review");
    assert_eq!(refused.status(), Some(403));
    assert!(refused.is_refusal());

    github
        .review_gates(&repo(), run, &review)
        .await
        .expect("approved");
    let again = github.review_gates(&repo(), run, &review).await;
    assert_eq!(again.expect_err("decided").status(), Some(422));
    let reviews = github.run_reviews(&repo(), run).await.expect("history");
    assert_eq!(reviews.len(), 1);
    assert!(reviews[0].approved());
    assert_eq!(reviews[0].user, "octocat");
    assert_eq!(reviews[0].environments, ["production"]);
    assert_eq!(
        github.get_run(&repo(), run).await.expect("run").status,
        "in_progress"
    );
}

#[tokio::test]
async fn a_rejected_run_fails_and_the_registry_ignores_githubs_own_deployment() {
    let emu = emulator().await;
    let github = client(emu.base_url(), orchestrate_emulator::DEFAULT_TOKEN);
    // What orchestrate recorded earlier: version 1.0.0 deployed in production.
    let recorded = NewDeployment {
        environment: "production".into(),
        git_ref: "main".into(),
        task: "deploy".into(),
        payload: serde_json::json!({ "service": "api", "version": "1.0.0" }),
        description: None,
        production_environment: None,
    };
    let id = github
        .create_deployment(&repo(), &recorded)
        .await
        .expect("created");
    let success = DeploymentStatusUpdate {
        state: DeploymentState::Success,
        log_url: None,
        environment_url: None,
        description: None,
    };
    github
        .set_deployment_status(&repo(), id, &success)
        .await
        .expect("status");
    // A gated run that succeeds: GitHub records (and marks successful) its own deployment.
    let approved = dispatch(&github).await;
    emu.advance(Duration::from_secs(5));
    let gate = github.pending_gates(&repo(), approved).await.expect("read")[0].clone();
    let approve = GateReview {
        environment_ids: vec![gate.environment_id],
        approve: true,
        comment: String::new(),
    };
    github
        .review_gates(&repo(), approved, &approve)
        .await
        .expect("approved");
    emu.advance(Duration::from_secs(60));
    let ours = emu
        .deployments("acme/api")
        .into_iter()
        .filter(|d| d.latest_state() == Some("success"))
        .count();
    assert_eq!(ours, 2, "GitHub's own deployment succeeded too");
    let deployed = github
        .deployed_versions(&repo(), "production")
        .await
        .expect("registry");
    let current = deployed.current.expect("a current version");
    assert_eq!(current.version.as_deref(), Some("1.0.0"));
    assert_eq!(current.deployment_id, id);

    let rejected = dispatch(&github).await;
    emu.advance(Duration::from_secs(5));
    let reject = GateReview {
        approve: false,
        comment: "not today".into(),
        ..approve
    };
    github
        .review_gates(&repo(), rejected, &reject)
        .await
        .expect("rejected");
    let run = github.get_run(&repo(), rejected).await.expect("run");
    assert_eq!(
        (run.status.as_str(), run.conclusion.as_deref()),
        ("completed", Some("failure"))
    );
    let reviews = github
        .run_reviews(&repo(), rejected)
        .await
        .expect("history");
    assert!(reviews[0].rejected());
    assert_eq!(reviews[0].comment, "not today");
}
