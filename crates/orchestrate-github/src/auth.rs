//! Credentials: a token (PAT, App token, `github_token`), or a GitHub App (`app_id` +
//! `app_private_key`) from which installation tokens are minted per repository owner and
//! cached until shortly before they expire. Secrets never show in `Debug` or errors; each
//! minted token is handed to `ClientConfig::on_secret` (to be masked) before its first use.
//!
//! The App JWT is signed by octocrab (`octocrab::auth::create_jwt`, feature `jwt-rust-crypto`);
//! the two calls that turn it into an installation token go through our own transport so they
//! honour the configured API base, version header and user agent like every other request.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderValue;

use crate::client::{Method, SecretHook, Transport};
use crate::error::{Error, Result};
use crate::models::{Installation, InstallationToken};

/// A secret string: shown as `***` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How orchestrate authenticates to GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No token (the emulator, public reads).
    Anonymous,
    /// A PAT, an App installation token or `${{ github.token }}`.
    Token(Secret),
    /// A GitHub App: installation tokens are minted per repository owner.
    App { app_id: u64, private_key: Secret },
}

enum Kind {
    Anonymous,
    Token(HeaderValue),
    App {
        app_id: u64,
        key: octocrab::EncodingKey,
    },
}

struct Minted {
    header: HeaderValue,
    expires_at: DateTime<Utc>,
}

/// Produces the `Authorization` header for a repository.
pub(crate) struct Auth {
    kind: Kind,
    /// Installation tokens by owner. An async mutex: one owner's token is minted once even when
    /// several services of that owner start together.
    minted: tokio::sync::Mutex<HashMap<String, Minted>>,
    /// Told each minted token before it is first sent, so it can be masked.
    on_secret: Option<SecretHook>,
}

/// Tokens are refreshed this long before GitHub says they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

fn bearer(token: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Error::Config("the token contains characters not allowed in a header".into())
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Auth {
    pub(crate) fn new(credentials: &Credentials, on_secret: Option<SecretHook>) -> Result<Self> {
        let kind = match credentials {
            Credentials::Anonymous => Kind::Anonymous,
            Credentials::Token(token) => Kind::Token(bearer(token.expose().trim())?),
            Credentials::App {
                app_id,
                private_key,
            } => {
                let key = octocrab::EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
                    .map_err(|_| {
                        Error::Config(
                            "app_private_key is not an RSA private key in PEM form".into(),
                        )
                    })?;
                Kind::App {
                    app_id: *app_id,
                    key,
                }
            }
        };
        Ok(Auth {
            kind,
            minted: tokio::sync::Mutex::new(HashMap::new()),
            on_secret,
        })
    }

    pub(crate) fn is_app(&self) -> bool {
        matches!(self.kind, Kind::App { .. })
    }

    /// The header for a request about `owner/repo`.
    pub(crate) async fn header(
        &self,
        transport: &Transport,
        owner: &str,
        repo: &str,
    ) -> Result<Option<HeaderValue>> {
        match &self.kind {
            Kind::Anonymous => Ok(None),
            Kind::Token(value) => Ok(Some(value.clone())),
            Kind::App { app_id, key } => {
                let mut minted = self.minted.lock().await;
                if let Some(m) = minted.get(owner)
                    && m.expires_at - Utc::now()
                        > chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default()
                {
                    return Ok(Some(m.header.clone()));
                }
                let (fresh, token) = mint(transport, *app_id, key, owner, repo).await?;
                // Under the lock and before returning: no request can carry the token before
                // the hook has seen it.
                if let Some(hook) = &self.on_secret {
                    hook(token.expose());
                }
                let header = fresh.header.clone();
                minted.insert(owner.to_owned(), fresh);
                Ok(Some(header))
            }
        }
    }

    /// Forget an owner's installation token (after a 401).
    pub(crate) async fn invalidate(&self, owner: &str) {
        self.minted.lock().await.remove(owner);
    }
}

async fn mint(
    transport: &Transport,
    app_id: u64,
    key: &octocrab::EncodingKey,
    owner: &str,
    repo: &str,
) -> Result<(Minted, Secret)> {
    let fail = |reason: String| Error::AppAuth {
        owner: owner.to_owned(),
        reason,
    };
    let jwt = octocrab::auth::create_jwt(octocrab::models::AppId(app_id), key)
        .map_err(|_| fail("could not sign the app JWT with app_private_key".into()))?;
    let jwt = bearer(&jwt)?;

    let path = format!("/repos/{owner}/{repo}/installation");
    let found = transport
        .send(Method::Get, &path, Some(&jwt), &[], None)
        .await
        .map_err(|_| fail("no answer when looking up the app installation".into()))?;
    match found.status {
        200 => {}
        401 => return Err(fail(rejected_jwt(app_id, &found.message()))),
        404 => {
            return Err(fail(format!(
                "the app is not installed on {owner}/{repo} (GitHub answered 404): install it \
                 there with `actions: write`"
            )));
        }
        status => {
            return Err(fail(format!(
                "looking up the app installation of {owner}/{repo} answered {status}: {}",
                found.message()
            )));
        }
    }
    let installation: Installation = serde_json::from_str(&found.body)
        .map_err(|_| fail("unexpected installation response".into()))?;

    let path = format!("/app/installations/{}/access_tokens", installation.id);
    let body = serde_json::json!({});
    let answer = transport
        .send(Method::Post, &path, Some(&jwt), &[], Some(&body))
        .await
        .map_err(|_| fail("no answer when minting an installation token".into()))?;
    match answer.status {
        200 | 201 => {}
        401 => return Err(fail(rejected_jwt(app_id, &answer.message()))),
        status => {
            return Err(fail(format!(
                "minting an installation token answered {status}: {}",
                answer.message()
            )));
        }
    }
    let token: InstallationToken = serde_json::from_str(&answer.body)
        .map_err(|_| fail("unexpected installation token response".into()))?;
    let minted = Minted {
        header: bearer(&token.token)?,
        // Installation tokens live one hour; assume that when the host does not say.
        expires_at: token
            .expires_at
            .unwrap_or_else(|| Utc::now() + chrono::Duration::minutes(60)),
    };
    Ok((minted, Secret::new(token.token)))
}

/// GitHub refused the JWT itself: a key of another app, a wrong app id, or a skewed clock.
fn rejected_jwt(app_id: u64, message: &str) -> String {
    format!(
        "GitHub rejected the app JWT (401: {message}): check that app_id {app_id} and \
         app_private_key belong to the same GitHub App and that this machine's clock is right"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let creds = Credentials::Token(Secret::new("ghp_supersecret"));
        assert!(!format!("{creds:?}").contains("supersecret"));
        let app = Credentials::App {
            app_id: 1,
            private_key: Secret::new("-----BEGIN RSA"),
        };
        assert!(!format!("{app:?}").contains("BEGIN"));
    }

    #[test]
    fn a_bad_private_key_is_a_config_error_without_the_key() {
        let app = Credentials::App {
            app_id: 1,
            private_key: Secret::new("not-a-key-SECRETBYTES"),
        };
        let err = Auth::new(&app, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("app_private_key"), "{err}");
        assert!(!err.contains("SECRETBYTES"));
    }
}
