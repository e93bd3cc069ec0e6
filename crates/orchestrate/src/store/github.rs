//! The `github` store: the manifest is artifact `orchestrate-manifest-<deployment_id>` of the
//! orchestrating run, uploaded through the Actions results service with the runner's
//! `ACTIONS_RUNTIME_TOKEN`, and read back by any later release by REST (`GET
//! /repos/{o}/{r}/actions/artifacts?name=…`: one request, then the download) with the
//! release's token, its digest checked. Outside Actions the manifest is written to
//! `--manifest-dir` instead (and read from there first).

use std::sync::Arc;

use orchestrate_core::artifact::{DocumentKey, manifest_artifact_name};
use orchestrate_github::results::{ResultsClient, ResultsError, zip_files};
use orchestrate_github::{ArtifactLimits, GitHub, Repo};

use super::{LocalStore, MAX_DOCUMENT, StoreError, Stored};

/// The file inside the manifest artifact.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Where the manifest is written.
#[derive(Debug)]
pub enum Upload {
    /// The orchestrating run's results service.
    Results(ResultsClient),
    /// Outside Actions: `--manifest-dir`.
    Dir(LocalStore),
    /// In Actions, but the results service cannot be used (why, for the warning).
    Unavailable(String),
}

pub struct GithubStore {
    pub upload: Upload,
    /// The release's own client, for reading manifests back.
    github: Arc<dyn GitHub>,
    /// The orchestrating repository, whose runs hold the manifests.
    repo: Repo,
}

impl std::fmt::Debug for GithubStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubStore")
            .field("upload", &self.upload)
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

impl GithubStore {
    pub fn new(upload: Upload, github: Arc<dyn GitHub>, repo: Repo) -> GithubStore {
        GithubStore {
            upload,
            github,
            repo,
        }
    }

    pub fn describe(&self) -> String {
        match &self.upload {
            Upload::Results(_) => format!("artifacts of the orchestrating run in {}", self.repo),
            Upload::Dir(dir) => dir.describe(),
            Upload::Unavailable(_) => format!(
                "artifacts of the orchestrating run in {} (unavailable)",
                self.repo
            ),
        }
    }

    pub fn preflight(&self) -> Result<(), StoreError> {
        match &self.upload {
            Upload::Dir(dir) => dir.preflight(),
            // Reported when the manifest is written; the release itself does not depend on it.
            Upload::Results(_) | Upload::Unavailable(_) => Ok(()),
        }
    }

    pub async fn put_manifest(&self, key: &DocumentKey, json: &[u8]) -> Result<Stored, StoreError> {
        let client = match &self.upload {
            Upload::Results(client) => client,
            Upload::Dir(dir) => return dir.put(key, json),
            Upload::Unavailable(why) => return Err(StoreError::Unavailable(why.clone())),
        };
        let zip = zip_files(&[(MANIFEST_FILE, json)]).map_err(results_error)?;
        let name = manifest_artifact_name(&key.deployment_id);
        let uploaded = match client.upload_zip(&name, zip.clone()).await {
            // The name is held by an upload whose answer was lost; a later release looks for
            // this second name too.
            Err(ResultsError::NameHeld { .. }) => {
                tracing::warn!(artifact = %name, "manifest name held by a lost upload; uploading as {name}-2");
                client.upload_zip(&format!("{name}-2"), zip).await
            }
            other => other,
        }
        .map_err(results_error)?;
        Ok(Stored {
            location: uploaded.name,
            digest: uploaded.digest,
            size: uploaded.size,
            artifact_id: Some(uploaded.id),
            requests: uploaded.requests,
        })
    }

    /// The manifest of release `key.deployment_id`: from `--manifest-dir` when that is where
    /// this store writes, else from the orchestrating repository's artifacts.
    pub async fn get_manifest(
        &self,
        key: &DocumentKey,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        if let Upload::Dir(dir) = &self.upload
            && let Some(found) = dir.get(key)?
        {
            return Ok(Some(found));
        }
        let name = manifest_artifact_name(&key.deployment_id);
        for candidate in [name.clone(), format!("{name}-2")] {
            let found = self
                .github
                .find_artifacts(&self.repo, &candidate)
                .await
                .map_err(github_error)?;
            let Some(artifact) = found.into_iter().find(|a| !a.expired) else {
                continue;
            };
            if artifact.digest.is_none() {
                return Err(StoreError::Digest {
                    store: "github".to_owned(),
                    source: orchestrate_core::artifact::DigestError::Missing {
                        what: format!("artifact {candidate}"),
                    },
                });
            }
            let dir = tempfile::tempdir().map_err(|source| StoreError::Io {
                store: "github".to_owned(),
                what: "cannot create a directory for the manifest".to_owned(),
                source,
            })?;
            let dest = dir.path().join("manifest");
            let limits = ArtifactLimits {
                max_download: MAX_DOCUMENT,
                max_total: MAX_DOCUMENT,
                max_file: MAX_DOCUMENT,
                max_entries: 16,
                max_json: 0,
            };
            // The download checks the zip against the digest GitHub published.
            self.github
                .download_artifact(&self.repo, &artifact, &dest, &limits)
                .await
                .map_err(github_error)?;
            let bytes =
                std::fs::read(dest.join(MANIFEST_FILE)).map_err(|source| StoreError::Io {
                    store: "github".to_owned(),
                    what: format!("artifact {candidate} has no {MANIFEST_FILE}"),
                    source,
                })?;
            return Ok(Some((
                bytes,
                format!("artifact {candidate} (id {})", artifact.id),
            )));
        }
        Ok(None)
    }
}

fn results_error(e: ResultsError) -> StoreError {
    let store = "results service".to_owned();
    let message = e.to_string();
    if e.is_transient() {
        StoreError::Unreachable {
            store,
            message,
            hint: "the upload was retried with backoff; the release's outcome is unaffected"
                .to_owned(),
        }
    } else {
        StoreError::Refused {
            store,
            message,
            hint: "check the job's ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL (the runner passes both to container actions)".to_owned(),
        }
    }
}

fn github_error(e: orchestrate_github::Error) -> StoreError {
    if matches!(e, orchestrate_github::Error::DigestMismatch { .. }) {
        return StoreError::Digest {
            store: "github".to_owned(),
            source: orchestrate_core::artifact::DigestError::Mismatch {
                what: "the manifest artifact".to_owned(),
                expected: String::new(),
                actual: e.to_string(),
            },
        };
    }
    let refusal = e.is_refusal();
    let message = e.to_string();
    if refusal {
        StoreError::Refused {
            store: "github".to_owned(),
            message,
            hint: "the token needs `actions: read` on the orchestrating repository".to_owned(),
        }
    } else {
        StoreError::Unreachable {
            store: "github".to_owned(),
            message,
            hint: "GitHub was retried with backoff".to_owned(),
        }
    }
}
