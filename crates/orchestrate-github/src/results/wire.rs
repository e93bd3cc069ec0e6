//! The results service's wire details: the backend ids inside the runtime token, protobuf JSON
//! scalars, which statuses are retried, and the zip an uploaded artifact is packed in.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::{Result, ResultsError};

/// The backend ids of `Actions.Results:<run>:<job>` in the token's `scp` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendIds {
    pub run: String,
    pub job: String,
}

impl BackendIds {
    /// Decodes the JWT's payload without verifying it (protocol.md §3.2,
    /// `getBackendIdsFromToken`).
    pub fn from_token(token: &str) -> Result<BackendIds> {
        let payload = token.split('.').nth(1).ok_or(ResultsError::BadToken)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| ResultsError::BadToken)?;
        let claims: Value = serde_json::from_slice(&bytes).map_err(|_| ResultsError::BadToken)?;
        let scp = claims["scp"].as_str().ok_or(ResultsError::BadToken)?;
        scp.split(' ')
            .find_map(|scope| {
                let parts: Vec<&str> = scope.split(':').collect();
                match parts.as_slice() {
                    ["Actions.Results", run, job] if !run.is_empty() && !job.is_empty() => {
                        Some(BackendIds {
                            run: (*run).to_owned(),
                            job: (*job).to_owned(),
                        })
                    }
                    _ => None,
                }
            })
            .ok_or(ResultsError::BadToken)
    }
}

/// The statuses `@actions/artifact` retries.
pub(super) fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}
/// An int64 as protobuf JSON writes it (a string) or as a number.
pub(super) fn int64(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// A `StringValue` bare or wrapped (`{"value": …}`).
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("value").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

/// A zip holding `files` (path, content), deflated, as upload-artifact packs them.
pub fn zip_files(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (path, content) in files {
            zip.start_file(*path, options)
                .map_err(|e| ResultsError::Zip(e.to_string()))?;
            zip.write_all(content)
                .map_err(|e| ResultsError::Zip(e.to_string()))?;
        }
        zip.finish().map_err(|e| ResultsError::Zip(e.to_string()))?;
    }
    Ok(out.into_inner())
}
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn token(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn backend_ids_come_from_the_scp_claim() {
        let t = token(r#"{"scp":"Actions.ExampleScope Actions.Results:run-1:job-2"}"#);
        assert_eq!(
            BackendIds::from_token(&t).ok(),
            Some(BackendIds {
                run: "run-1".into(),
                job: "job-2".into()
            })
        );
        for bad in [
            token(r#"{"scp":"Actions.Results:only-run"}"#),
            token(r#"{"scp":"Actions.Other:a:b"}"#),
            token(r#"{"sub":"x"}"#),
            "not-a-jwt".to_owned(),
        ] {
            assert!(
                matches!(BackendIds::from_token(&bad), Err(ResultsError::BadToken)),
                "{bad}"
            );
        }
    }

    #[test]
    fn int64_values_are_strings_or_numbers() {
        assert_eq!(int64(&json!("7000001")), Some(7_000_001));
        assert_eq!(int64(&json!(5)), Some(5));
        assert_eq!(int64(&json!(null)), None);
        assert_eq!(
            scalar_text(&json!({"value": "sha256:ab"})).as_deref(),
            Some("sha256:ab")
        );
    }

    #[test]
    fn zips_unpack_to_the_same_bytes() {
        let zip = zip_files(&[("manifest.json", b"{\"a\":1}\n")]).expect("packs");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("reads");
        let mut file = archive.by_name("manifest.json").expect("present");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).expect("reads");
        assert_eq!(text, "{\"a\":1}\n");
    }
}
