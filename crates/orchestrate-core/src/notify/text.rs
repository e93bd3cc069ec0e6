//! Wording shared by every message: headlines, version arrows, service lines, truncation and
//! timestamps, so Slack, email, issues and webhooks describe a release the same way.

use std::time::SystemTime;

use crate::plan::Strategy;
use crate::report::{
    HealthVerdict, ReleaseStatus, RollbackOutcome, RollbackReport, RunReport, ServiceOutcome,
    ServiceReport,
};

/// The release's status in words: `succeeded`, `failed`, `rolled back`, `cancelled`, `planned`.
pub fn status_words(status: ReleaseStatus) -> &'static str {
    match status {
        ReleaseStatus::Succeeded => "succeeded",
        ReleaseStatus::Failed => "failed",
        ReleaseStatus::RolledBack => "rolled back",
        ReleaseStatus::Cancelled => "cancelled",
        ReleaseStatus::Planned => "planned",
        ReleaseStatus::InProgress => "in progress",
    }
}

/// `Release failed in production`.
pub fn headline(report: &RunReport) -> String {
    format!(
        "Release {} in {}",
        status_words(report.status),
        report.environment
    )
}

/// `Release failed in production (deployment 42)`.
pub fn title(report: &RunReport) -> String {
    format!("{} (deployment {})", headline(report), report.deployment_id)
}

pub fn strategy_str(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Sequential => "sequential",
        Strategy::Parallel => "parallel",
        Strategy::Canary => "canary",
    }
}

/// `1.2.0 → 1.3.0`; an unknown side is `?`; a service outside the release shows what is
/// deployed.
pub fn versions(service: &ServiceReport) -> String {
    let from = service.from_version.as_deref().unwrap_or("?");
    match service.to_version.as_deref() {
        Some(to) => format!("{from} → {to}"),
        None => format!("{from} (deployed)"),
    }
}

pub fn outcome_words(outcome: ServiceOutcome) -> &'static str {
    match outcome {
        ServiceOutcome::Succeeded => "succeeded",
        ServiceOutcome::Failed => "failed",
        ServiceOutcome::Cancelled => "cancelled",
        ServiceOutcome::Skipped => "skipped",
        ServiceOutcome::TimedOut => "timed out",
        ServiceOutcome::RolledBack => "rolled back",
        ServiceOutcome::Halted => "halted (irreversible)",
        ServiceOutcome::NotInRelease => "not in release",
        ServiceOutcome::Planned => "planned",
    }
}

/// What went wrong with a service, in one line: the failed job and step, else the health
/// verdict, else the failure message.
pub fn failure_line(service: &ServiceReport) -> Option<String> {
    if let Some(f) = &service.failure {
        let place = match (&f.job, &f.step) {
            (Some(job), Some(step)) => format!("job `{job}`, step `{step}`: "),
            (Some(job), None) => format!("job `{job}`: "),
            _ => String::new(),
        };
        return Some(format!("{place}{}", truncate(&f.message, 300)));
    }
    match &service.health {
        HealthVerdict::Failed { attempts, reason } => Some(format!(
            "health check failed after {attempts} attempt{}: {}",
            if *attempts == 1 { "" } else { "s" },
            truncate(reason, 300)
        )),
        _ => None,
    }
}

/// How the latest wait of a service's run for its environment gate stands: `waiting for
/// approval in production (reviewers: alice, bob)`, `approved by alice after 2m 00s`.
pub fn approval_line(service: &ServiceReport) -> Option<String> {
    service
        .approvals
        .last()
        .map(crate::report::ApprovalReport::decision)
}

pub fn rollback_words(outcome: &RollbackOutcome) -> &'static str {
    match outcome {
        RollbackOutcome::Succeeded => "rolled back",
        RollbackOutcome::Failed => "rollback failed",
        RollbackOutcome::Refused => "rollback refused",
        RollbackOutcome::NoPrevious => "no previous version to roll back to",
    }
}

/// `backend: rolled back to 1.2.0 (reason)`.
pub fn rollback_line(r: &RollbackReport) -> String {
    let mut line = format!("{}: {}", r.service, rollback_words(&r.outcome));
    if let Some(v) = &r.to_version {
        let prep = if r.outcome == RollbackOutcome::Succeeded {
            "to"
        } else {
            "towards"
        };
        line.push_str(&format!(" {prep} {v}"));
    }
    if let Some(reason) = &r.reason {
        line.push_str(&format!(" ({})", truncate(reason, 200)));
    }
    line
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The release's duration in words (`3m 12s`).
pub fn elapsed(report: &RunReport) -> String {
    let d = report
        .finished_at
        .duration_since(report.started_at)
        .unwrap_or_default();
    humantime::format_duration(std::time::Duration::from_secs(d.as_secs())).to_string()
}
