//! Routing: which channels hear about which events, from the plan's rules, the configured
//! channels and the `notification_channels` input. Escalation is routing: a rule that matches
//! only `critical` events adds its channels when things get that bad.

use crate::notify::events::{Notice, importance};
use crate::notify::rule::{Channel, ChannelsConfig, Event, Rule};
use crate::report::{ReleaseStatus, RunReport};

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::Slack,
        Channel::Webhook,
        Channel::Email,
        Channel::GithubIssue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Slack => "slack",
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::GithubIssue => "github_issue",
        }
    }

    /// The channel with this name, as written in plans and the `notification_channels` input.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether `channels:` configures this channel.
    pub fn is_configured(self, channels: &ChannelsConfig) -> bool {
        match self {
            Channel::Slack => channels.slack.is_some(),
            Channel::Webhook => channels.webhook.is_some(),
            Channel::Email => channels.email.is_some(),
            Channel::GithubIssue => channels.github_issue.is_some(),
        }
    }
}

/// A name in the `notification_channels` input that is not a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown notification channel `{name}` (expected one of slack, webhook, email, github_issue, none)"
)]
pub struct UnknownChannel {
    pub name: String,
}

/// The `notification_channels` input: empty means "no restriction", `none` means "no
/// notifications", otherwise a comma- or whitespace-separated list of channel names.
pub fn parse_channel_filter(input: &str) -> Result<Option<Vec<Channel>>, UnknownChannel> {
    let names: Vec<&str> = input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    if names == ["none"] {
        return Ok(Some(Vec::new()));
    }
    let mut out = Vec::new();
    for name in names {
        let channel = Channel::parse(name).ok_or_else(|| UnknownChannel {
            name: name.to_owned(),
        })?;
        if !out.contains(&channel) {
            out.push(channel);
        }
    }
    Ok(Some(out))
}

/// The messages one channel receives: a channel gets one message per release phase carrying
/// every event routed to it, most important first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub channel: Channel,
    pub notices: Vec<Notice>,
}

impl Delivery {
    /// The event the message leads with (and reports under).
    pub fn event(&self) -> Event {
        self.notices
            .first()
            .map_or(Event::DeploymentStarted, |n| n.event)
    }
}

/// What routing needs beside the events.
#[derive(Debug, Clone, Copy)]
pub struct Routing<'a> {
    pub rules: &'a [Rule],
    pub channels: &'a ChannelsConfig,
    /// The `notification_channels` input; `None` leaves every channel allowed.
    pub only: Option<&'a [Channel]>,
}

/// Whether `rule` matches `notice` in `report`. An empty list in a rule matches anything; a
/// `services` condition matches an event about one of those services, or a release-wide
/// event of a release that deploys one of them.
pub fn rule_matches(rule: &Rule, report: &RunReport, notice: &Notice) -> bool {
    let event_ok = rule.events.is_empty() || rule.events.contains(&notice.event);
    let severity_ok = rule.severity.is_none_or(|min| notice.severity >= min);
    let when = &rule.when;
    let env_ok = when.environments.is_empty() || when.environments.contains(&report.environment);
    let strategy_ok = when.strategies.is_empty() || when.strategies.contains(&report.strategy);
    let service_ok = when.services.is_empty()
        || if notice.services.is_empty() {
            report
                .services
                .iter()
                .any(|s| s.to_version.is_some() && when.services.contains(&s.name))
        } else {
            notice.services.iter().any(|s| when.services.contains(s))
        };
    event_ok && severity_ok && env_ok && strategy_ok && service_ok
}

/// Routes `notices` to channels: one [`Delivery`] per channel, in [`Channel::ALL`] order, each
/// event at most once per channel. A success also reaches the GitHub issue channel when it is
/// configured with `close_on_success`, so the open failure issue gets closed.
pub fn route(report: &RunReport, notices: &[Notice], routing: Routing<'_>) -> Vec<Delivery> {
    let allowed = |c: Channel| routing.only.is_none_or(|only| only.contains(&c));
    let mut out: Vec<Delivery> = Vec::new();
    let mut add = |channel: Channel, notice: &Notice| {
        if !allowed(channel) {
            return;
        }
        match out.iter_mut().find(|d| d.channel == channel) {
            Some(d) if d.notices.iter().any(|n| n.event == notice.event) => {}
            Some(d) => d.notices.push(notice.clone()),
            None => out.push(Delivery {
                channel,
                notices: vec![notice.clone()],
            }),
        }
    };
    for notice in notices {
        for rule in routing.rules {
            if rule_matches(rule, report, notice) {
                for &channel in &rule.to {
                    add(channel, notice);
                }
            }
        }
    }
    let closes = routing
        .channels
        .github_issue
        .as_ref()
        .is_some_and(|c| c.close_on_success);
    if closes
        && report.status == ReleaseStatus::Succeeded
        && let Some(success) = notices
            .iter()
            .find(|n| n.event == Event::DeploymentSucceeded)
    {
        add(Channel::GithubIssue, success);
    }
    for d in &mut out {
        d.notices
            .sort_by_key(|n| std::cmp::Reverse((n.severity, importance(n.event))));
    }
    out.sort_by_key(|d| Channel::ALL.iter().position(|c| *c == d.channel));
    out
}
