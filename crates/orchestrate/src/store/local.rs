//! The `local` store (and `--manifest-dir`): documents as files under a directory. A write
//! puts the digest file (`<key>.sha256`) and then the document each in place with a temporary
//! file and a rename in the same directory, so a reader never sees half a file; a read checks
//! the document against its digest file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use orchestrate_core::artifact::{DocumentKey, verify_sha256};

use super::{MAX_DOCUMENT, StoreError, Stored, digest};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn io(&self, what: String) -> impl FnOnce(std::io::Error) -> StoreError {
        move |source| StoreError::Io {
            store: "local store".to_owned(),
            what,
            source,
        }
    }

    /// The directory can be created and written to.
    pub fn preflight(&self) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.root)
            .map_err(self.io(format!("cannot create {}", self.root.display())))?;
        let probe = tempfile::Builder::new()
            .prefix(".orchestrate-preflight-")
            .tempfile_in(&self.root)
            .map_err(self.io(format!("cannot write to {}", self.root.display())))?;
        drop(probe);
        Ok(())
    }

    fn path_of(&self, key: &DocumentKey) -> Result<PathBuf, StoreError> {
        Ok(self.root.join(key.path()?))
    }

    pub fn put(&self, key: &DocumentKey, bytes: &[u8]) -> Result<Stored, StoreError> {
        let path = self.path_of(key)?;
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir)
            .map_err(self.io(format!("cannot create {}", dir.display())))?;
        let sum = digest(bytes);
        atomic_write(&dir, &sidecar(&path), format!("{sum}\n").as_bytes())
            .map_err(self.io(format!("cannot write {}", sidecar(&path).display())))?;
        atomic_write(&dir, &path, bytes)
            .map_err(self.io(format!("cannot write {}", path.display())))?;
        Ok(Stored {
            location: path.display().to_string(),
            digest: sum,
            size: bytes.len() as u64,
            artifact_id: None,
            requests: 0,
        })
    }

    pub fn get(&self, key: &DocumentKey) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let path = self.path_of(key)?;
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(format!("cannot read {}", path.display()))(e)),
        };
        if meta.len() > MAX_DOCUMENT {
            return Err(self.io(format!(
                "{} is larger than {MAX_DOCUMENT} bytes",
                path.display()
            ))(std::io::Error::other("too large")));
        }
        let bytes =
            std::fs::read(&path).map_err(self.io(format!("cannot read {}", path.display())))?;
        let expected = std::fs::read_to_string(sidecar(&path)).ok();
        verify_sha256(&path.display().to_string(), expected.as_deref(), &bytes).map_err(
            |source| StoreError::Digest {
                store: "local store".to_owned(),
                source,
            },
        )?;
        Ok(Some((bytes, path.display().to_string())))
    }
}

fn sidecar(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

/// Writes `bytes` to `path` through a temporary file in `dir`, synced, then renamed over it.
fn atomic_write(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix(".orchestrate-")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
