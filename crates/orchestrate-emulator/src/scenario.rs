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
//! `legacy_ghes` is the same switch as `EmulatorConfig::legacy_ghes`; either one turns the mode
//! on, so `orchestrate emulator --scenario file.yml` can rehearse an old GHES from the file alone.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

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
}

/// One workflow file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// File name, e.g. `deploy.yml`.
    pub file: String,
    /// Display name (`name:` in the file); defaults to the file name.
    #[serde(default)]
    pub name: Option<String>,
    /// Fixed id; assigned when absent.
    #[serde(default)]
    pub id: Option<u64>,
    /// The `run-name:` template, e.g. `Deploy ${{ inputs.version }} [${{ inputs.orchestrate_id }}]`.
    #[serde(default)]
    pub run_name: Option<String>,
    /// Whether `on: workflow_dispatch` is declared.
    #[serde(default = "yes")]
    pub workflow_dispatch: bool,
    /// `on: repository_dispatch: types:` this workflow reacts to.
    #[serde(default)]
    pub repository_dispatch: Vec<String>,
    /// Declared `workflow_dispatch` inputs.
    #[serde(default)]
    pub inputs: BTreeMap<String, InputSpec>,
    /// How runs behave by default.
    #[serde(default)]
    pub behaviour: Behaviour,
    /// Behaviour changes keyed by input values (first match wins).
    #[serde(default)]
    pub when: Vec<WhenRule>,
    /// Behaviour changes for a given attempt number (applied after `when`).
    #[serde(default)]
    pub attempts: BTreeMap<u32, BehaviourPatch>,
}

/// A declared input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// `required: true`.
    #[serde(default)]
    pub required: bool,
    /// `default:`.
    #[serde(default)]
    pub default: Option<String>,
    /// `options:` of a `choice` input.
    #[serde(default)]
    pub options: Vec<String>,
}

/// How a run (attempt) behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Time spent `queued` before starting.
    #[serde(default = "default_queued", deserialize_with = "de_duration")]
    pub queued: Duration,
    /// Time spent `in_progress`.
    #[serde(default = "default_in_progress", deserialize_with = "de_duration")]
    pub in_progress: Duration,
    /// Final conclusion: success, failure, cancelled, timed_out, startup_failure, …
    #[serde(default = "default_conclusion")]
    pub conclusion: String,
    /// Jobs, run one after another during the in-progress time.
    #[serde(default = "default_jobs")]
    pub jobs: Vec<JobSpec>,
    /// Artifacts the run uploads when it completes (not when cancelled).
    #[serde(default)]
    pub artifacts: Vec<ArtifactSpec>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            queued: default_queued(),
            in_progress: default_in_progress(),
            conclusion: default_conclusion(),
            jobs: default_jobs(),
            artifacts: Vec::new(),
        }
    }
}

/// Partial behaviour, laid over a full one.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviourPatch {
    /// Overrides `queued`.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub queued: Option<Duration>,
    /// Overrides `in_progress`.
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub in_progress: Option<Duration>,
    /// Overrides `conclusion`.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Overrides `jobs`.
    #[serde(default)]
    pub jobs: Option<Vec<JobSpec>>,
    /// Overrides `artifacts`.
    #[serde(default)]
    pub artifacts: Option<Vec<ArtifactSpec>>,
}

impl Behaviour {
    /// This behaviour with `patch` applied.
    pub fn patched(&self, patch: &BehaviourPatch) -> Self {
        Self {
            queued: patch.queued.unwrap_or(self.queued),
            in_progress: patch.in_progress.unwrap_or(self.in_progress),
            conclusion: patch
                .conclusion
                .clone()
                .unwrap_or_else(|| self.conclusion.clone()),
            jobs: patch.jobs.clone().unwrap_or_else(|| self.jobs.clone()),
            artifacts: patch
                .artifacts
                .clone()
                .unwrap_or_else(|| self.artifacts.clone()),
        }
    }
}

