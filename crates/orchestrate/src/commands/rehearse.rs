//! `orchestrate rehearse [PLAN] --scenario S`: the whole release against the built-in
//! emulator, with the scenario's durations (accelerated) and failures. No token, no network
//! beyond 127.0.0.1. The emulator plays the orchestrating run too (a run in the orchestrating
//! repository and its job's runtime token), so the release ends with its manifest uploaded
//! to the emulator's results service. Prints the summary a real run would write, and exits
//! like a real run.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::Arc;

use anyhow::Context as _;
use orchestrate_core::plan::{Plan, Repo};
use orchestrate_core::report;
use orchestrate_emulator::{DEFAULT_TOKEN, Emulator, RunningEmulator};
use orchestrate_github::{
    Client, ClientConfig, Credentials, DeploymentState, DeploymentStatusUpdate, GitHub,
    NewDeployment, PollPolicy, RetryPolicy, Secret,
};

use super::Io;
use super::orchestrating::{self, OrchestratingRun};
use crate::cli::{Format, RehearseArgs};
use crate::engine::observe::{Lines, Live, Observer};
use crate::engine::registry::deployment_environment;
use crate::engine::rehearsal::Rehearsal;
use crate::engine::{Engine, HealthRoute, Outcome, Pace, Release, session};
use crate::env::Env;
use crate::error::Failure;
use crate::settings::{Given, Problems, Purpose, RawSettings, Settings, planfile};
use crate::store::Store;
use crate::store::github::{GithubStore, Upload};

pub fn run(args: &RehearseArgs, _env: &Env, io: &mut Io) -> Result<(), Failure> {
    let rehearsal = load_scenario(&args.scenario)?;
    let label = args.plan.display().to_string();
    let file = planfile::read(&args.plan, &label)?;
    let settings = Settings::validate(&raw(args, &rehearsal, &file), &file, Purpose::Release)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (outcome, emulator, run) = runtime.block_on(rehearse(&settings, &rehearsal, io))?;
    let summary = report::summary::render(&outcome.report);
    match args.format {
        Format::Text => io.print(&summary).context("writing to stdout")?,
        Format::Json => io
            .print(&report::outputs::report_json(&outcome.report))
            .context("writing to stdout")?,
    }
    for line in session::would_notify(&outcome.report, &settings) {
        io.eprint(&format!("{line}\n"))
            .context("writing to stderr")?;
    }
    if let Some(path) = &args.summary_file {
        std::fs::write(path, io.masker.redact(&summary))
            .with_context(|| format!("writing the summary to `{}`", path.display()))?;
    }
    if args.metrics {
        let title = format!(
            "Measurement: {} on scenario `{}`",
            settings.plan.name, rehearsal.name
        );
        io.print(&format!("\n{}", outcome.metrics.render(&title)))
            .context("writing to stdout")?;
    }
    if let Some(path) = &args.serve_after {
        serve_after(path, &emulator, &run, &outcome, &runtime, io)?;
    }
    drop(emulator);
    session::end_failure(&outcome)
}

/// Writes the orchestrating run's environment to `path` (`KEY=VALUE` lines, for
/// `node --env-file`) and serves the emulator until interrupted.
fn serve_after(
    path: &std::path::Path,
    emulator: &orchestrate_emulator::RunningEmulator,
    run: &super::orchestrating::OrchestratingRun,
    outcome: &Outcome,
    runtime: &tokio::runtime::Runtime,
    io: &mut Io,
) -> Result<(), Failure> {
    let artifact = outcome
        .report
        .manifest
        .as_ref()
        .and_then(|m| m.artifact_id)
        .map(|id| id.to_string())
        .unwrap_or_default();
    let vars = [
        ("ACTIONS_RESULTS_URL", run.results_url.clone()),
        ("ACTIONS_RUNTIME_TOKEN", run.runtime_token.clone()),
        ("GITHUB_API_URL", emulator.base_url().to_owned()),
        ("GITHUB_TOKEN", DEFAULT_TOKEN.to_owned()),
        ("GITHUB_REPOSITORY", run.repo.to_string()),
        ("GITHUB_RUN_ID", run.run_id.to_string()),
        ("MANIFEST_ARTIFACT_ID", artifact),
    ];
    let text: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(path, text)
        .with_context(|| format!("writing the environment to `{}`", path.display()))?;
    io.eprint(&format!(
        "serving the emulator at {} until interrupted (environment in {})\n",
        emulator.base_url(),
        path.display()
    ))
    .context("writing to stderr")?;
    runtime.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    Ok(())
}

/// The `--scenario` of `rehearse` and `emulator`: a built-in name or a scenario file.
pub(super) fn load_scenario(spec: &str) -> Result<Rehearsal, Failure> {
    Rehearsal::load(spec).map_err(|e| {
        let mut problems = Problems::new();
        problems.input(
            "--scenario",
            e.to_string(),
            "use a built-in scenario name or a scenario file (see examples/scenarios/)",
        );
        Failure::BadInput(problems)
    })
}

