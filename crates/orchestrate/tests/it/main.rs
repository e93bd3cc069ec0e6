//! Integration tests: the built `orchestrate` binary, run the way users and the Actions runner
//! run it, with what it writes parsed the way the runner parses it.

mod action;
mod app_masks;
mod approvals;
mod bench_cmd;
mod cli;
mod emulator_cmd;
mod engine_edges;
mod engine_followups;
mod engine_github;
mod fifty;
mod health_cmd;
mod lock;
mod manifest;
mod notify_e2e;
mod progress;
mod registry;
mod rehearse_scenarios;
mod runner;
mod stats_cmd;
mod stats_emulator_cmd;
mod stats_manifests;
mod support;
