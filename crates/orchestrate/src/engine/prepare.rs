//! Before anything is dispatched: read the registry for every service of the plan, check every
//! `requires` range over the order the strategy deploys in (a violation stops the release, an
//! unknown version is a warning), then record the release set, taking the environment's lock
//! when it has `lock: true` (waiting, within bounds, while another release holds it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use orchestrate_core::dag::compat;
use orchestrate_core::report::{CompatStatus, CompatVerdict, TimelineEntry};
use orchestrate_github::{DeploymentId, ReleaseMember, ReleaseSet};
use semver::Version;

use super::observe::Observer;
use super::registry::{self, Deployed};
use super::{Engine, Release, StartError, lease};
use crate::preview::waves::waves;

/// A lease outlives the release's own limit by this much (a slow final status, clock skew).
const LEASE_MARGIN: Duration = Duration::from_secs(10 * 60);
/// Without a `timeout`, a release holds its lease at most as long as a GitHub-hosted job runs.
const DEFAULT_LEASE: Duration = Duration::from_secs(6 * 60 * 60);
/// Without a `timeout`, a release waits this long for a locked environment.
const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(30 * 60);
/// The first look at a held lease comes this soon; each next one waits twice as long, up to
/// [`LOCK_POLL_MAX`]. A look costs one request per recent release set.
const LOCK_POLL_FIRST: Duration = Duration::from_secs(5);
const LOCK_POLL_MAX: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Prepared {
    pub deployed: BTreeMap<String, Deployed>,
    pub compatibility: Vec<CompatVerdict>,
    /// The release-set deployment: its id is the release's `deployment_id`.
    pub record: DeploymentId,
    pub started_at: SystemTime,
    /// What happened before the driver started (waiting for the lock), for the timeline.
    pub notes: Vec<TimelineEntry>,
    /// The manifest of the last verified release set in the environment: what a rollback
    /// restores (looked up only when the release may roll back).
    pub previous: Option<super::manifest::PreviousManifest>,
}

pub async fn prepare(
    engine: &Engine,
    release: &Release,
    observer: &mut dyn Observer,
) -> Result<Prepared, StartError> {
    let settings = &release.settings;
    let started_at = engine.pace.system_now();
    engine
        .store
        .preflight()
        .await
        .map_err(|e| StartError::Store {
            message: e.to_string(),
            hint: e.hint(),
        })?;
    let deployed = registry::lookup(&engine.github, &settings.plan, &settings.environment)
        .await
        .map_err(|e| StartError::from_github(&e))?;
    let members: BTreeSet<String> = settings.release.iter().map(|(s, _)| s.to_owned()).collect();
    let versions: BTreeMap<String, String> = deployed
        .iter()
        .filter_map(|(s, d)| Some((s.clone(), d.current.clone()?)))
        .collect();
    let unresolvable =
        super::vars::unresolvable(&settings.plan, &settings.environment, &members, &versions);
    if !unresolvable.is_empty() {
        return Err(StartError::Unresolvable(unresolvable));
    }
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
    let lock = settings
        .plan
        .environments
        .get(&settings.environment)
        .is_some_and(|e| e.lock);
    let previous = if settings.rollback_on_failure {
        super::manifest::previous(
            &engine.github,
            &engine.store,
            &release.orchestrator,
            &settings.plan.name,
            &settings.environment,
        )
        .await
    } else {
        None
    };
    let mut notes = Vec::new();
    let record = take_lock(engine, release, lock, observer, &mut notes).await?;
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
        notes,
        previous,
    })
}

/// How much longer than its `timeout` a release may hold its lease because of approval waits
/// (which pause that `timeout`): the longest `approval_timeout` the plan sets for a service of
/// the release in its environment. The 24-hour default is not counted: a killed job would
/// then hold the lock for a day.
fn approval_allowance(settings: &crate::settings::Settings) -> Duration {
    let environment = settings.plan.environments.get(&settings.environment);
    settings
        .release
        .iter()
        .filter_map(|(name, _)| settings.plan.service(name))
        .filter_map(|s| {
            s.approval_timeout
                .or_else(|| environment.and_then(|e| e.approval_timeout))
        })
        .max()
        .unwrap_or_default()
}

/// The release set as recorded at `now`: with `lock`, leased for the release's time limit
/// (and its approval waits).
fn release_set(release: &Release, lock: bool, now: DateTime<Utc>, id: &str) -> ReleaseSet {
    let settings = &release.settings;
    let lease_for =
        settings.timeout.unwrap_or(DEFAULT_LEASE) + LEASE_MARGIN + approval_allowance(settings);
    ReleaseSet {
        release_id: id.to_owned(),
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
        run_url: release.run_url.clone(),
    }
}

/// Records the release set. With `lock`, a lease held by another release is waited for, up
/// to the release's `timeout` ([`DEFAULT_LOCK_WAIT`] without one), looking again after 5s,
/// 10s, 20s, … up to a minute; the wait does not count against the release's own `timeout`.
async fn take_lock(
    engine: &Engine,
    release: &Release,
    lock: bool,
    observer: &mut dyn Observer,
    notes: &mut Vec<TimelineEntry>,
) -> Result<DeploymentId, StartError> {
    let budget = release.settings.timeout.unwrap_or(DEFAULT_LOCK_WAIT);
    let release_id = uuid::Uuid::new_v4().to_string();
    let start = engine.pace.now();
    let mut interval = LOCK_POLL_FIRST;
    let mut announced = None;
    loop {
        let now = engine.pace.github_now();
        let set = release_set(release, lock, now, &release_id);
        let held = match lease::record(&engine.github, &release.orchestrator, &set, now).await {
            Ok(id) => return Ok(id),
            Err(lease::LeaseError::GitHub(e)) => return Err(StartError::from_github(&e)),
            Err(held) => held,
        };
        let waited = engine.pace.now().saturating_sub(start);
        if waited >= budget {
            return Err(StartError::Locked(format!(
                "{held}; waited {} for it. Try again when it has finished, or mark that release-set deployment `inactive` if its job was killed",
                humantime::format_duration(Duration::from_secs(waited.as_secs()))
            )));
        }
        let holder = match &held {
            lease::LeaseError::Held { deployment, .. } => Some(*deployment),
            lease::LeaseError::GitHub(_) => None,
        };
        if announced != holder {
            announced = holder;
            let text = format!("waiting: {held}");
            observer.release(engine.pace.now(), &text);
            notes.push(TimelineEntry {
                at: engine.pace.system_now(),
                service: None,
                what: text,
            });
        }
        engine.pace.sleep(interval.min(budget - waited)).await;
        interval = (interval * 2).min(LOCK_POLL_MAX);
    }
}

/// Every `requires` range over each state of the release; violations are an error naming each.
fn check_compatibility(
    release: &Release,
    deployed: &BTreeMap<String, Deployed>,
) -> Result<Vec<CompatVerdict>, StartError> {
    let settings = &release.settings;
    let members: BTreeSet<String> = settings.release.iter().map(|(s, _)| s.to_owned()).collect();
    let steps = waves(&settings.plan, &members, settings.strategy)
        .map_err(|e| StartError::GitHub(format!("internal: {e}")))?;
    let deployed: BTreeMap<String, Version> = deployed
        .iter()
        .filter_map(|(s, d)| {
            let v = d.current.as_deref()?;
            Some((s.clone(), Version::parse(v.trim_start_matches('v')).ok()?))
        })
        .collect();
    let findings = crate::preview::check_compatibility(settings, &steps, &deployed);
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
