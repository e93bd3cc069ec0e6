//! Delivering notifications: routes a report's events to the configured channels, sends each
//! channel its message with bounded retries, and records every delivery (delivered or not) for
//! the report and summary. A channel that fails is logged and reported; it never changes the
//! release's outcome, and no secret reaches an error, a log line or a payload.

pub mod email;
pub mod http;
pub mod issue;
pub mod retry;
mod slack;
mod webhook;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use orchestrate_core::notify::rule::{Channel, ChannelsConfig, Rule};
use orchestrate_core::notify::{Delivery, Notice, Routing, route};
use orchestrate_core::report::{NotificationDelivery, RunReport};
use orchestrate_github::Client;

use crate::env::{Env, SLACK_WEBHOOK_URL};
use crate::gha::Masker;
pub use email::{SmtpSecurity, SmtpSettings};
pub use issue::{GithubAccess, GithubIssueTracker, IssueTracker, OpenIssue};
pub use retry::RetryPolicy;

/// Slack gets this long per attempt (its webhook answers in well under a second).
const SLACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The secret values the channels need, read from the environment variables the plan's
/// `channels:` names. `Debug` shows which are set, never their values.
#[derive(Clone, Default)]
pub struct NotifySecrets {
    pub slack_webhook_url: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub smtp: Option<SmtpSettings>,
    pub github: Option<GithubAccess>,
    /// Why a configured channel cannot be used (a variable not set, a bad `SMTP_SECURITY`).
    pub problems: Vec<(Channel, String)>,
}

impl std::fmt::Debug for NotifySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySecrets")
            .field("slack_webhook_url", &self.slack_webhook_url.is_some())
            .field("webhook_url", &self.webhook_url.is_some())
            .field("webhook_secret", &self.webhook_secret.is_some())
            .field("smtp", &self.smtp)
            .field("github", &self.github)
            .field("problems", &self.problems)
            .finish()
    }
}

impl NotifySecrets {
    /// Reads what `channels` needs from `env`. `github` is the API base and token the release
    /// itself uses; the issue channel reuses them.
    pub fn from_env(
        env: &Env,
        channels: &ChannelsConfig,
        github: Option<GithubAccess>,
    ) -> NotifySecrets {
        let mut s = NotifySecrets::default();
        let mut need = |channel: Channel, var: &str| -> Option<String> {
            let value = env.get(var).map(str::to_owned);
            if value.is_none() {
                s.problems
                    .push((channel, format!("environment variable `{var}` is not set")));
            }
            value
        };
        if let Some(slack) = &channels.slack {
            let var = if slack.webhook_url_env.is_empty() {
                SLACK_WEBHOOK_URL
            } else {
                slack.webhook_url_env.as_str()
            };
            s.slack_webhook_url = need(Channel::Slack, var);
        }
        if let Some(hook) = &channels.webhook {
            s.webhook_url = need(Channel::Webhook, &hook.url_env);
            s.webhook_secret = hook
                .secret_env
                .as_deref()
                .and_then(|var| env.get(var))
                .map(str::to_owned);
        }
        if channels.email.is_some() {
            match SmtpSettings::from_env(env) {
                Ok(smtp) => s.smtp = Some(smtp),
                Err(problem) => s.problems.push((Channel::Email, problem)),
            }
        }
        if channels.github_issue.is_some() {
            if github.is_none() {
                s.problems.push((
                    Channel::GithubIssue,
                    "no GitHub token is available".to_owned(),
                ));
            }
            s.github = github;
        }
        s
    }

    /// Every secret value, to register with the [`Masker`] (and `::add-mask::`) before any
    /// output.
    pub fn values(&self) -> Vec<&str> {
        let smtp = self.smtp.as_ref().and_then(|s| s.password.as_deref());
        let token = self.github.as_ref().map(|g| g.token.as_str());
        [
            self.slack_webhook_url.as_deref(),
            self.webhook_url.as_deref(),
            self.webhook_secret.as_deref(),
            smtp,
            token,
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn problem(&self, channel: Channel) -> Option<&str> {
        self.problems
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, p)| p.as_str())
    }
}

/// Sends a release's notifications. Cheap to share; every method takes `&self`.
pub struct Notifier<I = GithubIssueTracker> {
    http: reqwest::Client,
    channels: ChannelsConfig,
    secrets: NotifySecrets,
    issues: Option<I>,
    masker: Masker,
    retry: RetryPolicy,
}

impl Notifier<GithubIssueTracker> {
    /// A notifier over `http` (see [`http::client`]) for Slack and webhooks; issues are filed
    /// with a GitHub client for `secrets.github`. Registers every secret with `masker`; the
    /// caller should have registered [`NotifySecrets::values`] already so the runner masks
    /// them too.
    pub fn new(
        http: reqwest::Client,
        channels: ChannelsConfig,
        mut secrets: NotifySecrets,
        masker: Masker,
    ) -> Self {
        let issues = match secrets.github.as_ref().map(GithubIssueTracker::for_access) {
            Some(Ok(tracker)) => Some(tracker),
            Some(Err(e)) => {
                secrets.problems.push((
                    Channel::GithubIssue,
                    format!("cannot set up the GitHub client: {e}"),
                ));
                None
            }
            None => None,
        };
        for value in secrets.values() {
            masker.register(value);
        }
        Notifier {
            http,
            channels,
            secrets,
            issues,
            masker,
            retry: RetryPolicy::default(),
        }
    }
}

impl<I: IssueTracker> Notifier<I> {
    /// The same notifier filing issues through `tracker` instead.
    pub fn with_issue_tracker<J: IssueTracker>(self, tracker: J) -> Notifier<J> {
        Notifier {
            http: self.http,
            channels: self.channels,
            secrets: self.secrets,
            issues: Some(tracker),
            masker: self.masker,
            retry: self.retry,
        }
    }

