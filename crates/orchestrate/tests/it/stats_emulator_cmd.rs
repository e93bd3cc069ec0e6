//! Issue 10's stats acceptance with the real commands: `orchestrate emulator` started as a
//! child process, three `orchestrate run` releases against it (two verified, the third fails
//! web's health check and rolls api back), then `orchestrate stats --env staging`. Its JSON
//! parses and its figures are those of the releases that ran, checked against the manifests
//! the releases wrote: outcomes, durations (their whole seconds, as the registry records
//! them), health verdicts and the hand-offs from api verified to web dispatched.

use std::path::Path;

use orchestrate_core::artifact::Manifest;
use orchestrate_core::stats::percentile;
use orchestrate_emulator::DEFAULT_TOKEN;
use serde_json::Value;

use crate::emulator_cmd::serve;
use crate::stats_cmd::{RELEASED, close};
use crate::support::{Output, run_in};

/// Runs take 1 s queued and 2 s in progress, at ten times real speed; web 2.2.0 answers 503.
const SCENARIO: &str = r#"speed: 10
repos:
  - name: acme/api
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 1s, in_progress: 2s }
  - name: acme/web
    workflows:
      - file: deploy.yml
        inputs: { version: { required: true } }
        behaviour: { queued: 1s, in_progress: 2s }
  - name: acme/release
health:
  - { service: api, repo: acme/api, workflow: deploy.yml }
  - { service: web, repo: acme/web, workflow: deploy.yml, unhealthy_versions: ["2.2.0"] }
"#;

fn orchestrate(dir: &Path, url: &str, args: &[&str]) -> Output {
    let env = [
        ("GITHUB_API_URL", url),
        ("ORCHESTRATE_TOKEN", DEFAULT_TOKEN),
        ("GITHUB_REPOSITORY", "acme/release"),
    ];
    run_in(dir, args, &env)
}

/// Every manifest the releases wrote to `--manifest-dir` (the `github` store outside Actions).
fn manifests(dir: &Path) -> Vec<Manifest> {
    let releases = dir.join(".orchestrate/manifests/shop/staging");
    let mut out: Vec<Manifest> = std::fs::read_dir(&releases)
        .expect("the releases' manifests")
        .map(|entry| {
            let path = entry.expect("an entry").path().join("manifest.json");
            Manifest::parse(&std::fs::read(&path).expect("a manifest")).expect("it parses")
        })
        .collect();
    out.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    out
}

