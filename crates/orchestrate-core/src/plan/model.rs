//! The validated release plan: what the rest of orchestrate works from. Every value here has
//! passed validation, so consumers never re-check it.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::notify::rule::{ChannelsConfig, Rule};

/// How much of the graph runs at once. `needs` edges hold under every strategy.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Sequential,
    Parallel,
    Canary,
}

/// A repository in `owner/name` form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A validated release plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file the plan was read from, as given (for messages).
    pub file: String,
    pub name: String,
    pub strategy: Strategy,
    pub max_parallel: usize,
    pub canary: Option<Canary>,
    /// Environments by name.
    pub environments: BTreeMap<String, Environment>,
    /// Services in file order. Names are unique.
    pub services: Vec<Service>,
    pub notifications: Vec<Rule>,
    pub channels: ChannelsConfig,
    /// Where the manifest and the artifacts services hand on are stored.
    pub artifacts: super::StoreConfig,
}

impl Plan {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

impl Service {
    /// Every artifact downloaded after its run succeeds: `artifacts`, then `share` (each once).
    pub fn downloads(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.artifacts.iter().map(String::as_str).collect();
        for s in &self.share {
            if !all.contains(&s.as_str()) {
                all.push(s);
            }
        }
        all
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Canary {
    pub services: Vec<String>,
    pub bake: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub name: String,
    pub vars: BTreeMap<String, String>,
    pub health_timeout: Duration,
    pub lock: bool,
    /// How long a run may wait for its environment gate (approval, wait timer) here, unless
    /// the service says otherwise; `None` is the default, [`DEFAULT_APPROVAL_TIMEOUT`].
    pub approval_timeout: Option<Duration>,
}

/// How long a run may wait for an approval when neither the service nor the environment
/// says: a day, so a release started in the evening can be approved the next morning.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// How a service's deploy run is triggered.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// `workflow_dispatch` of `workflow` (file name or numeric id) at `ref`.
    WorkflowDispatch { workflow: String, git_ref: String },
    /// `repository_dispatch` with `event_type`; the run is the one `workflow` starts.
    RepositoryDispatch {
        event_type: String,
        workflow: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub repo: Repo,
    pub trigger: Trigger,
    /// Workflow inputs (or `client_payload` for repository_dispatch), as templates.
    pub inputs: BTreeMap<String, super::Template>,
    pub needs: Vec<String>,
    /// Version ranges this service needs of other services.
    pub requires: BTreeMap<String, semver::VersionReq>,
    /// A store release: can be halted, never rolled back.
    pub irreversible: bool,
    pub health: Option<Health>,
    pub rollback: Option<Rollback>,
    /// Artifact names downloaded after the run succeeds.
    pub artifacts: Vec<String>,
    /// Artifact names handed on to the services that need this one: downloaded like
    /// `artifacts`, referenced (`id`, `run_id`, `repository`, `digest`), recorded in the
    /// manifest and, with an `s3`/`local` store, copied there.
    pub share: Vec<String>,
    /// Always send the `orchestrate_id` correlation input (the target declares it).
    pub correlate: bool,
    /// Per-service limit for its run, if set; else the release timeout applies.
    pub timeout: Option<Duration>,
    /// Approve the run's environment gates through the API when the token may.
    pub auto_approve: bool,
    /// How long its run may wait for an approval; overrides the environment's.
    pub approval_timeout: Option<Duration>,
}

impl Service {
    /// The workflow whose run deploys it (dispatched, or started by the repository event).
    pub fn workflow(&self) -> &str {
        match &self.trigger {
            Trigger::WorkflowDispatch { workflow, .. }
            | Trigger::RepositoryDispatch { workflow, .. } => workflow,
        }
    }

    /// How long its run may wait for an approval in `environment`: its own
    /// `approval_timeout`, else the environment's, else [`DEFAULT_APPROVAL_TIMEOUT`].
    pub fn approval_timeout_in(&self, environment: Option<&Environment>) -> Duration {
        self.approval_timeout
            .or_else(|| environment.and_then(|e| e.approval_timeout))
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub url: super::Template,
    pub expect_status: u16,
    /// Expected JSON fields (dotted paths) and their values, as templates.
    pub expect_json: BTreeMap<String, super::Template>,
    pub interval: Duration,
    /// Overrides the environment's `health_timeout`.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rollback {
    /// The rollback workflow; `None` re-runs the deploy workflow with `previous_version`.
    pub workflow: Option<String>,
    pub inputs: BTreeMap<String, super::Template>,
}
