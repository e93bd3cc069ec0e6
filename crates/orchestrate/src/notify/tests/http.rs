//! Slack and the generic webhook against a local HTTP server: signatures, headers, retries,
//! and a failing channel that leaves the release's outcome alone.

use std::time::Duration;

use axum::http::StatusCode;
use orchestrate_core::notify::rule::{Channel, ChannelsConfig, Event, SlackConfig, WebhookConfig};
use orchestrate_core::notify::samples::{failure_with_rollback, success};
use orchestrate_core::notify::verify_signature;
use orchestrate_core::report::ReleaseStatus;

use super::{Recorder, notifier, notify_to};
use crate::gha::Masker;
use crate::notify::NotifySecrets;

const HMAC_SECRET: &str = "hmac-s3cret-value";

pub fn webhook() -> Option<WebhookConfig> {
    Some(WebhookConfig {
        url_env: "ORCHESTRATE_WEBHOOK_URL".to_owned(),
        secret_env: Some("ORCHESTRATE_WEBHOOK_SECRET".to_owned()),
        timeout: Duration::from_secs(5),
    })
}

pub fn slack() -> Option<SlackConfig> {
    Some(SlackConfig {
        webhook_url_env: "SLACK_WEBHOOK_URL".to_owned(),
    })
}

fn webhook_channels() -> ChannelsConfig {
    ChannelsConfig {
        webhook: webhook(),
        ..ChannelsConfig::default()
    }
}

fn slack_channels() -> ChannelsConfig {
    ChannelsConfig {
        slack: slack(),
        ..ChannelsConfig::default()
    }
}

fn header<'a>(r: &'a super::Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("header {name} missing"))
}

#[tokio::test]
async fn webhook_is_signed_and_the_receiver_can_verify_the_hmac() {
    let server = Recorder::start(vec![(StatusCode::NO_CONTENT, vec![])]).await;
    let secrets = NotifySecrets {
        webhook_url: Some(server.url("/hooks/release")),
        webhook_secret: Some(HMAC_SECRET.to_owned()),
        ..NotifySecrets::default()
    };
    let report = failure_with_rollback();
    let n = notifier(webhook_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Webhook]).await;
    assert_eq!(out.len(), 1);
    assert!(out[0].delivered, "{:?}", out[0].error);
    assert_eq!(
        (out[0].attempts, out[0].event),
        (1, Event::ManualInterventionRequired)
    );

    let got = server.requests();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.path, "/hooks/release");
    let signature = header(req, "x-orchestrate-signature-256");
    assert!(signature.starts_with("sha256="));
    assert!(verify_signature(
        HMAC_SECRET.as_bytes(),
        &req.body,
        signature
    ));
    assert!(!verify_signature(b"another secret", &req.body, signature));
    assert_eq!(header(req, "content-type"), "application/json");
    assert_eq!(
        header(req, "x-orchestrate-event"),
        "manual_intervention_required"
    );
    let delivery = header(req, "x-orchestrate-delivery");
    assert!(uuid::Uuid::parse_str(delivery).is_ok(), "{delivery}");
    let body: serde_json::Value = serde_json::from_slice(&req.body).expect("json body");
    assert_eq!(body["schema"], "orchestrate.notification/v1");
    assert_eq!(body["delivery_id"], delivery);
    assert_eq!(body["deployment_id"], "1043");
    assert_eq!(body["status"], "rolled_back");
}

#[tokio::test]
async fn webhook_without_a_secret_is_sent_unsigned() {
    let server = Recorder::start(vec![(StatusCode::OK, vec![])]).await;
    let secrets = NotifySecrets {
        webhook_url: Some(server.url("/h")),
        ..NotifySecrets::default()
    };
    let report = success();
    let n = notifier(webhook_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Webhook]).await;
    assert!(out[0].delivered);
    assert!(
        server.requests()[0]
            .headers
            .get("x-orchestrate-signature-256")
            .is_none()
    );
}

