//! Settings validation: every bad input is reported together, naming the input, with a hint.

use super::raw::{ActionInputs, RawSettings};
use super::*;
use crate::env::{self, Env};
use crate::settings::event::EventInputs;

pub(crate) const PLAN: &str = r#"version: 1
name: demo
strategy: parallel
max_parallel: 2
canary: { services: [web], bake: 1m }
environments:
  staging: { vars: { api: "https://api-staging.example" }, health_timeout: 60s }
  production: { vars: { api: "https://api.example" }, health_timeout: 60s, lock: true }
services:
  backend:
    repo: acme/backend
    workflow: deploy.yml
    ref: main
    inputs: { version: "{{ version }}", environment: "{{ environment }}" }
    health:
      url: "{{ vars.api }}/health"
      expect: { status: 200, json: { version: "{{ version }}" } }
  web:
    repo: acme/frontend
    workflow: deploy-web.yml
    ref: main
    needs: [backend]
    requires: { backend: ">=1.2, <2" }
    inputs: { version: "{{ version }}", run: "{{ runs.backend.id }}" }
  android:
    repo: acme/frontend
    workflow: deploy-android.yml
    ref: main
    needs: [backend]
    irreversible: true
    inputs: { version: "{{ version }}" }
"#;

pub(crate) fn plan_file() -> PlanFile {
    let loaded = orchestrate_core::plan::load("plan.yml", PLAN).expect("the test plan is valid");
    PlanFile {
        label: "plan.yml".to_owned(),
        text: PLAN.to_owned(),
        loaded,
    }
}

fn action_raw(vars: &[(&str, &str)], event: Option<(&str, &str)>) -> RawSettings {
    let env = Env::from_map(vars.iter().copied());
    let inputs = ActionInputs::from_env(&env).expect("strings");
    let event = event.map(|(name, payload)| {
        EventInputs::from_payload(name, "event.json", payload)
            .expect("valid event")
            .expect("dispatch event")
    });
    RawSettings::from_action(inputs, event, &env)
}

#[test]
fn action_inputs_become_settings() {
    let raw = action_raw(
        &[
            (env::INPUT_TARGET_ENVIRONMENT, "staging"),
            (
                env::INPUT_VERSIONS,
                "{backend: 1.2.0, frontend: {web: 2.1.0}}",
            ),
            (env::INPUT_DEPLOYMENT_STRATEGY, "canary"),
            (env::INPUT_ROLLBACK_ON_FAILURE, "False"),
            (env::INPUT_DRY_RUN, "TRUE"),
            (env::INPUT_TIMEOUT, "1h 30m"),
            (env::INPUT_NOTIFICATION_CHANNELS, "slack,\nemail, slack"),
            (env::INPUT_GITHUB_TOKEN, "ghp_x"),
        ],
        None,
    );
    let settings = Settings::validate(&raw, &plan_file(), Purpose::Release).expect("valid");
    assert_eq!(settings.environment, "staging");
    let release: Vec<(&str, String)> = settings
        .release
        .iter()
        .map(|(s, v)| (s, v.to_string()))
        .collect();
    assert_eq!(
        release,
        [("backend", "1.2.0".to_owned()), ("web", "2.1.0".to_owned())]
    );
    assert_eq!(settings.strategy, Strategy::Canary);
    assert!(!settings.rollback_on_failure);
    assert!(settings.dry_run);
    assert_eq!(settings.timeout, Some(Duration::from_secs(5400)));
    assert_eq!(
        settings.channels,
        Some(vec![Channel::Slack, Channel::Email])
    );
    assert_eq!(settings.auth, Some(Auth::Token(Secret::new("ghp_x"))));
    assert_eq!(format!("{:?}", settings.auth), "Some(Token(Secret(***)))");
}

#[test]
fn defaults_apply_when_inputs_are_empty() {
    let raw = action_raw(
        &[
            (env::INPUT_TARGET_ENVIRONMENT, "staging"),
            (env::INPUT_VERSIONS, "backend: 1.2.0"),
            (env::INPUT_DEPLOYMENT_STRATEGY, ""),
            (env::INPUT_ROLLBACK_ON_FAILURE, ""),
            (env::INPUT_DRY_RUN, ""),
            (env::INPUT_TIMEOUT, ""),
        ],
        None,
    );
    let settings = Settings::validate(&raw, &plan_file(), Purpose::Preview).expect("valid");
    assert_eq!(settings.strategy, Strategy::Parallel, "the plan's strategy");
    assert!(settings.rollback_on_failure);
    assert!(!settings.dry_run);
    assert_eq!(settings.timeout, None);
    assert_eq!(settings.channels, None);
    assert_eq!(settings.auth, None);
}

#[test]
fn seed_event_inputs_fill_empty_inputs() {
    let raw = action_raw(
        &[
            (env::INPUT_TARGET_ENVIRONMENT, ""),
            (env::INPUT_VERSIONS, ""),
            (env::INPUT_DRY_RUN, ""),
        ],
        Some((
            "workflow_dispatch",
            r#"{"inputs":{"environment":"production","strategy":"sequential","backend_version":"1.3.0",
                "frontend_versions":"{\"android\": \"2.1.0\", \"web\": \"2.1.0\"}","dry_run":"true"}}"#,
        )),
    );
    let settings = Settings::validate(&raw, &plan_file(), Purpose::Release).expect("valid");
    assert_eq!(settings.environment, "production");
    assert_eq!(settings.strategy, Strategy::Sequential);
    assert_eq!(settings.release.len(), 3);
    assert_eq!(
        settings
            .release
            .version("backend")
            .map(ToString::to_string)
            .as_deref(),
        Some("1.3.0")
    );
    assert!(settings.dry_run, "a dry run needs no token");
}

