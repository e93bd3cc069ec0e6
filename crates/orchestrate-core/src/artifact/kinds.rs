//! The typed artifacts teams share in a release. Each is a JSON document whose `schema` field
//! names its kind and version (`orchestrate.build_info/v1`); within a version fields are only
//! ever added, never renamed or removed. A service's run uploads `build_info`,
//! `deployment_config` or `test_results`; orchestrate writes `health_report`,
//! `compatibility_report` and `performance_metrics` into the release manifest.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kinds, by their `schema` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    BuildInfo,
    DeploymentConfig,
    HealthReport,
    CompatibilityReport,
    PerformanceMetrics,
    TestResults,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::BuildInfo,
        Kind::DeploymentConfig,
        Kind::HealthReport,
        Kind::CompatibilityReport,
        Kind::PerformanceMetrics,
        Kind::TestResults,
    ];

    /// `build_info`, … : the kind in `schema` and in store keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BuildInfo => "build_info",
            Kind::DeploymentConfig => "deployment_config",
            Kind::HealthReport => "health_report",
            Kind::CompatibilityReport => "compatibility_report",
            Kind::PerformanceMetrics => "performance_metrics",
            Kind::TestResults => "test_results",
        }
    }

    /// `orchestrate.build_info/v1`.
    pub fn schema(self) -> String {
        format!("orchestrate.{}/v1", self.as_str())
    }

    /// The kind an artifact name stands for: `build-info`, `build_info` or `build_info.json`.
    pub fn from_artifact_name(name: &str) -> Option<Kind> {
        let stem = name.strip_suffix(".json").unwrap_or(name).replace('-', "_");
        Kind::ALL.into_iter().find(|k| k.as_str() == stem)
    }

    /// The kind a document's `schema` field names, and its version.
    pub fn from_schema(schema: &str) -> Option<(Kind, u32)> {
        let rest = schema.strip_prefix("orchestrate.")?;
        let (kind, version) = rest.split_once("/v")?;
        let kind = Kind::ALL.into_iter().find(|k| k.as_str() == kind)?;
        Some((kind, version.parse().ok()?))
    }
}

/// What a build produced: the version, the image and its digest, the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BuildInfo {
    #[schemars(extend("const" = "orchestrate.build_info/v1"))]
    pub schema: String,
    pub version: String,
    /// Container image reference, e.g. `ghcr.io/acme/api:1.3.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The image's digest, `sha256:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The commit built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// How a service was deployed: the inputs its deploy run received, rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeploymentConfig {
    #[schemars(extend("const" = "orchestrate.deployment_config/v1"))]
    pub schema: String,
    pub service: String,
    pub environment: String,
    pub version: String,
    /// Settings by name (workflow inputs, feature flags, replica counts …), as text.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// The verdict of a service's health gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Passed,
    Failed,
    NotChecked,
    NoCheck,
}

/// One service's health gate: was the new version really serving?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HealthReport {
    #[schemars(extend("const" = "orchestrate.health_report/v1"))]
    pub schema: String,
    pub service: String,
    pub verdict: HealthState,
    /// Checks made before the verdict.
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A `requires` range checked against a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CompatibilityCheck {
    pub service: String,
    pub requires: String,
    pub range: String,
    pub against: Option<String>,
    /// `ok`, `violated` or `unknown`.
    pub status: String,
    /// The state of the release it holds in (`after wave 1`); absent for the final state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Every `requires` range of the release and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CompatibilityReport {
    #[schemars(extend("const" = "orchestrate.compatibility_report/v1"))]
    pub schema: String,
    pub checks: Vec<CompatibilityCheck>,
}

/// One service's timings, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceTimings {
    /// From dispatch to a runner taking the run.
    pub queued_secs: Option<f64>,
    /// From dispatch until verified.
    pub duration_secs: Option<f64>,
    /// When it was dispatched, from the release's start (millisecond precision; what
    /// `orchestrate stats` measures coordination latency by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_secs: Option<f64>,
    /// When it settled (verified, or failed), from the release's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_secs: Option<f64>,
}

