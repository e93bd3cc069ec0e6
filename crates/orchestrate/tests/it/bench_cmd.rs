//! `orchestrate bench --quick`: a smoke test of the benchmark's machinery (real time at a
//! tenth of the scale). Its figures are not checked against the targets (this machine is
//! shared and noisy; the benchmark itself is the judge), only for being what was measured:
//! every run detected, request counts that add up with the emulator's log.

use serde_json::Value;

use crate::support::run;

#[test]
fn the_quick_bench_measures_every_case_from_the_request_log() {
    let out = run(
        &["bench", "--quick", "--case", "a,c,d", "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cases: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let cases = cases.as_array().expect("a list of cases");
    let letters: Vec<&str> = cases.iter().filter_map(|c| c["case"].as_str()).collect();
    assert_eq!(letters, ["a", "c", "d"]);
    for case in cases {
        let runs = case["runs"].as_u64().expect("runs");
        let repos = case["repositories"].as_u64().expect("repositories");
        let expected = if case["case"] == "c" { 50 } else { 3 };
        assert_eq!(runs, expected, "{case}");
        // One dispatch per run, every one answered 200 with run details.
        let dispatches =
            &case["log"]["POST /repos/{o}/{r}/actions/workflows/deploy.yml/dispatches"];
        assert_eq!(dispatches["200"].as_u64(), Some(runs), "{case}");
        // One history list per repository (the workflow's, read once for all its runs).
        assert_eq!(case["awaiting"]["history"].as_u64(), Some(repos), "{case}");
        let history = &case["log"]["GET /repos/{o}/{r}/actions/workflows/deploy.yml/runs"];
        assert_eq!(history["200"].as_u64(), Some(repos), "{case}");
        // Awaiting = the run lists plus the history lists, and nothing else in the log polls.
        let lists: u64 = case["log"]["GET /repos/{o}/{r}/actions/runs"]
            .as_object()
            .expect("run lists were read")
            .values()
            .filter_map(Value::as_u64)
            .sum();
        let awaiting = &case["awaiting"];
        assert_eq!(awaiting["total"].as_u64(), Some(lists + repos), "{case}");
        let total = awaiting["total"].as_u64().expect("total");
        let counted = awaiting["counted"].as_u64().expect("counted");
        let not_modified = awaiting["not_modified"].as_u64().expect("304s");
        assert_eq!(counted + not_modified, total, "{case}");
        let per_run = case["per_run"]["total"].as_f64().expect("per run");
        assert!(
            (per_run - total as f64 / runs as f64).abs() < 1e-9,
            "{case}"
        );
        let d = &case["detection_ms"];
        assert!(d["p50"].as_u64() <= d["p95"].as_u64() && d["p95"].as_u64() <= d["max"].as_u64());
    }
    // Case c awaits 50 runs in 5 repositories with one list request per repository and tick:
    // far fewer requests than runs would each cost alone.
    let c = &cases[1];
    assert!(
        c["per_run"]["total"].as_f64() < cases[0]["per_run"]["total"].as_f64(),
        "{c}"
    );
}