#[tokio::test]
async fn slack_receives_block_kit_with_links_to_runs() {
    let server = Recorder::start(vec![(StatusCode::OK, vec![])]).await;
    let secrets = NotifySecrets {
        slack_webhook_url: Some(server.url("/services/T000/B000/XXXX")),
        ..NotifySecrets::default()
    };
    let report = failure_with_rollback();
    let n = notifier(slack_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Slack]).await;
    assert!(out[0].delivered, "{:?}", out[0].error);
    let got = server.requests();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json body");
    assert_eq!(body["blocks"][0]["type"], "header");
    let all = body.to_string();
    assert!(all.contains("|run 513>"), "a link to web's run");
    assert!(all.contains("|Orchestrating run>"));
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("deployment 1043"))
    );
}

#[tokio::test]
async fn a_channel_that_always_fails_is_retried_a_bounded_number_of_times_and_reported() {
    let server = Recorder::start(vec![(StatusCode::INTERNAL_SERVER_ERROR, vec![])]).await;
    let secrets = NotifySecrets {
        webhook_url: Some(server.url("/down")),
        slack_webhook_url: Some(server.url("/also-down")),
        ..NotifySecrets::default()
    };
    let mut channels = webhook_channels();
    channels.slack = slack();
    let mut report = failure_with_rollback();
    let n = notifier(channels, secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Slack, Channel::Webhook]).await;
    assert_eq!(out.len(), 2);
    for d in &out {
        assert!(!d.delivered);
        assert_eq!(d.attempts, 3, "the policy's max_attempts");
        let error = d.error.as_deref().expect("an error");
        assert!(error.contains("HTTP 500"), "{error}");
        assert!(error.contains("gave up after 3 attempts"), "{error}");
    }
    assert_eq!(
        server.requests().len(),
        6,
        "three attempts per channel, no more"
    );
    // Recording the failed deliveries leaves the release's outcome as it was.
    report.notifications.extend(out);
    assert_eq!(report.status, ReleaseStatus::RolledBack);
    assert_eq!(report.notifications.len(), 2);
}

#[tokio::test]
async fn rate_limited_delivery_waits_for_retry_after_then_succeeds() {
    let server = Recorder::start(vec![
        (StatusCode::TOO_MANY_REQUESTS, vec![("retry-after", "0")]),
        (StatusCode::SERVICE_UNAVAILABLE, vec![]),
        (StatusCode::OK, vec![]),
    ])
    .await;
    let secrets = NotifySecrets {
        slack_webhook_url: Some(server.url("/s")),
        ..NotifySecrets::default()
    };
    let report = success();
    let n = notifier(slack_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Slack]).await;
    assert!(out[0].delivered);
    assert_eq!(out[0].attempts, 3);
    let got = server.requests();
    assert_eq!(
        header(&got[0], "x-orchestrate-delivery"),
        header(&got[2], "x-orchestrate-delivery"),
        "a retry is the same delivery"
    );
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let server = Recorder::start(vec![(StatusCode::NOT_FOUND, vec![])]).await;
    let secrets = NotifySecrets {
        slack_webhook_url: Some(server.url("/gone")),
        ..NotifySecrets::default()
    };
    let report = success();
    let n = notifier(slack_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Slack]).await;
    assert_eq!((out[0].delivered, out[0].attempts), (false, 1));
    assert_eq!(out[0].error.as_deref(), Some("HTTP 404 Not Found: no"));
}

#[tokio::test]
async fn unreachable_server_is_a_transient_error_without_the_url() {
    // Bind then drop: the port is (almost certainly) closed for the test's duration.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/services/T000/SECRETPATH");
    let secrets = NotifySecrets {
        slack_webhook_url: Some(url),
        ..NotifySecrets::default()
    };
    let report = success();
    let n = notifier(slack_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Slack]).await;
    assert_eq!((out[0].delivered, out[0].attempts), (false, 3));
    let error = out[0].error.as_deref().expect("an error");
    assert!(!error.contains("SECRETPATH"), "{error}");
    assert!(!error.contains(&port.to_string()), "{error}");
}

#[tokio::test]
async fn missing_secret_and_unconfigured_channel_are_reported_not_sent() {
    let report = success();
    let n = notifier(slack_channels(), NotifySecrets::default(), Masker::new());
    let out = notify_to(&n, &report, &[Channel::Slack, Channel::Email]).await;
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].error.as_deref(),
        Some("the slack channel is configured but its URL or credentials are not set")
    );
    assert_eq!(
        out[1].error.as_deref(),
        Some("the email channel is not configured in `channels:`")
    );
    assert!(out.iter().all(|d| !d.delivered && d.attempts == 0));
}
