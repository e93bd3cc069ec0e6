//! `orchestrate health --env E [--service S]`: every health check of the plan, made once now
//! against what the registry says is deployed (see `checkup`); a table or JSON on stdout; exit
//! 0 when every check that could be made passed, 1 when one failed, 2 on bad input.

use anyhow::Context as _;
use orchestrate_core::plan::{Plan, did_you_mean};

use super::Io;
use super::status::{check_environment, github_failure, registry_client};
use crate::checkup::{self, Checkup};
use crate::cli::{Format, HealthArgs};
use crate::env::Env;
use crate::error::Failure;
use crate::settings::{Problems, planfile};

pub fn run(args: &HealthArgs, env: &Env, io: &mut Io) -> Result<(), Failure> {
    let file = planfile::read(&args.plan, &args.plan.display().to_string())?;
    let plan = file.loaded.plan;
    check_environment(&plan, &args.env)?;
    check_services(&plan, &args.service)?;
    let checkup = check(env, io, &plan, &args.env, &args.service)?;
    let text = match args.format {
        Format::Text => checkup::render_text(&checkup),
        Format::Json => serde_json::to_string_pretty(&checkup).context("serializing")?,
    };
    io.print(&text).context("writing to stdout")?;
    let failed = checkup.failed();
    if failed.is_empty() {
        return Ok(());
    }
    Err(Failure::Unhealthy(format!(
        "{} of {} health checks failed in `{}`: {}",
        failed.len(),
        checkup.services.len(),
        args.env,
        failed.join(", ")
    )))
}

/// The checkup of `services` (all when empty) in `environment`, reading the registry with the
/// environment's token.
pub(super) fn check(
    env: &Env,
    io: &Io,
    plan: &Plan,
    environment: &str,
    services: &[String],
) -> Result<Checkup, Failure> {
    let github = registry_client(env, io)?;
    let http = crate::notify::http::client().context("building the HTTP client")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime
        .block_on(checkup::run(&github, &http, plan, environment, services))
        .map_err(github_failure)
}

pub(super) fn check_services(plan: &Plan, services: &[String]) -> Result<(), Failure> {
    let known: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    let mut problems = Problems::new();
    for name in services.iter().filter(|s| !known.contains(&s.as_str())) {
        let hint = did_you_mean(name, known.iter().copied())
            .map_or_else(String::new, |s| format!("did you mean `{s}`? "));
        problems.input(
            "--service",
            format!("plan `{}` has no service `{name}`", plan.name),
            format!("{hint}services in the plan: {}", known.join(", ")),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into())
    }
}
