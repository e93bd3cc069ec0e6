//! The Slack message: a Block Kit payload for an incoming webhook, within Slack's limits
//! (50 blocks, 3000 characters per section text, 150 per header), cut honestly with an
//! "… and N more" line rather than dropped silently.

use serde_json::{Value, json};

use crate::notify::events::{Notice, primary};
use crate::notify::rule::Event;
use crate::notify::text::{
    approval_line, elapsed, failure_line, headline, outcome_words, rollback_line, strategy_str,
    title, truncate, versions,
};
use crate::report::{ReleaseStatus, RunReport, ServiceOutcome};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_HEADER_TEXT: usize = 150;
/// Slack truncates longer fallback texts; keep them well below.
pub const MAX_FALLBACK_TEXT: usize = 3000;
/// Room kept in a section for the "… and N more" line.
const MORE_RESERVE: usize = 48;
const MAX_LINE: usize = 1000;

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `<url|text>`, with the characters that would end the link encoded in the URL.
fn link(url: &str, text: &str) -> String {
    let url = url
        .replace('|', "%7C")
        .replace('>', "%3E")
        .replace('<', "%3C")
        .replace(' ', "%20");
    format!("<{url}|{}>", escape(text))
}

fn status_emoji(status: ReleaseStatus) -> &'static str {
    match status {
        ReleaseStatus::Succeeded => ":white_check_mark:",
        ReleaseStatus::Failed => ":x:",
        ReleaseStatus::RolledBack => ":leftwards_arrow_with_hook:",
        ReleaseStatus::Cancelled => ":no_entry_sign:",
        ReleaseStatus::Planned => ":memo:",
        ReleaseStatus::InProgress => ":hourglass_flowing_sand:",
    }
}

fn outcome_emoji(outcome: ServiceOutcome) -> &'static str {
    match outcome {
        ServiceOutcome::Succeeded => ":white_check_mark:",
        ServiceOutcome::Failed | ServiceOutcome::TimedOut => ":x:",
        ServiceOutcome::RolledBack => ":leftwards_arrow_with_hook:",
        ServiceOutcome::Halted => ":octagonal_sign:",
        ServiceOutcome::Cancelled | ServiceOutcome::Skipped => ":heavy_minus_sign:",
        ServiceOutcome::NotInRelease | ServiceOutcome::Planned => ":white_circle:",
    }
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn summary_text(report: &RunReport, notices: &[Notice]) -> String {
    let mut text = format!(
        "*Plan* {} · *Deployment* `{}` · *Strategy* {} · *Took* {}",
        escape(&report.plan),
        escape(&report.deployment_id),
        strategy_str(report.strategy),
        elapsed(report)
    );
    if !notices.is_empty() {
        let events: Vec<String> = notices
            .iter()
            .map(|n| format!("`{}` ({})", n.event.as_str(), severity_str(n)))
            .collect();
        text.push_str(&format!("\n*Events* {}", events.join(", ")));
    }
    if let Some(err) = &report.error {
        text.push_str(&format!("\n*Error* {}", escape(&truncate(err, 500))));
    }
    truncate(&text, MAX_SECTION_TEXT)
}

fn severity_str(n: &Notice) -> &'static str {
    match n.severity {
        crate::notify::rule::Severity::Info => "info",
        crate::notify::rule::Severity::Warning => "warning",
        crate::notify::rule::Severity::Error => "error",
        crate::notify::rule::Severity::Critical => "critical",
    }
}

fn service_lines(report: &RunReport) -> Vec<String> {
    report
        .services
        .iter()
        .map(|s| {
            let mut line = format!(
                "{} *{}* {} · {}",
                outcome_emoji(s.outcome),
                escape(&s.name),
                escape(&versions(s)),
                outcome_words(s.outcome)
            );
            if let Some(run) = &s.run {
                line.push_str(&format!(
                    " · {}",
                    link(&run.url, &format!("run {}", run.id))
                ));
            }
            if let Some(why) = failure_line(s) {
                line.push_str(&format!("\n      ↳ {}", escape(&why)));
            }
            if let Some(gate) = approval_line(s) {
                line.push_str(&format!("\n      ↳ {}", escape(&gate)));
            }
            truncate(&line, MAX_LINE)
        })
        .collect()
}

