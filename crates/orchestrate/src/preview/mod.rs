//! The release preview behind `orchestrate plan` and the action's dry run: waves per strategy,
//! the release set, each service's inputs rendered as far as they can be before anything runs,
//! compatibility verdicts over each state of the release, irreversible services and locks. Pure: it
//! is built from [`Settings`] and rendered as text or JSON by the callers.

pub mod text;
pub mod waves;

use std::collections::{BTreeMap, BTreeSet};

use orchestrate_core::dag::compat::{self, CompatFinding, CompatInput};
use orchestrate_core::plan::{Placeholder, Service, Strategy, Template, Trigger, Vars};
use orchestrate_core::report::CompatVerdict;
use semver::{Version, VersionReq};
use serde::Serialize;

use crate::settings::Settings;
pub use waves::{Step, WavesError};

/// Everything `plan` shows, in the shape `--format json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub plan: String,
    pub file: String,
    pub environment: String,
    pub strategy: Strategy,
    pub max_parallel: usize,
    pub dry_run: bool,
    /// Service → target version, the services that will be deployed.
    pub release_set: BTreeMap<String, String>,
    /// Services of the plan not in the release set (their deployed version is used).
    pub not_in_release: Vec<String>,
    pub steps: Vec<Step>,
    pub services: Vec<ServicePreview>,
    pub compatibility: Vec<CompatVerdict>,
    /// Services that are halted on failure, never rolled back.
    pub irreversible: Vec<String>,
    /// Whether the environment is locked for the length of the release.
    pub lock: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServicePreview {
    pub name: String,
    pub repo: String,
    /// `workflow_dispatch` or `repository_dispatch`.
    pub trigger: &'static str,
    pub workflow: String,
    /// The git ref (workflow_dispatch) or event type (repository_dispatch).
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub version: String,
    pub needs: Vec<String>,
    pub irreversible: bool,
    /// Inputs as they would be sent; values known only later read `<after backend>` etc.
    pub inputs: BTreeMap<String, String>,
    pub health_url: Option<String>,
    pub rollback: Option<String>,
}

impl Preview {
    pub fn build(settings: &Settings) -> Result<Preview, WavesError> {
        let plan = &settings.plan;
        let release: BTreeSet<String> =
            settings.release.iter().map(|(s, _)| s.to_owned()).collect();
        let steps = waves::waves(plan, &release, settings.strategy)?;
        let compatibility =
            compat::verdicts(&check_compatibility(settings, &steps, &BTreeMap::new()));
        let environment = plan.environments.get(&settings.environment);
        let services: Vec<ServicePreview> = plan
            .services
            .iter()
            .filter(|s| release.contains(&s.name))
            .map(|s| service_preview(s, settings))
            .collect();
        Ok(Preview {
            plan: plan.name.clone(),
            file: settings.plan_file.clone(),
            environment: settings.environment.clone(),
            strategy: settings.strategy,
            max_parallel: plan.max_parallel,
            dry_run: settings.dry_run,
            release_set: settings
                .release
                .iter()
                .map(|(s, v)| (s.to_owned(), v.to_string()))
                .collect(),
            not_in_release: plan
                .services
                .iter()
                .filter(|s| !release.contains(&s.name))
                .map(|s| s.name.clone())
                .collect(),
            steps,
            irreversible: services
                .iter()
                .filter(|s| s.irreversible)
                .map(|s| s.name.clone())
                .collect(),
            services,
            compatibility,
            lock: environment.is_some_and(|e| e.lock),
        })
    }
}

fn service_preview(service: &Service, settings: &Settings) -> ServicePreview {
    let (trigger, workflow, git_ref) = match &service.trigger {
        Trigger::WorkflowDispatch { workflow, git_ref } => {
            ("workflow_dispatch", workflow.clone(), git_ref.clone())
        }
        Trigger::RepositoryDispatch {
            event_type,
            workflow,
        } => ("repository_dispatch", workflow.clone(), event_type.clone()),
    };
    let rollback = service.rollback.as_ref().map(|r| match &r.workflow {
        Some(w) => w.clone(),
        None => format!("{workflow} with previous_version"),
    });
    ServicePreview {
        name: service.name.clone(),
        repo: service.repo.to_string(),
        trigger,
        workflow,
        git_ref,
        version: settings
            .release
            .version(&service.name)
            .map(ToString::to_string)
            .unwrap_or_default(),
        needs: service.needs.clone(),
        irreversible: service.irreversible,
        inputs: service
            .inputs
            .iter()
            .map(|(k, t)| (k.clone(), render(t, &service.name, settings)))
            .collect(),
        health_url: service
            .health
            .as_ref()
            .map(|h| render(&h.url, &service.name, settings)),
        rollback,
    }
}

/// Renders a template with what is known before the release starts; the rest is shown as a
/// readable placeholder (`<after backend>` for a run id or artifact field of `backend`).
pub fn render(template: &Template, service: &str, settings: &Settings) -> String {
    let vars: Vars = template
        .placeholders()
        .map(|p| (p.name.clone(), plan_time_value(p, service, settings)))
        .collect();
    // Every placeholder has a value, so rendering cannot miss one; fall back to the source.
    template
        .render(&vars)
        .unwrap_or_else(|_| template.source().to_owned())
}

fn plan_time_value(p: &Placeholder, service: &str, settings: &Settings) -> String {
    let name = p.name.as_str();
    let parts: Vec<&str> = name.split('.').collect();
    let version_of = |svc: &str| {
        settings
            .release
            .version(svc)
            .map(ToString::to_string)
            .unwrap_or_else(|| format!("<deployed {svc}>"))
    };
    match parts.as_slice() {
        ["environment"] => settings.environment.clone(),
        ["version"] => version_of(service),
        ["previous_version"] => "<previous version>".to_owned(),
        ["deployment_id"] => "<deployment id>".to_owned(),
        ["versions", svc] => version_of(svc),
        ["vars", key] => settings
            .plan
            .environments
            .get(&settings.environment)
            .and_then(|e| e.vars.get(*key))
            .cloned()
            .unwrap_or_else(|| format!("<{name}>")),
        ["runs", svc, ..] | ["artifacts", svc, ..] => format!("<after {svc}>"),
        _ => format!("<{name}>"),
    }
}

/// `requires` over each state of the release (SPEC §6), against the target versions and
/// `deployed` (what the registry says; empty before it is read, so a range on a service outside
/// the release set reads `unknown` in the preview).
pub fn check_compatibility(
    settings: &Settings,
    steps: &[Step],
    deployed: &BTreeMap<String, Version>,
) -> Vec<CompatFinding> {
    let requires: BTreeMap<String, BTreeMap<String, VersionReq>> = settings
        .plan
        .services
        .iter()
        .filter(|s| !s.requires.is_empty())
        .map(|s| (s.name.clone(), s.requires.clone()))
        .collect();
    let waves: Vec<Vec<String>> = steps
        .iter()
        .filter_map(|step| match step {
            Step::Wave { services, .. } => Some(services.clone()),
            Step::Bake { .. } => None,
        })
        .collect();
    compat::check(&CompatInput {
        requires: &requires,
        targets: settings.release.versions(),
        deployed,
        waves: &waves,
    })
}

#[cfg(test)]
mod tests;
