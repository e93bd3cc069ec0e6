//! Hand-made run reports of typical releases (a success, a failure with rollback, a
//! health-check failure), with fixed times, for tests of the messages and their transports.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::plan::Strategy;
use crate::report::{
    ApiStats, ApprovalReport, ApprovalState, FailureDetail, HealthVerdict, ReleaseStatus,
    RollbackOutcome, RollbackReport, RunRef, RunReport, ServiceOutcome, ServiceReport,
};

/// 2026-01-01T00:00:00Z.
pub fn epoch() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

fn run(repo: &str, id: u64, conclusion: &str) -> RunRef {
    RunRef {
        id,
        url: format!("https://github.com/{repo}/actions/runs/{id}"),
        conclusion: Some(conclusion.to_owned()),
    }
}

fn service(name: &str, repo: &str, from: &str, to: Option<&str>, wave: usize) -> ServiceReport {
    ServiceReport {
        name: name.to_owned(),
        repo: repo.to_owned(),
        from_version: Some(from.to_owned()),
        to_version: to.map(str::to_owned),
        needs: if wave == 0 {
            vec![]
        } else {
            vec!["backend".to_owned()]
        },
        wave,
        irreversible: name == "android",
        run: None,
        queued: None,
        duration: None,
        dispatched: None,
        settled: None,
        health: HealthVerdict::NotChecked,
        outcome: ServiceOutcome::NotInRelease,
        failure: None,
        artifacts: Vec::new(),
        approvals: Vec::new(),
    }
}

fn base(status: ReleaseStatus, environment: &str, deployment_id: &str) -> RunReport {
    RunReport {
        plan: "pratiko".to_owned(),
        deployment_id: deployment_id.to_owned(),
        environment: environment.to_owned(),
        strategy: Strategy::Canary,
        status,
        dry_run: false,
        started_at: epoch(),
        finished_at: epoch() + Duration::from_secs(754),
        orchestrator_run_url: Some(
            "https://github.com/mickgian/release/actions/runs/9001".to_owned(),
        ),
        services: Vec::new(),
        compatibility: Vec::new(),
        rollbacks: Vec::new(),
        timeline: Vec::new(),
        api: ApiStats::default(),
        notifications: Vec::new(),
        error: None,
        manifest: None,
    }
}

const BE: &str = "mickgian/PratikoAi-BE";
const KMP: &str = "mickgian/PratikoAi-KMP";

/// Backend, web and android deployed to production; ios not in the release.
pub fn success() -> RunReport {
    let mut r = base(ReleaseStatus::Succeeded, "production", "1042");
    let mut backend = service("backend", BE, "1.2.0", Some("1.3.0"), 0);
    backend.run = Some(run(BE, 501, "success"));
    backend.health = HealthVerdict::Passed { attempts: 2 };
    backend.outcome = ServiceOutcome::Succeeded;
    let mut web = service("web", KMP, "2.0.0", Some("2.1.0"), 1);
    web.run = Some(run(KMP, 502, "success"));
    web.health = HealthVerdict::NoCheck;
    web.outcome = ServiceOutcome::Succeeded;
    let mut android = service("android", KMP, "2.0.0", Some("2.1.0"), 1);
    android.run = Some(run(KMP, 503, "success"));
    android.health = HealthVerdict::NoCheck;
    android.outcome = ServiceOutcome::Succeeded;
    let ios = service("ios", KMP, "2.0.0", None, 1);
    r.services = vec![backend, web, android, ios];
    r
}

/// Production: backend deployed, android published (irreversible, so halted rather than
/// rolled back), web's upload failed, and backend was rolled back to 1.2.0.
pub fn failure_with_rollback() -> RunReport {
    let mut r = base(ReleaseStatus::RolledBack, "production", "1043");
    let mut backend = service("backend", BE, "1.2.0", Some("1.3.0"), 0);
    backend.run = Some(run(BE, 511, "success"));
    backend.health = HealthVerdict::Passed { attempts: 1 };
    backend.outcome = ServiceOutcome::RolledBack;
    let mut android = service("android", KMP, "2.0.0", Some("2.1.0"), 1);
    android.run = Some(run(KMP, 512, "success"));
    android.health = HealthVerdict::NoCheck;
    android.outcome = ServiceOutcome::Halted;
    let mut web = service("web", KMP, "2.0.0", Some("2.1.0"), 1);
    web.run = Some(run(KMP, 513, "failure"));
    web.outcome = ServiceOutcome::Failed;
    web.failure = Some(FailureDetail {
        job: Some("deploy".to_owned()),
        step: Some("Upload to CDN".to_owned()),
        job_url: Some(format!(
            "https://github.com/{KMP}/actions/runs/513/job/7001"
        )),
        message: "Process completed with exit code 1: <bucket> denied & not retried".to_owned(),
    });
    r.services = vec![backend, android, web];
    r.rollbacks = vec![RollbackReport {
        service: "backend".to_owned(),
        to_version: Some("1.2.0".to_owned()),
        run: Some(run(BE, 521, "success")),
        outcome: RollbackOutcome::Succeeded,
        reason: None,
        source: None,
    }];
    r
}

