//! The async work behind each scheduler command: dispatching a run, awaiting it (recording its
//! deployment, reading the failed job and step, downloading artifacts), cancelling it, and
//! rolling a service back. Each task reports back to the driver's loop with [`Msg`]s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orchestrate_core::plan::{Service, Trigger};
use orchestrate_core::report::{FailureDetail, HealthVerdict, RollbackOutcome, RunRef};
use orchestrate_github::{
    ArtifactLimits, CancelOutcome, DeploymentId, DeploymentState, DeploymentStatusUpdate,
    DispatchRequest, Dispatched, GitHub, NewDeployment, RepositoryDispatchRequest, RunState,
    RunSummary, RunWatcher, WatchTarget,
};
use tokio::sync::mpsc::UnboundedSender;

/// A task's report to the driver.
#[derive(Debug)]
pub enum Msg {
    Dispatched {
        service: String,
        result: Result<Dispatched, Problem>,
    },
    /// The awaited run is known (from the dispatch answer or found by correlation).
    RunKnown {
        service: String,
        run: RunSummary,
    },
    DeploymentCreated {
        service: String,
        id: DeploymentId,
    },
    /// The run was first seen past `queued` (in progress or already completed), at this time
    /// on GitHub's clock: the end of its wait for a runner, to within one poll.
    RunStarted {
        service: String,
        at: DateTime<Utc>,
    },
    RunDone {
        service: String,
        run: RunSummary,
        /// When GitHub's clock said the run completed was noticed (for the measurement).
        noticed: DateTime<Utc>,
        failure: Option<FailureDetail>,
        /// `artifact name → JSON fields`, when the run succeeded and declared artifacts.
        artifacts: BTreeMap<String, BTreeMap<String, String>>,
        /// The run succeeded but its declared artifacts could not be handed on: its new
        /// version went out, so it counts as deployed and fails at its gate instead.
        artifact_problem: Option<Problem>,
    },
    /// The run could not be awaited (the watcher gave up, …).
    AwaitFailed {
        service: String,
        problem: Problem,
    },
    Health {
        service: String,
        verdict: HealthVerdict,
    },
    Tick,
    /// A canary failed its health checks during the bake.
    BakeUnhealthy {
        service: String,
        verdict: HealthVerdict,
    },
    /// A cancel was answered (see [`CancelResult`]).
    CancelDone {
        service: String,
        result: CancelResult,
    },
    RollbackDone {
        service: String,
        outcome: RollbackOutcome,
        run: Option<RunRef>,
        reason: Option<String>,
    },
}

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

/// What went wrong, and whether GitHub refused (exit 3).
#[derive(Debug, Clone)]
pub struct Problem {
    pub message: String,
    pub refusal: bool,
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            refusal: false,
        }
    }
}

impl From<orchestrate_github::Error> for Problem {
    fn from(e: orchestrate_github::Error) -> Problem {
        Problem {
            refusal: e.is_refusal(),
            message: e.to_string(),
        }
    }
}

/// Everything a task needs, cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub github: Arc<dyn GitHub>,
    pub watcher: Arc<RunWatcher>,
    pub tx: UnboundedSender<Msg>,
    pub skew: chrono::Duration,
    pub now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

/// Sends a `workflow_dispatch` or `repository_dispatch` of `workflow` (the service's own when
/// `None`) with `inputs`.
pub async fn dispatch(
    github: &Arc<dyn GitHub>,
    service: &Service,
    workflow: Option<&str>,
    inputs: BTreeMap<String, String>,
) -> Result<Dispatched, Problem> {
    match &service.trigger {
        Trigger::WorkflowDispatch {
            workflow: deploy,
            git_ref,
        } => {
            let req = DispatchRequest {
                repo: service.repo.clone(),
                workflow: workflow.unwrap_or(deploy).to_owned(),
                git_ref: git_ref.clone(),
                inputs,
                correlate: service.correlate,
            };
            Ok(github.dispatch(&req).await?)
        }
        Trigger::RepositoryDispatch {
            event_type,
            workflow: deploy,
        } => {
            let req = RepositoryDispatchRequest {
                repo: service.repo.clone(),
                event_type: event_type.clone(),
                workflow: workflow.unwrap_or(deploy).to_owned(),
                client_payload: inputs
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect(),
            };
            Ok(github.repository_dispatch(&req).await?)
        }
    }
}

/// What the await task needs to record the service's deployment.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    pub environment: String,
    pub git_ref: String,
    pub version: String,
    pub release_id: String,
}

