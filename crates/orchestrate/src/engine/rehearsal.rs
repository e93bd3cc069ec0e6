//! Rehearsal files: an emulator scenario (repositories, workflows, run behaviours, health
//! endpoints) plus what a rehearsal needs around it: the release to run by default, faults to
//! inject, tokens, and versions already deployed (the registry's starting state).
//!
//! ```yaml
//! release: { environment: staging, versions: { backend: 1.3.0, web: 2.1.0 } }
//! deployed: { backend: 1.2.0, web: 2.0.0 }    # seeded as successful deployments
//! speed: 60                                    # emulated seconds per real second
//! faults: { script: [ … ] }                    # orchestrate_emulator::FaultConfig
//! repos: [ … ]                                 # orchestrate_emulator::Scenario
//! health: [ … ]
//! ```
//!
//! The scenarios of `examples/scenarios/` are built into the binary, so `--scenario happy`
//! works from any directory; any other value is read as a file path.

use std::collections::BTreeMap;

use orchestrate_emulator::{
    Behaviour, EmulatorConfig, FaultConfig, RepoSpec, Scenario, TokenSpec, WorkflowSpec,
};
use serde::Deserialize;

/// Default speed of a rehearsal: a minute of GitHub time per real second.
pub const DEFAULT_SPEED: f64 = 60.0;
/// The workflow whose run plays the orchestrating run (the job `orchestrate action` runs in).
pub const ORCHESTRATING_WORKFLOW: &str = "orchestrate.yml";

/// The scenarios shipped in `examples/scenarios/`, by name.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "happy",
        include_str!("../../../../examples/scenarios/happy.yml"),
    ),
    (
        "backend-unhealthy",
        include_str!("../../../../examples/scenarios/backend-unhealthy.yml"),
    ),
    (
        "android-upload-fails",
        include_str!("../../../../examples/scenarios/android-upload-fails.yml"),
    ),
    (
        "canary-fails",
        include_str!("../../../../examples/scenarios/canary-fails.yml"),
    ),
    (
        "canary-degrades",
        include_str!("../../../../examples/scenarios/canary-degrades.yml"),
    ),
    (
        "flaky-api",
        include_str!("../../../../examples/scenarios/flaky-api.yml"),
    ),
    (
        "duplicate-run",
        include_str!("../../../../examples/scenarios/duplicate-run.yml"),
    ),
    (
        "fifty-runs",
        include_str!("../../../../examples/scenarios/fifty-runs.yml"),
    ),
    (
        "approval",
        include_str!("../../../../examples/scenarios/approval.yml"),
    ),
    (
        "approval-rejected",
        include_str!("../../../../examples/scenarios/approval-rejected.yml"),
    ),
];

/// The release a rehearsal runs unless the command line says otherwise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseDefaults {
    pub environment: Option<String>,
    /// A mapping, as the `versions` input takes it.
    pub versions: Option<serde_json::Value>,
    pub strategy: Option<String>,
    /// `timeout` input, e.g. `45m`.
    pub timeout: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rehearsal {
    pub name: String,
    pub scenario: Scenario,
    pub faults: FaultConfig,
    pub tokens: Vec<TokenSpec>,
    pub release: ReleaseDefaults,
    /// Service → version deployed before the release.
    pub deployed: BTreeMap<String, String>,
    /// `owner/name` the release set is recorded in (default: the first service's repository).
    pub orchestrator: Option<String>,
    /// A verified release recorded before this one, with its manifest (what a rollback
    /// restores).
    pub previous_release: Option<PreviousReleaseSpec>,
    pub speed: f64,
}

/// `previous_release: { versions: { backend: 1.2.0, … } }`: a release set recorded as verified
/// in the orchestrating repository, its manifest uploaded to an earlier orchestrating run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousReleaseSpec {
    pub versions: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RehearsalError {
    #[error(
        "scenario `{name}` is neither a file nor a built-in scenario ({})",
        names()
    )]
    Unknown { name: String },
    #[error("scenario `{name}`: {message}")]
    Invalid { name: String, message: String },
}

