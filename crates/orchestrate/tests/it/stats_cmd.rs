//! `orchestrate stats` through the built binary against an emulator whose registry holds a
//! recorded history (the scenario's `deployments` key, loaded from YAML) of 21 releases of
//! `api` and `web` over 21 days: 17 succeed, 2 fail web's health check and roll api back, 1
//! fails api's run (restored by the next release), 1 is in flight. The figures are the ones
//! worked out by hand in `orchestrate_core::stats`'s tests, over a 30-day period; the
//! requests are counted in the emulator's log.

use std::fmt::Write as _;

use orchestrate_emulator::{Emulator, EmulatorConfig, RunningEmulator, Scenario};
use serde_json::Value;

use crate::engine_github::workspace_with;
use crate::health_cmd::{health, orchestrate};
use crate::support::Output;

pub(crate) const PLAN: &str = r#"version: 1
name: shop
environments:
  staging: {}
services:
  api:
    repo: acme/api
    workflow: deploy.yml
  web:
    repo: acme/web
    workflow: deploy.yml
    needs: [api]
"#;

const DAY: u64 = 86_400;

/// One recorded deployment, `ago` seconds before the emulator starts.
fn deployment(
    out: &mut String,
    service: &str,
    release: u64,
    ago: u64,
    statuses: &[(&str, u64, &str)],
) {
    let _ = writeln!(out, "      - environment: staging\n        ago: {ago}s");
    let _ = writeln!(
        out,
        "        payload: {{ service: {service}, version: \"1.{release}.0\", deployment_id: \"rel-{release}\" }}"
    );
    let _ = writeln!(out, "        statuses:");
    for (state, after, description) in statuses {
        let _ = writeln!(
            out,
            "          - {{ state: {state}, after: {after}s, description: \"{description}\" }}"
        );
    }
}

fn history_yaml() -> String {
    let mut api = String::new();
    let mut web = String::new();
    // Older than the period, and a deployment orchestrate did not make: neither counts.
    deployment(
        &mut api,
        "api",
        99,
        40 * DAY,
        &[("success", 5, "old verified healthy took 5s")],
    );
    let _ = writeln!(
        api,
        "      - environment: staging\n        ago: {}s\n        payload: {{ note: by hand }}",
        30 * DAY - 60
    );
    for release in 0..21u64 {
        let ago = (25 - release) * DAY;
        let progress = ("in_progress", 0, "deploying");
        match release {
            16 | 17 => {
                deployment(
                    &mut api,
                    "api",
                    release,
                    ago,
                    &[
                        progress,
                        ("success", 100, "1 verified healthy took 100s"),
                        ("inactive", 200, "1 rolled back (health passed) took 100s"),
                    ],
                );
                deployment(
                    &mut web,
                    "web",
                    release,
                    ago - 110,
                    &[
                        progress,
                        ("failure", 80, "1 failed (health failed) took 60s"),
                    ],
                );
            }
            18 => deployment(
                &mut api,
                "api",
                release,
                ago,
                &[progress, ("failure", 95, "1 failed took 80s")],
            ),
            20 => deployment(&mut api, "api", release, ago, &[progress]),
            _ => {
                deployment(
                    &mut api,
                    "api",
                    release,
                    ago,
                    &[progress, ("success", 150, "1 verified healthy took 100s")],
                );
                deployment(
                    &mut web,
                    "web",
                    release,
                    ago - 110,
                    &[progress, ("success", 55, "1 verified healthy took 50s")],
                );
            }
        }
    }
    format!(
        "repos:\n  - name: acme/api\n    deployments:\n{api}  - name: acme/web\n    deployments:\n{web}  - name: acme/release\n"
    )
}

pub(crate) async fn emulator() -> RunningEmulator {
    let scenario = Scenario::from_yaml(&history_yaml()).expect("the history scenario parses");
    Emulator::start(EmulatorConfig::new(scenario))
        .await
        .expect("emulator starts")
}

