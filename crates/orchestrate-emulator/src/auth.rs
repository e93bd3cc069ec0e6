//! Tokens as GitHub sees them: which repositories each can see, which permissions it holds,
//! and which permission each endpoint needs.

use std::collections::BTreeMap;

use axum::http::Method;
use serde::{Deserialize, Serialize};

/// The permissive token `rehearse` uses when no token is configured.
pub const DEFAULT_TOKEN: &str = "emulator-token";

/// Access level of one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// No access.
    None,
    /// Read.
    Read,
    /// Read and write.
    Write,
}

/// The permissions the emulator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Workflows, runs, jobs, artifacts.
    Actions,
    /// Deployments and their statuses.
    Deployments,
    /// Issues and comments.
    Issues,
    /// Repository contents (repository_dispatch).
    Contents,
    /// Repository metadata.
    Metadata,
}

/// What kind of credential a token is; decides the 403 wording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A personal access token.
    #[default]
    PersonalAccessToken,
    /// A GitHub App installation token or `GITHUB_TOKEN`.
    Integration,
}

/// One configured token. Its `Debug` output never shows the secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Id used in the request log (the token itself is never logged).
    pub id: String,
    /// The secret value clients send.
    pub token: String,
    /// Repositories it can see (`owner/name`); empty means all.
    #[serde(default)]
    pub repos: Vec<String>,
    /// Permissions; missing ones are `none` (metadata is always readable).
    #[serde(default)]
    pub permissions: BTreeMap<Permission, Access>,
    /// Kind of credential.
    #[serde(default)]
    pub kind: TokenKind,
    /// Login shown as actor of the runs it dispatches.
    #[serde(default = "default_login")]
    pub login: String,
    /// Primary rate limit per hour (defaults to the emulator's).
    #[serde(default)]
    pub rate_limit: Option<u32>,
}

impl std::fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSpec")
            .field("id", &self.id)
            .field("token", &"***")
            .field("repos", &self.repos)
            .field("permissions", &self.permissions)
            .field("kind", &self.kind)
            .field("login", &self.login)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl TokenSpec {
    /// A token that sees every repository with write access everywhere.
    pub fn permissive(id: &str, token: &str) -> Self {
        let permissions = [
            Permission::Actions,
            Permission::Deployments,
            Permission::Issues,
            Permission::Contents,
            Permission::Metadata,
        ]
        .into_iter()
        .map(|p| (p, Access::Write))
        .collect();
        Self {
            id: id.to_owned(),
            token: token.to_owned(),
            repos: Vec::new(),
            permissions,
            kind: TokenKind::PersonalAccessToken,
            login: default_login(),
            rate_limit: None,
        }
    }

    /// A token limited to `repos` with exactly `permissions`.
    pub fn scoped(
        id: &str,
        token: &str,
        repos: &[&str],
        permissions: &[(Permission, Access)],
    ) -> Self {
        Self {
            repos: repos.iter().map(|r| (*r).to_owned()).collect(),
            permissions: permissions.iter().copied().collect(),
            ..Self::permissive(id, token)
        }
    }

    /// Whether the token can see `repo` (`owner/name`, case-insensitive like GitHub).
    pub fn can_see(&self, repo: &str) -> bool {
        self.repos.is_empty() || self.repos.iter().any(|r| r.eq_ignore_ascii_case(repo))
    }

    /// Whether the token holds `needed` on `permission`.
    pub fn allows(&self, permission: Permission, needed: Access) -> bool {
        if permission == Permission::Metadata && needed == Access::Read {
            return true;
        }
        self.permissions
            .get(&permission)
            .copied()
            .unwrap_or(Access::None)
            >= needed
    }

    /// GitHub's 403 message for this kind of token.
    pub fn forbidden_message(&self) -> &'static str {
        match self.kind {
            TokenKind::PersonalAccessToken => "Resource not accessible by personal access token",
            TokenKind::Integration => "Resource not accessible by integration",
        }
    }
}

fn default_login() -> String {
    "octocat".to_owned()
}

/// Splits `/repos/{owner}/{repo}/rest…` into (`owner/repo`, rest).
pub fn repo_of(path: &str) -> Option<(String, &str)> {
    let rest = path.strip_prefix("/repos/")?;
    let mut parts = rest.splitn(3, '/');
    let owner = parts.next().filter(|s| !s.is_empty())?;
    let name = parts.next().filter(|s| !s.is_empty())?;
    Some((format!("{owner}/{name}"), parts.next().unwrap_or("")))
}

/// The permission a request on `/repos/{o}/{r}/<rest>` needs.
pub fn required_permission(method: &Method, rest: &str) -> (Permission, Access) {
    let access = if method == Method::GET || method == Method::HEAD {
        Access::Read
    } else {
        Access::Write
    };
    // Reviewing needs read access to contents and deployments, not Actions write.
    if method == Method::POST && rest.ends_with("/pending_deployments") {
        return (Permission::Deployments, Access::Read);
    }
    let permission = if rest.starts_with("actions") {
        Permission::Actions
    } else if rest.starts_with("deployments") {
        Permission::Deployments
    } else if rest.starts_with("issues") {
        Permission::Issues
    } else if rest.starts_with("dispatches") {
        Permission::Contents
    } else {
        Permission::Metadata
    };
    (permission, access)
}

/// Extracts the token from `Authorization: Bearer …` or `Authorization: token …`.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
    known.then_some(token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_token_checks_repo_and_permission() {
        let token = TokenSpec::scoped("t", "s", &["o/r"], &[(Permission::Actions, Access::Read)]);
        assert!(token.can_see("O/R"));
        assert!(!token.can_see("o/other"));
        assert!(token.allows(Permission::Actions, Access::Read));
        assert!(!token.allows(Permission::Actions, Access::Write));
        assert!(token.allows(Permission::Metadata, Access::Read));
        let (perm, access) = required_permission(&Method::POST, "actions/workflows/x/dispatches");
        assert_eq!((perm, access), (Permission::Actions, Access::Write));
        assert_eq!(
            required_permission(&Method::POST, "dispatches").0,
            Permission::Contents
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let token = TokenSpec::permissive("ci", "ghp_supersecret");
        let shown = format!("{token:?}");
        assert!(
            shown.contains("ci") && !shown.contains("supersecret"),
            "{shown}"
        );
    }

    #[test]
    fn parses_authorization_schemes() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("token abc")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(
            repo_of("/repos/o/r/actions/runs").map(|(r, rest)| (r, rest.to_owned())),
            Some(("o/r".to_owned(), "actions/runs".to_owned()))
        );
    }
}