/// Awaits `service`'s run: records its deployment once the run is known, then on completion
/// reads the failure detail or downloads the declared artifacts.
pub async fn await_run(
    ctx: Ctx,
    service: Service,
    dispatched: Dispatched,
    deployment: DeploymentSpec,
    work_dir: PathBuf,
) {
    let name = service.name.clone();
    let send = |msg| {
        let _ = ctx.tx.send(msg);
    };
    let Some(target) = WatchTarget::from_dispatch(&dispatched, ctx.skew) else {
        send(Msg::AwaitFailed {
            service: name,
            problem: Problem::new(
                "the dispatch gave no run id and no correlation id to find the run by",
            ),
        });
        return;
    };
    let mut handle = ctx.watcher.watch(target);
    let mut known = false;
    let mut started = false;
    loop {
        let state = handle.state();
        let run = match &state {
            RunState::Running(run) | RunState::Completed(run) => Some(run.clone()),
            RunState::Searching => None,
            RunState::Failed(f) => {
                send(Msg::AwaitFailed {
                    service: name,
                    problem: Problem {
                        message: f.message.clone(),
                        refusal: f.refusal,
                    },
                });
                return;
            }
        };
        if let Some(run) = &run
            && !known
        {
            known = true;
            send(Msg::RunKnown {
                service: name.clone(),
                run: run.clone(),
            });
            record_deployment(&ctx, &service, run, &deployment).await;
        }
        if let Some(run) = &run
            && !started
            && run.status != "queued"
            && run.status != "requested"
            && run.status != "waiting"
            && run.status != "pending"
        {
            started = true;
            send(Msg::RunStarted {
                service: name.clone(),
                at: (ctx.now)(),
            });
        }
        if let RunState::Completed(run) = state {
            let noticed = (ctx.now)();
            let (failure, artifacts, artifact_problem) = if run.succeeded() {
                match download(&ctx, &service, &run, &work_dir).await {
                    Ok(artifacts) => (None, artifacts, None),
                    Err(problem) => (None, BTreeMap::new(), Some(problem)),
                }
            } else {
                (
                    Some(failure_of(&ctx.github, &service, &run).await),
                    BTreeMap::new(),
                    None,
                )
            };
            send(Msg::RunDone {
                service: name,
                run,
                noticed,
                failure,
                artifacts,
                artifact_problem,
            });
            return;
        }
        if handle.changed().await.is_none() {
            send(Msg::AwaitFailed {
                service: name,
                problem: Problem::new("the run watcher stopped"),
            });
            return;
        }
    }
}

async fn record_deployment(ctx: &Ctx, service: &Service, run: &RunSummary, d: &DeploymentSpec) {
    let new = NewDeployment {
        environment: d.environment.clone(),
        git_ref: d.git_ref.clone(),
        task: orchestrate_github::deployments::TASK_DEPLOY.to_owned(),
        payload: serde_json::json!({
            "service": service.name,
            "version": d.version,
            "deployment_id": d.release_id,
            "run_id": run.id,
            "run_url": run.html_url,
        }),
        description: Some(format!("{} {} by orchestrate", service.name, d.version)),
        production_environment: None,
    };
    // The registry is bookkeeping: a deployment that cannot be recorded is logged, and the
    // release goes on (the run itself is what deploys).
    let id = match ctx.github.create_deployment(&service.repo, &new).await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(service = %service.name, error = %e, "could not record the deployment");
            return;
        }
    };
    // Told before anything else is awaited: a cancel aborts this task at its next await, and
    // the driver can only close (`finish`) a deployment whose id it knows.
    let _ = ctx.tx.send(Msg::DeploymentCreated {
        service: service.name.clone(),
        id,
    });
    let status = DeploymentStatusUpdate {
        state: DeploymentState::InProgress,
        log_url: Some(run.html_url.clone()),
        environment_url: None,
        description: Some(format!("deploying {}", d.version)),
    };
    if let Err(e) = ctx
        .github
        .set_deployment_status(&service.repo, id, &status)
        .await
    {
        tracing::warn!(service = %service.name, error = %e, "could not set the deployment status");
    }
}

async fn failure_of(
    github: &Arc<dyn GitHub>,
    service: &Service,
    run: &RunSummary,
) -> FailureDetail {
    match github.failure_detail(&service.repo, run.id).await {
        Ok(f) => f.to_report(),
        Err(e) => FailureDetail {
            job: None,
            step: None,
            job_url: None,
            message: format!(
                "run concluded {} (its jobs could not be read: {e})",
                run.conclusion.as_deref().unwrap_or("without success")
            ),
        },
    }
}

/// Downloads every artifact the service declares; their JSON fields by artifact name.
async fn download(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    work_dir: &std::path::Path,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, Problem> {
    let mut out = BTreeMap::new();
    if service.artifacts.is_empty() {
        return Ok(out);
    }
    let listed = ctx.github.list_run_artifacts(&service.repo, run.id).await?;
    for name in &service.artifacts {
        let Some(info) = listed
            .iter()
            .filter(|a| &a.name == name && !a.expired)
            .max_by_key(|a| a.id)
        else {
            return Err(Problem::new(format!(
                "run {} uploaded no artifact named `{name}` (declared in `artifacts:`)",
                run.html_url
            )));
        };
        let dest = work_dir.join(&service.name).join(name);
        let extracted = ctx
            .github
            .download_artifact(&service.repo, info, &dest, &ArtifactLimits::default())
            .await?;
        for warning in &extracted.warnings {
            tracing::warn!(service = %service.name, artifact = %name, "{warning}");
        }
        out.insert(name.clone(), extracted.fields);
    }
    Ok(out)
}

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

async fn cancel_dispatched(
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
    let watched = tokio::time::timeout_at(deadline, ctx.watcher.watch(target).completed()).await;
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
