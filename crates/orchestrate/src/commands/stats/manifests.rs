//! The release manifests `orchestrate stats` reads beside the registry: one per release of
//! the period, by its release id, from the plan's store. With the `github` store that is the
//! copies in `--manifest-dir` (what `run` writes outside Actions; nothing is downloaded, so
//! reading costs no request); with `s3` one GET per release, with `local` one file read. A
//! manifest that is absent, unreadable or of another release leaves that release to the
//! registry's figures.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use orchestrate_core::artifact::{DocumentKey, Manifest};
use orchestrate_core::plan::{Plan, StoreConfig};
use orchestrate_core::stats::{Record, ReleaseTimes};
use orchestrate_github::GitHub;

use crate::env::Env;
use crate::store::{LocalStore, Store, StoreContext};

/// What was looked for, and found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ManifestsRead {
    /// Where they were looked for (`directory .orchestrate/manifests`, `s3 bucket …`), or
    /// why the store could not be opened.
    pub store: String,
    /// Releases of the period whose manifest was read (and used).
    pub read: usize,
    /// Releases without one.
    pub missing: usize,
    /// Manifests found that could not be used, each with why.
    pub unreadable: Vec<String>,
}

/// Where the plan's manifests can be read without downloading artifacts of Actions runs.
pub fn open(
    plan: &Plan,
    env: &Env,
    github: &Arc<dyn GitHub>,
    manifest_dir: &Path,
) -> Result<Store, String> {
    match &plan.artifacts {
        StoreConfig::Github => Ok(Store::Local(LocalStore::new(manifest_dir))),
        config => {
            let orchestrator = super::super::status::orchestrator_repo(env, plan)
                .ok_or_else(|| "the plan has no services".to_owned())?;
            let ctx = StoreContext {
                env,
                github: Arc::clone(github),
                orchestrator,
                manifest_dir: manifest_dir.to_path_buf(),
                on_secret: None,
            };
            crate::store::open(config, ctx).map_err(|e| format!("{e} ({})", e.hint()))
        }
    }
}

/// The manifests of the releases `records` belong to, in `environment` of `plan`.
pub async fn read(
    store: &Store,
    plan: &str,
    environment: &str,
    records: &[Record],
) -> (Vec<ReleaseTimes>, ManifestsRead) {
    let releases: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r.release_id.as_deref())
        .collect();
    let mut found = Vec::new();
    let mut read = ManifestsRead {
        store: store.describe(),
        ..ManifestsRead::default()
    };
    for id in releases {
        let key = DocumentKey::manifest(plan, environment, id);
        let bytes = match store.get_manifest(&key).await {
            Ok(Some((bytes, _))) => bytes,
            Ok(None) => {
                read.missing += 1;
                continue;
            }
            Err(e) => {
                tracing::warn!(release = %id, error = %e, "cannot read the release's manifest; its figures come from the registry");
                read.unreadable.push(format!("{id}: {e}"));
                continue;
            }
        };
        match Manifest::parse(&bytes) {
            Ok(m) if m.deployment_id == id && m.environment == environment && m.plan == plan => {
                found.push(ReleaseTimes::of(&m));
                read.read += 1;
            }
            Ok(m) => read.unreadable.push(format!(
                "{id}: the manifest is of release {} of `{}` in `{}`",
                m.deployment_id, m.plan, m.environment
            )),
            Err(e) => read.unreadable.push(format!("{id}: {e}")),
        }
    }
    (found, read)
}
