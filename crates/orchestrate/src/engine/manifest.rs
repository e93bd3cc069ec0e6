//! The release manifest around a release: before it starts, the manifest of the last verified
//! release set in the environment (what a rollback restores); at its end, this release's own
//! manifest, written to the plan's store. Neither can fail the release: a manifest that cannot
//! be read means rollbacks go by the registry, one that cannot be written is a warning in the
//! summary and the logs (after the store's own retries with backoff).
//!
//! Finding the last verified manifest costs, per release: one deployments list of the
//! orchestrating repository (release sets, conditional) and one status request per release
//! set from the newest to the first verified one; then for the `github` store one artifact
//! lookup by name and the download (two requests and a blob GET), for `s3` one GET, for
//! `local` one file read.

use std::sync::Arc;

use orchestrate_core::artifact::{DocumentKey, Manifest, PreviousRelease};
use orchestrate_core::report::{ManifestRecord, RunReport};
use orchestrate_github::{GitHub, Repo};

use crate::store::Store;

/// The last verified release set's manifest.
#[derive(Debug, Clone)]
pub struct PreviousManifest {
    pub deployment_id: String,
    pub location: String,
    pub manifest: Manifest,
}

impl PreviousManifest {
    /// What this release's manifest records about it.
    pub fn reference(&self) -> PreviousRelease {
        PreviousRelease {
            deployment_id: self.deployment_id.clone(),
            location: self.location.clone(),
            versions: self.manifest.verified_versions(),
        }
    }
}

/// The manifest of the newest verified release set of `environment`, if there is one and it
/// can be read; every failure is logged and means "none".
pub async fn previous(
    github: &Arc<dyn GitHub>,
    store: &Store,
    orchestrator: &Repo,
    plan: &str,
    environment: &str,
) -> Option<PreviousManifest> {
    let record = match github.verified_release_set(orchestrator, environment).await {
        Ok(Some(record)) => record,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up the last verified release set; rollbacks go by the registry");
            return None;
        }
    };
    let id = record.deployment_id.to_string();
    let key = DocumentKey::manifest(plan, environment, &id);
    let (bytes, location) = match store.get_manifest(&key).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            tracing::info!(release = %id, "the last verified release has no manifest; rollbacks go by the registry");
            return None;
        }
        Err(e) => {
            tracing::warn!(release = %id, error = %e, "cannot read the last verified release's manifest; rollbacks go by the registry");
            return None;
        }
    };
    match Manifest::parse(&bytes) {
        Ok(manifest) if manifest.verified && manifest.environment == environment => {
            Some(PreviousManifest {
                deployment_id: id,
                location,
                manifest,
            })
        }
        Ok(_) => {
            tracing::warn!(release = %id, "the manifest found is not of a verified release in this environment; ignored");
            None
        }
        Err(e) => {
            tracing::warn!(release = %id, error = %e, "the last verified release's manifest is unreadable; ignored");
            None
        }
    }
}

/// Writes the manifest of `report` and records where (or why not) in the report.
pub async fn write(store: &Store, report: &mut RunReport, previous: Option<&PreviousManifest>) {
    let manifest = Manifest::from_report(report, previous.map(PreviousManifest::reference));
    let json = manifest.to_json();
    let key = DocumentKey::manifest(&report.plan, &report.environment, &report.deployment_id);
    let record = match store.put_manifest(&key, json.as_bytes()).await {
        Ok(stored) => {
            tracing::info!(
                location = %stored.location,
                bytes = json.len(),
                requests = stored.requests,
                "release manifest stored"
            );
            ManifestRecord {
                store: store.kind().to_owned(),
                location: stored.location,
                artifact_id: stored.artifact_id,
                digest: Some(stored.digest),
                size: Some(json.len() as u64),
                requests: stored.requests,
                error: None,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, hint = %e.hint(), "the release manifest could not be stored");
            ManifestRecord {
                store: store.kind().to_owned(),
                location: store.describe(),
                artifact_id: None,
                digest: None,
                size: Some(json.len() as u64),
                requests: 0,
                error: Some(format!("{e} ({})", e.hint())),
            }
        }
    };
    report.manifest = Some(record);
}
