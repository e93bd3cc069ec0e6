//! The one registry of environment variable names orchestrate reads, and the one place that
//! reads the process environment: [`Env::from_process`] takes a snapshot at start-up, and
//! everything else asks the snapshot. Tests build an [`Env`] from a map instead.
//!
//! Action inputs: the runner exports every input of `action.yml` as `INPUT_<NAME>`, where
//! `<NAME>` is the input name with spaces turned into `_` and then upper-cased. Dashes and dots
//! are kept (`dry-run` would become `INPUT_DRY-RUN`), which is why every input of ours is
//! snake_case: `github_token` arrives as `INPUT_GITHUB_TOKEN`. The runner passes every input,
//! defaults included, and an input the caller left out arrives as an empty string.

use std::collections::BTreeMap;

/// Prefix of every action input variable.
pub const INPUT_PREFIX: &str = "INPUT_";

/// Input `github_token`: a PAT or GitHub App installation token (a secret).
pub const INPUT_GITHUB_TOKEN: &str = "INPUT_GITHUB_TOKEN";
/// Input `app_id`: the GitHub App id, used with `app_private_key` instead of a token.
pub const INPUT_APP_ID: &str = "INPUT_APP_ID";
/// Input `app_private_key`: the GitHub App's PEM private key (a secret, multi-line).
pub const INPUT_APP_PRIVATE_KEY: &str = "INPUT_APP_PRIVATE_KEY";
/// Input `plan`: path of the release plan (default `.github/orchestrate.yml`).
pub const INPUT_PLAN: &str = "INPUT_PLAN";
/// Input `target_environment`: the plan environment to release to.
pub const INPUT_TARGET_ENVIRONMENT: &str = "INPUT_TARGET_ENVIRONMENT";
/// Input `versions`: a YAML/JSON mapping of service to version.
pub const INPUT_VERSIONS: &str = "INPUT_VERSIONS";
/// Input `deployment_strategy`: `sequential`, `parallel` or `canary`.
pub const INPUT_DEPLOYMENT_STRATEGY: &str = "INPUT_DEPLOYMENT_STRATEGY";
/// Input `rollback_on_failure`: boolean, default true.
pub const INPUT_ROLLBACK_ON_FAILURE: &str = "INPUT_ROLLBACK_ON_FAILURE";
/// Input `notification_channels`: a comma or newline separated list of channels.
pub const INPUT_NOTIFICATION_CHANNELS: &str = "INPUT_NOTIFICATION_CHANNELS";
/// Input `dry_run`: boolean; plan and report without dispatching anything.
pub const INPUT_DRY_RUN: &str = "INPUT_DRY_RUN";
/// Input `timeout`: a duration such as `45m` for the whole release.
pub const INPUT_TIMEOUT: &str = "INPUT_TIMEOUT";

/// `true` when running inside GitHub Actions (set by the runner on every step).
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// REST API base, `https://api.github.com` or `https://<host>/api/v3` on GHES.
pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// Web base, `https://github.com` or the GHES host; used for links.
pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// `owner/name` of the repository running the workflow (where the release set is recorded).
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// Id of the orchestrating workflow run.
pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
/// Attempt number of the orchestrating workflow run.
pub const GITHUB_RUN_ATTEMPT: &str = "GITHUB_RUN_ATTEMPT";
/// Path of the step's output file (heredoc `name<<delimiter` entries).
pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// Path of the step's Markdown summary file.
pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// Name of the event that triggered the workflow (`workflow_dispatch`, ...).
pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
/// Path of the triggering event's JSON payload.
pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
/// The checked-out workspace; relative plan paths resolve against it in the action.
pub const GITHUB_WORKSPACE: &str = "GITHUB_WORKSPACE";
/// The commit the orchestrating workflow runs on; the ref of the release-set deployment.
pub const GITHUB_SHA: &str = "GITHUB_SHA";
/// A token from the caller's environment. The runner does not set it; a terminal or a step's
/// `env:` may. Used only when neither the input nor `ORCHESTRATE_TOKEN` gives one.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";

