//! Which notification events a release produced, and how severe each one is, derived from its
//! [`RunReport`].
//!
//! Severity table (the base severity; in a production environment, see [`is_production`],
//! every `error` becomes `critical`):
//!
//! | event                          | base severity | when                                                        |
//! |--------------------------------|---------------|-------------------------------------------------------------|
//! | `deployment_started`           | info          | a real (not dry) release starts                             |
//! | `deployment_succeeded`         | info          | the release succeeded                                       |
//! | `deployment_failed`            | error         | the release failed or was rolled back (`warning` if cancelled) |
//! | `health_check_failed`          | error         | at least one service failed its health gate                 |
//! | `rollback_started`             | warning       | at least one rollback was attempted                         |
//! | `rollback_succeeded`           | warning       | every attempted rollback succeeded                          |
//! | `rollback_failed`              | error         | at least one rollback failed                                |
//! | `compatibility_warning`        | warning       | a `requires` range could not be checked (`error` if violated) |
//! | `manual_intervention_required` | error         | an irreversible service was halted, or a rollback failed, was refused or had no previous version |
//! | `approval_required`            | warning       | a service's run waits for a reviewer of its environment (sent while the release runs) |

use crate::notify::rule::{Event, Severity};
use crate::report::{
    CompatStatus, HealthVerdict, ReleaseStatus, RollbackOutcome, RunReport, ServiceOutcome,
};

/// One event of a release, with its severity and the services it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub event: Event,
    pub severity: Severity,
    /// The services concerned; empty when the event is about the release as a whole.
    pub services: Vec<String>,
}

/// Whether an environment counts as production for escalation: `production` or `prod`,
/// compared without case.
pub fn is_production(environment: &str) -> bool {
    environment.eq_ignore_ascii_case("production") || environment.eq_ignore_ascii_case("prod")
}

fn escalate(base: Severity, environment: &str) -> Severity {
    if base == Severity::Error && is_production(environment) {
        Severity::Critical
    } else {
        base
    }
}

fn notice(report: &RunReport, event: Event, base: Severity, services: Vec<String>) -> Notice {
    Notice {
        event,
        severity: escalate(base, &report.environment),
        services,
    }
}

/// The events to announce when a release starts. A dry run announces nothing.
pub fn at_start(report: &RunReport) -> Vec<Notice> {
    if report.dry_run || report.status == ReleaseStatus::Planned {
        return Vec::new();
    }
    let services = report
        .services
        .iter()
        .filter(|s| s.to_version.is_some())
        .map(|s| s.name.clone())
        .collect();
    vec![notice(
        report,
        Event::DeploymentStarted,
        Severity::Info,
        services,
    )]
}

/// The event announcing that `services` wait for a person to approve their runs' environment
/// gates; sent while the release runs (see [`crate::report::ApprovalReport`]).
pub fn approval_required(report: &RunReport, services: Vec<String>) -> Notice {
    notice(report, Event::ApprovalRequired, Severity::Warning, services)
}

/// The events of a finished release, most important first (see [`importance`]). A dry run
/// announces nothing.
pub fn at_finish(report: &RunReport) -> Vec<Notice> {
    if report.dry_run || report.status == ReleaseStatus::Planned {
        return Vec::new();
    }
    let mut out = Vec::new();
    match report.status {
        ReleaseStatus::Succeeded => {
            let deployed = names(report, |s| s.outcome == ServiceOutcome::Succeeded);
            out.push(notice(
                report,
                Event::DeploymentSucceeded,
                Severity::Info,
                deployed,
            ));
        }
        ReleaseStatus::Failed | ReleaseStatus::RolledBack => {
            let failed = report.failed_services().map(|s| s.name.clone()).collect();
            out.push(notice(
                report,
                Event::DeploymentFailed,
                Severity::Error,
                failed,
            ));
        }
        ReleaseStatus::Cancelled => {
            let cancelled = names(report, |s| s.outcome == ServiceOutcome::Cancelled);
            out.push(notice(
                report,
                Event::DeploymentFailed,
                Severity::Warning,
                cancelled,
            ));
        }
        ReleaseStatus::Planned | ReleaseStatus::InProgress => {}
    }
    let unhealthy = names(report, |s| matches!(s.health, HealthVerdict::Failed { .. }));
    if !unhealthy.is_empty() {
        out.push(notice(
            report,
            Event::HealthCheckFailed,
            Severity::Error,
            unhealthy,
        ));
    }
    out.extend(rollback_notices(report));
    out.extend(compatibility_notice(report));
    out.extend(manual_intervention_notice(report));
    out.sort_by_key(|n| std::cmp::Reverse((n.severity, importance(n.event))));
    out
}

