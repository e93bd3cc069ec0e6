//! The upload half of the store: what CreateArtifact opens, the blob service fills block by
//! block, and FinalizeArtifact checks and publishes as an artifact.

use std::collections::HashMap;

use axum::body::Bytes;
use chrono::{DateTime, Duration, Utc};

use super::{
    ArtifactError, ArtifactRecord, ArtifactStore, DEFAULT_RETENTION_DAYS, Draft, Inner,
    sha256_digest,
};
/// A block named in a Put Block List body, by the list it is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockRef {
    Latest(String),
    Committed(String),
    Uncommitted(String),
}

/// What CreateArtifact asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewUpload<'a> {
    pub repo: &'a str,
    pub run_id: u64,
    pub name: &'a str,
    pub job_backend_id: &'a str,
    pub content_type: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Properties of a committed blob, echoed in Azure response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlobProps {
    pub etag: String,
    pub last_modified: DateTime<Utc>,
}

pub(super) struct CommittedBlob {
    bytes: Bytes,
    content_type: Option<String>,
}

pub(super) struct PendingUpload {
    repo: String,
    run_id: u64,
    name: String,
    job_backend_id: String,
    content_type: String,
    expires_at: DateTime<Utc>,
    staged: HashMap<String, Bytes>,
    committed_blocks: HashMap<String, Bytes>,
    blob: Option<CommittedBlob>,
}

impl ArtifactStore {
    /// Opens an upload (CreateArtifact); returns the key its signed upload URL names.
    pub(crate) fn begin_upload(
        &self,
        new: &NewUpload<'_>,
        now: DateTime<Utc>,
    ) -> Result<String, ArtifactError> {
        let NewUpload {
            repo,
            run_id,
            name,
            job_backend_id,
            content_type,
            expires_at,
        } = *new;
        let mut inner = self.lock();
        let taken =
            inner.artifacts.values().any(|s| {
                s.record.repo == repo && s.record.run_id == run_id && s.record.name == name
            }) || inner
                .uploads
                .values()
                .any(|u| u.repo == repo && u.run_id == run_id && u.name == name);
        if taken {
            return Err(ArtifactError::AlreadyExists);
        }
        let key = uuid::Uuid::new_v4().simple().to_string();
        inner.uploads.insert(
            key.clone(),
            PendingUpload {
                repo: repo.to_owned(),
                run_id,
                name: name.to_owned(),
                job_backend_id: job_backend_id.to_owned(),
                content_type: content_type.to_owned(),
                expires_at: expires_at
                    .unwrap_or_else(|| now + Duration::days(DEFAULT_RETENTION_DAYS)),
                staged: HashMap::new(),
                committed_blocks: HashMap::new(),
                blob: None,
            },
        );
        Ok(key)
    }

    /// Put Block: stages one uncommitted block (a re-sent block id replaces the earlier one).
    pub(crate) fn stage_block(
        &self,
        key: &str,
        block_id: &str,
        bytes: Bytes,
    ) -> Result<(), ArtifactError> {
        let mut inner = self.lock();
        let upload = inner.upload_mut(key)?;
        upload.staged.insert(block_id.to_owned(), bytes);
        Ok(())
    }

