//! Unvalidated settings as given, before validation: the action's `INPUT_*` variables (read
//! with `envy`), the dispatch event's fallback values, or the CLI flags. Every value keeps a
//! label saying where it came from, so an error can name the input, flag or event key.

use serde::Deserialize;

use super::event::{EventInputs, EventValue};
use crate::cli::{ReleaseArgs, RunArgs};
use crate::env::Env;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An action input (`INPUT_<NAME>`).
    Input,
    /// A command-line flag, e.g. `--env`.
    Flag(&'static str),
    /// A key of the dispatch event's `inputs` / `client_payload`.
    Event { event: String, key: String },
    /// An environment variable (the token fallbacks).
    Var(&'static str),
}

/// One given value: the setting it is for (the action input name), the text and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub input: &'static str,
    pub text: String,
    pub origin: Origin,
}

impl Given {
    pub fn input(input: &'static str, text: impl Into<String>) -> Given {
        Given {
            input,
            text: text.into(),
            origin: Origin::Input,
        }
    }

    pub fn flag(input: &'static str, flag: &'static str, text: impl Into<String>) -> Given {
        Given {
            input,
            text: text.into(),
            origin: Origin::Flag(flag),
        }
    }

    fn from_event(input: &'static str, event: &str, value: EventValue) -> Given {
        Given {
            input,
            text: value.text,
            origin: Origin::Event {
                event: event.to_owned(),
                key: value.key,
            },
        }
    }

    /// How messages name this value: "input `versions`", "`--versions`", or "input `versions`
    /// (from `frontend_versions` of the workflow_dispatch event)".
    pub fn label(&self) -> String {
        match &self.origin {
            Origin::Input => format!("input `{}`", self.input),
            Origin::Flag(flag) => format!("`{flag}`"),
            Origin::Event { event, key } => {
                format!("input `{}` (from `{key}` of the {event} event)", self.input)
            }
            Origin::Var(name) => format!("`{name}`"),
        }
    }
}

/// The action inputs exactly as the runner passes them. Every field is text: the runner
/// sends strings, defaults included, and an empty string for an input nobody set, so typing
/// happens in validation where the error can name the input.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionInputs {
    pub github_token: Option<String>,
    pub app_id: Option<String>,
    pub app_private_key: Option<String>,
    pub plan: Option<String>,
    pub target_environment: Option<String>,
    pub versions: Option<String>,
    pub deployment_strategy: Option<String>,
    pub rollback_on_failure: Option<String>,
    pub notification_channels: Option<String>,
    pub dry_run: Option<String>,
    pub timeout: Option<String>,
}

impl ActionInputs {
    /// Deserializes the `INPUT_*` variables of `env` (envy lower-cases the rest of the name,
    /// which gives our snake_case input names).
    pub fn from_env(env: &Env) -> Result<ActionInputs, envy::Error> {
        envy::prefixed(crate::env::INPUT_PREFIX).from_iter(env.inputs())
    }
}

/// Everything given for one release, not yet checked.
#[derive(Debug, Clone, Default)]
pub struct RawSettings {
    pub plan: Option<Given>,
    pub environment: Option<Given>,
    /// Version mappings, merged in order; a service named twice is an error.
    pub versions: Vec<Given>,
    pub strategy: Option<Given>,
    pub rollback_on_failure: Option<Given>,
    pub notification_channels: Option<Given>,
    pub dry_run: Option<Given>,
    pub timeout: Option<Given>,
    pub token: Option<Given>,
    pub app_id: Option<Given>,
    pub app_private_key: Option<Given>,
}

/// A trimmed, non-empty value: the runner's "not given" is an empty string.
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl RawSettings {
    /// From the action inputs, with empty inputs filled from the dispatch event when there is
    /// one, and the token falling back to `ORCHESTRATE_TOKEN` / `GITHUB_TOKEN`.
    pub fn from_action(inputs: ActionInputs, event: Option<EventInputs>, env: &Env) -> RawSettings {
        let event = event.unwrap_or_default();
        let name = event.event_name.clone();
        let pick = |input: &'static str, value: Option<String>, fallback: Option<EventValue>| {
            given(value)
                .map(|text| Given::input(input, text))
                .or_else(|| fallback.map(|v| Given::from_event(input, &name, v)))
        };
        let versions = match given(inputs.versions) {
            Some(text) => vec![Given::input("versions", text)],
            None => event
                .versions
                .into_iter()
                .map(|v| Given::from_event("versions", &name, v))
                .collect(),
        };
        RawSettings {
            plan: pick("plan", inputs.plan, event.plan),
            environment: pick(
                "target_environment",
                inputs.target_environment,
                event.target_environment,
            ),
            versions,
            strategy: pick(
                "deployment_strategy",
                inputs.deployment_strategy,
                event.deployment_strategy,
            ),
            rollback_on_failure: pick(
                "rollback_on_failure",
                inputs.rollback_on_failure,
                event.rollback_on_failure,
            ),
            notification_channels: pick(
                "notification_channels",
                inputs.notification_channels,
                event.notification_channels,
            ),
            dry_run: pick("dry_run", inputs.dry_run, event.dry_run),
            timeout: pick("timeout", inputs.timeout, event.timeout),
            token: pick("github_token", inputs.github_token, None).or_else(|| token_from_env(env)),
            app_id: pick("app_id", inputs.app_id, None),
            app_private_key: given(inputs.app_private_key)
                .map(|t| Given::input("app_private_key", t)),
        }
    }

    /// From `plan`'s flags (nothing else applies to a plan preview).
    pub fn from_release_args(args: &ReleaseArgs) -> RawSettings {
        RawSettings {
            plan: Some(Given::flag("plan", "PLAN", args.plan.display().to_string())),
            environment: Some(Given::flag("target_environment", "--env", &args.env)),
            versions: vec![Given::flag("versions", "--versions", &args.versions)],
            strategy: args
                .strategy
                .map(|s| Given::flag("deployment_strategy", "--strategy", s.as_str())),
            ..RawSettings::default()
        }
    }

    /// From `run`'s flags, the token from the environment.
    pub fn from_run_args(args: &RunArgs, env: &Env) -> RawSettings {
        let flag_bool = |input, flag, on: bool| on.then(|| Given::flag(input, flag, "true"));
        RawSettings {
            rollback_on_failure: args
                .no_rollback
                .then(|| Given::flag("rollback_on_failure", "--no-rollback", "false")),
            notification_channels: args
                .notify
                .as_ref()
                .map(|n| Given::flag("notification_channels", "--notify", n)),
            dry_run: flag_bool("dry_run", "--dry-run", args.dry_run),
            timeout: args
                .timeout
                .as_ref()
                .map(|t| Given::flag("timeout", "--timeout", t)),
            token: token_from_env(env),
            ..RawSettings::from_release_args(&args.release)
        }
    }
}