/// The release settings: command-line flags first, then the scenario's defaults.
fn raw(args: &RehearseArgs, r: &Rehearsal, file: &planfile::PlanFile) -> RawSettings {
    let environment = args
        .env
        .as_ref()
        .map(|e| Given::flag("target_environment", "--env", e))
        .or_else(|| {
            r.release
                .environment
                .as_ref()
                .map(|e| Given::input("target_environment", e))
        })
        .or_else(|| {
            file.loaded
                .plan
                .environments
                .keys()
                .next()
                .map(|e| Given::input("target_environment", e))
        });
    let versions = args
        .versions
        .as_ref()
        .map(|v| Given::flag("versions", "--versions", v))
        .or_else(|| r.versions_text().map(|v| Given::input("versions", v)));
    RawSettings {
        plan: Some(Given::flag("plan", "PLAN", file.label.clone())),
        environment,
        versions: versions.into_iter().collect(),
        strategy: args
            .strategy
            .map(|s| Given::flag("deployment_strategy", "--strategy", s.as_str()))
            .or_else(|| {
                r.release
                    .strategy
                    .as_ref()
                    .map(|s| Given::input("deployment_strategy", s))
            }),
        timeout: args
            .timeout
            .as_ref()
            .map(|t| Given::flag("timeout", "--timeout", t))
            .or_else(|| {
                r.release
                    .timeout
                    .as_ref()
                    .map(|t| Given::input("timeout", t))
            }),
        token: Some(Given::input("github_token", DEFAULT_TOKEN)),
        ..RawSettings::default()
    }
}

async fn rehearse(
    settings: &Settings,
    r: &Rehearsal,
    io: &mut Io,
) -> Result<(Outcome, RunningEmulator, OrchestratingRun), Failure> {
    let orchestrator = orchestrator_repo(settings, r);
    let emulator = Emulator::start(r.emulator_config_for(&orchestrator.to_string()))
        .await
        .map_err(|e| Failure::Internal(anyhow::anyhow!("starting the emulator: {e}")))?;
    seed(
        emulator.base_url(),
        &settings.plan,
        &settings.environment,
        &r.deployed,
    )
    .await?;
    if let Some(previous) = &r.previous_release {
        let id = orchestrating::seed_previous(
            &emulator,
            &settings.plan,
            &settings.environment,
            &orchestrator,
            previous,
        )
        .await?;
        io.eprint(&format!(
            "starting from verified release {id} (its manifest is an artifact of an earlier orchestrating run)\n"
        ))
        .context("writing to stderr")?;
    }
    let run = orchestrating::start(&emulator, &orchestrator)?;
    let masks = session::MaskSink {
        masker: io.masker.clone(),
        announce: false,
    };
    let token = settings
        .auth
        .as_ref()
        .map_or(DEFAULT_TOKEN.to_owned(), |a| match a {
            crate::settings::Auth::Token(t) => t.expose().to_owned(),
            crate::settings::Auth::App { .. } => DEFAULT_TOKEN.to_owned(),
        });
    let work = tempfile::tempdir().context("creating a directory for artifacts")?;
    let github: Arc<dyn GitHub> = Arc::new(client_for(emulator.base_url(), &token, r.speed)?);
    let store = GithubStore::new(
        Upload::Results(run.results_client(Some(masks.hook()))?),
        Arc::clone(&github),
        orchestrator.clone(),
    );
    let engine = Engine {
        github,
        http: crate::notify::http::client().context("building the HTTP client")?,
        pace: Pace::scaled(r.speed, emulator.now()),
        poll: PollPolicy::fast().into(),
        health_route: HealthRoute::Emulator {
            base_url: emulator.base_url().to_owned(),
        },
        work_dir: work.path().to_path_buf(),
        skew: chrono::Duration::seconds(120),
        notify: None,
        store: Arc::new(Store::Github(store)),
    };
    let release = Release {
        settings: settings.clone(),
        orchestrator_ref: "main".to_owned(),
        orchestrator,
        run_url: None,
    };
    let names: Vec<String> = settings.release.iter().map(|(s, _)| s.to_owned()).collect();
    io.eprint(&format!(
        "rehearsing `{}` on scenario `{}` (emulator at {}, {}x speed)\n",
        settings.plan.name,
        r.name,
        emulator.base_url(),
        r.speed
    ))
    .context("writing to stderr")?;
    let masker = io.masker.clone();
    let result = if std::io::stderr().is_terminal() {
        let mut live = Live::new(&names, masker);
        crate::engine::execute(&engine, &release, &mut live as &mut dyn Observer).await
    } else {
        let mut lines = Lines::new(&mut io.err, masker, names.iter().map(String::as_str));
        crate::engine::execute(&engine, &release, &mut lines).await
    };
    let mut outcome = result.map_err(session::start_failure)?;
    let awaiting = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && is_run_poll(r.path_only()))
        .fold((0, 0), |(t, n), r| (t + 1, n + u64::from(r.status == 304)));
    outcome.metrics.awaiting = Some(awaiting);
    if let Some(m) = &outcome.report.manifest {
        let line = match (&m.error, m.artifact_id) {
            (None, Some(id)) => format!(
                "manifest: artifact {} (id {id}, {} bytes, {} requests) of orchestrating run {} in {}\n",
                m.location,
                m.size.unwrap_or(0),
                m.requests,
                run.run_id,
                run.repo
            ),
            (None, None) => format!("manifest: {}\n", m.location),
            (Some(error), _) => format!("warning: manifest not stored: {error}\n"),
        };
        io.eprint(&line).context("writing to stderr")?;
    }
    Ok((outcome, emulator, run))
}

