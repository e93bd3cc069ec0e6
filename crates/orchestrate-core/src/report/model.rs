//! The data of a run report. The driver fills it; renderers and notifications only read it.
//! Times are data (`SystemTime` values given by the driver), never read here.

use std::time::{Duration, SystemTime};

use crate::notify::rule::Channel;
use crate::plan::Strategy;

/// The outcome of the whole release (the `status` output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    Succeeded,
    Failed,
    RolledBack,
    Cancelled,
    Planned,
    /// Under way: the report of a release still running (what start notifications carry).
    InProgress,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Succeeded => "succeeded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::RolledBack => "rolled_back",
            ReleaseStatus::Cancelled => "cancelled",
            ReleaseStatus::Planned => "planned",
            ReleaseStatus::InProgress => "in_progress",
        }
    }
}

/// What became of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceOutcome {
    /// Deployed and verified healthy.
    Succeeded,
    /// Its run or its health gate failed.
    Failed,
    /// Cancelled in flight because the release failed or timed out.
    Cancelled,
    /// Never started because something it needs failed.
    Skipped,
    /// Its run or health gate did not finish in time.
    TimedOut,
    /// Deployed, then rolled back to its previous version.
    RolledBack,
    /// Irreversible: deployed and left as is (halted), not rolled back.
    Halted,
    /// Not in the release set: only its deployed version was consulted.
    NotInRelease,
    /// Dry run: would be deployed.
    Planned,
}

impl ServiceOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceOutcome::Succeeded => "succeeded",
            ServiceOutcome::Failed => "failed",
            ServiceOutcome::Cancelled => "cancelled",
            ServiceOutcome::Skipped => "skipped",
            ServiceOutcome::TimedOut => "timed_out",
            ServiceOutcome::RolledBack => "rolled_back",
            ServiceOutcome::Halted => "halted",
            ServiceOutcome::NotInRelease => "not_in_release",
            ServiceOutcome::Planned => "planned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRef {
    pub id: u64,
    pub url: String,
    /// The conclusion GitHub gave the run (`success`, `failure`, `startup_failure`, …).
    pub conclusion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum HealthVerdict {
    NotChecked,
    /// The service had no health check configured.
    NoCheck,
    Passed {
        attempts: u32,
    },
    Failed {
        attempts: u32,
        reason: String,
    },
}

/// The job and step that made a run fail, with links.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailureDetail {
    pub job: Option<String>,
    pub step: Option<String>,
    pub job_url: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceReport {
    pub name: String,
    pub repo: String,
    /// Deployed version before the release, from the registry.
    pub from_version: Option<String>,
    /// Target version; `None` when not in the release set.
    pub to_version: Option<String>,
    pub needs: Vec<String>,
    pub wave: usize,
    pub irreversible: bool,
    pub run: Option<RunRef>,
    /// From dispatch to the run starting.
    #[serde(serialize_with = "super::ser::opt_secs")]
    pub queued: Option<Duration>,
    /// From dispatch until verified (run plus health gate).
    #[serde(serialize_with = "super::ser::opt_secs")]
    pub duration: Option<Duration>,
    /// When it was dispatched, from the release's start (the release's clock).
    #[serde(
        serialize_with = "super::ser::opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub dispatched: Option<Duration>,
    /// When it settled (verified, or failed), from the release's start.
    #[serde(
        serialize_with = "super::ser::opt_secs",
        skip_serializing_if = "Option::is_none"
    )]
    pub settled: Option<Duration>,
    pub health: HealthVerdict,
    pub outcome: ServiceOutcome,
    pub failure: Option<FailureDetail>,
    /// The artifacts it handed on (plan `share:`), with their digests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<crate::artifact::ArtifactRef>,
    /// Each wait of its run for an environment gate (required reviewers, a wait timer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<super::ApprovalReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompatStatus {
    Ok,
    Violated,
    /// The required service's version is unknown (never deployed, not in the release).
    Unknown,
}

