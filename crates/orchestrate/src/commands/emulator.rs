//! `orchestrate emulator --port N [--scenario S]`: serve the built-in GitHub emulator until
//! Ctrl-C, for experiments and other clients. Prints the base URL (use it as
//! `GITHUB_API_URL`) and the token it accepts.

use anyhow::Context as _;
use orchestrate_emulator::{DEFAULT_TOKEN, EmulatorConfig, Scenario};

use super::Io;
use crate::cli::EmulatorArgs;
use crate::engine::rehearsal::Rehearsal;
use crate::env::Env;
use crate::error::Failure;
use crate::settings::Problems;

pub fn run(args: &EmulatorArgs, _env: &Env, io: &mut Io) -> Result<(), Failure> {
    let config = match &args.scenario {
        Some(spec) => {
            let r = Rehearsal::load(spec).map_err(|e| {
                let mut problems = Problems::new();
                problems.input(
                    "--scenario",
                    e.to_string(),
                    "use a built-in scenario name or a scenario file (see examples/scenarios/)",
                );
                Failure::BadInput(problems)
            })?;
            EmulatorConfig {
                faults: r.faults,
                tokens: r.tokens,
                time_factor: Some(r.speed),
                ..EmulatorConfig::new(r.scenario)
            }
        }
        None => EmulatorConfig::new(Scenario::default()),
    };
    let permissive = config.tokens.is_empty();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.bind.as_str(), args.port))
            .await
            .with_context(|| format!("binding {}:{}", args.bind, args.port))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        io.print(&format!("emulator listening on http://{addr}"))
            .context("writing to stdout")?;
        if permissive {
            io.print(&format!("token: {DEFAULT_TOKEN}"))
                .context("writing to stdout")?;
        }
        io.print("press Ctrl-C to stop")
            .context("writing to stdout")?;
        tokio::select! {
            served = orchestrate_emulator::serve(config, listener) => {
                served.map_err(|e| Failure::Internal(anyhow::anyhow!("emulator: {e}")))?;
            }
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok::<(), Failure>(())
    })
}
