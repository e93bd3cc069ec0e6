//! Where a release's documents live in a store: `<plan>/<environment>/<deployment_id>/<kind>.json`
//! for the release's own documents (the manifest), and
//! `<plan>/<environment>/<deployment_id>/<service>/<kind>.json` for what a service hands on.
//! Every segment is checked so a key never climbs out of its prefix.

/// The name of the manifest artifact of the orchestrating run (the `github` store).
pub fn manifest_artifact_name(deployment_id: &str) -> String {
    format!("orchestrate-manifest-{deployment_id}")
}

/// A document's place, relative to the store's prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentKey {
    pub plan: String,
    pub environment: String,
    pub deployment_id: String,
    /// `None` for the release's own documents.
    pub service: Option<String>,
    /// `manifest`, `build_info`, … (the file is `<kind>.json`).
    pub kind: String,
}

/// A segment that cannot be part of a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` cannot be part of a store key: use letters, digits, `-`, `_` and `.` (not `..`)")]
pub struct BadSegment(pub String);

fn segment(value: &str) -> Result<&str, BadSegment> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(value)
    } else {
        Err(BadSegment(value.to_owned()))
    }
}

impl DocumentKey {
    pub fn manifest(plan: &str, environment: &str, deployment_id: &str) -> DocumentKey {
        DocumentKey {
            plan: plan.to_owned(),
            environment: environment.to_owned(),
            deployment_id: deployment_id.to_owned(),
            service: None,
            kind: "manifest".to_owned(),
        }
    }

    /// The relative path, `/`-separated; an error when a segment could escape or is empty.
    pub fn path(&self) -> Result<String, BadSegment> {
        let mut parts = vec![
            segment(&self.plan)?,
            segment(&self.environment)?,
            segment(&self.deployment_id)?,
        ];
        if let Some(service) = &self.service {
            parts.push(segment(service)?);
        }
        let file = format!("{}.json", segment(&self.kind)?);
        Ok(format!("{}/{file}", parts.join("/")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_plan_environment_release_kind() {
        let key = DocumentKey::manifest("pratiko", "staging", "1000000007");
        assert_eq!(
            key.path().as_deref(),
            Ok("pratiko/staging/1000000007/manifest.json")
        );
        let shared = DocumentKey {
            service: Some("backend".into()),
            kind: "build_info".into(),
            ..key.clone()
        };
        assert_eq!(
            shared.path().as_deref(),
            Ok("pratiko/staging/1000000007/backend/build_info.json")
        );
        assert_eq!(manifest_artifact_name("7"), "orchestrate-manifest-7");
    }

    #[test]
    fn no_segment_can_escape_the_prefix() {
        for bad in ["..", "", "a/b", "prod/../x", "a\\b", "é"] {
            let key = DocumentKey::manifest("p", bad, "1");
            assert_eq!(key.path(), Err(BadSegment(bad.to_owned())), "{bad:?}");
        }
    }
}
