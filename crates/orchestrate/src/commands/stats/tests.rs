//! Which registry deployments count for which service, and the outputs' shape.

use chrono::{DateTime, Utc};
use orchestrate_core::stats::{Outcome, compute};
use orchestrate_github::{DeploymentHistoryEntry, StatusEntry};
use serde_json::json;

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("time")
}

fn entry(
    id: u64,
    payload: serde_json::Value,
    finals: &[(&str, &str, &str)],
) -> DeploymentHistoryEntry {
    DeploymentHistoryEntry {
        id,
        created_at: at("2026-11-01T10:00:00Z"),
        payload,
        statuses: finals
            .iter()
            .zip(1..)
            .map(|((state, description, when), n)| StatusEntry {
                id: id * 10 + n,
                state: (*state).into(),
                description: (*description).into(),
                created_at: at(when),
            })
            .collect(),
    }
}

fn repo() -> Repo {
    Repo {
        owner: "acme".into(),
        name: "apps".into(),
    }
}

#[test]
fn a_deployment_counts_for_the_service_its_payload_names() {
    let services = vec!["android".to_owned(), "ios".to_owned()];
    let ok = [(
        "success",
        "2.0 verified healthy took 42s",
        "2026-11-01T10:01:00Z",
    )];
    let android = record(
        &repo(),
        &services,
        &entry(
            7,
            json!({"service": "android", "version": "2.0", "deployment_id": 4711}),
            &ok,
        ),
    )
    .expect("counted");
    assert_eq!(android.service, "android");
    assert_eq!(android.repo, "acme/apps");
    assert_eq!(android.release_id.as_deref(), Some("4711"));
    assert_eq!(
        (android.outcome, android.took),
        (Outcome::Succeeded, Some(42))
    );
    assert_eq!(android.health, Some(true));
    let other = entry(8, json!({"service": "desktop", "version": "2.0"}), &ok);
    assert_eq!(
        record(&repo(), &services, &other),
        None,
        "not a selected service"
    );
    let unnamed = entry(9, json!({"version": "2.0", "deployment_id": "rel-3"}), &ok);
    assert_eq!(
        record(&repo(), &services, &unnamed),
        None,
        "two services share the list"
    );
    let sole = record(&repo(), &services[..1], &unnamed).expect("the list's only service");
    assert_eq!(
        (sole.service.as_str(), sole.release_id.as_deref()),
        ("android", Some("rel-3"))
    );
    let loose = record(
        &repo(),
        &services[..1],
        &entry(10, json!({"deployment_id": ""}), &ok),
    )
    .expect("counted");
    assert_eq!(loose.release_key(), "deployment-10", "a release of its own");
}

fn report() -> Report {
    let services = vec!["api".to_owned()];
    let records: Vec<Record> = [
        entry(
            1,
            json!({"service": "api", "deployment_id": "a"}),
            &[(
                "success",
                "1 verified healthy took 30s",
                "2026-11-01T10:00:40Z",
            )],
        ),
        entry(
            2,
            json!({"service": "api", "deployment_id": "b"}),
            &[(
                "failure",
                "2 failed (health failed) took 50s",
                "2026-11-01T10:01:00Z",
            )],
        ),
    ]
    .iter()
    .filter_map(|e| record(&repo(), &services, e))
    .collect();
    let end = at("2026-11-02T10:00:00Z").timestamp();
    Report {
        plan: "shop".into(),
        environment: "staging".into(),
        since: "1d".into(),
        services: Vec::new(),
        lists: vec![ListRead {
            repo: "acme/apps".into(),
            environment: "staging".into(),
            deployments: 2,
        }],
        requests: Requests {
            total: 3,
            counted: 3,
        },
        manifests: super::ManifestsRead {
            store: "directory .orchestrate/manifests".into(),
            missing: 2,
            ..super::ManifestsRead::default()
        },
        summary: compute(&records, &[], end - 86_400, end),
    }
}

#[test]
fn the_table_says_what_was_counted() {
    let text = render::table(&report());
    assert!(
        text.starts_with("Release statistics for `staging` (plan `shop`), 2026-11-01 10:00 UTC → 2026-11-02 10:00 UTC (--since 1d)"),
        "{text}"
    );
    assert!(
        text.contains("Counted: 2 deployments of 1 service in 1 repository, 2 releases; 3 requests spent (3 counted against the rate limit) on 1 deployments list and their statuses"),
        "{text}"
    );
    assert!(
        text.contains("Manifests: none read from directory .orchestrate/manifests; the figures come from the registry alone"),
        "{text}"
    );
    assert!(
        text.contains("succeeded                 1  50.0 %"),
        "{text}"
    );
    assert!(
        text.contains("duration               avg 40s, p50 30s, p90 50s"),
        "{text}"
    );
    assert!(
        text.contains("change failure rate    50.0 %  (1 failed, 0 rolled back, of 2 releases)"),
        "{text}"
    );
    assert!(
        text.contains("time to restore        avg –  (0 restored, 1 not yet)"),
        "{text}"
    );
}

#[test]
fn prometheus_gets_openmetrics_gauges_labelled_with_the_environment() {
    let text = render::prometheus(&report()).expect("encoded");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE orchestrate_deployment_success_ratio gauge"),
        "{text}"
    );
    assert!(
        text.contains("orchestrate_deployment_success_ratio{environment=\"staging\"} 0.5\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "orchestrate_deployment_duration_p90_seconds{environment=\"staging\"} 50.0\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("orchestrate_change_failure_ratio{environment=\"staging\"} 0.5\n"),
        "{text}"
    );
    assert!(
        !text.contains("time_to_restore"),
        "nothing restored: left out\n{text}"
    );
    let mut narrowed = report();
    narrowed.services = vec!["api".into(), "web".into()];
    let text = render::prometheus(&narrowed).expect("encoded");
    assert!(
        text.contains("orchestrate_releases{environment=\"staging\",services=\"api,web\"} 2"),
        "{text}"
    );
}
