//! `validate` and `plan` from a terminal: exit codes, diagnostics on stderr, waves on stdout,
//! JSON that parses.

use std::fs;

use serde_json::Value;

use crate::support::{Output, reference_plan, repo_root, run, run_in};

const VERSIONS: &str = "{backend: 1.2.0, frontend: {android: 2.1.0, web: 2.1.0}}";

fn fixtures(kind: &str) -> Vec<String> {
    let dir = repo_root().join("tests/fixtures/plans").join(kind);
    let mut files: Vec<String> = fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".yml"))
                .map(|n| format!("tests/fixtures/plans/{kind}/{n}"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn validate_accepts_the_reference_plan_and_every_valid_fixture() {
    let mut plans = fixtures("valid");
    plans.push(reference_plan().to_owned());
    for plan in plans {
        let out = run(&["validate", &plan], &[]);
        assert_eq!(out.code, 0, "{plan}: {out:?}");
        assert!(
            out.stdout.starts_with(&format!("ok: {plan}: plan `")),
            "{plan}: {out:?}"
        );
        assert!(!out.stderr.contains("error"), "{plan}: {out:?}");
    }
}

#[test]
fn validate_rejects_every_invalid_fixture_with_location_and_hint() {
    let plans = fixtures("invalid");
    assert!(!plans.is_empty(), "the invalid fixtures are missing");
    for plan in plans {
        let out = run(&["validate", &plan], &[]);
        assert_eq!(out.code, 2, "{plan}: {out:?}");
        assert!(out.stdout.is_empty(), "{plan}: nothing on stdout: {out:?}");
        assert!(
            out.stderr.contains(&format!("--> {plan}")),
            "{plan}: no location: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("error: aborting: "),
            "{plan}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{plan}: {}", out.stderr);
    }
}

#[test]
fn validate_renders_every_problem_like_a_compiler() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("plan.yml"),
        "version: 1\nname: x\nenvironments:\n  staging: { health_timeout: 5 parsecs }\nservices:\n  api:\n    repo: acme/api\n    workflow: deploy.yml\n    needz: [db]\n",
    )
    .expect("write");
    let out = run_in(dir.path(), &["validate", "plan.yml"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn validate_of_a_missing_file_is_bad_input() {
    let out = run(&["validate", "does/not/exist.yml"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("cannot read the plan `does/not/exist.yml`"),
        "{out:?}"
    );
}

fn plan(strategy: &str, format: &str) -> Output {
    run(
        &[
            "plan",
            reference_plan(),
            "--env",
            "staging",
            "--versions",
            VERSIONS,
            "--strategy",
            strategy,
            "--format",
            format,
        ],
        &[],
    )
}

fn waves(json: &Value) -> Vec<String> {
    json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| match s["kind"].as_str() {
            Some("wave") => s["services"]
                .as_array()
                .expect("services")
                .iter()
                .map(|v| v.as_str().expect("name"))
                .collect::<Vec<_>>()
                .join("+"),
            Some("bake") => format!("bake {}", s["duration"].as_str().expect("duration")),
            other => panic!("unknown step {other:?}"),
        })
        .collect()
}

#[test]
fn plan_prints_the_waves_of_each_strategy_as_json() {
    let cases = [
        ("sequential", vec!["backend", "android", "web"]),
        ("parallel", vec!["backend", "android+web"]),
        ("canary", vec!["backend", "web", "bake 5m", "android"]),
    ];
    for (strategy, expected) in cases {
        let out = plan(strategy, "json");
        assert_eq!(out.code, 0, "{strategy}: {out:?}");
        let json: Value = serde_json::from_str(&out.stdout).expect("one JSON document on stdout");
        assert_eq!(waves(&json), expected, "{strategy}");
        assert_eq!(json["strategy"], strategy);
        assert_eq!(json["environment"], "staging");
        assert_eq!(json["release_set"]["android"], "2.1.0");
        assert_eq!(json["irreversible"], serde_json::json!(["android"]));
        let android = json["services"]
            .as_array()
            .expect("services")
            .iter()
            .find(|s| s["name"] == "android");
        let android = android.expect("android");
        assert_eq!(android["inputs"]["version"], "2.1.0");
        assert_eq!(android["inputs"]["backend_image"], "<after backend>");
    }
}

#[test]
fn plan_prints_the_waves_of_each_strategy_as_text() {
    for strategy in ["sequential", "parallel", "canary"] {
        let out = plan(strategy, "text");
        assert_eq!(out.code, 0, "{strategy}: {out:?}");
        assert!(
            out.stdout.contains(&format!("strategy {strategy}")),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("waves:\n  1. backend\n"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains("release set: android 2.1.0, backend 1.2.0, web 2.1.0"),
            "{}",
            out.stdout
        );
    }
    insta::assert_snapshot!(plan("canary", "text").stdout);
}

#[test]
fn plan_with_bad_flags_names_them_and_exits_2() {
    let out = run(
        &[
            "plan",
            reference_plan(),
            "--env",
            "prod",
            "--versions",
            "{backend: one}",
        ],
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("`--env` names environment `prod`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `production`?"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--> --versions:1:"), "{}", out.stderr);
}

#[test]
/// `run` is wired (tested against the emulator in `engine_github.rs`); without a token it stops
/// before any request, as bad input. (`status` and `emulator` need a server: tested there too.)
fn run_without_a_token_is_bad_input_before_any_request() {
    let args = [
        "run",
        reference_plan(),
        "--env",
        "staging",
        "--versions",
        VERSIONS,
    ];
    let out = run(&args, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("ORCHESTRATE_TOKEN"), "{out:?}");
}

#[test]
fn logs_never_go_to_stdout() {
    let out = run(
        &["validate", reference_plan()],
        &[("ORCHESTRATE_LOG", "trace")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
}

#[test]
fn in_actions_cli_commands_mask_on_stderr_and_keep_stdout_pure() {
    let token = "ghp_cliTOKENabcdef0123456789";
    let out = run(
        &[
            "plan",
            reference_plan(),
            "--env",
            "staging",
            "--versions",
            VERSIONS,
            "--format",
            "json",
        ],
        &[("GITHUB_ACTIONS", "true"), ("ORCHESTRATE_TOKEN", token)],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let _: Value = serde_json::from_str(&out.stdout).expect("stdout is only the JSON document");
    assert!(
        out.stderr.starts_with(&format!("::add-mask::{token}\n")),
        "{}",
        out.stderr
    );
    let outside = run(
        &["validate", reference_plan()],
        &[("ORCHESTRATE_TOKEN", token)],
    );
    assert!(
        !outside.stderr.contains("add-mask") && !outside.stdout.contains("add-mask"),
        "{outside:?}"
    );
}

#[test]
fn schema_prints_the_committed_json_schema() {
    let out = run(&["schema"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let committed = fs::read_to_string(repo_root().join("schema/orchestrate.schema.json"))
        .expect("schema/orchestrate.schema.json is committed");
    assert_eq!(out.stdout, committed);
    let schema: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["properties"]["strategy"]["anyOf"][0]["$ref"],
        "#/$defs/Strategy"
    );
}
