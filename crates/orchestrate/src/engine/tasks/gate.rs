//! A run's waits for its environment gate, seen from the await task: when the run turns
//! `waiting`, one read of what it waits for (and, with `auto_approve`, one approval when the
//! token may give it); when it leaves `waiting`, one read of the review history to learn who
//! decided. Two requests per wait, whatever its length: the watcher's polls do the waiting.

use chrono::{DateTime, Utc};
use orchestrate_core::plan::Service;
use orchestrate_core::report::FailureDetail;
use orchestrate_github::{GateReview, PendingGate, Review, RunSummary};

use super::{Ctx, Msg};

/// What `auto_approve` did at the start of a wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoApproval {
    /// The service does not ask for it.
    Off,
    /// Approved through the API as the token's user.
    Approved,
    /// The token may not approve (not a required reviewer, self-review prevented, an App
    /// token): the run waits for a person.
    NotAllowed,
    /// Asked, and GitHub refused or failed: the run waits for a person.
    Failed(String),
}

/// A wait under way: the environments it is for.
#[derive(Debug)]
pub struct Wait {
    pub environments: Vec<String>,
}

/// The run turned `waiting` (seen at `seen`, GitHub's clock): reads what it waits for,
/// approves it when the service asks and the token may, and tells the driver.
pub async fn begin(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    release_id: &str,
    seen: DateTime<Utc>,
) -> Wait {
    let gates = match ctx.github.pending_gates(&service.repo, run.id).await {
        Ok(gates) => gates,
        Err(e) => {
            tracing::warn!(service = %service.name, error = %e, "could not read what the run waits for");
            Vec::new()
        }
    };
    let auto = if service.auto_approve {
        approve(ctx, service, run, &gates, release_id).await
    } else {
        AutoApproval::Off
    };
    let wait = Wait {
        environments: gates.iter().map(|g| g.environment.clone()).collect(),
    };
    let _ = ctx.tx.send(Msg::ApprovalWaiting {
        service: service.name.clone(),
        gates,
        auto,
        seen,
    });
    wait
}

async fn approve(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    gates: &[PendingGate],
    release_id: &str,
) -> AutoApproval {
    let ids: Vec<u64> = gates
        .iter()
        .filter(|g| g.can_approve)
        .map(|g| g.environment_id)
        .collect();
    if ids.is_empty() {
        return AutoApproval::NotAllowed;
    }
    let review = GateReview {
        environment_ids: ids,
        approve: true,
        comment: format!(
            "approved by orchestrate (auto_approve) for release {release_id} of {}",
            service.name
        ),
    };
    match ctx
        .github
        .review_gates(&service.repo, run.id, &review)
        .await
    {
        Ok(()) => AutoApproval::Approved,
        Err(e) => AutoApproval::Failed(e.to_string()),
    }
}

/// The run left `waiting` (seen at `seen`): reads who decided and tells the driver. Returns
/// the rejection, if it was one, for the run's failure.
pub async fn end(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    wait: &Wait,
    seen: DateTime<Utc>,
) -> Option<Review> {
    let review = match ctx.github.run_reviews(&service.repo, run.id).await {
        // The history is oldest first; the newest review of these environments decided.
        Ok(reviews) => reviews.into_iter().rev().find(|r| {
            r.environments.is_empty()
                || wait.environments.is_empty()
                || r.environments.iter().any(|e| wait.environments.contains(e))
        }),
        Err(e) => {
            tracing::warn!(service = %service.name, error = %e, "could not read who reviewed the run");
            None
        }
    };
    let _ = ctx.tx.send(Msg::ApprovalEnded {
        service: service.name.clone(),
        review: review.clone(),
        seen,
    });
    review.filter(Review::rejected)
}

/// A run that failed without a failing step, never seen waiting: it may have been rejected
/// between two polls. One read of its review history tells; a rejection found is reported
/// to the driver like the end of a wait.
pub async fn missed_rejection(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    seen: DateTime<Utc>,
) -> Option<Review> {
    let reviews = ctx.github.run_reviews(&service.repo, run.id).await.ok()?;
    let review = reviews.into_iter().rev().find(Review::rejected)?;
    let _ = ctx.tx.send(Msg::ApprovalEnded {
        service: service.name.clone(),
        review: Some(review.clone()),
        seen,
    });
    Some(review)
}

/// `rejected by bob in production: not today`: why a rejected run failed.
pub fn rejection(review: &Review, wait: &Wait) -> FailureDetail {
    let environments = if review.environments.is_empty() {
        wait.environments.join(", ")
    } else {
        review.environments.join(", ")
    };
    let mut message = format!("rejected by {}", review.user);
    if !environments.is_empty() {
        message.push_str(&format!(" in {environments}"));
    }
    if !review.comment.trim().is_empty() {
        message.push_str(&format!(": {}", review.comment.trim()));
    }
    FailureDetail {
        job: None,
        step: None,
        job_url: None,
        message,
    }
}
