//! Follow-ups of the engine review, end to end on the emulator: a run whose artifacts cannot be
//! handed on (deployed, so rolled back), a cancel that cannot be sent, a cancel GitHub accepts
//! while the run goes on to succeed.

use std::time::Duration;

use orchestrate_emulator::{RepoSpec, Scenario, WorkflowSpec};
use serde_json::Value;

use crate::engine_edges::{rehearse, run_on, start_emulator};
use crate::support::{service, timeline_of};

/// `api` hands an artifact to `web`; both have a version deployed before the release.
const HANDOFF_PLAN: &str = r#"version: 1
name: handoff
strategy: sequential
environments: { staging: {} }
services:
  api: { repo: acme/api, workflow: deploy.yml, artifacts: [build-info], inputs: { version: "{{ version }}" } }
  web:
    repo: acme/web
    workflow: deploy.yml
    needs: [api]
    inputs: { version: "{{ version }}", image: "{{ artifacts.api.build-info.image }}" }
"#;

fn rollbacks(report: &Value) -> Vec<(String, String)> {
    report["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("service"), s("outcome"))
        })
        .collect()
}

#[test]
fn a_run_whose_artifact_is_missing_counts_as_deployed_and_is_rolled_back() {
    // api's run succeeds but uploads no `build-info`: its new version went out.
    let scenario = r#"speed: 120
release: { environment: staging, versions: { api: 1.3.0, web: 2.1.0 } }
deployed: { api: 1.2.0, web: 2.0.0 }
repos:
  - name: acme/api
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 30s }
  - name: acme/web
    workflows: [{ file: deploy.yml, inputs: { version: { required: true }, image: {} } }]
"#;
    let (out, report) = rehearse(HANDOFF_PLAN, scenario);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let api = service(&report, "api");
    assert_eq!(api["run"]["conclusion"], "success", "{api}");
    assert_eq!(api["outcome"], "failed", "{api}");
    let message = api["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("artifact") && message.contains("build-info"),
        "the failure names the artifact problem: {api}"
    );
    assert_eq!(
        rollbacks(&report),
        [("api".to_owned(), "succeeded".to_owned())],
        "the version that went out was rolled back: {report}"
    );
    assert_eq!(service(&report, "web")["outcome"], "skipped");
    assert!(
        timeline_of(&report, "api")
            .iter()
            .any(|w| w == "run succeeded"),
        "{:?}",
        timeline_of(&report, "api")
    );
}

