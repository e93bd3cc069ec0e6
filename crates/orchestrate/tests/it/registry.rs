//! The registry lookup's cost against the emulator over HTTP: a plan of 7 services in 3
//! repositories reads one deployments list per repository (not one per service), and finds
//! exactly what reading each service on its own finds (current, previous, the run and release
//! that deployed it), with deployments of other environments in the same repository ignored.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use orchestrate::engine::registry::{self, Deployed};
use orchestrate_core::plan::load;
use orchestrate_emulator::{
    DEFAULT_TOKEN, Emulator, EmulatorConfig, RecordedRequest, RunningEmulator, Scenario,
};
use orchestrate_github::{Client, ClientConfig, Credentials, GitHub, Secret};

/// acme/kmp ships four services (`staging/<service>`), acme/be two, acme/solo one (`staging`).
const PLAN: &str = r#"version: 1
name: shop
environments:
  staging: {}
services:
  web: { repo: acme/kmp, workflow: web.yml }
  android: { repo: acme/kmp, workflow: android.yml }
  ios: { repo: acme/kmp, workflow: ios.yml }
  desktop: { repo: acme/kmp, workflow: desktop.yml }
  api: { repo: acme/be, workflow: api.yml }
  worker: { repo: acme/be, workflow: worker.yml }
  docs: { repo: acme/solo, workflow: docs.yml }
"#;

/// A deployment recorded `ago` minutes before the emulator starts, its statuses in order.
fn deployment(out: &mut String, environment: &str, ago: u64, payload: &str, states: &[&str]) {
    let _ = writeln!(
        out,
        "      - environment: {environment}\n        ago: {ago}m\n        payload: {payload}\n        statuses:"
    );
    for (i, state) in states.iter().enumerate() {
        let _ = writeln!(out, "          - {{ state: {state}, after: {i}s }}");
    }
}

/// orchestrate's payload: service, version, release (deployment) id and run.
fn payload(service: &str, version: &str, release: u32, run: u64) -> String {
    format!(
        "{{ service: {service}, version: \"{version}\", deployment_id: \"rel-{release}\", run_id: {run}, run_url: \"https://github.example/runs/{run}\" }}"
    )
}

fn history_yaml() -> String {
    let ok = &["in_progress", "success"][..];
    let mut kmp = String::new();
    deployment(
        &mut kmp,
        "staging/web",
        90,
        &payload("web", "2.0.0", 1, 11),
        ok,
    );
    deployment(
        &mut kmp,
        "staging/android",
        89,
        &payload("android", "5.0.0", 1, 21),
        ok,
    );
    deployment(
        &mut kmp,
        "staging/web",
        60,
        &payload("web", "2.1.0", 2, 12),
        ok,
    );
    deployment(
        &mut kmp,
        "staging/android",
        59,
        &payload("android", "5.1.0", 2, 22),
        ok,
    );
    deployment(
        &mut kmp,
        "staging/ios",
        58,
        &payload("ios", "7.0.0", 2, 31),
        ok,
    );
    // Newer, but failed; then other environments of the same repository, all newer and
    // successful, which must not count: production, and the bare plan environment.
    deployment(
        &mut kmp,
        "staging/web",
        30,
        &payload("web", "2.2.0", 3, 13),
        &["in_progress", "failure"],
    );
    deployment(
        &mut kmp,
        "production",
        20,
        &payload("web", "2.9.0", 4, 14),
        ok,
    );
    deployment(&mut kmp, "staging", 15, &payload("web", "0.0.1", 5, 15), ok);
    // GitHub's own deployment for a job referencing the environment: no version.
    deployment(&mut kmp, "staging/web", 10, "{}", &["success"]);
    let mut be = String::new();
    deployment(
        &mut be,
        "staging/api",
        80,
        &payload("api", "1.0.0", 1, 41),
        ok,
    );
    deployment(
        &mut be,
        "staging/worker",
        79,
        &payload("worker", "3.0.0", 1, 51),
        ok,
    );
    deployment(
        &mut be,
        "staging/api",
        50,
        &payload("api", "1.1.0", 2, 42),
        &["in_progress"],
    );
    deployment(
        &mut be,
        "staging/worker",
        49,
        &payload("worker", "3.1.0", 2, 52),
        &["in_progress", "success", "inactive"],
    );
    deployment(
        &mut be,
        "staging/api",
        40,
        &payload("api", "1.1.1", 3, 43),
        ok,
    );
    let mut solo = String::new();
    deployment(
        &mut solo,
        "staging",
        70,
        &payload("docs", "0.5.0", 1, 61),
        ok,
    );
    deployment(
        &mut solo,
        "staging",
        35,
        &payload("docs", "0.6.0", 3, 62),
        ok,
    );
    deployment(
        &mut solo,
        "production",
        25,
        &payload("docs", "0.7.0", 4, 63),
        ok,
    );
    format!(
        "repos:\n  - name: acme/kmp\n    deployments:\n{kmp}  - name: acme/be\n    deployments:\n{be}  - name: acme/solo\n    deployments:\n{solo}"
    )
}

