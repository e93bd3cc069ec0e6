//! Integration tests: the built `orchestrate` binary, run the way users and the Actions runner
//! run it, with what it writes parsed the way the runner parses it.

mod action;
mod cli;
mod runner;
mod support;
mod engine_github;
mod rehearse_scenarios;
