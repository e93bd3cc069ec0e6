//! The release manifest (`orchestrate.manifest/v1`): one document per release (and dry run)
//! saying what was released: every service (from → to version, run, conclusion, health
//! verdict, the artifacts it handed on with their digests), the compatibility report, the
//! health reports, timings and request counts, the last verified release it started from, and
//! what a rollback restored. Built from the run report by [`Manifest::from_report`]; the
//! manifest of the last verified release set is what the next rollback restores.

use std::collections::BTreeMap;
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::kinds::{
    CompatibilityCheck, CompatibilityReport, HealthReport, HealthState, Kind, PerformanceMetrics,
    ServiceTimings,
};
use crate::report::{
    CompatStatus, HealthVerdict, ReleaseStatus, RollbackOutcome, RunReport, ServiceOutcome,
    VersionSource,
};

pub const MANIFEST_SCHEMA: &str = "orchestrate.manifest/v1";

/// An artifact a service handed on: enough to download it with `actions/download-artifact`
/// (`artifact-ids`, `run-id`, `repository`) or from the store, and its digest to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ArtifactRef {
    pub name: String,
    /// The GitHub artifact id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The run that uploaded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    /// `owner/name` of that run's repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `sha256:<hex>` of the artifact (the zip as GitHub stores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Its typed document's kind, when it is one (`build_info`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Where the typed document was copied in the plan's store (`s3`/`local`), and its digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<StoredCopy>,
}

/// A copy of a document in the plan's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StoredCopy {
    pub location: String,
    pub digest: String,
}

/// A run, as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunLink {
    pub id: u64,
    pub url: String,
    pub conclusion: Option<String>,
}

/// One service of the plan in this release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ManifestService {
    pub repo: String,
    /// Deployed before the release (registry).
    pub from_version: Option<String>,
    /// The target version; absent for a service outside the release set.
    pub to_version: Option<String>,
    /// The services it waits for (the plan's `needs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// `succeeded`, `failed`, `rolled_back`, `halted`, `not_in_release`, `planned`, …
    pub outcome: String,
    pub run: Option<RunLink>,
    pub health: HealthState,
    #[serde(default)]
    pub artifacts: Vec<ArtifactRef>,
}

/// The last verified release set this release started from (whose manifest a rollback
/// restores).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreviousRelease {
    pub deployment_id: String,
    /// Where its manifest was read (artifact name, `s3://…`, path).
    pub location: String,
    /// Its versions, service by service.
    pub versions: BTreeMap<String, String>,
}

/// What a rollback put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RestoredService {
    pub service: String,
    pub to_version: Option<String>,
    /// `manifest` (the last verified release's) or `registry`.
    pub source: String,
    /// The release whose manifest gave the version, when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_release: Option<String>,
    /// `succeeded`, `failed`, `refused` or `no_previous`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The release manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Manifest {
    #[schemars(extend("const" = "orchestrate.manifest/v1"))]
    pub schema: String,
    pub plan: String,
    /// The release's id (the release-set deployment; a local id for a dry run).
    pub deployment_id: String,
    pub environment: String,
    /// `sequential`, `parallel` or `canary`.
    pub strategy: String,
    /// `succeeded`, `failed`, `rolled_back`, `cancelled` or `planned`.
    pub status: String,
    /// Every service of the release deployed and verified healthy: a rollback may restore it.
    pub verified: bool,
    pub dry_run: bool,
    /// RFC 3339.
    pub started_at: String,
    pub finished_at: String,
    pub orchestrator_run_url: Option<String>,
    pub previous_release: Option<PreviousRelease>,
    /// Every service of the plan, by name.
    pub services: BTreeMap<String, ManifestService>,
    pub compatibility: CompatibilityReport,
    pub health: Vec<HealthReport>,
    pub performance: PerformanceMetrics,
    /// What the release's rollback restored (empty when nothing was rolled back).
    pub rollbacks: Vec<RestoredService>,
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

fn secs(d: std::time::Duration) -> f64 {
    (d.as_millis() as f64) / 1000.0
}

