//! The one error type of the GitHub layer, and the remedies attached to GitHub's refusals.
//!
//! Messages never contain a token: requests are described by method and path only, and the
//! bodies quoted are GitHub's own `message` fields.

use chrono::{DateTime, Utc};

use crate::unzip::UnzipError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// GitHub answered with a status we do not treat as success.
    #[error("{method} {path}: GitHub answered {status}: {message}{}", remedy_suffix(.remedy.as_deref()))]
    Http {
        method: &'static str,
        path: String,
        status: u16,
        /// GitHub's `message` field (or the start of the body).
        message: String,
        remedy: Option<String>,
    },
    /// A primary or secondary rate limit, and waiting for it would exceed the allowed wait.
    #[error("rate limited by GitHub on {path}{}", reset_suffix(.reset_at.as_ref()))]
    RateLimited {
        path: String,
        reset_at: Option<DateTime<Utc>>,
    },
    /// No answer (connection refused, reset, timed out) after the retries allowed.
    #[error("{method} {path}: no answer from GitHub")]
    Network {
        method: &'static str,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("unexpected response body from {path}")]
    Decode {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// The dispatch may or may not have created a run and nothing can tell which.
    #[error(
        "dispatch of {workflow} in {repo} is ambiguous: {reason}; not re-dispatching, check the \
         repository's Actions tab (declare the `orchestrate_id` input and set `correlate: true` \
         so orchestrate can find the run itself)"
    )]
    DispatchAmbiguous {
        repo: String,
        workflow: String,
        reason: String,
    },
    /// The host accepted the dispatch but returns no run id, and no correlation id was sent.
    #[error(
        "dispatch of {workflow} in {repo} started a run this host cannot identify (no run \
         details); declare an `orchestrate_id` input in {workflow}, add \
         `run-name: ${{{{ inputs.orchestrate_id }}}}` and set `correlate: true` for this service"
    )]
    DispatchUnidentified { repo: String, workflow: String },
    /// More than one run carries the same correlation id.
    #[error("{} runs in {repo} carry correlation id {id}: {}", .runs.len(), .runs.join(", "))]
    CorrelationAmbiguous {
        repo: String,
        id: String,
        runs: Vec<String>,
    },
    /// `POST /deployments` answered 202: GitHub merged the default branch instead.
    #[error(
        "no deployment was created in {repo}: GitHub answered 202 ({message}); orchestrate sends \
         `auto_merge: false`, so the host ignored it"
    )]
    DeploymentAutoMerged { repo: String, message: String },
    #[error("artifact {name} of {repo} has expired")]
    ArtifactExpired { repo: String, name: String },
    #[error("artifact {name} failed its digest check: expected {expected}, downloaded {actual}")]
    DigestMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("artifact {name} is larger than the {limit}-byte download limit")]
    ArtifactTooLarge { name: String, limit: u64 },
    #[error("artifact {name} could not be unpacked")]
    Unzip {
        name: String,
        #[source]
        source: UnzipError,
    },
    /// A `Link` or `Location` pointed to another host while the token would be sent.
    #[error("{what} points to another host ({host}); not sending the token there")]
    ForeignHost { what: &'static str, host: String },
    #[error("github app authentication for {owner} failed: {reason}")]
    AppAuth { owner: String, reason: String },
    #[error("invalid github configuration: {0}")]
    Config(String),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// GitHub refused the request for a reason a person must fix (auth, permissions, not found,
    /// validation): the binary maps these to exit code 3.
    pub fn is_refusal(&self) -> bool {
        match self {
            Error::Http { status, .. } => matches!(status, 401 | 403 | 404 | 422),
            Error::AppAuth { .. } | Error::DeploymentAutoMerged { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status GitHub answered, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn remedy_suffix(remedy: Option<&str>) -> String {
    remedy.map(|r| format!(" ({r})")).unwrap_or_default()
}

fn reset_suffix(reset: Option<&DateTime<Utc>>) -> String {
    reset
        .map(|r| {
            format!(
                " until {}",
                r.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        })
        .unwrap_or_default()
}

/// What a request was for, so a refusal can say what to fix.
#[derive(Debug, Clone, Default)]
pub struct Purpose {
    /// `owner/name` of the repository the request is about.
    pub repo: Option<String>,
    /// The fine-grained permission the request needs, e.g. `actions: write`.
    pub permission: Option<&'static str>,
    /// The workflow file, for dispatches.
    pub workflow: Option<String>,
}

/// The remedy for a refusal, if we know one.
pub fn remedy(status: u16, message: &str, purpose: &Purpose) -> Option<String> {
    let repo = purpose.repo.as_deref().unwrap_or("the repository");
    let permission = purpose.permission.unwrap_or("actions: write");
    match status {
        401 => Some("the token is invalid or expired".to_owned()),
        403 if message.contains("Resource not accessible") => {
            Some(format!("token lacks `{permission}` on {repo}"))
        }
        403 => Some(format!(
            "token lacks `{permission}` on {repo}, or a rate limit applies"
        )),
        404 => {
            let mut text = format!(
                "token cannot see {repo}: it needs `{permission}` on {repo} (a fine-grained PAT \
                 or GitHub App installed there; GITHUB_TOKEN cannot reach other repositories)"
            );
            if let Some(workflow) = &purpose.workflow {
                text.push_str(&format!(
                    ", or {workflow} does not exist on the default branch of {repo}"
                ));
            }
            Some(text)
        }
        410 if message.contains("disabled") => Some(format!(
            "enable the feature on {repo} or point orchestrate at another repository"
        )),
        422 => remedy_422(message, purpose),
        _ => None,
    }
}

fn remedy_422(message: &str, purpose: &Purpose) -> Option<String> {
    let workflow = purpose.workflow.as_deref().unwrap_or("the workflow");
    if message.contains("Unexpected inputs provided") {
        let names = unexpected_inputs(message);
        if names.iter().any(|n| n == crate::correlate::INPUT_NAME) {
            return Some(format!(
                "{workflow} must declare the `{}` input and use it in `run-name` so orchestrate \
                 can find the run it dispatched",
                crate::correlate::INPUT_NAME
            ));
        }
        return Some(format!(
            "{workflow} does not declare the input(s) {}: add them under \
             `on.workflow_dispatch.inputs` or remove them from the plan",
            names.join(", ")
        ));
    }
    if message.contains("workflow_dispatch") && message.contains("trigger") {
        return Some(format!(
            "{workflow} needs `on: workflow_dispatch` on the default branch"
        ));
    }
    if message.contains("No ref found") {
        return Some("the `ref` of this service does not exist in the repository".to_owned());
    }
    if message.contains("inputs are too large") {
        return Some("the inputs exceed GitHub's 65,535-character limit".to_owned());
    }
    None
}

/// The input names of `Unexpected inputs provided: ["a", "b"]`.
pub fn unexpected_inputs(message: &str) -> Vec<String> {
    let Some(start) = message.find('[') else {
        return Vec::new();
    };
    let end = message[start..]
        .find(']')
        .map_or(message.len(), |e| start + e);
    message[start + 1..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purpose() -> Purpose {
        Purpose {
            repo: Some("acme/api".into()),
            permission: Some("actions: write"),
            workflow: Some("deploy.yml".into()),
        }
    }

    #[test]
    fn remedies_name_the_repository_and_permission() {
        assert_eq!(
            remedy(401, "Bad credentials", &purpose()).as_deref(),
            Some("the token is invalid or expired")
        );
        assert_eq!(
            remedy(403, "Resource not accessible by integration", &purpose()).as_deref(),
            Some("token lacks `actions: write` on acme/api")
        );
        let not_found = remedy(404, "Not Found", &purpose()).unwrap_or_default();
        assert!(
            not_found
                .starts_with("token cannot see acme/api: it needs `actions: write` on acme/api")
        );
        assert!(not_found.contains("GITHUB_TOKEN cannot reach other repositories"));
        assert!(not_found.contains("deploy.yml does not exist"));
        assert_eq!(
            remedy(410, "Issues are disabled for this repo", &purpose()).as_deref(),
            Some("enable the feature on acme/api or point orchestrate at another repository")
        );
    }

    #[test]
    fn unexpected_inputs_are_named() {
        let msg = r#"Unexpected inputs provided: ["flavour", "size"]"#;
        assert_eq!(unexpected_inputs(msg), vec!["flavour", "size"]);
        let text = remedy(422, msg, &purpose()).unwrap_or_default();
        assert!(text.contains("flavour, size"), "{text}");
        let corr = remedy(
            422,
            r#"Unexpected inputs provided: ["orchestrate_id"]"#,
            &purpose(),
        )
        .unwrap_or_default();
        assert!(
            corr.contains("must declare the `orchestrate_id` input"),
            "{corr}"
        );
    }

    #[test]
    fn refusals_are_auth_permission_not_found_and_validation() {
        let http = |status| Error::Http {
            method: "POST",
            path: "/x".into(),
            status,
            message: String::new(),
            remedy: None,
        };
        assert!(http(401).is_refusal());
        assert!(http(404).is_refusal());
        assert!(http(422).is_refusal());
        assert!(!http(502).is_refusal());
        let shown = Error::Http {
            method: "GET",
            path: "/repos/a/b".into(),
            status: 404,
            message: "Not Found".into(),
            remedy: Some("fix it".into()),
        }
        .to_string();
        assert_eq!(
            shown,
            "GET /repos/a/b: GitHub answered 404: Not Found (fix it)"
        );
    }
}
