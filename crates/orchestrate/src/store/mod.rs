//! Where a release's documents go: the manifest at the end of every release (and dry run), and
//! the typed artifacts services hand on (`share:`). One [`Store`] per release, chosen by the
//! plan's `artifacts.store`:
//!
//! - `github` (default): the manifest is uploaded as artifact `orchestrate-manifest-<id>` of
//!   the orchestrating run through the Actions results service (`github.rs`); outside Actions
//!   it is written to `--manifest-dir` instead. Shared artifacts stay where their run uploaded
//!   them (the manifest references them).
//! - `s3`: an S3-compatible bucket through `object_store` (`s3.rs`).
//! - `local`: a directory (`local.rs`).
//!
//! Keys are `<plan>/<environment>/<deployment_id>/<kind>.json` (a service's documents one
//! level deeper, under its name); every write is atomic (temp + rename, or one PUT) and
//! carries a SHA-256 that every read verifies.

pub mod github;
pub mod local;
pub mod s3;

#[cfg(test)]
mod tests;

use orchestrate_core::artifact::{DigestError, DocumentKey};

pub use github::GithubStore;
pub use local::LocalStore;
pub use s3::S3Store;

/// Manifests and typed documents larger than this are refused on read (a manifest of fifty
/// services is about 60 kB).
pub const MAX_DOCUMENT: u64 = 16 << 20;

/// A document once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The artifact name, `s3://bucket/key` or the file path.
    pub location: String,
    /// `sha256:<hex>` of the document (for the `github` store: of the zip, as GitHub reports it).
    pub digest: String,
    pub size: u64,
    /// The artifact id (the `github` store).
    pub artifact_id: Option<u64>,
    /// Requests the write took, retries included.
    pub requests: u32,
}

/// Why a store could not be used. Messages never hold a credential.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store refused: bad credentials, no such bucket, no permission. Retrying will not
    /// help; the hint says what to fix.
    #[error("{store}: {message}")]
    Refused {
        store: String,
        message: String,
        hint: String,
    },
    /// No answer, or a transient error, after the retries allowed.
    #[error("{store}: cannot reach the store: {message}")]
    Unreachable {
        store: String,
        message: String,
        hint: String,
    },
    /// The store cannot be used in this environment (e.g. no runtime token in Actions).
    #[error("{0}")]
    Unavailable(String),
    #[error("{store}: {source}")]
    Digest {
        store: String,
        #[source]
        source: DigestError,
    },
    #[error("{store}: {what}")]
    Io {
        store: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad store key: {0}")]
    Key(#[from] orchestrate_core::artifact::key::BadSegment),
}

impl StoreError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            StoreError::Refused { hint, .. } | StoreError::Unreachable { hint, .. } => {
                hint.clone()
            }
            StoreError::Unavailable(_) => {
                "the runner passes ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL to container actions; outside Actions the manifest goes to --manifest-dir".to_owned()
            }
            StoreError::Digest { .. } => {
                "the stored document changed after it was written; check who else writes to the store".to_owned()
            }
            StoreError::Io { .. } => "check that the directory exists and is writable".to_owned(),
            StoreError::Key(_) => {
                "plan, environment and service names become key segments".to_owned()
            }
        }
    }
}

/// The plan's store for one release.
#[derive(Debug)]
pub enum Store {
    Github(GithubStore),
    S3(S3Store),
    Local(LocalStore),
}

