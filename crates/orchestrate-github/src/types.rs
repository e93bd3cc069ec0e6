//! The types the GitHub layer takes and returns: orchestrate's own vocabulary, independent of
//! the wire models in `models.rs` and of any client library.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
pub use orchestrate_core::plan::Repo;

/// A `workflow_dispatch` to send.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchRequest {
    pub repo: Repo,
    /// Workflow file name (`deploy.yml`) or numeric id.
    pub workflow: String,
    /// Branch or tag.
    pub git_ref: String,
    /// Rendered inputs (at most 25).
    pub inputs: BTreeMap<String, String>,
    /// The target workflow declares the `orchestrate_id` input: always send it. This makes a
    /// dispatch that timed out or failed with 5xx checkable before anything is re-sent.
    pub correlate: bool,
}

/// A `repository_dispatch` to send. Its run is found by correlation: `client_payload` always
/// carries `orchestrate_id` (a payload key cannot be refused the way an input can).
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryDispatchRequest {
    pub repo: Repo,
    pub event_type: String,
    /// The workflow file whose run is awaited (runs of other workflows are ignored).
    pub workflow: String,
    /// At most 10 top-level keys, including `orchestrate_id`.
    pub client_payload: BTreeMap<String, serde_json::Value>,
}

/// How to find the run of a dispatch that returned no run id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Correlation {
    pub repo: Repo,
    pub workflow: String,
    /// Branch filter for `workflow_dispatch`; `None` for `repository_dispatch`.
    pub git_ref: Option<String>,
    /// `workflow_dispatch` or `repository_dispatch`.
    pub event: String,
    pub id: String,
    /// Runs created before this (dispatch time minus the allowed clock skew) are not it.
    pub since: DateTime<Utc>,
}

/// A run reference as returned by the dispatch endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub id: u64,
    pub html_url: String,
}

/// What a dispatch produced: the run itself, or how to find it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    pub repo: Repo,
    pub dispatched_at: DateTime<Utc>,
    /// Known when the host returned run details or the run was found after an ambiguous answer.
    pub run: Option<RunRef>,
    /// Set whenever a correlation id was sent.
    pub correlation: Option<Correlation>,
}

/// One workflow run, as much as orchestrate needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub id: u64,
    pub html_url: String,
    /// Open set: `queued`, `in_progress`, `completed`, `waiting`, `requested`, `pending`, ….
    pub status: String,
    /// Open set: `success`, `failure`, `cancelled`, `timed_out`, `startup_failure`, ….
    pub conclusion: Option<String>,
    pub display_title: String,
    pub event: String,
    pub head_branch: Option<String>,
    /// `.github/workflows/deploy.yml` (GitHub may append `@ref`).
    pub path: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub run_started_at: Option<DateTime<Utc>>,
    pub run_attempt: Option<u32>,
}

impl RunSummary {
    /// Terminal test per GitHub: `status == "completed"`; unknown statuses are not terminal.
    /// What a dispatch's run details say of the run it created: queued, at `at`.
    pub fn dispatched(run: &RunRef, at: DateTime<Utc>) -> RunSummary {
        RunSummary {
            id: run.id,
            html_url: run.html_url.clone(),
            status: "queued".to_owned(),
            conclusion: None,
            display_title: String::new(),
            event: "workflow_dispatch".to_owned(),
            head_branch: None,
            path: String::new(),
            created_at: at,
            updated_at: at,
            run_started_at: None,
            run_attempt: Some(1),
        }
    }

    /// Past its wait (for a runner, a gate or a concurrency group): running or done.
    pub fn has_started(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "queued" | "requested" | "waiting" | "pending"
        )
    }

    pub fn is_completed(&self) -> bool {
        self.status == "completed"
    }

    pub fn succeeded(&self) -> bool {
        self.is_completed() && self.conclusion.as_deref() == Some("success")
    }

    /// Whether the run belongs to `workflow` (a file name such as `deploy.yml`).
    pub fn is_of_workflow(&self, workflow: &str) -> bool {
        if workflow.chars().all(|c| c.is_ascii_digit()) {
            return true; // numeric ids are not visible in `path`; the list was already filtered
        }
        let path = self.path.split('@').next().unwrap_or(&self.path);
        path.rsplit('/').next() == Some(workflow) || path == workflow
    }
}

/// One poll of a repository: everything awaited there, in one list request (plus pages).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollQuery {
    /// Oldest creation time of the awaited runs (skew already subtracted), whole seconds so the
    /// URL, and so its ETag, stays the same from tick to tick.
    pub created_since: Option<DateTime<Utc>>,
    /// `event` filter when every awaited run has the same event.
    pub event: Option<String>,
    /// Runs awaited by id.
    pub run_ids: Vec<u64>,
    /// Correlation ids of dispatches whose run is not known yet.
    pub correlations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollResult {
    /// The awaited runs that were seen, by id.
    pub runs: BTreeMap<u64, RunSummary>,
    /// Runs carrying each correlation id (more than one is an error for the caller).
    pub correlated: BTreeMap<String, Vec<RunSummary>>,
    /// Every request of this poll was answered 304 (nothing changed, nothing spent).
    pub not_modified: bool,
    /// Requests made for this poll.
    pub requests: u32,
}

/// Why a run did not succeed: the failed job and step, with links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub run_id: u64,
    pub run_url: String,
    pub conclusion: Option<String>,
    pub job: Option<String>,
    pub job_url: Option<String>,
    pub step: Option<String>,
    pub step_number: Option<u32>,
    /// Link to the step in the job log, when both are known.
    pub step_url: Option<String>,
}

