//! The emulator's public handle: configuration, start/serve/shutdown, and read access to
//! what happened (requests, runs, deployments, issues) plus scenario control for tests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::apps::{AppSpec, Apps};
use crate::artifacts::ArtifactStore;
use crate::auth::{DEFAULT_TOKEN, TokenSpec};
use crate::clock::Clock;
use crate::faults::{FaultConfig, Faults, ScriptedFault};
use crate::listener::{KillSwitch, ResettableListener};
use crate::ratelimit::RateLimiter;
use crate::record::RecordedRequest;
use crate::results::RuntimeRegistry;
use crate::scenario::Scenario;
use crate::state::records::{Deployment, Issue};
use crate::state::runs::RunView;
use crate::state::{AppState, Shared, World, lock};

/// Errors starting or serving the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Binding or serving the socket failed.
    #[error("emulator socket: {0}")]
    Io(#[from] std::io::Error),
    /// The scenario is inconsistent.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A configured GitHub App is unusable (e.g. its public key does not parse).
    #[error("invalid github app: {0}")]
    App(String),
}

/// How to run the emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Repositories, workflows and behaviours.
    pub scenario: Scenario,
    /// Tokens; when empty, one permissive token [`DEFAULT_TOKEN`] (id `default`).
    pub tokens: Vec<TokenSpec>,
    /// Default primary rate limit per token per hour (GITHUB_TOKEN's 1,000).
    pub rate_limit: u32,
    /// Emulated-time speed; overrides the scenario's `speed` (default 1).
    pub time_factor: Option<f64>,
    /// Emulated start time (default: now).
    pub start_time: Option<DateTime<Utc>>,
    /// Old-GHES dispatch: a `return_run_details` field answers 400 (also set by the scenario's
    /// `legacy_ghes: true`).
    pub legacy_ghes: bool,
    /// GitHub Apps whose JWTs mint installation tokens.
    pub apps: Vec<AppSpec>,
    /// Serve every route under this path, like GHES's `/api/v3`: the base URL, `url` fields,
    /// `Link` and `Location` headers all carry it. `None` (or empty) serves at the root.
    pub path_prefix: Option<String>,
    /// Injected faults.
    pub faults: FaultConfig,
    /// Port on 127.0.0.1 for [`Emulator::start`] (0 = any free port).
    pub port: u16,
    /// Base URL to hand out instead of `http://<bound address>` (e.g. behind a proxy).
    pub public_url: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            scenario: Scenario::default(),
            tokens: Vec::new(),
            rate_limit: 1_000,
            time_factor: None,
            start_time: None,
            legacy_ghes: false,
            apps: Vec::new(),
            path_prefix: None,
            faults: FaultConfig::default(),
            port: 0,
            public_url: None,
        }
    }
}

impl EmulatorConfig {
    /// A config for `scenario` with every other setting at its default.
    pub fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            ..Self::default()
        }
    }
}

/// Entry point.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds 127.0.0.1:`config.port` and serves in a background task.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let prefix = prefix(config.path_prefix.as_deref());
        let (state, runtime) = build(config, addr)?;
        let app = app(&state, &runtime, prefix.as_deref());
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = axum::serve(
            ResettableListener(listener),
            app.into_make_service_with_connect_info::<KillSwitch>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { serving.await });
        Ok(RunningEmulator {
            state,
            runtime,
            addr,
            stop: Mutex::new(Some(stop)),
            task: Mutex::new(Some(task)),
        })
    }
}

/// Serves the emulator on `listener` until the future is dropped or the socket fails.
pub async fn serve(config: EmulatorConfig, listener: TcpListener) -> Result<(), EmulatorError> {
    let addr = listener.local_addr()?;
    let prefix = prefix(config.path_prefix.as_deref());
    let (state, runtime) = build(config, addr)?;
    let app = app(&state, &runtime, prefix.as_deref());
    axum::serve(
        ResettableListener(listener),
        app.into_make_service_with_connect_info::<KillSwitch>(),
    )
    .await?;
    Ok(())
}