/// A behaviour change applied when every listed input has the given value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenRule {
    /// Input name → value that must match.
    pub inputs: BTreeMap<String, String>,
    /// What changes.
    #[serde(flatten)]
    pub patch: BehaviourPatch,
}

/// One job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Job name.
    pub name: String,
    /// Step names (GitHub adds "Set up job" and "Complete job" around them).
    #[serde(default)]
    pub steps: Vec<String>,
    /// Whether this job is the one that fails when the run's conclusion is a failure
    /// (default: the last job).
    #[serde(default)]
    pub fails: bool,
    /// Which step fails (default: the last user step).
    #[serde(default)]
    pub failing_step: Option<String>,
}

/// An artifact uploaded by the run: JSON (or text) files zipped together.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactSpec {
    /// Artifact name.
    pub name: String,
    /// File name → contents; string leaves may use `${{ inputs.x }}`.
    #[serde(default)]
    pub files: BTreeMap<String, serde_json::Value>,
}

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

impl WorkflowSpec {
    /// A dispatchable workflow with no inputs and the default behaviour.
    pub fn new(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            name: None,
            id: None,
            run_name: None,
            workflow_dispatch: true,
            repository_dispatch: Vec::new(),
            inputs: BTreeMap::new(),
            behaviour: Behaviour::default(),
            when: Vec::new(),
            attempts: BTreeMap::new(),
        }
    }

    /// Sets the `run-name` template.
    #[must_use]
    pub fn run_name(mut self, template: &str) -> Self {
        self.run_name = Some(template.to_owned());
        self
    }

    /// Declares an input.
    #[must_use]
    pub fn input(mut self, name: &str, required: bool) -> Self {
        let spec = InputSpec {
            required,
            ..InputSpec::default()
        };
        self.inputs.insert(name.to_owned(), spec);
        self
    }

    /// Sets the default behaviour.
    #[must_use]
    pub fn behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Adds a behaviour change for runs whose input `name` equals `value`.
    #[must_use]
    pub fn when_input(mut self, name: &str, value: &str, patch: BehaviourPatch) -> Self {
        let inputs = BTreeMap::from([(name.to_owned(), value.to_owned())]);
        self.when.push(WhenRule { inputs, patch });
        self
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.file)
    }

    /// The behaviour of attempt `attempt` of a run with these inputs.
    pub fn behaviour_for(&self, inputs: &BTreeMap<String, String>, attempt: u32) -> Behaviour {
        let matched = self
            .when
            .iter()
            .find(|rule| rule.inputs.iter().all(|(k, v)| inputs.get(k) == Some(v)));
        let base = match matched {
            Some(rule) => self.behaviour.patched(&rule.patch),
            None => self.behaviour.clone(),
        };
        match self.attempts.get(&attempt) {
            Some(patch) => base.patched(patch),
            None => base,
        }
    }
}

impl Behaviour {
    /// A behaviour with the given durations and conclusion, default jobs.
    pub fn timed(queued: Duration, in_progress: Duration, conclusion: &str) -> Self {
        Self {
            queued,
            in_progress,
            conclusion: conclusion.to_owned(),
            ..Self::default()
        }
    }
}

fn default_branch() -> String {
    "main".to_owned()
}
fn yes() -> bool {
    true
}
fn default_queued() -> Duration {
    Duration::from_secs(2)
}
fn default_in_progress() -> Duration {
    Duration::from_secs(30)
}
fn default_conclusion() -> String {
    "success".to_owned()
}
fn default_jobs() -> Vec<JobSpec> {
    vec![JobSpec {
        name: "build".to_owned(),
        steps: vec!["Run actions/checkout@v4".to_owned(), "Run make".to_owned()],
        fails: false,
        failing_step: None,
    }]
}
fn default_version_input() -> String {
    "version".to_owned()
}
fn default_initial_version() -> String {
    "0.0.0".to_owned()
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