impl RunFailure {
    /// One line for people: "job `build`, step `upload` failed (failure)".
    pub fn message(&self) -> String {
        let conclusion = self.conclusion.as_deref().unwrap_or("did not succeed");
        match (&self.job, &self.step) {
            (Some(job), Some(step)) => format!("job `{job}`, step `{step}`: {conclusion}"),
            (Some(job), None) => format!("job `{job}`: {conclusion}"),
            _ => format!("run {}: {conclusion}", self.run_id),
        }
    }

    pub fn to_report(&self) -> orchestrate_core::report::FailureDetail {
        orchestrate_core::report::FailureDetail {
            job: self.job.clone(),
            step: self.step.clone(),
            job_url: self.step_url.clone().or_else(|| self.job_url.clone()),
            message: self.message(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// 202: cancellation requested.
    Requested,
    /// 409: the run had already completed.
    AlreadyCompleted,
}

/// An artifact of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactInfo {
    pub id: u64,
    pub name: String,
    pub size_in_bytes: u64,
    /// `sha256:<hex>` (upload-artifact v4 and newer).
    pub digest: Option<String>,
    pub expired: bool,
    /// The run that uploaded it (`workflow_run.id`), when GitHub says.
    pub run_id: Option<u64>,
}

/// Bounds for downloading and unpacking one artifact (zip bombs, huge uploads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactLimits {
    /// Compressed bytes downloaded.
    pub max_download: u64,
    /// Uncompressed bytes in total.
    pub max_total: u64,
    /// Uncompressed bytes per file.
    pub max_file: u64,
    pub max_entries: usize,
    /// JSON files bigger than this are not read for fields.
    pub max_json: u64,
}

impl Default for ArtifactLimits {
    fn default() -> Self {
        ArtifactLimits {
            max_download: 256 << 20,
            max_total: 1 << 30,
            max_file: 512 << 20,
            max_entries: 10_000,
            max_json: 1 << 20,
        }
    }
}

/// An artifact unpacked on disk, with the fields of its JSON files.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedArtifact {
    pub name: String,
    pub dir: PathBuf,
    /// Paths relative to `dir`.
    pub files: Vec<PathBuf>,
    /// Whether a published digest was checked (and matched).
    pub digest_verified: bool,
    /// Flattened JSON fields (`image`, `build.sha`, …) for `artifacts.<svc>.<name>.<field>`.
    pub fields: BTreeMap<String, String>,
    /// Duplicate keys across JSON files, unreadable JSON files.
    pub warnings: Vec<String>,
}

pub type DeploymentId = u64;

/// A deployment to record in a service's repository.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeployment {
    pub environment: String,
    pub git_ref: String,
    /// `deploy` for services, `deploy:release-set` for the orchestrator's record.
    pub task: String,
    /// `{version, deployment_id, run_id, verified, …}`.
    pub payload: serde_json::Value,
    pub description: Option<String>,
    pub production_environment: Option<bool>,
}

/// GitHub's deployment status states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentState {
    Queued,
    InProgress,
    Success,
    Failure,
    Error,
    Inactive,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Queued => "queued",
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Error => "error",
            DeploymentState::Inactive => "inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentStatusUpdate {
    pub state: DeploymentState,
    pub log_url: Option<String>,
    pub environment_url: Option<String>,
    /// Truncated to GitHub's 140 characters.
    pub description: Option<String>,
}

/// A deployment whose newest status is `success`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployedVersion {
    pub deployment_id: DeploymentId,
    /// `payload.version`, when the deployment was recorded by orchestrate (or compatibly).
    pub version: Option<String>,
    pub payload: serde_json::Value,
    pub git_ref: String,
    pub sha: String,
    pub created_at: DateTime<Utc>,
}

/// What the registry says about one repository in one environment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeployedHistory {
    /// Newest deployment (by id) whose newest status is `success`.
    pub current: Option<DeployedVersion>,
    /// The next-newest such deployment: the previous good version, for rollbacks.
    pub previous: Option<DeployedVersion>,
}

/// One service deployment of the registry with all its statuses (for `orchestrate stats`).
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentHistoryEntry {
    pub id: DeploymentId,
    pub created_at: DateTime<Utc>,
    pub payload: serde_json::Value,
    pub statuses: Vec<StatusEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub id: u64,
    pub state: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

/// One member of a release set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseMember {
    pub service: String,
    pub repo: String,
    pub version: String,
    pub deployment_id: Option<DeploymentId>,
    pub run_id: Option<u64>,
}

/// The orchestrator's record of one release: every member, in its own repository.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseSet {
    /// orchestrate's release id (`deployment_id` output).
    pub release_id: String,
    pub environment: String,
    #[serde(skip)]
    pub git_ref: String,
    pub members: Vec<ReleaseMember>,
    /// With `lock: true`: the environment is leased to this release until then (a release
    /// killed mid-way does not lock the environment forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The orchestrating workflow run, so a release waiting for the lock can link to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

/// A release set read back from the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSetRecord {
    pub deployment_id: DeploymentId,
    pub created_at: DateTime<Utc>,
    /// Newest status state (`success`, `failure`, …), if any.
    pub state: Option<String>,
    pub set: Option<ReleaseSet>,
}

/// An issue, as much as the issue notification channel needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    pub number: u64,
    pub title: String,
}

/// An issue to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIssue {
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
}