impl Store {
    /// `github`, `s3` or `local`.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Github(_) => "github",
            Store::S3(_) => "s3",
            Store::Local(_) => "local",
        }
    }

    /// Where documents go, for people.
    pub fn describe(&self) -> String {
        match self {
            Store::Github(s) => s.describe(),
            Store::S3(s) => s.describe(),
            Store::Local(s) => s.describe(),
        }
    }

    /// Checks, before anything is dispatched, that the store can be written to (exit 2 when
    /// it cannot). The `github` store has nothing to check beforehand: its upload happens in
    /// the run itself, and a failure there is only a warning.
    pub async fn preflight(&self) -> Result<(), StoreError> {
        match self {
            Store::Github(s) => s.preflight(),
            Store::S3(s) => s.preflight().await,
            Store::Local(s) => s.preflight(),
        }
    }

    /// Writes the release manifest.
    pub async fn put_manifest(&self, key: &DocumentKey, json: &[u8]) -> Result<Stored, StoreError> {
        match self {
            Store::Github(s) => s.put_manifest(key, json).await,
            Store::S3(s) => s.put(key, json).await,
            Store::Local(s) => s.put(key, json),
        }
    }

    /// Copies a document a service hands on; `None` for the `github` store, which leaves it
    /// as the artifact of the run that uploaded it.
    pub async fn put_shared(
        &self,
        key: &DocumentKey,
        json: &[u8],
    ) -> Result<Option<Stored>, StoreError> {
        match self {
            Store::Github(_) => Ok(None),
            Store::S3(s) => s.put(key, json).await.map(Some),
            Store::Local(s) => s.put(key, json).map(Some),
        }
    }

    /// Reads a manifest back, its digest verified; `Ok(None)` when there is none.
    pub async fn get_manifest(
        &self,
        key: &DocumentKey,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        match self {
            Store::Github(s) => s.get_manifest(key).await,
            Store::S3(s) => s.get(key).await,
            Store::Local(s) => s.get(key),
        }
    }
}

/// `sha256:` of bytes: the digest every store records and checks.
pub(crate) fn digest(bytes: &[u8]) -> String {
    orchestrate_core::artifact::sha256_digest(bytes)
}

/// What opening the plan's store needs from around the release.
pub struct StoreContext<'a> {
    pub env: &'a crate::env::Env,
    /// The release's GitHub client (reads manifests back by REST).
    pub github: std::sync::Arc<dyn orchestrate_github::GitHub>,
    /// The orchestrating repository.
    pub orchestrator: orchestrate_github::Repo,
    /// Where the manifest goes outside Actions with the `github` store.
    pub manifest_dir: std::path::PathBuf,
    /// Masks the signed URLs' signatures before they are used.
    pub on_secret: Option<orchestrate_github::SecretHook>,
}

/// The store the plan names. Errors are what can be told without the network (no AWS
/// credentials): bad input, before anything is dispatched.
pub fn open(
    config: &orchestrate_core::plan::StoreConfig,
    ctx: StoreContext<'_>,
) -> Result<Store, StoreError> {
    use orchestrate_core::plan::StoreConfig;
    match config {
        StoreConfig::Github => {
            let upload = if ctx.env.in_github_actions() {
                match ctx.env.actions_runtime() {
                    Some((url, token)) => {
                        let config = orchestrate_github::results::ResultsConfig {
                            on_secret: ctx.on_secret,
                            ..Default::default()
                        };
                        match orchestrate_github::results::ResultsClient::new(&url, &token, config)
                        {
                            Ok(client) => github::Upload::Results(client),
                            Err(e) => github::Upload::Unavailable(format!(
                                "the manifest cannot be uploaded: {e}"
                            )),
                        }
                    }
                    None => github::Upload::Unavailable(format!(
                        "the manifest cannot be uploaded: {} not set in the action's environment",
                        ctx.env.missing_actions_runtime().join(" and ")
                    )),
                }
            } else {
                github::Upload::Dir(LocalStore::new(ctx.manifest_dir))
            };
            Ok(Store::Github(GithubStore::new(
                upload,
                ctx.github,
                ctx.orchestrator,
            )))
        }
        StoreConfig::S3 {
            bucket,
            prefix,
            region,
            endpoint,
        } => {
            let config = s3::S3Config::new(bucket, prefix, region.as_deref(), endpoint.as_deref());
            S3Store::new(config, &ctx.env.aws_credentials()).map(Store::S3)
        }
        StoreConfig::Local { path } => Ok(Store::Local(LocalStore::new(path))),
    }
}
