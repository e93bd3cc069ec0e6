//! Artifact storage shared by the REST routes, the Actions results service and the blob service.
//!
//! One [`ArtifactStore`] per emulator holds finished artifacts (metadata and zip bytes) and the
//! uploads the results service has opened but not finalized. It is internally synchronized and
//! cheap to clone (an `Arc` inside), so every router holds its own clone.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::blob;

mod uploads;

use uploads::PendingUpload;
pub(crate) use uploads::{BlobProps, BlockRef, NewUpload};

/// Artifact ids start here so they never look like the small run or job ids of a scenario;
/// a test that mixes the two up fails instead of passing by coincidence.
const FIRST_ARTIFACT_ID: u64 = 7_000_001;
/// GitHub's default artifact retention.
const DEFAULT_RETENTION_DAYS: i64 = 90;
/// "This URL expires after 1 minute." (REST download redirect).
const DOWNLOAD_URL_LIFETIME_SECS: i64 = 60;

/// The clock the store checks signed URL expiry against.
pub type NowFn = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What an artifact's `workflow_run` object reports; registered per run by the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub repository_id: u64,
    pub head_repository_id: u64,
    pub head_branch: String,
    pub head_sha: String,
}

/// One finished artifact of a workflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRecord {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    pub run_id: u64,
    pub name: String,
    pub size_in_bytes: u64,
    /// `sha256:<hex>` of the stored bytes; every artifact here is a v4 artifact.
    pub digest: Option<String>,
    /// `application/zip` unless a v7 client uploaded a raw file with another mime type.
    pub content_type: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub expired: bool,
    /// Snapshot of the run's [`RunInfo`] when the artifact was created, if one was registered.
    pub workflow_run: Option<RunInfo>,
    /// The job that uploaded it through the results service; `None` for scenario artifacts.
    pub job_backend_id: Option<String>,
}

impl ArtifactRecord {
    /// The file name a download is saved under (`Content-Disposition`).
    #[must_use]
    pub fn file_name(&self) -> String {
        if is_zip(&self.content_type) {
            format!("{}.zip", self.name)
        } else {
            self.name.clone()
        }
    }
}

fn is_zip(content_type: &str) -> bool {
    matches!(
        content_type,
        "application/zip" | "application/x-zip-compressed" | "application/zip-compressed"
    )
}

/// Why an artifact operation of the results or blob service was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    #[error("an artifact with this name already exists on the workflow run")]
    AlreadyExists,
    #[error("artifact not found")]
    NotFound,
    #[error("upload not found")]
    UploadNotFound,
    #[error("the block list names block {0} which was not uploaded")]
    InvalidBlockList(String),
    #[error("the artifact content was never uploaded to its signed url")]
    NotUploaded,
    #[error("declared size {declared} does not match the {actual} bytes uploaded")]
    SizeMismatch { declared: u64, actual: u64 },
    #[error("declared hash {declared} does not match the uploaded content {actual}")]
    HashMismatch { declared: String, actual: String },
}

struct Stored {
    record: ArtifactRecord,
    bytes: Bytes,
}

struct Inner {
    next_id: u64,
    next_etag: u64,
    artifacts: BTreeMap<u64, Stored>,
    runs: HashMap<(String, u64), RunInfo>,
    uploads: HashMap<String, PendingUpload>,
}

/// All artifacts of one emulator. Clone it freely: clones share the same storage.
#[derive(Clone)]
pub struct ArtifactStore {
    inner: Arc<Mutex<Inner>>,
    key: Arc<[u8; 32]>,
    clock: NowFn,
}

impl std::fmt::Debug for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signing key stays out of debug output on purpose.
        f.debug_struct("ArtifactStore").finish_non_exhaustive()
    }
}

impl Default for ArtifactStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ArtifactStore {
    /// An empty store with a fresh random signing key, checking URL expiry against the wall clock.
    #[must_use]
    pub fn new() -> Self {
        Self::with_clock(Arc::new(Utc::now))
    }

