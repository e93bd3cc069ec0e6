//! Fifty concurrent dispatches of one workflow in one repository, by `orchestrate action`
//! against the emulator over HTTP, with run details (GitHub.com) and without (old GHES, where
//! each run is found by its `orchestrate_id` in the run name): every service awaits its own
//! run, never "the newest run", and awaiting costs list requests per repository, not GETs per
//! run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use orchestrate_emulator::{
    Behaviour, BehaviourPatch, DEFAULT_TOKEN, Emulator, EmulatorConfig, RecordedRequest, RepoSpec,
    RunView, RunningEmulator, Scenario, WorkflowSpec,
};
use serde_json::Value;

use crate::engine_github::{action_env, run_action, workspace_with};
use crate::runner::parse_env_file;

const SERVICES: usize = 50;
const REPO: &str = "acme/fleet";
/// Emulated seconds per real second: the longest run (2 s queued, 74 s running) takes 3.8 s.
const SPEED: f64 = 20.0;

fn service(i: usize) -> String {
    format!("svc-{i:02}")
}

fn version(i: usize) -> String {
    format!("1.{i}.0")
}

/// Run length of service `i`: 17 is coprime with 50, so `i * 17 % 50` is a permutation that
/// scrambles the finishing order against the dispatch order (a client that takes the newest
/// run, or the first one to finish, gets the wrong run for most services).
fn in_progress(i: usize) -> Duration {
    Duration::from_secs(25 + ((i * 17 + 11) % SERVICES) as u64)
}

fn scenario(legacy_ghes: bool) -> Scenario {
    let mut deploy = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .input("service", true)
        .input("orchestrate_id", false)
        .run_name(
            "Deploy ${{ inputs.service }} ${{ inputs.version }} [${{ inputs.orchestrate_id }}]",
        )
        .behaviour(Behaviour::timed(
            Duration::from_secs(2),
            Duration::from_secs(30),
            "success",
        ));
    for i in 0..SERVICES {
        let patch = BehaviourPatch {
            in_progress: Some(in_progress(i)),
            ..BehaviourPatch::default()
        };
        deploy = deploy.when_input("service", &service(i), patch);
    }
    Scenario {
        legacy_ghes,
        ..Scenario::builder()
            .repo(RepoSpec::new(REPO).workflow(deploy))
            .repo(RepoSpec::new("acme/release"))
    }
}

/// Fifty services deployed by the same workflow, all in flight at once.
fn plan(correlate: bool) -> String {
    let mut plan = String::from(
        "version: 1\nname: fleet\nstrategy: parallel\nmax_parallel: 50\n\
         environments:\n  staging: { health_timeout: 20s }\nservices:\n",
    );
    for i in 0..SERVICES {
        let name = service(i);
        writeln!(
            plan,
            "  {name}:\n    repo: {REPO}\n    workflow: deploy.yml\n    correlate: {correlate}\n    \
             inputs: {{ version: \"{{{{ version }}}}\", service: {name} }}"
        )
        .expect("a string takes writes");
    }
    plan
}