fn build(
    config: EmulatorConfig,
    addr: SocketAddr,
) -> Result<(AppState, RuntimeRegistry), EmulatorError> {
    config.scenario.validate()?;
    let factor = config.time_factor.or(config.scenario.speed).unwrap_or(1.0);
    let clock = Arc::new(Clock::new(config.start_time, factor));
    let store_clock = Arc::clone(&clock);
    let artifacts = ArtifactStore::with_clock(Arc::new(move || store_clock.now()));
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let root = config.public_url.map_or_else(
        || format!("http://{host}"),
        |u| u.trim_end_matches('/').to_owned(),
    );
    let base_url = format!(
        "{root}{}",
        prefix(config.path_prefix.as_deref()).unwrap_or_default()
    );
    let apps = Apps::new(config.apps).map_err(EmulatorError::App)?;
    let tokens = if config.tokens.is_empty() {
        vec![TokenSpec::permissive("default", DEFAULT_TOKEN)]
    } else {
        config.tokens
    };
    let world = World::new(&config.scenario, clock.now());
    let state = Arc::new(Shared {
        clock,
        base_url,
        world: Mutex::new(world),
        limiter: Mutex::new(RateLimiter::default()),
        faults: Mutex::new(Faults::new(config.faults)),
        records: Mutex::new(Vec::new()),
        artifacts,
        tokens,
        rate_limit: config.rate_limit,
        legacy_ghes: config.legacy_ghes || config.scenario.legacy_ghes,
        apps,
    });
    Ok((state, RuntimeRegistry::new()))
}

/// `/api/v3` from `api/v3/`, `/api/v3` or `/api/v3/`; `None` for nothing or `/`.
fn prefix(raw: Option<&str>) -> Option<String> {
    let trimmed = raw?.trim().trim_matches('/');
    (!trimmed.is_empty()).then(|| format!("/{trimmed}"))
}

