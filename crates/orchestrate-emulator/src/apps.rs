//! GitHub Apps: the configured apps and their installations, the check of the RS256 App JWT
//! (`Authorization: Bearer <jwt>`) as GitHub makes it, and the installation tokens minted with
//! it, which become ordinary emulator tokens of kind `integration`, scoped to the
//! installation's repositories and permissions, expiring after an hour of emulated time.
//!
//! The JWT's `iat`/`exp` are checked against the wall clock, not the emulated one: the client
//! signs with its own wall clock, exactly as it does against GitHub, while installation tokens
//! expire on the emulated clock so a test can jump over their hour.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::distr::{Alphanumeric, SampleString};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::{Access, Permission, TokenKind, TokenSpec};
use crate::state::lock;

/// GitHub's answer to a JWT that is malformed, signed with another key or names an unknown app.
pub const JWT_UNDECODABLE: &str = "A JSON web token could not be decoded";
/// GitHub's answer to a JWT whose `exp` is more than ten minutes ahead.
pub const JWT_EXP_TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";
/// GitHub's answer to a JWT that expired (or has no numeric `exp`).
pub const JWT_EXPIRED: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
/// GitHub's answer to a JWT issued in the future (or without a numeric `iat`).
pub const JWT_BAD_IAT: &str = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

/// The longest a JWT may live ahead of now (GitHub: "no more than 10 minutes").
const MAX_JWT_AHEAD_SECS: i64 = 10 * 60;
/// Installation tokens live one hour.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(1);
/// Primary rate limit of an installation (GitHub's minimum for apps).
const INSTALLATION_RATE_LIMIT: u32 = 5_000;

/// One GitHub App.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The App ID: the JWT's `iss`.
    pub app_id: u64,
    /// The app's slug (its bot is `<slug>[bot]`).
    #[serde(default = "default_slug")]
    pub slug: String,
    /// The public half of the app's private key, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_pem: String,
    /// Where the app is installed.
    #[serde(default)]
    pub installations: Vec<InstallationSpec>,
}

/// One installation of an app on an account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallationSpec {
    /// Installation id.
    pub id: u64,
    /// The user or organization login it is installed on.
    pub account: String,
    /// Selected repositories (`name` or `owner/name`); empty means all of the account's.
    #[serde(default)]
    pub repos: Vec<String>,
    /// Permissions granted (metadata read is implied).
    #[serde(default)]
    pub permissions: BTreeMap<Permission, Access>,
}

impl AppSpec {
    /// An app without installations.
    pub fn new(app_id: u64, public_key_pem: &str) -> Self {
        Self {
            app_id,
            slug: default_slug(),
            public_key_pem: public_key_pem.to_owned(),
            installations: Vec::new(),
        }
    }

    /// Adds an installation.
    #[must_use]
    pub fn installation(mut self, installation: InstallationSpec) -> Self {
        self.installations.push(installation);
        self
    }
}

impl InstallationSpec {
    /// An installation on all of `account`'s repositories with `permissions`.
    pub fn new(id: u64, account: &str, permissions: &[(Permission, Access)]) -> Self {
        Self {
            id,
            account: account.to_owned(),
            repos: Vec::new(),
            permissions: permissions.iter().copied().collect(),
        }
    }

    /// Restricts the installation to `repos` (`name` or `owner/name`).
    #[must_use]
    pub fn repos(mut self, repos: &[&str]) -> Self {
        self.repos = repos.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// `all` or `selected`.
    pub fn repository_selection(&self) -> &'static str {
        if self.repos.is_empty() {
            "all"
        } else {
            "selected"
        }
    }

    /// Whether the installation covers `owner/name` (case-insensitive like GitHub).
    pub fn covers(&self, full_name: &str) -> bool {
        let Some((owner, name)) = full_name.split_once('/') else {
            return false;
        };
        if !owner.eq_ignore_ascii_case(&self.account) {
            return false;
        }
        self.repos.is_empty()
            || self.repos.iter().any(|r| {
                let short = r.rsplit('/').next().unwrap_or(r);
                short.eq_ignore_ascii_case(name)
            })
    }

