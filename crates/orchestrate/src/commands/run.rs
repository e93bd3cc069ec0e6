//! `orchestrate run` (a release from a terminal, live progress on a TTY) and the real release
//! of `orchestrate action` (step outputs, job summary, a log group per service and `::error`
//! annotations). Both talk to `GITHUB_API_URL` (default `https://api.github.com`).

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use orchestrate_core::plan::Repo;
use orchestrate_core::report;
use orchestrate_github::ForecastPolicy;

use super::{Io, action, dry_run};
use crate::cli::RunArgs;
use crate::engine::observe::{Lines, Live, Observer};
use crate::engine::{Engine, HealthRoute, Outcome, Pace, Release, session};
use crate::env::{Env, GithubContext};
use crate::error::Failure;
use crate::gha::Workflow;
use crate::preview::Preview;
use crate::settings::{Purpose, RawSettings, Settings, planfile};

pub fn run(args: &RunArgs, env: &Env, io: &mut Io) -> Result<(), Failure> {
    let label = args.release.plan.display().to_string();
    let file = planfile::read(&args.release.plan, &label)?;
    announce_masks(action::channel_secrets(&file.loaded.plan, env), env, io)?;
    let settings = Settings::validate(
        &RawSettings::from_run_args(args, env),
        &file,
        Purpose::Release,
    )?;
    announce_masks(settings.secrets(), env, io)?;
    let gh = env.github();
    if settings.dry_run {
        let preview = Preview::build(&settings).context("building the release preview")?;
        let mut report = dry_run::report(&settings, &preview, SystemTime::now(), gh.run_url());
        dry_run::store_manifest(&settings, env, io, &mut report, &args.manifest_dir)?;
        let text = format!(
            "{}{}",
            report::summary::render(&report),
            dry_run::waves_markdown(&preview)
        );
        return io
            .print(&text)
            .context("writing to stdout")
            .map_err(Failure::from);
    }
    let outcome = release(
        &settings,
        env,
        io,
        std::io::stderr().is_terminal(),
        &args.manifest_dir,
    )?;
    io.print(&report::summary::render(&outcome.report))
        .context("writing to stdout")?;
    session::end_failure(&outcome)
}

/// Registers `secrets` with the masker and, inside GitHub Actions, tells the runner to mask
/// them too (`::add-mask::`), before anything else is printed. They go to stderr, which the
/// runner reads as well: stdout is the command's report.
fn announce_masks<'s>(
    secrets: impl IntoIterator<Item = &'s str>,
    env: &Env,
    io: &mut Io,
) -> Result<(), Failure> {
    let mut masks = Workflow::new(&mut io.err, io.masker.clone(), env.in_github_actions());
    for secret in secrets {
        masks.add_mask(secret).context("writing to stderr")?;
    }
    Ok(())
}

/// The action's real release: outputs and summary are written whatever the outcome.
pub fn in_action(settings: &Settings, env: &Env, io: &mut Io) -> Result<(), Failure> {
    let gh = env.github();
    let outcome = match release(settings, env, io, false, &manifest_dir(&gh)) {
        Ok(outcome) => outcome,
        Err(failure) => {
            let location = crate::gha::Location {
                title: Some("orchestrate".into()),
                ..crate::gha::Location::default()
            };
            io.out
                .annotate(crate::gha::Level::Error, &location, &failure.to_string())
                .context("writing to stdout")?;
            return Err(failure);
        }
    };
    session::log_groups(&mut io.out, &outcome.report).context("writing to stdout")?;
    action::write_outputs(&gh, io, &outcome.report)?;
    action::write_summary(&gh, io, &report::summary::render(&outcome.report))?;
    session::end_failure(&outcome)
}

/// Where the action writes the manifest when it is not in Actions (the `github` store).
pub(super) fn manifest_dir(gh: &GithubContext) -> std::path::PathBuf {
    let base = gh.workspace.as_deref().map(std::path::Path::new);
    crate::settings::planfile::resolve(std::path::Path::new(crate::cli::DEFAULT_MANIFEST_DIR), base)
}

/// Runs the release against GitHub; notifications are sent and recorded in the report.
fn release(
    settings: &Settings,
    env: &Env,
    io: &mut Io,
    live: bool,
    manifest_dir: &std::path::Path,
) -> Result<Outcome, Failure> {
    let gh = env.github();
    let masks = session::MaskSink {
        masker: io.masker.clone(),
        announce: env.in_github_actions(),
    };
    let github = session::client(&gh.api_url, settings.auth.as_ref(), masks.clone())?;
    let store = session::open_store(
        settings,
        env,
        Arc::clone(&github) as Arc<dyn orchestrate_github::GitHub>,
        orchestrator(&gh, settings),
        manifest_dir,
        masks,
    )?;
    let work = tempfile::tempdir().context("creating a directory for artifacts")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let release = Release {
        settings: settings.clone(),
        orchestrator: orchestrator(&gh, settings),
        orchestrator_ref: orchestrator_ref(&gh, settings),
        run_url: gh.run_url(),
    };
    let masker = io.masker.clone();
    let names: Vec<String> = settings.release.iter().map(|(s, _)| s.to_owned()).collect();
    runtime.block_on(async {
        let notify = session::notifications(settings, env, &masker, Arc::clone(&github));
        let engine = Engine {
            github,
            http: crate::notify::http::client().context("building the HTTP client")?,
            pace: Pace::real(),
            poll: ForecastPolicy::default().into(),
            health_route: HealthRoute::Direct,
            work_dir: work.path().to_path_buf(),
            skew: chrono::Duration::seconds(120),
            notify: notify.clone(),
            store,
        };
        let result = if live {
            let mut observer = Live::new(&names, masker.clone());
            crate::engine::execute(&engine, &release, &mut observer as &mut dyn Observer).await
        } else {
            let mut observer = Lines::new(
                &mut io.err,
                masker.clone(),
                names.iter().map(String::as_str),
            );
            crate::engine::execute(&engine, &release, &mut observer).await
        };
        let mut outcome = result.map_err(session::start_failure)?;
        session::notify_finish(&mut outcome, notify.as_deref()).await;
        Ok(outcome)
    })
}

/// Where the release set is recorded: the orchestrating repository (`GITHUB_REPOSITORY`), or
/// outside Actions the first service's repository.
pub(super) fn orchestrator(gh: &GithubContext, settings: &Settings) -> Repo {
    gh.repository
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .map(|(owner, name)| Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
        .or_else(|| settings.plan.services.first().map(|s| s.repo.clone()))
        .unwrap_or(Repo {
            owner: "orchestrate".into(),
            name: "release".into(),
        })
}

fn orchestrator_ref(gh: &GithubContext, settings: &Settings) -> String {
    if gh.repository.is_some()
        && let Some(sha) = &gh.sha
    {
        return sha.clone();
    }
    match settings.plan.services.first().map(|s| &s.trigger) {
        Some(orchestrate_core::plan::Trigger::WorkflowDispatch { git_ref, .. }) => git_ref.clone(),
        _ => "main".to_owned(),
    }
}
