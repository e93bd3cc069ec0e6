//! `orchestrate action`, the container entry point: mask every secret first, read the inputs
//! (with the dispatch event's fallback), validate them against the plan, and write the step
//! outputs and the job summary. Bad input is reported as `::error` annotations and on stderr,
//! exit 2, before anything is dispatched.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use orchestrate_core::plan::{Diagnostic, Plan};
use orchestrate_core::report;

use super::{Io, dry_run};
use crate::cli::DEFAULT_PLAN;
use crate::env::{Env, GithubContext};
use crate::error::Failure;
use crate::gha::{self, Level, Location, OutputWriter, SummaryWriter};
use crate::preview::Preview;
use crate::settings::event::{EventInputs, supports_fallback};
use crate::settings::raw::ActionInputs;
use crate::settings::{Origin, Problems, Purpose, RawSettings, Settings, planfile};

pub fn run(env: &Env, io: &mut Io) -> Result<(), Failure> {
    // Masks go out before anything else is printed or logged.
    for secret in env.secrets() {
        io.out.add_mask(secret).context("writing to stdout")?;
    }
    let result = prepare(env, io);
    if let Err(Failure::BadInput(problems)) = &result {
        annotate(io, problems).context("writing to stdout")?;
    }
    let (settings, preview) = result?;
    if !settings.dry_run {
        return super::run::in_action(&settings, env, io);
    }
    show_preview(io, &preview).context("writing to stdout")?;
    let gh = env.github();
    let mut report = dry_run::report(&settings, &preview, SystemTime::now(), gh.run_url());
    dry_run::store_manifest(
        &settings,
        env,
        io,
        &mut report,
        &super::run::manifest_dir(&gh),
    )?;
    write_outputs(&gh, io, &report)?;
    let summary = format!(
        "{}{}",
        report::summary::render(&report),
        dry_run::waves_markdown(&preview)
    );
    write_summary(&gh, io, &summary)?;
    tracing::info!(
        environment = %settings.environment,
        services = settings.release.len(),
        "dry run planned; nothing was dispatched"
    );
    Ok(())
}

/// The preview in a collapsed group of the step log.
fn show_preview(io: &mut Io, preview: &Preview) -> std::io::Result<()> {
    io.out.group(&format!(
        "orchestrate: release plan for `{}`",
        preview.environment
    ))?;
    io.print(&crate::preview::text::render(preview))?;
    io.out.end_group()
}

/// Inputs, event, plan and settings: everything that can be bad input.
fn prepare(env: &Env, io: &mut Io) -> Result<(Settings, Preview), Failure> {
    let inputs = ActionInputs::from_env(env).context("reading the INPUT_* variables")?;
    let gh = env.github();
    let event = read_event(&gh)?;
    let raw = RawSettings::from_action(inputs, event, env);
    check_event_plan(&raw)?;
    let (path, label) = plan_path(&raw, &gh);
    let file = planfile::read(&path, &label)?;
    mask_channel_secrets(&file.loaded.plan, env, io)?;
    let settings = Settings::validate(&raw, &file, Purpose::Release)?;
    for secret in settings.secrets() {
        io.out.add_mask(secret).context("writing to stdout")?;
    }
    let warnings = file.warnings();
    if !warnings.is_empty() {
        annotate(io, &warnings).context("writing to stdout")?;
    }
    let preview = Preview::build(&settings).context("building the release preview")?;
    Ok((settings, preview))
}

fn read_event(gh: &GithubContext) -> Result<Option<EventInputs>, Failure> {
    let (Some(name), Some(path)) = (gh.event_name.as_deref(), gh.event_path.as_deref()) else {
        return Ok(None);
    };
    if !supports_fallback(name) {
        return Ok(None);
    }
    let mut problems = Problems::new();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) => {
            problems.input(
                "GITHUB_EVENT_PATH",
                format!("cannot read the {name} event file `{path}`: {err}"),
                "the runner provides it; when running outside Actions, unset GITHUB_EVENT_NAME",
            );
            return Err(problems.into());
        }
    };
    EventInputs::from_payload(name, path, &text).map_err(|err| {
        problems.input(
            "GITHUB_EVENT_PATH",
            err.to_string(),
            "check the event payload the workflow was started with",
        );
        problems.into()
    })
}

/// A plan path taken from the dispatch event is whoever sent the event's choice: it must stay
/// inside the workspace, or `/proc/self/environ` would be read and quoted in the plan errors.
fn check_event_plan(raw: &RawSettings) -> Result<(), Problems> {
    let Some(plan) = &raw.plan else {
        return Ok(());
    };
    if !matches!(plan.origin, Origin::Event { .. }) {
        return Ok(());
    }
    let inside = Path::new(&plan.text)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if inside {
        return Ok(());
    }
    let mut problems = Problems::new();
    problems.input(
        &plan.label(),
        format!(
            "{} must be a relative path inside the workspace, got `{}`",
            plan.label(),
            plan.text
        ),
        "an event may only name a plan in the repository; set the `plan` input in the workflow for any other path",
    );
    Err(problems)
}

