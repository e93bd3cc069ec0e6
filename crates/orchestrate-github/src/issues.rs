//! GitHub issues for the issue notification channel: the open issue of an environment, opening
//! one, commenting on it and closing it.
//!
//! These go through [`Client::send`] like every other request, so they share its auth (GitHub
//! App installation tokens included), rate-limit pacing, request accounting, user agent and
//! remedies. Only the list and the close are re-sent after a 5xx or a lost answer: a POST that
//! may have been acted on is not, and the channel looks for the issue again before it opens one
//! on a later attempt (see the binary's `notify/issue.rs`).

use crate::client::{Client, Method, Request};
use crate::dispatch::enc;
use crate::error::Result;
use crate::models::Issue;
use crate::types::{IssueRef, NewIssue, Repo};

/// What a refusal's remedy names: the channel needs to write issues.
const PERMISSION: &str = "issues: write";

impl Client {
    /// The most recently created open issue (not pull request) labelled `label` whose title
    /// starts with `title_prefix`. Looks at one page of 100: one issue per environment stays
    /// open, so an older match is unlikely and not worth paging for.
    pub async fn find_open_issue(
        &self,
        repo: &Repo,
        label: &str,
        title_prefix: &str,
    ) -> Result<Option<IssueRef>> {
        let path = format!(
            "/repos/{}/{}/issues?state=open&labels={}&sort=created&direction=desc&per_page=100",
            repo.owner,
            repo.name,
            enc(label)
        );
        let issues: Vec<Issue> = self
            .json(Request::get(repo, path).permission(PERMISSION))
            .await?;
        Ok(issues
            .into_iter()
            .find(|i| i.pull_request.is_none() && i.title.starts_with(title_prefix))
            .map(IssueRef::from))
    }

    /// Opens an issue. Not re-sent after a 5xx or a lost answer: the issue may exist already.
    pub async fn create_issue(&self, repo: &Repo, issue: &NewIssue) -> Result<IssueRef> {
        let path = format!("/repos/{}/{}/issues", repo.owner, repo.name);
        let body = serde_json::json!({
            "title": issue.title,
            "body": issue.body,
            "labels": issue.labels,
        });
        let created: Issue = self
            .json(Request::write(Method::Post, repo, path, Some(body)).permission(PERMISSION))
            .await?;
        Ok(created.into())
    }

    /// Comments on issue `number`. Not re-sent either: a duplicate comment is noise.
    pub async fn comment_on_issue(&self, repo: &Repo, number: u64, body: &str) -> Result<()> {
        let path = format!(
            "/repos/{}/{}/issues/{number}/comments",
            repo.owner, repo.name
        );
        let body = serde_json::json!({ "body": body });
        self.send(Request::write(Method::Post, repo, path, Some(body)).permission(PERMISSION))
            .await
            .map(|_| ())
    }

    /// Closes issue `number` as completed. Closing twice is harmless, so this may be re-sent.
    pub async fn close_issue(&self, repo: &Repo, number: u64) -> Result<()> {
        let path = format!("/repos/{}/{}/issues/{number}", repo.owner, repo.name);
        let body = serde_json::json!({ "state": "closed", "state_reason": "completed" });
        let request = Request::write(Method::Patch, repo, path, Some(body))
            .permission(PERMISSION)
            .idempotent();
        self.send(request).await.map(|_| ())
    }
}

impl From<Issue> for IssueRef {
    fn from(issue: Issue) -> Self {
        IssueRef {
            number: issue.number,
            title: issue.title,
        }
    }
}
