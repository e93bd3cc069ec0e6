//! Email to a real SMTP server: Python's aiosmtpd, started by the test as a child process.
//!
//! The interpreter comes from `crate::test_python` (`ORCHESTRATE_TEST_SMTP_PYTHON`, the CI venv,
//! `target/test-venvs/smtp`, or installed there): the test never skips silently.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use orchestrate_core::notify::rule::{Channel, ChannelsConfig, EmailConfig};
use orchestrate_core::notify::samples::health_check_failure;
use orchestrate_core::notify::{at_finish, email as mail};
use tokio::io::AsyncBufReadExt;

use super::{notifier, notify_to};
use crate::env::ORCHESTRATE_TEST_SMTP_PYTHON;
use crate::gha::Masker;
use crate::notify::{NotifySecrets, SmtpSecurity, SmtpSettings};

pub const SMTP_USER: &str = "orchestrate";
pub const SMTP_PASSWORD: &str = "smtp-pa55word-value";

/// The aiosmtpd release the tests are written against (also what `.ci/run setup` installs).
const AIOSMTPD: &str = "aiosmtpd==1.4.6";

fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            crate::test_python::PythonTool {
                module: "aiosmtpd",
                package: AIOSMTPD,
                venv: "smtp",
                override_var: ORCHESTRATE_TEST_SMTP_PYTHON,
            }
            .find_or_provision()
        })
        .clone()
}

/// A running aiosmtpd; killed when dropped (and it exits by itself when its stdin closes).
pub struct SmtpServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut child = tokio::process::Command::new(python())
            .arg(&script)
            .arg(dir.path())
            .args(["--user", SMTP_USER, "--password", SMTP_PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        tokio::io::BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("the server prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a port: {line:?}"));
        SmtpServer {
            port,
            dir,
            _child: child,
        }
    }

    pub fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            security: SmtpSecurity::None,
            username: Some(SMTP_USER.to_owned()),
            password: Some(SMTP_PASSWORD.to_owned()),
            from: Some("orchestrate <releases@example.com>".to_owned()),
        }
    }

    /// The parsed messages the server accepted, in order.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("read the mail directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
            .collect()
    }
}

pub fn email_channels() -> ChannelsConfig {
    ChannelsConfig {
        email: Some(EmailConfig {
            to: vec![
                "ops@example.com".to_owned(),
                "oncall@example.com".to_owned(),
            ],
            from: None,
        }),
        ..ChannelsConfig::default()
    }
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server_as_multipart_text_and_html() {
    let server = SmtpServer::start().await;
    let secrets = NotifySecrets {
        smtp: Some(server.settings()),
        ..NotifySecrets::default()
    };
    let report = health_check_failure();
    let notices = at_finish(&report);
    let n = notifier(email_channels(), secrets, Masker::new());
    let out = notify_to(&n, &report, &[Channel::Email]).await;
    assert!(out[0].delivered, "{:?}", out[0].error);
    assert_eq!(out[0].attempts, 1);

    let got = server.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    let expected = mail::message(&report, &notices);
    assert_eq!(m["subject"], expected.subject.as_str());
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(m["authenticated_as"], SMTP_USER);
    assert_eq!(m["mail_from"], "releases@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["ops@example.com", "oncall@example.com"])
    );
    let parts = m["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert_eq!(parts[1]["content_type"], "text/html");
    // Line endings may be normalised in transit; the content must survive intact.
    let text = parts[0]["body"]
        .as_str()
        .expect("text")
        .replace("\r\n", "\n");
    let html = parts[1]["body"]
        .as_str()
        .expect("html")
        .replace("\r\n", "\n");
    assert_eq!(text.trim_end(), expected.text.trim_end());
    assert_eq!(html.trim_end(), expected.html.trim_end());
    assert!(html.contains("expected json.version &quot;1.3.0&quot;"));
}

#[tokio::test]
async fn wrong_smtp_password_is_a_permanent_failure_without_the_password() {
    let server = SmtpServer::start().await;
    let mut settings = server.settings();
    settings.password = Some("not-the-password".to_owned());
    let masker = Masker::new();
    let secrets = NotifySecrets {
        smtp: Some(settings),
        ..NotifySecrets::default()
    };
    let report = health_check_failure();
    let n = notifier(email_channels(), secrets, masker);
    let out = notify_to(&n, &report, &[Channel::Email]).await;
    assert_eq!((out[0].delivered, out[0].attempts), (false, 1));
    let error = out[0].error.as_deref().expect("an error");
    assert!(error.starts_with("smtp: "), "{error}");
    assert!(!error.contains("not-the-password"));
    assert!(server.received().is_empty());
}
