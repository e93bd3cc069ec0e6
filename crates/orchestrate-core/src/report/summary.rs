//! The job summary: a status line, the service table, failures, the Mermaid graph,
//! compatibility verdicts, the rollback section, notifications and timings. Always under the
//! runner's 1 MiB limit.

use std::fmt::Write as _;

use super::format::{self, cell, code, link};
use super::{CompatStatus, ReleaseStatus, RollbackOutcome, RunReport, ServiceOutcome, mermaid};

/// The runner drops (does not truncate) a summary over 1 MiB; stay well below it.
pub const SUMMARY_LIMIT: usize = 1_000_000;

/// Renders the whole summary, truncated with a visible marker if it would pass
/// [`SUMMARY_LIMIT`].
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    status_line(&mut out, report);
    service_table(&mut out, report);
    failures(&mut out, report);
    approvals(&mut out, report);
    let _ = write!(out, "\n### Plan\n\n{}", mermaid::render(report));
    compatibility(&mut out, report);
    rollbacks(&mut out, report);
    notifications(&mut out, report);
    manifest(&mut out, report);
    timings(&mut out, report);
    truncate(out, SUMMARY_LIMIT)
}

fn status_line(out: &mut String, r: &RunReport) {
    let verb = match r.status {
        ReleaseStatus::Succeeded => "succeeded",
        ReleaseStatus::Failed => "failed",
        ReleaseStatus::RolledBack => "failed and was rolled back",
        ReleaseStatus::Cancelled => "was cancelled",
        ReleaseStatus::Planned => "is planned (dry run)",
        ReleaseStatus::InProgress => "is in progress",
    };
    let _ = writeln!(
        out,
        "## {} Release {} to {} {verb}\n",
        format::status_icon(r.status),
        code(&r.plan),
        code(&r.environment)
    );
    let wall = r
        .finished_at
        .duration_since(r.started_at)
        .unwrap_or_default();
    let mut facts = vec![
        format!("deployment {}", code(&r.deployment_id)),
        format!("strategy `{}`", strategy_name(r)),
        format!("{} services", r.services.len()),
    ];
    if r.status != ReleaseStatus::Planned {
        facts.push(format!("took {}", format::duration(wall)));
    }
    if let Some(url) = &r.orchestrator_run_url {
        facts.push(link("orchestrating run", url));
    }
    let _ = writeln!(out, "{}", facts.join(" · "));
    if let Some(error) = &r.error {
        let _ = writeln!(out, "\n> [!CAUTION]\n> {}", cell(error));
    }
}

fn strategy_name(r: &RunReport) -> &'static str {
    match r.strategy {
        crate::plan::Strategy::Sequential => "sequential",
        crate::plan::Strategy::Parallel => "parallel",
        crate::plan::Strategy::Canary => "canary",
    }
}

fn service_table(out: &mut String, r: &RunReport) {
    out.push_str("\n| Service | Version | Run | Wait | Duration | Health | Result |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for s in &r.services {
        let version = match (&s.from_version, &s.to_version) {
            (from, Some(to)) => format!("{} → {}", from.as_deref().unwrap_or("none"), to),
            (Some(from), None) => format!("{from} (unchanged)"),
            (None, None) => "–".to_owned(),
        };
        let run = s.run.as_ref().map_or_else(
            || "–".to_owned(),
            |run| link(&format!("#{}", run.id), &run.url),
        );
        let name = if s.irreversible {
            format!("{} (irreversible)", cell(&s.name))
        } else {
            cell(&s.name)
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {run} | {} | {} | {} | {} {} |",
            cell(&version),
            format::opt_duration(s.queued),
            format::opt_duration(s.duration),
            cell(&format::health(&s.health)),
            format::outcome_icon(s.outcome),
            s.outcome.as_str()
        );
    }
}

