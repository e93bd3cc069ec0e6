//! Integration tests of the notification transports against real local servers: an HTTP
//! server for Slack and webhooks, a real SMTP server (aiosmtpd) for email, the emulator for
//! GitHub issues.

mod http;
mod issues;
mod secrets;
mod smtp;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use orchestrate_core::notify::at_finish;
use orchestrate_core::notify::rule::{Channel, ChannelsConfig, Conditions, Rule};
use orchestrate_core::report::{NotificationDelivery, RunReport};

use crate::gha::Masker;
use crate::notify::{IssueTracker, Notifier, NotifySecrets, RetryPolicy, http::client};

/// Quick retries, so a test of three attempts takes milliseconds.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        budget: Duration::from_secs(10),
    }
}

/// One rule sending every event to `to`.
pub fn everything_to(to: &[Channel]) -> Vec<Rule> {
    vec![Rule {
        events: vec![],
        severity: None,
        when: Conditions::default(),
        to: to.to_vec(),
    }]
}

/// Delivers what `report`'s finish announces to the channels `to`, as a release would.
pub async fn notify_to<I: IssueTracker>(
    n: &Notifier<I>,
    report: &RunReport,
    to: &[Channel],
) -> Vec<NotificationDelivery> {
    n.notify(report, &at_finish(report), &everything_to(to), None)
        .await
}

pub fn notifier(channels: ChannelsConfig, secrets: NotifySecrets, masker: Masker) -> Notifier {
    let http = client().expect("a client with bundled roots");
    Notifier::new(http, channels, secrets, masker).with_retry(fast_retry())
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A local HTTP server that records every POST and answers with `statuses` in turn (the
/// last one repeats), each with the given extra headers.
pub struct Recorder {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    pub async fn start(statuses: Vec<(StatusCode, Vec<(&'static str, &'static str)>)>) -> Recorder {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = received.clone();
        let handler = move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let statuses = statuses.clone();
            async move {
                let mut log = log.lock().expect("not poisoned");
                let n = log.len().min(statuses.len() - 1);
                log.push(Received {
                    path: uri.path().to_owned(),
                    headers,
                    body,
                });
                let (status, extra) = statuses[n].clone();
                let mut response = axum::response::Response::new(axum::body::Body::from("no"));
                *response.status_mut() = status;
                for (k, v) in extra {
                    response
                        .headers_mut()
                        .insert(k, v.parse().expect("a valid header value"));
                }
                response
            }
        };
        let app = Router::new().route("/{*path}", post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Recorder { addr, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }
}