fn app(state: &AppState, runtime: &RuntimeRegistry, prefix: Option<&str>) -> axum::Router {
    let results = crate::results::results_router(state.artifacts.clone(), runtime.clone());
    let blob = crate::blob::blob_router(state.artifacts.clone());
    let app = crate::server::app(Arc::clone(state), results, blob);
    match prefix {
        // Everything the emulator hands out is built from `base_url`, which carries the
        // prefix, so the tokenless services (blobs, logs, results) move under it too.
        Some(prefix) => axum::Router::new().nest(prefix, app),
        None => app,
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct RunningEmulator {
    state: AppState,
    runtime: RuntimeRegistry,
    addr: SocketAddr,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` plus the configured path prefix, if any (no trailing slash):
    /// use as `GITHUB_API_URL`.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.records).clone()
    }

    /// Runs of `repo` (`owner/name`), oldest first, as they are now.
    pub fn runs(&self, repo: &str) -> Vec<RunView> {
        let now = self.state.clock.now();
        let world = self.state.world();
        let Some(repo) = world.repo(repo) else {
            return Vec::new();
        };
        repo.runs
            .iter()
            .map(|run| {
                let phase = run.latest().phase(now);
                RunView {
                    id: run.id,
                    run_number: run.run_number,
                    workflow: repo.spec.workflows[run.workflow_index].file.clone(),
                    event: run.event.clone(),
                    status: phase.status.to_owned(),
                    conclusion: phase.conclusion,
                    display_title: run.display_title.clone(),
                    head_branch: run.head_branch.clone(),
                    inputs: run.inputs.clone(),
                    run_attempt: run.latest().number,
                    ends_at: run.latest().outcome().0,
                }
            })
            .collect()
    }

    /// Deployments of `repo`, oldest first, with their statuses.
    pub fn deployments(&self, repo: &str) -> Vec<Deployment> {
        self.state
            .world()
            .repo(repo)
            .map(|r| r.deployments.clone())
            .unwrap_or_default()
    }

    /// Issues of `repo`, oldest first, with their comments.
    pub fn issues(&self, repo: &str) -> Vec<Issue> {
        self.state
            .world()
            .repo(repo)
            .map(|r| r.issues.clone())
            .unwrap_or_default()
    }

    /// The current emulated time.
    pub fn now(&self) -> DateTime<Utc> {
        self.state.clock.now()
    }

    /// Moves emulated time forward (instead of sleeping in tests).
    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// Adds a scripted fault.
    pub fn inject(&self, fault: ScriptedFault) {
        lock(&self.state.faults).script(fault);
    }

    /// The artifact store (shared with the results and blob services).
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.state.artifacts
    }

    /// Mints `ACTIONS_RUNTIME_TOKEN` for a job of run `run_id` of `repo`:
    /// `(token, run_backend_id, job_backend_id)`.
    pub fn runtime_token(&self, repo: &str, run_id: u64) -> (String, String, String) {
        let canonical = self
            .state
            .world()
            .repo(repo)
            .map_or_else(|| repo.to_owned(), |r| r.full_name().to_owned());
        self.runtime.mint_runtime_token(&canonical, run_id)
    }

    /// Starts a run of `workflow` (file name) in `repo` on its default branch, as a
    /// `workflow_dispatch` by `actor` with no inputs; `None` when the repository or workflow
    /// does not exist. For a run that plays a job's own workflow run (with
    /// [`RunningEmulator::runtime_token`]).
    pub fn start_run(&self, repo: &str, workflow: &str, actor: &str) -> Option<u64> {
        let now = self.state.clock.now();
        let mut world = lock(&self.state.world);
        let state = world.repo(repo)?;
        let full = state.full_name().to_owned();
        let index = state.workflow_index(workflow)?;
        let branch = state.spec.default_branch.clone();
        let sha = state.resolve_ref(&branch).unwrap_or_default();
        let trigger = crate::state::Trigger {
            event: "workflow_dispatch".to_owned(),
            ref_name: branch,
            sha,
            inputs: std::collections::BTreeMap::new(),
            client_payload: std::collections::BTreeMap::new(),
            event_type: String::new(),
            actor: actor.to_owned(),
        };
        world.start_run(&full, index, trigger, now, &self.state.artifacts)
    }

    /// Marks a ref as behind the default branch again (the next auto-merging deployment 202s).
    pub fn set_behind(&self, repo: &str, git_ref: &str) {
        if let Some(repo) = lock(&self.state.world).repo_mut(repo) {
            repo.behind.insert(git_ref.to_owned());
        }
    }

    /// Changes a health endpoint's scripted failure; `false` when no such service exists.
    pub fn set_health_failure(
        &self,
        service: &str,
        failure: crate::scenario::HealthFailure,
    ) -> bool {
        let mut world = lock(&self.state.world);
        let Some(health) = world.health.iter_mut().find(|h| h.service == service) else {
            return false;
        };
        health.failure = failure;
        true
    }

    /// Replaces the failing commit-status contexts of `repo` (deployments that leave
    /// `required_contexts` unset answer 409 while any is failing).
    pub fn set_failing_contexts(&self, repo: &str, contexts: &[&str]) {
        if let Some(repo) = lock(&self.state.world).repo_mut(repo) {
            repo.spec.failing_contexts = contexts.iter().map(|c| (*c).to_owned()).collect();
        }
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(self) -> Result<(), EmulatorError> {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.send(());
        }
        let task = lock(&self.task).take();
        if let Some(task) = task {
            match task.await {
                Ok(result) => result?,
                Err(join) => return Err(std::io::Error::other(join.to_string()).into()),
            }
        }
        Ok(())
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = lock(&self.stop).take() {
            let _ = stop.send(());
        }
    }
}
