//! The end of a release: the final status of every deployment recorded (`success` when
//! verified or halted, `inactive` when rolled back, `failure` otherwise), the release set's
//! status (which frees the lock), and the [`RunReport`].

use std::sync::Arc;

use orchestrate_core::dag::DoneReason;
use orchestrate_core::report::{
    ApiStats, ReleaseStatus, RunRef, RunReport, ServiceOutcome, ServiceReport,
};
use orchestrate_github::{DeploymentState, DeploymentStatusUpdate};

use super::driver::Driver;
use super::metrics::Metrics;
use super::{End, Outcome, lease};

pub async fn finish(driver: Driver<'_>) -> Outcome {
    let github = Arc::clone(&driver.engine.github);
    let (status, reason) = driver
        .scheduler
        .done()
        .unwrap_or((ReleaseStatus::Failed, DoneReason::Failed));
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
    let end = match (&driver.refused, reason) {
        (Some(message), _) => End::Refused(message.clone()),
        (None, DoneReason::Completed) => End::Succeeded,
        (None, DoneReason::TimedOut) => End::TimedOut,
        (None, DoneReason::Aborted) => End::Cancelled,
        (None, DoneReason::Failed) => End::Failed,
    };
    let metrics = Metrics::of(&driver);
    let report = report(&driver, status, &end);
    Outcome {
        report,
        end,
        metrics,
    }
}

fn report(driver: &Driver<'_>, status: ReleaseStatus, end: &End) -> RunReport {
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
                health: orchestrate_core::report::HealthVerdict::NotChecked,
                outcome: ServiceOutcome::NotInRelease,
                failure: None,
            };
            let Some(svc) = driver.svcs.get(&s.name) else {
                return base;
            };
            let queued = svc
                .run
                .as_ref()
                .and_then(|r| (r.run_started_at? - r.created_at).to_std().ok());
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
                health: svc.health.clone(),
                outcome: driver
                    .scheduler
                    .outcome(&s.name)
                    .unwrap_or(ServiceOutcome::Skipped),
                failure: svc.failure.clone(),
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
    }
}