    /// The same notifier filing issues through the release's own GitHub client, so the channel
    /// works with GitHub App credentials too (no token is needed in [`NotifySecrets`]).
    pub fn with_github_client(mut self, client: Arc<Client>) -> Notifier<GithubIssueTracker> {
        // A client at hand is what the channel lacked when no token was given.
        self.secrets
            .problems
            .retain(|(channel, _)| *channel != Channel::GithubIssue);
        self.with_issue_tracker(GithubIssueTracker::new(client))
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Routes `notices` by `rules` (restricted to `only`, the `notification_channels` input)
    /// and delivers them. The result goes into [`RunReport::notifications`].
    pub async fn notify(
        &self,
        report: &RunReport,
        notices: &[Notice],
        rules: &[Rule],
        only: Option<&[Channel]>,
    ) -> Vec<NotificationDelivery> {
        let routing = Routing {
            rules,
            channels: &self.channels,
            only,
        };
        self.deliver(report, &route(report, notices, routing)).await
    }

    /// Sends each delivery, one channel after the other, each bounded by the retry policy's
    /// budget.
    pub async fn deliver(
        &self,
        report: &RunReport,
        deliveries: &[Delivery],
    ) -> Vec<NotificationDelivery> {
        let mut out = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            let outcome = self.send(report, delivery).await;
            let error = outcome.error.map(|e| self.masker.redact(&e));
            let channel = delivery.channel.as_str();
            let event = delivery.event().as_str();
            match &error {
                None => tracing::info!(
                    channel,
                    event,
                    attempts = outcome.attempts,
                    "notification delivered"
                ),
                Some(error) => tracing::warn!(
                    channel,
                    event,
                    attempts = outcome.attempts,
                    error = %error,
                    "notification not delivered"
                ),
            }
            out.push(NotificationDelivery {
                channel: delivery.channel,
                event: delivery.event(),
                delivered: error.is_none(),
                attempts: outcome.attempts,
                error,
            });
        }
        out
    }

    async fn send(&self, report: &RunReport, delivery: &Delivery) -> retry::Outcome {
        let not_sent = |why: String| retry::Outcome {
            attempts: 0,
            error: Some(why),
        };
        let channel = delivery.channel;
        if let Some(problem) = self.secrets.problem(channel) {
            return not_sent(format!("{} channel unusable: {problem}", channel.as_str()));
        }
        let notices = &delivery.notices;
        let unconfigured = || {
            not_sent(if channel.is_configured(&self.channels) {
                format!(
                    "the {} channel is configured but its URL or credentials are not set",
                    channel.as_str()
                )
            } else {
                format!(
                    "the {} channel is not configured in `channels:`",
                    channel.as_str()
                )
            })
        };
        let delivery_id = uuid::Uuid::new_v4().to_string();
        match channel {
            Channel::Slack => match &self.secrets.slack_webhook_url {
                Some(url) => {
                    let msg = orchestrate_core::notify::slack::message(report, notices);
                    slack::send(&self.http, &self.retry, url, &msg, delivery, &delivery_id).await
                }
                None => unconfigured(),
            },
            Channel::Webhook => match (&self.channels.webhook, &self.secrets.webhook_url) {
                (Some(cfg), Some(url)) => {
                    let payload = orchestrate_core::notify::webhook::payload(
                        report,
                        notices,
                        &delivery_id,
                        SystemTime::now(),
                    );
                    let target = webhook::Target {
                        url,
                        secret: self.secrets.webhook_secret.as_deref(),
                        timeout: cfg.timeout,
                    };
                    webhook::send(&self.http, &self.retry, &target, &payload).await
                }
                _ => unconfigured(),
            },
            Channel::Email => match (&self.channels.email, &self.secrets.smtp) {
                (Some(cfg), Some(smtp)) => {
                    let mail = orchestrate_core::notify::email::message(report, notices);
                    email::send(&self.retry, smtp, cfg, &mail).await
                }
                _ => unconfigured(),
            },
            Channel::GithubIssue => match (&self.channels.github_issue, &self.issues) {
                (Some(cfg), Some(tracker)) => {
                    issue::send(tracker, &self.retry, cfg, report, notices).await
                }
                _ => unconfigured(),
            },
        }
    }
}

#[cfg(test)]
mod secrets_tests {
    use orchestrate_core::notify::rule::{SlackConfig, WebhookConfig};

    use super::*;

    #[test]
    fn secrets_come_from_the_variables_the_plan_names_and_missing_ones_are_problems() {
        let env = Env::from_map([("MY_SLACK", "https://hooks.slack.com/services/T/B/x")]);
        let channels = ChannelsConfig {
            slack: Some(SlackConfig {
                webhook_url_env: "MY_SLACK".to_owned(),
            }),
            webhook: Some(WebhookConfig {
                url_env: "HOOK_URL".to_owned(),
                secret_env: Some("HOOK_SECRET".to_owned()),
                timeout: Duration::from_secs(5),
            }),
            ..ChannelsConfig::default()
        };
        let s = NotifySecrets::from_env(&env, &channels, None);
        assert_eq!(
            s.slack_webhook_url.as_deref(),
            Some("https://hooks.slack.com/services/T/B/x")
        );
        assert_eq!(
            s.problems,
            [(
                Channel::Webhook,
                "environment variable `HOOK_URL` is not set".to_owned()
            )]
        );
        assert_eq!(s.values(), ["https://hooks.slack.com/services/T/B/x"]);
        assert!(!format!("{s:?}").contains("hooks.slack.com"));
    }
}
