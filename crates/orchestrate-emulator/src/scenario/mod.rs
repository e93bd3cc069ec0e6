//! The scenario: which repositories exist, their refs and workflows, and how each workflow's
//! runs behave (durations, conclusion, jobs, artifacts), loaded from YAML or built in Rust.
//!
//! Top-level YAML keys (all optional):
//!
//! ```yaml
//! speed: 60            # emulated seconds per real second (the config may override it)
//! legacy_ghes: true    # behave like GHES 3.20 and older: `return_run_details` answers 400
//! repos: [...]         # see RepoSpec / WorkflowSpec / Behaviour
//! health: [...]        # see HealthSpec
//! ```
//!
//! Layout: this file (the scenario and its repositories), `workflow` (workflows, inputs, how
//! their runs behave), `environment` (a workflow's protected environment and its scripted
//! review), `health` (the scripted health endpoints), `history` (a repository's recorded
//! deployments, for `orchestrate stats`), `run_history` (a workflow's earlier runs, for
//! predicting a run's end).
//!
//! `legacy_ghes` is the same switch as `EmulatorConfig::legacy_ghes`; either one turns the mode
//! on, so `orchestrate emulator --scenario file.yml` can rehearse an old GHES from the file alone.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

mod environment;
mod health;
mod history;
mod run_history;
mod workflow;

pub use environment::{EnvironmentSpec, ReviewScript, ReviewState};
pub use health::{HealthFailure, HealthSpec};
pub use history::{DEPLOYMENT_STATES, RecordedDeployment, RecordedStatus};
pub use run_history::{
    HISTORY_CONCLUSIONS, HistorySpread, NEWEST_ENDS_BEFORE_START, PastRun, RunHistory,
};
pub use workflow::{
    ArtifactSpec, Behaviour, BehaviourPatch, InputSpec, JobSpec, WhenRule, WorkflowSpec,
};

/// Errors loading a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The YAML did not parse into a scenario.
    #[error("invalid scenario yaml: {0}")]
    Yaml(String),
    /// The scenario parsed but is inconsistent.
    #[error("invalid scenario: {0}")]
    Invalid(String),
}

/// Everything the emulated GitHub knows about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Emulated-time speed (e.g. 60 = one minute per second); the config may override it.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Repositories, by `owner/name`.
    #[serde(default)]
    pub repos: Vec<RepoSpec>,
    /// Health endpoints served under `/_health/<service>`.
    #[serde(default)]
    pub health: Vec<HealthSpec>,
    /// Behave like GHES 3.20 and older: a dispatch carrying `return_run_details` answers 400.
    #[serde(default)]
    pub legacy_ghes: bool,
}

/// One repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoSpec {
    /// `owner/name`.
    pub name: String,
    /// Default branch (always exists).
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// Other branches.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Refs that are behind the default branch: creating a deployment for them with
    /// `auto_merge` left true answers 202 "Auto-merged …".
    #[serde(default)]
    pub behind_default: Vec<String>,
    /// Commit-status contexts that are failing: a deployment that leaves `required_contexts`
    /// unset (or names one of them) answers 409.
    #[serde(default)]
    pub failing_contexts: Vec<String>,
    /// Whether the repository is private (only affects the JSON).
    #[serde(default)]
    pub private: bool,
    /// Workflows in `.github/workflows/`.
    #[serde(default)]
    pub workflows: Vec<WorkflowSpec>,
    /// Deployments recorded before the emulator started, oldest first (see `history`).
    #[serde(default)]
    pub deployments: Vec<RecordedDeployment>,
}

