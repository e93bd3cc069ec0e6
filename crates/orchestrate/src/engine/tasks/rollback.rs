//! Rolling a service back: dispatching its rollback (or deploy) workflow and awaiting it
//! within a limit, cancelling a rollback run that overruns it.

use std::collections::BTreeMap;
use std::time::Duration;

use orchestrate_core::plan::Service;
use orchestrate_core::report::{RollbackOutcome, RunRef};
use orchestrate_github::{RunSummary, WatchTarget};

use super::await_run::failure_of;
use super::cancel::{CancelResult, cancel_dispatched};
use super::{Ctx, Msg, dispatch};

/// Dispatches a rollback and awaits it, within `limit` (real time). A rollback run still going
/// when the limit passes is cancelled (followed for `settle` until it stops).
pub async fn rollback(
    ctx: Ctx,
    service: Service,
    workflow: Option<String>,
    inputs: BTreeMap<String, String>,
    limit: Duration,
    settle: Duration,
) {
    let name = service.name.clone();
    let done = |outcome, run: Option<&RunSummary>, reason: Option<String>| Msg::RollbackDone {
        service: name.clone(),
        outcome,
        run: run.map(|r| RunRef {
            id: r.id,
            url: r.html_url.clone(),
            conclusion: r.conclusion.clone(),
        }),
        reason,
    };
    let deadline = tokio::time::Instant::now() + limit;
    let overran = format!(
        "the rollback did not finish within {}",
        humantime::format_duration(limit)
    );
    let dispatched = tokio::time::timeout_at(
        deadline,
        dispatch(&ctx.github, &service, workflow.as_deref(), inputs),
    )
    .await;
    let dispatched = match dispatched {
        Ok(Ok(d)) => d,
        Ok(Err(p)) => {
            let _ = ctx
                .tx
                .send(done(RollbackOutcome::Failed, None, Some(p.message)));
            return;
        }
        Err(_) => {
            let _ = ctx
                .tx
                .send(done(RollbackOutcome::Failed, None, Some(overran)));
            return;
        }
    };
    let Some(target) = WatchTarget::from_dispatch(&dispatched, ctx.skew) else {
        let reason = "the rollback run cannot be identified".to_owned();
        let _ = ctx
            .tx
            .send(done(RollbackOutcome::Failed, None, Some(reason)));
        return;
    };
    let watched = tokio::time::timeout_at(
        deadline,
        ctx.watcher
            .watch_predicted(target, workflow.as_deref().unwrap_or(service.workflow()))
            .completed(),
    )
    .await;
    let msg = match watched {
        Ok(Ok(run)) if run.succeeded() => done(RollbackOutcome::Succeeded, Some(&run), None),
        Ok(Ok(run)) => {
            let failure = failure_of(&ctx.github, &service, &run).await;
            done(RollbackOutcome::Failed, Some(&run), Some(failure.message))
        }
        Ok(Err(f)) => done(RollbackOutcome::Failed, None, Some(f.message)),
        // Left running, it could still put the service back after the release reported it.
        Err(_) => match cancel_dispatched(&ctx, &service, &dispatched, settle).await {
            CancelResult::Succeeded(run) => done(RollbackOutcome::Succeeded, Some(&run), None),
            CancelResult::Stopped(run) => done(
                RollbackOutcome::Failed,
                run.as_ref(),
                Some(format!("{overran}; its run was cancelled")),
            ),
            CancelResult::Failed(why) => done(
                RollbackOutcome::Failed,
                None,
                Some(format!(
                    "{overran}; cancel failed: run may still be running ({why})"
                )),
            ),
        },
    };
    let _ = ctx.tx.send(msg);
}