/// Token fallback for the CLI (a secret): used when `github_token` is not given.
pub const ORCHESTRATE_TOKEN: &str = "ORCHESTRATE_TOKEN";
/// Log filter for stderr logs (`tracing` directives such as `debug` or `orchestrate=trace`).
pub const ORCHESTRATE_LOG: &str = "ORCHESTRATE_LOG";
/// Log filter used when `ORCHESTRATE_LOG` is not set.
pub const RUST_LOG: &str = "RUST_LOG";
/// Default variable holding the generic webhook URL (a secret).
pub const ORCHESTRATE_WEBHOOK_URL: &str = "ORCHESTRATE_WEBHOOK_URL";
/// Default variable holding the generic webhook's HMAC secret.
pub const ORCHESTRATE_WEBHOOK_SECRET: &str = "ORCHESTRATE_WEBHOOK_SECRET";
/// Default variable holding the Slack incoming-webhook URL (a secret).
pub const SLACK_WEBHOOK_URL: &str = "SLACK_WEBHOOK_URL";
/// SMTP server host name.
pub const SMTP_HOST: &str = "SMTP_HOST";
/// SMTP server port.
pub const SMTP_PORT: &str = "SMTP_PORT";
/// SMTP connection security: `starttls` (STARTTLS required), `tls` (implicit TLS, "SMTPS") or
/// `none` (a local or test server only). When unset, port 465 means `tls`, any other `starttls`.
pub const SMTP_SECURITY: &str = "SMTP_SECURITY";
/// SMTP user name.
pub const SMTP_USERNAME: &str = "SMTP_USERNAME";
/// SMTP password (a secret).
pub const SMTP_PASSWORD: &str = "SMTP_PASSWORD";
/// Sender address when the plan's email channel names none.
pub const SMTP_FROM: &str = "SMTP_FROM";
/// Tests only: the Python interpreter (with `aiosmtpd`) that runs the local SMTP server of the
/// email channel's tests (they look for one, or install aiosmtpd, when it is not set).
pub const ORCHESTRATE_TEST_SMTP_PYTHON: &str = "ORCHESTRATE_TEST_SMTP_PYTHON";
/// Tests only: the Python interpreter (with `moto[server]`) that runs the local S3-compatible
/// server of the S3 store's tests (they look for one, or install moto, when it is not set).
pub const ORCHESTRATE_TEST_MOTO_PYTHON: &str = "ORCHESTRATE_TEST_MOTO_PYTHON";
/// The runner's runtime token (a secret, a JWT): uploads the manifest to the orchestrating run
/// through the results service. Its `scp` claim names the run and job.
pub const ACTIONS_RUNTIME_TOKEN: &str = "ACTIONS_RUNTIME_TOKEN";
/// The Actions results service of the orchestrating run (only its origin is used).
pub const ACTIONS_RESULTS_URL: &str = "ACTIONS_RESULTS_URL";
/// S3 store: the access key id.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// S3 store: the secret access key (a secret).
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// S3 store: the session token of temporary credentials (a secret).
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// S3 store: the region when the plan names none.
pub const AWS_REGION: &str = "AWS_REGION";
/// S3 store: the region when neither the plan nor `AWS_REGION` names one.
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
/// S3 store: the endpoint when the plan names none (S3-specific form).
pub const AWS_ENDPOINT_URL_S3: &str = "AWS_ENDPOINT_URL_S3";
/// S3 store: the endpoint when the plan names none.
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// The runner's OIDC request token (a secret we never use but must never print).
pub const ACTIONS_ID_TOKEN_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// Variables whose values are secrets: masked with `::add-mask::` and redacted from every sink
/// before anything is logged. Plan-named channel variables are added once the plan is read.
pub const SECRET_VARS: &[&str] = &[
    INPUT_GITHUB_TOKEN,
    INPUT_APP_PRIVATE_KEY,
    GITHUB_TOKEN,
    ORCHESTRATE_TOKEN,
    ORCHESTRATE_WEBHOOK_URL,
    ORCHESTRATE_WEBHOOK_SECRET,
    SLACK_WEBHOOK_URL,
    SMTP_PASSWORD,
    ACTIONS_RUNTIME_TOKEN,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
];

