//! The benchmark's figures from what was measured: detection latencies (real clocks) and the
//! emulator's request log, summarised and rendered. Pure: no clock, no I/O.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use orchestrate_emulator::RecordedRequest;
use serde::Serialize;

/// One case's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFigures {
    pub case: String,
    pub title: String,
    pub runs: usize,
    pub repositories: usize,
    /// Run completed (emulator clock, to the nanosecond) → the watcher reported it, in ms.
    pub detection_ms: Quantiles,
    /// Requests spent awaiting (run lists, single runs, the history lists), from the log.
    pub awaiting: Requests,
    /// The same, per awaited run.
    pub per_run: PerRun,
    /// Every request of the case: `METHOD path-template` → status → count.
    pub log: BTreeMap<String, BTreeMap<u16, u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    pub p50: u64,
    pub p95: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    pub total: u64,
    /// Counted against the primary rate limit (a 304 is not).
    pub counted: u64,
    pub not_modified: u64,
    /// Of `total`, the workflow history lists (one per repository and workflow).
    pub history: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PerRun {
    pub total: f64,
    pub counted: f64,
    pub not_modified: f64,
}

/// Nearest-rank quantiles of `latencies`; all zero when empty.
pub fn quantiles(latencies: &[Duration]) -> Quantiles {
    let ms: Vec<i64> = latencies.iter().map(|d| d.as_millis() as i64).collect();
    let at = |p| orchestrate_core::stats::percentile(&ms, p).unwrap_or(0) as u64;
    Quantiles {
        p50: at(50),
        p95: at(95),
        max: at(100),
    }
}

/// What awaiting cost, from the log: `GET …/actions/runs[/{id}]` and the workflow run lists.
pub fn awaiting(log: &[RecordedRequest]) -> Requests {
    let mut requests = Requests::default();
    for r in log.iter().filter(|r| r.method == "GET") {
        let path = r.path_only();
        let history = is_history(path);
        if !history && !crate::commands::rehearse::is_run_poll(path) {
            continue;
        }
        requests.total += 1;
        requests.counted += u64::from(r.counted);
        requests.not_modified += u64::from(r.status == 304);
        requests.history += u64::from(history);
    }
    requests
}

pub fn per_run(requests: Requests, runs: usize) -> PerRun {
    let n = runs.max(1) as f64;
    PerRun {
        total: requests.total as f64 / n,
        counted: requests.counted as f64 / n,
        not_modified: requests.not_modified as f64 / n,
    }
}

/// `GET …/workflows/{workflow}/runs`: the history list a forecast is read from.
fn is_history(path: &str) -> bool {
    path.split_once("/actions/workflows/")
        .is_some_and(|(_, rest)| {
            rest.split('/').nth(1) == Some("runs") && rest.split('/').count() == 2
        })
}

/// The log grouped by method and path template (`{o}/{r}` for the repository, `{id}` for
/// numbers), then by status.
pub fn log_summary(log: &[RecordedRequest]) -> BTreeMap<String, BTreeMap<u16, u64>> {
    let mut summary: BTreeMap<String, BTreeMap<u16, u64>> = BTreeMap::new();
    for r in log {
        let key = format!("{} {}", r.method, template(r.path_only()));
        *summary.entry(key).or_default().entry(r.status).or_default() += 1;
    }
    summary
}

fn template(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let templated = match (i, parts.get(1)) {
            (2, Some(&"repos")) => "{o}",
            (3, Some(&"repos")) => "{r}",
            _ if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) => "{id}",
            _ => part,
        };
        out.push(templated);
    }
    out.join("/")
}

/// The peer's figures and the targets (issue 9), for the table.
const TARGETS: &str = "targets: detection p50 ≤ 1 s, p95 ≤ 3 s; requests per awaited run ≤ 4 \
(20 s run) / ≤ 12 (long run), ≤ 3 counted; best peer: p50 ≈ 2.5 s, p95 ≈ 4.8 s, 10 requests \
for a 20 s run, ≈ 120 for 10 min";

pub fn render(cases: &[CaseFigures]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<4} {:>4} {:>5}  {:>21}  {:>27}  {:>14}",
        "case",
        "runs",
        "repos",
        "detection p50/p95/max",
        "requests/run total/cnt/304",
        "total (304)"
    );
    for c in cases {
        let d = c.detection_ms;
        let _ = writeln!(
            out,
            "{:<4} {:>4} {:>5}  {:>21}  {:>27}  {:>14}",
            c.case,
            c.runs,
            c.repositories,
            format!("{} / {} / {} ms", d.p50, d.p95, d.max),
            format!(
                "{:.1} / {:.1} / {:.1}",
                c.per_run.total, c.per_run.counted, c.per_run.not_modified
            ),
            format!("{} ({})", c.awaiting.total, c.awaiting.not_modified),
        );
    }
    let _ = writeln!(out, "\n{TARGETS}");
    for c in cases {
        let _ = writeln!(out, "\ncase {}: {}", c.case, c.title);
        let _ = writeln!(
            out,
            "  awaiting: {} requests ({} history lists), {} counted, {} answered 304",
            c.awaiting.total, c.awaiting.history, c.awaiting.counted, c.awaiting.not_modified
        );
        for (request, statuses) in &c.log {
            let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
            let _ = writeln!(out, "  {request:<58} {}", statuses.join(" "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, status: u16) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            status,
            counted: status != 304,
            token_id: None,
            at: chrono::DateTime::UNIX_EPOCH,
            wall: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn awaiting_counts_run_lists_runs_and_history_only() {
        let log = [
            request(
                "POST",
                "/repos/bench/a-1/actions/workflows/deploy.yml/dispatches",
                200,
            ),
            request(
                "GET",
                "/repos/bench/a-1/actions/workflows/deploy.yml/runs?status=success",
                200,
            ),
            request("GET", "/repos/bench/a-1/actions/runs?per_page=100", 200),
            request("GET", "/repos/bench/a-1/actions/runs?per_page=100", 304),
            request("GET", "/repos/bench/a-1/actions/runs/17", 304),
            request("GET", "/repos/bench/a-1/actions/runs/17/jobs", 200),
        ];
        let r = awaiting(&log);
        assert_eq!(
            r,
            Requests {
                total: 4,
                counted: 2,
                not_modified: 2,
                history: 1
            }
        );
        assert_eq!(
            per_run(r, 2),
            PerRun {
                total: 2.0,
                counted: 1.0,
                not_modified: 1.0
            }
        );
        let summary = log_summary(&log);
        assert_eq!(
            summary["GET /repos/{o}/{r}/actions/runs"],
            BTreeMap::from([(200, 1), (304, 1)])
        );
        assert_eq!(
            summary["GET /repos/{o}/{r}/actions/runs/{id}"],
            BTreeMap::from([(304, 1)])
        );
        assert!(
            summary.contains_key("POST /repos/{o}/{r}/actions/workflows/deploy.yml/dispatches")
        );
    }

    #[test]
    fn quantiles_are_nearest_rank_in_milliseconds() {
        let latencies: Vec<Duration> = (1..=20).map(|i| Duration::from_millis(i * 100)).collect();
        assert_eq!(
            quantiles(&latencies),
            Quantiles {
                p50: 1000,
                p95: 1900,
                max: 2000
            }
        );
        assert_eq!(
            quantiles(&[]),
            Quantiles {
                p50: 0,
                p95: 0,
                max: 0
            }
        );
    }
}
