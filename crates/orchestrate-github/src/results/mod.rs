//! Uploading an artifact to the workflow run orchestrate runs in, through the Actions results
//! service (artifact v4, protocol.md §3.2): `CreateArtifact`, one Azure Put Blob to the signed
//! URL it answers, `FinalizeArtifact`. Twirp JSON with snake_case fields, int64 as strings;
//! the backend ids come from the runtime token's `scp` claim, read without verifying it, as
//! `@actions/artifact` does.
//!
//! Retries: every call is re-sent after a network error, 429 or 5xx, with backoff. The only
//! call that is not idempotent is `CreateArtifact`: when its answer was lost, the re-sent call
//! meets the upload the first one opened and is answered 409. The artifact is then looked up
//! by name: finalized with our digest means done; otherwise the name is held by an upload that
//! can never be completed, and [`ResultsError::NameHeld`] tells the caller to choose another
//! name. A 409 to the first call is a real duplicate. Nothing ends half-uploaded silently:
//! every failure is an error naming the step.
//!
//! The signed upload URL's `sig` is a credential: it is handed to the [`SecretHook`] (to be
//! masked) before the URL is used, and errors never carry the URL.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::auth::Secret;
use crate::client::SecretHook;
use crate::pacing::RetryPolicy;

mod wire;

pub use wire::{BackendIds, zip_files};
use wire::{int64, retryable, scalar_text};

const SERVICE: &str = "github.actions.results.api.v1.ArtifactService";
/// The Azure storage service version sent with the blob upload.
const BLOB_SERVICE_VERSION: &str = "2025-11-05";

pub type Result<T, E = ResultsError> = std::result::Result<T, E>;

/// Why an upload to the results service failed. Messages never hold the runtime token or the
/// signed URL.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The runtime token does not carry `Actions.Results:<run>:<job>` in its `scp` claim.
    #[error(
        "ACTIONS_RUNTIME_TOKEN is not a runtime token with an `Actions.Results` scope (its `scp` claim names no run and job)"
    )]
    BadToken,
    #[error("ACTIONS_RESULTS_URL is not a URL: {0}")]
    BadUrl(String),
    #[error("cannot build the http client: {0}")]
    Client(String),
    /// The service answered an error (Twirp `code` and `msg`).
    #[error("{step}: the results service answered {status}: {message}")]
    Refused {
        step: &'static str,
        status: u16,
        message: String,
    },
    #[error("{step}: no answer from the results service after {attempts} attempts")]
    Unreachable { step: &'static str, attempts: u32 },
    #[error("{step}: unexpected answer from the results service: {reason}")]
    Decode { step: &'static str, reason: String },
    /// A re-sent CreateArtifact found the name taken by the upload its lost first answer
    /// opened; that upload cannot be finished, so the name cannot be used in this run.
    #[error(
        "artifact name `{name}` is held by an upload that cannot be finished (a lost CreateArtifact answer); upload under another name"
    )]
    NameHeld { name: String },
    #[error("artifact `{name}` already exists in this run with other content ({digest})")]
    Conflict { name: String, digest: String },
    #[error("cannot pack the artifact: {0}")]
    Zip(String),
}

