//! A faithful local GitHub for orchestrate's tests, `orchestrate rehearse` and
//! `orchestrate emulator`: the REST subset orchestrate uses, scripted run lifecycles,
//! artifacts (REST, the Actions results service and blob storage), deployments, issues,
//! ETags, rate limits and injected faults.
//!
//! Start it in-process with [`Emulator::start`] (127.0.0.1, port 0 by default) or serve it on
//! a listener of your own with [`serve`].

pub mod apps;
pub mod artifacts;
pub mod auth;
pub mod blob;
pub mod clock;
pub mod etag;
pub mod faults;
pub mod http;
mod listener;
pub mod models;
pub mod ratelimit;
pub mod record;
pub mod results;
mod routes;
pub mod scenario;
mod server;
pub mod state;
pub mod template;
pub mod zipper;

mod emulator;

pub use apps::{AppSpec, InstallationSpec};
pub use auth::{Access, DEFAULT_TOKEN, Permission, TokenKind, TokenSpec};
pub use emulator::{Emulator, EmulatorConfig, EmulatorError, RunningEmulator, serve};
pub use faults::{Fault, FaultConfig, ScriptedFault};
pub use record::RecordedRequest;
pub use scenario::{
    ArtifactSpec, Behaviour, BehaviourPatch, EnvironmentSpec, HealthFailure, HealthSpec, InputSpec,
    JobSpec, RepoSpec, ReviewScript, ReviewState, RunHistory, Scenario, ScenarioError,
    WorkflowSpec,
};
pub use state::runs::RunView;