#[test]
fn stats_after_releases_on_the_emulator_command_match_what_ran() {
    let scenario = tempfile::NamedTempFile::new().expect("a scenario file");
    std::fs::write(scenario.path(), SCENARIO).expect("written");
    let path = scenario.path().to_str().expect("utf-8");
    let (_served, url) = serve(&["--scenario", path]);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(".github")).expect("mkdir");
    std::fs::write(
        dir.path().join(".github/orchestrate.yml"),
        RELEASED.replace("EMULATOR", &url),
    )
    .expect("plan");
    let mut codes = Vec::new();
    for versions in [
        "{api: 1.0.0, web: 2.0.0}",
        "{api: 1.1.0, web: 2.1.0}",
        "{api: 1.2.0, web: 2.2.0}",
    ] {
        let release = orchestrate(
            dir.path(),
            &url,
            &["run", "--env", "staging", "--versions", versions],
        );
        codes.push((release.code, release.stderr));
    }
    assert_eq!(
        codes.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![0, 0, 1],
        "the third release fails web's health check: {codes:?}"
    );
    let ran = manifests(dir.path());
    let statuses: Vec<&str> = ran.iter().map(|m| m.status.as_str()).collect();
    assert_eq!(statuses, ["succeeded", "succeeded", "rolled_back"]);

    let json = orchestrate(
        dir.path(),
        &url,
        &["stats", "--env", "staging", "--format", "json"],
    );
    assert_eq!(json.code, 0, "{json:?}");
    let report: Value = serde_json::from_str(&json.stdout).expect("--format json parses");
    let (s, m) = (&report["summary"], &report["manifests"]);
    let f = &s["figures"];
    assert_eq!(
        (
            s["deployments"].as_u64(),
            s["unsettled"].as_u64(),
            s["releases"].as_u64()
        ),
        (Some(6), Some(0), Some(3)),
        "{report}"
    );
    assert_eq!(
        (m["read"].as_u64(), m["missing"].as_u64()),
        (Some(3), Some(0)),
        "{m}"
    );
    assert_eq!(
        (
            f["succeeded"].as_u64(),
            f["failed"].as_u64(),
            f["rolled_back"].as_u64()
        ),
        (Some(4), Some(1), Some(1)),
        "{f}"
    );
    assert_eq!(
        (
            f["releases_succeeded"].as_u64(),
            f["releases_failed"].as_u64(),
            f["releases_rolled_back"].as_u64()
        ),
        (Some(2), Some(0), Some(1)),
        "{f}"
    );
    assert!(close(&f["change_failure_rate"], 1.0 / 3.0), "{f}");
    assert_eq!(
        (f["restored"].as_u64(), f["unrestored"].as_u64()),
        (Some(1), Some(0)),
        "{f}"
    );

    // Durations: each service's dispatch → settled, in the whole seconds the registry has.
    let durations: Vec<i64> = ran
        .iter()
        .flat_map(|m| m.performance.services.values())
        .map(|t| t.duration_secs.expect("every service ran").floor() as i64)
        .collect();
    assert_eq!(durations.len(), 6);
    let sum: i64 = durations.iter().sum();
    assert!(
        close(&f["duration_avg"], sum as f64 / 6.0),
        "{f} vs {durations:?}"
    );
    assert_eq!(
        f["duration_p50"].as_i64(),
        percentile(&durations, 50),
        "{f}"
    );
    assert_eq!(
        f["duration_p90"].as_i64(),
        percentile(&durations, 90),
        "{f}"
    );

    // Health: every service checked, all passed but web 2.2.0.
    let verdicts: Vec<bool> = ran
        .iter()
        .flat_map(|m| m.services.values())
        .map(|s| s.health == orchestrate_core::artifact::kinds::HealthState::Passed)
        .collect();
    assert_eq!(verdicts.iter().filter(|p| **p).count(), 5);
    assert_eq!(
        (f["health_checked"].as_u64(), f["health_passed"].as_u64()),
        (Some(6), Some(5)),
        "{f}"
    );

    // Hand-offs: web dispatched after api verified, in every release, to the millisecond.
    let hand_offs: Vec<f64> = ran
        .iter()
        .map(|m| {
            let t = &m.performance.services;
            let web = t["web"].dispatched_secs.expect("web dispatched");
            let api = t["api"].settled_secs.expect("api settled");
            assert!(web >= api, "web waits for api: {t:?}");
            web - api
        })
        .collect();
    assert_eq!(f["coordination_pairs"].as_u64(), Some(3), "{f}");
    let avg = hand_offs.iter().sum::<f64>() / 3.0;
    let max = hand_offs.iter().copied().fold(0.0, f64::max);
    assert!(
        close(&f["coordination_latency_avg"], avg),
        "{f} vs {hand_offs:?}"
    );
    assert!(
        close(&f["coordination_latency_max"], max),
        "{f} vs {hand_offs:?}"
    );

    let table = orchestrate(dir.path(), &url, &["stats", "--env", "staging"]);
    assert_eq!(table.code, 0, "{table:?}");
    for line in [
        "Counted: 6 deployments of 2 services in 2 repositories, 3 releases",
        "Manifests: 3 read from directory .orchestrate/manifests (0 releases without one)",
        "succeeded                 4  66.7 %",
        "rolled back               1  16.7 %",
        "health checks          5 of 6 passed  83.3 %",
        "(3 hand-offs)",
        "change failure rate    33.3 %  (0 failed, 1 rolled back, of 3 releases)",
        "time to restore        avg ",
    ] {
        assert!(
            table.stdout.contains(line),
            "no `{line}` in\n{}",
            table.stdout
        );
    }
}
