//! Serde models of the GitHub responses we read, checked against
//! `shared/github-openapi-subset.json`: only the fields we use, status and conclusion as open
//! strings, every field the spec marks nullable (or that older hosts omit) as `Option`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::types::{ArtifactInfo, RunSummary};

/// `workflow-dispatch-response` (200 when `return_run_details` is honoured).
#[derive(Debug, Deserialize)]
pub struct DispatchResponse {
    pub workflow_run_id: u64,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `workflow-run`.
#[derive(Debug, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    pub html_url: String,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    /// Required in the spec; older GHES may lack it.
    #[serde(default)]
    pub display_title: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub event: String,
    pub head_branch: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub run_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub run_attempt: Option<u32>,
}

impl From<WorkflowRun> for RunSummary {
    fn from(r: WorkflowRun) -> Self {
        RunSummary {
            id: r.id,
            html_url: r.html_url,
            // A null status is not terminal: keep polling.
            status: r.status.unwrap_or_else(|| "unknown".to_owned()),
            conclusion: r.conclusion,
            display_title: r.display_title.or(r.name).unwrap_or_default(),
            event: r.event,
            head_branch: r.head_branch,
            path: r.path.unwrap_or_default(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            run_started_at: r.run_started_at,
            run_attempt: r.run_attempt,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RunList {
    #[serde(default)]
    pub workflow_runs: Vec<WorkflowRun>,
}

/// `job`.
#[derive(Debug, Deserialize)]
pub struct Job {
    pub name: String,
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub struct Step {
    pub name: String,
    pub conclusion: Option<String>,
    pub number: u32,
}

#[derive(Debug, Deserialize)]
pub struct JobList {
    #[serde(default)]
    pub jobs: Vec<Job>,
}

/// `artifact`.
#[derive(Debug, Deserialize)]
pub struct Artifact {
    pub id: u64,
    pub name: String,
    pub size_in_bytes: u64,
    #[serde(default)]
    pub expired: bool,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(default)]
    pub workflow_run: Option<ArtifactRun>,
}

/// `artifact.workflow_run` (nullable).
#[derive(Debug, Deserialize)]
pub struct ArtifactRun {
    pub id: Option<u64>,
}

impl From<Artifact> for ArtifactInfo {
    fn from(a: Artifact) -> Self {
        ArtifactInfo {
            id: a.id,
            name: a.name,
            size_in_bytes: a.size_in_bytes,
            digest: a.digest,
            expired: a.expired,
            run_id: a.workflow_run.and_then(|r| r.id),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ArtifactList {
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

/// `deployment`.
#[derive(Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    #[serde(default)]
    pub sha: String,
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// The environment it was recorded in; a list without an `environment=` filter is grouped
    /// by it.
    #[serde(default)]
    pub environment: String,
    /// An object, or a JSON string, or `""`.
    #[serde(default)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl Deployment {
    /// The payload as an object, whether GitHub returned it as an object or a JSON string.
    pub fn payload_object(&self) -> serde_json::Value {
        match &self.payload {
            serde_json::Value::String(s) => {
                serde_json::from_str(s).unwrap_or(serde_json::Value::Null)
            }
            other => other.clone(),
        }
    }
}

/// `deployment-status`.
#[derive(Debug, Deserialize)]
pub struct DeploymentStatus {
    pub id: u64,
    pub state: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// The 202 answer of create-deployment.
#[derive(Debug, Deserialize)]
pub struct MessageBody {
    #[serde(default)]
    pub message: Option<String>,
}

/// `issue` (also what `GET /repos/{owner}/{repo}/issues` lists: pull requests included, told
/// apart by `pull_request`).
#[derive(Debug, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

/// `POST /app/installations/{id}/access_tokens`.
#[derive(Deserialize)]
pub struct InstallationToken {
    pub token: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for InstallationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallationToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
pub struct Installation {
    pub id: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_with_nulls_and_unknown_values_parses() {
        let body = r#"{"id": 7, "html_url": "https://github.com/a/b/actions/runs/7",
            "status": null, "conclusion": null, "name": null, "display_title": "deploy [orch-1]",
            "event": "workflow_dispatch", "head_branch": null,
            "path": ".github/workflows/deploy.yml@main",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z",
            "extra": {"ignored": true}}"#;
        let run: RunSummary = serde_json::from_str::<WorkflowRun>(body)
            .expect("parses")
            .into();
        assert_eq!(run.status, "unknown");
        assert!(!run.is_completed());
        assert!(run.is_of_workflow("deploy.yml"));
        assert!(!run.is_of_workflow("other.yml"));
        let done = r#"{"id": 8, "html_url": "u", "status": "completed", "conclusion": "startup_failure",
            "display_title": "x", "event": "push", "head_branch": "main",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z"}"#;
        let run: RunSummary = serde_json::from_str::<WorkflowRun>(done)
            .expect("parses")
            .into();
        assert!(run.is_completed());
        assert!(!run.succeeded());
    }

    #[test]
    fn deployment_payload_may_be_a_json_string() {
        let body = r#"{"id": 1, "sha": "abc", "ref": "main", "payload": "{\"version\":\"1.2.3\"}",
            "created_at": "2026-01-01T00:00:00Z"}"#;
        let d: Deployment = serde_json::from_str(body).expect("parses");
        assert_eq!(d.payload_object()["version"], "1.2.3");
    }
}
