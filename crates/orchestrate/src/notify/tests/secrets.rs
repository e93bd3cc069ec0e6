//! A notified failure on every channel, some delivered and some failing: no configured secret
//! appears in any payload, log line (every level, every crate) or delivery error.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use orchestrate_core::notify::rule::{Channel, ChannelsConfig};
use orchestrate_core::notify::samples::failure_with_rollback;
use orchestrate_emulator::DEFAULT_TOKEN;

use super::issues::{emulator, issue_channels};
use super::smtp::{SMTP_PASSWORD, SmtpServer, email_channels};
use super::{Recorder, notifier, notify_to};
use crate::gha::Masker;
use crate::notify::{GithubAccess, NotifySecrets};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_appears_in_payloads_logs_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let slack_ok = Recorder::start(vec![(StatusCode::OK, vec![])]).await;
    let hook_down = Recorder::start(vec![(StatusCode::BAD_GATEWAY, vec![])]).await;
    let smtp = SmtpServer::start().await;
    let emu = emulator().await;

    let slack_url = slack_ok.url("/services/T0001/B0001/slackSecretPath");
    let hook_url = hook_down.url("/hooks/webhookSecretPath");
    let hmac = "hmacSecretValue";
    let secrets = NotifySecrets {
        slack_webhook_url: Some(slack_url.clone()),
        webhook_url: Some(hook_url.clone()),
        webhook_secret: Some(hmac.to_owned()),
        smtp: Some(smtp.settings()),
        github: Some(GithubAccess {
            api_url: emu.base_url().to_owned(),
            token: DEFAULT_TOKEN.to_owned(),
        }),
        problems: vec![],
    };
    let channels = ChannelsConfig {
        slack: super::http::slack(),
        webhook: super::http::webhook(),
        email: email_channels().email,
        github_issue: issue_channels().github_issue,
    };
    let masker = Masker::new();
    let n = notifier(channels, secrets.clone(), masker);
    let report = failure_with_rollback();
    let out = notify_to(&n, &report, &Channel::ALL).await;
    assert_eq!(out.len(), 4);
    let delivered: Vec<_> = out.iter().map(|d| (d.channel, d.delivered)).collect();
    assert_eq!(
        delivered,
        [
            (Channel::Slack, true),
            (Channel::Webhook, false),
            (Channel::Email, true),
            (Channel::GithubIssue, true),
        ]
    );

    let mut haystack =
        vec![String::from_utf8(logs.0.lock().expect("not poisoned").clone()).expect("utf-8 logs")];
    haystack.extend(out.iter().filter_map(|d| d.error.clone()));
    haystack.push(format!("{out:?}"));
    haystack.push(format!("{secrets:?}"));
    for r in slack_ok
        .requests()
        .iter()
        .chain(hook_down.requests().iter())
    {
        haystack.push(String::from_utf8_lossy(&r.body).into_owned());
        haystack.push(format!("{:?}", r.headers));
    }
    for mail in smtp.received() {
        haystack.push(mail.to_string());
    }
    for raw in std::fs::read_dir(smtp.dir.path()).expect("mail dir") {
        let path = raw.expect("entry").path();
        haystack.push(String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned());
    }
    for issue in emu.issues("mickgian/release") {
        haystack.push(format!("{} {:?}", issue.title, issue.body));
    }
    assert!(
        haystack[0].contains("notification not delivered"),
        "the logs were captured"
    );
    assert!(
        haystack.len() > 8,
        "payloads of every channel were collected"
    );

    let needles = [
        slack_url.as_str(),
        "slackSecretPath",
        hook_url.as_str(),
        "webhookSecretPath",
        hmac,
        SMTP_PASSWORD,
        DEFAULT_TOKEN,
    ];
    for text in &haystack {
        for needle in needles {
            assert!(!text.contains(needle), "`{needle}` leaked into: {text}");
        }
    }
}
