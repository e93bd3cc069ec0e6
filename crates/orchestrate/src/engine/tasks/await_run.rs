//! Awaiting a service's deploy run: recording its deployment once the run is known, following
//! its waits for an environment gate (`gate`), then on completion reading the failed job and
//! step (or who rejected it), or downloading the artifacts it hands on (and, for `share:`,
//! recording their references and copying typed documents to the store).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use orchestrate_core::artifact::kinds::check_document;
use orchestrate_core::artifact::manifest::StoredCopy;
use orchestrate_core::artifact::{ArtifactRef, DocumentKey, Kind};
use orchestrate_core::plan::Service;
use orchestrate_core::report::FailureDetail;
use orchestrate_github::{
    ArtifactLimits, DeploymentState, DeploymentStatusUpdate, Dispatched, GitHub, NewDeployment,
    RunState, RunSummary, WatchTarget,
};

use super::{Ctx, Msg, Problem, gate};

/// The widest bracket (last poll seeing the run queued → first seeing it started) still
/// taken as the moment it left the queue.
const START_PRECISION: std::time::Duration = std::time::Duration::from_secs(3);

/// What the await task needs to record the service's deployment.
#[derive(Debug, Clone)]
pub struct DeploymentSpec {
    pub environment: String,
    pub git_ref: String,
    pub version: String,
    pub release_id: String,
    /// The plan's name and the release's environment: where shared documents are stored.
    pub plan: String,
    pub release_environment: String,
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
    let mut handle = ctx.watcher.watch_predicted(target, service.workflow());
    let mut known = false;
    // With run details the run is known now: its deployment is recorded without waiting for a
    // poll (which a forecast may put minutes away).
    if let Some(run) = &dispatched.run {
        known = true;
        let run = RunSummary::dispatched(run, dispatched.dispatched_at);
        send(Msg::RunKnown {
            service: name.clone(),
            run: run.clone(),
        });
        record_deployment(&ctx, &service, &run, &deployment).await;
    }
    let mut started = false;
    let mut wait: Option<gate::Wait> = None;
    let mut waited = false;
    let mut rejected: Option<(orchestrate_github::Review, gate::Wait)> = None;
    loop {
        for duplicate in handle.take_duplicates() {
            send(Msg::Duplicate {
                service: name.clone(),
                duplicate,
            });
        }
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
        if let Some(run) = &run {
            let waiting = run.status == "waiting";
            if waiting && wait.is_none() {
                waited = true;
                let seen = (ctx.now)();
                wait = Some(gate::begin(&ctx, &service, run, &deployment.release_id, seen).await);
            } else if !waiting && let Some(ended) = wait.take() {
                let seen = (ctx.now)();
                if let Some(review) = gate::end(&ctx, &service, run, &ended, seen).await {
                    rejected = Some((review, ended));
                }
            }
        }
        if let Some(run) = &run
            && !started
            && run.has_started()
        {
            started = true;
            // A start seen long after the last sighting in the queue (a sparse, forecast poll)
            // is no measurement of the wait for a runner: the run's own times stand in.
            if handle.start_bracket().is_some_and(|b| b <= START_PRECISION) {
                send(Msg::RunStarted {
                    service: name.clone(),
                    at: (ctx.now)(),
                });
            }
        }
        if let RunState::Completed(run) = state {
            let noticed = (ctx.now)();
            let (failure, handed, artifact_problem) = if run.succeeded() {
                match download(&ctx, &service, &run, &work_dir, &deployment).await {
                    Ok(handed) => (None, handed, None),
                    Err(problem) => (None, Handed::default(), Some(problem)),
                }
            } else if let Some((review, ended)) = &rejected {
                // Its job never ran: who rejected it is the whole story.
                (
                    Some(gate::rejection(review, ended)),
                    Handed::default(),
                    None,
                )
            } else {
                let mut failure = failure_of(&ctx.github, &service, &run).await;
                if !waited
                    && failure.step.is_none()
                    && let Some(review) =
                        gate::missed_rejection(&ctx, &service, &run, noticed).await
                {
                    let unseen = gate::Wait {
                        environments: Vec::new(),
                    };
                    failure = gate::rejection(&review, &unseen);
                }
                (Some(failure), Handed::default(), None)
            };
            send(Msg::RunDone {
                service: name,
                run,
                noticed,
                failure,
                artifacts: handed.fields,
                shared: handed.shared,
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

/// What a run hands on: the JSON fields of every downloaded artifact (for shared ones also
/// `id`, `run_id`, `repository` and `digest`) and the shared artifacts' references.
#[derive(Debug, Default)]
struct Handed {
    fields: BTreeMap<String, BTreeMap<String, String>>,
    shared: Vec<ArtifactRef>,
}

/// Downloads every artifact the service declares (`artifacts` and `share`).
async fn download(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    work_dir: &std::path::Path,
    deployment: &DeploymentSpec,
) -> Result<Handed, Problem> {
    let mut out = Handed::default();
    let names = service.downloads();
    if names.is_empty() {
        return Ok(out);
    }
    let listed = ctx.github.list_run_artifacts(&service.repo, run.id).await?;
    for name in names {
        let Some(info) = listed
            .iter()
            .filter(|a| a.name == name && !a.expired)
            .max_by_key(|a| a.id)
        else {
            let key = if service.artifacts.iter().any(|a| a == name) {
                "artifacts"
            } else {
                "share"
            };
            return Err(Problem::new(format!(
                "run {} uploaded no artifact named `{name}` (declared in `{key}:`)",
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
        let mut fields = extracted.fields.clone();
        if service.share.iter().any(|s| s == name) {
            let shared = share(ctx, service, run, info, &extracted, deployment).await;
            // The reference wins over a JSON field of the same name.
            fields.insert("id".into(), info.id.to_string());
            fields.insert("run_id".into(), run.id.to_string());
            fields.insert("repository".into(), service.repo.to_string());
            if let Some(digest) = &info.digest {
                fields.insert("digest".into(), digest.clone());
            }
            out.shared.push(shared);
        }
        out.fields.insert(name.to_owned(), fields);
    }
    Ok(out)
}

/// The reference of a shared artifact; a typed one (`build-info` …) is checked and, with an
/// `s3`/`local` store, copied there. A copy that fails is a warning: downstream still has the
/// reference and the values.
async fn share(
    ctx: &Ctx,
    service: &Service,
    run: &RunSummary,
    info: &orchestrate_github::ArtifactInfo,
    extracted: &orchestrate_github::ExtractedArtifact,
    deployment: &DeploymentSpec,
) -> ArtifactRef {
    let kind = Kind::from_artifact_name(&info.name);
    let mut reference = ArtifactRef {
        name: info.name.clone(),
        id: Some(info.id),
        run_id: Some(run.id),
        repository: Some(service.repo.to_string()),
        digest: info.digest.clone(),
        size: Some(info.size_in_bytes),
        kind: kind.map(|k| k.as_str().to_owned()),
        stored: None,
    };
    let Some(kind) = kind else {
        return reference;
    };
    let Some(document) = typed_document(kind, extracted) else {
        tracing::warn!(service = %service.name, artifact = %info.name, schema = %kind.schema(), "no JSON file in the artifact: not stored as a typed document");
        return reference;
    };
    let bytes = match check_document(kind, &document) {
        Ok(_) => document,
        Err(e) => {
            tracing::warn!(service = %service.name, artifact = %info.name, error = %e, "not stored as a typed document");
            return reference;
        }
    };
    let key = DocumentKey {
        plan: deployment.plan.clone(),
        environment: deployment.release_environment.clone(),
        deployment_id: deployment.release_id.clone(),
        service: Some(service.name.clone()),
        kind: kind.as_str().to_owned(),
    };
    match ctx.store.put_shared(&key, &bytes).await {
        Ok(Some(stored)) => {
            reference.stored = Some(StoredCopy {
                location: stored.location,
                digest: stored.digest,
            });
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(service = %service.name, artifact = %info.name, error = %e, "the shared document could not be stored");
        }
    }
    reference
}

/// The artifact's document for `kind`: `<kind>.json`, `<kind with dashes>.json`, or its only
/// JSON file.
fn typed_document(
    kind: Kind,
    extracted: &orchestrate_github::ExtractedArtifact,
) -> Option<Vec<u8>> {
    let json: Vec<&std::path::PathBuf> = extracted
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .collect();
    let wanted = [
        format!("{}.json", kind.as_str()),
        format!("{}.json", kind.as_str().replace('_', "-")),
    ];
    let chosen = json
        .iter()
        .find(|f| {
            f.file_name()
                .is_some_and(|n| wanted.iter().any(|w| n == w.as_str()))
        })
        .or_else(|| (json.len() == 1).then(|| &json[0]))?;
    std::fs::read(extracted.dir.join(chosen)).ok()
}
