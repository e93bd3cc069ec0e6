//! The stats arithmetic on a recorded history of 21 releases, computed by hand.

use super::*;

const BASE: i64 = 1_780_000_000;
const DAY: i64 = 86_400;

fn status(id: u64, state: &str, description: &str, at: i64) -> StatusView {
    StatusView {
        id,
        state: state.into(),
        description: description.into(),
        created_at: at,
    }
}

/// One deployment: recorded at `at`, `in_progress` at once, then the given final statuses.
fn record(service: &str, release: u32, id: u64, at: i64, finals: &[(&str, &str, i64)]) -> Record {
    let mut statuses = vec![status(id * 10, "in_progress", "deploying", at)];
    for (i, (state, description, when)) in finals.iter().enumerate() {
        statuses.push(status(id * 10 + 1 + i as u64, state, description, *when));
    }
    Record::new(
        service.into(),
        format!("acme/{service}"),
        Some(format!("rel-{release}")),
        id,
        at,
        &statuses,
    )
}

/// Releases 0–15 and 19 succeed (api verified after 100 s, web recorded 10 s later and
/// verified after 50 s); 16 and 17 fail web's health check after 60 s and roll api back 30 s
/// later; 18 fails api's run after 80 s (no rollback, restored by 19); 20 is in flight.
fn history() -> Vec<Record> {
    let mut out = Vec::new();
    let mut id = 1;
    let mut next = || {
        id += 1;
        id
    };
    for release in 0..21u32 {
        let t = BASE + i64::from(release) * DAY;
        match release {
            16 | 17 => {
                out.push(record(
                    "api",
                    release,
                    next(),
                    t,
                    &[
                        ("success", "1.0 verified healthy took 100s", t + 100),
                        (
                            "inactive",
                            "1.0 rolled back (health passed) took 100s",
                            t + 200,
                        ),
                    ],
                ));
                out.push(record(
                    "web",
                    release,
                    next(),
                    t + 110,
                    &[("failure", "1.0 failed (health failed) took 60s", t + 190)],
                ));
            }
            18 => out.push(record(
                "api",
                release,
                next(),
                t,
                &[("failure", "1.0 failed took 80s", t + 95)],
            )),
            20 => out.push(record("api", release, next(), t, &[])),
            _ => {
                out.push(record(
                    "api",
                    release,
                    next(),
                    t,
                    &[("success", "1.0 verified healthy took 100s", t + 150)],
                ));
                out.push(record(
                    "web",
                    release,
                    next(),
                    t + 110,
                    &[
                        ("success", "1.0 verified healthy took 50s", t + 165),
                        // GitHub's own, when a later deployment succeeds: not final.
                        ("inactive", "", t + DAY),
                    ],
                ));
            }
        }
    }
    out
}

#[test]
fn a_recorded_history_gives_the_figures_computed_by_hand() {
    let s = compute(&history(), &[], BASE, BASE + 20 * DAY);
    let f = &s.figures;
    assert_eq!((s.deployments, s.unsettled, s.releases), (39, 1, 21));
    assert_eq!((s.repositories, s.services), (2, 2));
    assert_eq!((f.succeeded, f.failed, f.rolled_back), (34, 3, 2));
    assert_eq!(f.success_rate, Some(34.0 / 39.0));
    assert_eq!(f.failure_rate, Some(5.0 / 39.0));
    assert_eq!(f.rollback_rate, Some(2.0 / 39.0));
    // 17 × 50 + 2 × 60 + 1 × 80 + 19 × 100 = 2950 over 39 durations.
    assert_eq!(f.duration_avg, Some(2950.0 / 39.0));
    assert_eq!(f.duration_p50, Some(80));
    assert_eq!(f.duration_p90, Some(100));
    assert_eq!((f.health_checked, f.health_passed), (38, 36));
    assert_eq!(f.health_pass_rate, Some(36.0 / 38.0));
    // web recorded 10 s after api verified, in the 17 successful and the 2 rolled-back releases.
    assert_eq!(f.coordination_pairs, 19);
    assert_eq!(f.coordination_latency_avg, Some(10.0));
    assert_eq!(f.coordination_latency_max, Some(10.0));
    assert_eq!(
        (
            f.releases_succeeded,
            f.releases_failed,
            f.releases_rolled_back
        ),
        (17, 1, 2)
    );
    assert_eq!(f.deployment_frequency_per_day, Some(17.0 / 20.0));
    assert_eq!(f.lead_time_avg, Some(160.0));
    assert_eq!(f.lead_time_p50, Some(160));
    assert_eq!(f.change_failure_rate, Some(3.0 / 20.0));
    // 16, 17: web failed at +170, api rolled back at +200; 18: failed at +80, restored when
    // 19 settled at +1 day +160.
    assert_eq!(f.mttr_avg, Some((30.0 + 30.0 + 86_480.0) / 3.0));
    assert_eq!((f.restored, f.unrestored), (3, 0));
}

