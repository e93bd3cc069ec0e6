//! JSON Schemas (draft 2020-12) generated from the types that read the documents: the release
//! manifest and each typed artifact. The manifest's is committed at
//! `schema/manifest.schema.json` (a test keeps it equal to what the types generate).

use super::kinds::{
    BuildInfo, CompatibilityReport, DeploymentConfig, HealthReport, Kind, PerformanceMetrics,
    TestResults,
};
use super::manifest::Manifest;

/// The manifest's schema, with its `$id` and title.
pub fn manifest_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Manifest).to_value();
    schema["$id"] = "https://github.com/pratiko/orchestrate/schema/manifest.schema.json".into();
    schema["title"] = "orchestrate release manifest (orchestrate.manifest/v1)".into();
    schema
}

/// The schema of one typed artifact kind.
pub fn kind_schema(kind: Kind) -> serde_json::Value {
    let schema = match kind {
        Kind::BuildInfo => schemars::schema_for!(BuildInfo),
        Kind::DeploymentConfig => schemars::schema_for!(DeploymentConfig),
        Kind::HealthReport => schemars::schema_for!(HealthReport),
        Kind::CompatibilityReport => schemars::schema_for!(CompatibilityReport),
        Kind::PerformanceMetrics => schemars::schema_for!(PerformanceMetrics),
        Kind::TestResults => schemars::schema_for!(TestResults),
    };
    let mut schema = schema.to_value();
    schema["title"] = kind.schema().into();
    schema
}

/// The committed manifest schema's text: pretty JSON and a final newline.
pub fn manifest_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&manifest_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_manifest_schema_is_the_generated_one() {
        let committed = include_str!("../../../../schema/manifest.schema.json");
        assert!(
            committed == manifest_schema_text(),
            "schema/manifest.schema.json is stale: regenerate it with \
             `cargo test -p orchestrate --lib regenerate_manifest_schema -- --ignored`"
        );
    }

    #[test]
    fn schemas_pin_the_schema_tag() {
        let schema = manifest_schema();
        assert_eq!(
            schema["properties"]["schema"]["const"],
            "orchestrate.manifest/v1"
        );
        for kind in Kind::ALL {
            assert_eq!(
                kind_schema(kind)["properties"]["schema"]["const"],
                kind.schema(),
                "{kind:?}"
            );
        }
    }
}