/// A `requires` range checked against a version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CompatVerdict {
    pub service: String,
    pub requires: String,
    pub range: String,
    pub against: Option<String>,
    pub status: CompatStatus,
    /// The state of the release the verdict holds in, e.g. `after wave 1`; `None` for the
    /// final state (every service at its target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackOutcome {
    Succeeded,
    Failed,
    /// Not attempted: irreversible, or it would break an irreversible service's `requires`.
    Refused,
    /// Nothing to go back to (no previous good version in the registry).
    NoPrevious,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RollbackReport {
    pub service: String,
    pub to_version: Option<String>,
    pub run: Option<RunRef>,
    pub outcome: RollbackOutcome,
    pub reason: Option<String>,
    /// Where `to_version` came from: the last verified release's manifest, or the registry.
    pub source: Option<VersionSource>,
}

/// Where a rollback's target version came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum VersionSource {
    /// The manifest of the last verified release set (its `deployment_id`).
    Manifest { deployment_id: String },
    /// The registry's previous good deployment (there was no manifest to go by).
    Registry,
}

/// Where the release's manifest was stored, or why it was not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestRecord {
    /// `github`, `s3` or `local`.
    pub store: String,
    /// The artifact name, `s3://bucket/key` or the file path.
    pub location: String,
    /// The artifact id (the `github` store): the `manifest_artifact_id` output.
    pub artifact_id: Option<u64>,
    pub digest: Option<String>,
    pub size: Option<u64>,
    /// Requests the store took to write it (retries included).
    pub requests: u32,
    /// Why it could not be stored (the release's own outcome is unaffected); free of secrets.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TimelineEntry {
    #[serde(serialize_with = "super::ser::rfc3339")]
    pub at: SystemTime,
    pub service: Option<String>,
    pub what: String,
}

/// What the release cost in API calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApiStats {
    pub requests: u64,
    /// Requests counted against the primary rate limit (a 304 is not).
    pub counted: u64,
    pub not_modified: u64,
    pub rate_limit_remaining: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotificationDelivery {
    pub channel: Channel,
    pub event: crate::notify::rule::Event,
    pub delivered: bool,
    pub attempts: u32,
    /// Why it failed; never contains a secret.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunReport {
    pub plan: String,
    /// The release's id: the release-set deployment id, or a local id in a dry run.
    pub deployment_id: String,
    pub environment: String,
    pub strategy: Strategy,
    pub status: ReleaseStatus,
    pub dry_run: bool,
    #[serde(serialize_with = "super::ser::rfc3339")]
    pub started_at: SystemTime,
    #[serde(serialize_with = "super::ser::rfc3339")]
    pub finished_at: SystemTime,
    /// The orchestrating workflow run, when known.
    pub orchestrator_run_url: Option<String>,
    pub services: Vec<ServiceReport>,
    pub compatibility: Vec<CompatVerdict>,
    pub rollbacks: Vec<RollbackReport>,
    pub timeline: Vec<TimelineEntry>,
    pub api: ApiStats,
    pub notifications: Vec<NotificationDelivery>,
    /// A release-level error (lock held, timeout…), already free of secrets.
    pub error: Option<String>,
    /// The release manifest, once written (`None` until then).
    pub manifest: Option<ManifestRecord>,
}

impl RunReport {
    pub fn service(&self, name: &str) -> Option<&ServiceReport> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn failed_services(&self) -> impl Iterator<Item = &ServiceReport> {
        self.services
            .iter()
            .filter(|s| matches!(s.outcome, ServiceOutcome::Failed | ServiceOutcome::TimedOut))
    }

    pub fn rolled_back_services(&self) -> impl Iterator<Item = &RollbackReport> {
        self.rollbacks
            .iter()
            .filter(|r| r.outcome == RollbackOutcome::Succeeded)
    }
}
