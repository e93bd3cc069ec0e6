//! The `orchestrate` binary's library: the command line, the environment registry, settings,
//! the release preview, the runner I/O (`gha`) and the commands. `main.rs` only wires them;
//! keeping them in a library lets later work (driver, notifications) use the same types.

pub mod checkup;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod env;
pub mod error;
pub mod gha;
pub mod log;
pub mod notify;
pub mod preview;
pub mod settings;
pub mod store;
#[cfg(test)]
mod test_python;
