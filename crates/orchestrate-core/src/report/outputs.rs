//! The step outputs of SPEC §3 as (name, value) pairs; the sink writes them to
//! `$GITHUB_OUTPUT`. Lists are JSON arrays so workflows can use `fromJSON`.

use serde_json::{Map, Value, json};

use super::{RunReport, ser};

/// The runner allows 1 MB of outputs per job, counted in UTF-16 code units; the `report`
/// output keeps to under a third of that so the other outputs (and other steps) still fit.
pub const REPORT_OUTPUT_LIMIT: usize = 300 * 1024;

pub fn render(report: &RunReport) -> Vec<(&'static str, String)> {
    let failed: Vec<&str> = report.failed_services().map(|s| s.name.as_str()).collect();
    let rolled_back: Vec<&str> = report
        .rolled_back_services()
        .map(|r| r.service.as_str())
        .collect();
    vec![
        ("deployment_id", report.deployment_id.clone()),
        ("status", report.status.as_str().to_owned()),
        ("runs", runs(report).to_string()),
        ("failed_services", json!(failed).to_string()),
        ("rolled_back_services", json!(rolled_back).to_string()),
        (
            "manifest_artifact_id",
            report
                .manifest
                .as_ref()
                .and_then(|m| m.artifact_id)
                .map(|id| id.to_string())
                .unwrap_or_default(),
        ),
        ("report", report_json(report)),
    ]
}

/// Service → `{id, url, conclusion, outcome, duration}` for every service that was in the
/// release (`duration` in seconds).
pub fn runs(report: &RunReport) -> Value {
    let mut map = Map::new();
    for s in report.services.iter().filter(|s| s.to_version.is_some()) {
        map.insert(
            s.name.clone(),
            json!({
                "id": s.run.as_ref().map(|r| r.id),
                "url": s.run.as_ref().map(|r| r.url.as_str()),
                "conclusion": s.run.as_ref().and_then(|r| r.conclusion.as_deref()),
                "outcome": s.outcome.as_str(),
                "duration": s.duration.map(ser::round_ms),
            }),
        );
    }
    Value::Object(map)
}

/// The whole report as compact JSON, within [`REPORT_OUTPUT_LIMIT`] UTF-16 units: the timeline
/// goes first, then the per-service failure messages; if it is still too large, a stub that
/// says so and keeps the verdict.
pub fn report_json(report: &RunReport) -> String {
    let fits = |json: &str| json.encode_utf16().count() <= REPORT_OUTPUT_LIMIT;
    let full = to_json(report);
    if fits(&full) {
        return full;
    }
    let mut slim = report.clone();
    slim.timeline.clear();
    let without_timeline = to_json(&slim);
    if fits(&without_timeline) {
        return without_timeline;
    }
    for service in &mut slim.services {
        if let Some(failure) = service.failure.as_mut() {
            failure.message.clear();
        }
    }
    let slimmer = to_json(&slim);
    if fits(&slimmer) {
        return slimmer;
    }
    json!({
        "truncated": true,
        "reason": "the report is larger than a step output may be; the job summary has the details",
        "deployment_id": report.deployment_id,
        "environment": report.environment,
        "status": report.status.as_str(),
        "services": report.services.len(),
    })
    .to_string()
}

fn to_json(report: &RunReport) -> String {
    serde_json::to_string(report).unwrap_or_else(|e| json!({"error": e.to_string()}).to_string())
}