fn token_from_env(env: &Env) -> Option<Given> {
    let (name, value) = [crate::env::ORCHESTRATE_TOKEN, crate::env::GITHUB_TOKEN]
        .into_iter()
        .find_map(|name| env.get(name).map(|v| (name, v)))?;
    Some(Given {
        input: "github_token",
        text: value.to_owned(),
        origin: Origin::Var(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env;

    fn runner_env(extra: &[(&str, &str)]) -> Env {
        // What the runner passes for our action.yml when the caller sets nothing: every
        // input, defaults filled, the rest empty.
        let mut vars: Vec<(&str, &str)> = vec![
            (env::INPUT_GITHUB_TOKEN, ""),
            (env::INPUT_APP_ID, ""),
            (env::INPUT_APP_PRIVATE_KEY, ""),
            (env::INPUT_PLAN, ".github/orchestrate.yml"),
            (env::INPUT_TARGET_ENVIRONMENT, ""),
            (env::INPUT_VERSIONS, ""),
            (env::INPUT_DEPLOYMENT_STRATEGY, ""),
            (env::INPUT_ROLLBACK_ON_FAILURE, "true"),
            (env::INPUT_NOTIFICATION_CHANNELS, ""),
            (env::INPUT_DRY_RUN, "false"),
            (env::INPUT_TIMEOUT, ""),
        ];
        vars.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        vars.extend_from_slice(extra);
        Env::from_map(vars)
    }

    #[test]
    fn envy_reads_every_input_and_empty_means_not_given() {
        let env = runner_env(&[
            (env::INPUT_TARGET_ENVIRONMENT, " staging "),
            ("INPUT_UNRELATED-THING", "x"),
        ]);
        let inputs = ActionInputs::from_env(&env).expect("strings always deserialize");
        assert_eq!(inputs.plan.as_deref(), Some(".github/orchestrate.yml"));
        let raw = RawSettings::from_action(inputs, None, &env);
        assert_eq!(raw.environment.map(|g| g.text), Some("staging".to_owned()));
        assert!(raw.versions.is_empty());
        assert!(raw.token.is_none());
        assert_eq!(raw.dry_run.map(|g| g.text), Some("false".to_owned()));
    }

    #[test]
    fn empty_inputs_fall_back_to_the_event_and_given_inputs_win() {
        let env = runner_env(&[(env::INPUT_DEPLOYMENT_STRATEGY, "sequential")]);
        let event = EventInputs::from_payload(
            "workflow_dispatch",
            "e.json",
            r#"{"inputs":{"environment":"production","strategy":"canary","backend_version":"1.2.0"}}"#,
        )
        .expect("valid")
        .expect("dispatch");
        let inputs = ActionInputs::from_env(&env).expect("strings");
        let raw = RawSettings::from_action(inputs, Some(event), &env);
        let environment = raw.environment.expect("from the event");
        assert_eq!(environment.text, "production");
        assert_eq!(
            environment.label(),
            "input `target_environment` (from `environment` of the workflow_dispatch event)"
        );
        assert_eq!(
            raw.strategy.map(|g| (g.text, g.origin)),
            Some(("sequential".to_owned(), Origin::Input))
        );
        assert_eq!(raw.versions.len(), 1);
        assert_eq!(raw.versions[0].text, r#"{"backend":"1.2.0"}"#);
    }

    #[test]
    fn the_token_falls_back_to_orchestrate_token() {
        let env = runner_env(&[(env::ORCHESTRATE_TOKEN, "ghp_env")]);
        let raw =
            RawSettings::from_action(ActionInputs::from_env(&env).expect("strings"), None, &env);
        let token = raw.token.expect("fallback");
        assert_eq!(token.text, "ghp_env");
        assert_eq!(token.label(), "`ORCHESTRATE_TOKEN`");
        let env = runner_env(&[
            (env::ORCHESTRATE_TOKEN, "ghp_env"),
            (env::INPUT_GITHUB_TOKEN, "ghp_input"),
        ]);
        let raw =
            RawSettings::from_action(ActionInputs::from_env(&env).expect("strings"), None, &env);
        assert_eq!(raw.token.map(|t| t.text), Some("ghp_input".to_owned()));
    }
}
