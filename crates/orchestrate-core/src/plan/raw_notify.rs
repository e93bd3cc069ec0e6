//! The raw `notifications:` and `channels:` sections.
//!
//! ```yaml
//! notifications:                       # a list of rules; every matching rule fires
//!   - on: [deployment_failed]          # required: one event or a list (SPEC §7 names)
//!     severity: critical               # optional: info | warning | error | critical (this or above)
//!     when:                            # optional; each condition is a name or a list of names
//!       environment: production
//!       service: [backend]
//!       strategy: canary
//!     to: [slack, webhook, email, github_issue]   # required
//! channels:                            # secrets are never here, only env var names
//!   slack: { webhook_url_env: SLACK_WEBHOOK_URL }                 # the default if omitted
//!   webhook: { url_env: ORCHESTRATE_WEBHOOK_URL, secret_env: ORCHESTRATE_WEBHOOK_SECRET, timeout: 10s }
//!   email: { to: [ops@example.com], from: orchestrate@example.com }   # `to` required
//!   github_issue: { repo: owner/name, labels: [orchestration], close_on_success: true }
//! ```
//!
//! `slack` and `webhook` may be used by a rule without a `channels:` entry (the defaults
//! above apply); `email` and `github_issue` need their entry.

use std::time::Duration;

use schemars::JsonSchema;

use super::Strategy;
use super::decode::{Ctx, Spanned};
use super::diag::Span;
use super::schema::{EmailAddress, EnvName, OneOrList, OneOrMore, RepoName};
use super::yaml::{Kind, Node};
use crate::notify::rule::{Channel, Event, Severity};

pub(crate) const RULE_KEYS: &[&str] = &["on", "severity", "when", "to"];
pub(crate) const WHEN_KEYS: &[&str] = &["environment", "service", "strategy"];
pub(crate) const CHANNEL_KEYS: &[&str] = &["slack", "webhook", "email", "github_issue"];
pub(crate) const SLACK_KEYS: &[&str] = &["webhook_url_env"];
pub(crate) const WEBHOOK_KEYS: &[&str] = &["url_env", "secret_env", "timeout"];
pub(crate) const EMAIL_KEYS: &[&str] = &["to", "from"];
pub(crate) const ISSUE_KEYS: &[&str] = &["repo", "labels", "close_on_success"];

/// Every mapping this module reads, by its name in the JSON Schema, with its keys (see
/// `raw::OBJECTS`).
#[cfg(test)]
pub(crate) const OBJECTS: &[(&str, &[&str])] = &[
    ("Rule", RULE_KEYS),
    ("When", WHEN_KEYS),
    ("Channels", CHANNEL_KEYS),
    ("Slack", SLACK_KEYS),
    ("Webhook", WEBHOOK_KEYS),
    ("Email", EMAIL_KEYS),
    ("GithubIssue", ISSUE_KEYS),
];

/// A notification rule: the events it matches and the channels it sends them to.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Rule", deny_unknown_fields)]
pub struct RawRule {
    #[schemars(skip)]
    pub span: Span,
    /// The events this rule matches: one or a list.
    #[schemars(required, with = "OneOrMore<Event>")]
    pub on: Vec<Spanned<String>>,
    /// The lowest severity matched (`info` < `warning` < `error` < `critical`); every severity
    /// when absent.
    #[schemars(with = "Option<Severity>")]
    pub severity: Option<Spanned<String>>,
    /// Conditions on the release; an absent condition matches anything.
    #[schemars(with = "Option<RawWhen>")]
    pub when: RawWhen,
    /// The channels to send to: one or a list.
    #[schemars(required, with = "OneOrMore<Channel>")]
    pub to: Vec<Spanned<String>>,
}

/// Conditions a rule puts on the release: each is a name or a list of names, any of which
/// matches.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "When", deny_unknown_fields)]
pub struct RawWhen {
    /// Environments the release targets.
    #[schemars(with = "Option<OneOrList<Spanned<String>>>")]
    pub environment: Vec<Spanned<String>>,
    /// Services: an event about one of them, or a release-wide event of a release deploying one.
    #[schemars(with = "Option<OneOrList<Spanned<String>>>")]
    pub service: Vec<Spanned<String>>,
    /// The release's strategy.
    #[schemars(with = "Option<OneOrList<Strategy>>")]
    pub strategy: Vec<Spanned<String>>,
}

/// How each channel is reached. `slack` and `webhook` work without an entry (the defaults
/// apply); `email` and `github_issue` need theirs.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Channels", deny_unknown_fields)]
pub struct RawChannels {
    pub slack: Option<RawSlack>,
    pub webhook: Option<RawWebhook>,
    pub email: Option<RawEmail>,
    pub github_issue: Option<RawIssue>,
}

/// A Slack incoming webhook.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Slack", deny_unknown_fields)]
pub struct RawSlack {
    /// The environment variable holding the webhook URL (default `SLACK_WEBHOOK_URL`).
    #[schemars(with = "Option<EnvName>")]
    pub webhook_url_env: Option<Spanned<String>>,
}

/// A generic JSON webhook, signed with HMAC-SHA256 when a secret is set.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Webhook", deny_unknown_fields)]
pub struct RawWebhook {
    /// The environment variable holding the URL (default `ORCHESTRATE_WEBHOOK_URL`).
    #[schemars(with = "Option<EnvName>")]
    pub url_env: Option<Spanned<String>>,
    /// The environment variable holding the HMAC secret (default
    /// `ORCHESTRATE_WEBHOOK_SECRET`).
    #[schemars(with = "Option<EnvName>")]
    pub secret_env: Option<Spanned<String>>,
    /// How long one delivery may take (default `10s`).
    pub timeout: Option<Spanned<Duration>>,
}