fn names() -> String {
    BUILT_IN
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extras {
    #[serde(default)]
    release: ReleaseDefaults,
    #[serde(default)]
    faults: FaultConfig,
    #[serde(default)]
    tokens: Vec<TokenSpec>,
    #[serde(default)]
    deployed: BTreeMap<String, String>,
    #[serde(default)]
    orchestrator: Option<String>,
    #[serde(default)]
    previous_release: Option<PreviousReleaseSpec>,
}

const EXTRA_KEYS: &[&str] = &[
    "release",
    "faults",
    "tokens",
    "deployed",
    "orchestrator",
    "previous_release",
];

impl Rehearsal {
    /// The emulator this rehearsal runs against: its scenario, faults and tokens, at its speed.
    pub fn emulator_config(&self) -> EmulatorConfig {
        EmulatorConfig {
            faults: self.faults.clone(),
            tokens: self.tokens.clone(),
            time_factor: Some(self.speed),
            ..EmulatorConfig::new(self.scenario.clone())
        }
    }

    /// [`Rehearsal::emulator_config`] plus the orchestrating repository `orchestrator` with an
    /// [`ORCHESTRATING_WORKFLOW`] whose runs stay in progress for a day: the workflow run a
    /// rehearsal's release runs in (its runtime token uploads the manifest).
    pub fn emulator_config_for(&self, orchestrator: &str) -> EmulatorConfig {
        let mut config = self.emulator_config();
        let workflow = WorkflowSpec::new(ORCHESTRATING_WORKFLOW).behaviour(Behaviour::timed(
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(24 * 60 * 60),
            "success",
        ));
        let repos = &mut config.scenario.repos;
        match repos
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(orchestrator))
        {
            Some(repo)
                if repo
                    .workflows
                    .iter()
                    .any(|w| w.file == ORCHESTRATING_WORKFLOW) => {}
            Some(repo) => repo.workflows.push(workflow),
            None => repos.push(RepoSpec::new(orchestrator).workflow(workflow)),
        }
        config
    }

    /// `spec` is a path to a file, or the name of a built-in scenario.
    pub fn load(spec: &str) -> Result<Rehearsal, RehearsalError> {
        let path = std::path::Path::new(spec);
        if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| RehearsalError::Invalid {
                name: spec.to_owned(),
                message: e.to_string(),
            })?;
            return Rehearsal::parse(spec, &text);
        }
        match BUILT_IN.iter().find(|(n, _)| *n == spec) {
            Some((name, text)) => Rehearsal::parse(name, text),
            None => Err(RehearsalError::Unknown {
                name: spec.to_owned(),
            }),
        }
    }

    pub fn parse(name: &str, text: &str) -> Result<Rehearsal, RehearsalError> {
        let invalid = |message: String| RehearsalError::Invalid {
            name: name.to_owned(),
            message,
        };
        let value: serde_json::Value =
            serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let serde_json::Value::Object(mut all) = value else {
            return Err(invalid("expected a mapping at the top".into()));
        };
        let mut extras = serde_json::Map::new();
        for key in EXTRA_KEYS {
            if let Some(v) = all.remove(*key) {
                extras.insert((*key).to_owned(), v);
            }
        }
        let extras: Extras = serde_json::from_value(serde_json::Value::Object(extras))
            .map_err(|e| invalid(e.to_string()))?;
        let scenario: Scenario = serde_json::from_value(serde_json::Value::Object(all))
            .map_err(|e| invalid(e.to_string()))?;
        scenario.validate().map_err(|e| invalid(e.to_string()))?;
        Ok(Rehearsal {
            name: name.to_owned(),
            speed: scenario.speed.unwrap_or(DEFAULT_SPEED),
            scenario,
            faults: extras.faults,
            tokens: extras.tokens,
            release: extras.release,
            deployed: extras.deployed,
            orchestrator: extras.orchestrator,
            previous_release: extras.previous_release,
        })
    }

    /// The default `versions` as the input's text (JSON).
    pub fn versions_text(&self) -> Option<String> {
        self.release.versions.as_ref().map(ToString::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_loads() {
        for (name, _) in BUILT_IN {
            let r = Rehearsal::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!r.scenario.repos.is_empty(), "{name} has repositories");
            assert!(r.versions_text().is_some(), "{name} names versions");
        }
    }

    #[test]
    fn extras_are_split_from_the_scenario_and_typos_are_refused() {
        let r = Rehearsal::parse(
            "t",
            "speed: 10\nrelease: {environment: staging, versions: {a: 1.0.0}}\ndeployed: {a: 0.9.0}\nrepos: [{name: o/r}]\n",
        )
        .expect("valid");
        assert_eq!(r.speed, 10.0);
        assert_eq!(r.deployed["a"], "0.9.0");
        assert_eq!(r.versions_text().as_deref(), Some(r#"{"a":"1.0.0"}"#));
        let err = Rehearsal::parse("t", "repoz: []\n").expect_err("typo");
        assert!(err.to_string().contains("repoz"), "{err}");
        assert!(matches!(
            Rehearsal::load("nope"),
            Err(RehearsalError::Unknown { .. })
        ));
    }
}