#[test]
fn every_bad_input_is_reported_at_once_naming_the_input() {
    let raw = action_raw(
        &[
            (env::INPUT_TARGET_ENVIRONMENT, "prod"),
            (env::INPUT_VERSIONS, "{backend: not-a-version}"),
            (env::INPUT_DEPLOYMENT_STRATEGY, "canery"),
            (env::INPUT_ROLLBACK_ON_FAILURE, "yes"),
            (env::INPUT_DRY_RUN, "1"),
            (env::INPUT_TIMEOUT, "soon"),
            (env::INPUT_NOTIFICATION_CHANNELS, "slack,pager"),
        ],
        None,
    );
    let problems = Settings::validate(&raw, &plan_file(), Purpose::Preview).expect_err("invalid");
    let text = problems.render();
    for needle in [
        "input `target_environment` names environment `prod`",
        "did you mean `production`?",
        "input `versions`",
        "input `deployment_strategy` must be a strategy, got `canery`",
        "did you mean `canary`?",
        "input `rollback_on_failure` must be a boolean, got `yes`",
        "input `dry_run` must be a boolean, got `1`",
        "input `timeout` is not a duration",
        "unknown channel `pager`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_service_given_twice_across_sources_is_an_error() {
    let raw = action_raw(
        &[(env::INPUT_TARGET_ENVIRONMENT, "staging")],
        Some((
            "repository_dispatch",
            r#"{"client_payload":{"versions":{"backend":"1.2.0"},"backend_version":"1.3.0"}}"#,
        )),
    );
    let text = Settings::validate(&raw, &plan_file(), Purpose::Preview)
        .expect_err("dup")
        .render();
    assert!(text.contains("gives `backend` a version again"), "{text}");
}

#[test]
fn unknown_services_and_empty_release_sets_are_rejected() {
    let raw = action_raw(
        &[
            (env::INPUT_TARGET_ENVIRONMENT, "staging"),
            (env::INPUT_VERSIONS, "{backnd: 1.0.0}"),
        ],
        None,
    );
    let text = Settings::validate(&raw, &plan_file(), Purpose::Preview)
        .expect_err("unknown")
        .render();
    assert!(
        text.contains("`backnd`") && text.contains("backend"),
        "{text}"
    );
    let raw = action_raw(
        &[
            (env::INPUT_TARGET_ENVIRONMENT, "staging"),
            (env::INPUT_VERSIONS, "{}"),
        ],
        None,
    );
    assert!(Settings::validate(&raw, &plan_file(), Purpose::Preview).is_err());
    let raw = action_raw(&[(env::INPUT_TARGET_ENVIRONMENT, "staging")], None);
    let text = Settings::validate(&raw, &plan_file(), Purpose::Preview)
        .expect_err("none")
        .render();
    assert!(text.contains("no versions given"), "{text}");
}

#[test]
fn a_real_release_needs_credentials_and_complete_app_settings() {
    let base = [
        (env::INPUT_TARGET_ENVIRONMENT, "staging"),
        (env::INPUT_VERSIONS, "{backend: 1.2.0}"),
    ];
    let text = Settings::validate(&action_raw(&base, None), &plan_file(), Purpose::Release)
        .expect_err("no token")
        .render();
    assert!(text.contains("no credentials"), "{text}");
    let mut with_app = base.to_vec();
    with_app.push((env::INPUT_APP_ID, "12x"));
    let text = Settings::validate(&action_raw(&with_app, None), &plan_file(), Purpose::Release)
        .expect_err("half an app")
        .render();
    assert!(text.contains("without `app_private_key`"), "{text}");
    let mut app = base.to_vec();
    app.extend([
        (env::INPUT_APP_ID, "123"),
        (
            env::INPUT_APP_PRIVATE_KEY,
            "-----BEGIN-----\nk\n-----END-----",
        ),
    ]);
    let settings =
        Settings::validate(&action_raw(&app, None), &plan_file(), Purpose::Release).expect("app");
    assert!(matches!(settings.auth, Some(Auth::App { app_id: 123, .. })));
    assert_eq!(settings.secrets(), ["-----BEGIN-----\nk\n-----END-----"]);
}

#[test]
fn swapped_app_inputs_never_echo_the_private_key() {
    let key =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END RSA PRIVATE KEY-----";
    let vars = [
        (env::INPUT_TARGET_ENVIRONMENT, "staging"),
        (env::INPUT_VERSIONS, "backend: 1.2.0"),
        (env::INPUT_APP_ID, key),
        (env::INPUT_APP_PRIVATE_KEY, "123"),
    ];
    let text = Settings::validate(&action_raw(&vars, None), &plan_file(), Purpose::Release)
        .expect_err("swapped")
        .render();
    assert!(text.contains("must be the App's numeric id"), "{text}");
    assert!(!text.contains("secretkeymaterial"), "{text}");
    let vars = [
        (env::INPUT_TARGET_ENVIRONMENT, "staging"),
        (env::INPUT_VERSIONS, "backend: 1.2.0"),
        (env::INPUT_APP_ID, "12x"),
        (env::INPUT_APP_PRIVATE_KEY, key),
    ];
    let text = Settings::validate(&action_raw(&vars, None), &plan_file(), Purpose::Release)
        .expect_err("not a number")
        .render();
    assert!(text.contains("got `12x`"), "{text}");
}