fn names(report: &RunReport, keep: impl Fn(&crate::report::ServiceReport) -> bool) -> Vec<String> {
    report
        .services
        .iter()
        .filter(|s| keep(s))
        .map(|s| s.name.clone())
        .collect()
}

fn rollback_notices(report: &RunReport) -> Vec<Notice> {
    let attempted: Vec<_> = report
        .rollbacks
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                RollbackOutcome::Succeeded | RollbackOutcome::Failed
            )
        })
        .collect();
    if attempted.is_empty() {
        return Vec::new();
    }
    let all: Vec<String> = attempted.iter().map(|r| r.service.clone()).collect();
    let failed: Vec<String> = attempted
        .iter()
        .filter(|r| r.outcome == RollbackOutcome::Failed)
        .map(|r| r.service.clone())
        .collect();
    let mut out = vec![notice(
        report,
        Event::RollbackStarted,
        Severity::Warning,
        all.clone(),
    )];
    if failed.is_empty() {
        out.push(notice(
            report,
            Event::RollbackSucceeded,
            Severity::Warning,
            all,
        ));
    } else {
        out.push(notice(
            report,
            Event::RollbackFailed,
            Severity::Error,
            failed,
        ));
    }
    out
}

fn compatibility_notice(report: &RunReport) -> Option<Notice> {
    let flagged: Vec<_> = report
        .compatibility
        .iter()
        .filter(|c| c.status != CompatStatus::Ok)
        .collect();
    if flagged.is_empty() {
        return None;
    }
    let base = if flagged.iter().any(|c| c.status == CompatStatus::Violated) {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut services: Vec<String> = flagged.iter().map(|c| c.service.clone()).collect();
    services.dedup();
    Some(notice(report, Event::CompatibilityWarning, base, services))
}

/// Something a person has to fix by hand: a halted irreversible service, or a rollback that
/// failed, was refused or had nothing to go back to.
fn manual_intervention_notice(report: &RunReport) -> Option<Notice> {
    let mut services = names(report, |s| s.outcome == ServiceOutcome::Halted);
    for r in &report.rollbacks {
        let stuck = matches!(
            r.outcome,
            RollbackOutcome::Failed | RollbackOutcome::Refused | RollbackOutcome::NoPrevious
        );
        if stuck && !services.contains(&r.service) {
            services.push(r.service.clone());
        }
    }
    if services.is_empty() {
        return None;
    }
    Some(notice(
        report,
        Event::ManualInterventionRequired,
        Severity::Error,
        services,
    ))
}

/// How much an event matters when several have the same severity: the one a message leads
/// with (its headline) is the most important.
pub fn importance(event: Event) -> u8 {
    match event {
        Event::ManualInterventionRequired => 9,
        Event::RollbackFailed => 8,
        Event::DeploymentFailed => 7,
        Event::HealthCheckFailed => 6,
        Event::RollbackSucceeded => 5,
        Event::RollbackStarted => 4,
        Event::ApprovalRequired => 3,
        Event::CompatibilityWarning => 2,
        Event::DeploymentSucceeded => 1,
        Event::DeploymentStarted => 0,
    }
}

/// The notice a message leads with: the most severe, then the most important.
pub fn primary(notices: &[Notice]) -> Option<&Notice> {
    notices
        .iter()
        .max_by_key(|n| (n.severity, importance(n.event)))
}
