//! Shared setup of the schema tests: the scenario, the tokens, a started emulator and a small
//! request builder that routes every answer through the [`checker::Checker`].

pub mod checker;
pub mod spec;
pub mod sweep;

use std::time::Duration;

use orchestrate_emulator::{
    Access, Emulator, EmulatorConfig, Permission, RunningEmulator, Scenario, TokenSpec,
};
use serde_json::{Value, json};

use checker::{API_2022, Answer, Call, Checker};

/// Sees every repository, writes everything.
pub const FULL: &str = "ghp_schema_full";
/// Reads octo/api only.
pub const READER: &str = "ghp_schema_reader";
/// Writes octo/web only: octo/api is invisible to it.
pub const OUTSIDER: &str = "ghp_schema_outsider";
/// Sees octo/api with metadata only: every endpoint is forbidden.
pub const METADATA_ONLY: &str = "ghp_schema_metadata";
/// A budget of one request per hour.
pub const TINY: &str = "ghp_schema_tiny";
/// An App installation token (GitHub lets no integration review deployments).
pub const INTEGRATION: &str = "ghs_schema_integration";
/// Writes everything as `mallory`, who reviews nothing.
pub const STRANGER: &str = "ghp_schema_stranger";

pub use crate::octo::START;

/// [`crate::octo`]'s `octo/api`, `octo/web` and `octo/gated`; `octo/web` also has the
/// workflows of [`sweep::history`], whose runs completed before the start.
pub fn scenario() -> Scenario {
    Scenario::builder()
        .repo(crate::octo::api())
        .repo(sweep::with_history(crate::octo::web()))
        .repo(crate::octo::gated())
}

/// The tokens above.
pub fn tokens() -> Vec<TokenSpec> {
    let read_all = [
        (Permission::Actions, Access::Read),
        (Permission::Deployments, Access::Read),
        (Permission::Issues, Access::Read),
        (Permission::Contents, Access::Read),
    ];
    let mut tiny = TokenSpec::permissive("tiny", TINY);
    tiny.rate_limit = Some(1);
    let mut outsider = TokenSpec::permissive("outsider", OUTSIDER);
    outsider.repos = vec!["octo/web".into()];
    let mut integration = TokenSpec::permissive("integration", INTEGRATION);
    integration.kind = orchestrate_emulator::TokenKind::Integration;
    integration.login = "orchestrate[bot]".into();
    let mut stranger = TokenSpec::permissive("stranger", STRANGER);
    stranger.login = "mallory".into();
    vec![
        TokenSpec::permissive("full", FULL),
        TokenSpec::scoped("reader", READER, &["octo/api"], &read_all),
        outsider,
        TokenSpec::scoped("metadata", METADATA_ONLY, &["octo/api"], &[]),
        tiny,
        integration,
        stranger,
    ]
}

/// A config with a frozen clock (tests move time with `advance`).
pub fn config(legacy_ghes: bool) -> EmulatorConfig {
    EmulatorConfig {
        time_factor: Some(0.0),
        start_time: Some(START.parse().expect("valid start")),
        tokens: tokens(),
        rate_limit: 5_000,
        legacy_ghes,
        ..EmulatorConfig::new(scenario())
    }
}

/// A running emulator and the checker every request goes through.
pub struct Env<'c> {
    /// The emulator.
    pub emu: RunningEmulator,
    /// The checker (shared across emulators of one test so coverage adds up).
    pub checker: &'c Checker,
}

impl<'c> Env<'c> {
    /// Starts an emulator (old-GHES dispatch when `legacy_ghes`).
    pub async fn start(checker: &'c Checker, legacy_ghes: bool) -> Self {
        let emu = Emulator::start(config(legacy_ghes))
            .await
            .expect("emulator starts");
        Self { emu, checker }
    }

    /// A request with the full token and API 2022-11-28.
    pub fn req(&self, method: reqwest::Method, path: &str) -> Req<'_, 'c> {
        Req {
            env: self,
            call: Call {
                method,
                path: path.to_owned(),
                token: Some(FULL.to_owned()),
                version: API_2022.to_owned(),
                body: None,
                headers: Vec::new(),
            },
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Req<'_, 'c> {
        self.req(reqwest::Method::GET, path)
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: Value) -> Req<'_, 'c> {
        self.req(reqwest::Method::POST, path).json(&body)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Req<'_, 'c> {
        self.req(reqwest::Method::DELETE, path)
    }

    /// Scripts a fault for the next matching request.
    pub fn inject(&self, fault: orchestrate_emulator::ScriptedFault) {
        self.emu.inject(fault);
    }

    /// Moves emulated time.
    pub fn advance(&self, secs: u64) {
        self.emu.advance(Duration::from_secs(secs));
    }

    /// Dispatches deploy.yml with run details; returns the run id.
    pub async fn dispatch(&self, version: &str) -> u64 {
        let answer = self
            .post(
                "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
                json!({ "ref": "main", "inputs": { "version": version, "orchestrate_id": "c1" },
                        "return_run_details": true }),
            )
            .send()
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["workflow_run_id"]
            .as_u64()
            .expect("workflow_run_id")
    }
}

/// A request being built.
pub struct Req<'e, 'c> {
    env: &'e Env<'c>,
    call: Call,
}

impl Req<'_, '_> {
    /// Sends `token` (or none).
    #[must_use]
    pub fn token(mut self, token: Option<&str>) -> Self {
        self.call.token = token.map(str::to_owned);
        self
    }

    /// Sends `X-GitHub-Api-Version: version`.
    #[must_use]
    pub fn version(mut self, version: &str) -> Self {
        version.clone_into(&mut self.call.version);
        self
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.call.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A JSON body.
    #[must_use]
    pub fn json(mut self, body: &Value) -> Self {
        self.call.body = Some(serde_json::to_vec(body).expect("json"));
        self
    }

    /// A raw (possibly malformed) body.
    #[must_use]
    pub fn raw(mut self, body: &str) -> Self {
        self.call.body = Some(body.as_bytes().to_vec());
        self
    }

    /// Sends and validates.
    pub async fn send(self) -> Answer {
        self.env
            .checker
            .send(self.env.emu.base_url(), &self.call)
            .await
    }

    /// Sends, validates, and asserts the status.
    pub async fn expect(self, status: u16) -> Answer {
        let label = format!("{} {}", self.call.method, self.call.path);
        let answer = self.send().await;
        assert_eq!(
            answer.status,
            status,
            "{label}: {}",
            String::from_utf8_lossy(&answer.bytes)
        );
        answer
    }
}
