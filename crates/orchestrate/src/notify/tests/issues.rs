//! The GitHub issue channel against the emulator: open on failure, comment on a repeat
//! failure instead of opening another, comment and close on success, through the release's own
//! GitHub client when it is given.

use std::sync::Arc;

use orchestrate_core::notify::rule::{Channel, ChannelsConfig, IssueConfig};
use orchestrate_core::notify::samples::{
    approval_required, failure_with_rollback, health_check_failure, success,
};
use orchestrate_core::plan::Repo;
use orchestrate_core::report::RunReport;
use orchestrate_emulator::{
    DEFAULT_TOKEN, Emulator, EmulatorConfig, RepoSpec, RunningEmulator, Scenario,
};
use orchestrate_github::{Client, ClientConfig, Credentials, Secret};

use super::{notifier, notify_to};
use crate::env::Env;
use crate::gha::Masker;
use crate::notify::{GithubAccess, Notifier, NotifySecrets};

const REPO: &str = "mickgian/release";

pub async fn emulator() -> RunningEmulator {
    let scenario = Scenario::builder().repo(RepoSpec::new(REPO));
    Emulator::start(EmulatorConfig::new(scenario))
        .await
        .expect("the emulator starts")
}

pub fn issue_channels() -> ChannelsConfig {
    ChannelsConfig {
        github_issue: Some(IssueConfig {
            repo: Repo {
                owner: "mickgian".to_owned(),
                name: "release".to_owned(),
            },
            labels: vec!["release".to_owned()],
            close_on_success: true,
        }),
        ..ChannelsConfig::default()
    }
}

pub fn issue_notifier(emu: &RunningEmulator, masker: Masker) -> Notifier {
    let secrets = NotifySecrets {
        github: Some(GithubAccess {
            api_url: emu.base_url().to_owned(),
            token: DEFAULT_TOKEN.to_owned(),
        }),
        ..NotifySecrets::default()
    };
    notifier(issue_channels(), secrets, masker)
}

async fn send(n: &Notifier, report: &RunReport) {
    let out = notify_to(n, report, &[Channel::GithubIssue]).await;
    assert_eq!(out.len(), 1);
    assert!(out[0].delivered, "{:?}", out[0].error);
}

fn with_id(mut report: RunReport, id: &str) -> RunReport {
    report.deployment_id = id.to_owned();
    report
}

#[tokio::test]
async fn a_run_waiting_for_its_reviewers_opens_no_issue() {
    let emu = emulator().await;
    let n = issue_notifier(&emu, Masker::new());
    let report = approval_required();
    let notices = vec![orchestrate_core::notify::approval_required(
        &report,
        vec!["backend".to_owned()],
    )];
    let out = n
        .notify(
            &report,
            &notices,
            &super::everything_to(&[Channel::GithubIssue]),
            None,
        )
        .await;
    assert_eq!(out.len(), 1);
    assert!(out[0].delivered, "{:?}", out[0].error);
    assert!(
        emu.issues(REPO).is_empty(),
        "an approval request is not trouble"
    );
}

#[tokio::test]
async fn failures_open_one_issue_per_environment_and_success_closes_it() {
    let emu = emulator().await;
    let n = issue_notifier(&emu, Masker::new());

    send(&n, &failure_with_rollback()).await;
    let issues = emu.issues(REPO);
    assert_eq!(issues.len(), 1);
    assert_eq!(
        issues[0].title,
        "Release failed in production (deployment 1043)"
    );
    assert_eq!(issues[0].labels, ["orchestration", "release"]);
    let body = issues[0].body.as_deref().expect("a body");
    assert!(body.contains("| [deploy](https://github.com/mickgian/PratikoAi-KMP/actions/runs/513/job/7001) | Upload to CDN |"), "{body}");
    assert!(body.contains("backend: rolled back to 1.2.0"));

    // A repeat failure comments on the open issue.
    send(&n, &with_id(failure_with_rollback(), "1045")).await;
    let issues = emu.issues(REPO);
    assert_eq!(issues.len(), 1, "no second issue");
    assert_eq!(issues[0].comments.len(), 1);
    assert!(
        issues[0].comments[0]
            .body
            .starts_with("## Failed again: Release rolled back in production (deployment 1045)")
    );

    // Another environment has its own issue.
    send(&n, &health_check_failure()).await;
    let issues = emu.issues(REPO);
    assert_eq!(issues.len(), 2);
    assert_eq!(
        issues[1].title,
        "Release failed in staging (deployment 1044)"
    );

    // Success in production: comment, then close; staging's issue stays open.
    send(&n, &with_id(success(), "1046")).await;
    let issues = emu.issues(REPO);
    assert_eq!(issues[0].state, "closed");
    assert_eq!(issues[0].state_reason.as_deref(), Some("completed"));
    assert_eq!(issues[0].comments.len(), 2);
    assert!(
        issues[0].comments[1]
            .body
            .contains("Closing: production is healthy again.")
    );
    assert_eq!(issues[1].state, "open");

    // The next failure opens a fresh issue.
    send(&n, &with_id(failure_with_rollback(), "1047")).await;
    let issues = emu.issues(REPO);
    assert_eq!(issues.len(), 3);
    assert_eq!(
        issues[2].title,
        "Release failed in production (deployment 1047)"
    );
    assert_eq!(issues[2].state, "open");
}

#[tokio::test]
async fn success_without_an_open_issue_does_nothing() {
    let emu = emulator().await;
    let n = issue_notifier(&emu, Masker::new());
    send(&n, &success()).await;
    assert!(emu.issues(REPO).is_empty());
}

#[tokio::test]
async fn a_refused_token_is_reported_with_a_remedy() {
    let emu = emulator().await;
    let secrets = NotifySecrets {
        github: Some(GithubAccess {
            api_url: emu.base_url().to_owned(),
            token: "ghp_not-a-known-token".to_owned(),
        }),
        ..NotifySecrets::default()
    };
    let n = notifier(issue_channels(), secrets, Masker::new());
    let report = failure_with_rollback();
    let out = notify_to(&n, &report, &[Channel::GithubIssue]).await;
    assert_eq!((out[0].delivered, out[0].attempts), (false, 1));
    let error = out[0].error.as_deref().expect("an error");
    assert!(
        error.starts_with(
            "github: listing issues in mickgian/release: GET /repos/mickgian/release/issues?"
        ),
        "{error}"
    );
    assert!(
        error.contains("GitHub answered 401") && error.contains("the token is invalid or expired"),
        "{error}"
    );
    assert!(!error.contains("ghp_not-a-known-token"));
    assert!(emu.issues(REPO).is_empty());
}

#[tokio::test]
async fn the_release_client_serves_the_channel_without_a_token_in_the_secrets() {
    let emu = emulator().await;
    let channels = issue_channels();
    let secrets = NotifySecrets::from_env(&Env::default(), &channels, None);
    assert_eq!(
        secrets.problems.len(),
        1,
        "no token: the channel is unusable alone"
    );
    let config = ClientConfig::new(
        emu.base_url(),
        Credentials::Token(Secret::new(DEFAULT_TOKEN)),
    );
    let client = Arc::new(Client::new(config).expect("a client"));
    let n = notifier(channels, secrets, Masker::new()).with_github_client(client.clone());
    send(&n, &failure_with_rollback()).await;
    assert_eq!(emu.issues(REPO).len(), 1);
    assert!(
        client.request_stats().snapshot().requests >= 2,
        "the list and the create are counted with the release's requests"
    );
}