impl ResultsError {
    /// Worth trying again later (the store retries the whole upload with backoff).
    pub fn is_transient(&self) -> bool {
        match self {
            ResultsError::Unreachable { .. } => true,
            ResultsError::Refused { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// An artifact once finalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedArtifact {
    /// The REST `artifact.id` (FinalizeArtifact's `artifact_id`).
    pub id: u64,
    pub name: String,
    pub size: u64,
    /// `sha256:<hex>` of the bytes sent.
    pub digest: String,
    /// Requests sent, retries included.
    pub requests: u32,
}

/// An artifact of the run, as ListArtifacts shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedArtifact {
    pub id: u64,
    pub name: String,
    pub size: u64,
    pub digest: Option<String>,
}

/// How the results client behaves.
#[derive(Clone)]
pub struct ResultsConfig {
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Sees the `sig` of every signed URL before it is used, so it can be masked.
    pub on_secret: Option<SecretHook>,
}

impl Default for ResultsConfig {
    fn default() -> Self {
        ResultsConfig {
            retry: RetryPolicy {
                max_attempts: 4,
                base: Duration::from_secs(1),
                cap: Duration::from_secs(8),
                ..RetryPolicy::default()
            },
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            on_secret: None,
        }
    }
}

impl std::fmt::Debug for ResultsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultsConfig")
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// A client of the results service for the job whose runtime token it holds.
pub struct ResultsClient {
    http: reqwest::Client,
    /// `new URL(ACTIONS_RESULTS_URL).origin`: any path is dropped, as the toolkit does.
    origin: String,
    auth: HeaderValue,
    ids: BackendIds,
    config: ResultsConfig,
}

impl std::fmt::Debug for ResultsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultsClient")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// One Twirp call's outcome, before interpretation.
struct Answer {
    status: u16,
    body: Value,
}

#[derive(Deserialize)]
struct TwirpError {
    #[serde(default)]
    msg: String,
}

impl ResultsClient {
    pub fn new(results_url: &str, token: &Secret, config: ResultsConfig) -> Result<Self> {
        let url = url::Url::parse(results_url.trim())
            .map_err(|_| ResultsError::BadUrl(results_url.to_owned()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ResultsError::BadUrl(results_url.to_owned()));
        }
        let origin = url.origin().ascii_serialization();
        let ids = BackendIds::from_token(token.expose())?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose().trim()))
            .map_err(|_| ResultsError::BadToken)?;
        auth.set_sensitive(true);
        let http = crate::client::https_client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| ResultsError::Client(e.to_string()))?;
        Ok(ResultsClient {
            http,
            origin,
            auth,
            ids,
            config,
        })
    }

    pub fn backend_ids(&self) -> &BackendIds {
        &self.ids
    }

    /// Uploads `bytes` (a zip) as artifact `name` of the token's run.
    pub async fn upload_zip(&self, name: &str, bytes: Vec<u8>) -> Result<UploadedArtifact> {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let mut requests = 0u32;
        let signed_url = match self.create(name, &mut requests).await? {
            Created::Url(url) => url,
            Created::Done(listed) => {
                return Ok(UploadedArtifact {
                    id: listed.id,
                    name: listed.name,
                    size: listed.size,
                    digest,
                    requests,
                });
            }
        };
        self.put_blob(&signed_url, &bytes, &mut requests).await?;
        let id = self
            .finalize(name, bytes.len() as u64, &digest, &mut requests)
            .await?;
        Ok(UploadedArtifact {
            id,
            name: name.to_owned(),
            size: bytes.len() as u64,
            digest,
            requests,
        })
    }

    /// The run's artifact called `name`, if one is finalized.
    pub async fn find(&self, name: &str) -> Result<Option<ListedArtifact>> {
        let mut requests = 0;
        self.find_counted(name, &mut requests).await
    }

    async fn find_counted(&self, name: &str, requests: &mut u32) -> Result<Option<ListedArtifact>> {
        let body = json!({
            "workflow_run_backend_id": self.ids.run,
            "workflow_job_run_backend_id": self.ids.job,
            "name_filter": name,
        });
        let answer = self.call("ListArtifacts", &body, requests).await?;
        let answer = ok_or_refused("ListArtifacts", answer)?;
        let listed = answer.body["artifacts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["name"].as_str() == Some(name))
            .filter_map(|a| {
                Some(ListedArtifact {
                    id: int64(&a["database_id"])?,
                    name: name.to_owned(),
                    size: int64(&a["size"]).unwrap_or(0),
                    digest: scalar_text(&a["digest"]),
                })
            })
            .max_by_key(|a| a.id);
        Ok(listed)
    }

    async fn create(&self, name: &str, requests: &mut u32) -> Result<Created> {
        // Version 4 without `mime_type`: a zip, as upload-artifact v4 sends it.
        let body = json!({
            "workflow_run_backend_id": self.ids.run,
            "workflow_job_run_backend_id": self.ids.job,
            "name": name,
            "version": 4,
        });
        let mut resent = false;
        let mut attempt = 0;
        loop {
            let answer = self.send_once("CreateArtifact", &body, requests).await;
            match answer {
                Some(a) if a.status == 409 && resent => {
                    // Our own lost first call opened this upload, or finished one just like it.
                    return match self.find_counted(name, requests).await? {
                        Some(listed) => Ok(Created::Done(listed)),
                        None => Err(ResultsError::NameHeld {
                            name: name.to_owned(),
                        }),
                    };
                }
                Some(a) if !retryable(a.status) => {
                    let a = ok_or_refused("CreateArtifact", a)?;
                    if a.body["ok"].as_bool() != Some(true) {
                        return Err(ResultsError::Decode {
                            step: "CreateArtifact",
                            reason: "`ok` is not true".into(),
                        });
                    }
                    let url = a.body["signed_upload_url"]
                        .as_str()
                        .or_else(|| a.body["signedUploadUrl"].as_str())
                        .ok_or_else(|| ResultsError::Decode {
                            step: "CreateArtifact",
                            reason: "no signed_upload_url".into(),
                        })?;
                    self.announce_sig(url);
                    return Ok(Created::Url(url.to_owned()));
                }
                // Lost or refused for now: the call may or may not have been acted on.
                _ if attempt + 1 < self.config.retry.max_attempts => {
                    resent = true;
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                Some(a) => return Err(refused("CreateArtifact", &a)),
                None => {
                    return Err(ResultsError::Unreachable {
                        step: "CreateArtifact",
                        attempts: attempt + 1,
                    });
                }
            }
        }
    }

    /// Single-shot Put Blob: repeating it replaces the same blob, so it is safe to re-send.
    async fn put_blob(&self, url: &str, bytes: &[u8], requests: &mut u32) -> Result<()> {
        let mut attempt = 0;
        loop {
            *requests += 1;
            let sent = self
                .http
                .put(url)
                .header("x-ms-blob-type", "BlockBlob")
                .header("x-ms-version", BLOB_SERVICE_VERSION)
                .header("x-ms-blob-content-type", "application/zip")
                .header(CONTENT_TYPE, "application/zip")
                .body(bytes.to_vec())
                .send()
                .await;
            let status = sent.as_ref().map(|r| r.status().as_u16()).ok();
            match status {
                Some(s) if (200..300).contains(&s) => return Ok(()),
                Some(s) if !retryable(s) => {
                    return Err(ResultsError::Refused {
                        step: "blob upload",
                        status: s,
                        message: "the storage service refused the upload".into(),
                    });
                }
                _ if attempt + 1 < self.config.retry.max_attempts => {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                Some(s) => {
                    return Err(ResultsError::Refused {
                        step: "blob upload",
                        status: s,
                        message: "the storage service kept failing".into(),
                    });
                }
                None => {
                    return Err(ResultsError::Unreachable {
                        step: "blob upload",
                        attempts: attempt + 1,
                    });
                }
            }
        }
    }

    async fn finalize(
        &self,
        name: &str,
        size: u64,
        digest: &str,
        requests: &mut u32,
    ) -> Result<u64> {
        let body = json!({
            "workflow_run_backend_id": self.ids.run,
            "workflow_job_run_backend_id": self.ids.job,
            "name": name,
            "size": size.to_string(),
            "hash": digest,
        });
        let mut resent = false;
        let mut attempt = 0;
        loop {
            match self.send_once("FinalizeArtifact", &body, requests).await {
                // A re-sent finalize whose first answer was lost finds nothing left to finalize.
                Some(a) if resent && a.status == 404 => {
                    return match self.find_counted(name, requests).await? {
                        Some(listed) if listed.digest.as_deref() == Some(digest) => Ok(listed.id),
                        Some(listed) => Err(ResultsError::Conflict {
                            name: name.to_owned(),
                            digest: listed.digest.unwrap_or_else(|| "no digest".into()),
                        }),
                        None => Err(refused("FinalizeArtifact", &a)),
                    };
                }
                Some(a) if !retryable(a.status) => {
                    let a = ok_or_refused("FinalizeArtifact", a)?;
                    return int64(&a.body["artifact_id"])
                        .or_else(|| int64(&a.body["artifactId"]))
                        .ok_or_else(|| ResultsError::Decode {
                            step: "FinalizeArtifact",
                            reason: "no artifact_id".into(),
                        });
                }
                _ if attempt + 1 < self.config.retry.max_attempts => {
                    resent = true;
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                Some(a) => return Err(refused("FinalizeArtifact", &a)),
                None => {
                    return Err(ResultsError::Unreachable {
                        step: "FinalizeArtifact",
                        attempts: attempt + 1,
                    });
                }
            }
        }
    }

    /// An idempotent call (ListArtifacts), re-sent after a transient failure.
    async fn call(&self, method: &'static str, body: &Value, requests: &mut u32) -> Result<Answer> {
        let mut attempt = 0;
        loop {
            match self.send_once(method, body, requests).await {
                Some(a) if !retryable(a.status) => return Ok(a),
                _ if attempt + 1 < self.config.retry.max_attempts => {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                Some(a) => return Err(refused(method, &a)),
                None => {
                    return Err(ResultsError::Unreachable {
                        step: method,
                        attempts: attempt + 1,
                    });
                }
            }
        }
    }

    /// One Twirp call; `None` when no answer came (connection refused, reset, timed out).
    async fn send_once(&self, method: &str, body: &Value, requests: &mut u32) -> Option<Answer> {
        *requests += 1;
        let url = format!("{}/twirp/{SERVICE}/{method}", self.origin);
        let response = self
            .http
            .post(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(method, error = %e.without_url(), "results service: no answer");
                return None;
            }
        };
        let status = response.status().as_u16();
        let text = response.text().await.ok()?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        tracing::debug!(method, status, "results service request");
        Some(Answer { status, body })
    }

    fn announce_sig(&self, url: &str) {
        let Some(hook) = &self.config.on_secret else {
            return;
        };
        if let Ok(parsed) = url::Url::parse(url) {
            for (key, value) in parsed.query_pairs() {
                if key == "sig" && !value.is_empty() {
                    hook(&value);
                    // Logs may show it percent-encoded too.
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
                    if encoded != value {
                        hook(&encoded);
                    }
                }
            }
        }
    }

    async fn backoff(&self, attempt: u32) {
        let wait = self.config.retry.backoff(attempt, rand::random::<f64>());
        tokio::time::sleep(wait).await;
    }
}

enum Created {
    Url(String),
    /// A re-sent CreateArtifact found the artifact already finalized under this name.
    Done(ListedArtifact),
}

fn refused(step: &'static str, answer: &Answer) -> ResultsError {
    let message = serde_json::from_value::<TwirpError>(answer.body.clone())
        .map(|e| e.msg)
        .ok()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no message".to_owned());
    ResultsError::Refused {
        step,
        status: answer.status,
        message,
    }
}

fn ok_or_refused(step: &'static str, answer: Answer) -> Result<Answer> {
    if (200..300).contains(&answer.status) {
        Ok(answer)
    } else {
        Err(refused(step, &answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::wire::tests::token;

    #[test]
    fn the_origin_drops_the_path_and_errors_never_hold_the_token() {
        let t = token(r#"{"scp":"Actions.Results:r:j"}"#);
        let client = ResultsClient::new(
            "https://results.example/some/path/",
            &Secret::new(t.clone()),
            ResultsConfig::default(),
        )
        .expect("valid");
        assert_eq!(client.origin, "https://results.example");
        let err = ResultsClient::new(
            "not a url",
            &Secret::new(t.clone()),
            ResultsConfig::default(),
        )
        .expect_err("bad url");
        assert!(!err.to_string().contains(&t));
    }
}
