//! The email channel: SMTP with lettre, multipart/alternative (text and HTML).
//!
//! Connection security comes from `SMTP_SECURITY` when set: `starttls` (plain connection
//! upgraded with STARTTLS, which is then required), `tls` (implicit TLS from the first byte,
//! "SMTPS") or `none` (no encryption: only for a local or test server). When it is not set the
//! port decides: 465 means `tls`, any other port `starttls`. The port defaults to 465 for
//! `tls`, 587 for `starttls` and 25 for `none`. Credentials are sent only when both
//! `SMTP_USERNAME` and `SMTP_PASSWORD` are set.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use orchestrate_core::notify::email::Email;
use orchestrate_core::notify::rule::EmailConfig;

use crate::env::{
    Env, SMTP_FROM, SMTP_HOST, SMTP_PASSWORD, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME,
};
use crate::notify::retry::{self, AttemptError, RetryPolicy};

/// Longest an SMTP conversation may stall.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    None,
}

impl SmtpSecurity {
    fn parse(value: &str) -> Option<SmtpSecurity> {
        match value.to_ascii_lowercase().as_str() {
            "starttls" => Some(SmtpSecurity::StartTls),
            "tls" | "ssl" | "smtps" => Some(SmtpSecurity::Tls),
            "none" | "plain" => Some(SmtpSecurity::None),
            _ => None,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// Where and how mail is sent. `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `SMTP_FROM`, used when the plan's email channel names no sender.
    pub from: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

impl SmtpSettings {
    /// Reads `SMTP_HOST`, `SMTP_PORT`, `SMTP_SECURITY`, `SMTP_USERNAME`, `SMTP_PASSWORD` and
    /// `SMTP_FROM`. The error names the variable at fault.
    pub fn from_env(env: &Env) -> Result<SmtpSettings, String> {
        let host = env
            .get(SMTP_HOST)
            .ok_or_else(|| format!("environment variable `{SMTP_HOST}` is not set"))?;
        let port = match env.get(SMTP_PORT) {
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("`{SMTP_PORT}` must be a port number, got `{p}`"))?,
            ),
            None => None,
        };
        let security = match env.get(SMTP_SECURITY) {
            Some(s) => SmtpSecurity::parse(s).ok_or_else(|| {
                format!("`{SMTP_SECURITY}` must be `starttls`, `tls` or `none`, got `{s}`")
            })?,
            None if port == Some(465) => SmtpSecurity::Tls,
            None => SmtpSecurity::StartTls,
        };
        Ok(SmtpSettings {
            host: host.to_owned(),
            port: port.unwrap_or_else(|| security.default_port()),
            security,
            username: env.get(SMTP_USERNAME).map(str::to_owned),
            password: env.get(SMTP_PASSWORD).map(str::to_owned),
            from: env.get(SMTP_FROM).map(str::to_owned),
        })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, AttemptError> {
        let builder = match self.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host),
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
            }
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &self.host,
            )),
        }
        .map_err(|e| AttemptError::permanent(format!("smtp setup failed: {e}")))?;
        let mut builder = builder.port(self.port).timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(pass)) = (&self.username, &self.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(builder.build())
    }
}

fn mailbox(what: &str, address: &str) -> Result<Mailbox, AttemptError> {
    address
        .parse()
        .map_err(|e| AttemptError::permanent(format!("bad {what} address `{address}`: {e}")))
}

/// Builds the multipart message for `config`'s recipients.
pub fn build(
    settings: &SmtpSettings,
    config: &EmailConfig,
    mail: &Email,
) -> Result<Message, AttemptError> {
    let from = config
        .from
        .as_deref()
        .or(settings.from.as_deref())
        .ok_or_else(|| {
            AttemptError::permanent(format!(
                "no sender: set `from` on the email channel or `{SMTP_FROM}`"
            ))
        })?;
    if config.to.is_empty() {
        return Err(AttemptError::permanent(
            "the email channel has no recipients",
        ));
    }
    let mut builder = Message::builder()
        .from(mailbox("sender", from)?)
        .subject(mail.subject.clone());
    for to in &config.to {
        builder = builder.to(mailbox("recipient", to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| AttemptError::permanent(format!("cannot build the email: {e}")))
}

/// Sends `mail`, retrying on connection failures, timeouts and 4xx replies.
pub async fn send(
    policy: &RetryPolicy,
    settings: &SmtpSettings,
    config: &EmailConfig,
    mail: &Email,
) -> retry::Outcome {
    let prepared = build(settings, config, mail).and_then(|m| Ok((m, settings.transport()?)));
    let (message, transport) = match prepared {
        Ok(ok) => ok,
        Err(err) => {
            return retry::Outcome {
                attempts: 0,
                error: Some(err.message),
            };
        }
    };
    retry::run(policy, |_left| {
        let transport = &transport;
        let message = &message;
        async move {
            transport
                .send(message.clone())
                .await
                .map(|_| ())
                .map_err(|e| {
                    let permanent = e.is_permanent() || e.is_client() || e.is_tls();
                    AttemptError {
                        transient: !permanent,
                        retry_after: None,
                        message: format!("smtp: {e}"),
                    }
                })
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<SmtpSettings, String> {
        SmtpSettings::from_env(&Env::from_map(vars.iter().copied()))
    }

    #[test]
    fn security_follows_the_variable_else_the_port_convention() {
        let s = settings(&[(SMTP_HOST, "mail.example.com")]).expect("valid");
        assert_eq!((s.security, s.port), (SmtpSecurity::StartTls, 587));
        let s = settings(&[(SMTP_HOST, "h"), (SMTP_PORT, "465")]).expect("valid");
        assert_eq!((s.security, s.port), (SmtpSecurity::Tls, 465));
        let s = settings(&[(SMTP_HOST, "h"), (SMTP_SECURITY, "none")]).expect("valid");
        assert_eq!((s.security, s.port), (SmtpSecurity::None, 25));
        let s = settings(&[
            (SMTP_HOST, "h"),
            (SMTP_SECURITY, "TLS"),
            (SMTP_PORT, "2465"),
        ])
        .expect("valid");
        assert_eq!((s.security, s.port), (SmtpSecurity::Tls, 2465));
    }

    #[test]
    fn bad_settings_name_the_variable_and_debug_hides_the_password() {
        assert_eq!(
            settings(&[]).expect_err("no host"),
            "environment variable `SMTP_HOST` is not set"
        );
        assert_eq!(
            settings(&[(SMTP_HOST, "h"), (SMTP_SECURITY, "ssl3")]).expect_err("bad"),
            "`SMTP_SECURITY` must be `starttls`, `tls` or `none`, got `ssl3`"
        );
        assert!(settings(&[(SMTP_HOST, "h"), (SMTP_PORT, "x")]).is_err());
        let s = settings(&[(SMTP_HOST, "h"), (SMTP_PASSWORD, "hunter22")]).expect("valid");
        assert!(!format!("{s:?}").contains("hunter22"));
    }
}