impl Scenario {
    /// Parses a scenario from YAML and checks it.
    pub fn from_yaml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Self =
            serde_saphyr::from_str(text).map_err(|e| ScenarioError::Yaml(e.to_string()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks repository names and workflow uniqueness.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        for repo in &self.repos {
            if repo.name.split('/').filter(|p| !p.is_empty()).count() != 2 {
                return Err(ScenarioError::Invalid(format!(
                    "repository `{}` must be `owner/name`",
                    repo.name
                )));
            }
            let mut files: Vec<&str> = repo.workflows.iter().map(|w| w.file.as_str()).collect();
            files.sort_unstable();
            if let Some(pair) = files.windows(2).find(|p| p[0] == p[1]) {
                return Err(ScenarioError::Invalid(format!(
                    "workflow `{}` appears twice in `{}`",
                    pair[0], repo.name
                )));
            }
            if let Some(w) = repo.workflows.iter().find(|w| w.inputs.len() > 25) {
                return Err(ScenarioError::Invalid(format!(
                    "workflow `{}` declares more than 25 inputs",
                    w.file
                )));
            }
            for d in &repo.deployments {
                d.validate(&repo.name).map_err(ScenarioError::Invalid)?;
            }
            if repo.deployments.windows(2).any(|w| w[1].ago > w[0].ago) {
                return Err(ScenarioError::Invalid(format!(
                    "the deployments of `{}` must be listed oldest first (`ago` decreasing)",
                    repo.name
                )));
            }
            for w in &repo.workflows {
                if let Some(env) = &w.environment {
                    env.validate(&w.file).map_err(ScenarioError::Invalid)?;
                }
                if let Some(history) = &w.history {
                    history
                        .validate(&repo.name, &w.file)
                        .map_err(ScenarioError::Invalid)?;
                    if !w.workflow_dispatch {
                        return Err(ScenarioError::Invalid(format!(
                            "the history of workflow `{}` in `{}` holds `workflow_dispatch` \
                             runs, but the workflow does not declare `workflow_dispatch`",
                            w.file, repo.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts a scenario in Rust.
    pub fn builder() -> Self {
        Self::default()
    }

    /// Adds a repository.
    #[must_use]
    pub fn repo(mut self, repo: RepoSpec) -> Self {
        self.repos.push(repo);
        self
    }

    /// Adds a health endpoint.
    #[must_use]
    pub fn health(mut self, health: HealthSpec) -> Self {
        self.health.push(health);
        self
    }
}

impl RepoSpec {
    /// A repository with only its default branch `main`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            default_branch: default_branch(),
            branches: Vec::new(),
            tags: Vec::new(),
            behind_default: Vec::new(),
            failing_contexts: Vec::new(),
            private: false,
            workflows: Vec::new(),
            deployments: Vec::new(),
        }
    }

    /// Adds a branch.
    #[must_use]
    pub fn branch(mut self, name: &str) -> Self {
        self.branches.push(name.to_owned());
        self
    }

    /// Adds a workflow.
    #[must_use]
    pub fn workflow(mut self, workflow: WorkflowSpec) -> Self {
        self.workflows.push(workflow);
        self
    }
}

fn default_branch() -> String {
    "main".to_owned()
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(serde::de::Error::custom)
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const YAML: &str = r#"
speed: 60
repos:
  - name: pratiko/backend
    branches: [release]
    behind_default: [release]
    workflows:
      - file: deploy.yml
        name: Deploy
        run_name: "Deploy ${{ inputs.version }} [${{ inputs.orchestrate_id }}]"
        inputs:
          version: { required: true }
          orchestrate_id: {}
        behaviour:
          queued: 5s
          in_progress: 2m
          artifacts:
            - name: manifest
              files: { manifest.json: { version: "${{ inputs.version }}" } }
        when:
          - inputs: { version: "2.0.0" }
            conclusion: failure
        attempts:
          2: { conclusion: success }
health:
  - service: backend
    repo: pratiko/backend
    workflow: deploy.yml
    failure: never_reports_new_version
"#;

    #[test]
    fn yaml_scenario_resolves_behaviour_per_input_and_attempt() {
        let scenario = Scenario::from_yaml(YAML).expect("valid scenario");
        let workflow = &scenario.repos[0].workflows[0];
        assert_eq!(workflow.behaviour.in_progress, Duration::from_secs(120));
        let bad = BTreeMap::from([("version".to_owned(), "2.0.0".to_owned())]);
        assert_eq!(workflow.behaviour_for(&bad, 1).conclusion, "failure");
        assert_eq!(workflow.behaviour_for(&bad, 2).conclusion, "success");
        assert_eq!(
            workflow.behaviour_for(&BTreeMap::new(), 1).conclusion,
            "success"
        );
        assert_eq!(
            scenario.health[0].failure,
            HealthFailure::NeverReportsNewVersion
        );
    }

    #[test]
    fn a_health_endpoint_can_degrade_after_a_while() {
        let text = "repos: []\nhealth: [{service: web, repo: o/r, workflow: w.yml, failure: {unhealthy_after: 2m}}]\n";
        let scenario = Scenario::from_yaml(text).expect("valid scenario");
        assert_eq!(
            scenario.health[0].failure,
            HealthFailure::UnhealthyAfter(Duration::from_secs(120))
        );
    }

    #[test]
    fn legacy_ghes_is_off_unless_the_file_turns_it_on() {
        assert!(!Scenario::from_yaml(YAML).expect("valid").legacy_ghes);
        let old = Scenario::from_yaml("legacy_ghes: true\nrepos: []").expect("valid");
        assert!(old.legacy_ghes);
    }

    #[test]
    fn rejects_bad_repo_names_and_unknown_fields() {
        let err = Scenario::from_yaml("repos: [{name: nope}]").expect_err("bad name");
        assert!(err.to_string().contains("owner/name"), "{err}");
        assert!(Scenario::from_yaml("repoz: []").is_err());
    }
}
