//! `orchestrate rehearse` end to end: the built binary runs the reference plan on the built-in
//! emulator under each strategy and each shipped failure scenario, and exits like a real run.
//! The scenarios are copied with a higher `speed` so the suite stays quick.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{self, Output, reference_plan, repo_root, run, service};

/// The shipped scenario `name`, sped up to 600x, in a temp dir.
fn fast_scenario(name: &str) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(repo_root().join(format!("examples/scenarios/{name}.yml")))
        .expect("scenario");
    let text = text.replace("speed: 120", "speed: 600");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.yml"));
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

fn rehearse(scenario: &str, extra: &[&str]) -> (Output, Value, String) {
    let (dir, path) = fast_scenario(scenario);
    let summary = dir.path().join("summary.md");
    let mut args = vec![
        "rehearse",
        reference_plan(),
        "--scenario",
        path.to_str().expect("utf-8"),
        "--format",
        "json",
        "--summary-file",
        summary.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, &[]);
    let report: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("report JSON: {e}\n{out:?}"));
    let summary = std::fs::read_to_string(summary).unwrap_or_default();
    (out, report, summary)
}

fn outcome(report: &Value, service: &str) -> String {
    support::service(report, service)["outcome"]
        .as_str()
        .unwrap_or_else(|| panic!("{service} has no outcome"))
        .to_owned()
}

/// Position in the timeline of the canary's bake (the entry that says it was verified).
fn bake_started(report: &Value) -> usize {
    report["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .position(|e| {
            e["what"]
                .as_str()
                .is_some_and(|w| w.starts_with("canary verified"))
        })
        .expect("a bake started")
}

/// Position in the timeline of the first entry about `service` containing `what`.
fn when(report: &Value, service: &str, what: &str) -> usize {
    report["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .position(|e| {
            e["service"] == service && e["what"].as_str().is_some_and(|w| w.starts_with(what))
        })
        .unwrap_or_else(|| panic!("no `{what}` for {service}"))
}

const FRONTENDS: [&str; 4] = ["android", "ios", "web", "desktop"];

#[test]
fn the_reference_plan_succeeds_under_each_strategy_in_the_right_order() {
    for strategy in ["sequential", "parallel", "canary"] {
        let (out, report, summary) = rehearse("happy", &["--strategy", strategy]);
        assert_eq!(out.code, 0, "{strategy}: {}", out.stderr);
        assert_eq!(report["status"], "succeeded", "{strategy}");
        assert!(
            summary.contains("```mermaid"),
            "{strategy}: summary has the graph"
        );
        let backend_verified = when(&report, "backend", "verified");
        for s in FRONTENDS {
            assert_eq!(outcome(&report, s), "succeeded", "{strategy}: {s}");
            assert!(
                when(&report, s, "dispatching") > backend_verified,
                "{strategy}: {s} waits for backend"
            );
        }
        let dispatches: Vec<usize> = FRONTENDS
            .iter()
            .map(|s| when(&report, s, "dispatching"))
            .collect();
        match strategy {
            "sequential" => {
                // One at a time, in file order: each dispatch after the previous one settled.
                for pair in FRONTENDS.windows(2) {
                    assert!(
                        when(&report, pair[1], "dispatching")
                            > when(&report, pair[0], "run succeeded"),
                        "{pair:?}"
                    );
                }
            }
            "parallel" => {
                let last_settled = FRONTENDS
                    .iter()
                    .map(|s| when(&report, s, "run succeeded"))
                    .min()
                    .expect("four");
                assert!(
                    dispatches.iter().all(|d| *d < last_settled),
                    "all four in flight together"
                );
            }
            _ => {
                let bake = bake_started(&report);
                assert!(when(&report, "web", "verified") < bake);
                for s in ["android", "ios", "desktop"] {
                    assert!(when(&report, s, "dispatching") > bake, "{s} after the bake");
                }
            }
        }
    }
}

#[test]
fn backend_never_healthy_stops_everything_and_rolls_it_back() {
    let (out, report, summary) = rehearse("backend-unhealthy", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["status"], "rolled_back");
    assert_eq!(outcome(&report, "backend"), "failed");
    for s in FRONTENDS {
        assert_eq!(outcome(&report, s), "skipped", "{s}");
    }
    assert_eq!(report["rollbacks"][0]["service"], "backend");
    assert_eq!(report["rollbacks"][0]["outcome"], "succeeded");
    assert!(summary.contains("expected `1.3.0`"), "{summary}");
}