    /// Like [`ArtifactStore::new`], but signed URLs expire by `clock` (the scenario's clock).
    #[must_use]
    pub fn with_clock(clock: NowFn) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                next_id: FIRST_ARTIFACT_ID,
                next_etag: 1,
                artifacts: BTreeMap::new(),
                runs: HashMap::new(),
                uploads: HashMap::new(),
            })),
            key: Arc::new(rand::random()),
            clock,
        }
    }

    /// The store's current time, the one signed URLs are checked against.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub(crate) fn signing_key(&self) -> &[u8; 32] {
        &self.key
    }

    /// A record as of now: past its `expires_at` it reads as expired, as on GitHub.
    fn view(&self, record: &ArtifactRecord) -> ArtifactRecord {
        let mut record = record.clone();
        record.expired = record.expired || record.expires_at <= self.now();
        record
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code path panics while holding the lock, and the data stays consistent even if one
        // did, so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what `workflow_run` reports for artifacts of `repo`'s run `run_id` created later.
    pub fn register_run(&self, repo: &str, run_id: u64, info: RunInfo) {
        self.lock().runs.insert((repo.to_owned(), run_id), info);
    }

    /// Stores an artifact a scenario run produced, as if upload-artifact v4 had finished it.
    pub fn create_finished(
        &self,
        repo: &str,
        run_id: u64,
        name: &str,
        zip_bytes: Vec<u8>,
        now: DateTime<Utc>,
    ) -> ArtifactRecord {
        let mut inner = self.lock();
        inner.insert(Draft {
            repo: repo.to_owned(),
            run_id,
            name: name.to_owned(),
            bytes: Bytes::from(zip_bytes),
            content_type: "application/zip".to_owned(),
            expires_at: now + Duration::days(DEFAULT_RETENTION_DAYS),
            job_backend_id: None,
            now,
        })
    }

    /// Artifacts of one run, oldest first (including expired ones, as the REST list shows them).
    #[must_use]
    pub fn list_for_run(&self, repo: &str, run_id: u64) -> Vec<ArtifactRecord> {
        self.lock()
            .artifacts
            .values()
            .filter(|s| s.record.repo == repo && s.record.run_id == run_id)
            .map(|s| self.view(&s.record))
            .collect()
    }

    /// Artifacts of every run of `repo`, oldest first.
    #[must_use]
    pub fn list_for_repo(&self, repo: &str) -> Vec<ArtifactRecord> {
        self.lock()
            .artifacts
            .values()
            .filter(|s| s.record.repo == repo)
            .map(|s| self.view(&s.record))
            .collect()
    }

    /// One artifact, only if it belongs to `repo`.
    #[must_use]
    pub fn get(&self, repo: &str, id: u64) -> Option<ArtifactRecord> {
        self.lock()
            .artifacts
            .get(&id)
            .filter(|s| s.record.repo == repo)
            .map(|s| self.view(&s.record))
    }

    /// Deletes an artifact of `repo`; `false` when there was none.
    pub fn delete(&self, repo: &str, id: u64) -> bool {
        let mut inner = self.lock();
        let owned = inner
            .artifacts
            .get(&id)
            .is_some_and(|s| s.record.repo == repo);
        owned && inner.artifacts.remove(&id).is_some()
    }

    /// Marks an artifact expired: the REST download answers 410 and its blob is gone.
    pub fn expire(&self, id: u64) -> bool {
        let mut inner = self.lock();
        match inner.artifacts.get_mut(&id) {
            Some(stored) => {
                stored.record.expired = true;
                stored.bytes = Bytes::new();
                true
            }
            None => false,
        }
    }

    /// A tokenless download URL under `/_blob/` on the emulator, valid for 60 s from `now`.
    #[must_use]
    pub fn signed_download_url(&self, base_url: &str, id: u64, now: DateTime<Utc>) -> String {
        let expiry = now + Duration::seconds(DOWNLOAD_URL_LIFETIME_SECS);
        blob::download_url(self, base_url, id, expiry)
    }

    pub(crate) fn find_by_name(
        &self,
        repo: &str,
        run_id: u64,
        name: &str,
    ) -> Option<ArtifactRecord> {
        self.lock()
            .artifacts
            .values()
            .find(|s| s.record.repo == repo && s.record.run_id == run_id && s.record.name == name)
            .map(|s| self.view(&s.record))
    }

    pub(crate) fn content(&self, id: u64) -> Option<(ArtifactRecord, Bytes)> {
        self.lock()
            .artifacts
            .get(&id)
            .map(|s| (self.view(&s.record), s.bytes.clone()))
            .filter(|(record, _)| !record.expired)
    }

    /// DeleteArtifact over the results service: by name within a run.
    pub(crate) fn delete_by_name(&self, repo: &str, run_id: u64, name: &str) -> Option<u64> {
        let id = self.find_by_name(repo, run_id, name)?.id;
        self.delete(repo, id).then_some(id)
    }
}

struct Draft {
    repo: String,
    run_id: u64,
    name: String,
    bytes: Bytes,
    content_type: String,
    expires_at: DateTime<Utc>,
    job_backend_id: Option<String>,
    now: DateTime<Utc>,
}

impl Inner {
    fn insert(&mut self, draft: Draft) -> ArtifactRecord {
        let id = self.next_id;
        self.next_id += 1;
        let record = ArtifactRecord {
            id,
            workflow_run: self.runs.get(&(draft.repo.clone(), draft.run_id)).cloned(),
            repo: draft.repo,
            run_id: draft.run_id,
            name: draft.name,
            size_in_bytes: draft.bytes.len() as u64,
            digest: Some(sha256_digest(&draft.bytes)),
            content_type: draft.content_type,
            created_at: draft.now,
            updated_at: draft.now,
            expires_at: draft.expires_at,
            expired: false,
            job_backend_id: draft.job_backend_id,
        };
        self.artifacts.insert(
            id,
            Stored {
                record: record.clone(),
                bytes: draft.bytes,
            },
        );
        record
    }
}

