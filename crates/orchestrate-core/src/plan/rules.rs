//! Validating `notifications:` rules and `channels:` into [`Rule`]s and a
//! [`ChannelsConfig`], filling the Slack and webhook defaults a rule relies on.

use std::time::Duration;

use super::decode::{Ctx, Spanned};
use super::diag::suggestion;
use super::raw::RawPlan;
use super::raw_notify::RawChannels;
use super::validate::{parse_repo, parse_strategy, unknown_service};
use crate::notify::rule::{
    Channel, ChannelsConfig, Conditions, EmailConfig, Event, IssueConfig, Rule, Severity,
    SlackConfig, WebhookConfig,
};

pub(crate) const SEVERITIES: &[&str] = &["info", "warning", "error", "critical"];
pub(crate) const CHANNELS: &[&str] = &["slack", "webhook", "email", "github_issue"];
const DEFAULT_SLACK_ENV: &str = "SLACK_WEBHOOK_URL";
const DEFAULT_WEBHOOK_URL_ENV: &str = "ORCHESTRATE_WEBHOOK_URL";
const DEFAULT_WEBHOOK_SECRET_ENV: &str = "ORCHESTRATE_WEBHOOK_SECRET";
const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_ISSUE_LABEL: &str = "orchestration";

pub(crate) fn validate(
    ctx: &mut Ctx<'_>,
    raw: &RawPlan,
    envs: &[&str],
    services: &[String],
) -> (Vec<Rule>, ChannelsConfig) {
    let mut channels = channels(ctx, &raw.channels);
    let service_names: Vec<&str> = services.iter().map(String::as_str).collect();
    let mut rules = Vec::new();
    for raw_rule in &raw.notifications {
        let events = raw_rule
            .on
            .iter()
            .filter_map(|e| event(ctx, e))
            .collect::<Vec<_>>();
        let severity = raw_rule.severity.as_ref().and_then(|s| severity(ctx, s));
        for env in &raw_rule.when.environment {
            if !envs.contains(&env.value.as_str()) {
                let diag = ctx.error(
                    env.span,
                    format!(
                        "`when.environment` names `{}`, which is not an environment in this plan",
                        env.value
                    ),
                );
                diag.hint = suggestion(&env.value, envs, "environments are");
            }
        }
        for svc in &raw_rule.when.service {
            if !services.contains(&svc.value) {
                unknown_service(ctx, svc, &service_names, "`when.service` names");
            }
        }
        let strategies = raw_rule
            .when
            .strategy
            .iter()
            .filter_map(|s| parse_strategy(ctx, s, "`when.strategy`"))
            .collect();
        let mut to = Vec::new();
        for name in &raw_rule.to {
            if let Some(channel) = channel(ctx, name, &mut channels) {
                to.push(channel);
            }
        }
        rules.push(Rule {
            events,
            severity,
            when: Conditions {
                environments: raw_rule
                    .when
                    .environment
                    .iter()
                    .map(|e| e.value.clone())
                    .collect(),
                services: raw_rule
                    .when
                    .service
                    .iter()
                    .map(|s| s.value.clone())
                    .collect(),
                strategies,
            },
            to,
        });
    }
    (rules, channels)
}

fn event(ctx: &mut Ctx<'_>, name: &Spanned<String>) -> Option<Event> {
    let found = Event::ALL
        .iter()
        .find(|e| e.as_str() == name.value)
        .copied();
    if found.is_none() {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        let diag = ctx.error(
            name.span,
            format!("unknown notification event `{}`", name.value),
        );
        diag.label = Some("unknown event".to_owned());
        diag.hint = suggestion(&name.value, &names, "events are");
    }
    found
}

fn severity(ctx: &mut Ctx<'_>, name: &Spanned<String>) -> Option<Severity> {
    let found = match name.value.as_str() {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "error" => Some(Severity::Error),
        "critical" => Some(Severity::Critical),
        _ => None,
    };
    if found.is_none() {
        let diag = ctx.error(name.span, format!("unknown severity `{}`", name.value));
        diag.label = Some("unknown severity".to_owned());
        diag.hint = suggestion(&name.value, SEVERITIES, "severities are");
    }
    found
}

