//! Shared setup: a standard scenario, a started emulator and a small HTTP helper.

use std::time::Duration;

use orchestrate_emulator::{
    ArtifactSpec, Behaviour, BehaviourPatch, DEFAULT_TOKEN, Emulator, EmulatorConfig, HealthSpec,
    JobSpec, RepoSpec, RunningEmulator, Scenario, WorkflowSpec,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// The fixed emulated start time of every test.
pub const START: &str = "2026-05-01T10:00:00Z";

/// `octo/api` (deploy.yml with inputs, a run-name and an artifact; `release` is behind main),
/// `octo/web` (a failing status context) and `octo/hidden`.
pub fn scenario() -> Scenario {
    let mut manifest = ArtifactSpec {
        name: "release-manifest".into(),
        files: Default::default(),
    };
    manifest.files.insert(
        "manifest.json".into(),
        json!({ "version": "${{ inputs.version }}" }),
    );
    let behaviour = Behaviour {
        jobs: vec![
            JobSpec {
                name: "build".into(),
                steps: vec!["compile".into()],
                fails: false,
                failing_step: None,
            },
            JobSpec {
                name: "deploy".into(),
                steps: vec!["push".into(), "verify".into()],
                fails: true,
                failing_step: Some("push".into()),
            },
        ],
        artifacts: vec![manifest],
        ..Behaviour::timed(Duration::from_secs(10), Duration::from_secs(60), "success")
    };
    let failing = BehaviourPatch {
        conclusion: Some("failure".into()),
        ..BehaviourPatch::default()
    };
    let deploy = WorkflowSpec::new("deploy.yml")
        .run_name("Deploy ${{ inputs.version }} [${{ inputs.orchestrate_id }}]")
        .input("version", true)
        .input("orchestrate_id", false)
        .behaviour(behaviour)
        .when_input("version", "2.0.0", failing);
    let mut on_event = WorkflowSpec::new("on-event.yml")
        .run_name("Event ${{ github.event.client_payload.version }}");
    on_event.repository_dispatch = vec!["deploy".into()];
    on_event.workflow_dispatch = false;
    let mut api = RepoSpec::new("octo/api")
        .branch("release")
        .workflow(deploy)
        .workflow(on_event);
    api.tags.push("v1.0.0".into());
    api.behind_default.push("release".into());
    let mut web = RepoSpec::new("octo/web").workflow(WorkflowSpec::new("ci.yml"));
    web.failing_contexts.push("ci/test".into());
    Scenario::builder()
        .repo(api)
        .repo(web)
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