fn failures(out: &mut String, r: &RunReport) {
    let failed: Vec<_> = r.services.iter().filter(|s| s.failure.is_some()).collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("\n### What failed\n\n");
    for s in failed {
        let Some(f) = &s.failure else { continue };
        let mut line = format!("- **{}**", cell(&s.name));
        // The message often names the job and step already; say them once.
        let named =
            |part: &Option<String>| part.as_ref().is_none_or(|p| f.message.contains(p.as_str()));
        if named(&f.job) && named(&f.step) {
            let _ = write!(line, ": {}", cell(&f.message));
        } else {
            match (&f.job, &f.step) {
                (Some(job), Some(step)) => {
                    let _ = write!(line, ": job {}, step {}", code(job), code(step));
                }
                (Some(job), None) => {
                    let _ = write!(line, ": job {}", code(job));
                }
                _ => {}
            }
            let _ = write!(line, " — {}", cell(&f.message));
        }
        if let Some(url) = &f.job_url {
            let _ = write!(line, " ({})", link("job log", url));
        } else if let Some(run) = &s.run {
            let _ = write!(line, " ({})", link("run", &run.url));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// Every wait for an environment gate: who could approve, how long it took, who decided.
fn approvals(out: &mut String, r: &RunReport) {
    let waits: Vec<_> = r
        .services
        .iter()
        .flat_map(|s| s.approvals.iter().map(move |a| (s, a)))
        .collect();
    if waits.is_empty() {
        return;
    }
    out.push_str("\n### Approvals\n\n| Service | Environment | Reviewers | Waited | Decision |\n|---|---|---|---|---|\n");
    for (s, a) in waits {
        let mut decision = format!("{} {}", a.icon(), cell(&a.verdict()));
        if let Some(comment) = a.comment.as_deref().filter(|c| !c.trim().is_empty()) {
            let _ = write!(decision, ": “{}”", cell(comment));
        }
        if let (crate::report::ApprovalState::Waiting, Some(run)) = (a.state, &s.run) {
            let _ = write!(decision, " ({})", link("review", &run.url));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {decision} |",
            cell(&s.name),
            code(&a.environment_list()),
            cell(&a.reviewer_list()),
            format::opt_duration(a.waited),
        );
    }
}

fn compatibility(out: &mut String, r: &RunReport) {
    out.push_str("\n### Compatibility\n\n");
    if r.compatibility.is_empty() {
        out.push_str("No `requires` ranges in this release.\n");
        return;
    }
    out.push_str("| Service | Requires | Range | Version | Verdict |\n|---|---|---|---|---|\n");
    for c in &r.compatibility {
        let mut verdict = match c.status {
            CompatStatus::Ok => "✅ ok",
            CompatStatus::Violated => "❌ violated",
            CompatStatus::Unknown => "⚠️ unknown version",
        }
        .to_owned();
        if let Some(state) = &c.state {
            let _ = write!(verdict, " ({})", cell(state));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {verdict} |",
            cell(&c.service),
            cell(&c.requires),
            code(&c.range),
            c.against.as_deref().map_or_else(|| "–".to_owned(), cell)
        );
    }
}

fn rollbacks(out: &mut String, r: &RunReport) {
    out.push_str("\n### Rollback\n\n");
    if r.rollbacks.is_empty() {
        let text = match r.status {
            ReleaseStatus::Succeeded | ReleaseStatus::Planned => "No rollback was needed.",
            _ => "Nothing was rolled back.",
        };
        let _ = writeln!(out, "{text}");
        return;
    }
    out.push_str("| Service | Back to | Run | Result |\n|---|---|---|---|\n");
    for rb in &r.rollbacks {
        let result = match rb.outcome {
            RollbackOutcome::Succeeded => "↩️ rolled back".to_owned(),
            RollbackOutcome::Failed => "❌ rollback failed".to_owned(),
            RollbackOutcome::Refused => "⛔ refused".to_owned(),
            RollbackOutcome::NoPrevious => "⚠️ no previous version".to_owned(),
        };
        let result = match &rb.reason {
            Some(reason) => format!("{result}: {}", cell(reason)),
            None => result,
        };
        let run = rb.run.as_ref().map_or_else(
            || "–".to_owned(),
            |run| link(&format!("#{}", run.id), &run.url),
        );
        let _ = writeln!(
            out,
            "| {} | {} | {run} | {result} |",
            cell(&rb.service),
            rb.to_version
                .as_deref()
                .map_or_else(|| "–".to_owned(), cell)
        );
    }
    let halted: Vec<_> = r
        .services
        .iter()
        .filter(|s| s.outcome == ServiceOutcome::Halted)
        .map(|s| code(&s.name))
        .collect();
    if !halted.is_empty() {
        let _ = writeln!(
            out,
            "\nIrreversible and left in place (halted, never rolled back): {}.",
            halted.join(", ")
        );
    }
}

fn notifications(out: &mut String, r: &RunReport) {
    if r.notifications.is_empty() {
        return;
    }
    out.push_str("\n### Notifications\n\n");
    for n in &r.notifications {
        let channel = serde_json::to_value(n.channel)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let state = if n.delivered {
            format!("✅ delivered ({})", format::plural(n.attempts, "attempt"))
        } else {
            format!(
                "⚠️ not delivered after {}: {}",
                format::plural(n.attempts, "attempt"),
                cell(n.error.as_deref().unwrap_or("unknown error"))
            )
        };
        let _ = writeln!(out, "- `{channel}` `{}`: {state}", n.event.as_str());
    }
}

fn manifest(out: &mut String, r: &RunReport) {
    let Some(m) = &r.manifest else { return };
    out.push_str("\n### Manifest\n\n");
    match &m.error {
        None => {
            let id = m
                .artifact_id
                .map(|id| format!(" (artifact id {id})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} store: {}{id}, {} bytes, {}",
                code(&m.store),
                code(&m.location),
                m.size.unwrap_or(0),
                code(m.digest.as_deref().unwrap_or("no digest"))
            );
        }
        Some(error) => {
            let _ = writeln!(
                out,
                "- ⚠️ not stored ({} store): {}; the release's outcome is unaffected",
                code(&m.store),
                cell(error)
            );
        }
    }
    let sources: Vec<String> = r
        .rollbacks
        .iter()
        .filter_map(|rb| match &rb.source {
            Some(super::VersionSource::Manifest { deployment_id }) => Some(format!(
                "{} → {} from the manifest of release {}",
                code(&rb.service),
                code(rb.to_version.as_deref().unwrap_or("?")),
                code(deployment_id)
            )),
            _ => None,
        })
        .collect();
    if !sources.is_empty() {
        let _ = writeln!(out, "- Restored: {}", sources.join(", "));
    }
}

fn timings(out: &mut String, r: &RunReport) {
    out.push_str("\n### Timings\n\n");
    let _ = writeln!(
        out,
        "- Started {}, finished {}",
        humantime::format_rfc3339_seconds(r.started_at),
        humantime::format_rfc3339_seconds(r.finished_at)
    );
    let _ = writeln!(
        out,
        "- GitHub API: {} requests, {} counted against the rate limit, {} answered `304 Not Modified`{}",
        r.api.requests,
        r.api.counted,
        r.api.not_modified,
        r.api
            .rate_limit_remaining
            .map(|left| format!(", {left} left"))
            .unwrap_or_default()
    );
    if r.timeline.is_empty() {
        return;
    }
    out.push_str("\n<details><summary>Timeline</summary>\n\n");
    for t in &r.timeline {
        let offset = t.at.duration_since(r.started_at).unwrap_or_default();
        let who = t
            .service
            .as_deref()
            .map(|s| format!("**{}** ", cell(s)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- +{} {who}{}",
            format::duration(offset),
            cell(&t.what)
        );
    }
    out.push_str("\n</details>\n");
}

/// Cuts `text` at a line boundary so that it and the marker fit in `limit` bytes.
pub fn truncate(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let marker = format!(
        "\n\n> [!WARNING]\n> Summary truncated: {} bytes omitted. The `report` output has everything.\n",
        text.len()
    );
    // Room for the marker and for a closing fence should the cut fall inside one.
    let budget = limit.saturating_sub(marker.len() + "\n```".len());
    let mut cut = budget.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(nl) = text[..cut].rfind('\n') {
        cut = nl;
    }
    let omitted = text.len() - cut;
    let marker = marker.replacen(&text.len().to_string(), &omitted.to_string(), 1);
    let mut out = text[..cut].to_owned();
    // A cut inside a fenced block (the Mermaid graph) must close it, or the marker renders
    // as code.
    if out.lines().filter(|l| l.starts_with("```")).count() % 2 == 1 {
        out.push_str("\n```");
    }
    out.push_str(&marker);
    out
}