#[test]
fn android_failing_in_upload_names_job_and_step_cancels_and_rolls_back() {
    let (out, report, summary) = rehearse("android-upload-fails", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(outcome(&report, "android"), "failed");
    let android = service(&report, "android");
    assert_eq!(android["failure"]["job"], "publish");
    assert_eq!(android["failure"]["step"], "upload");
    assert!(summary.contains("step `upload`"), "{summary}");
    // ios (8m) was still running when android (6m) failed: cancelled; desktop (4m) had
    // succeeded: rolled back, as were web and backend.
    assert_eq!(outcome(&report, "ios"), "cancelled");
    let ios = &service(&report, "ios")["run"];
    assert_eq!(
        ios["conclusion"], "cancelled",
        "the cancel reached the emulator and the run was followed until it stopped: {ios}"
    );
    for s in ["desktop", "web", "backend"] {
        assert_eq!(outcome(&report, s), "rolled_back", "{s}");
    }
    // Reverse order of run success: web (2m) and desktop (4m) after the backend.
    let order: Vec<&str> = report["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .filter_map(|r| r["service"].as_str())
        .collect();
    assert_eq!(
        order,
        ["desktop", "web", "backend"],
        "{}",
        report["rollbacks"]
    );
    assert!(
        out.stderr.contains("android: job `publish`, step `upload`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_failed_canary_skips_the_rest_and_rolls_back_the_backend() {
    let (out, report, summary) = rehearse("canary-fails", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(outcome(&report, "web"), "failed");
    for s in ["android", "ios", "desktop"] {
        assert_eq!(outcome(&report, s), "skipped", "{s}");
    }
    assert_eq!(outcome(&report, "backend"), "rolled_back");
    assert!(summary.contains("step `Smoke test`"), "{summary}");
}

#[test]
fn a_canary_that_turns_unhealthy_during_the_bake_fails_and_the_rest_never_deploys() {
    let (out, report, summary) = rehearse("canary-degrades", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    // Verified first, then failed by a check made during the bake.
    let bake = bake_started(&report);
    assert!(when(&report, "web", "verified") < bake);
    assert!(when(&report, "web", "failed: unhealthy during the bake") > bake);
    assert_eq!(outcome(&report, "web"), "failed");
    for s in ["android", "ios", "desktop"] {
        assert_eq!(outcome(&report, s), "skipped", "{s}");
    }
    assert_eq!(outcome(&report, "backend"), "rolled_back");
    let web = service(&report, "web");
    assert!(
        web["failure"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("during the canary bake") && m.contains("503")),
        "{web}"
    );
    assert!(summary.contains("during the canary bake"), "{summary}");
}

#[test]
fn a_flaky_api_is_retried_and_the_release_succeeds() {
    let (out, report, _) = rehearse("flaky-api", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(report["status"], "succeeded");
    assert!(report["api"]["requests"].as_u64().is_some_and(|n| n > 0));
}

/// The backend's first dispatch created a run that the lists show only 10 minutes later;
/// orchestrate dispatched again, awaited the second run, and cancelled the first when it
/// appeared, saying so in the timeline and the summary. The release still succeeds.
#[test]
fn a_late_duplicate_run_is_cancelled_and_shown_in_the_timeline() {
    let (out, report, summary) = rehearse("duplicate-run", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(report["status"], "succeeded");
    let entries: Vec<&str> = report["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["service"] == "backend")
        .filter_map(|e| e["what"].as_str())
        .filter(|w| w.starts_with("duplicate run: "))
        .collect();
    assert_eq!(entries.len(), 1, "{:#?}", report["timeline"]);
    let kept = support::service(&report, "backend")["run"]["id"]
        .as_u64()
        .expect("backend's run");
    let entry = entries[0];
    assert!(
        entry.ends_with(&format!(
            "carries the same correlation id as run {kept} (cancelled)"
        )),
        "{entry}"
    );
    // The duplicate is the other run: the first one dispatched (lower id).
    let duplicate: u64 = entry
        .split("/actions/runs/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .expect("the duplicate's run id");
    assert!(duplicate < kept, "{entry}");
    assert!(summary.contains("duplicate run: "), "{summary}");
}

#[test]
fn a_release_timeout_during_the_bake_ends_the_canary_watch() {
    // Built-in speed (120x): the 7m limit lands during web's bake, before web degrades; the
    // bake's health watch must stop there, not fail web while it is being rolled back.
    let out = run(
        &[
            "rehearse",
            reference_plan(),
            "--scenario",
            "canary-degrades",
            "--timeout",
            "7m",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    let report: Value = serde_json::from_str(out.stdout.trim()).expect("report JSON");
    let timeline = report["timeline"].as_array().expect("timeline");
    let limit = timeline
        .iter()
        .position(|e| e["what"].as_str().is_some_and(|w| w.contains("time limit")))
        .expect("the limit passed");
    assert!(when(&report, "web", "verified") < limit, "the bake was on");
    assert_eq!(outcome(&report, "web"), "rolled_back");
    let web = service(&report, "web");
    assert!(web["failure"].is_null(), "{web}");
    assert!(
        !out.stderr.contains("unhealthy during the bake"),
        "{}",
        out.stderr
    );
}

/// The "Wait" column is the time a run spent queued (backend: 10 s in the scenario), observed
/// by the driver, not GitHub's `run_started_at − created_at` (which is ~0 on GitHub).
#[test]
fn the_wait_column_shows_how_long_a_run_was_queued() {
    let (out, report, summary) = rehearse("happy", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let backend = support::service(&report, "backend");
    let queued = backend["queued"]
        .as_f64()
        .expect("backend has a queued time");
    let duration = backend["duration"]
        .as_f64()
        .expect("backend has a duration");
    assert!(
        queued >= 9.0,
        "backend queued {queued}s, the scenario queues it 10s"
    );
    assert!(
        queued < duration,
        "queued {queued}s within a {duration}s deploy"
    );
    let row = summary
        .lines()
        .find(|l| l.starts_with("| backend |"))
        .unwrap_or_default();
    assert!(!row.contains("| <1s |"), "{row}");
}

#[test]
fn the_approval_scenario_shows_the_wait_and_who_approved_after_how_long() {
    let (out, report, summary) = rehearse("approval", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("waiting for approval in production (reviewers: alice, bob) http"),
        "{}",
        out.stderr
    );
    let gate = &support::service(&report, "backend")["approvals"][0];
    assert_eq!(gate["state"], "approved", "{gate}");
    assert_eq!(gate["by"], "alice");
    // The wait is seen begin and end by polls: to within one poll at each end. Here (600x,
    // the rehearsal's first polls 100 ms apart) one poll is 60 s of GitHub time.
    let waited = gate["waited"].as_f64().expect("waited");
    assert!(
        (120.0 - 65.0..=120.0 + 65.0).contains(&waited),
        "alice approved 2m after the wait began, seen to within a poll at each end: {waited}"
    );
    assert!(summary.contains("### Approvals"), "{summary}");
    assert!(
        summary.contains("| backend | `production` | alice, bob |")
            && summary.contains("✅ approved by alice: “Ship it”"),
        "{summary}"
    );
    assert!(when(&report, "backend", "approved") < when(&report, "backend", "run succeeded"));
    // The example plan sends approval_required to Slack while the release runs.
    assert!(
        out.stderr.contains(
            "would notify slack: approval_required\nwould notify slack: deployment_succeeded"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn the_rejected_approval_scenario_names_the_reviewer_and_rolls_back() {
    let (out, report, summary) = rehearse("approval-rejected", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(report["status"], "rolled_back");
    let web = support::service(&report, "web");
    assert_eq!(web["outcome"], "failed");
    assert_eq!(
        web["failure"]["message"],
        "rejected by bob in production: not during the sale"
    );
    assert_eq!(web["approvals"][0]["state"], "rejected");
    assert_eq!(outcome(&report, "backend"), "rolled_back");
    for s in ["android", "ios", "desktop"] {
        assert_eq!(outcome(&report, s), "skipped", "{s}");
    }
    assert!(
        summary.contains("- **web**: rejected by bob in production: not during the sale"),
        "{summary}"
    );
    assert!(
        summary.contains("❌ rejected by bob: “not during the sale”"),
        "{summary}"
    );
}