#[test]
fn one_service_only() {
    let api: Vec<Record> = history()
        .into_iter()
        .filter(|r| r.service == "api")
        .collect();
    let s = compute(&api, &[], BASE, BASE + 20 * DAY);
    let f = &s.figures;
    assert_eq!((s.deployments, s.unsettled, s.repositories), (20, 1, 1));
    assert_eq!((f.succeeded, f.failed, f.rolled_back), (17, 1, 2));
    assert_eq!(f.coordination_pairs, 0);
    assert_eq!(f.coordination_latency_avg, None);
    // 16, 17: rolled back at +200, failed (its first failure) when it settled at +100; 18:
    // failed at +80, restored when api of 19 settled at +1 day +100.
    assert_eq!(f.mttr_avg, Some((100.0 + 100.0 + 86_420.0) / 3.0));
}

#[test]
fn a_failure_never_followed_by_a_success_is_unrestored() {
    let records = vec![
        record(
            "api",
            1,
            1,
            BASE,
            &[("success", "1 verified healthy took 5s", BASE + 5)],
        ),
        record(
            "api",
            2,
            2,
            BASE + 60,
            &[("error", "2 timed_out took 9s", BASE + 70)],
        ),
    ];
    let s = compute(&records, &[], BASE, BASE + DAY);
    let f = &s.figures;
    assert_eq!((f.restored, f.unrestored), (0, 1));
    assert_eq!(f.mttr_avg, None);
    assert_eq!(f.change_failure_rate, Some(0.5));
    assert_eq!(f.deployment_frequency_per_day, Some(1.0));
    assert_eq!(f.lead_time_avg, Some(5.0));
    assert_eq!(f.health_pass_rate, Some(1.0));
}

#[test]
fn nothing_recorded_gives_no_figures() {
    let s = compute(&[], &[], BASE, BASE + DAY);
    assert_eq!((s.deployments, s.releases), (0, 0));
    assert_eq!(s.figures.success_rate, None);
    assert_eq!(s.figures.duration_p50, None);
    assert_eq!(s.figures.deployment_frequency_per_day, Some(0.0));
    assert_eq!(
        compute(&[], &[], BASE, BASE)
            .figures
            .deployment_frequency_per_day,
        None
    );
}

#[test]
fn percentiles_are_nearest_rank() {
    assert_eq!(percentile(&[], 50), None);
    assert_eq!(percentile(&[7], 90), Some(7));
    assert_eq!(percentile(&[4, 1, 3, 2], 50), Some(2));
    assert_eq!(percentile(&[4, 1, 3, 2], 90), Some(4));
    let hundred: Vec<i64> = (1..=100).collect();
    assert_eq!(percentile(&hundred, 90), Some(90));
    assert_eq!(percentile(&hundred, 0), Some(1));
}

#[test]
fn the_final_status_is_the_newest_orchestrate_wrote() {
    let f = classify(&[
        status(1, "in_progress", "deploying 2", 10),
        status(3, "inactive", "", 40),
        status(2, "success", "2 deployed (no health check) took 12s", 30),
    ]);
    assert_eq!(f.outcome, Outcome::Succeeded);
    assert_eq!((f.at, f.health, f.took), (Some(30), None, Some(12)));
    let rolled = classify(&[
        status(2, "success", "2 verified healthy took 3s", 30),
        status(5, "inactive", "2 rolled back (health passed) took 3s", 50),
    ]);
    assert_eq!((rolled.outcome, rolled.at), (Outcome::RolledBack, Some(50)));
    assert_eq!(rolled.health, Some(true));
    let pending = classify(&[status(1, "queued", "", 1)]);
    assert_eq!(pending.outcome, Outcome::Unsettled);
    // A status written before durations were recorded: no duration, the status time counts.
    let old = Record::new(
        "a".into(),
        "o/a".into(),
        None,
        9,
        100,
        &[status(1, "failure", "x failed", 160)],
    );
    assert_eq!(
        (old.duration(), old.settled_at, old.health),
        (Some(60), Some(160), None)
    );
    assert_eq!(old.release_key(), "deployment-9");
    assert_eq!(took("took 12"), None);
    assert_eq!(took("took xs"), None);
}

#[test]
fn periods_parse_with_a_unit() {
    assert_eq!(parse_period("30d"), Ok(30 * DAY));
    assert_eq!(parse_period("12h"), Ok(12 * 3_600));
    assert_eq!(parse_period("90m"), Ok(90 * 60));
    assert_eq!(parse_period("2w"), Ok(14 * DAY));
    for bad in ["30", "d", "30y", "0d", "-3d", "99999999999999999999d"] {
        assert!(parse_period(bad).is_err(), "{bad}");
    }
}

fn times(needs: &[&str], at: (f64, f64), verified: bool, health: Option<bool>) -> ServiceTimes {
    ServiceTimes {
        needs: needs.iter().map(|s| (*s).to_owned()).collect(),
        dispatched: Some(at.0),
        settled: Some(at.1),
        verified,
        health,
    }
}

