//! `orchestrate action` with the environment a container action gets: a temp dir stands in for
//! `/github/...`, the runner files are created empty, inputs arrive as `INPUT_*` (defaults and
//! empty strings included) and the dispatch event as `event.json`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::runner::{parse_command, parse_env_file};
use crate::support::{Output, reference_plan, repo_root, run_in};

const TOKEN: &str = "ghp_FAKE_token_for_tests_only_0123";
const WEBHOOK: &str = "https://hooks.example.test/services/FAKE/B000/XXXXSECRETXXXX";

struct Runner {
    _root: tempfile::TempDir,
    workspace: PathBuf,
    output: PathBuf,
    summary: PathBuf,
    event: PathBuf,
}

impl Runner {
    /// The container's view: `/github/workspace` with the plan, `/github/file_commands` with
    /// the empty runner files, `/github/workflow/event.json`.
    fn new(event: &Value) -> Runner {
        let root = tempfile::tempdir().expect("tempdir");
        let github = root.path().join("github");
        let workspace = github.join("workspace");
        let commands = github.join("file_commands");
        let workflow = github.join("workflow");
        for dir in [&workspace.join(".github"), &commands, &workflow] {
            fs::create_dir_all(dir).expect("mkdir");
        }
        fs::copy(
            repo_root().join(reference_plan()),
            workspace.join(".github/orchestrate.yml"),
        )
        .expect("plan");
        let output = commands.join("set_output_3f1c9a4e-0000-4000-8000-000000000001");
        let summary = commands.join("step_summary_3f1c9a4e-0000-4000-8000-000000000001");
        fs::write(&output, "").expect("output file");
        fs::write(&summary, "").expect("summary file");
        let event_path = workflow.join("event.json");
        fs::write(&event_path, event.to_string()).expect("event");
        Runner {
            _root: root,
            workspace,
            output,
            summary,
            event: event_path,
        }
    }

    fn path(p: &Path) -> String {
        p.to_str().expect("utf-8 path").to_owned()
    }

    /// Runs the action; `inputs` override the action.yml defaults (every input is passed).
    fn run(&self, event_name: &str, inputs: &[(&str, &str)]) -> Output {
        let mut env: Vec<(String, String)> = [
            ("INPUT_GITHUB_TOKEN", TOKEN),
            ("INPUT_APP_ID", ""),
            ("INPUT_APP_PRIVATE_KEY", ""),
            ("INPUT_PLAN", ".github/orchestrate.yml"),
            ("INPUT_TARGET_ENVIRONMENT", ""),
            ("INPUT_VERSIONS", ""),
            ("INPUT_DEPLOYMENT_STRATEGY", ""),
            ("INPUT_ROLLBACK_ON_FAILURE", "true"),
            ("INPUT_NOTIFICATION_CHANNELS", ""),
            ("INPUT_DRY_RUN", "true"),
            ("INPUT_TIMEOUT", ""),
        ]
        .iter()
        .filter(|(k, _)| !inputs.iter().any(|(o, _)| o == k))
        .chain(inputs.iter())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(
            [
                ("GITHUB_ACTIONS", "true".to_owned()),
                ("CI", "true".to_owned()),
                ("HOME", "/github/home".to_owned()),
                ("GITHUB_API_URL", "https://api.github.com".to_owned()),
                ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
                ("GITHUB_REPOSITORY", "pratiko/releases".to_owned()),
                ("GITHUB_RUN_ID", "4242".to_owned()),
                ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
                ("GITHUB_EVENT_NAME", event_name.to_owned()),
                ("GITHUB_EVENT_PATH", Self::path(&self.event)),
                ("GITHUB_WORKSPACE", Self::path(&self.workspace)),
                ("GITHUB_OUTPUT", Self::path(&self.output)),
                ("GITHUB_STEP_SUMMARY", Self::path(&self.summary)),
                ("SLACK_WEBHOOK_URL", WEBHOOK.to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
        );
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_in(&self.workspace, &["action"], &env)
    }

    fn outputs(&self) -> std::collections::BTreeMap<String, String> {
        parse_env_file(&fs::read_to_string(&self.output).expect("outputs"))
            .expect("the runner accepts the outputs")
    }

    fn summary(&self) -> String {
        fs::read_to_string(&self.summary).expect("summary")
    }
}

fn seed_event() -> Value {
    serde_json::json!({
        "ref": "refs/heads/main",
        "inputs": {
            "environment": "staging",
            "backend_version": "1.2.0",
            "frontend_versions": "{\"android\": \"2.1.0\", \"web\": \"2.1.0\"}",
            "strategy": "canary"
        }
    })
}

#[test]
fn dry_run_from_workflow_dispatch_writes_outputs_the_runner_accepts_and_a_summary() {
    let runner = Runner::new(&seed_event());
    let out = runner.run("workflow_dispatch", &[]);
    assert_eq!(out.code, 0, "{out:?}");

    let outputs = runner.outputs();
    let keys: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "deployment_id",
            "failed_services",
            "manifest_artifact_id",
            "report",
            "rolled_back_services",
            "runs",
            "status"
        ]
    );
    assert_eq!(outputs["status"], "planned");
    assert!(
        outputs["deployment_id"].starts_with("dry-run-"),
        "{}",
        outputs["deployment_id"]
    );
    assert_eq!(outputs["failed_services"], "[]");
    assert_eq!(outputs["rolled_back_services"], "[]");
    let runs: Value = serde_json::from_str(&outputs["runs"]).expect("runs is JSON");
    let planned: Vec<&str> = runs
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(planned, ["android", "backend", "web"]);
    assert_eq!(runs["backend"]["outcome"], "planned");
    let report: Value = serde_json::from_str(&outputs["report"]).expect("report is JSON");
    assert_eq!(report["environment"], "staging");
    assert_eq!(report["strategy"], "canary");
    assert_eq!(report["dry_run"], true);