/// Email over SMTP (the server comes from the `SMTP_*` environment variables).
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Email", deny_unknown_fields)]
pub struct RawEmail {
    /// Recipients: one address or a list.
    #[schemars(required, with = "OneOrList<EmailAddress>")]
    pub to: Vec<Spanned<String>>,
    /// The sender (default: `SMTP_FROM`).
    #[schemars(with = "Option<EmailAddress>")]
    pub from: Option<Spanned<String>>,
}

/// A GitHub issue per failure (a repeat failure comments on the open one).
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "GithubIssue", deny_unknown_fields)]
pub struct RawIssue {
    /// The repository to open issues in, as `owner/name`.
    #[schemars(required, with = "RepoName")]
    pub repo: Option<Spanned<String>>,
    /// Labels for the issue (`orchestration` is always added).
    pub labels: Option<Vec<Spanned<String>>>,
    /// Comment and close the open issue when a release succeeds (default `true`).
    pub close_on_success: Option<Spanned<bool>>,
}

pub(crate) fn read_rules(ctx: &mut Ctx<'_>, node: &Node) -> Vec<RawRule> {
    let Kind::Seq(items) = &node.kind else {
        let diag = ctx.error(
            node.span,
            format!(
                "`notifications` must be a list of rules, found {}",
                node.describe()
            ),
        );
        diag.hint =
            Some("write `notifications: [{ on: [deployment_failed], to: [slack] }]`".to_owned());
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_rule(ctx, item, i + 1))
        .collect()
}

fn read_rule(ctx: &mut Ctx<'_>, node: &Node, number: usize) -> Option<RawRule> {
    let what = format!("notification rule {number}");
    let f = ctx.fields(node, &what, node.span, RULE_KEYS)?;
    let on = f.required(ctx, "on", "[deployment_failed]");
    let to = f.required(ctx, "to", "[slack]");
    let mut rule = RawRule {
        span: node.span,
        on: non_empty_list(ctx, on, "`on`", "[deployment_failed]"),
        severity: f.get("severity").and_then(|n| ctx.string(n, "`severity`")),
        to: non_empty_list(ctx, to, "`to`", "[slack]"),
        ..RawRule::default()
    };
    if let (Some(when), Some(span)) = (f.get("when"), f.key_span("when"))
        && let Some(w) = ctx.fields(when, "`when`", span, WHEN_KEYS)
    {
        let mut list = |key: &str| {
            w.get(key)
                .and_then(|n| ctx.string_or_list(n, &format!("`when.{key}`")))
                .unwrap_or_default()
        };
        rule.when = RawWhen {
            environment: list("environment"),
            service: list("service"),
            strategy: list("strategy"),
        };
    }
    Some(rule)
}

/// A name or list of names that must not be empty.
fn non_empty_list(
    ctx: &mut Ctx<'_>,
    node: Option<&Node>,
    what: &str,
    example: &str,
) -> Vec<Spanned<String>> {
    let Some(node) = node else {
        return Vec::new();
    };
    let list = ctx.string_or_list(node, what).unwrap_or_default();
    if list.is_empty() && matches!(node.kind, Kind::Seq(_)) {
        let diag = ctx.error(node.span, format!("{what} is empty"));
        diag.hint = Some(format!("name at least one, e.g. `{example}`"));
    }
    list
}

pub(crate) fn read_channels(ctx: &mut Ctx<'_>, node: &Node, span: Span) -> RawChannels {
    let mut channels = RawChannels::default();
    let Some(f) = ctx.fields(node, "`channels`", span, CHANNEL_KEYS) else {
        return channels;
    };
    let owner = |name: &str| f.key_span(name).unwrap_or(span);
    if let Some(n) = f.get("slack") {
        channels.slack = ctx
            .fields(n, "`channels.slack`", owner("slack"), SLACK_KEYS)
            .map(|s| RawSlack {
                webhook_url_env: s
                    .get("webhook_url_env")
                    .and_then(|n| ctx.string(n, "`webhook_url_env`")),
            });
    }
    if let Some(n) = f.get("webhook") {
        channels.webhook = ctx
            .fields(n, "`channels.webhook`", owner("webhook"), WEBHOOK_KEYS)
            .map(|w| RawWebhook {
                url_env: w.get("url_env").and_then(|n| ctx.string(n, "`url_env`")),
                secret_env: w
                    .get("secret_env")
                    .and_then(|n| ctx.string(n, "`secret_env`")),
                timeout: w
                    .get("timeout")
                    .and_then(|n| ctx.duration(n, "`webhook.timeout`")),
            });
    }
    if let Some(n) = f.get("email") {
        channels.email = ctx
            .fields(n, "`channels.email`", owner("email"), EMAIL_KEYS)
            .map(|e| RawEmail {
                to: e
                    .required(ctx, "to", "[ops@example.com]")
                    .and_then(|n| ctx.string_or_list(n, "`email.to`"))
                    .unwrap_or_default(),
                from: e.get("from").and_then(|n| ctx.string(n, "`email.from`")),
            });
    }
    if let Some(n) = f.get("github_issue") {
        channels.github_issue = ctx
            .fields(
                n,
                "`channels.github_issue`",
                owner("github_issue"),
                ISSUE_KEYS,
            )
            .map(|i| RawIssue {
                repo: i
                    .required(ctx, "repo", "owner/name")
                    .and_then(|n| ctx.string(n, "`github_issue.repo`")),
                labels: i.get("labels").and_then(|n| ctx.string_list(n, "`labels`")),
                close_on_success: i
                    .get("close_on_success")
                    .and_then(|n| ctx.bool(n, "`close_on_success`")),
            });
    }
    channels
}