/// A snapshot of the process environment, taken once. Values that are not valid UTF-8 are
/// left out: nothing we read can be meaningfully non-UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Reads the real environment. The only place the binary calls `std::env`.
    pub fn from_process() -> Env {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Env { vars }
    }

    /// An environment made of exactly these variables (for tests and embedding).
    pub fn from_map<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The raw value, empty strings included.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value trimmed, with empty meaning absent (the runner sends empty for "not given").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Every `INPUT_*` variable, for deserializing the action inputs.
    pub fn inputs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.vars
            .iter()
            .filter(|(k, _)| k.starts_with(INPUT_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    /// Whether we run as a step of a GitHub Actions job.
    pub fn in_github_actions(&self) -> bool {
        self.get(GITHUB_ACTIONS) == Some("true")
    }

    /// The log filter: `ORCHESTRATE_LOG`, else `RUST_LOG`, else `None` (the caller's default).
    pub fn log_filter(&self) -> Option<&str> {
        self.get(ORCHESTRATE_LOG).or_else(|| self.get(RUST_LOG))
    }

    /// Non-empty values of every variable in [`SECRET_VARS`], for the masker.
    pub fn secrets(&self) -> impl Iterator<Item = &str> + '_ {
        SECRET_VARS.iter().filter_map(|name| self.get(name))
    }

    /// The token a CLI run uses when no input gives one: `ORCHESTRATE_TOKEN`, then `GITHUB_TOKEN`.
    pub fn fallback_token(&self) -> Option<&str> {
        self.get(ORCHESTRATE_TOKEN)
            .or_else(|| self.get(GITHUB_TOKEN))
    }

    /// The results service and runtime token of the run we are part of, when the runner gave
    /// both.
    pub fn actions_runtime(&self) -> Option<(String, crate::settings::Secret)> {
        let url = self.get(ACTIONS_RESULTS_URL)?;
        let token = self.get(ACTIONS_RUNTIME_TOKEN)?;
        Some((url.to_owned(), crate::settings::Secret::new(token)))
    }

    /// Which of the two the runtime lacks, for the warning.
    pub fn missing_actions_runtime(&self) -> Vec<&'static str> {
        [ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL]
            .into_iter()
            .filter(|name| self.get(name).is_none())
            .collect()
    }

    /// The standard AWS credentials for the S3 store.
    pub fn aws_credentials(&self) -> crate::store::s3::AwsCredentials {
        let owned = |name: &str| self.get(name).map(str::to_owned);
        crate::store::s3::AwsCredentials {
            access_key_id: owned(AWS_ACCESS_KEY_ID),
            secret_access_key: self
                .get(AWS_SECRET_ACCESS_KEY)
                .map(crate::settings::Secret::new),
            session_token: self
                .get(AWS_SESSION_TOKEN)
                .map(crate::settings::Secret::new),
            region: owned(AWS_REGION).or_else(|| owned(AWS_DEFAULT_REGION)),
            endpoint: owned(AWS_ENDPOINT_URL_S3).or_else(|| owned(AWS_ENDPOINT_URL)),
        }
    }

    /// What the runner tells us about the workflow run we are part of.
    pub fn github(&self) -> GithubContext {
        let owned = |name: &str| self.get(name).map(str::to_owned);
        GithubContext {
            api_url: owned(GITHUB_API_URL).unwrap_or_else(|| "https://api.github.com".to_owned()),
            server_url: owned(GITHUB_SERVER_URL).unwrap_or_else(|| "https://github.com".to_owned()),
            repository: owned(GITHUB_REPOSITORY),
            run_id: owned(GITHUB_RUN_ID),
            run_attempt: owned(GITHUB_RUN_ATTEMPT),
            output_path: owned(GITHUB_OUTPUT),
            step_summary_path: owned(GITHUB_STEP_SUMMARY),
            event_name: owned(GITHUB_EVENT_NAME),
            event_path: owned(GITHUB_EVENT_PATH),
            workspace: owned(GITHUB_WORKSPACE),
            sha: owned(GITHUB_SHA),
        }
    }
}