    /// Permissions as GitHub lists them: granted ones, metadata read included.
    pub fn granted(&self) -> BTreeMap<Permission, Access> {
        let mut granted: BTreeMap<Permission, Access> = self
            .permissions
            .iter()
            .filter(|(_, a)| **a != Access::None)
            .map(|(p, a)| (*p, *a))
            .collect();
        granted.entry(Permission::Metadata).or_insert(Access::Read);
        granted
    }
}

fn default_slug() -> String {
    "orchestrate-test-app".to_owned()
}

/// What a minted token is about, to build its JSON. Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct Minted {
    /// The secret (the handler returns it once; it is never logged).
    pub token: String,
    /// Emulated expiry.
    pub expires_at: DateTime<Utc>,
    /// What it grants.
    pub spec: TokenSpec,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"***")
            .field("expires_at", &self.expires_at)
            .field("spec", &self.spec)
            .finish()
    }
}

/// The apps, their keys and the installation tokens minted so far.
pub(crate) struct Apps {
    apps: Vec<(AppSpec, DecodingKey)>,
    minted: Mutex<Vec<Minted>>,
}

impl std::fmt::Debug for Apps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u64> = self.apps.iter().map(|(a, _)| a.app_id).collect();
        f.debug_struct("Apps")
            .field("app_ids", &ids)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    exp: Option<Value>,
}

impl Apps {
    /// Parses every app's public key; the error names the app whose key is unusable.
    pub(crate) fn new(specs: Vec<AppSpec>) -> Result<Self, String> {
        let apps = specs
            .into_iter()
            .map(|spec| {
                let key =
                    DecodingKey::from_rsa_pem(spec.public_key_pem.as_bytes()).map_err(|e| {
                        format!(
                            "app {}: public_key_pem is not an RSA public key: {e}",
                            spec.app_id
                        )
                    })?;
                Ok((spec, key))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            apps,
            minted: Mutex::new(Vec::new()),
        })
    }

    /// The app a JWT authenticates, or GitHub's 401 message. `now` is wall-clock seconds.
    pub(crate) fn verify(&self, jwt: &str, now: i64) -> Result<&AppSpec, &'static str> {
        let unverified =
            jsonwebtoken::dangerous::insecure_decode::<Claims>(jwt).map_err(|_| JWT_UNDECODABLE)?;
        let app_id = match &unverified.claims.iss {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .ok_or(JWT_UNDECODABLE)?;
        let (app, key) = self
            .apps
            .iter()
            .find(|(a, _)| a.app_id == app_id)
            .ok_or(JWT_UNDECODABLE)?;
        let mut validation = Validation::new(Algorithm::RS256);
        // The time claims are checked below with GitHub's own rules and messages.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let verified =
            jsonwebtoken::decode::<Claims>(jwt, key, &validation).map_err(|_| JWT_UNDECODABLE)?;
        let int = |v: &Option<Value>| v.as_ref().and_then(Value::as_i64);
        let iat = int(&verified.claims.iat).ok_or(JWT_BAD_IAT)?;
        if iat > now {
            return Err(JWT_BAD_IAT);
        }
        let exp = int(&verified.claims.exp).ok_or(JWT_EXPIRED)?;
        if exp <= now {
            return Err(JWT_EXPIRED);
        }
        if exp > now + MAX_JWT_AHEAD_SECS {
            return Err(JWT_EXP_TOO_FAR);
        }
        Ok(app)
    }

    /// The installation `id` of `app_id`.
    pub(crate) fn installation(
        &self,
        app_id: u64,
        id: u64,
    ) -> Option<(&AppSpec, &InstallationSpec)> {
        let (app, _) = self.apps.iter().find(|(a, _)| a.app_id == app_id)?;
        app.installations
            .iter()
            .find(|i| i.id == id)
            .map(|i| (app, i))
    }

    /// The installation of `app_id` on `account`.
    pub(crate) fn installation_on(
        &self,
        app_id: u64,
        account: &str,
    ) -> Option<(&AppSpec, &InstallationSpec)> {
        let (app, _) = self.apps.iter().find(|(a, _)| a.app_id == app_id)?;
        app.installations
            .iter()
            .find(|i| i.account.eq_ignore_ascii_case(account))
            .map(|i| (app, i))
    }

