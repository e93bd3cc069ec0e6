//! Events derived from reports, their severities, and routing rules to channels.

use orchestrate_core::notify::rule::{
    Channel, ChannelsConfig, Conditions, Event, IssueConfig, Rule, Severity,
};
use orchestrate_core::notify::samples::{failure_with_rollback, health_check_failure, success};
use orchestrate_core::notify::{
    Delivery, Notice, Routing, at_finish, at_start, parse_channel_filter, route,
};
use orchestrate_core::plan::{Repo, Strategy};
use orchestrate_core::report::RunReport;

fn events(notices: &[Notice]) -> Vec<(Event, Severity)> {
    notices.iter().map(|n| (n.event, n.severity)).collect()
}

fn rule(events: &[Event], severity: Option<Severity>, to: &[Channel]) -> Rule {
    Rule {
        events: events.to_vec(),
        severity,
        when: Conditions::default(),
        to: to.to_vec(),
    }
}

fn routed(
    report: &RunReport,
    notices: &[Notice],
    rules: &[Rule],
    channels: &ChannelsConfig,
    only: Option<&[Channel]>,
) -> Vec<Delivery> {
    route(
        report,
        notices,
        Routing {
            rules,
            channels,
            only,
        },
    )
}

fn issue_channel(close_on_success: bool) -> ChannelsConfig {
    ChannelsConfig {
        github_issue: Some(IssueConfig {
            repo: Repo {
                owner: "mickgian".to_owned(),
                name: "release".to_owned(),
            },
            labels: vec![],
            close_on_success,
        }),
        ..ChannelsConfig::default()
    }
}

#[test]
fn success_is_one_info_event() {
    let report = success();
    assert_eq!(
        events(&at_finish(&report)),
        [(Event::DeploymentSucceeded, Severity::Info)]
    );
    assert_eq!(
        at_finish(&report)[0].services,
        ["backend", "web", "android"]
    );
    let start = at_start(&report);
    assert_eq!(events(&start), [(Event::DeploymentStarted, Severity::Info)]);
    assert_eq!(
        start[0].services,
        ["backend", "web", "android"],
        "ios is not in the release"
    );
}

#[test]
fn production_failure_escalates_errors_to_critical_and_asks_for_a_human() {
    assert_eq!(
        events(&at_finish(&failure_with_rollback())),
        [
            (Event::ManualInterventionRequired, Severity::Critical),
            (Event::DeploymentFailed, Severity::Critical),
            (Event::RollbackSucceeded, Severity::Warning),
            (Event::RollbackStarted, Severity::Warning),
        ]
    );
}

#[test]
fn staging_health_failure_stays_at_error() {
    let notices = at_finish(&health_check_failure());
    assert_eq!(
        events(&notices),
        [
            (Event::ManualInterventionRequired, Severity::Error),
            (Event::RollbackFailed, Severity::Error),
            (Event::DeploymentFailed, Severity::Error),
            (Event::HealthCheckFailed, Severity::Error),
            (Event::RollbackStarted, Severity::Warning),
        ]
    );
    assert_eq!(notices[3].services, ["backend"]);
}

#[test]
fn dry_runs_announce_nothing() {
    let mut report = success();
    report.dry_run = true;
    assert!(at_finish(&report).is_empty());
    assert!(at_start(&report).is_empty());
}

#[test]
fn rules_filter_by_event_severity_and_conditions() {
    let report = failure_with_rollback();
    let notices = at_finish(&report);
    let mut prod_only = rule(
        &[Event::DeploymentFailed],
        Some(Severity::Critical),
        &[Channel::Email],
    );
    prod_only.when.environments = vec!["production".to_owned()];
    let mut staging_only = rule(&[], None, &[Channel::Webhook]);
    staging_only.when.environments = vec!["staging".to_owned()];
    let mut web_only = rule(&[Event::DeploymentFailed], None, &[Channel::Slack]);
    web_only.when.services = vec!["web".to_owned()];
    let mut android_only = rule(&[Event::DeploymentFailed], None, &[Channel::GithubIssue]);
    android_only.when.services = vec!["android".to_owned()];
    let mut sequential_only = rule(&[], None, &[Channel::Webhook]);
    sequential_only.when.strategies = vec![Strategy::Sequential];
    let rules = [
        prod_only,
        staging_only,
        web_only,
        android_only,
        sequential_only,
    ];
    let channels = ChannelsConfig::default();
    let out = routed(&report, &notices, &rules, &channels, None);
    let got: Vec<_> = out.iter().map(|d| (d.channel, d.event())).collect();
    // android was halted, not failed: the android rule does not match deployment_failed.
    assert_eq!(
        got,
        [
            (Channel::Slack, Event::DeploymentFailed),
            (Channel::Email, Event::DeploymentFailed)
        ]
    );
}

