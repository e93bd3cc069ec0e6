//! The end of a release: the final status of every deployment recorded (`success` when
//! verified or halted, `inactive` when rolled back, `failure` otherwise), the [`RunReport`],
//! its manifest, and the release set's status (which frees the lock).
//!
//! The summary's "Wait" column (a service's `queued`) is how long its run waited for a runner:
//! from the dispatch to the first poll that saw the run past `queued`, both on GitHub's clock
//! (so it includes the time GitHub took to create the run, and is exact to within one poll).
//! GitHub's own `run_started_at` is when the attempt was created, not when a runner took it,
//! so it is only the fallback when the run was never seen before it completed:
//! `run_started_at − created_at` for a first attempt; for a re-run (`run_started_at` is the
//! latest attempt's, `created_at` the first's) or when the two clocks disagree,
//! `run_started_at` minus the dispatch time. Without either nothing is shown.

use std::sync::Arc;

use orchestrate_core::dag::DoneReason;
use orchestrate_core::report::{
    ApiStats, HealthVerdict, ReleaseStatus, RunRef, RunReport, ServiceOutcome, ServiceReport,
};
use orchestrate_github::{DeploymentState, DeploymentStatusUpdate};

use super::driver::Driver;
use super::metrics::Metrics;
use super::{End, Outcome, lease};

pub async fn finish(mut driver: Driver<'_>) -> Outcome {
    let github = Arc::clone(&driver.engine.github);
    let (status, reason) = driver
        .scheduler
        .done()
        .unwrap_or((ReleaseStatus::Failed, DoneReason::Failed));
    // A run that could not be cancelled may still deploy: nothing is cleanly rolled back.
    let status =
        if status == ReleaseStatus::RolledBack && driver.svcs.values().any(|s| s.cancel_failed) {
            ReleaseStatus::Failed
        } else {
            status
        };
    let mut updates = tokio::task::JoinSet::new();
    for (name, svc) in &driver.svcs {
        let Some(id) = svc.deployment else { continue };
        let outcome = driver.scheduler.outcome(name);
        let (state, description) = match outcome {
            Some(ServiceOutcome::Succeeded) => (
                DeploymentState::Success,
                match svc.spec.health {
                    Some(_) => format!("{} verified healthy", svc.target),
                    None => format!("{} deployed (no health check)", svc.target),
                },
            ),
            Some(ServiceOutcome::Halted) => (
                DeploymentState::Success,
                format!("{} deployed; irreversible, left in place", svc.target),
            ),
            Some(ServiceOutcome::RolledBack) => (
                DeploymentState::Inactive,
                format!("{} rolled back", svc.target),
            ),
            other => (
                DeploymentState::Failure,
                format!(
                    "{} {}",
                    svc.target,
                    other.map_or("did not finish", ServiceOutcome::as_str)
                ),
            ),
        };
        // What `orchestrate stats` reads back: the health verdict and the service's duration.
        let health = match (&svc.health, state) {
            (HealthVerdict::Passed { .. }, DeploymentState::Success) => "",
            (HealthVerdict::Passed { .. }, _) => " (health passed)",
            (HealthVerdict::Failed { .. }, _) => " (health failed)",
            _ => "",
        };
        let took = match (svc.dispatched_at, svc.settled_at) {
            (Some(a), Some(b)) => format!(" took {}s", b.saturating_sub(a).as_secs()),
            _ => String::new(),
        };
        let description = format!("{description}{health}{took}");
        let update = DeploymentStatusUpdate {
            state,
            log_url: svc.run.as_ref().map(|r| r.html_url.clone()),
            environment_url: None,
            description: Some(description),
        };
        let (github, repo, name) = (Arc::clone(&github), svc.spec.repo.clone(), name.clone());
        updates.spawn(async move {
            if let Err(e) = github.set_deployment_status(&repo, id, &update).await {
                tracing::warn!(service = %name, error = %e, "could not set the final deployment status");
            }
        });
    }
    while updates.join_next().await.is_some() {}
    let end = match (&driver.refused, reason) {
        (Some(message), _) => End::Refused(message.clone()),
        (None, DoneReason::Completed) => End::Succeeded,
        (None, DoneReason::TimedOut) => End::TimedOut,
        (None, DoneReason::Aborted) => End::Cancelled,
        (None, DoneReason::Failed) => End::Failed,
    };
    let metrics = Metrics::of(&driver);
    let mut report = report(&driver, status, &end);
    // Written before the release set's final status: a release that sees this one verified
    // finds its manifest already there.
    super::manifest::write(
        &driver.engine.store,
        &mut report,
        driver.prepared.previous.as_ref(),
    )
    .await;
    let release = driver.release;
    if let Err(e) = lease::finish(
        &github,
        &release.orchestrator,
        driver.prepared.record,
        status == ReleaseStatus::Succeeded,
        &format!("release {}", status.as_str()),
        release.run_url.clone(),
    )
    .await
    {
        tracing::warn!(error = %e, "could not set the release set's final status");
    }
    let announced = std::mem::take(&mut driver.announced);
    let announced_events = announced.events.clone();
    report.notifications = announced.delivered().await;
    Outcome {
        report,
        end,
        metrics,
        announced: announced_events,
    }
}