/// The plan path as given (for messages) and resolved against the workspace.
fn plan_path(raw: &RawSettings, gh: &GithubContext) -> (PathBuf, String) {
    let label = raw
        .plan
        .as_ref()
        .map_or(DEFAULT_PLAN, |g| g.text.as_str())
        .to_owned();
    let path = planfile::resolve(Path::new(&label), gh.workspace.as_deref().map(Path::new));
    (path, label)
}

/// The plan names the variables holding channel secrets; mask their values too.
fn mask_channel_secrets(plan: &Plan, env: &Env, io: &mut Io) -> Result<(), Failure> {
    for value in channel_secrets(plan, env) {
        io.out.add_mask(value).context("writing to stdout")?;
    }
    Ok(())
}

/// The values of the variables the plan names as holding channel secrets.
pub(super) fn channel_secrets<'e>(plan: &Plan, env: &'e Env) -> Vec<&'e str> {
    let c = &plan.channels;
    let names = [
        c.slack.as_ref().map(|s| s.webhook_url_env.as_str()),
        c.webhook.as_ref().map(|w| w.url_env.as_str()),
        c.webhook.as_ref().and_then(|w| w.secret_env.as_deref()),
    ];
    names
        .into_iter()
        .flatten()
        .filter_map(|name| env.get(name))
        .collect()
}

/// Each problem as an annotation on the run page, pointing at the plan line when there is one,
/// and rendered in full on stderr by `main`.
fn annotate(io: &mut Io, problems: &Problems) -> std::io::Result<()> {
    for problem in problems.iter() {
        let d: &Diagnostic = &problem.diagnostic;
        let level = if d.is_error() {
            Level::Error
        } else {
            Level::Warning
        };
        let located = d.line > 0;
        let location = Location {
            file: located.then(|| d.file.clone()),
            line: located.then_some(d.line),
            col: located.then_some(d.column),
            title: Some(format!(
                "orchestrate: {}",
                if located { "plan" } else { "input" }
            )),
            ..Location::default()
        };
        let message = match &d.hint {
            Some(hint) => format!("{}\nhelp: {hint}", d.message),
            None => d.message.clone(),
        };
        io.out.annotate(level, &location, &message)?;
    }
    Ok(())
}

pub(super) fn write_outputs(
    gh: &GithubContext,
    io: &Io,
    report: &report::RunReport,
) -> Result<(), Failure> {
    let Some(path) = gh.output_path.as_deref() else {
        tracing::warn!("GITHUB_OUTPUT is not set; step outputs are not written");
        return Ok(());
    };
    let (file, _) = gha::open_append(Path::new(path))
        .with_context(|| format!("opening GITHUB_OUTPUT `{path}`"))?;
    let mut writer = OutputWriter::new(file, io.masker.clone());
    for (name, value) in report::outputs::render(report) {
        writer
            .set(name, &value)
            .context("writing the step outputs")?;
    }
    Ok(())
}

pub(super) fn write_summary(gh: &GithubContext, io: &Io, markdown: &str) -> Result<(), Failure> {
    let Some(path) = gh.step_summary_path.as_deref() else {
        tracing::warn!("GITHUB_STEP_SUMMARY is not set; no job summary is written");
        return Ok(());
    };
    let (file, existing) = gha::open_append(Path::new(path))
        .with_context(|| format!("opening GITHUB_STEP_SUMMARY `{path}`"))?;
    let mut writer = SummaryWriter::new(file, io.masker.clone(), existing);
    if writer.append(markdown).context("writing the job summary")? {
        tracing::warn!("the job summary was truncated to stay under GitHub's 1 MiB limit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Given;

    fn from_event(path: &str) -> RawSettings {
        RawSettings {
            plan: Some(Given {
                input: "plan",
                text: path.to_owned(),
                origin: Origin::Event {
                    event: "repository_dispatch".to_owned(),
                    key: "plan".to_owned(),
                },
            }),
            ..RawSettings::default()
        }
    }

    #[test]
    fn an_event_cannot_point_the_plan_outside_the_workspace() {
        for bad in [
            "/proc/self/environ",
            "../../etc/passwd",
            "plans/../../x.yml",
        ] {
            let problems = check_event_plan(&from_event(bad)).expect_err(bad);
            assert!(
                problems
                    .render()
                    .contains("relative path inside the workspace"),
                "{bad}"
            );
        }
        assert!(check_event_plan(&from_event("./.github/release.yml")).is_ok());
        // The workflow's own `plan` input is trusted as written.
        let input = RawSettings {
            plan: Some(Given::input("plan", "/abs/plan.yml")),
            ..RawSettings::default()
        };
        assert!(check_event_plan(&input).is_ok());
    }
}