    let group = out
        .stdout
        .lines()
        .position(|l| l.starts_with("::group::orchestrate: release plan"));
    let end = out.stdout.lines().position(|l| l == "::endgroup::");
    assert!(
        matches!((group, end), (Some(g), Some(e)) if g < e),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("  1. backend\n  2. web\n"),
        "{}",
        out.stdout
    );

    let mut shown = outputs.clone();
    shown.remove("report");
    shown.insert("deployment_id".to_owned(), "[dry-run id]".to_owned());
    insta::assert_debug_snapshot!("dry_run_outputs", shown);

    let summary = runner.summary();
    assert!(!summary.is_empty());
    assert!(summary.contains("Planned waves"), "{summary}");
    assert!(summary.len() < 1_000_000);
}

#[test]
fn secrets_are_masked_first_and_appear_nowhere_else() {
    let runner = Runner::new(&seed_event());
    let out = runner.run("workflow_dispatch", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let masks: Vec<String> = lines
        .iter()
        .map_while(|l| parse_command(l).filter(|c| c.name == "add-mask"))
        .map(|c| c.message)
        .collect();
    assert!(
        masks.contains(&TOKEN.to_owned()),
        "the token is masked first: {lines:?}"
    );
    assert!(
        masks.contains(&WEBHOOK.to_owned()),
        "channel secrets too: {lines:?}"
    );
    for secret in [TOKEN, WEBHOOK] {
        let carrying: Vec<&&str> = lines.iter().filter(|l| l.contains(secret)).collect();
        assert_eq!(carrying.len(), 1, "only the add-mask line: {carrying:?}");
        assert!(carrying[0].starts_with("::add-mask::"));
        assert!(!out.stderr.contains(secret), "stderr: {}", out.stderr);
        assert!(
            !fs::read_to_string(&runner.output)
                .expect("outputs")
                .contains(secret)
        );
        assert!(!runner.summary().contains(secret));
    }
}

#[test]
fn a_multi_line_app_key_is_masked_line_by_line() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakefakefake\nQWERTYfakefakefake==\n-----END RSA PRIVATE KEY-----\n";
    let runner = Runner::new(&seed_event());
    let out = runner.run(
        "workflow_dispatch",
        &[
            ("INPUT_GITHUB_TOKEN", ""),
            ("INPUT_APP_ID", "12345"),
            ("INPUT_APP_PRIVATE_KEY", key),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    for line in key.lines() {
        assert!(
            out.stdout.contains(&format!("::add-mask::{line}\n")),
            "{line}: {}",
            out.stdout
        );
    }
    assert!(!runner.summary().contains("MIIEowIBAAKCAQEAfakefakefake"));
}

#[test]
fn repository_dispatch_client_payload_is_used_too() {
    let event = serde_json::json!({
        "action": "release",
        "client_payload": {
            "target_environment": "production",
            "versions": { "backend": "1.3.0", "frontend": { "web": "2.2.0" } },
            "deployment_strategy": "sequential"
        }
    });
    let runner = Runner::new(&event);
    let out = runner.run("repository_dispatch", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let report: Value = serde_json::from_str(&runner.outputs()["report"]).expect("json");
    assert_eq!(report["environment"], "production");
    assert_eq!(report["strategy"], "sequential");
}

#[test]
fn bad_inputs_exit_2_naming_the_input_before_anything_is_written() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("INPUT_VERSIONS", "{backend: not.a.version}")],
            "versions",
        ),
        (
            &[("INPUT_TARGET_ENVIRONMENT", "prod")],
            "input `target_environment` names environment `prod`",
        ),
        (
            &[("INPUT_DRY_RUN", "yes")],
            "input `dry_run` must be a boolean, got `yes`",
        ),
        (
            &[("INPUT_TIMEOUT", "forever")],
            "input `timeout` is not a duration",
        ),
    ];
    for (inputs, needle) in cases {
        let runner = Runner::new(&seed_event());
        let out = runner.run("workflow_dispatch", inputs);
        assert_eq!(out.code, 2, "{inputs:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{inputs:?}: {}", out.stderr);
        assert!(out.stderr.contains("help:"), "{inputs:?}: {}", out.stderr);
        let error = out
            .stdout
            .lines()
            .filter_map(parse_command)
            .find(|c| c.name == "error");
        assert!(error.is_some(), "an ::error annotation: {}", out.stdout);
        assert_eq!(
            fs::read_to_string(&runner.output).expect("outputs"),
            "",
            "no outputs on bad input"
        );
        assert!(
            !out.stderr.contains(TOKEN) && !out.stdout.lines().skip(2).any(|l| l.contains(TOKEN))
        );
    }
}

#[test]
fn a_plan_error_is_annotated_at_its_line() {
    let runner = Runner::new(&seed_event());
    fs::write(
        runner.workspace.join(".github/orchestrate.yml"),
        "version: 1\nname: x\nenvironments:\n  staging: {}\nservices:\n  backend:\n    repo: not-a-repo\n    workflow: d.yml\n",
    )
    .expect("plan");
    let out = runner.run("workflow_dispatch", &[]);
    assert_eq!(out.code, 2, "{out:?}");
    let error = out
        .stdout
        .lines()
        .filter_map(parse_command)
        .find(|c| c.name == "error")
        .expect("annotation");
    assert_eq!(
        error.properties.get("file").map(String::as_str),
        Some(".github/orchestrate.yml")
    );
    assert_eq!(error.properties.get("line").map(String::as_str), Some("7"));
}

// The real release of the action (not a dry run) is tested against the emulator in
// `engine_github.rs`: this runner points at api.github.com, which tests never reach.