/// `GET …/actions/runs` (the list) or `…/actions/runs/{id}`: what awaiting costs.
pub(crate) fn is_run_poll(path: &str) -> bool {
    match path.split_once("/actions/runs") {
        Some((_, rest)) => rest.is_empty() || rest[1..].chars().all(|c| c.is_ascii_digit()),
        None => false,
    }
}

fn orchestrator_repo(settings: &Settings, r: &Rehearsal) -> Repo {
    let from_name = |name: &str| {
        let (owner, repo) = name.split_once('/')?;
        Some(Repo {
            owner: owner.to_owned(),
            name: repo.to_owned(),
        })
    };
    r.orchestrator
        .as_deref()
        .and_then(from_name)
        .or_else(|| settings.plan.services.first().map(|s| s.repo.clone()))
        .unwrap_or(Repo {
            owner: "orchestrate".into(),
            name: "release".into(),
        })
}

/// A client tuned for the emulator at the default rehearsal speed.
pub fn fast_client(base_url: &str, token: &str) -> Result<Client, Failure> {
    client_for(base_url, token, crate::engine::rehearsal::DEFAULT_SPEED)
}

/// A client tuned for an emulator running `speed` times faster than GitHub: short backoffs,
/// and after an ambiguous dispatch it looks for the run as long as the real client does in
/// GitHub time (20 s), at least half a second of real time.
pub fn client_for(base_url: &str, token: &str, speed: f64) -> Result<Client, Failure> {
    let mut config = ClientConfig::new(base_url, Credentials::Token(Secret::new(token)));
    config.retry = RetryPolicy {
        base: std::time::Duration::from_millis(50),
        cap: std::time::Duration::from_secs(2),
        ..RetryPolicy::default()
    };
    let lookup = config.dispatch_lookup.div_f64(speed.max(1.0));
    config.dispatch_lookup = lookup.max(std::time::Duration::from_millis(500));
    config.dispatch_lookup_interval = std::time::Duration::from_millis(100);
    Client::new(config)
        .map_err(|e| Failure::Internal(anyhow::anyhow!("setting up the GitHub client: {e}")))
}

/// The registry's starting state: one successful deployment per `deployed` entry, in the
/// repository and environment `plan` records `environment` in, written with a client of its
/// own so the release's request counts stay its own.
pub async fn seed(
    base_url: &str,
    plan: &Plan,
    environment: &str,
    deployed: &BTreeMap<String, String>,
) -> Result<(), Failure> {
    let client = fast_client(base_url, DEFAULT_TOKEN)?;
    for (name, version) in deployed {
        let Some(service) = plan.service(name) else {
            continue;
        };
        let git_ref = match &service.trigger {
            orchestrate_core::plan::Trigger::WorkflowDispatch { git_ref, .. } => git_ref.clone(),
            orchestrate_core::plan::Trigger::RepositoryDispatch { .. } => "main".to_owned(),
        };
        let deployment = NewDeployment {
            environment: deployment_environment(plan, service, environment),
            git_ref,
            task: orchestrate_github::deployments::TASK_DEPLOY.to_owned(),
            payload: serde_json::json!({ "service": name, "version": version }),
            description: Some(format!("{name} {version} (rehearsal's starting state)")),
            production_environment: None,
        };
        let seeded = || async {
            let id = client.create_deployment(&service.repo, &deployment).await?;
            let status = DeploymentStatusUpdate {
                state: DeploymentState::Success,
                log_url: None,
                environment_url: None,
                description: Some("seeded".into()),
            };
            client
                .set_deployment_status(&service.repo, id, &status)
                .await
        };
        // A scenario's random faults may hit the seeding too; a duplicate seeded deployment is
        // harmless, so these writes may be retried.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match seeded().await {
                Ok(()) => break,
                Err(e) if attempt < 5 && !e.is_refusal() => {
                    tracing::debug!(error = %e, "seeding the registry: retrying");
                }
                Err(e) => {
                    return Err(Failure::Internal(anyhow::anyhow!(
                        "seeding the registry for {name}: {e}"
                    )));
                }
            }
        }
    }
    Ok(())
}
