//! Before anything is dispatched: read the registry for every service of the plan, check every
//! `requires` range over the order the strategy deploys in (a violation stops the release, an
//! unknown version is a warning), then record the release set, taking the environment's lock
//! when it has `lock: true`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use orchestrate_core::dag::compat::{self, CompatInput};
use orchestrate_core::report::{CompatStatus, CompatVerdict};
use orchestrate_github::{DeploymentId, ReleaseMember, ReleaseSet};
use semver::{Version, VersionReq};

use super::observe::Observer;
use super::registry::{self, Deployed};
use super::{Engine, Release, StartError, lease};
use crate::preview::waves::{Step, waves};

/// A lease outlives the release's own limit by this much (a slow final status, clock skew).
const LEASE_MARGIN: Duration = Duration::from_secs(10 * 60);
/// Without a `timeout`, a release holds its lease at most as long as a GitHub-hosted job runs.
const DEFAULT_LEASE: Duration = Duration::from_secs(6 * 60 * 60);

#[derive(Debug)]
pub struct Prepared {
    pub deployed: BTreeMap<String, Deployed>,
    pub compatibility: Vec<CompatVerdict>,
    /// The release-set deployment: its id is the release's `deployment_id`.
    pub record: DeploymentId,
    pub started_at: SystemTime,
}

pub async fn prepare(
    engine: &Engine,
    release: &Release,
    observer: &mut dyn Observer,
) -> Result<Prepared, StartError> {
    let settings = &release.settings;
    let started_at = engine.pace.system_now();
    let deployed = registry::lookup(&engine.github, &settings.plan, &settings.environment)
        .await
        .map_err(|e| StartError::from_github(&e))?;
    let compatibility = check_compatibility(release, &deployed)?;
    for v in compatibility
        .iter()
        .filter(|v| v.status == CompatStatus::Unknown)
    {
        observer.release(
            engine.pace.now(),
            &format!(
                "warning: {} requires {} {}, whose version is unknown (not in the release, nothing deployed)",
                v.service, v.requires, v.range
            ),
        );
    }
    let env = settings.plan.environments.get(&settings.environment);
    let lock = env.is_some_and(|e| e.lock);
    let now = engine.pace.github_now();
    let lease_for = settings.timeout.unwrap_or(DEFAULT_LEASE) + LEASE_MARGIN;
    let set = ReleaseSet {
        release_id: uuid::Uuid::new_v4().to_string(),
        environment: settings.environment.clone(),
        git_ref: release.orchestrator_ref.clone(),
        members: settings
            .release
            .iter()
            .map(|(name, version)| ReleaseMember {
                service: name.to_owned(),
                repo: settings
                    .plan
                    .service(name)
                    .map(|s| s.repo.to_string())
                    .unwrap_or_default(),
                version: version.to_string(),
                deployment_id: None,
                run_id: None,
            })
            .collect(),
        lease_expires_at: lock
            .then(|| now + chrono::Duration::from_std(lease_for).unwrap_or(chrono::TimeDelta::MAX)),
    };
    let record = lease::record(&engine.github, &release.orchestrator, &set, now)
        .await
        .map_err(|e| match e {
            lease::LeaseError::GitHub(e) => StartError::from_github(&e),
            held => StartError::Locked(held),
        })?;
    if lock {
        observer.release(
            engine.pace.now(),
            &format!(
                "environment `{}` locked for this release",
                settings.environment
            ),
        );
    }
    Ok(Prepared {
        deployed,
        compatibility,
        record,
        started_at,
    })
}

/// Every `requires` range over each state of the release; violations are an error naming each.
fn check_compatibility(
    release: &Release,
    deployed: &BTreeMap<String, Deployed>,
) -> Result<Vec<CompatVerdict>, StartError> {
    let settings = &release.settings;
    let plan = &settings.plan;
    let requires: BTreeMap<String, BTreeMap<String, VersionReq>> = plan
        .services
        .iter()
        .filter(|s| !s.requires.is_empty())
        .map(|s| (s.name.clone(), s.requires.clone()))
        .collect();
    let targets: BTreeMap<String, Version> = settings.release.versions().clone();
    let deployed: BTreeMap<String, Version> = deployed
        .iter()
        .filter_map(|(s, d)| {
            let v = d.current.as_deref()?;
            Some((s.clone(), Version::parse(v.trim_start_matches('v')).ok()?))
        })
        .collect();
    let members: BTreeSet<String> = targets.keys().cloned().collect();
    let order: Vec<Vec<String>> = waves(plan, &members, settings.strategy)
        .map_err(|e| StartError::GitHub(format!("internal: {e}")))?
        .into_iter()
        .filter_map(|s| match s {
            Step::Wave { services, .. } => Some(services),
            Step::Bake { .. } => None,
        })
        .collect();
    let findings = compat::check(&CompatInput {
        requires: &requires,
        targets: &targets,
        deployed: &deployed,
        waves: &order,
    });
    let violations: Vec<String> = findings
        .iter()
        .filter(|f| f.verdict.status == CompatStatus::Violated)
        .map(compat::CompatFinding::message)
        .collect();
    if !violations.is_empty() {
        return Err(StartError::Incompatible(violations));
    }
    Ok(compat::verdicts(&findings))
}
