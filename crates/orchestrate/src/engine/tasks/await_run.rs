//! Awaiting a service's deploy run: recording its deployment once the run is known, then on
//! completion reading the failed job and step, or downloading the artifacts it hands on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use orchestrate_core::plan::Service;
use orchestrate_core::report::FailureDetail;
use orchestrate_github::{
    ArtifactLimits, DeploymentState, DeploymentStatusUpdate, Dispatched, GitHub, NewDeployment,
    RunState, RunSummary, WatchTarget,
};

use super::{Ctx, Msg, Problem};

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

pub(super) async fn failure_of(
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
