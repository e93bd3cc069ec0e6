//! The step outputs of SPEC §3 as (name, value) pairs; the sink writes them to
//! `$GITHUB_OUTPUT`. Lists are JSON arrays so workflows can use `fromJSON`.

use serde_json::{Map, Value, json};

use super::{RunReport, ser};

/// Outputs larger than this are cut down (the runner allows 1 MB per job in total).
pub const REPORT_OUTPUT_LIMIT: usize = 512 * 1024;

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

/// The whole report as compact JSON; the timeline is dropped first if it is too large.
pub fn report_json(report: &RunReport) -> String {
    let full = serde_json::to_string(report)
        .unwrap_or_else(|e| json!({"error": e.to_string()}).to_string());
    if full.len() <= REPORT_OUTPUT_LIMIT {
        return full;
    }
    let mut slim = report.clone();
    slim.timeline.clear();
    serde_json::to_string(&slim).unwrap_or_default()
}