/// Packs `lines` into at most `max_sections` section texts of at most [`MAX_SECTION_TEXT`]
/// characters; what does not fit is counted in a final "… and N more {what}" line.
fn pack(heading: &str, lines: &[String], max_sections: usize, what: &str) -> Vec<String> {
    let mut sections: Vec<String> = Vec::new();
    let mut current = heading.to_owned();
    let budget = MAX_SECTION_TEXT - MORE_RESERVE;
    for (i, line) in lines.iter().enumerate() {
        let fits = current.chars().count() + 1 + line.chars().count() <= budget;
        if !fits {
            if sections.len() + 1 >= max_sections {
                current.push_str(&format!("\n… and {} more {what}", lines.len() - i));
                sections.push(current);
                return sections;
            }
            sections.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        sections.push(current);
    }
    sections
}

/// `approval_required` leads: who waits, where, for whom, and the run to review.
fn approval_text(report: &RunReport, notices: &[Notice]) -> Option<String> {
    let notice = notices
        .iter()
        .find(|n| n.event == Event::ApprovalRequired)?;
    let lines: Vec<String> = report
        .services
        .iter()
        .filter(|s| notice.services.contains(&s.name))
        .filter_map(|s| {
            let gate = s.approvals.last()?;
            let mut line = format!("• *{}* {}", escape(&s.name), escape(&gate.waiting_line()));
            if let Some(run) = &s.run {
                line.push_str(&format!(
                    " · {}",
                    link(&run.url, &format!("review run {}", run.id))
                ));
            }
            Some(truncate(&line, MAX_LINE))
        })
        .collect();
    (!lines.is_empty()).then(|| {
        truncate(
            &format!("*Approval required*\n{}", lines.join("\n")),
            MAX_SECTION_TEXT,
        )
    })
}

/// The Block Kit payload announcing `notices` of `report`.
pub fn message(report: &RunReport, notices: &[Notice]) -> Value {
    let approval = approval_text(report, notices);
    let header = match &approval {
        Some(_) => format!(":raised_hand: Approval required in {}", report.environment),
        None => format!("{} {}", status_emoji(report.status), headline(report)),
    };
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&header, MAX_HEADER_TEXT), "emoji": true}}),
        section(summary_text(report, notices)),
    ];
    if let Some(text) = approval {
        blocks.push(section(text));
    }
    let rollback_lines: Vec<String> = report
        .rollbacks
        .iter()
        .map(|r| {
            let mut line = format!("• {}", escape(&rollback_line(r)));
            if let Some(run) = &r.run {
                line.push_str(&format!(
                    " · {}",
                    link(&run.url, &format!("run {}", run.id))
                ));
            }
            truncate(&line, MAX_LINE)
        })
        .collect();
    // header, summary, the rollback section and the context are always there.
    let fixed = blocks.len() + usize::from(!rollback_lines.is_empty()) + 1;
    let service_sections = pack(
        "*Services*",
        &service_lines(report),
        MAX_BLOCKS - fixed,
        "services",
    );
    blocks.extend(service_sections.into_iter().map(section));
    if !rollback_lines.is_empty() {
        let packed = pack("*Rollback*", &rollback_lines, 1, "rollbacks");
        blocks.extend(packed.into_iter().map(section));
    }
    let context = match &report.orchestrator_run_url {
        Some(url) => format!(
            "{} · deployment `{}`",
            link(url, "Orchestrating run"),
            escape(&report.deployment_id)
        ),
        None => format!(
            "orchestrate · deployment `{}`",
            escape(&report.deployment_id)
        ),
    };
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}));
    json!({"text": fallback_text(report, notices), "blocks": blocks})
}

/// The plain text Slack shows in notifications and where blocks cannot be rendered.
pub fn fallback_text(report: &RunReport, notices: &[Notice]) -> String {
    let mut text = title(report);
    if let Some(n) = primary(notices) {
        text.push_str(&format!(" [{}]", n.event.as_str()));
    }
    let failed: Vec<&str> = report.failed_services().map(|s| s.name.as_str()).collect();
    if !failed.is_empty() {
        text.push_str(&format!(": failed {}", failed.join(", ")));
    }
    truncate(&escape(&text), MAX_FALLBACK_TEXT)
}