#[test]
fn severity_threshold_is_inclusive_and_upward() {
    let report = health_check_failure();
    let notices = at_finish(&report);
    let rules = [
        rule(&[], Some(Severity::Critical), &[Channel::Slack]),
        rule(&[], Some(Severity::Error), &[Channel::Email]),
    ];
    let channels = ChannelsConfig::default();
    let out = routed(&report, &notices, &rules, &channels, None);
    assert_eq!(out.len(), 1, "nothing is critical in staging");
    assert_eq!(out[0].channel, Channel::Email);
    let got: Vec<_> = out[0].notices.iter().map(|n| n.event).collect();
    assert_eq!(
        got,
        [
            Event::ManualInterventionRequired,
            Event::RollbackFailed,
            Event::DeploymentFailed,
            Event::HealthCheckFailed
        ]
    );
}

#[test]
fn deliveries_are_deduplicated_per_channel_and_escalation_adds_channels() {
    let report = failure_with_rollback();
    let notices = at_finish(&report);
    let rules = [
        rule(
            &[Event::DeploymentFailed, Event::RollbackSucceeded],
            None,
            &[Channel::Slack],
        ),
        rule(&[], None, &[Channel::Slack]),
        rule(
            &[Event::ManualInterventionRequired],
            Some(Severity::Critical),
            &[Channel::Email, Channel::GithubIssue],
        ),
    ];
    let channels = ChannelsConfig::default();
    let out = routed(&report, &notices, &rules, &channels, None);
    let slack = &out[0];
    assert_eq!(slack.channel, Channel::Slack);
    assert_eq!(slack.notices.len(), 4, "each event once");
    assert_eq!(slack.event(), Event::ManualInterventionRequired);
    assert_eq!(out[1].channel, Channel::Email);
    assert_eq!(out[2].channel, Channel::GithubIssue);
    assert_eq!(out.len(), 3);
    // The same rules in staging would not escalate.
    let calm = health_check_failure();
    let out = routed(&calm, &at_finish(&calm), &rules, &channels, None);
    assert_eq!(
        out.iter().map(|d| d.channel).collect::<Vec<_>>(),
        [Channel::Slack]
    );
}

#[test]
fn notification_channels_input_restricts_channels() {
    let report = failure_with_rollback();
    let notices = at_finish(&report);
    let rules = [rule(
        &[],
        None,
        &[Channel::Slack, Channel::Email, Channel::Webhook],
    )];
    let channels = ChannelsConfig::default();
    let only = parse_channel_filter("email, webhook")
        .expect("valid")
        .expect("a restriction");
    let out = routed(&report, &notices, &rules, &channels, Some(&only));
    assert_eq!(
        out.iter().map(|d| d.channel).collect::<Vec<_>>(),
        [Channel::Webhook, Channel::Email]
    );
    let none = parse_channel_filter("none")
        .expect("valid")
        .expect("a restriction");
    assert!(routed(&report, &notices, &rules, &channels, Some(&none)).is_empty());
    assert_eq!(parse_channel_filter("  ").expect("valid"), None);
    let err = parse_channel_filter("slack,teams").expect_err("teams is unknown");
    assert_eq!(
        err.to_string(),
        "unknown notification channel `teams` (expected one of slack, webhook, email, github_issue, none)"
    );
}

#[test]
fn success_reaches_the_issue_channel_only_to_close() {
    let report = success();
    let notices = at_finish(&report);
    let rules = [rule(
        &[Event::DeploymentFailed],
        None,
        &[Channel::GithubIssue],
    )];
    let closing = issue_channel(true);
    let out = routed(&report, &notices, &rules, &closing, None);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].channel, out[0].event()),
        (Channel::GithubIssue, Event::DeploymentSucceeded)
    );
    let keeping = issue_channel(false);
    assert!(routed(&report, &notices, &rules, &keeping, None).is_empty());
    let only = [Channel::Slack];
    assert!(routed(&report, &notices, &rules, &closing, Some(&only)).is_empty());
}

#[test]
fn service_condition_on_release_wide_events_uses_the_release_set() {
    let report = success();
    let notices = at_start(&report);
    let mut ios = rule(&[], None, &[Channel::Slack]);
    ios.when.services = vec!["ios".to_owned()];
    let mut web = rule(&[], None, &[Channel::Email]);
    web.when.services = vec!["web".to_owned()];
    let channels = ChannelsConfig::default();
    let out = routed(&report, &notices, &[ios, web], &channels, None);
    assert_eq!(
        out.iter().map(|d| d.channel).collect::<Vec<_>>(),
        [Channel::Email]
    );
}