    /// Mints a token for `repos` (canonical `owner/name`, already checked against the
    /// installation) with `permissions`, valid for an hour from `now` (emulated).
    pub(crate) fn mint(
        &self,
        app: &AppSpec,
        installation: &InstallationSpec,
        repos: Vec<String>,
        permissions: BTreeMap<Permission, Access>,
        now: DateTime<Utc>,
    ) -> Minted {
        let token = format!("ghs_{}", Alphanumeric.sample_string(&mut rand::rng(), 36));
        // An empty list would mean "every repository" to [`TokenSpec::can_see`]; an account
        // without repositories gets a name no repository can have instead.
        let repos = if repos.is_empty() {
            vec![format!("{}/", installation.account)]
        } else {
            repos
        };
        let spec = TokenSpec {
            // One id per installation: its tokens share a rate-limit budget, as on GitHub.
            id: format!("installation-{}", installation.id),
            token: token.clone(),
            repos,
            permissions,
            kind: TokenKind::Integration,
            login: format!("{}[bot]", app.slug),
            rate_limit: Some(INSTALLATION_RATE_LIMIT),
        };
        let minted = Minted {
            token,
            expires_at: now + TOKEN_LIFETIME,
            spec,
        };
        lock(&self.minted).push(minted.clone());
        minted
    }

    /// The minted token with this secret, unless it expired by `now` (emulated).
    pub(crate) fn token(&self, secret: &str, now: DateTime<Utc>) -> Option<TokenSpec> {
        lock(&self.minted)
            .iter()
            .find(|m| m.token == secret && m.expires_at > now)
            .map(|m| m.spec.clone())
    }
}

/// Whether `path` (relative to the API root) is one of the endpoints that take an App JWT:
/// `/app…` and the installation lookups of a repository, organization or user.
pub fn is_app_endpoint(path: &str) -> bool {
    if path == "/app" || path.starts_with("/app/") {
        return true;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
        ["repos", _, _, "installation"]
            | ["orgs", _, "installation"]
            | ["users", _, "installation"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_covers_its_account_and_selected_repos() {
        let all = InstallationSpec::new(1, "Acme", &[(Permission::Actions, Access::Write)]);
        assert!(all.covers("acme/api") && all.covers("ACME/web"));
        assert!(!all.covers("other/api"));
        let selected = all.clone().repos(&["api", "acme/web"]);
        assert!(selected.covers("acme/api") && selected.covers("acme/web"));
        assert!(!selected.covers("acme/ios"));
        assert_eq!(selected.repository_selection(), "selected");
        assert_eq!(
            all.granted().get(&Permission::Metadata),
            Some(&Access::Read)
        );
    }

    #[test]
    fn app_endpoints_are_recognised() {
        assert!(is_app_endpoint("/app/installations/1/access_tokens"));
        assert!(is_app_endpoint("/repos/o/r/installation"));
        assert!(is_app_endpoint("/orgs/o/installation"));
        assert!(is_app_endpoint("/users/u/installation"));
        assert!(!is_app_endpoint("/repos/o/r/actions/runs"));
        assert!(!is_app_endpoint("/apps"));
    }

    #[test]
    fn a_minted_token_is_scoped_expires_and_hides_in_debug() {
        let apps = Apps::new(Vec::new()).expect("no apps");
        let app = AppSpec::new(7, "unused");
        let installation = InstallationSpec::new(9, "acme", &[]);
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let minted = apps.mint(&app, &installation, Vec::new(), BTreeMap::new(), now);
        assert!(!format!("{minted:?}").contains(&minted.token));
        let spec = apps.token(&minted.token, now).expect("valid now");
        assert_eq!(spec.kind, TokenKind::Integration);
        assert!(
            !spec.can_see("acme/api"),
            "no repositories means none, not all"
        );
        assert!(apps.token(&minted.token, now + TOKEN_LIFETIME).is_none());
    }

    #[test]
    fn garbage_and_unknown_keys_are_rejected() {
        let apps = Apps::new(Vec::new()).expect("no apps");
        assert_eq!(apps.verify("not.a.jwt", 0).err(), Some(JWT_UNDECODABLE));
        assert!(Apps::new(vec![AppSpec::new(1, "not a key")]).is_err());
    }
}
