//! Snapshot tests of the renderers over hand-made reports.

use std::time::{Duration, SystemTime};

use super::*;
use crate::notify::rule::{Channel, Event};
use crate::plan::Strategy;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

fn service(name: &str, needs: &[&str], outcome: ServiceOutcome, run: Option<u64>) -> ServiceReport {
    ServiceReport {
        name: name.to_owned(),
        repo: if name == "backend" {
            "mickgian/PratikoAi-BE"
        } else {
            "mickgian/PratikoAi-KMP"
        }
        .to_owned(),
        from_version: Some(if name == "backend" { "1.1.0" } else { "2.0.0" }.to_owned()),
        to_version: Some(if name == "backend" { "1.2.0" } else { "2.1.0" }.to_owned()),
        needs: needs.iter().map(|s| (*s).to_owned()).collect(),
        wave: usize::from(!needs.is_empty()),
        irreversible: matches!(name, "android" | "ios"),
        run: run.map(|id| RunRef {
            id,
            url: format!("https://github.com/mickgian/repo/actions/runs/{id}"),
            conclusion: Some(
                if outcome == ServiceOutcome::Failed {
                    "failure"
                } else {
                    "success"
                }
                .to_owned(),
            ),
        }),
        queued: run.map(|_| Duration::from_secs(4)),
        duration: run.map(|_| Duration::from_secs(185)),
        dispatched: None,
        settled: None,
        health: match outcome {
            ServiceOutcome::Succeeded | ServiceOutcome::RolledBack | ServiceOutcome::Halted => {
                HealthVerdict::Passed { attempts: 2 }
            }
            _ => HealthVerdict::NotChecked,
        },
        outcome,
        failure: None,
        artifacts: Vec::new(),
        approvals: Vec::new(),
    }
}

pub(crate) fn succeeded() -> RunReport {
    let fronts = ["android", "ios", "web", "desktop"];
    let mut services = vec![service(
        "backend",
        &[],
        ServiceOutcome::Succeeded,
        Some(101),
    )];
    for (i, f) in fronts.iter().enumerate() {
        services.push(service(
            f,
            &["backend"],
            ServiceOutcome::Succeeded,
            Some(200 + i as u64),
        ));
    }
    RunReport {
        plan: "pratiko".to_owned(),
        deployment_id: "9001".to_owned(),
        environment: "production".to_owned(),
        strategy: Strategy::Canary,
        status: ReleaseStatus::Succeeded,
        dry_run: false,
        started_at: at(0),
        finished_at: at(754),
        orchestrator_run_url: Some("https://github.com/pratiko/release/actions/runs/77".to_owned()),
        services,
        compatibility: vec![CompatVerdict {
            service: "android".to_owned(),
            requires: "backend".to_owned(),
            range: ">=1.2, <2".to_owned(),
            against: Some("1.2.0".to_owned()),
            status: CompatStatus::Ok,
            state: None,
        }],
        rollbacks: vec![],
        timeline: vec![
            TimelineEntry {
                at: at(1),
                service: Some("backend".to_owned()),
                what: "dispatched".to_owned(),
            },
            TimelineEntry {
                at: at(190),
                service: Some("backend".to_owned()),
                what: "healthy on 1.2.0".to_owned(),
            },
        ],
        api: ApiStats {
            requests: 48,
            counted: 31,
            not_modified: 17,
            rate_limit_remaining: Some(4969),
        },
        notifications: vec![],
        error: None,
        manifest: None,
    }
}