/// The channel a rule names, adding the default configuration for Slack and webhooks, and
/// reporting email and GitHub issues that have no configuration.
fn channel(
    ctx: &mut Ctx<'_>,
    name: &Spanned<String>,
    config: &mut ChannelsConfig,
) -> Option<Channel> {
    match name.value.as_str() {
        "slack" => {
            config.slack.get_or_insert_with(|| SlackConfig {
                webhook_url_env: DEFAULT_SLACK_ENV.to_owned(),
            });
            Some(Channel::Slack)
        }
        "webhook" => {
            config.webhook.get_or_insert_with(default_webhook);
            Some(Channel::Webhook)
        }
        "email" => {
            if config.email.is_none() {
                let diag = ctx.error(
                    name.span,
                    "a rule sends to `email`, but `channels.email` is not configured",
                );
                diag.hint = Some("add `channels: { email: { to: [ops@example.com] } }`".to_owned());
            }
            Some(Channel::Email)
        }
        "github_issue" => {
            if config.github_issue.is_none() {
                let diag = ctx.error(
                    name.span,
                    "a rule sends to `github_issue`, but `channels.github_issue` is not configured",
                );
                diag.hint =
                    Some("add `channels: { github_issue: { repo: owner/name } }`".to_owned());
            }
            Some(Channel::GithubIssue)
        }
        other => {
            let diag = ctx.error(name.span, format!("unknown notification channel `{other}`"));
            diag.label = Some("unknown channel".to_owned());
            diag.hint = suggestion(other, CHANNELS, "channels are");
            None
        }
    }
}

fn default_webhook() -> WebhookConfig {
    WebhookConfig {
        url_env: DEFAULT_WEBHOOK_URL_ENV.to_owned(),
        secret_env: Some(DEFAULT_WEBHOOK_SECRET_ENV.to_owned()),
        timeout: DEFAULT_WEBHOOK_TIMEOUT,
    }
}

fn channels(ctx: &mut Ctx<'_>, raw: &RawChannels) -> ChannelsConfig {
    let mut out = ChannelsConfig::default();
    if let Some(slack) = &raw.slack {
        out.slack = Some(SlackConfig {
            webhook_url_env: env_name(ctx, slack.webhook_url_env.as_ref(), DEFAULT_SLACK_ENV),
        });
    }
    if let Some(webhook) = &raw.webhook {
        out.webhook = Some(WebhookConfig {
            url_env: env_name(ctx, webhook.url_env.as_ref(), DEFAULT_WEBHOOK_URL_ENV),
            secret_env: Some(env_name(
                ctx,
                webhook.secret_env.as_ref(),
                DEFAULT_WEBHOOK_SECRET_ENV,
            )),
            timeout: webhook
                .timeout
                .as_ref()
                .map_or(DEFAULT_WEBHOOK_TIMEOUT, |t| t.value),
        });
    }
    if let Some(email) = &raw.email {
        for address in &email.to {
            check_address(ctx, address);
        }
        if let Some(from) = &email.from {
            check_address(ctx, from);
        }
        out.email = Some(EmailConfig {
            to: email.to.iter().map(|a| a.value.clone()).collect(),
            from: email.from.as_ref().map(|f| f.value.clone()),
        });
    }
    if let Some(issue) = &raw.github_issue {
        let repo = issue.repo.as_ref().and_then(|r| parse_repo(ctx, r));
        // A missing or bad repo is already reported; the entry still counts as configured so
        // rules using it do not get a second, misleading error.
        out.github_issue = Some(IssueConfig {
            repo: repo.unwrap_or_else(|| super::Repo {
                owner: String::new(),
                name: String::new(),
            }),
            labels: issue.labels.as_ref().map_or_else(
                || vec![DEFAULT_ISSUE_LABEL.to_owned()],
                |l| l.iter().map(|s| s.value.clone()).collect(),
            ),
            close_on_success: issue.close_on_success.as_ref().is_none_or(|c| c.value),
        });
    }
    out
}

/// The name of an environment variable holding a secret (never the secret itself).
fn env_name(ctx: &mut Ctx<'_>, given: Option<&Spanned<String>>, default: &str) -> String {
    let Some(given) = given else {
        return default.to_owned();
    };
    let mut chars = given.value.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        // The value is not echoed: a secret pasted here must not spread into logs.
        let diag = ctx.error(given.span, "this is not an environment variable name");
        diag.label = Some("expected a name like `SLACK_WEBHOOK_URL`".to_owned());
        diag.hint = Some(format!(
            "give the name of the variable that holds the secret (e.g. `{default}`), never the secret itself"
        ));
    }
    given.value.clone()
}

fn check_address(ctx: &mut Ctx<'_>, address: &Spanned<String>) {
    let valid = address.value.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !address.value.contains(char::is_whitespace)
    });
    if !valid {
        let diag = ctx.error(
            address.span,
            format!("`{}` is not an email address", address.value),
        );
        diag.hint = Some("write addresses like `ops@example.com`".to_owned());
    }
}
