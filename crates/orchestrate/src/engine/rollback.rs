//! Rolling a service back (SPEC §6): to its version in the last verified release set's manifest
//! (else the version the registry had before the release), with
//! its `rollback` workflow or its deploy workflow; refused when there is no previous version or
//! when it would break the `requires` of an irreversible service that stays deployed.

use std::time::Duration;

use orchestrate_core::dag::Event;
use orchestrate_core::report::{RollbackOutcome, RollbackReport, VersionSource};

use super::driver::{Driver, outcome_word};
use super::tasks;
use super::vars::rollback_inputs;

/// A rollback that names no limit gets this long (emulated time).
const DEFAULT_ROLLBACK_LIMIT: Duration = Duration::from_secs(30 * 60);

impl Driver<'_> {
    pub(super) fn rollback(&mut self, name: &str, now: Duration) {
        let settings = &self.release.settings;
        let (previous, source) = self.rollback_target(name);
        let has_previous = previous.is_some();
        let Some(svc) = self.svcs.get(name) else {
            return;
        };
        let refuse = |outcome: RollbackOutcome, reason: String| (outcome, reason);
        let decision = match &previous {
            None => Err(refuse(
                RollbackOutcome::NoPrevious,
                "no previous version in the registry".into(),
            )),
            Some(prev) => self
                .rollback_allowed(name, prev)
                .map_err(|r| refuse(RollbackOutcome::Refused, r)),
        };
        let prepared = decision.and_then(|()| {
            let prev = previous.clone().unwrap_or_default();
            rollback_inputs(&svc.spec, &self.vars, &prev)
                .map_err(|e| refuse(RollbackOutcome::Failed, e))
        });
        match prepared {
            Err((outcome, reason)) => {
                self.note(
                    Some(name),
                    format!("rollback {}: {reason}", outcome_word(&outcome)),
                );
                self.rollbacks.push(RollbackReport {
                    service: name.to_owned(),
                    to_version: previous,
                    run: None,
                    outcome: outcome.clone(),
                    reason: Some(reason),
                    source: has_previous.then_some(source),
                });
                self.queue.push_back(Event::RollbackFinished {
                    service: name.to_owned(),
                    outcome,
                    now,
                });
            }
            Ok((workflow, inputs)) => {
                self.announce_rollback();
                let Some(svc) = self.svcs.get(name) else {
                    return;
                };
                let limit = svc
                    .spec
                    .timeout
                    .or(settings.timeout)
                    .unwrap_or(DEFAULT_ROLLBACK_LIMIT);
                let limit = self.engine.pace.to_real(limit);
                tokio::spawn(tasks::rollback(
                    self.ctx.clone(),
                    svc.spec.clone(),
                    workflow,
                    inputs,
                    limit,
                    self.engine.pace.to_real(super::cancel::CANCEL_SETTLE),
                ));
                let to = previous.unwrap_or_default();
                let from = match &source {
                    VersionSource::Manifest { deployment_id } => {
                        format!("the manifest of release {deployment_id}")
                    }
                    VersionSource::Registry => "the registry".to_owned(),
                };
                self.note(Some(name), format!("rolling back: to {to} (from {from})"));
            }
        }
    }

    /// The version a rollback of `name` restores and where it comes from: the last verified
    /// release set's manifest when there is one that names the service, else the registry's
    /// version from before this release.
    pub(super) fn rollback_target(&self, name: &str) -> (Option<String>, VersionSource) {
        if let Some(previous) = &self.prepared.previous
            && let Some(version) = previous.manifest.verified_version(name)
        {
            return (
                Some(version.to_owned()),
                VersionSource::Manifest {
                    deployment_id: previous.deployment_id.clone(),
                },
            );
        }
        let registry = self
            .prepared
            .deployed
            .get(name)
            .and_then(|d| d.current.clone());
        (registry, VersionSource::Registry)
    }

    /// Rolling `name` back to `previous` must not break an irreversible service that stays:
    /// one deployed by this release, or one outside it that is deployed.
    fn rollback_allowed(&self, name: &str, previous: &str) -> Result<(), String> {
        let Ok(version) = semver::Version::parse(previous.trim_start_matches('v')) else {
            return Ok(());
        };
        let plan = &self.release.settings.plan;
        let irreversible = plan
            .services
            .iter()
            .filter(|s| s.irreversible && !s.requires.is_empty())
            .filter(|s| match self.scheduler.status(&s.name) {
                Some(status) => status.deployed,
                None => self
                    .prepared
                    .deployed
                    .get(&s.name)
                    .is_some_and(|d| d.current.is_some()),
            })
            .map(|s| (s.name.clone(), s.requires.clone()))
            .collect();
        orchestrate_core::dag::compat::rollback_allowed(name, &version, &irreversible)
            .map_err(|e| e.to_string())
    }
}
