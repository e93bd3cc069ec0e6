//! The GitHub issue channel: a failure opens an issue labelled `orchestration` (or comments on
//! the open one of the same environment), a success comments on it and, with
//! `close_on_success`, closes it.
//!
//! [`IssueTracker`] is what this channel needs from GitHub. [`GithubIssueTracker`] implements it
//! over `orchestrate_github::Client`, the one place that talks to GitHub: the calls share its
//! auth, pacing, accounting and remedies, and it never re-sends a POST blindly. What this module
//! adds is the channel's logic and its retries, which look for the issue again before opening
//! one, so an issue whose creation answer was lost is found rather than opened twice.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use orchestrate_core::notify::Notice;
use orchestrate_core::notify::issue::{
    LABEL, failure_body, failure_title, labels, repeat_comment, success_comment, title_prefix,
};
use orchestrate_core::notify::rule::{Event, IssueConfig};
use orchestrate_core::plan::Repo;
use orchestrate_core::report::{ReleaseStatus, RunReport};
pub use orchestrate_github::IssueRef as OpenIssue;
use orchestrate_github::{Client, ClientConfig, Credentials, NewIssue, Secret};

use crate::notify::retry::{self, AttemptError, RetryPolicy};

/// The issue operations the channel uses. Errors are [`AttemptError`]s so the channel can
/// tell a transient failure from a refusal.
pub trait IssueTracker: Send + Sync {
    /// The most recent open issue (not pull request) labelled `label` whose title starts with
    /// `prefix`.
    fn find_open_issue(
        &self,
        repo: &Repo,
        label: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Option<OpenIssue>, AttemptError>> + Send;
    fn create_issue(
        &self,
        repo: &Repo,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> impl Future<Output = Result<OpenIssue, AttemptError>> + Send;
    fn comment(
        &self,
        repo: &Repo,
        number: u64,
        body: &str,
    ) -> impl Future<Output = Result<(), AttemptError>> + Send;
    fn close(
        &self,
        repo: &Repo,
        number: u64,
    ) -> impl Future<Output = Result<(), AttemptError>> + Send;
}

/// One attempt of the channel. A retry looks for the issue again first, so an issue created
/// by an attempt whose answer was lost is found (same title) rather than opened twice.
async fn attempt<I: IssueTracker>(
    tracker: &I,
    config: &IssueConfig,
    report: &RunReport,
    notices: &[Notice],
) -> Result<(), AttemptError> {
    // An issue tracks trouble; the start of a release, or a run waiting for its reviewers, is
    // not news there.
    if notices
        .iter()
        .all(|n| matches!(n.event, Event::DeploymentStarted | Event::ApprovalRequired))
    {
        return Ok(());
    }
    let repo = &config.repo;
    let open = tracker
        .find_open_issue(repo, LABEL, &title_prefix(&report.environment))
        .await?;
    if report.status == ReleaseStatus::Succeeded {
        if let Some(issue) = open {
            let body = success_comment(report, config.close_on_success);
            tracker.comment(repo, issue.number, &body).await?;
            if config.close_on_success {
                tracker.close(repo, issue.number).await?;
            }
        }
        return Ok(());
    }
    let title = failure_title(report);
    match open {
        Some(issue) if issue.title == title => Ok(()),
        Some(issue) => {
            let body = repeat_comment(report, notices);
            tracker.comment(repo, issue.number, &body).await
        }
        None => {
            let body = failure_body(report, notices);
            tracker
                .create_issue(repo, &title, &body, &labels(&config.labels))
                .await
                .map(|_| ())
        }
    }
}

pub async fn send<I: IssueTracker>(
    tracker: &I,
    policy: &RetryPolicy,
    config: &IssueConfig,
    report: &RunReport,
    notices: &[Notice],
) -> retry::Outcome {
    retry::run(policy, |_left| attempt(tracker, config, report, notices)).await
}

/// Where the GitHub API is and the token to use. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct GithubAccess {
    /// `GITHUB_API_URL`: `https://api.github.com`, a GHES `/api/v3` base, or the emulator.
    pub api_url: String,
    pub token: String,
}

impl std::fmt::Debug for GithubAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubAccess")
            .field("api_url", &self.api_url)
            .field("token", &"***")
            .finish()
    }
}

/// Each call gets this long: the channel's retry budget bounds the whole delivery anyway.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// [`IssueTracker`] over the GitHub client.
#[derive(Debug, Clone)]
pub struct GithubIssueTracker {
    client: Arc<Client>,
}

impl GithubIssueTracker {
    /// Files issues through `client`: the release's own, so a GitHub App's installation token
    /// serves here too and the requests are counted with the release's.
    pub fn new(client: Arc<Client>) -> Self {
        GithubIssueTracker { client }
    }

    /// A client of its own for a token, when the release's client is not at hand.
    pub fn for_access(access: &GithubAccess) -> Result<Self, orchestrate_github::Error> {
        let mut config = ClientConfig::new(
            access.api_url.clone(),
            Credentials::Token(Secret::new(access.token.clone())),
        );
        config.request_timeout = REQUEST_TIMEOUT;
        Ok(GithubIssueTracker::new(Arc::new(Client::new(config)?)))
    }
}

/// A failed call as the channel's retry sees it: no answer, a 5xx, a 429 or a rate limit are
/// worth another attempt; a refusal is not. The GitHub layer's message carries the status,
/// GitHub's message and the remedy, never the token.
fn attempt_error(what: &str, repo: &Repo, err: orchestrate_github::Error) -> AttemptError {
    use orchestrate_github::Error;
    let (transient, retry_after) = match &err {
        Error::Network { .. } => (true, None),
        Error::Http { status, .. } => (*status >= 500 || *status == 429, None),
        Error::RateLimited { reset_at, .. } => (
            true,
            reset_at.and_then(|at| (at - chrono::Utc::now()).to_std().ok()),
        ),
        _ => (false, None),
    };
    let mut message = format!("github: {what} in {repo}: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    AttemptError {
        transient,
        retry_after,
        message,
    }
}

impl IssueTracker for GithubIssueTracker {
    async fn find_open_issue(
        &self,
        repo: &Repo,
        label: &str,
        prefix: &str,
    ) -> Result<Option<OpenIssue>, AttemptError> {
        self.client
            .find_open_issue(repo, label, prefix)
            .await
            .map_err(|e| attempt_error("listing issues", repo, e))
    }

    async fn create_issue(
        &self,
        repo: &Repo,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<OpenIssue, AttemptError> {
        let issue = NewIssue {
            title: title.to_owned(),
            body: body.to_owned(),
            labels: labels.to_vec(),
        };
        self.client
            .create_issue(repo, &issue)
            .await
            .map_err(|e| attempt_error("creating an issue", repo, e))
    }

    async fn comment(&self, repo: &Repo, number: u64, body: &str) -> Result<(), AttemptError> {
        self.client
            .comment_on_issue(repo, number, body)
            .await
            .map_err(|e| attempt_error(&format!("commenting on issue #{number}"), repo, e))
    }

    async fn close(&self, repo: &Repo, number: u64) -> Result<(), AttemptError> {
        self.client
            .close_issue(repo, number)
            .await
            .map_err(|e| attempt_error(&format!("closing issue #{number}"), repo, e))
    }
}