fn health_state(verdict: &HealthVerdict) -> (HealthState, u32, Option<String>) {
    match verdict {
        HealthVerdict::NotChecked => (HealthState::NotChecked, 0, None),
        HealthVerdict::NoCheck => (HealthState::NoCheck, 0, None),
        HealthVerdict::Passed { attempts } => (HealthState::Passed, *attempts, None),
        HealthVerdict::Failed { attempts, reason } => {
            (HealthState::Failed, *attempts, Some(reason.clone()))
        }
    }
}

fn rollback_word(outcome: &RollbackOutcome) -> &'static str {
    match outcome {
        RollbackOutcome::Succeeded => "succeeded",
        RollbackOutcome::Failed => "failed",
        RollbackOutcome::Refused => "refused",
        RollbackOutcome::NoPrevious => "no_previous",
    }
}

impl Manifest {
    /// The manifest of the release `report` describes; `previous` is the last verified
    /// release it started from, when one was found.
    pub fn from_report(report: &RunReport, previous: Option<PreviousRelease>) -> Manifest {
        let services = report
            .services
            .iter()
            .map(|s| {
                let (health, _, _) = health_state(&s.health);
                let service = ManifestService {
                    repo: s.repo.clone(),
                    from_version: s.from_version.clone(),
                    to_version: s.to_version.clone(),
                    needs: s.needs.clone(),
                    outcome: s.outcome.as_str().to_owned(),
                    run: s.run.as_ref().map(|r| RunLink {
                        id: r.id,
                        url: r.url.clone(),
                        conclusion: r.conclusion.clone(),
                    }),
                    health,
                    artifacts: s.artifacts.clone(),
                };
                (s.name.clone(), service)
            })
            .collect();
        let health = report
            .services
            .iter()
            .filter(|s| s.to_version.is_some())
            .map(|s| {
                let (verdict, attempts, reason) = health_state(&s.health);
                HealthReport {
                    schema: Kind::HealthReport.schema(),
                    service: s.name.clone(),
                    verdict,
                    attempts,
                    reason,
                }
            })
            .collect();
        let compatibility = CompatibilityReport {
            schema: Kind::CompatibilityReport.schema(),
            checks: report
                .compatibility
                .iter()
                .map(|c| CompatibilityCheck {
                    service: c.service.clone(),
                    requires: c.requires.clone(),
                    range: c.range.clone(),
                    against: c.against.clone(),
                    status: match c.status {
                        CompatStatus::Ok => "ok",
                        CompatStatus::Violated => "violated",
                        CompatStatus::Unknown => "unknown",
                    }
                    .to_owned(),
                    state: c.state.clone(),
                })
                .collect(),
        };
        let performance = PerformanceMetrics {
            schema: Kind::PerformanceMetrics.schema(),
            duration_secs: secs(
                report
                    .finished_at
                    .duration_since(report.started_at)
                    .unwrap_or_default(),
            ),
            services: report
                .services
                .iter()
                .filter(|s| s.to_version.is_some())
                .map(|s| {
                    let timings = ServiceTimings {
                        queued_secs: s.queued.map(secs),
                        duration_secs: s.duration.map(secs),
                        dispatched_secs: s.dispatched.map(secs),
                        settled_secs: s.settled.map(secs),
                    };
                    (s.name.clone(), timings)
                })
                .collect(),
            requests: report.api.requests,
            requests_counted: report.api.counted,
            not_modified: report.api.not_modified,
        };
        let rollbacks = report
            .rollbacks
            .iter()
            .map(|r| {
                let (source, from_release) = match &r.source {
                    Some(VersionSource::Manifest { deployment_id }) => {
                        ("manifest", Some(deployment_id.clone()))
                    }
                    Some(VersionSource::Registry) | None => ("registry", None),
                };
                RestoredService {
                    service: r.service.clone(),
                    to_version: r.to_version.clone(),
                    source: source.to_owned(),
                    from_release,
                    outcome: rollback_word(&r.outcome).to_owned(),
                    run_url: r.run.as_ref().map(|run| run.url.clone()),
                    reason: r.reason.clone(),
                }
            })
            .collect();
        Manifest {
            schema: MANIFEST_SCHEMA.to_owned(),
            plan: report.plan.clone(),
            deployment_id: report.deployment_id.clone(),
            environment: report.environment.clone(),
            strategy: match report.strategy {
                crate::plan::Strategy::Sequential => "sequential",
                crate::plan::Strategy::Parallel => "parallel",
                crate::plan::Strategy::Canary => "canary",
            }
            .to_owned(),
            status: report.status.as_str().to_owned(),
            verified: report.status == ReleaseStatus::Succeeded && !report.dry_run,
            dry_run: report.dry_run,
            started_at: rfc3339(report.started_at),
            finished_at: rfc3339(report.finished_at),
            orchestrator_run_url: report.orchestrator_run_url.clone(),
            previous_release: previous,
            services,
            compatibility,
            health,
            performance,
            rollbacks,
        }
    }