pub(crate) fn rolled_back() -> RunReport {
    let mut r = succeeded();
    r.status = ReleaseStatus::RolledBack;
    r.services = vec![
        service("backend", &[], ServiceOutcome::RolledBack, Some(101)),
        service("android", &["backend"], ServiceOutcome::Halted, Some(200)),
        service("ios", &["backend"], ServiceOutcome::Failed, Some(201)),
        service("web", &["backend"], ServiceOutcome::Cancelled, Some(202)),
        service("desktop", &["backend"], ServiceOutcome::Skipped, None),
    ];
    r.services[2].failure = Some(FailureDetail {
        job: Some("release".to_owned()),
        step: Some("upload".to_owned()),
        job_url: Some(
            "https://github.com/mickgian/PratikoAi-KMP/actions/runs/201/job/5".to_owned(),
        ),
        message: "run concluded failure".to_owned(),
    });
    if let Some(run) = r.services[3].run.as_mut() {
        run.conclusion = Some("cancelled".to_owned());
    }
    // A problem of an earlier state names it.
    r.compatibility.push(CompatVerdict {
        service: "desktop".to_owned(),
        requires: "cdn".to_owned(),
        range: ">=1".to_owned(),
        against: None,
        status: CompatStatus::Unknown,
        state: Some("after wave 1".to_owned()),
    });
    r.rollbacks = vec![RollbackReport {
        service: "backend".to_owned(),
        to_version: Some("1.1.0".to_owned()),
        run: Some(RunRef {
            id: 301,
            url: "https://github.com/mickgian/PratikoAi-BE/actions/runs/301".to_owned(),
            conclusion: Some("success".to_owned()),
        }),
        outcome: RollbackOutcome::Succeeded,
        reason: None,
        source: Some(VersionSource::Manifest {
            deployment_id: "1000000004".to_owned(),
        }),
    }];
    r.manifest = Some(ManifestRecord {
        store: "github".to_owned(),
        location: "orchestrate-manifest-1000000007".to_owned(),
        artifact_id: Some(7_000_002),
        digest: Some("sha256:5d41402abc4b2a76b9719d911017c592".to_owned()),
        size: Some(4178),
        requests: 3,
        error: None,
    });
    r.notifications = vec![NotificationDelivery {
        channel: Channel::Slack,
        event: Event::DeploymentFailed,
        delivered: false,
        attempts: 3,
        error: Some("slack answered 500".to_owned()),
    }];
    r
}

#[test]
fn summary_of_a_successful_release() {
    insta::assert_snapshot!(summary::render(&succeeded()));
}

/// The successful release, its backend approved by a person, its web canary let through by a
/// wait timer, and its android release rejected (so the release was rolled back).
fn gated() -> RunReport {
    let mut r = succeeded();
    let gate = |environments: &[&str], reviewers: &[&str], state: ApprovalState| ApprovalReport {
        environments: environments.iter().map(|e| (*e).to_owned()).collect(),
        reviewers: reviewers.iter().map(|e| (*e).to_owned()).collect(),
        wait_timer: None,
        state,
        by: None,
        comment: None,
        auto_approved: false,
        waited: Some(Duration::from_secs(125)),
        timeout: Some(Duration::from_secs(24 * 3600)),
    };
    r.services[0].approvals = vec![ApprovalReport {
        by: Some("alice".to_owned()),
        comment: Some("Ship it | now".to_owned()),
        ..gate(
            &["production"],
            &["alice", "pratiko/releasers"],
            ApprovalState::Approved,
        )
    }];
    r.services[3].approvals = vec![ApprovalReport {
        wait_timer: Some(Duration::from_secs(300)),
        waited: Some(Duration::from_secs(300)),
        ..gate(&["production-web"], &[], ApprovalState::Passed)
    }];
    r.status = ReleaseStatus::RolledBack;
    r.services[0].outcome = ServiceOutcome::RolledBack;
    r.services[1].outcome = ServiceOutcome::Failed;
    r.services[1].failure = Some(FailureDetail {
        job: None,
        step: None,
        job_url: None,
        message: "rejected by bob in production: not today".to_owned(),
    });
    r.services[1].approvals = vec![ApprovalReport {
        by: Some("bob".to_owned()),
        comment: Some("not today".to_owned()),
        waited: Some(Duration::from_secs(40)),
        ..gate(&["production"], &["alice", "bob"], ApprovalState::Rejected)
    }];
    r.services[2].approvals = vec![gate(&["production"], &["alice"], ApprovalState::Waiting)];
    r.services[4].approvals = vec![ApprovalReport {
        waited: Some(Duration::from_secs(4 * 3600)),
        timeout: Some(Duration::from_secs(4 * 3600)),
        ..gate(&["production"], &["alice"], ApprovalState::TimedOut)
    }];
    r
}

#[test]
fn summary_of_a_release_with_approval_gates() {
    let summary = summary::render(&gated());
    assert!(summary.contains("approved by alice"), "{summary}");
    assert!(
        summary.contains("Ship it \\| now"),
        "a comment cannot break the table"
    );
    insta::assert_snapshot!(summary);
}

#[test]
fn the_json_report_carries_each_wait() {
    let json = serde_json::to_value(gated()).expect("serialises");
    let backend = &json["services"][0]["approvals"][0];
    assert_eq!(backend["state"], "approved");
    assert_eq!(backend["by"], "alice");
    assert_eq!(backend["waited"], 125.0);
    assert_eq!(json["services"][4]["approvals"][0]["state"], "timed_out");
}

