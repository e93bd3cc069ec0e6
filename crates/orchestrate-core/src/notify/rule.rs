//! Notification rules and channel configuration, as validated from the plan's
//! `notifications:` and `channels:` sections.

use crate::plan::{Repo, Strategy};

/// Something that happened in a release that people may want to hear about.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    DeploymentStarted,
    DeploymentSucceeded,
    DeploymentFailed,
    RollbackStarted,
    RollbackSucceeded,
    RollbackFailed,
    HealthCheckFailed,
    CompatibilityWarning,
    ManualInterventionRequired,
    // A service's run waits for a person to approve its environment gate.
    ApprovalRequired,
}

impl Event {
    pub const ALL: [Event; 10] = [
        Event::DeploymentStarted,
        Event::DeploymentSucceeded,
        Event::DeploymentFailed,
        Event::RollbackStarted,
        Event::RollbackSucceeded,
        Event::RollbackFailed,
        Event::HealthCheckFailed,
        Event::CompatibilityWarning,
        Event::ManualInterventionRequired,
        Event::ApprovalRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::DeploymentStarted => "deployment_started",
            Event::DeploymentSucceeded => "deployment_succeeded",
            Event::DeploymentFailed => "deployment_failed",
            Event::RollbackStarted => "rollback_started",
            Event::RollbackSucceeded => "rollback_succeeded",
            Event::RollbackFailed => "rollback_failed",
            Event::HealthCheckFailed => "health_check_failed",
            Event::CompatibilityWarning => "compatibility_warning",
            Event::ManualInterventionRequired => "manual_intervention_required",
            Event::ApprovalRequired => "approval_required",
        }
    }
}

/// How bad an event is; a rule's `severity` matches events at that level or above.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

/// Where a message goes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Slack,
    Webhook,
    Email,
    GithubIssue,
}

/// Conditions a rule's `when:` puts on the release; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    pub environments: Vec<String>,
    pub services: Vec<String>,
    pub strategies: Vec<Strategy>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub events: Vec<Event>,
    /// Lowest severity matched; `None` matches every severity.
    pub severity: Option<Severity>,
    pub when: Conditions,
    pub to: Vec<Channel>,
}

/// How each channel is reached. Secrets are never in the plan: only the names of the
/// environment variables that hold them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelsConfig {
    pub slack: Option<SlackConfig>,
    pub webhook: Option<WebhookConfig>,
    pub email: Option<EmailConfig>,
    pub github_issue: Option<IssueConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlackConfig {
    /// Environment variable holding the incoming-webhook URL (default `SLACK_WEBHOOK_URL`).
    pub webhook_url_env: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Environment variable holding the URL (default `ORCHESTRATE_WEBHOOK_URL`).
    pub url_env: String,
    /// Environment variable holding the HMAC secret (default `ORCHESTRATE_WEBHOOK_SECRET`).
    pub secret_env: Option<String>,
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub to: Vec<String>,
    /// Sender; `SMTP_FROM` when absent.
    pub from: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IssueConfig {
    pub repo: Repo,
    pub labels: Vec<String>,
    /// A success closes the open failure issue with a comment.
    pub close_on_success: bool,
}
