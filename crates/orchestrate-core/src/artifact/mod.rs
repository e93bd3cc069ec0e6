//! The artifact coordinator's pure half: the typed artifacts a release shares
//! (`orchestrate.<kind>/v1` JSON documents, [`kinds`]), the release [`manifest`] built from a
//! run report, where documents live in a store ([`key`]), their SHA-256 digests, and the JSON
//! Schemas generated from the types ([`schema`]). No I/O: the binary's stores write and read.

pub mod key;
pub mod kinds;
pub mod manifest;
pub mod schema;

pub use key::{DocumentKey, manifest_artifact_name};
pub use kinds::{
    BuildInfo, CompatibilityReport, DeploymentConfig, HealthReport, Kind, PerformanceMetrics,
    TestResults,
};
pub use manifest::{
    ArtifactRef, MANIFEST_SCHEMA, Manifest, ManifestService, PreviousRelease, RestoredService,
};

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`, the form GitHub's artifact `digest` uses.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Why a document read back from a store is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("{what} has no sha256 digest to check")]
    Missing { what: String },
    #[error("{what} failed its digest check: expected {expected}, read {actual}")]
    Mismatch {
        what: String,
        expected: String,
        actual: String,
    },
}

/// Checks that `bytes` hash to `expected` (`sha256:<hex>`, case-insensitive).
pub fn verify_sha256(what: &str, expected: Option<&str>, bytes: &[u8]) -> Result<(), DigestError> {
    let Some(expected) = expected.map(str::trim).filter(|e| e.starts_with("sha256:")) else {
        return Err(DigestError::Missing {
            what: what.to_owned(),
        });
    };
    let actual = sha256_digest(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(DigestError::Mismatch {
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_and_every_read_is_checked() {
        let digest = sha256_digest(b"abc");
        assert_eq!(
            digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            verify_sha256(
                "m",
                Some(&digest.to_uppercase().replace("SHA256", "sha256")),
                b"abc"
            ),
            Ok(())
        );
        assert!(matches!(
            verify_sha256("m", Some(&digest), b"abd"),
            Err(DigestError::Mismatch { .. })
        ));
        assert!(matches!(
            verify_sha256("m", None, b"abc"),
            Err(DigestError::Missing { .. })
        ));
        assert!(matches!(
            verify_sha256("m", Some("md5:00"), b"abc"),
            Err(DigestError::Missing { .. })
        ));
    }
}
