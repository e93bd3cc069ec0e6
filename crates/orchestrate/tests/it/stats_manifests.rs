//! `orchestrate stats` with release manifests in the plan's store: the recorded history of
//! `stats_cmd` plus manifests of three of its releases (and one of another environment, under
//! a release's key) gives the manifests' hand-off times and health verdicts for those
//! releases, exactly, and the registry's for the rest; the manifests cost no request.

use orchestrate::store::LocalStore;
use orchestrate_core::artifact::{DocumentKey, Manifest};
use serde_json::{Value, json};

use crate::engine_github::workspace_with;
use crate::stats_cmd::{PLAN, close, emulator, stats};

/// One service of a hand-written manifest: needs, dispatched and settled (seconds from the
/// release's start), outcome, health verdict.
type Service<'a> = (&'a str, &'a [&'a str], f64, f64, &'a str, &'a str);

fn manifest(release: &str, environment: &str, services: &[Service]) -> Manifest {
    let entries: serde_json::Map<String, Value> = services
        .iter()
        .map(|(name, needs, _, _, outcome, health)| {
            let entry = json!({
                "repo": format!("acme/{name}"), "from_version": null, "to_version": "1.0.0",
                "needs": needs, "outcome": outcome, "run": null, "health": health,
                "artifacts": [],
            });
            ((*name).to_owned(), entry)
        })
        .collect();
    let timings: serde_json::Map<String, Value> = services
        .iter()
        .map(|(name, _, dispatched, settled, _, _)| {
            let t = json!({
                "queued_secs": null, "duration_secs": settled - dispatched,
                "dispatched_secs": dispatched, "settled_secs": settled,
            });
            ((*name).to_owned(), t)
        })
        .collect();
    let doc = json!({
        "schema": "orchestrate.manifest/v1", "plan": "shop", "deployment_id": release,
        "environment": environment, "strategy": "parallel", "status": "succeeded",
        "verified": true, "dry_run": false,
        "started_at": "2026-11-01T10:00:00Z", "finished_at": "2026-11-01T10:05:00Z",
        "orchestrator_run_url": null, "previous_release": null, "services": entries,
        "compatibility": { "schema": "orchestrate.compatibility_report/v1", "checks": [] },
        "health": [],
        "performance": {
            "schema": "orchestrate.performance_metrics/v1", "duration_secs": 300.0,
            "services": timings, "requests": 0, "requests_counted": 0, "not_modified": 0,
        },
        "rollbacks": [],
    });
    Manifest::parse(doc.to_string().as_bytes()).expect("a valid manifest")
}

/// Stores `manifest` in the `github` store's local copy, under `release`'s key.
fn store(dir: &std::path::Path, release: &str, manifest: &Manifest) {
    let key = DocumentKey::manifest("shop", "staging", release);
    LocalStore::new(dir.join(".orchestrate/manifests"))
        .put(&key, manifest.to_json().as_bytes())
        .expect("stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_give_the_exact_hand_offs_and_health_of_their_releases() {
    let emu = emulator().await;
    let dir = workspace_with(&emu, PLAN);
    // Release 0: web dispatched 0.75 s after api was verified (the registry: 10 s later).
    let api: Service = ("api", &[], 0.0, 99.5, "succeeded", "passed");
    let web: Service = ("web", &["api"], 100.25, 150.0, "succeeded", "passed");
    store(
        dir.path(),
        "rel-0",
        &manifest("rel-0", "staging", &[api, web]),
    );
    // Release 16: 2.5 s; web failed its health check, api was rolled back.
    let api: Service = ("api", &[], 0.0, 100.0, "rolled_back", "passed");
    let web: Service = ("web", &["api"], 102.5, 162.5, "failed", "failed");
    store(
        dir.path(),
        "rel-16",
        &manifest("rel-16", "staging", &[api, web]),
    );
    // Release 18: api's health check failed, which its final status does not say.
    let api: Service = ("api", &[], 0.0, 80.0, "failed", "failed");
    store(dir.path(), "rel-18", &manifest("rel-18", "staging", &[api]));
    // Under release 5's key, a manifest of another environment: not used.
    let web: Service = ("web", &["api"], 5.0, 6.0, "succeeded", "passed");
    store(
        dir.path(),
        "rel-5",
        &manifest("rel-5", "production", &[web]),
    );

    let json = stats(&emu, dir.path(), &["--format", "json"]).await;
    assert_eq!(json.code, 0, "{json:?}");
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let (m, s) = (&report["manifests"], &report["summary"]);
    let f = &s["figures"];
    assert_eq!(
        (
            m["read"].as_u64(),
            m["missing"].as_u64(),
            s["manifests"].as_u64()
        ),
        (Some(3), Some(17), Some(3)),
        "{m}"
    );
    let unusable = m["unreadable"].as_array().expect("a list");
    assert_eq!(unusable.len(), 1, "{m}");
    assert!(
        unusable[0]
            .as_str()
            .is_some_and(|u| u.contains("rel-5") && u.contains("production")),
        "{m}"
    );
    // 17 hand-offs of 10 s from the registry, 0.75 s and 2.5 s from the manifests.
    assert_eq!(f["coordination_pairs"].as_u64(), Some(19), "{f}");
    assert!(
        close(
            &f["coordination_latency_avg"],
            (17.0 * 10.0 + 0.75 + 2.5) / 19.0
        ),
        "{f}"
    );
    assert!(close(&f["coordination_latency_max"], 10.0), "{f}");
    // 38 checks from the registry, plus api's failed one in release 18.
    assert_eq!(
        (f["health_checked"].as_u64(), f["health_passed"].as_u64()),
        (Some(39), Some(36)),
        "{f}"
    );
    // The rest is the registry's, as without manifests, and reading them cost no request.
    assert_eq!(
        (
            f["succeeded"].as_u64(),
            f["failed"].as_u64(),
            f["rolled_back"].as_u64()
        ),
        (Some(34), Some(3), Some(2)),
        "{f}"
    );
    assert!(close(&f["duration_avg"], 2950.0 / 39.0), "{f}");
    assert_eq!(
        report["requests"]["total"].as_u64(),
        Some(emu.requests().len() as u64)
    );
    assert_eq!(emu.requests().len(), 2 + 21 + 19);

    let web = stats(&emu, dir.path(), &["--service", "web"]).await;
    assert_eq!(web.code, 0, "{web:?}");
    assert!(
        web.stdout.contains("Manifests: 2 read from directory .orchestrate/manifests (16 releases without one); 1 not usable: rel-5:"),
        "{}",
        web.stdout
    );
    assert!(
        web.stdout
            .contains("coordination latency   avg 1.625s, max 2.500s (2 hand-offs)"),
        "web's own hand-offs, from its releases' manifests: {}",
        web.stdout
    );
}
