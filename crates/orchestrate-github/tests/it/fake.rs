//! A tiny scripted GitHub for these tests: every request is recorded, and a per-test closure
//! answers it. Only 127.0.0.1 on port 0.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse;

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: serde_json::Value,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn is(&self, method: &str, path_prefix: &str) -> bool {
        self.method == method && self.path.starts_with(path_prefix)
    }
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Resp {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Resp {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

pub struct Fake {
    pub url: String,
    pub log: Arc<Mutex<Vec<Req>>>,
}

impl Fake {
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().expect("log lock").clone()
    }

    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is(method, path_prefix))
            .count()
    }
}

pub async fn start(handler: impl Fn(&Req) -> Resp + Send + Sync + 'static) -> Fake {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let log: Arc<Mutex<Vec<Req>>> = Arc::default();
    let handler = Arc::new(handler);
    let app = axum::Router::new().fallback({
        let log = log.clone();
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let handler = handler.clone();
            async move {
                let req = Req {
                    method: method.to_string(),
                    path: uri
                        .path_and_query()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect(),
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                };
                let resp = handler(&req);
                log.lock().expect("log lock").push(req);
                let mut out = axum::http::Response::builder().status(resp.status);
                for (k, v) in &resp.headers {
                    out = out.header(k, v);
                }
                out.body(axum::body::Body::from(resp.body))
                    .expect("valid response")
                    .into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Fake { url, log }
}

/// A `workflow-run` as GitHub returns it (the fields we read, and some we do not).
pub fn run_json(
    id: u64,
    title: &str,
    status: &str,
    conclusion: Option<&str>,
    created: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": id, "node_id": "x", "name": "deploy", "display_title": title,
        "html_url": format!("https://github.com/acme/api/actions/runs/{id}"),
        "status": status, "conclusion": conclusion, "event": "workflow_dispatch",
        "head_branch": "main", "path": ".github/workflows/deploy.yml",
        "created_at": created, "updated_at": created, "run_attempt": 1,
    })
}
