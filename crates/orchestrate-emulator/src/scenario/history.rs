//! A repository's recorded deployment history: deployments and their statuses that exist
//! before the emulator starts, at times given relative to its start, so a test or a demo of
//! `orchestrate stats` has months of releases without running them.
//!
//! ```yaml
//! deployments:                 # under a repository, oldest first
//!   - environment: staging
//!     ago: 20d                 # created this long before the emulator started
//!     payload: { service: api, version: 1.0.0, deployment_id: "rel-1" }
//!     statuses:                # each `after` the deployment was created
//!       - { state: in_progress, after: 0s, description: deploying 1.0.0 }
//!       - { state: success, after: 100s, description: 1.0.0 verified healthy took 100s }
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::de_duration;

/// One deployment of the recorded history.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedDeployment {
    /// The environment it was created for.
    pub environment: String,
    /// How long before the emulator's start it was created.
    #[serde(deserialize_with = "de_duration")]
    pub ago: Duration,
    /// The task (default `deploy`).
    #[serde(default = "default_task")]
    pub task: String,
    /// The ref (default: the repository's default branch).
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    /// The payload (an object, as orchestrate writes it).
    #[serde(default)]
    pub payload: serde_json::Value,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// Its statuses, in the order they were written.
    #[serde(default)]
    pub statuses: Vec<RecordedStatus>,
}

/// One status of a recorded deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedStatus {
    /// `success`, `failure`, `error`, `inactive`, `in_progress`, `queued` or `pending`.
    pub state: String,
    /// How long after the deployment's creation it was written.
    #[serde(default, deserialize_with = "de_duration")]
    pub after: Duration,
    /// The description.
    #[serde(default)]
    pub description: String,
}

/// The states a deployment status may have.
pub const DEPLOYMENT_STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

impl RecordedDeployment {
    /// Checks states, ordering and the description limit GitHub enforces.
    pub fn validate(&self, repo: &str) -> Result<(), String> {
        let at = format!("a deployment of `{repo}` recorded {:?} ago", self.ago);
        if self.environment.is_empty() {
            return Err(format!("{at} has an empty environment"));
        }
        if !self.payload.is_null() && !self.payload.is_object() {
            return Err(format!("{at}: `payload` must be a mapping"));
        }
        for s in &self.statuses {
            if !DEPLOYMENT_STATES.contains(&s.state.as_str()) {
                return Err(format!(
                    "{at}: status state `{}` is not one of {}",
                    s.state,
                    DEPLOYMENT_STATES.join(", ")
                ));
            }
            if s.description.chars().count() > 140 {
                return Err(format!(
                    "{at}: a status description is longer than 140 characters"
                ));
            }
        }
        if self.statuses.windows(2).any(|w| w[1].after < w[0].after) {
            return Err(format!(
                "{at}: statuses must be in the order they were written"
            ));
        }
        Ok(())
    }
}

fn default_task() -> String {
    "deploy".to_owned()
}
