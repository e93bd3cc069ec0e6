//! Cancelling a run: finding it when only its correlation id is known, asking GitHub (with
//! retries), then following it until it stops, since a run about to finish may still succeed.

use std::time::Duration;

use orchestrate_core::plan::Service;
use orchestrate_github::{CancelOutcome, Dispatched, RunState, RunSummary, WatchTarget};

use super::{Ctx, Msg};

/// How a cancel ended.
#[derive(Debug)]
pub enum CancelResult {
    /// The run stopped without succeeding; its final state when it was read.
    Stopped(Option<RunSummary>),
    /// The run succeeded before the cancel took effect: its new version went out.
    Succeeded(RunSummary),
    /// The cancel could not be sent, or the run was not seen to stop: it may still be running.
    Failed(String),
}

/// Times a cancel request is sent before giving up (it is idempotent: 202, then 409).
const CANCEL_ATTEMPTS: u32 = 3;
/// The pause before cancel attempt `n + 1` is `n` times this (real time).
const CANCEL_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Cancels `service`'s run once it is known, retrying a failed request, then follows the run
/// until it completes (within `settle`, real time): a run that succeeded before the cancel took
/// effect is reported as such, so the scheduler counts it as deployed and it is rolled back.
pub async fn cancel(ctx: Ctx, service: Service, dispatched: Dispatched, settle: Duration) {
    let result = cancel_dispatched(&ctx, &service, &dispatched, settle).await;
    let _ = ctx.tx.send(Msg::CancelDone {
        service: service.name,
        result,
    });
}

pub(super) async fn cancel_dispatched(
    ctx: &Ctx,
    service: &Service,
    dispatched: &Dispatched,
    settle: Duration,
) -> CancelResult {
    let run_id = match &dispatched.run {
        Some(run) => Some(run.id),
        None => match WatchTarget::from_dispatch(dispatched, ctx.skew) {
            Some(target) => find_run(ctx, target).await,
            None => None,
        },
    };
    match run_id {
        Some(id) => cancel_run(ctx, service, id, settle).await,
        // No run was found for the dispatch: there is nothing to cancel.
        None => CancelResult::Stopped(None),
    }
}

async fn cancel_run(ctx: &Ctx, service: &Service, id: u64, settle: Duration) -> CancelResult {
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        match ctx.github.cancel_run(&service.repo, id).await {
            Ok(outcome) => break outcome,
            // A refusal (no `actions: write`) answers the same every time.
            Err(e) if e.is_refusal() || attempt >= CANCEL_ATTEMPTS => {
                tracing::warn!(service = %service.name, error = %e, "cancelling the run failed");
                return CancelResult::Failed(format!(
                    "{} after {attempt} {}",
                    e,
                    if attempt == 1 { "attempt" } else { "attempts" }
                ));
            }
            Err(e) => {
                tracing::warn!(service = %service.name, error = %e, attempt, "cancelling the run failed; trying again");
                tokio::time::sleep(CANCEL_RETRY_PAUSE * attempt).await;
            }
        }
    };
    let concluded = |run: RunSummary| {
        if run.succeeded() {
            CancelResult::Succeeded(run)
        } else {
            CancelResult::Stopped(Some(run))
        }
    };
    if outcome == CancelOutcome::AlreadyCompleted {
        return match ctx.github.get_run(&service.repo, id).await {
            Ok(run) => concluded(run),
            Err(e) => {
                tracing::warn!(service = %service.name, error = %e, "reading the completed run failed");
                CancelResult::Stopped(None)
            }
        };
    }
    // Accepted (202): GitHub stops the run asynchronously, and a run about to finish may still
    // conclude `success`. Only its conclusion says whether the new version went out.
    let target = WatchTarget::Run {
        repo: service.repo.clone(),
        run_id: id,
        created_since: None,
        event: None,
        correlation: None,
    };
    match tokio::time::timeout(settle, ctx.watcher.watch(target).completed()).await {
        Ok(Ok(run)) => concluded(run),
        Ok(Err(f)) => CancelResult::Failed(format!(
            "cancel requested, but the run could not be followed: {}",
            f.message
        )),
        Err(_) => CancelResult::Failed("cancel requested, but the run was not seen to stop".into()),
    }
}

/// The run behind a correlated dispatch, looked for a bounded time.
async fn find_run(ctx: &Ctx, target: WatchTarget) -> Option<u64> {
    let mut handle = ctx.watcher.watch(target);
    let found = async {
        loop {
            match handle.state() {
                RunState::Running(run) | RunState::Completed(run) => return Some(run.id),
                RunState::Failed(_) => return None,
                RunState::Searching => {}
            }
            handle.changed().await?;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), found)
        .await
        .ok()
        .flatten()
}
