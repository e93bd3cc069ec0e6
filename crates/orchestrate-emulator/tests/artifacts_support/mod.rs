//! Shared setup for the artifact tests: the results and blob routers alone on 127.0.0.1:0.

use orchestrate_emulator::artifacts::ArtifactStore;
use orchestrate_emulator::blob::blob_router;
use orchestrate_emulator::results::{RuntimeRegistry, results_router};
use serde_json::{Value, json};

pub const TWIRP: &str = "twirp/github.actions.results.api.v1.ArtifactService";

/// A running results + blob service and what a job of run `octo/api#42` needs to talk to it.
pub struct Harness {
    pub base: String,
    pub store: ArtifactStore,
    pub runtime: RuntimeRegistry,
    pub token: String,
    pub run_backend_id: String,
    pub job_backend_id: String,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Self {
        // Another test in this binary may have installed it first; either way one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = ArtifactStore::new();
        let runtime = RuntimeRegistry::new();
        let app = results_router(store.clone(), runtime.clone()).merge(blob_router(store.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let (token, run_backend_id, job_backend_id) = runtime.mint_runtime_token("octo/api", 42);
        Self {
            base: format!("http://{addr}"),
            store,
            runtime,
            token,
            run_backend_id,
            job_backend_id,
            http: reqwest::Client::builder().build().expect("client"),
        }
    }

    /// The backend ids of this harness's job, plus `extra` fields.
    pub fn ids(&self, extra: Value) -> Value {
        let mut body = json!({
            "workflow_run_backend_id": self.run_backend_id,
            "workflow_job_run_backend_id": self.job_backend_id,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    }

    /// One Twirp call with this job's token; returns status and parsed body.
    pub async fn twirp(&self, method: &str, body: &Value) -> (u16, Value) {
        self.twirp_as(Some(&self.token), method, body).await
    }

    pub async fn twirp_as(&self, token: Option<&str>, method: &str, body: &Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/{TWIRP}/{method}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("twirp request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("twirp body");
        (
            status,
            serde_json::from_str(&text).expect("twirp answers json"),
        )
    }

    /// CreateArtifact for `name`; returns the signed upload URL.
    pub async fn create(&self, name: &str) -> String {
        let (status, body) = self
            .twirp(
                "CreateArtifact",
                &self.ids(json!({"name": name, "version": 4})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ok"], true);
        body["signed_upload_url"]
            .as_str()
            .expect("signed_upload_url")
            .to_owned()
    }

    /// Put Blob of `bytes` to `url`; returns the status.
    pub async fn put_blob(&self, url: &str, bytes: &[u8]) -> u16 {
        self.http
            .put(url)
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-version", "2025-11-05")
            .header("x-ms-blob-content-type", "application/zip")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("put blob")
            .status()
            .as_u16()
    }

    /// FinalizeArtifact with the right size and hash; returns the artifact id.
    pub async fn finalize(&self, name: &str, bytes: &[u8]) -> u64 {
        let body = self.ids(json!({
            "name": name,
            "size": bytes.len().to_string(),
            "hash": orchestrate_emulator::artifacts::sha256_digest(bytes),
        }));
        let (status, body) = self.twirp("FinalizeArtifact", &body).await;
        assert_eq!(status, 200, "{body}");
        body["artifact_id"]
            .as_str()
            .expect("artifact_id is an int64 string")
            .parse()
            .expect("numeric id")
    }
}
