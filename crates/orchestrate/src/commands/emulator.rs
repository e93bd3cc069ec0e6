//! `orchestrate emulator --port N [--scenario S] [--legacy-ghes]`: serve the built-in GitHub
//! emulator until Ctrl-C, for experiments and other clients. Prints the base URL (use it as
//! `GITHUB_API_URL`) and the token it accepts. A scenario's `deployed:` versions are recorded
//! as successful deployments first, where the plan (`--plan`) says they live, as `rehearse`
//! does; the URL is printed only once they are.

use anyhow::Context as _;
use orchestrate_emulator::{DEFAULT_TOKEN, EmulatorConfig, Scenario};

use super::Io;
use crate::cli::EmulatorArgs;
use crate::engine::rehearsal::Rehearsal;
use crate::env::Env;
use crate::error::Failure;
use crate::settings::{Problems, planfile};

/// Where and what to seed: the base URL is known only once the socket is bound.
struct Seed {
    plan: orchestrate_core::plan::Plan,
    environment: String,
    deployed: std::collections::BTreeMap<String, String>,
}

pub fn run(args: &EmulatorArgs, _env: &Env, io: &mut Io) -> Result<(), Failure> {
    let (mut config, seed) = match &args.scenario {
        Some(spec) => {
            let r = super::rehearse::load_scenario(spec)?;
            (r.emulator_config(), seed_of(args, &r)?)
        }
        None => (EmulatorConfig::new(Scenario::default()), None),
    };
    config.legacy_ghes |= args.legacy_ghes;
    let permissive = config.tokens.is_empty();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.bind.as_str(), args.port))
            .await
            .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let base_url = format!("http://{addr}");
        let mut serving = tokio::spawn(orchestrate_emulator::serve(config, listener));
        if let Some(seed) = &seed {
            super::rehearse::seed(&base_url, &seed.plan, &seed.environment, &seed.deployed).await?;
        }
        io.print(&format!("emulator listening on {base_url}"))
            .context("writing to stdout")?;
        if permissive {
            io.print(&format!("token: {DEFAULT_TOKEN}"))
                .context("writing to stdout")?;
        }
        io.print("press Ctrl-C to stop")
            .context("writing to stdout")?;
        tokio::select! {
            served = &mut serving => {
                served
                    .context("the emulator task")?
                    .map_err(|e| Failure::Internal(anyhow::anyhow!("emulator: {e}")))?;
            }
            _ = tokio::signal::ctrl_c() => serving.abort(),
        }
        Ok::<(), Failure>(())
    })
}

/// The plan and environment the scenario's `deployed:` versions are recorded in; `None` when
/// it has none. The environment is the scenario's release environment, else the plan's first.
fn seed_of(args: &EmulatorArgs, r: &Rehearsal) -> Result<Option<Seed>, Failure> {
    if r.deployed.is_empty() {
        return Ok(None);
    }
    let label = args.plan.display().to_string();
    if !args.plan.is_file() {
        let mut problems = Problems::new();
        problems.input(
            "--plan",
            format!(
                "scenario `{}` seeds deployed versions, and there is no plan at `{label}` to say where they live",
                r.name
            ),
            "pass the plan the scenario is for, e.g. `--plan examples/orchestrate.yml`",
        );
        return Err(Failure::BadInput(problems));
    }
    let file = planfile::read(&args.plan, &label)?;
    let plan = file.loaded.plan;
    let environment = r
        .release
        .environment
        .clone()
        .or_else(|| plan.environments.keys().next().cloned())
        .unwrap_or_default();
    Ok(Some(Seed {
        plan,
        environment,
        deployed: r.deployed.clone(),
    }))
}
