//! Artifacts of a run: listing them, downloading the zip (the REST answer is a 302 to blob
//! storage, followed *without* the token), checking the published `sha256` digest, unpacking
//! safely and reading the JSON fields.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::client::{Client, Request, http_client};
use crate::error::{Error, Purpose, Result, remedy};
use crate::models::ArtifactList;
use crate::transport::rate_headers;
use crate::types::{ArtifactInfo, ArtifactLimits, ExtractedArtifact, Repo};
use crate::unzip;

const MAX_ARTIFACT_PAGES: usize = 10;

impl Client {
    pub(crate) async fn run_artifacts(
        &self,
        repo: &Repo,
        run_id: u64,
    ) -> Result<Vec<ArtifactInfo>> {
        let mut path = format!(
            "/repos/{}/{}/actions/runs/{run_id}/artifacts?per_page=100",
            repo.owner, repo.name
        );
        let mut all = Vec::new();
        for _ in 0..MAX_ARTIFACT_PAGES {
            let response = self.send(Request::get(repo, path.clone())).await?;
            let list: ArtifactList =
                serde_json::from_str(&response.body).map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })?;
            all.extend(list.artifacts.into_iter().map(ArtifactInfo::from));
            match self.next_page(&response)? {
                Some(next) => path = next,
                None => break,
            }
        }
        Ok(all)
    }

    /// The repository's artifacts called exactly `name`, newest first (one request: a
    /// release's manifest has one name, so a page of ten is plenty).
    pub(crate) async fn artifacts_named(
        &self,
        repo: &Repo,
        name: &str,
    ) -> Result<Vec<ArtifactInfo>> {
        let path = format!(
            "/repos/{}/{}/actions/artifacts?name={}&per_page=10",
            repo.owner,
            repo.name,
            crate::dispatch::enc(name)
        );
        let list: ArtifactList = self.json(Request::get(repo, path)).await?;
        let mut found: Vec<ArtifactInfo> = list
            .artifacts
            .into_iter()
            .filter(|a| a.name == name)
            .map(ArtifactInfo::from)
            .collect();
        found.sort_by_key(|a| std::cmp::Reverse(a.id));
        Ok(found)
    }

    pub(crate) async fn fetch_artifact(
        &self,
        repo: &Repo,
        artifact: &ArtifactInfo,
        dest: &Path,
        limits: &ArtifactLimits,
    ) -> Result<ExtractedArtifact> {
        let name = artifact.name.clone();
        if artifact.expired {
            return Err(Error::ArtifactExpired {
                repo: repo.to_string(),
                name,
            });
        }
        if artifact.size_in_bytes > limits.max_download {
            return Err(Error::ArtifactTooLarge {
                name,
                limit: limits.max_download,
            });
        }
        let bytes = self
            .download_zip(repo, artifact, limits.max_download)
            .await?;
        let digest_verified = verify_digest(&name, artifact.digest.as_deref(), &bytes)?;
        let dir = dest.to_owned();
        let limits = *limits;
        let unpacked = tokio::task::spawn_blocking(move || {
            let files = unzip::extract(&bytes, &dir, &limits)?;
            let (fields, warnings) = unzip::read_json_fields(&dir, &files, limits.max_json);
            Ok::<_, unzip::UnzipError>((files, fields, warnings))
        })
        .await
        .map_err(|e| Error::Io {
            what: "unpacking an artifact".into(),
            source: std::io::Error::other(e),
        })?;
        let (files, fields, warnings) = unpacked.map_err(|source| Error::Unzip {
            name: name.clone(),
            source,
        })?;
        Ok(ExtractedArtifact {
            name,
            dir: dest.to_owned(),
            files,
            digest_verified,
            fields,
            warnings,
        })
    }

    /// The zip's bytes, at most `limit` of them. Network errors and 5xx start over from the REST
    /// call (the blob URL expires after a minute).
    async fn download_zip(
        &self,
        repo: &Repo,
        artifact: &ArtifactInfo,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let mut attempt = 0;
        loop {
            match self.download_once(repo, artifact, limit).await {
                Err(
                    err @ (Error::Network { .. }
                    | Error::Http {
                        status: 500..=599, ..
                    }),
                ) if attempt + 1 < self.config.retry.max_attempts => {
                    tracing::warn!(error = %err, "artifact download failed; retrying");
                    self.request_stats().record_retry();
                    tokio::time::sleep(self.config.retry.backoff(attempt, rand::random::<f64>()))
                        .await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn download_once(
        &self,
        repo: &Repo,
        artifact: &ArtifactInfo,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let path = format!(
            "/repos/{}/{}/actions/artifacts/{}/zip",
            repo.owner, repo.name, artifact.id
        );
        let url = format!("{}{}", self.base_url().as_str().trim_end_matches('/'), path);
        let network = |source| Error::Network {
            method: "GET",
            path: path.clone(),
            source,
        };
        self.pass_gate(repo, &path).await?;
        // The REST leg: authenticated, redirects not followed, so the token stays here.
        let no_redirects = http_client(&self.config, false)?;
        let mut request = no_redirects
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", self.api_version().as_str());
        if let Some(auth) = self.auth_header(repo).await? {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        self.request_stats()
            .record(status, rate_headers(response.headers()));
        let response = match status {
            200 => response,
            301 | 302 | 303 | 307 | 308 => {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Error::Http {
                        method: "GET",
                        path: path.clone(),
                        status,
                        message: "redirect without a Location".into(),
                        remedy: None,
                    })?;
                let target = self.base_url().join(location).map_err(|_| Error::Http {
                    method: "GET",
                    path: path.clone(),
                    status,
                    message: "redirect to an invalid Location".into(),
                    remedy: None,
                })?;
                // The blob leg: a plain GET without the token (a signed URL needs none). Its
                // errors drop the URL: the signature (`sig=`) is a credential.
                let plain = blob_client(&self.config)?;
                let blob = plain
                    .get(target)
                    .send()
                    .await
                    .map_err(|e| network(e.without_url()))?;
                if !blob.status().is_success() {
                    return Err(Error::Http {
                        method: "GET",
                        path: "(artifact blob)".into(),
                        status: blob.status().as_u16(),
                        message: "artifact storage refused the download".into(),
                        remedy: None,
                    });
                }
                blob
            }
            410 => {
                return Err(Error::ArtifactExpired {
                    repo: repo.to_string(),
                    name: artifact.name.clone(),
                });
            }
            _ => {
                let body = response.text().await.unwrap_or_default();
                let message = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .unwrap_or_else(|| body.chars().take(200).collect());
                let purpose = Purpose {
                    repo: Some(repo.to_string()),
                    permission: Some("actions: read"),
                    workflow: None,
                };
                return Err(Error::Http {
                    method: "GET",
                    remedy: remedy(status, &message, &purpose),
                    path,
                    status,
                    message,
                });
            }
        };
        read_bounded(response, &artifact.name, limit)
            .await
            .map_err(|e| match e {
                Some(err) => err,
                None => Error::ArtifactTooLarge {
                    name: artifact.name.clone(),
                    limit,
                },
            })
    }
}

/// The longest an artifact download may take in all. The API's whole-request timeout would cut
/// off a large artifact on an ordinary link (256 MiB in 30 s needs 9 MB/s); here the configured
/// timeout bounds each read instead, so a stalled transfer still fails quickly.
const BLOB_DOWNLOAD_LIMIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// The blob leg's client: redirects followed (storage may redirect again; reqwest drops
/// `Authorization` across hosts and none is sent anyway), stalls bounded per read.
fn blob_client(config: &crate::client::ClientConfig) -> Result<reqwest::Client> {
    crate::client::https_client_builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.request_timeout)
        .timeout(BLOB_DOWNLOAD_LIMIT.max(config.request_timeout))
        .build()
        .map_err(|e| Error::Config(format!("cannot build the http client: {e}")))
}

/// The body, at most `limit` bytes, counted as they arrive (a `content-length` may lie).
/// `Err(None)` means the limit was exceeded.
async fn read_bounded(
    mut response: reqwest::Response,
    name: &str,
    limit: u64,
) -> std::result::Result<Vec<u8>, Option<Error>> {
    let mut bytes = Vec::new();
    loop {
        // The body may come from the signed blob URL: keep it out of the error.
        let chunk = response.chunk().await.map_err(|source| {
            Some(Error::Network {
                method: "GET",
                path: format!("(artifact {name})"),
                source: source.without_url(),
            })
        })?;
        let Some(chunk) = chunk else { return Ok(bytes) };
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(None);
        }
        bytes.extend_from_slice(&chunk);
    }
}

/// Check a published `sha256:<hex>` digest. `Ok(false)` when there is none to check (older
/// uploads) or it uses another algorithm.
pub fn verify_digest(name: &str, digest: Option<&str>, bytes: &[u8]) -> Result<bool> {
    let Some(expected) = digest.and_then(|d| d.strip_prefix("sha256:")) else {
        return Ok(false);
    };
    let actual = hex::encode(Sha256::digest(bytes));
    if actual.eq_ignore_ascii_case(expected.trim()) {
        Ok(true)
    } else {
        Err(Error::DigestMismatch {
            name: name.to_owned(),
            expected: format!("sha256:{expected}"),
            actual: format!("sha256:{actual}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked_when_published() {
        let sum = hex::encode(Sha256::digest(b"zip"));
        assert!(matches!(
            verify_digest("a", Some(&format!("sha256:{sum}")), b"zip"),
            Ok(true)
        ));
        assert!(matches!(verify_digest("a", None, b"zip"), Ok(false)));
        assert!(matches!(
            verify_digest("a", Some("md5:00"), b"zip"),
            Ok(false)
        ));
        assert!(matches!(
            verify_digest("a", Some("sha256:00"), b"zip"),
            Err(Error::DigestMismatch { .. })
        ));
    }
}