/// `sha256:<hex>` of `bytes`, the form of the artifact `digest` field.
#[must_use]
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The GitHub REST `artifact` object for `rec`; `api_base` is the API root without a slash.
#[must_use]
pub fn artifact_json(rec: &ArtifactRecord, api_base: &str) -> Value {
    let api_base = api_base.trim_end_matches('/');
    let url = format!("{api_base}/repos/{}/actions/artifacts/{}", rec.repo, rec.id);
    let workflow_run = match &rec.workflow_run {
        Some(info) => json!({
            "id": rec.run_id,
            "repository_id": info.repository_id,
            "head_repository_id": info.head_repository_id,
            "head_branch": info.head_branch,
            "head_sha": info.head_sha,
        }),
        // Without registered run details only the run id is known; the schema makes every
        // other member optional, so they are left out rather than invented.
        None => json!({ "id": rec.run_id }),
    };
    json!({
        "id": rec.id,
        "node_id": STANDARD.encode(format!("08:Artifact{}", rec.id)),
        "name": rec.name,
        "size_in_bytes": rec.size_in_bytes,
        "url": url,
        "archive_download_url": format!("{url}/zip"),
        "expired": rec.expired,
        "created_at": timestamp(rec.created_at),
        "updated_at": timestamp(rec.updated_at),
        "expires_at": timestamp(rec.expires_at),
        "digest": rec.digest,
        "workflow_run": workflow_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed "now" of the store's unit tests.
    pub(super) fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn ids_are_unique_across_repos_and_lookups_respect_the_repo() {
        let store = ArtifactStore::with_clock(Arc::new(t0));
        let a = store.create_finished("o/a", 1, "x", b"aa".to_vec(), t0());
        let b = store.create_finished("o/b", 1, "x", b"bbb".to_vec(), t0());
        assert_ne!(a.id, b.id);
        assert_eq!(store.get("o/a", a.id), Some(a.clone()));
        assert_eq!(store.get("o/b", a.id), None);
        assert_eq!(store.list_for_run("o/a", 1), vec![a.clone()]);
        assert_eq!(store.list_for_repo("o/b"), vec![b.clone()]);
        assert!(!store.delete("o/b", a.id));
        assert!(store.delete("o/a", a.id));
        assert!(store.get("o/a", a.id).is_none());
    }

    #[test]
    fn json_has_schema_fields_and_run_details() {
        let store = ArtifactStore::with_clock(Arc::new(t0));
        store.register_run(
            "octo/api",
            42,
            RunInfo {
                repository_id: 9,
                head_repository_id: 9,
                head_branch: "main".into(),
                head_sha: "abc".into(),
            },
        );
        let rec = store.create_finished("octo/api", 42, "build-info", b"zip".to_vec(), t0());
        let v = artifact_json(&rec, "http://127.0.0.1:1/");
        assert_eq!(v["name"], "build-info");
        assert_eq!(v["size_in_bytes"], 3);
        assert_eq!(
            v["url"],
            format!(
                "http://127.0.0.1:1/repos/octo/api/actions/artifacts/{}",
                rec.id
            )
        );
        assert_eq!(
            v["archive_download_url"],
            format!(
                "http://127.0.0.1:1/repos/octo/api/actions/artifacts/{}/zip",
                rec.id
            )
        );
        assert_eq!(v["digest"], sha256_digest(b"zip"));
        assert_eq!(v["created_at"], "2026-03-01T10:00:00Z");
        assert_eq!(v["expires_at"], "2026-05-30T10:00:00Z");
        assert_eq!(v["expired"], false);
        assert_eq!(v["workflow_run"]["id"], 42);
        assert_eq!(v["workflow_run"]["head_sha"], "abc");
    }

    #[test]
    fn past_expires_at_reads_as_expired_by_the_store_clock() {
        let now = Arc::new(Mutex::new(t0()));
        let clock = Arc::clone(&now);
        let store = ArtifactStore::with_clock(Arc::new(move || {
            *clock.lock().unwrap_or_else(PoisonError::into_inner)
        }));
        let rec = store.create_finished("o/a", 1, "x", b"a".to_vec(), t0());
        assert!(store.get("o/a", rec.id).is_some_and(|r| !r.expired));
        *now.lock().unwrap_or_else(PoisonError::into_inner) = t0() + Duration::days(91);
        assert!(store.get("o/a", rec.id).is_some_and(|r| r.expired));
        assert!(store.list_for_run("o/a", 1).iter().all(|r| r.expired));
        assert!(store.content(rec.id).is_none());
    }

    #[test]
    fn expire_marks_and_drops_content() {
        let store = ArtifactStore::with_clock(Arc::new(t0));
        let rec = store.create_finished("o/a", 1, "x", b"aa".to_vec(), t0());
        assert!(store.content(rec.id).is_some());
        assert!(store.expire(rec.id));
        assert!(store.get("o/a", rec.id).is_some_and(|r| r.expired));
        assert!(store.content(rec.id).is_none());
        assert!(!store.expire(123));
    }
}
