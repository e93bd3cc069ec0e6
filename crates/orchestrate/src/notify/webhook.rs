//! The generic webhook channel: the `orchestrate.notification/v1` JSON, signed with
//! HMAC-SHA256 when a secret is configured. Every attempt of one delivery sends the same
//! bytes and the same delivery id, so receivers can deduplicate retries.

use std::time::Duration;

use orchestrate_core::notify::webhook::{Payload, body, signature_header};

use crate::notify::http::post_json;
use crate::notify::retry::{self, RetryPolicy};

/// The leading event of the delivery (`deployment_failed`, …).
pub const EVENT_HEADER: &str = "X-Orchestrate-Event";
/// A UUID naming this delivery; the same on every retry of it.
pub const DELIVERY_HEADER: &str = "X-Orchestrate-Delivery";
/// `sha256=<hex HMAC-SHA256 of the body>`, sent when a secret is configured.
pub const SIGNATURE_HEADER: &str = "X-Orchestrate-Signature-256";

pub struct Target<'a> {
    pub url: &'a str,
    pub secret: Option<&'a str>,
    pub timeout: Duration,
}

pub async fn send(
    client: &reqwest::Client,
    policy: &RetryPolicy,
    target: &Target<'_>,
    payload: &Payload,
) -> retry::Outcome {
    let bytes = body(payload);
    let mut headers = vec![
        (EVENT_HEADER, payload.event.as_str().to_owned()),
        (DELIVERY_HEADER, payload.delivery_id.clone()),
    ];
    if let Some(secret) = target.secret {
        headers.push((
            SIGNATURE_HEADER,
            signature_header(secret.as_bytes(), &bytes),
        ));
    }
    retry::run(policy, |left| {
        post_json(
            client,
            target.url,
            bytes.clone(),
            &headers,
            target.timeout.min(left),
        )
    })
    .await
}