    /// The version `service` runs once this release is over, when the release was verified:
    /// its target, or for a service outside the release set what was deployed.
    pub fn verified_version(&self, service: &str) -> Option<&str> {
        if !self.verified {
            return None;
        }
        let s = self.services.get(service)?;
        match ServiceOutcome::NotInRelease.as_str() == s.outcome {
            true => s.from_version.as_deref(),
            false => s.to_version.as_deref(),
        }
    }

    /// Every service's [`Manifest::verified_version`].
    pub fn verified_versions(&self) -> BTreeMap<String, String> {
        self.services
            .keys()
            .filter_map(|name| Some((name.clone(), self.verified_version(name)?.to_owned())))
            .collect()
    }

    /// Pretty JSON with a final newline: what every store writes.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            serde_json::json!({ "schema": MANIFEST_SCHEMA, "error": e.to_string() }).to_string()
        });
        text.push('\n');
        text
    }

    /// Reads a manifest, refusing another schema or version.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not a release manifest: {e}"))?;
        if manifest.schema != MANIFEST_SCHEMA {
            return Err(format!(
                "schema `{}` is not `{MANIFEST_SCHEMA}`",
                manifest.schema
            ));
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{rolled_back, succeeded};

    #[test]
    fn a_successful_release_is_verified_and_gives_every_services_version() {
        let report = succeeded();
        let manifest = Manifest::from_report(&report, None);
        assert_eq!(manifest.schema, MANIFEST_SCHEMA);
        assert!(manifest.verified);
        for s in &report.services {
            let expected = match s.to_version.as_deref() {
                Some(v) => Some(v),
                None => s.from_version.as_deref(),
            };
            assert_eq!(manifest.verified_version(&s.name), expected, "{}", s.name);
        }
        let back = Manifest::parse(manifest.to_json().as_bytes()).expect("round trip");
        assert_eq!(back, manifest);
        assert_eq!(manifest.performance.requests, report.api.requests);
    }

    #[test]
    fn a_rolled_back_release_is_not_verified_and_says_what_it_restored() {
        let previous = PreviousRelease {
            deployment_id: "1000000004".into(),
            location: "orchestrate-manifest-1000000004".into(),
            versions: BTreeMap::from([("backend".to_owned(), "1.1.0".to_owned())]),
        };
        let manifest = Manifest::from_report(&rolled_back(), Some(previous.clone()));
        assert!(!manifest.verified);
        assert_eq!(manifest.verified_version("backend"), None);
        assert_eq!(manifest.previous_release, Some(previous));
        let restored = &manifest.rollbacks[0];
        assert_eq!(restored.service, "backend");
        assert_eq!(restored.to_version.as_deref(), Some("1.1.0"));
        assert_eq!(restored.source, "manifest");
        assert_eq!(restored.from_release.as_deref(), Some("1000000004"));
        assert_eq!(restored.outcome, "succeeded");
        insta::assert_snapshot!(manifest.to_json());
    }

    #[test]
    fn other_schemas_are_refused() {
        let mut manifest = Manifest::from_report(&succeeded(), None);
        manifest.schema = "orchestrate.manifest/v2".into();
        assert!(Manifest::parse(manifest.to_json().as_bytes()).is_err());
        assert!(Manifest::parse(b"{}").is_err());
    }
}