    /// Put Block List: the blob becomes the named blocks in order; unnamed blocks are dropped.
    pub(crate) fn commit_blocks(
        &self,
        key: &str,
        blocks: &[BlockRef],
        content_type: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<BlobProps, ArtifactError> {
        let mut inner = self.lock();
        let upload = inner.upload_mut(key)?;
        let mut chosen: Vec<(String, Bytes)> = Vec::with_capacity(blocks.len());
        for block in blocks {
            let found = match block {
                BlockRef::Latest(id) => upload
                    .staged
                    .get(id)
                    .or_else(|| upload.committed_blocks.get(id))
                    .map(|b| (id, b)),
                BlockRef::Uncommitted(id) => upload.staged.get(id).map(|b| (id, b)),
                BlockRef::Committed(id) => upload.committed_blocks.get(id).map(|b| (id, b)),
            };
            let (id, bytes) = found.ok_or_else(|| {
                let (BlockRef::Latest(id) | BlockRef::Committed(id) | BlockRef::Uncommitted(id)) =
                    block;
                ArtifactError::InvalidBlockList(id.clone())
            })?;
            chosen.push((id.clone(), bytes.clone()));
        }
        let mut content = Vec::with_capacity(chosen.iter().map(|(_, b)| b.len()).sum());
        for (_, bytes) in &chosen {
            content.extend_from_slice(bytes);
        }
        upload.staged.clear();
        upload.committed_blocks = chosen.into_iter().collect();
        upload.blob = Some(CommittedBlob {
            bytes: Bytes::from(content),
            content_type,
        });
        Ok(inner.props(now))
    }

    /// Put Blob: replaces the whole blob in one request.
    pub(crate) fn put_blob(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<BlobProps, ArtifactError> {
        let mut inner = self.lock();
        let upload = inner.upload_mut(key)?;
        upload.staged.clear();
        upload.committed_blocks.clear();
        upload.blob = Some(CommittedBlob {
            bytes,
            content_type,
        });
        Ok(inner.props(now))
    }

    /// FinalizeArtifact: checks size and hash against the committed blob, then publishes it.
    pub(crate) fn finalize_upload(
        &self,
        repo: &str,
        run_id: u64,
        name: &str,
        size: u64,
        hash: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ArtifactRecord, ArtifactError> {
        let mut inner = self.lock();
        let key = inner
            .uploads
            .iter()
            .find(|(_, u)| u.repo == repo && u.run_id == run_id && u.name == name)
            .map(|(k, _)| k.clone())
            .ok_or(ArtifactError::NotFound)?;
        let upload = inner.uploads.get(&key).ok_or(ArtifactError::NotFound)?;
        let blob = upload.blob.as_ref().ok_or(ArtifactError::NotUploaded)?;
        let actual = blob.bytes.len() as u64;
        if size != actual {
            return Err(ArtifactError::SizeMismatch {
                declared: size,
                actual,
            });
        }
        let digest = sha256_digest(&blob.bytes);
        if let Some(declared) = hash
            && declared != digest
        {
            return Err(ArtifactError::HashMismatch {
                declared: declared.to_owned(),
                actual: digest,
            });
        }
        let upload = inner.uploads.remove(&key).ok_or(ArtifactError::NotFound)?;
        let blob = upload.blob.ok_or(ArtifactError::NotUploaded)?;
        // The mime type named at CreateArtifact wins; the blob header is the fallback.
        let content_type = if upload.content_type.is_empty() {
            blob.content_type
                .unwrap_or_else(|| "application/zip".to_owned())
        } else {
            upload.content_type
        };
        Ok(inner.insert(Draft {
            repo: upload.repo,
            run_id: upload.run_id,
            name: upload.name,
            bytes: blob.bytes,
            content_type,
            expires_at: upload.expires_at,
            job_backend_id: Some(upload.job_backend_id),
            now,
        }))
    }
}

impl Inner {
    /// The open upload `key` names (the blob service's view of it).
    fn upload_mut(&mut self, key: &str) -> Result<&mut PendingUpload, ArtifactError> {
        self.uploads
            .get_mut(key)
            .ok_or(ArtifactError::UploadNotFound)
    }

    fn props(&mut self, now: DateTime<Utc>) -> BlobProps {
        let n = self.next_etag;
        self.next_etag += 1;
        BlobProps {
            etag: format!("\"0x8DC{:012X}\"", n),
            last_modified: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::artifacts::tests::t0;

    #[test]
    fn block_commit_orders_blocks_and_rejects_unknown_ones() {
        let store = ArtifactStore::with_clock(Arc::new(t0));
        let new = NewUpload {
            repo: "o/a",
            run_id: 1,
            name: "art",
            job_backend_id: "job",
            content_type: "application/zip",
            expires_at: None,
        };
        let key = store.begin_upload(&new, t0()).expect("first upload");
        assert_eq!(
            store.begin_upload(&new, t0()),
            Err(ArtifactError::AlreadyExists)
        );
        store
            .stage_block(&key, "b1", Bytes::from_static(b"world"))
            .expect("stage");
        store
            .stage_block(&key, "b0", Bytes::from_static(b"hello "))
            .expect("stage");
        let bad = [BlockRef::Latest("nope".into())];
        assert_eq!(
            store.commit_blocks(&key, &bad, None, t0()),
            Err(ArtifactError::InvalidBlockList("nope".into()))
        );
        let list = [
            BlockRef::Latest("b0".into()),
            BlockRef::Uncommitted("b1".into()),
        ];
        store
            .commit_blocks(&key, &list, None, t0())
            .expect("commit");
        assert_eq!(
            store.finalize_upload("o/a", 1, "art", 3, None, t0()),
            Err(ArtifactError::SizeMismatch {
                declared: 3,
                actual: 11
            })
        );
        let rec = store
            .finalize_upload(
                "o/a",
                1,
                "art",
                11,
                Some(&sha256_digest(b"hello world")),
                t0(),
            )
            .expect("finalize");
        assert_eq!(
            store.content(rec.id).map(|(_, b)| b),
            Some(Bytes::from_static(b"hello world"))
        );
        assert_eq!(rec.job_backend_id.as_deref(), Some("job"));
    }
}
