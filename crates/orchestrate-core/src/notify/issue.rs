//! The GitHub issue texts: the failure issue (title and body), the comment a repeat failure
//! leaves on the open issue, and the comment a success leaves before closing it.
//!
//! An open issue labelled [`LABEL`] whose title starts with [`title_prefix`] is "the open
//! failure issue" of an environment: deduplication keys on that prefix, so the deployment id
//! at the end of the title may differ.

use std::fmt::Write as _;

use crate::notify::events::Notice;
use crate::notify::text::{
    elapsed, failure_line, outcome_words, rfc3339, rollback_line, strategy_str, title, versions,
};
use crate::report::{RollbackOutcome, RunReport, ServiceOutcome};

/// The label every orchestrate issue carries.
pub const LABEL: &str = "orchestration";

/// `Release failed in production`: what every failure issue of this environment starts with.
pub fn title_prefix(environment: &str) -> String {
    format!("Release failed in {environment}")
}

/// `Release failed in production (deployment 42)`. Every status that is not a success files
/// under the same prefix, so one open issue tracks an environment's trouble.
pub fn failure_title(report: &RunReport) -> String {
    format!(
        "{} (deployment {})",
        title_prefix(&report.environment),
        report.deployment_id
    )
}

/// The labels a new issue gets: [`LABEL`] and the configured ones, without repeats.
pub fn labels(configured: &[String]) -> Vec<String> {
    let mut out = vec![LABEL.to_owned()];
    for l in configured {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// The body of a new failure issue.
pub fn failure_body(report: &RunReport, notices: &[Notice]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "## {}\n", title(report));
    details(&mut b, report, notices);
    b.push_str(
        "\nA later failure in this environment comments here instead of opening another issue.\n",
    );
    b
}

/// The comment a repeat failure leaves on the open failure issue.
pub fn repeat_comment(report: &RunReport, notices: &[Notice]) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "## Failed again: {}\n", title(report));
    details(&mut b, report, notices);
    b
}

/// The comment a success leaves on the open failure issue (before closing it, when
/// `close_on_success` is set).
pub fn success_comment(report: &RunReport, closing: bool) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "## {}\n", title(report));
    let _ = writeln!(
        b,
        "Services deployed: {}.",
        report
            .services
            .iter()
            .filter(|s| s.outcome == ServiceOutcome::Succeeded)
            .map(|s| format!("`{}` {}", s.name, versions(s)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(url) = &report.orchestrator_run_url {
        let _ = writeln!(b, "\n[Orchestrating run]({url})");
    }
    if closing {
        let _ = writeln!(b, "\nClosing: {} is healthy again.", report.environment);
    }
    b
}

/// Escapes what would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn details(b: &mut String, report: &RunReport, notices: &[Notice]) {
    let events: Vec<&str> = notices.iter().map(|n| n.event.as_str()).collect();
    let _ = writeln!(
        b,
        "- **Plan:** {}\n- **Environment:** {}\n- **Deployment:** `{}`\n- **Strategy:** {}\n\
         - **Status:** {}\n- **Events:** {}\n- **Started:** {} (took {})",
        report.plan,
        report.environment,
        report.deployment_id,
        strategy_str(report.strategy),
        report.status.as_str(),
        events.join(", "),
        rfc3339(report.started_at),
        elapsed(report)
    );
    if let Some(err) = &report.error {
        let _ = writeln!(b, "- **Error:** {}", cell(err));
    }
    let failed: Vec<_> = report
        .services
        .iter()
        .filter(|s| s.failure.is_some() || failure_line(s).is_some())
        .collect();
    if !failed.is_empty() {
        b.push_str("\n### Failed services\n\n| service | version | failed job | failed step | run | details |\n|---|---|---|---|---|---|\n");
        for s in failed {
            let f = s.failure.as_ref();
            let job = match (
                f.and_then(|f| f.job.as_ref()),
                f.and_then(|f| f.job_url.as_ref()),
            ) {
                (Some(job), Some(url)) => format!("[{}]({url})", cell(job)),
                (Some(job), None) => cell(job),
                _ => "—".to_owned(),
            };
            let step = f
                .and_then(|f| f.step.as_deref())
                .map_or("—".to_owned(), cell);
            let run = s
                .run
                .as_ref()
                .map_or("—".to_owned(), |r| format!("[run {}]({})", r.id, r.url));
            let why = f
                .map(|f| f.message.clone())
                .or_else(|| failure_line(s))
                .unwrap_or_default();
            let _ = writeln!(
                b,
                "| `{}` | {} | {job} | {step} | {run} | {} |",
                s.name,
                cell(&versions(s)),
                cell(&why)
            );
        }
    }
    b.push_str("\n### All services\n\n");
    for s in &report.services {
        let run = s
            .run
            .as_ref()
            .map_or(String::new(), |r| format!(" ([run {}]({}))", r.id, r.url));
        let _ = writeln!(
            b,
            "- `{}` {}: {}{run}",
            s.name,
            versions(s),
            outcome_words(s.outcome)
        );
    }
    b.push_str("\n### Rollback\n\n");
    if report.rollbacks.is_empty() {
        b.push_str("No rollback was attempted.\n");
    }
    for r in &report.rollbacks {
        let run = r.run.as_ref().map_or(String::new(), |run| {
            format!(" ([run {}]({}))", run.id, run.url)
        });
        let flag = if matches!(r.outcome, RollbackOutcome::Succeeded) {
            ""
        } else {
            " — **needs attention**"
        };
        let _ = writeln!(b, "- {}{run}{flag}", rollback_line(r));
    }
    if let Some(url) = &report.orchestrator_run_url {
        let _ = writeln!(b, "\n[Orchestrating run]({url})");
    }
}
