//! A scenario's health endpoints (`/_health/<service>`): the version each reports, and
//! scripted failures.

use std::time::Duration;

use serde::Deserialize;

use super::de_duration;

/// A health endpoint reporting the last successfully deployed version of a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    /// Served at `/_health/<service>`.
    pub service: String,
    /// Repository whose deploy workflow's successful runs define the deployed version.
    pub repo: String,
    /// The deploy workflow's file name.
    pub workflow: String,
    /// The input carrying the version.
    #[serde(default = "default_version_input")]
    pub version_input: String,
    /// Version reported before any deploy.
    #[serde(default = "default_initial_version")]
    pub initial_version: String,
    /// Scripted failure.
    #[serde(default)]
    pub failure: HealthFailure,
    /// Versions that answer 503 once deployed.
    #[serde(default)]
    pub unhealthy_versions: Vec<String>,
}

/// Scripted health failures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthFailure {
    /// Reports the deployed version.
    #[default]
    None,
    /// Keeps reporting the initial version whatever is deployed.
    NeverReportsNewVersion,
    /// Always answers 503.
    Down,
    /// Reports the deployed version, then answers 503 once a version deployed by a run has
    /// been serving this long (`failure: { unhealthy_after: 2m }`): a canary that degrades.
    UnhealthyAfter(#[serde(deserialize_with = "de_duration")] Duration),
}

fn default_version_input() -> String {
    "version".to_owned()
}
fn default_initial_version() -> String {
    "0.0.0".to_owned()
}
