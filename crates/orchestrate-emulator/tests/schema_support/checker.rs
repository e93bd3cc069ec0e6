//! The conformance checker: sends a request, finds the subset operation it hits, validates the
//! answer against that operation's schema for the status (or GitHub's `basic-error` shape for
//! undocumented errors), and records which (operation, status) pairs were exercised.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::spec::{Operation, Spec};

/// The default REST API version.
pub const API_2022: &str = "2022-11-28";

/// One answer as a client sees it.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Parsed JSON body (`Null` when empty or not JSON).
    pub body: Value,
    /// Raw body.
    pub bytes: Vec<u8>,
}

impl Answer {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Call {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Path and query under the base URL.
    pub path: String,
    /// Bearer token (none when `None`).
    pub token: Option<String>,
    /// `X-GitHub-Api-Version`.
    pub version: String,
    /// Raw body, sent as `application/json`.
    pub body: Option<Vec<u8>>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

/// Validates answers and tracks coverage.
#[derive(Debug)]
pub struct Checker {
    /// The subset.
    pub spec: Spec,
    http: reqwest::Client,
    exercised: Mutex<BTreeMap<String, BTreeSet<u16>>>,
    violations: Mutex<Vec<String>>,
}

impl Checker {
    /// A checker with a client that never follows redirects (the 302s are under test).
    pub fn new(spec: Spec) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            spec,
            http,
            exercised: Mutex::new(BTreeMap::new()),
            violations: Mutex::new(Vec::new()),
        }
    }

    /// The plain client (for the tokenless blob and log URLs).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `call` to `base`, validates the answer, and returns it.
    pub async fn send(&self, base: &str, call: &Call) -> Answer {
        let mut request = self
            .http
            .request(call.method.clone(), format!("{base}{}", call.path))
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "orchestrate-schema-test")
            .header("x-github-api-version", &call.version);
        if let Some(token) = &call.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &call.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &call.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = request.send().await.expect("request reaches the emulator");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let answer = Answer {
            status,
            headers,
            body,
            bytes,
        };
        self.check(call, &answer);
        answer
    }

    fn violation(&self, message: String) {
        lock(&self.violations).push(message);
    }

    /// Validates one answer and records its (operation, status).
    fn check(&self, call: &Call, answer: &Answer) {
        let label = format!("{} {} -> {}", call.method, call.path, answer.status);
        let Some(op) = self.spec.find(call.method.as_str(), &call.path) else {
            self.violation(format!("{label}: no operation of the subset matches"));
            return;
        };
        lock(&self.exercised)
            .entry(op.id.clone())
            .or_default()
            .insert(answer.status);
        let status = answer.status;
        let documented = self.spec.documents(op, status, &call.version);
        // GitHub answers 304 to a matching `If-None-Match` on any GET, though the spec
        // documents it on a few endpoints only (protocol.md §6): allowed for conditional GETs.
        let conditional = call.method == reqwest::Method::GET
            && call
                .headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("if-none-match"));
        if status == 304 && !conditional {
            self.violation(format!("{label}: 304 without If-None-Match"));
        }
        if (200..400).contains(&status) && !documented && !(status == 304 && conditional) {
            self.violation(format!(
                "{label}: {} does not document a {status} answer in API {}",
                op.id, call.version
            ));
        }
        if matches!(status, 204 | 302 | 304) && !answer.bytes.is_empty() {
            self.violation(format!(
                "{label}: a {status} answer must have an empty body"
            ));
        }
        if let Some(validator) = self.spec.validator(op, status, &call.version) {
            let errors: Vec<String> = validator
                .iter_errors(&answer.body)
                .take(8)
                .map(|e| format!("at `{}`: {e}", e.instance_path()))
                .collect();
            if !errors.is_empty() {
                self.violation(format!(
                    "{label}: body does not match {}'s {status} schema (API {}):\n    {}",
                    op.id,
                    call.version,
                    errors.join("\n    ")
                ));
            }
        }
        if status >= 400 {
            // Documented error schemas are loose (no required members); every GitHub error
            // body is at least `basic-error` with the status as a string.
            self.check_basic_error(&label, status, answer);
        }
        if status >= 400 && answer.header("content-type") != "application/json; charset=utf-8" {
            self.violation(format!(
                "{label}: error answered without GitHub's JSON type"
            ));
        }
    }

    /// An error body must at least be GitHub's `basic-error`.
    fn check_basic_error(&self, label: &str, status: u16, answer: &Answer) {
        let body = &answer.body;
        let ok = body["message"].is_string()
            && body["documentation_url"].is_string()
            && body["status"].as_str() == Some(status.to_string().as_str());
        if !ok {
            self.violation(format!(
                "{label}: error body is not basic-error {{message, documentation_url, status: \"{status}\"}}: {body}"
            ));
        }
    }

    /// Panics listing every violation seen so far.
    pub fn assert_no_violations(&self) {
        let problems = lock(&self.violations).clone();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The statuses seen per operation id.
    pub fn exercised(&self) -> BTreeMap<String, BTreeSet<u16>> {
        lock(&self.exercised).clone()
    }

    /// Panics listing every violation and every `expected` (operation, status) pair, or
    /// subset operation, that was not exercised.
    pub fn finish(&self, expected: &BTreeMap<String, BTreeSet<u16>>) {
        let exercised = self.exercised();
        let mut problems = lock(&self.violations).clone();
        for op in &self.spec.operations {
            if !exercised.contains_key(&op.id) {
                problems.push(format!(
                    "operation {} ({} {}) was never exercised",
                    op.id, op.method, op.path
                ));
            }
        }
        for (id, statuses) in expected {
            let _: &Operation = self.spec.operation(id);
            let seen = exercised.get(id).cloned().unwrap_or_default();
            for status in statuses {
                if !seen.contains(status) {
                    problems.push(format!("{id}: status {status} was never exercised"));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "{} conformance problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