/// Staging: backend's run succeeded but its health check kept serving the old version; its
/// rollback run failed too, and the frontends never started.
pub fn health_check_failure() -> RunReport {
    let mut r = base(ReleaseStatus::Failed, "staging", "1044");
    let mut backend = service("backend", BE, "1.2.0", Some("1.3.0"), 0);
    backend.run = Some(run(BE, 531, "success"));
    backend.health = HealthVerdict::Failed {
        attempts: 12,
        reason: "expected json.version \"1.3.0\", got \"1.2.0\"".to_owned(),
    };
    backend.outcome = ServiceOutcome::Failed;
    let mut web = service("web", KMP, "2.0.0", Some("2.1.0"), 1);
    web.outcome = ServiceOutcome::Skipped;
    let mut android = service("android", KMP, "2.0.0", Some("2.1.0"), 1);
    android.outcome = ServiceOutcome::Skipped;
    r.services = vec![backend, web, android];
    r.rollbacks = vec![RollbackReport {
        service: "backend".to_owned(),
        to_version: Some("1.2.0".to_owned()),
        run: Some(run(BE, 541, "failure")),
        outcome: RollbackOutcome::Failed,
        reason: Some("rollback run concluded failure".to_owned()),
        source: None,
    }];
    r
}

/// Production, under way: backend's run waits for a reviewer of `production` (its run is the
/// one to review).
pub fn approval_required() -> RunReport {
    let mut r = base(ReleaseStatus::InProgress, "production", "1045");
    let mut backend = service("backend", BE, "1.2.0", Some("1.3.0"), 0);
    backend.run = Some(RunRef {
        conclusion: None,
        ..run(BE, 541, "success")
    });
    backend.outcome = ServiceOutcome::Planned;
    backend.approvals = vec![ApprovalReport {
        environments: vec!["production".to_owned()],
        reviewers: vec!["alice".to_owned(), "mickgian/release-managers".to_owned()],
        wait_timer: None,
        state: ApprovalState::Waiting,
        by: None,
        comment: None,
        auto_approved: false,
        waited: Some(Duration::ZERO),
        timeout: Some(Duration::from_secs(24 * 3600)),
    }];
    let mut web = service("web", KMP, "2.0.0", Some("2.1.0"), 1);
    web.outcome = ServiceOutcome::Planned;
    r.services = vec![backend, web];
    r
}

/// Production: backend deployed (approved by alice after 2 minutes), web's run rejected by
/// bob, backend rolled back.
pub fn approval_rejected() -> RunReport {
    let mut r = failure_with_rollback();
    r.deployment_id = "1046".to_owned();
    let gate = ApprovalReport {
        environments: vec!["production".to_owned()],
        reviewers: vec!["alice".to_owned(), "bob".to_owned()],
        wait_timer: None,
        state: ApprovalState::Approved,
        by: Some("alice".to_owned()),
        comment: Some("Ship it".to_owned()),
        auto_approved: false,
        waited: Some(Duration::from_secs(120)),
        timeout: Some(Duration::from_secs(24 * 3600)),
    };
    r.services[0].approvals = vec![gate.clone()];
    r.services.retain(|s| s.name != "android");
    let web = &mut r.services[1];
    web.failure = Some(FailureDetail {
        job: None,
        step: None,
        job_url: None,
        message: "rejected by bob in production: not today".to_owned(),
    });
    web.approvals = vec![ApprovalReport {
        state: ApprovalState::Rejected,
        by: Some("bob".to_owned()),
        comment: Some("not today".to_owned()),
        waited: Some(Duration::from_secs(45)),
        ..gate
    }];
    r
}
