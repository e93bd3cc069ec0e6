//! The results-service client against the emulator, through a proxy that loses answers: a
//! CreateArtifact acted on whose answer never arrived (the re-sent call meets 409 and the name
//! is reported held, never half-uploaded silently), a FinalizeArtifact likewise (the re-sent
//! call finds the artifact finalized and uses it), a plain upload whose bytes read back the
//! same digest, and the signed URL's signature handed to the secret hook before use.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use orchestrate_emulator::{
    Emulator, EmulatorConfig, RepoSpec, RunningEmulator, Scenario, WorkflowSpec,
};
use orchestrate_github::results::{ResultsClient, ResultsConfig, ResultsError, zip_files};
use orchestrate_github::{RetryPolicy, Secret};

#[derive(Clone)]
struct Proxy {
    target: String,
    /// The RPC whose first answer is lost after the emulator acted on it.
    lose: &'static str,
    seen: Arc<AtomicU32>,
    http: reqwest::Client,
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        p.target,
        uri.path_and_query().map_or("", |q| q.as_str())
    );
    let mut request = p.http.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("the emulator answers");
    let status = answer.status().as_u16();
    let text = answer.bytes().await.expect("a body");
    if uri.path().ends_with(p.lose) && p.seen.fetch_add(1, Ordering::SeqCst) == 0 {
        return (StatusCode::BAD_GATEWAY, "lost").into_response();
    }
    (
        StatusCode::from_u16(status).expect("status"),
        [("content-type", "application/json")],
        text,
    )
        .into_response()
}

async fn setup(lose: &'static str) -> (RunningEmulator, ResultsClient, Arc<Mutex<Vec<String>>>) {
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/release").workflow(WorkflowSpec::new("orchestrate.yml")));
    let emu = Emulator::start(EmulatorConfig::new(scenario))
        .await
        .expect("emulator");
    let run = emu
        .start_run("acme/release", "orchestrate.yml", "octocat")
        .expect("run");
    let (token, _, _) = emu.runtime_token("acme/release", run);
    let proxy = Proxy {
        target: emu.base_url().to_owned(),
        lose,
        seen: Arc::new(AtomicU32::new(0)),
        http: orchestrate_github::client::https_client_builder()
            .build()
            .expect("client"),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let secrets = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&secrets);
    let config = ResultsConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        on_secret: Some(Arc::new(move |s: &str| {
            sink.lock().expect("lock").push(s.to_owned())
        })),
        ..ResultsConfig::default()
    };
    let client = ResultsClient::new(&format!("http://{addr}/"), &Secret::new(token), config)
        .expect("a runtime token");
    (emu, client, secrets)
}

#[tokio::test]
async fn an_upload_is_listed_in_its_run_with_its_digest_and_its_signature_is_masked_first() {
    let (emu, client, secrets) = setup("Nothing").await;
    let zip = zip_files(&[("manifest.json", b"{\"schema\":\"x\"}\n")]).expect("zip");
    let uploaded = client
        .upload_zip("orchestrate-manifest-1", zip.clone())
        .await
        .expect("uploaded");
    assert_eq!(
        uploaded.requests, 3,
        "CreateArtifact, Put Blob, FinalizeArtifact"
    );
    assert_eq!(uploaded.size, zip.len() as u64);
    let record = emu
        .artifacts()
        .list_for_run("acme/release", 20_000_000_001)
        .into_iter()
        .find(|a| a.id == uploaded.id);
    assert!(
        record.is_some(),
        "the artifact belongs to the orchestrating run"
    );
    let listed = client
        .find("orchestrate-manifest-1")
        .await
        .expect("listed")
        .expect("there");
    assert_eq!(listed.id, uploaded.id);
    assert_eq!(listed.digest.as_deref(), Some(uploaded.digest.as_str()));
    let sigs = secrets.lock().expect("lock").clone();
    assert!(!sigs.is_empty(), "the signed URL's sig was announced");
}

#[tokio::test]
async fn a_lost_create_answer_is_reported_as_a_held_name_never_half_uploaded() {
    let (_emu, client, _) = setup("CreateArtifact").await;
    let zip = zip_files(&[("manifest.json", b"{}")]).expect("zip");
    let err = client
        .upload_zip("orchestrate-manifest-2", zip.clone())
        .await
        .expect_err("the name is held by the upload the lost call opened");
    assert!(matches!(err, ResultsError::NameHeld { .. }), "{err}");
    // Another name works, and the held one never shows up as an artifact.
    let uploaded = client
        .upload_zip("orchestrate-manifest-2-2", zip)
        .await
        .expect("second name");
    assert!(uploaded.id > 0);
    assert!(
        client
            .find("orchestrate-manifest-2")
            .await
            .expect("listed")
            .is_none()
    );
}

#[tokio::test]
async fn a_lost_finalize_answer_is_recovered_by_looking_the_artifact_up() {
    let (_emu, client, _) = setup("FinalizeArtifact").await;
    let zip = zip_files(&[("manifest.json", b"{\"a\":1}")]).expect("zip");
    let uploaded = client
        .upload_zip("orchestrate-manifest-3", zip)
        .await
        .expect("recovered");
    let listed = client
        .find("orchestrate-manifest-3")
        .await
        .expect("listed")
        .expect("there");
    assert_eq!(listed.id, uploaded.id);
    assert_eq!(listed.digest.as_deref(), Some(uploaded.digest.as_str()));
}
