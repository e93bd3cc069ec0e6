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

use super::decode::{Ctx, Spanned};
use super::diag::Span;
use super::yaml::{Kind, Node};

const RULE_KEYS: &[&str] = &["on", "severity", "when", "to"];
const WHEN_KEYS: &[&str] = &["environment", "service", "strategy"];
const CHANNEL_KEYS: &[&str] = &["slack", "webhook", "email", "github_issue"];
const SLACK_KEYS: &[&str] = &["webhook_url_env"];
const WEBHOOK_KEYS: &[&str] = &["url_env", "secret_env", "timeout"];
const EMAIL_KEYS: &[&str] = &["to", "from"];
const ISSUE_KEYS: &[&str] = &["repo", "labels", "close_on_success"];

/// One entry of `notifications:`.
#[derive(Debug, Default)]
pub struct RawRule {
    pub span: Span,
    pub on: Vec<Spanned<String>>,
    pub severity: Option<Spanned<String>>,
    pub environments: Vec<Spanned<String>>,
    pub services: Vec<Spanned<String>>,
    pub strategies: Vec<Spanned<String>>,
    pub to: Vec<Spanned<String>>,
}

#[derive(Debug, Default)]
pub struct RawChannels {
    pub slack: Option<RawSlack>,
    pub webhook: Option<RawWebhook>,
    pub email: Option<RawEmail>,
    pub github_issue: Option<RawIssue>,
}

#[derive(Debug, Default)]
pub struct RawSlack {
    pub webhook_url_env: Option<Spanned<String>>,
}

#[derive(Debug, Default)]
pub struct RawWebhook {
    pub url_env: Option<Spanned<String>>,
    pub secret_env: Option<Spanned<String>>,
    pub timeout: Option<Spanned<Duration>>,
}

#[derive(Debug, Default)]
pub struct RawEmail {
    pub to: Vec<Spanned<String>>,
    pub from: Option<Spanned<String>>,
}

#[derive(Debug, Default)]
pub struct RawIssue {
    pub repo: Option<Spanned<String>>,
    pub labels: Option<Vec<Spanned<String>>>,
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
        rule.environments = list("environment");
        rule.services = list("service");
        rule.strategies = list("strategy");
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
