//! A scenario's workflows: their inputs, `run-name`, and how each run behaves (durations,
//! conclusion, jobs and steps, artifacts, behaviour that depends on the inputs).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{de_duration, de_opt_duration};

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
    /// The protected environment its deploy job references: runs wait for it.
    #[serde(default)]
    pub environment: Option<super::EnvironmentSpec>,
    /// Earlier runs, all completed before the emulator starts (see `run_history`).
    #[serde(default)]
    pub history: Option<super::RunHistory>,
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
            environment: None,
            history: None,
        }
    }

    /// Gives it earlier runs, completed before the emulator starts.
    #[must_use]
    pub fn history(mut self, history: super::RunHistory) -> Self {
        self.history = Some(history);
        self
    }

    /// Makes its runs wait for `environment`'s protection rules.
    #[must_use]
    pub fn environment(mut self, environment: super::EnvironmentSpec) -> Self {
        self.environment = Some(environment);
        self
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
