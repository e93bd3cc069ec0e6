//! The GitHub issue channel: a failure opens an issue labelled `orchestration` (or comments on
//! the open one of the same environment), a success comments on it and, with
//! `close_on_success`, closes it.
//!
//! [`IssueTracker`] is what this channel needs from GitHub. [`HttpIssueTracker`] implements it
//! over REST with reqwest, honouring `GITHUB_API_URL`; it belongs in `orchestrate-github` and
//! lives here only until that crate's client can take it.

use std::future::Future;

use orchestrate_core::notify::Notice;
use orchestrate_core::notify::issue::{
    LABEL, failure_body, failure_title, labels, repeat_comment, success_comment, title_prefix,
};
use orchestrate_core::notify::rule::{Event, IssueConfig};
use orchestrate_core::plan::Repo;
use orchestrate_core::report::{ReleaseStatus, RunReport};

use crate::notify::http::describe;
use crate::notify::retry::{self, AttemptError, RetryPolicy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIssue {
    pub number: u64,
    pub title: String,
}

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
    // An issue tracks trouble; the start of a release is not news there.
    if notices.iter().all(|n| n.event == Event::DeploymentStarted) {
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

/// [`IssueTracker`] over the REST API.
#[derive(Debug, Clone)]
pub struct HttpIssueTracker {
    http: reqwest::Client,
    access: GithubAccess,
}

#[derive(serde::Deserialize)]
struct IssueJson {
    number: u64,
    title: String,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl HttpIssueTracker {
    pub fn new(http: reqwest::Client, access: GithubAccess) -> Self {
        HttpIssueTracker { http, access }
    }

    fn url(&self, repo: &Repo, rest: &str) -> String {
        format!(
            "{}/repos/{}/{}/issues{rest}",
            self.access.api_url.trim_end_matches('/'),
            repo.owner,
            repo.name
        )
    }

    async fn call(
        &self,
        repo: &Repo,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response, AttemptError> {
        let resp = req
            .bearer_auth(&self.access.token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await
            .map_err(|e| {
                let transient = e.is_connect() || e.is_timeout() || e.is_request();
                AttemptError {
                    transient,
                    retry_after: None,
                    message: format!("github: {what} in {repo}: {}", describe(e)),
                }
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            message: Option<String>,
        }
        let message = resp
            .json::<ErrorBody>()
            .await
            .ok()
            .and_then(|b| b.message)
            .unwrap_or_default();
        let remedy = match status.as_u16() {
            401 => " (the token is invalid or expired)",
            403 | 404 => " (does the token have `issues: write` on this repository?)",
            410 => " (issues are disabled on this repository)",
            _ => "",
        };
        Err(AttemptError {
            transient: status.is_server_error() || status.as_u16() == 429,
            retry_after: None,
            message: format!("github: {what} in {repo}: HTTP {status}: {message}{remedy}"),
        })
    }

    async fn json<T: serde::de::DeserializeOwned>(
        resp: reqwest::Response,
        what: &str,
    ) -> Result<T, AttemptError> {
        resp.json::<T>().await.map_err(|e| {
            AttemptError::permanent(format!("github: {what}: bad response: {}", describe(e)))
        })
    }
}

impl IssueTracker for HttpIssueTracker {
    /// Looks at the 100 most recently created open issues with the label; an older match is
    /// unlikely (one issue per environment stays open) and not worth paging for.
    async fn find_open_issue(
        &self,
        repo: &Repo,
        label: &str,
        prefix: &str,
    ) -> Result<Option<OpenIssue>, AttemptError> {
        // Label names are plain words here (`orchestration`); encode the few characters that would
        // break the query anyway.
        let label = label
            .replace('%', "%25")
            .replace('&', "%26")
            .replace(' ', "%20");
        let query = format!("?state=open&labels={label}&sort=created&direction=desc&per_page=100");
        let req = self.http.get(self.url(repo, &query));
        let resp = self.call(repo, req, "listing issues").await?;
        let issues: Vec<IssueJson> = Self::json(resp, "listing issues").await?;
        Ok(issues
            .into_iter()
            .find(|i| i.pull_request.is_none() && i.title.starts_with(prefix))
            .map(|i| OpenIssue {
                number: i.number,
                title: i.title,
            }))
    }

    async fn create_issue(
        &self,
        repo: &Repo,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<OpenIssue, AttemptError> {
        let req = self.http.post(self.url(repo, "")).json(&serde_json::json!({
            "title": title, "body": body, "labels": labels,
        }));
        let resp = self.call(repo, req, "creating an issue").await?;
        let issue: IssueJson = Self::json(resp, "creating an issue").await?;
        Ok(OpenIssue {
            number: issue.number,
            title: issue.title,
        })
    }

    async fn comment(&self, repo: &Repo, number: u64, body: &str) -> Result<(), AttemptError> {
        let req = self
            .http
            .post(self.url(repo, &format!("/{number}/comments")))
            .json(&serde_json::json!({ "body": body }));
        self.call(repo, req, &format!("commenting on issue #{number}"))
            .await
            .map(|_| ())
    }

    async fn close(&self, repo: &Repo, number: u64) -> Result<(), AttemptError> {
        let req = self
            .http
            .patch(self.url(repo, &format!("/{number}")))
            .json(&serde_json::json!({ "state": "closed", "state_reason": "completed" }));
        self.call(repo, req, &format!("closing issue #{number}"))
            .await
            .map(|_| ())
    }
}