pub(crate) async fn stats(emu: &RunningEmulator, dir: &std::path::Path, args: &[&str]) -> Output {
    let args: Vec<&str> = ["stats", "--env", "staging"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    orchestrate(emu, dir, &args).await
}

pub(crate) fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_history_of_21_releases_gives_the_figures_worked_out_by_hand() {
    let emu = emulator().await;
    let dir = workspace_with(&emu, PLAN);
    let json = stats(&emu, dir.path(), &["--format", "json"]).await;
    assert_eq!(json.code, 0, "{json:?}");
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let s = &report["summary"];
    let f = &s["figures"];
    assert_eq!(
        (
            s["deployments"].as_u64(),
            s["unsettled"].as_u64(),
            s["releases"].as_u64()
        ),
        (Some(39), Some(1), Some(21)),
        "{s}"
    );
    assert_eq!(
        (
            f["succeeded"].as_u64(),
            f["failed"].as_u64(),
            f["rolled_back"].as_u64()
        ),
        (Some(34), Some(3), Some(2)),
        "{f}"
    );
    assert!(close(&f["success_rate"], 34.0 / 39.0), "{f}");
    assert!(close(&f["rollback_rate"], 2.0 / 39.0), "{f}");
    assert!(close(&f["duration_avg"], 2950.0 / 39.0), "{f}");
    assert_eq!(
        (f["duration_p50"].as_i64(), f["duration_p90"].as_i64()),
        (Some(80), Some(100))
    );
    assert!(close(&f["health_pass_rate"], 36.0 / 38.0), "{f}");
    assert_eq!(f["coordination_pairs"].as_u64(), Some(19));
    assert!(close(&f["coordination_latency_avg"], 10.0), "{f}");
    assert!(
        close(&f["deployment_frequency_per_day"], 17.0 / 30.0),
        "{f}"
    );
    assert!(close(&f["lead_time_avg"], 160.0), "{f}");
    assert!(close(&f["change_failure_rate"], 3.0 / 20.0), "{f}");
    assert!(close(&f["mttr_avg"], (30.0 + 30.0 + 86_480.0) / 3.0), "{f}");
    assert_eq!(
        (f["restored"].as_u64(), f["unrestored"].as_u64()),
        (Some(3), Some(0))
    );
    // One list per repository (one page each), then one status list per orchestrate
    // deployment in the period: 21 in acme/api, 19 in acme/web.
    let log = emu.requests();
    let lists = log
        .iter()
        .filter(|r| r.path.contains("/deployments?"))
        .count();
    let statuses = log.iter().filter(|r| r.path.contains("/statuses")).count();
    assert_eq!(
        (lists, statuses),
        (2, 21 + 19),
        "{:?}",
        log.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(report["requests"]["total"].as_u64(), Some(log.len() as u64));
    assert_eq!(report["lists"][0]["deployments"].as_u64(), Some(21));
    // No manifests in the plan's store: the registry's figures, and the output says so.
    assert_eq!(
        (
            report["manifests"]["read"].as_u64(),
            report["manifests"]["missing"].as_u64(),
            s["manifests"].as_u64()
        ),
        (Some(0), Some(21), Some(0)),
        "{report}"
    );

    let table = stats(&emu, dir.path(), &[]).await;
    assert_eq!(table.code, 0, "{table:?}");
    assert!(table.stdout.contains("Counted: 39 deployments (1 still in flight, not counted) of 2 services in 2 repositories, 21 releases"), "{}", table.stdout);
    assert!(
        table.stdout.contains("Manifests: none read from directory .orchestrate/manifests; the figures come from the registry alone"),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stdout
            .contains("change failure rate    15.0 %  (1 failed, 2 rolled back, of 20 releases)"),
        "{}",
        table.stdout
    );

    let prom = stats(
        &emu,
        dir.path(),
        &["--format", "prometheus", "--service", "api"],
    )
    .await;
    assert_eq!(prom.code, 0, "{prom:?}");
    assert!(
        prom.stdout.contains(
            "orchestrate_deployments_rolled_back{environment=\"staging\",services=\"api\"} 2"
        ),
        "{}",
        prom.stdout
    );
    assert!(prom.stdout.trim_end().ends_with("# EOF"), "{}", prom.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_exit_2_with_a_hint() {
    let emu = emulator().await;
    let dir = workspace_with(&emu, PLAN);
    let period = stats(&emu, dir.path(), &["--since", "30y"]).await;
    assert_eq!(period.code, 2, "{period:?}");
    assert!(
        period.stderr.contains("--since") && period.stderr.contains("e.g. `30d`"),
        "{}",
        period.stderr
    );
    let service = stats(&emu, dir.path(), &["--service", "wbe"]).await;
    assert_eq!(service.code, 2, "{service:?}");
    assert!(
        service.stderr.contains("services in the plan: api, web"),
        "{}",
        service.stderr
    );
    assert!(emu.requests().is_empty(), "nothing is read on bad input");
}

pub(crate) const RELEASED: &str = r#"version: 1
name: shop
strategy: parallel
environments:
  staging: { vars: { health: "EMULATOR/_health" }, health_timeout: 10s }
services:
  api:
    repo: acme/api
    workflow: deploy.yml
    inputs: { version: "{{ version }}" }
    health:
      url: "{{ vars.health }}/api"
      expect: { json: { version: "{{ version }}" } }
  web:
    repo: acme/web
    workflow: deploy.yml
    needs: [api]
    inputs: { version: "{{ version }}" }
    health:
      url: "{{ vars.health }}/web"
      expect: { json: { version: "{{ version }}" } }
"#;

async fn releasing_emulator() -> RunningEmulator {
    use orchestrate_emulator::{Behaviour, HealthSpec, RepoSpec, WorkflowSpec};
    let deploy = || {
        WorkflowSpec::new("deploy.yml")
            .input("version", true)
            .behaviour(Behaviour::timed(
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(2),
                "success",
            ))
    };
    let unhealthy = HealthSpec {
        unhealthy_versions: vec!["2.2.0".to_owned()],
        ..health("web", "acme/web")
    };
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/api").workflow(deploy()))
        .repo(RepoSpec::new("acme/web").workflow(deploy()))
        .repo(RepoSpec::new("acme/release"))
        .health(health("api", "acme/api"))
        .health(unhealthy);
    let config = EmulatorConfig {
        time_factor: Some(10.0),
        ..EmulatorConfig::new(scenario)
    };
    Emulator::start(config).await.expect("emulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_after_real_releases_match_what_ran() {
    let emu = releasing_emulator().await;
    let dir = workspace_with(&emu, RELEASED);
    let mut codes = Vec::new();
    for versions in [
        "{api: 1.0.0, web: 2.0.0}",
        "{api: 1.1.0, web: 2.1.0}",
        "{api: 1.2.0, web: 2.2.0}",
    ] {
        let release = orchestrate(
            &emu,
            dir.path(),
            &["run", "--env", "staging", "--versions", versions],
        )
        .await;
        codes.push((release.code, release.stderr.clone()));
    }
    assert_eq!(
        codes.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![0, 0, 1],
        "the third release fails web's health check: {codes:?}"
    );
    let json = stats(&emu, dir.path(), &["--format", "json"]).await;
    assert_eq!(json.code, 0, "{json:?}");
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let s = &report["summary"];
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
    // Releases 1 and 2: both verified; release 3: web failed its health check, api rolled back.
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
            f["releases_rolled_back"].as_u64()
        ),
        (Some(2), Some(1)),
        "{f}"
    );
    assert!(close(&f["change_failure_rate"], 1.0 / 3.0), "{f}");
    assert_eq!(
        (f["health_checked"].as_u64(), f["health_passed"].as_u64()),
        (Some(6), Some(5)),
        "{f}"
    );
    assert_eq!(
        f["coordination_pairs"].as_u64(),
        Some(3),
        "web follows api in every release: {f}"
    );
    assert_eq!(
        (f["restored"].as_u64(), f["unrestored"].as_u64()),
        (Some(1), Some(0)),
        "{f}"
    );
    assert!(f["duration_p50"].as_i64().is_some_and(|d| d > 0), "{f}");
    let table = stats(&emu, dir.path(), &[]).await;
    assert!(
        table
            .stdout
            .contains("Counted: 6 deployments of 2 services in 2 repositories, 3 releases"),
        "{}",
        table.stdout
    );
}