/// The `GITHUB_*` facts about the current workflow run. Defaults point at github.com so a CLI
/// run outside Actions still has an API base; nothing ever hard-codes it elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubContext {
    pub api_url: String,
    pub server_url: String,
    pub repository: Option<String>,
    pub run_id: Option<String>,
    pub run_attempt: Option<String>,
    pub output_path: Option<String>,
    pub step_summary_path: Option<String>,
    pub event_name: Option<String>,
    pub event_path: Option<String>,
    pub workspace: Option<String>,
    pub sha: Option<String>,
}

impl GithubContext {
    /// Link to the orchestrating run, when we know it.
    pub fn run_url(&self) -> Option<String> {
        let repo = self.repository.as_deref()?;
        let id = self.run_id.as_deref()?;
        Some(format!(
            "{}/{repo}/actions/runs/{id}",
            self.server_url.trim_end_matches('/')
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_blank_values_count_as_absent() {
        let env = Env::from_map([
            (INPUT_PLAN, ""),
            (INPUT_VERSIONS, "  \n"),
            (INPUT_DRY_RUN, " true "),
        ]);
        assert_eq!(env.get(INPUT_PLAN), None);
        assert_eq!(env.raw(INPUT_PLAN), Some(""));
        assert_eq!(env.get(INPUT_VERSIONS), None);
        assert_eq!(env.get(INPUT_DRY_RUN), Some("true"));
    }

    #[test]
    fn secrets_skip_empty_values_and_non_secret_names() {
        let env = Env::from_map([
            (INPUT_GITHUB_TOKEN, "ghp_abc"),
            (SMTP_PASSWORD, ""),
            (INPUT_PLAN, "plan.yml"),
            (SLACK_WEBHOOK_URL, "https://hooks.slack.com/x"),
        ]);
        let secrets: Vec<&str> = env.secrets().collect();
        assert_eq!(secrets, ["ghp_abc", "https://hooks.slack.com/x"]);
    }

    #[test]
    fn github_context_defaults_to_github_com_and_builds_run_links() {
        let env = Env::from_map([(GITHUB_REPOSITORY, "o/r"), (GITHUB_RUN_ID, "42")]);
        let gh = env.github();
        assert_eq!(gh.api_url, "https://api.github.com");
        assert_eq!(
            gh.run_url().as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        let ghes = Env::from_map([(GITHUB_API_URL, "https://ghe.example/api/v3")]).github();
        assert_eq!(ghes.api_url, "https://ghe.example/api/v3");
        assert_eq!(ghes.run_url(), None);
    }

    #[test]
    fn token_fallback_prefers_orchestrate_token_and_log_filter_prefers_orchestrate_log() {
        let env = Env::from_map([
            (GITHUB_TOKEN, "b"),
            (ORCHESTRATE_TOKEN, "a"),
            (RUST_LOG, "warn"),
        ]);
        assert_eq!(env.fallback_token(), Some("a"));
        assert_eq!(env.log_filter(), Some("warn"));
        let env = Env::from_map([(ORCHESTRATE_LOG, "debug"), (RUST_LOG, "warn")]);
        assert_eq!(env.log_filter(), Some("debug"));
        assert_eq!(env.fallback_token(), None);
    }

    #[test]
    fn inputs_lists_only_input_variables() {
        let env = Env::from_map([(INPUT_PLAN, "p"), (GITHUB_RUN_ID, "1")]);
        let inputs: Vec<(String, String)> = env.inputs().collect();
        assert_eq!(inputs, [(INPUT_PLAN.to_owned(), "p".to_owned())]);
    }
}
