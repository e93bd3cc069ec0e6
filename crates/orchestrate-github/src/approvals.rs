//! Environment gates of a run (a deploy job that references an environment with required
//! reviewers or a wait timer): what a waiting run waits for and who may review it
//! (`GET …/pending_deployments`), approving or rejecting it (`POST …/pending_deployments`),
//! and who reviewed it (`GET …/approvals`). The models follow
//! `crates/orchestrate-emulator/tests/openapi/approvals.deref.json`, cut from GitHub's
//! description.
//!
//! GitHub facts relied on: a run whose job waits for an environment has status `waiting`; the
//! first review of a required reviewer decides; a rejected job fails the run (conclusion
//! `failure`); the review history has no timestamps (the wait is timed by the caller); GitHub
//! Apps may not review (`enabledForGitHubApps: false`), so an installation token is refused.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::client::{Client, Method, Request};
use crate::error::Result;
use crate::types::Repo;

/// Who may review an environment: a user (`login`) or a team (`org/slug`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub team: bool,
    pub name: String,
}

impl std::fmt::Display for Reviewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// One environment a waiting run waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingGate {
    pub environment_id: u64,
    pub environment: String,
    /// The environment's wait timer (GitHub configures whole minutes).
    pub wait_timer: Duration,
    pub wait_timer_started_at: Option<DateTime<Utc>>,
    /// Whether the token's user may review it.
    pub can_approve: bool,
    pub reviewers: Vec<Reviewer>,
}

/// A review to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateReview {
    pub environment_ids: Vec<u64>,
    pub approve: bool,
    pub comment: String,
}

/// One entry of a run's review history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// `approved`, `rejected` (or `pending`, a comment without a verdict).
    pub state: String,
    /// The reviewer's login.
    pub user: String,
    pub comment: String,
    pub environments: Vec<String>,
}

impl Review {
    pub fn approved(&self) -> bool {
        self.state == "approved"
    }

    pub fn rejected(&self) -> bool {
        self.state == "rejected"
    }
}

#[derive(Debug, Deserialize)]
struct PendingModel {
    environment: EnvironmentModel,
    #[serde(default)]
    wait_timer: u64,
    #[serde(default)]
    wait_timer_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    current_user_can_approve: bool,
    #[serde(default)]
    reviewers: Vec<ReviewerModel>,
}

#[derive(Debug, Deserialize)]
struct EnvironmentModel {
    #[serde(default)]
    id: u64,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct ReviewerModel {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    reviewer: Option<ReviewerBody>,
}

/// A `simple-user` (login) or a `team` (slug, and an `html_url` naming its organisation).
#[derive(Debug, Deserialize)]
struct ReviewerBody {
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReviewModel {
    #[serde(default)]
    state: String,
    user: UserModel,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    environments: Vec<EnvironmentModel>,
}

#[derive(Debug, Deserialize)]
struct UserModel {
    login: String,
}

impl ReviewerModel {
    fn into_reviewer(self) -> Option<Reviewer> {
        let body = self.reviewer?;
        if self.kind == "Team" {
            let slug = body.slug?;
            // `https://github.com/orgs/<org>/teams/<slug>`.
            let org = body
                .html_url
                .as_deref()
                .and_then(|u| u.split("/orgs/").nth(1))
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned);
            let name = org.map_or_else(|| slug.clone(), |org| format!("{org}/{slug}"));
            return Some(Reviewer { team: true, name });
        }
        Some(Reviewer {
            team: false,
            name: body.login?,
        })
    }
}

impl From<PendingModel> for PendingGate {
    fn from(p: PendingModel) -> Self {
        PendingGate {
            environment_id: p.environment.id,
            environment: p.environment.name,
            wait_timer: Duration::from_secs(p.wait_timer * 60),
            wait_timer_started_at: p.wait_timer_started_at,
            can_approve: p.current_user_can_approve,
            reviewers: p
                .reviewers
                .into_iter()
                .filter_map(ReviewerModel::into_reviewer)
                .collect(),
        }
    }
}

fn run_path(repo: &Repo, run_id: u64, rest: &str) -> String {
    format!(
        "/repos/{}/{}/actions/runs/{run_id}/{rest}",
        repo.owner, repo.name
    )
}

impl Client {
    pub(crate) async fn pending_gates(&self, repo: &Repo, run_id: u64) -> Result<Vec<PendingGate>> {
        let path = run_path(repo, run_id, "pending_deployments");
        let pending: Vec<PendingModel> = self.json(Request::get(repo, path)).await?;
        Ok(pending.into_iter().map(PendingGate::from).collect())
    }

    pub(crate) async fn submit_review(
        &self,
        repo: &Repo,
        run_id: u64,
        review: &GateReview,
    ) -> Result<()> {
        let body = serde_json::json!({
            "environment_ids": review.environment_ids,
            "state": if review.approve { "approved" } else { "rejected" },
            "comment": review.comment,
        });
        // Not re-sent: a review that landed is final, and a second one is refused anyway.
        let request = Request::write(
            Method::Post,
            repo,
            run_path(repo, run_id, "pending_deployments"),
            Some(body),
        )
        .permission("deployments: read, as a required reviewer of the environment");
        self.send(request).await.map(|_| ())
    }

    pub(crate) async fn reviews(&self, repo: &Repo, run_id: u64) -> Result<Vec<Review>> {
        let path = run_path(repo, run_id, "approvals");
        let reviews: Vec<ReviewModel> = self.json(Request::get(repo, path)).await?;
        Ok(reviews
            .into_iter()
            .map(|r| Review {
                state: r.state,
                user: r.user.login,
                comment: r.comment,
                environments: r.environments.into_iter().map(|e| e.name).collect(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_users_and_teams_and_the_timer_in_minutes() {
        let body = r#"[{
            "environment": {"id": 161088068, "name": "production"},
            "wait_timer": 30, "wait_timer_started_at": "2020-11-23T22:00:40Z",
            "current_user_can_approve": true,
            "reviewers": [
                {"type": "User", "reviewer": {"login": "octocat", "id": 1}},
                {"type": "Team", "reviewer": {"slug": "justice-league",
                 "html_url": "https://github.com/orgs/github/teams/justice-league"}},
                {"type": "Team", "reviewer": {"slug": "loners"}}
            ]}]"#;
        let pending: Vec<PendingModel> = serde_json::from_str(body).expect("parses");
        let gate = PendingGate::from(pending.into_iter().next().expect("one"));
        assert_eq!(gate.environment, "production");
        assert_eq!(gate.wait_timer, Duration::from_secs(1800));
        assert!(gate.can_approve);
        let names: Vec<String> = gate.reviewers.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["octocat", "github/justice-league", "loners"]);
        assert!(gate.reviewers[1].team && !gate.reviewers[0].team);
    }
}