/// What the release took and cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PerformanceMetrics {
    #[schemars(extend("const" = "orchestrate.performance_metrics/v1"))]
    pub schema: String,
    /// From start to end, in seconds.
    pub duration_secs: f64,
    pub services: BTreeMap<String, ServiceTimings>,
    /// GitHub API requests made (a 304 included).
    pub requests: u64,
    /// Requests counted against the rate limit.
    pub requests_counted: u64,
    /// 304 Not Modified answers (free).
    pub not_modified: u64,
}

/// A test suite's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TestResults {
    #[schemars(extend("const" = "orchestrate.test_results/v1"))]
    pub schema: String,
    pub suite: String,
    pub passed: u64,
    pub failed: u64,
    #[serde(default)]
    pub skipped: u64,
    /// Link to the full report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Why a document is not a valid typed artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    #[error("the document is not JSON: {0}")]
    NotJson(String),
    #[error("the document's `schema` is `{found}`, expected `{expected}`")]
    WrongSchema { expected: String, found: String },
    #[error("the document does not have the shape of `{schema}`: {reason}")]
    Shape { schema: String, reason: String },
}

/// Checks that `bytes` is a `kind` document of a version this build reads (v1), and returns
/// it as JSON. A document without `schema` is refused: the tag is what makes it typed.
pub fn check_document(kind: Kind, bytes: &[u8]) -> Result<serde_json::Value, KindError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| KindError::NotJson(e.to_string()))?;
    let found = value
        .get("schema")
        .and_then(|s| s.as_str())
        .unwrap_or("")
        .to_owned();
    if found != kind.schema() {
        return Err(KindError::WrongSchema {
            expected: kind.schema(),
            found,
        });
    }
    let shape = |r: serde_json::Result<()>| {
        r.map_err(|e| KindError::Shape {
            schema: kind.schema(),
            reason: e.to_string(),
        })
    };
    let v = value.clone();
    shape(match kind {
        Kind::BuildInfo => serde_json::from_value::<BuildInfo>(v).map(drop),
        Kind::DeploymentConfig => serde_json::from_value::<DeploymentConfig>(v).map(drop),
        Kind::HealthReport => serde_json::from_value::<HealthReport>(v).map(drop),
        Kind::CompatibilityReport => serde_json::from_value::<CompatibilityReport>(v).map(drop),
        Kind::PerformanceMetrics => serde_json::from_value::<PerformanceMetrics>(v).map(drop),
        Kind::TestResults => serde_json::from_value::<TestResults>(v).map(drop),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_by_artifact_name_and_schema() {
        assert_eq!(
            Kind::from_artifact_name("build-info"),
            Some(Kind::BuildInfo)
        );
        assert_eq!(
            Kind::from_artifact_name("test_results.json"),
            Some(Kind::TestResults)
        );
        assert_eq!(Kind::from_artifact_name("sbom"), None);
        assert_eq!(
            Kind::from_schema("orchestrate.health_report/v1"),
            Some((Kind::HealthReport, 1))
        );
        assert_eq!(Kind::from_schema("orchestrate.nope/v1"), None);
        for kind in Kind::ALL {
            assert_eq!(Kind::from_schema(&kind.schema()), Some((kind, 1)));
        }
    }

    #[test]
    fn documents_must_carry_their_schema_and_shape() {
        let good = br#"{"schema":"orchestrate.build_info/v1","version":"1.3.0","image":"x:1"}"#;
        assert!(check_document(Kind::BuildInfo, good).is_ok());
        let untagged = br#"{"version":"1.3.0"}"#;
        assert!(matches!(
            check_document(Kind::BuildInfo, untagged),
            Err(KindError::WrongSchema { .. })
        ));
        let shapeless = br#"{"schema":"orchestrate.test_results/v1","suite":"unit"}"#;
        assert!(matches!(
            check_document(Kind::TestResults, shapeless),
            Err(KindError::Shape { .. })
        ));
        assert!(matches!(
            check_document(Kind::BuildInfo, b"not json"),
            Err(KindError::NotJson(_))
        ));
    }
}
