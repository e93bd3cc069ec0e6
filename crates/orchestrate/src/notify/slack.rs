//! The Slack channel: the Block Kit message POSTed to an incoming webhook.

use orchestrate_core::notify::Delivery;

use crate::notify::SLACK_TIMEOUT;
use crate::notify::http::post_json;
use crate::notify::retry::{self, RetryPolicy};
use crate::notify::webhook::{DELIVERY_HEADER, EVENT_HEADER};

pub async fn send(
    client: &reqwest::Client,
    policy: &RetryPolicy,
    url: &str,
    message: &serde_json::Value,
    delivery: &Delivery,
    delivery_id: &str,
) -> retry::Outcome {
    let body = message.to_string().into_bytes();
    let headers = [
        (EVENT_HEADER, delivery.event().as_str().to_owned()),
        (DELIVERY_HEADER, delivery_id.to_owned()),
    ];
    retry::run(policy, |left| {
        post_json(client, url, body.clone(), &headers, SLACK_TIMEOUT.min(left))
    })
    .await
}
