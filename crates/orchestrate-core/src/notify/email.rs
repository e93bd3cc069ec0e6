//! The email: a subject, a plain-text body and an HTML body (every value escaped) saying the
//! same thing, sent as multipart/alternative.

use std::fmt::Write as _;

use crate::notify::events::{Notice, primary};
use crate::notify::text::{
    approval_line, elapsed, failure_line, outcome_words, rfc3339, rollback_line, strategy_str,
    title, versions,
};
use crate::report::RunReport;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The email announcing `notices` of `report`.
pub fn message(report: &RunReport, notices: &[Notice]) -> Email {
    let subject = match primary(notices) {
        Some(n) => format!("[orchestrate] {} [{}]", title(report), n.event.as_str()),
        None => format!("[orchestrate] {}", title(report)),
    };
    Email {
        subject: subject.replace(['\r', '\n'], " "),
        text: text_body(report, notices),
        html: html_body(report, notices),
    }
}

fn events_list(notices: &[Notice]) -> String {
    notices
        .iter()
        .map(|n| n.event.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn text_body(report: &RunReport, notices: &[Notice]) -> String {
    let mut t = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(t, "{}", title(report));
    let _ = writeln!(t);
    let _ = writeln!(t, "Plan:        {}", report.plan);
    let _ = writeln!(t, "Environment: {}", report.environment);
    let _ = writeln!(t, "Strategy:    {}", strategy_str(report.strategy));
    let _ = writeln!(t, "Status:      {}", report.status.as_str());
    let _ = writeln!(t, "Events:      {}", events_list(notices));
    let _ = writeln!(
        t,
        "Started:     {} (took {})",
        rfc3339(report.started_at),
        elapsed(report)
    );
    if let Some(err) = &report.error {
        let _ = writeln!(t, "Error:       {err}");
    }
    let _ = writeln!(t, "\nServices:");
    for s in &report.services {
        let _ = writeln!(
            t,
            "  - {}: {}, {}",
            s.name,
            versions(s),
            outcome_words(s.outcome)
        );
        if let Some(why) = failure_line(s) {
            let _ = writeln!(t, "      {why}");
        }
        if let Some(gate) = approval_line(s) {
            let _ = writeln!(t, "      approval: {gate}");
        }
        if let Some(run) = &s.run {
            let _ = writeln!(t, "      run: {}", run.url);
        }
    }
    if !report.rollbacks.is_empty() {
        let _ = writeln!(t, "\nRollback:");
        for r in &report.rollbacks {
            let _ = writeln!(t, "  - {}", rollback_line(r));
            if let Some(run) = &r.run {
                let _ = writeln!(t, "      run: {}", run.url);
            }
        }
    }
    if let Some(url) = &report.orchestrator_run_url {
        let _ = writeln!(t, "\nOrchestrating run: {url}");
    }
    t
}

fn html_body(report: &RunReport, notices: &[Notice]) -> String {
    let e = escape_html;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html><body>\n<h2>{}</h2>\n<table>\n",
        e(&title(report))
    );
    let rows = [
        ("Plan", report.plan.clone()),
        ("Environment", report.environment.clone()),
        ("Strategy", strategy_str(report.strategy).to_owned()),
        ("Status", report.status.as_str().to_owned()),
        ("Events", events_list(notices)),
        (
            "Started",
            format!("{} (took {})", rfc3339(report.started_at), elapsed(report)),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th align=\"left\">{k}</th><td>{}</td></tr>", e(&v));
    }
    if let Some(err) = &report.error {
        let _ = writeln!(
            h,
            "<tr><th align=\"left\">Error</th><td>{}</td></tr>",
            e(err)
        );
    }
    let _ = write!(
        h,
        "</table>\n<h3>Services</h3>\n<table border=\"1\" cellpadding=\"4\">\n\
         <tr><th>Service</th><th>Version</th><th>Outcome</th><th>Run</th><th>Details</th></tr>\n"
    );
    for s in &report.services {
        let run = s.run.as_ref().map_or(String::new(), |r| {
            format!("<a href=\"{}\">run {}</a>", e(&r.url), r.id)
        });
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{run}</td><td>{}</td></tr>",
            e(&s.name),
            e(&versions(s)),
            e(outcome_words(s.outcome)),
            e(&[failure_line(s), approval_line(s)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "))
        );
    }
    h.push_str("</table>\n");
    if !report.rollbacks.is_empty() {
        h.push_str("<h3>Rollback</h3>\n<ul>\n");
        for r in &report.rollbacks {
            let run = r.run.as_ref().map_or(String::new(), |run| {
                format!(" (<a href=\"{}\">run {}</a>)", e(&run.url), run.id)
            });
            let _ = writeln!(h, "<li>{}{run}</li>", e(&rollback_line(r)));
        }
        h.push_str("</ul>\n");
    }
    if let Some(url) = &report.orchestrator_run_url {
        let _ = writeln!(h, "<p><a href=\"{}\">Orchestrating run</a></p>", e(url));
    }
    h.push_str("</body></html>\n");
    h
}
