//! Shared setup: a standard scenario, a started emulator and a small HTTP helper.

use std::time::Duration;

use orchestrate_emulator::{
    DEFAULT_TOKEN, Emulator, EmulatorConfig, HealthSpec, RepoSpec, RunningEmulator, Scenario,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub use crate::octo::START;

/// [`crate::octo`]'s `octo/api` and `octo/web`, plus `octo/hidden` and a health endpoint for
/// the `api` service.
pub fn scenario() -> Scenario {
    Scenario::builder()
        .repo(crate::octo::api())
        .repo(crate::octo::web())
        .repo(crate::octo::gated())
        .repo(RepoSpec::new("octo/hidden"))
        .health(HealthSpec {
            service: "api".into(),
            repo: "octo/api".into(),
            workflow: "deploy.yml".into(),
            version_input: "version".into(),
            initial_version: "1.0.0".into(),
            failure: Default::default(),
            unhealthy_versions: vec![],
        })
}

/// A config with a frozen clock at [`START`] (tests move time with `advance`).
pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        time_factor: Some(0.0),
        start_time: Some(START.parse().expect("valid start")),
        ..EmulatorConfig::new(scenario())
    }
}

/// A running emulator plus a client.
pub struct Env {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
    pub token: String,
}

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn start(config: EmulatorConfig) -> Env {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = Emulator::start(config).await.expect("emulator starts");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Env {
        emu,
        http,
        token: DEFAULT_TOKEN.to_owned(),
    }
}

impl Env {
    pub async fn standard() -> Self {
        start(config()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    /// Dispatches deploy.yml in octo/api with run details; returns the run id.
    pub async fn dispatch(&self, version: &str, id: &str) -> u64 {
        let body = json!({
            "ref": "main",
            "inputs": { "version": version, "orchestrate_id": id },
            "return_run_details": true,
        });
        let answer = self
            .post(
                "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
                body,
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body["workflow_run_id"].as_u64().expect("run id")
    }

    pub fn advance(&self, secs: u64) {
        self.emu.advance(Duration::from_secs(secs));
    }
}

/// Asserts GitHub's error body.
pub fn assert_error(answer: &Answer, status: u16, message: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap_or("")
            .contains(message),
        "message {:?} should contain {message:?}",
        answer.body["message"]
    );
    assert_eq!(answer.body["status"], json!(status.to_string()));
    assert!(
        answer.body["documentation_url"]
            .as_str()
            .is_some_and(|d| d.starts_with("https://docs.github.com/"))
    );
    assert_eq!(
        answer.header("content-type"),
        "application/json; charset=utf-8"
    );
}
