//! The subcommands. Each takes the environment snapshot and the output sinks, and returns
//! `Ok(())` or a [`Failure`] that `main` turns into an exit code.

pub mod action;
pub mod bench;
pub mod dry_run;
pub mod emulator;
pub mod health;
pub mod orchestrating;
pub mod plan;
pub mod rehearse;
pub mod run;
pub mod schema;
pub mod stats;
pub mod status;
pub mod validate;

use std::io::{self, Write};

use crate::cli::Command;
use crate::env::Env;
use crate::error::Failure;
use crate::gha::{Masker, Workflow};

/// Where a command writes: stdout (command output and workflow commands, through
/// [`Workflow`] so it is redacted) and stderr (diagnostics, redacted too).
pub struct Io {
    pub out: Workflow<Box<dyn Write>>,
    pub err: Box<dyn Write>,
    pub masker: Masker,
}

impl Io {
    /// `announce_masks`: print `::add-mask::` lines (only inside Actions).
    pub fn new(
        out: Box<dyn Write>,
        err: Box<dyn Write>,
        masker: Masker,
        announce_masks: bool,
    ) -> Io {
        Io {
            out: Workflow::new(out, masker.clone(), announce_masks),
            err,
            masker,
        }
    }

    /// Multi-line text to stdout, redacted.
    pub fn print(&mut self, text: &str) -> io::Result<()> {
        for line in text.lines() {
            self.out.line(line)?;
        }
        Ok(())
    }

    /// Text to stderr, redacted and defused (the runner reads workflow commands on stderr too,
    /// and errors quote GitHub's messages and the inputs).
    pub fn eprint(&mut self, text: &str) -> io::Result<()> {
        let redacted = self.masker.redact(text);
        self.err
            .write_all(crate::gha::commands::defuse(&redacted).as_bytes())?;
        self.err.flush()
    }
}

/// Runs one subcommand.
pub fn run(command: Command, env: &Env, io: &mut Io) -> Result<(), Failure> {
    match command {
        Command::Validate { plan } => validate::run(&plan, io),
        Command::Plan(args) => plan::run(&args, env, io),
        Command::Action => action::run(env, io),
        Command::Run(args) => run::run(&args, env, io),
        Command::Rehearse(args) => rehearse::run(&args, env, io),
        Command::Status(args) => status::run(&args, env, io),
        Command::Emulator(args) => emulator::run(&args, env, io),
        Command::Schema => schema::run(io),
        Command::Health(args) => health::run(&args, env, io),
        Command::Stats(args) => stats::run(&args, env, io),
        Command::Bench(args) => bench::run(&args, io),
    }
}