/// `a` fails after 30s while `b`'s 10m run is under way, so `b` is cancelled; `faults` go to
/// `b`'s cancel request. `b` runs for `b_run`.
fn cancel_rehearsal(faults: &str, b_run: &str) -> (crate::support::Output, Value) {
    let plan = r#"version: 1
name: cancels
strategy: parallel
environments: { staging: {} }
services:
  a: { repo: acme/a, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let scenario = format!(
        r#"speed: 60
release: {{ environment: staging, versions: {{ a: 1.1.0, b: 2.1.0 }} }}
deployed: {{ a: 1.0.0, b: 2.0.0 }}
faults:
  script:
{faults}
repos:
  - name: acme/a
    workflows:
      - file: deploy.yml
        inputs: {{ version: {{ required: true }} }}
        behaviour: {{ queued: 5s, in_progress: 30s, conclusion: failure }}
  - name: acme/b
    workflows:
      - file: deploy.yml
        inputs: {{ version: {{ required: true }} }}
        behaviour: {{ queued: 5s, in_progress: {b_run} }}
"#
    );
    rehearse(plan, &scenario)
}

const B_CANCEL: &str = "/repos/acme/b/actions/runs/";

#[test]
fn a_cancel_that_fails_once_is_sent_again_and_the_run_is_followed_until_cancelled() {
    let faults = format!(
        "    - {{ method: POST, path_contains: {B_CANCEL}, times: 1, fault: {{ status: 400 }} }}"
    );
    let (out, report) = cancel_rehearsal(&faults, "10m");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let b = service(&report, "b");
    assert_eq!(b["outcome"], "cancelled", "{b}");
    assert_eq!(
        b["run"]["conclusion"], "cancelled",
        "the second request reached GitHub and the run was followed until it stopped: {b}"
    );
}

#[test]
fn a_cancel_that_keeps_failing_says_the_run_may_still_be_running() {
    let faults = format!(
        "    - {{ method: POST, path_contains: {B_CANCEL}, times: 100, fault: {{ status: 400 }} }}"
    );
    let (out, report) = cancel_rehearsal(&faults, "10m");
    assert_ne!(out.code, 0, "{}", out.stderr);
    let b = service(&report, "b");
    assert_eq!(b["outcome"], "failed", "not `cancelled`: {b}");
    let message = b["failure"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("cancel failed: run may still be running")
            && message.contains("3 attempts"),
        "{b}"
    );
    let timeline = timeline_of(&report, "b");
    assert!(
        timeline
            .iter()
            .any(|w| w.starts_with("cancel failed: run may still be running"))
            && !timeline.iter().any(|w| w == "cancelled"),
        "{timeline:?}"
    );
    assert_ne!(report["status"], "succeeded");
}

#[test]
fn a_run_that_succeeds_although_its_cancel_was_accepted_counts_as_deployed_and_is_rolled_back() {
    // GitHub answers 202 but the run is about to finish: it concludes `success`.
    let faults = format!(
        "    - {{ method: POST, path_contains: {B_CANCEL}, times: 100, fault: {{ status: 202 }} }}"
    );
    let (out, report) = cancel_rehearsal(&faults, "2m");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let b = service(&report, "b");
    assert_eq!(b["run"]["conclusion"], "success", "{b}");
    assert_eq!(b["outcome"], "rolled_back", "{b}");
    assert!(
        rollbacks(&report).contains(&("b".to_owned(), "succeeded".to_owned())),
        "{report}"
    );
    let timeline = timeline_of(&report, "b");
    let cancelling = timeline.iter().position(|w| w == "cancelling");
    let went_out = timeline
        .iter()
        .position(|w| w.starts_with("run succeeded before the cancel took effect"));
    assert!(
        matches!((cancelling, went_out), (Some(c), Some(w)) if c < w),
        "{timeline:?}"
    );
}

#[test]
fn a_rollback_that_overruns_its_limit_has_its_run_cancelled() {
    // a deploys in 35s; b fails at ~1m; a's rollback run would take 10m, past a's 2m limit.
    let plan = r#"version: 1
name: slow-rollback
strategy: parallel
environments: { staging: {} }
services:
  a:
    repo: acme/a
    workflow: deploy.yml
    timeout: 2m
    inputs: { version: "{{ version }}" }
    rollback: { workflow: rollback.yml, inputs: { version: "{{ previous_version }}" } }
  b: { repo: acme/b, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let scenario = r#"speed: 60
release: { environment: staging, versions: { a: 1.1.0, b: 2.1.0 } }
deployed: { a: 1.0.0, b: 2.0.0 }
repos:
  - name: acme/a
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 30s }
      - file: rollback.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 10m }
  - name: acme/b
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 5s, in_progress: 1m, conclusion: failure }
"#;
    let (out, report) = rehearse(plan, scenario);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let rollback = report["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .find(|r| r["service"] == "a")
        .unwrap_or_else(|| panic!("a was rolled back: {report}"));
    assert_eq!(rollback["outcome"], "failed", "{rollback}");
    assert!(
        rollback["reason"]
            .as_str()
            .is_some_and(|r| r.contains("did not finish") && r.contains("its run was cancelled")),
        "{rollback}"
    );
    assert_eq!(
        rollback["run"]["conclusion"], "cancelled",
        "the rollback run was stopped: {rollback}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_variable_nothing_provides_is_refused_before_anything_is_dispatched() {
    // `a` uses `versions.c`; `c` is neither in the release nor deployed.
    let plan = r#"version: 1
name: vars
environments: { staging: {} }
services:
  a: { repo: acme/a, workflow: deploy.yml, inputs: { version: "{{ version }}", other: "{{ versions.c }}" } }
  c: { repo: acme/c, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
"#;
    let workflow = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .input("other", false);
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/a").workflow(workflow))
        .repo(RepoSpec::new("acme/c"))
        .repo(RepoSpec::new("acme/release"));
    let emu = start_emulator(scenario, 10.0).await;
    let args = ["--versions", "{a: 1.0.0}"];
    let out = run_on(&emu, plan, &args, &[], Duration::from_secs(120)).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("service `a`")
            && out.stderr.contains("`inputs.other`")
            && out.stderr.contains("versions.c"),
        "names the service, the field and the variable: {}",
        out.stderr
    );
    assert!(emu.runs("acme/a").is_empty(), "nothing was dispatched");
    assert!(
        emu.deployments("acme/release").is_empty(),
        "no release set was recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_inside_actions_tells_the_runner_to_mask_secrets_before_any_other_output() {
    // The Slack URL sits in a variable only the plan names: the runner cannot know it.
    let plan = r#"version: 1
name: masks
environments: { staging: {} }
services:
  a: { repo: acme/a, workflow: deploy.yml, inputs: { version: "{{ version }}" } }
channels:
  slack: { webhook_url_env: RELEASE_HOOK }
"#;
    let hook = "https://hooks.example/T0/s3cr3t-path";
    let scenario = Scenario::builder()
        .repo(
            RepoSpec::new("acme/a")
                .workflow(WorkflowSpec::new("deploy.yml").input("version", true)),
        )
        .repo(RepoSpec::new("acme/release"));
    let emu = start_emulator(scenario, 10.0).await;
    let args = ["--versions", "{a: 1.0.0}"];
    let env = [("GITHUB_ACTIONS", "true"), ("RELEASE_HOOK", hook)];
    let out = run_on(&emu, plan, &args, &env, Duration::from_secs(120)).await;
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    let first_other = lines
        .iter()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap_or(lines.len());
    assert!(
        lines[..first_other].contains(&format!("::add-mask::{hook}").as_str()),
        "masked before anything else is printed: {lines:?}"
    );
}