fn versions() -> String {
    let pairs: Vec<String> = (0..SERVICES)
        .map(|i| format!("{}: {}", service(i), version(i)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// What one release left behind: its `runs` and `report` outputs and the emulator's state.
struct Fleet {
    runs: Value,
    report: Value,
    emulated: Vec<RunView>,
    requests: Vec<RecordedRequest>,
}

async fn release(legacy_ghes: bool, correlate: bool) -> Fleet {
    let config = EmulatorConfig {
        time_factor: Some(SPEED),
        ..EmulatorConfig::new(scenario(legacy_ghes))
    };
    let emu: RunningEmulator = Emulator::start(config).await.expect("emulator starts");
    let root = workspace_with(&emu, &plan(correlate));
    let env = action_env(&emu, root.path(), DEFAULT_TOKEN, &versions(), "5050");
    let out = run_action(root.path(), env).await;
    assert_eq!(out.code, 0, "{out:?}");
    let outputs = std::fs::read_to_string(root.path().join("set_output")).expect("outputs");
    let outputs = parse_env_file(&outputs).expect("the runner accepts the outputs");
    let json = |name: &str| -> Value {
        serde_json::from_str(&outputs[name]).unwrap_or_else(|e| panic!("`{name}` is JSON: {e}"))
    };
    Fleet {
        runs: json("runs"),
        report: json("report"),
        emulated: emu.runs(REPO),
        requests: emu.requests(),
    }
}

/// Whether `r` reads the list of runs (all runs, or one workflow's).
fn is_list(r: &RecordedRequest) -> bool {
    let path = r.path_only();
    r.method == "GET"
        && (path == format!("/repos/{REPO}/actions/runs")
            || path == format!("/repos/{REPO}/actions/workflows/deploy.yml/runs"))
}

/// Whether `r` reads one run (`…/actions/runs/{id}`, not its jobs or artifacts).
fn is_single_run(r: &RecordedRequest) -> bool {
    let prefix = format!("/repos/{REPO}/actions/runs/");
    r.method == "GET"
        && r.path_only()
            .strip_prefix(&prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// Dispatch POSTs answered with a status that `keep` accepts.
fn dispatches(fleet: &Fleet, keep: impl Fn(u16) -> bool) -> usize {
    fleet
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path_only().ends_with("/dispatches") && keep(r.status))
        .count()
}

/// The runs, in the order they were created (ids grow), do not finish in that order: the
/// scenario really tests matching each service to its own run, not luck.
fn assert_finish_order_is_scrambled(runs: &[RunView]) {
    let mut by_creation: Vec<&RunView> = runs.iter().collect();
    by_creation.sort_by_key(|r| r.id);
    let lengths: Vec<Duration> = by_creation
        .iter()
        .map(|r| {
            let name = r.inputs.get("service").expect("dispatched with a service");
            let i: usize = name["svc-".len()..].parse().expect("svc-NN");
            in_progress(i)
        })
        .collect();
    let inversions = lengths.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(
        inversions >= SERVICES / 4,
        "runs finish nearly in creation order ({inversions} inversions): {lengths:?}"
    );
}

/// The assertions both modes share: 50 runs, each service on the run dispatched with its own
/// name and version, every one succeeded, and polling per repository.
fn assert_each_service_awaited_its_own_run(fleet: &Fleet) {
    assert_eq!(
        fleet.emulated.len(),
        SERVICES,
        "exactly one run per service: {:?}",
        fleet
            .emulated
            .iter()
            .map(|r| &r.display_title)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        dispatches(fleet, |status| (200..300).contains(&status)),
        SERVICES,
        "one accepted dispatch per service"
    );
    assert_finish_order_is_scrambled(&fleet.emulated);
    let by_id: BTreeMap<u64, &RunView> = fleet.emulated.iter().map(|r| (r.id, r)).collect();
    let mut claimed = BTreeSet::new();
    for i in 0..SERVICES {
        let name = service(i);
        let entry = &fleet.runs[&name];
        let id = entry["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} has a run id: {}", fleet.runs));
        assert!(
            claimed.insert(id),
            "{name} shares run {id} with another service"
        );
        let run = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("{name}'s run {id} exists"));
        assert_eq!(
            run.inputs.get("service"),
            Some(&name),
            "{name} awaited run {id}, dispatched for another service ({})",
            run.display_title
        );
        assert_eq!(run.inputs.get("version"), Some(&version(i)), "{name}");
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{name}");
        assert!(
            entry["url"]
                .as_str()
                .is_some_and(|u| u.ends_with(&format!("/actions/runs/{id}"))),
            "{name}: {entry}"
        );
    }
    assert_eq!(fleet.report["status"], "succeeded", "{}", fleet.report);
    let services = fleet.report["services"].as_array().expect("services");
    assert_eq!(services.len(), SERVICES);
    for s in services {
        assert_eq!(s["outcome"], "succeeded", "{s}");
    }
    let lists = fleet.requests.iter().filter(|r| is_list(r)).count();
    let singles: Vec<&str> = fleet
        .requests
        .iter()
        .filter(|r| is_single_run(r))
        .map(|r| r.path.as_str())
        .collect();
    assert!(singles.is_empty(), "one GET per run: {singles:?}");
    // One poll covers all fifty runs: the whole release (under 4 s of runs, 1 s between polls
    // at first) needs a handful of list reads, never one per run.
    assert!(
        (1..SERVICES).contains(&lists),
        "{lists} list requests for {SERVICES} runs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_dispatches_with_run_details_each_await_their_own_run() {
    let fleet = release(false, false).await;
    assert_each_service_awaited_its_own_run(&fleet);
    // The id came with each dispatch: no `orchestrate_id` was needed or sent.
    assert!(
        fleet
            .emulated
            .iter()
            .all(|r| !r.inputs.contains_key("orchestrate_id")),
        "no correlation id without need"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_dispatches_without_run_details_each_find_their_own_run_by_correlation() {
    let fleet = release(true, true).await;
    assert_each_service_awaited_its_own_run(&fleet);
    // Each run was found by its own id: distinct ids, each in that run's title.
    let ids: BTreeSet<&str> = fleet
        .emulated
        .iter()
        .map(|r| {
            let id = r
                .inputs
                .get("orchestrate_id")
                .unwrap_or_else(|| panic!("run {} carries a correlation id", r.id));
            assert!(r.display_title.contains(&format!("[{id}]")), "{r:?}");
            id.as_str()
        })
        .collect();
    assert_eq!(ids.len(), SERVICES, "one correlation id per dispatch");
    // The host refused `return_run_details`, so no dispatch answered with the run.
    let refused = fleet
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path_only().ends_with("/dispatches") && r.status == 400)
        .count();
    assert!(refused >= 1, "the old-GHES refusal was met");
    assert_eq!(
        dispatches(&fleet, |status| status == 200),
        0,
        "no dispatch answered with its run: each was found by correlation"
    );
}