async fn emulator() -> RunningEmulator {
    let scenario = Scenario::from_yaml(&history_yaml()).expect("the registry scenario parses");
    Emulator::start(EmulatorConfig::new(scenario))
        .await
        .expect("emulator starts")
}

fn client(emu: &RunningEmulator) -> Arc<dyn GitHub> {
    let config = ClientConfig::new(
        emu.base_url(),
        Credentials::Token(Secret::new(DEFAULT_TOKEN)),
    );
    Arc::new(Client::new(config).expect("client"))
}

fn is_list(r: &RecordedRequest) -> bool {
    r.method == "GET" && r.path_only().ends_with("/deployments")
}

fn is_status_read(r: &RecordedRequest) -> bool {
    r.method == "GET" && r.path_only().ends_with("/statuses")
}

fn expected(current: &str, previous: Option<&str>, run: u64, release: u32) -> Deployed {
    Deployed {
        current: Some(current.to_owned()),
        previous: previous.map(str::to_owned),
        run: Some((run, format!("https://github.example/runs/{run}"))),
        release_id: Some(format!("rel-{release}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_services_in_three_repositories_cost_three_deployment_lists() {
    let emu = emulator().await;
    let plan = load("shop.yml", PLAN).expect("valid plan").plan;
    let github = client(&emu);

    let batched = registry::lookup(&github, &plan, "staging")
        .await
        .expect("lookup");
    let log = emu.requests();
    let lists: Vec<&RecordedRequest> = log.iter().filter(|r| is_list(r)).collect();
    let paths: Vec<&str> = lists.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(lists.len(), 3, "one list per repository: {paths:?}");
    for repo in ["acme/kmp", "acme/be", "acme/solo"] {
        let prefix = format!("/repos/{repo}/deployments");
        assert_eq!(
            lists.iter().filter(|r| r.path_only() == prefix).count(),
            1,
            "{repo}: {paths:?}"
        );
    }
    assert!(
        lists.iter().all(|r| r.path.contains("task=deploy")),
        "{paths:?}"
    );
    // Shared repositories are listed whole; a service alone keeps the environment filter.
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/repos/acme/solo/deployments?environment=staging&")),
        "{paths:?}"
    );
    assert!(
        paths.iter().filter(|p| p.contains("environment=")).count() == 1,
        "{paths:?}"
    );
    // web 3 (2.2.0 failed), android 2, ios 1, api 3 (1.1.0 unfinished), worker 2, docs 2.
    let batched_statuses = log.iter().filter(|r| is_status_read(r)).count();
    assert_eq!(
        batched_statuses,
        13,
        "{:?}",
        log.iter().map(|r| &r.path).collect::<Vec<_>>()
    );

    // What each service's own lookup (one list each) finds.
    let mut alone = BTreeMap::new();
    for service in &plan.services {
        let env = registry::deployment_environment(&plan, service, "staging");
        let history = github
            .deployed_versions(&service.repo, &env)
            .await
            .expect("per-service lookup");
        alone.insert(service.name.clone(), Deployed::from(history));
    }
    let log = emu.requests();
    let single_lists = log.iter().filter(|r| is_list(r)).count() - lists.len();
    let single_statuses = log.iter().filter(|r| is_status_read(r)).count() - batched_statuses;
    assert_eq!(single_lists, 7, "one list per service");
    assert_eq!(
        batched_statuses, single_statuses,
        "the same status reads either way"
    );
    assert_eq!(batched, alone);

    let want = BTreeMap::from([
        ("web".to_owned(), expected("2.1.0", Some("2.0.0"), 12, 2)),
        (
            "android".to_owned(),
            expected("5.1.0", Some("5.0.0"), 22, 2),
        ),
        ("ios".to_owned(), expected("7.0.0", None, 31, 2)),
        ("desktop".to_owned(), Deployed::default()),
        ("api".to_owned(), expected("1.1.1", Some("1.0.0"), 43, 3)),
        ("worker".to_owned(), expected("3.0.0", None, 51, 1)),
        ("docs".to_owned(), expected("0.6.0", Some("0.5.0"), 62, 3)),
    ]);
    assert_eq!(batched, want);
}
