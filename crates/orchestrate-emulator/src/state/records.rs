//! Stored deployments, deployment statuses, issues and comments; the scenario's recorded
//! deployment history is seeded here.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Ids, RepoState};

/// Who wrote the recorded history.
const HISTORY_CREATOR: &str = "orchestrate-bot";

/// Stores the repository's recorded deployments (`RepoSpec::deployments`) as of `now`, the
/// emulator's start: each created `ago` before it, its statuses `after` that.
pub fn seed(repo: &mut RepoState, ids: &mut Ids, now: DateTime<Utc>) {
    let recorded = repo.spec.deployments.clone();
    for d in recorded {
        let created_at = now - chrono::Duration::from_std(d.ago).unwrap_or_default();
        let git_ref = d
            .git_ref
            .clone()
            .unwrap_or_else(|| repo.spec.default_branch.clone());
        let sha = repo
            .resolve_ref(&git_ref)
            .unwrap_or_else(|| super::fake_sha(&format!("{}@{git_ref}", repo.spec.name)));
        let id = ids.deployment();
        let statuses: Vec<DeploymentStatus> = d
            .statuses
            .iter()
            .map(|s| DeploymentStatus {
                id: ids.status(),
                state: s.state.clone(),
                creator: HISTORY_CREATOR.to_owned(),
                description: s.description.clone(),
                environment: d.environment.clone(),
                target_url: String::new(),
                log_url: String::new(),
                environment_url: String::new(),
                created_at: created_at + chrono::Duration::from_std(s.after).unwrap_or_default(),
            })
            .collect();
        repo.deployments.push(Deployment {
            id,
            sha,
            git_ref,
            task: d.task.clone(),
            environment: d.environment.clone(),
            original_environment: d.environment.clone(),
            payload: if d.payload.is_null() {
                Value::Object(serde_json::Map::new())
            } else {
                d.payload.clone()
            },
            description: d.description.clone(),
            transient: false,
            production: d.environment == "production",
            creator: HISTORY_CREATOR.to_owned(),
            created_at,
            updated_at: statuses.last().map_or(created_at, |s| s.created_at),
            statuses,
        });
    }
}

/// A deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// Id.
    pub id: u64,
    /// Resolved commit.
    pub sha: String,
    /// The ref as given.
    pub git_ref: String,
    /// Task, default `deploy`.
    pub task: String,
    /// Environment (may be changed by a status).
    pub environment: String,
    /// Environment given at creation.
    pub original_environment: String,
    /// Payload (object or string).
    pub payload: Value,
    /// Description.
    pub description: Option<String>,
    /// `transient_environment`.
    pub transient: bool,
    /// `production_environment`.
    pub production: bool,
    /// Login of the creator.
    pub creator: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Statuses, oldest first.
    pub statuses: Vec<DeploymentStatus>,
}

impl Deployment {
    /// The newest status's state, if any.
    pub fn latest_state(&self) -> Option<&str> {
        self.statuses.last().map(|s| s.state.as_str())
    }

    /// Whether GitHub would call it active (its newest status is not a terminal non-success).
    pub fn is_active(&self) -> bool {
        matches!(
            self.latest_state(),
            Some("success" | "in_progress" | "queued" | "pending")
        )
    }
}

/// A deployment status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    /// Id.
    pub id: u64,
    /// State.
    pub state: String,
    /// Login of the creator.
    pub creator: String,
    /// Description (empty when not given).
    pub description: String,
    /// Environment at this status.
    pub environment: String,
    /// `target_url` (set from `log_url` when only that is given).
    pub target_url: String,
    /// `log_url`.
    pub log_url: String,
    /// `environment_url`.
    pub environment_url: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// An issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Id.
    pub id: u64,
    /// Number in its repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
    /// Label names.
    pub labels: Vec<String>,
    /// Assignee logins.
    pub assignees: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    /// `completed`, `not_planned`, … when closed.
    pub state_reason: Option<String>,
    /// Author login.
    pub user: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
}

/// An issue comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Id.
    pub id: u64,
    /// Body.
    pub body: String,
    /// Author login.
    pub user: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}
