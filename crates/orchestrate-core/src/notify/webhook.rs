//! The generic webhook payload (schema `orchestrate.notification/v1`) and its HMAC-SHA256
//! signature, the scheme GitHub uses for `X-Hub-Signature-256`.
//!
//! Schema v1 (fields are only ever added within a version; a field whose meaning changes
//! gets a new schema version):
//!
//! ```text
//! schema         "orchestrate.notification/v1"
//! delivery_id    string, also sent as the X-Orchestrate-Delivery header
//! event          the leading event (deployment_failed, rollback_failed, …)
//! events         every event of this delivery, leading one first
//! severity       info | warning | error | critical (of the leading event)
//! deployment_id  string
//! plan           string
//! environment    string
//! strategy       sequential | parallel | canary
//! status         succeeded | failed | rolled_back | cancelled | planned | in_progress
//!                (in_progress: a start notification, sent while the release runs)
//! started_at     RFC 3339, finished_at RFC 3339
//! services       [{name, repo, from_version, to_version, outcome, run_id, run_url,
//!                  conclusion, health, failed_job, failed_step, failed_job_url, failure,
//!                  approvals: [{environments, reviewers, wait_timer, state, by, comment,
//!                               auto_approved, waited, timeout}]}]
//!                (approvals: each wait for an environment gate; state waiting | approved |
//!                 rejected | timed_out | cancelled | passed; durations in seconds)
//! rollbacks      [{service, to_version, outcome, run_url, reason}]
//! links          {orchestrator_run}
//! error          string | null: a release-level error
//! sent_at        RFC 3339
//! ```

use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::notify::events::{Notice, primary};
use crate::notify::rule::{Event, Severity};
use crate::notify::text::{rfc3339, strategy_str};
use crate::report::{HealthVerdict, RunReport};

pub const SCHEMA: &str = "orchestrate.notification/v1";

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Payload {
    pub schema: &'static str,
    pub delivery_id: String,
    pub event: Event,
    pub events: Vec<Event>,
    pub severity: Severity,
    pub deployment_id: String,
    pub plan: String,
    pub environment: String,
    pub strategy: &'static str,
    pub status: &'static str,
    pub started_at: String,
    pub finished_at: String,
    pub services: Vec<ServicePayload>,
    pub rollbacks: Vec<RollbackPayload>,
    pub links: Links,
    pub error: Option<String>,
    pub sent_at: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServicePayload {
    pub name: String,
    pub repo: String,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub outcome: &'static str,
    pub run_id: Option<u64>,
    pub run_url: Option<String>,
    pub conclusion: Option<String>,
    /// `not_checked`, `no_check`, `passed`, `failed`.
    pub health: &'static str,
    pub failed_job: Option<String>,
    pub failed_step: Option<String>,
    pub failed_job_url: Option<String>,
    pub failure: Option<String>,
    /// Each wait of its run for an environment gate.
    pub approvals: Vec<crate::report::ApprovalReport>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RollbackPayload {
    pub service: String,
    pub to_version: Option<String>,
    pub outcome: crate::report::RollbackOutcome,
    pub run_url: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Links {
    pub orchestrator_run: Option<String>,
}

fn health_str(h: &HealthVerdict) -> &'static str {
    match h {
        HealthVerdict::NotChecked => "not_checked",
        HealthVerdict::NoCheck => "no_check",
        HealthVerdict::Passed { .. } => "passed",
        HealthVerdict::Failed { .. } => "failed",
    }
}

/// The payload announcing `notices` of `report`; `delivery_id` and `sent_at` are given so the
/// payload is a pure function of its inputs.
pub fn payload(
    report: &RunReport,
    notices: &[Notice],
    delivery_id: &str,
    sent_at: SystemTime,
) -> Payload {
    let lead = primary(notices);
    let services = report
        .services
        .iter()
        .map(|s| {
            let failure = s.failure.as_ref();
            let health_reason = match &s.health {
                HealthVerdict::Failed { reason, .. } => Some(reason.clone()),
                _ => None,
            };
            ServicePayload {
                name: s.name.clone(),
                repo: s.repo.clone(),
                from_version: s.from_version.clone(),
                to_version: s.to_version.clone(),
                outcome: s.outcome.as_str(),
                run_id: s.run.as_ref().map(|r| r.id),
                run_url: s.run.as_ref().map(|r| r.url.clone()),
                conclusion: s.run.as_ref().and_then(|r| r.conclusion.clone()),
                health: health_str(&s.health),
                failed_job: failure.and_then(|f| f.job.clone()),
                failed_step: failure.and_then(|f| f.step.clone()),
                failed_job_url: failure.and_then(|f| f.job_url.clone()),
                failure: failure.map(|f| f.message.clone()).or(health_reason),
                approvals: s.approvals.clone(),
            }
        })
        .collect();
    let rollbacks = report
        .rollbacks
        .iter()
        .map(|r| RollbackPayload {
            service: r.service.clone(),
            to_version: r.to_version.clone(),
            outcome: r.outcome.clone(),
            run_url: r.run.as_ref().map(|run| run.url.clone()),
            reason: r.reason.clone(),
        })
        .collect();
    Payload {
        schema: SCHEMA,
        delivery_id: delivery_id.to_owned(),
        event: lead.map_or(Event::DeploymentStarted, |n| n.event),
        events: notices.iter().map(|n| n.event).collect(),
        severity: lead.map_or(Severity::Info, |n| n.severity),
        deployment_id: report.deployment_id.clone(),
        plan: report.plan.clone(),
        environment: report.environment.clone(),
        strategy: strategy_str(report.strategy),
        status: report.status.as_str(),
        started_at: rfc3339(report.started_at),
        finished_at: rfc3339(report.finished_at),
        services,
        rollbacks,
        links: Links {
            orchestrator_run: report.orchestrator_run_url.clone(),
        },
        error: report.error.clone(),
        sent_at: rfc3339(sent_at),
    }
}

/// The signed body: the payload as compact JSON, exactly the bytes the signature covers.
pub fn body(payload: &Payload) -> Vec<u8> {
    serde_json::to_vec(payload).expect("the payload has only string keys and plain values")
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`, the value of `X-Orchestrate-Signature-256`.
pub fn signature_header(secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a `sha256=<hex>` header against `body` in constant time, as a receiver would.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(expected) = header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC-SHA256 accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from GitHub's "Validating webhook deliveries" documentation.
    #[test]
    fn signature_matches_githubs_documented_example() {
        let header = signature_header(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            header,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert!(verify_signature(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            &header
        ));
        assert!(!verify_signature(b"other", b"Hello, World!", &header));
        assert!(!verify_signature(b"x", b"y", "sha1=00"));
    }
}