fn manifest(release: u32, services: Vec<(&str, ServiceTimes)>) -> ReleaseTimes {
    ReleaseTimes {
        release_id: format!("rel-{release}"),
        services: services
            .into_iter()
            .map(|(n, t)| (n.to_owned(), t))
            .collect(),
    }
}

/// Manifests of releases 0, 16 and 18 (and one of a release outside the records): web's
/// hand-offs become 0.75 s and 2.5 s instead of the registry's 10 s, and api's health check
/// in 18, which no final status recorded, counts as failed.
#[test]
fn manifests_give_the_hand_offs_and_health_the_registry_cannot_know() {
    let manifests = vec![
        manifest(
            0,
            vec![
                ("api", times(&[], (0.0, 99.5), true, Some(true))),
                ("web", times(&["api"], (100.25, 150.0), true, Some(true))),
            ],
        ),
        manifest(
            16,
            vec![
                ("api", times(&[], (0.0, 100.0), true, Some(true))),
                ("web", times(&["api"], (102.5, 162.5), false, Some(false))),
            ],
        ),
        manifest(
            18,
            vec![("api", times(&[], (0.0, 80.0), false, Some(false)))],
        ),
        manifest(
            99,
            vec![("web", times(&["api"], (1.0, 2.0), true, Some(true)))],
        ),
    ];
    let s = compute(&history(), &manifests, BASE, BASE + 20 * DAY);
    let f = &s.figures;
    assert_eq!(s.manifests, 3);
    assert_eq!(f.coordination_pairs, 19);
    assert_eq!(
        f.coordination_latency_avg,
        Some((17.0 * 10.0 + 0.75 + 2.5) / 19.0)
    );
    assert_eq!(f.coordination_latency_max, Some(10.0));
    assert_eq!((f.health_checked, f.health_passed), (39, 36));
    // What the registry alone knows is unchanged.
    assert_eq!((f.succeeded, f.failed, f.rolled_back), (34, 3, 2));
    assert_eq!(f.duration_avg, Some(2950.0 / 39.0));

    // Only web selected: its hand-offs still count from its manifests' `needs`.
    let web: Vec<Record> = history()
        .into_iter()
        .filter(|r| r.service == "web")
        .collect();
    let only = compute(&web, &manifests, BASE, BASE + 20 * DAY);
    assert_eq!(only.manifests, 2);
    assert_eq!(only.figures.coordination_pairs, 2);
    assert_eq!(
        only.figures.coordination_latency_avg,
        Some((0.75 + 2.5) / 2.0)
    );
    let without = compute(&web, &[], BASE, BASE + 20 * DAY);
    assert_eq!(
        (without.manifests, without.figures.coordination_pairs),
        (0, 0)
    );
}

#[test]
fn a_hand_off_needs_a_verified_need_settled_before_the_dispatch() {
    let release = manifest(
        1,
        vec![
            ("db", times(&[], (0.0, 10.0), true, None)),
            ("api", times(&["db"], (12.0, 30.0), true, None)),
            ("web", times(&["api", "db"], (31.5, 40.0), true, None)),
            ("late", times(&["api"], (20.0, 50.0), true, None)),
            ("broken", times(&[], (0.0, 5.0), false, None)),
            ("after", times(&["broken"], (6.0, 7.0), true, None)),
        ],
    );
    let all = ["db", "api", "web", "late", "broken", "after", "missing"];
    // db has no needs; late was dispatched before api settled; after's need failed.
    assert_eq!(release.hand_offs(all), vec![2.0, 1.5]);
}

/// What `run` writes (the service's times from the release's start, its `needs`) is what
/// stats reads back from the manifest, through its JSON.
#[test]
fn the_manifest_carries_the_times_and_needs_stats_reads() {
    use std::time::Duration;
    let mut report = crate::report::tests::rolled_back();
    for s in &mut report.services {
        let at = |secs: f64| Some(Duration::from_secs_f64(secs));
        (s.dispatched, s.settled) = match s.name.as_str() {
            "backend" => (at(0.0), at(90.5)),
            "ios" => (at(91.25), at(120.0)),
            _ => (None, None),
        };
    }
    let json = crate::artifact::Manifest::from_report(&report, None).to_json();
    let manifest = crate::artifact::Manifest::parse(json.as_bytes()).expect("round trip");
    let times = ReleaseTimes::of(&manifest);
    assert_eq!(times.release_id, report.deployment_id);
    let backend = &times.services["backend"];
    assert_eq!(
        (
            backend.dispatched,
            backend.settled,
            backend.verified,
            backend.health
        ),
        (Some(0.0), Some(90.5), true, Some(true))
    );
    let ios = &times.services["ios"];
    assert_eq!(
        (ios.needs.clone(), ios.verified, ios.health),
        (vec!["backend".to_owned()], false, None)
    );
    assert_eq!(times.hand_offs(["backend", "ios", "android"]), vec![0.75]);
}
