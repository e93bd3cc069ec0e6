//! The `orchestrate` binary: parse the command line, snapshot the environment, set up masking
//! and logging, run the command, and map its outcome to the exit codes of SPEC §4.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser as _;

use orchestrate::cli::{Cli, Command};
use orchestrate::commands::{self, Io};
use orchestrate::error::{Failure, exit};
use orchestrate::{env, gha, log};

fn main() -> ExitCode {
    // Before any TLS client exists: one process-wide provider (ring), see tooling.md.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let env = env::Env::from_process();
    let is_action = matches!(cli.command, Command::Action);
    let masker = gha::Masker::new();
    // Every secret is masked before the first log line or output, so nothing printed later
    // can carry one. Inside Actions the runner is told with `::add-mask::`: on stdout for the
    // action, on stderr for CLI commands (the runner reads commands from both), so that
    // `orchestrate plan --format json > plan.json` in a `run:` step stays pure JSON.
    let mask_sink: Box<dyn Write> = if is_action {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::io::stderr())
    };
    let mut masks = gha::Workflow::new(
        mask_sink,
        masker.clone(),
        is_action || env.in_github_actions(),
    );
    for secret in env.secrets() {
        if masks.add_mask(secret).is_err() {
            return ExitCode::from(exit::INTERNAL);
        }
    }
    let mut io = Io::new(
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
        masker.clone(),
        is_action,
    );
    log::init(env.log_filter(), masker);
    let outcome = commands::run(cli.command, &env, &mut io);
    ExitCode::from(report(outcome, &mut io))
}

/// Prints a failure on stderr and returns its exit code.
fn report(outcome: Result<(), Failure>, io: &mut Io) -> u8 {
    let failure = match outcome {
        Ok(()) => return exit::SUCCESS,
        // `orchestrate plan … | head`: the reader left; like other CLI tools, stop quietly.
        Err(Failure::Internal(err)) if is_broken_pipe(&err) => return exit::SUCCESS,
        Err(failure) => failure,
    };
    let (code, text) = match &failure {
        Failure::BadInput(problems) => (
            exit::BAD_INPUT,
            format!(
                "{}\nerror: aborting: {}\n",
                problems.render(),
                problems.summary_line()
            ),
        ),
        Failure::DeploymentFailed(_) | Failure::Unhealthy(_) => {
            (exit::DEPLOYMENT_FAILED, format!("error: {failure}\n"))
        }
        Failure::GitHubRefused(_) => (exit::GITHUB_REFUSED, format!("error: {failure}\n")),
        Failure::TimedOut(_) => (exit::TIMED_OUT, format!("error: {failure}\n")),
        Failure::Internal(err) => (exit::INTERNAL, format!("error: {err:#}\n")),
    };
    // If stderr itself is gone there is nowhere left to say so; the exit code still tells.
    let _ = io.eprint(&text);
    let _ = io.err.flush();
    code
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