/// The report of the release; while it runs (`status` `in_progress`), services not settled
/// yet read `planned`.
pub(super) fn report(driver: &Driver<'_>, status: ReleaseStatus, end: &End) -> RunReport {
    let unsettled = if status == ReleaseStatus::InProgress {
        ServiceOutcome::Planned
    } else {
        ServiceOutcome::Skipped
    };
    let settings = &driver.release.settings;
    let graph = driver.scheduler.graph();
    let services = settings
        .plan
        .services
        .iter()
        .map(|s| {
            let from_version = driver
                .prepared
                .deployed
                .get(&s.name)
                .and_then(|d| d.current.clone());
            let base = ServiceReport {
                name: s.name.clone(),
                repo: s.repo.to_string(),
                from_version,
                to_version: None,
                needs: s.needs.clone(),
                wave: graph.wave_of(&s.name).unwrap_or(0),
                irreversible: s.irreversible,
                run: None,
                queued: None,
                duration: None,
                dispatched: None,
                settled: None,
                health: orchestrate_core::report::HealthVerdict::NotChecked,
                outcome: ServiceOutcome::NotInRelease,
                failure: None,
                artifacts: Vec::new(),
                approvals: Vec::new(),
            };
            let Some(svc) = driver.svcs.get(&s.name) else {
                return base;
            };
            let dispatched = svc.dispatched_at.map(|d| driver.engine.pace.github_at(d));
            let approvals = approvals(driver, svc, status);
            // The Wait column is the wait for a runner; a wait for an approval is its own.
            let gated: std::time::Duration = approvals.iter().filter_map(|a| a.waited).sum();
            let queued = match (svc.started_seen, dispatched) {
                (Some(seen), Some(dispatched)) => (seen - dispatched).to_std().ok(),
                _ => svc.run.as_ref().and_then(|r| queued(r, dispatched)),
            }
            .map(|q| q.saturating_sub(gated));
            let duration = match (svc.dispatched_at, svc.settled_at) {
                (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                _ => None,
            };
            ServiceReport {
                to_version: Some(svc.target.clone()),
                run: svc.run.as_ref().map(|r| RunRef {
                    id: r.id,
                    url: r.html_url.clone(),
                    conclusion: r.conclusion.clone(),
                }),
                queued,
                duration,
                dispatched: svc.dispatched_at,
                settled: svc.settled_at,
                health: svc.health.clone(),
                // Not `cancelled`: its run may still be deploying.
                outcome: if svc.cancel_failed {
                    ServiceOutcome::Failed
                } else {
                    driver.scheduler.outcome(&s.name).unwrap_or(unsettled)
                },
                failure: svc.failure.clone(),
                artifacts: svc.shared.clone(),
                approvals,
                ..base
            }
        })
        .collect();
    let error = match end {
        End::Refused(message) => Some(format!("GitHub refused a request: {message}")),
        End::TimedOut => {
            Some("the release did not finish in time; runs in flight were cancelled".into())
        }
        End::Cancelled => Some("the release was interrupted; runs in flight were cancelled".into()),
        End::Succeeded | End::Failed => None,
    };
    RunReport {
        plan: settings.plan.name.clone(),
        deployment_id: driver.prepared.record.to_string(),
        environment: settings.environment.clone(),
        strategy: settings.strategy,
        status,
        dry_run: false,
        started_at: driver.prepared.started_at,
        finished_at: driver.engine.pace.system_now(),
        orchestrator_run_url: driver.release.run_url.clone(),
        services,
        compatibility: driver.prepared.compatibility.clone(),
        rollbacks: driver.rollbacks.clone(),
        timeline: driver.timeline.clone(),
        api: ApiStats::from(driver.engine.github.stats()),
        notifications: Vec::new(),
        error,
        manifest: None,
    }
}

/// The waits of `svc`'s run for its environment gate: one still under way has waited so far;
/// in the report of a release that ended it was cancelled.
fn approvals(
    driver: &Driver<'_>,
    svc: &super::svc::Svc,
    status: ReleaseStatus,
) -> Vec<orchestrate_core::report::ApprovalReport> {
    use orchestrate_core::report::ApprovalState;
    let mut out = svc.approvals.clone();
    if let (Some(gate), Some(last)) = (&svc.gate, out.last_mut())
        && last.state == ApprovalState::Waiting
    {
        last.waited = Some(driver.now().saturating_sub(gate.since));
        if status != ReleaseStatus::InProgress {
            last.state = ApprovalState::Cancelled;
        }
    }
    out
}

/// How long `run` waited for a runner (see the module doc); `dispatched` is when the driver
/// dispatched it, on GitHub's clock.
fn queued(
    run: &orchestrate_github::RunSummary,
    dispatched: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<std::time::Duration> {
    let started = run.run_started_at?;
    let first_attempt = run.run_attempt.is_none_or(|a| a <= 1);
    match (started - run.created_at).to_std() {
        Ok(wait) if first_attempt => Some(wait),
        _ => (started - dispatched?).to_std().ok(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use orchestrate_github::RunSummary;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_000_000 + secs, 0).expect("valid")
    }

    fn run(created: i64, started: Option<i64>, attempt: u32) -> RunSummary {
        RunSummary {
            id: 1,
            html_url: "https://github.com/o/r/actions/runs/1".into(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            display_title: "deploy".into(),
            event: "workflow_dispatch".into(),
            head_branch: None,
            path: ".github/workflows/deploy.yml".into(),
            created_at: at(created),
            updated_at: at(300),
            run_started_at: started.map(at),
            run_attempt: Some(attempt),
        }
    }

    #[test]
    fn the_wait_is_githubs_queue_time_unless_that_is_not_meaningful() {
        let secs = std::time::Duration::from_secs;
        let dispatched = Some(at(0));
        // First attempt: GitHub's own queue time.
        assert_eq!(queued(&run(2, Some(12), 1), dispatched), Some(secs(10)));
        // A re-run: the attempt started long after the run was created; from the dispatch.
        assert_eq!(queued(&run(-600, Some(15), 2), dispatched), Some(secs(15)));
        // Clocks disagree (started before created): from the dispatch.
        assert_eq!(queued(&run(20, Some(12), 1), dispatched), Some(secs(12)));
        assert_eq!(queued(&run(20, Some(12), 1), None), None);
        // No start time at all.
        assert_eq!(queued(&run(2, None, 1), dispatched), None);
    }
}