#[test]
fn summary_of_a_rolled_back_release() {
    insta::assert_snapshot!(summary::render(&rolled_back()));
}

#[test]
fn outputs_of_a_rolled_back_release() {
    let outputs = outputs::render(&rolled_back());
    let names: Vec<_> = outputs.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "deployment_id",
            "status",
            "runs",
            "failed_services",
            "rolled_back_services",
            "manifest_artifact_id",
            "report"
        ]
    );
    let get = |k: &str| {
        outputs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("status"), "rolled_back");
    assert_eq!(get("failed_services"), r#"["ios"]"#);
    assert_eq!(get("rolled_back_services"), r#"["backend"]"#);
    assert_eq!(get("manifest_artifact_id"), "7000002");
    let runs: serde_json::Value = serde_json::from_str(&get("runs")).expect("runs is JSON");
    insta::assert_json_snapshot!(runs);
    let report: serde_json::Value = serde_json::from_str(&get("report")).expect("report is JSON");
    assert_eq!(report["started_at"], "2026-09-21T14:13:20Z");
    assert_eq!(report["services"][0]["duration"], 185.0);
}

#[test]
fn a_huge_summary_is_cut_with_a_marker_under_the_limit() {
    let mut r = succeeded();
    r.timeline = (0..40_000)
        .map(|i| TimelineEntry {
            at: at(i),
            service: Some(format!("svc-{i}")),
            what: "x".repeat(20),
        })
        .collect();
    let text = summary::render(&r);
    assert!(text.len() <= summary::SUMMARY_LIMIT, "{}", text.len());
    assert!(text.contains("Summary truncated"));
    assert!(text.starts_with("## ✅ Release `pratiko`"));
}

#[test]
fn truncation_respects_utf8_and_lines() {
    let text = "é\n".repeat(100);
    let cut = summary::truncate(text, 150);
    assert!(cut.len() <= 150);
    assert!(cut.contains("bytes omitted"));
}

#[test]
fn a_cut_inside_a_fence_closes_it_before_the_marker() {
    let text = format!("head\n```mermaid\n{}```\n", "  s0 --> s1\n".repeat(100));
    let cut = summary::truncate(text, 300);
    assert!(cut.len() <= 300, "{}", cut.len());
    let fences = cut.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "{cut}");
    assert!(
        cut.trim_end()
            .ends_with("The `report` output has everything.")
    );
}

#[test]
fn the_report_output_stays_under_its_limit_counted_in_utf16() {
    let mut r = rolled_back();
    // Wide characters: 1 UTF-16 unit but 3 UTF-8 bytes each; the limit is in UTF-16 units.
    if let Some(f) = r.services[2].failure.as_mut() {
        f.message = "故障".repeat(200_000);
    }
    r.timeline = (0..20_000)
        .map(|i| TimelineEntry {
            at: at(i),
            service: None,
            what: "dispatched a run".to_owned(),
        })
        .collect();
    let json = outputs::report_json(&r);
    assert!(json.encode_utf16().count() <= outputs::REPORT_OUTPUT_LIMIT);
    let value: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
    assert_eq!(value["status"], "rolled_back");
    assert_eq!(
        value["timeline"],
        serde_json::json!([]),
        "the timeline is dropped first"
    );
    assert_eq!(
        value["services"][2]["failure"]["message"], "",
        "then failure messages"
    );

    r.services = (0..5_000).map(|_| r.services[0].clone()).collect();
    let stub: serde_json::Value = serde_json::from_str(&outputs::report_json(&r)).expect("JSON");
    assert_eq!(stub["truncated"], true);
    assert_eq!(stub["status"], "rolled_back");
}

#[test]
fn a_failure_message_that_names_its_job_and_step_is_not_repeated() {
    let mut r = rolled_back();
    if let Some(f) = r.services[2].failure.as_mut() {
        f.message = "job `release`, step `upload`: failure".to_owned();
    }
    let text = summary::render(&r);
    let line = text
        .lines()
        .find(|l| l.starts_with("- **ios**"))
        .unwrap_or_default();
    assert_eq!(line.matches("upload").count(), 1, "{line}");
    assert!(
        line.contains("job `release`, step `upload`: failure"),
        "{line}"
    );
}
