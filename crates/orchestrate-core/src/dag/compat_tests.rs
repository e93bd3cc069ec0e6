//! Tables of cases for the compatibility checks: ranges (pre-releases included), states of
//! the order, unknown versions and refused rollbacks.

use std::collections::BTreeMap;

use super::*;

fn v(s: &str) -> Version {
    Version::parse(s).expect("test version")
}

fn req(s: &str) -> VersionReq {
    VersionReq::parse(s).expect("test range")
}

fn versions(pairs: &[(&str, &str)]) -> BTreeMap<String, Version> {
    pairs
        .iter()
        .map(|(s, ver)| ((*s).to_owned(), v(ver)))
        .collect()
}

fn requires(entries: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, BTreeMap<String, VersionReq>> {
    entries
        .iter()
        .map(|(service, ranges)| {
            let ranges = ranges
                .iter()
                .map(|(other, range)| ((*other).to_owned(), req(range)))
                .collect();
            ((*service).to_owned(), ranges)
        })
        .collect()
}

fn waves(w: &[&[&str]]) -> Vec<Vec<String>> {
    w.iter()
        .map(|wave| wave.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

/// `state service->required against status` lines, for compact expectations.
fn lines(findings: &[CompatFinding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            let v = &f.verdict;
            format!(
                "{}: {}->{} {} {:?}",
                f.state,
                v.service,
                v.requires,
                v.against.as_deref().unwrap_or("-"),
                v.status
            )
        })
        .collect()
}

#[test]
fn ranges_follow_semver_including_pre_releases() {
    let cases = [
        (">=1.2, <2", "1.2.0", true),
        (">=1.2, <2", "1.9.9", true),
        (">=1.2, <2", "1.1.9", false),
        (">=1.2, <2", "2.0.0", false),
        // A pre-release only matches a range naming a pre-release of the same version.
        (">=1.2, <2", "1.3.0-rc.1", false),
        (">=1.3.0-rc.1", "1.3.0-rc.2", true),
        (">=1.3.0-rc.1", "1.3.0", true),
        (">=1.3.0-rc.1", "1.4.0-rc.1", false),
        (">=1.3.0-rc.1", "1.3.0-beta.9", false),
        ("^1.2", "1.9.0", true),
        ("^1.2", "2.0.0", false),
        ("^0.2", "0.3.0", false),
        ("~1.2.3", "1.2.9", true),
        ("~1.2.3", "1.3.0", false),
        ("=1.2.3", "1.2.3", true),
        ("=1.2.3", "1.2.3+build.5", true),
        ("*", "7.0.0", true),
        ("*", "1.0.0-alpha", false),
    ];
    for (range, version, ok) in cases {
        let verdict = verdict("a", "b", &req(range), Some(&v(version)));
        let expected = if ok {
            CompatStatus::Ok
        } else {
            CompatStatus::Violated
        };
        assert_eq!(verdict.status, expected, "{range} vs {version}");
        assert_eq!(verdict.against.as_deref(), Some(version));
    }
    assert_eq!(
        verdict("a", "b", &req(">=1"), None).status,
        CompatStatus::Unknown
    );
}

#[test]
fn the_reference_release_is_checked_in_every_state() {
    let requires = requires(&[("android", &[("backend", ">=1.2, <2")])]);
    let order = waves(&[&["backend"], &["android", "web"]]);
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
    );
    let cases: [Case<'_>; 4] = [
        (
            "all good",
            &[("backend", "1.2.0"), ("android", "2.1.0"), ("web", "2.1.0")],
            &[("backend", "1.1.0"), ("android", "2.0.0")],
            &["final state: android->backend 1.2.0 Ok"],
        ),
        (
            "target backend breaks android",
            &[("backend", "2.0.0"), ("android", "2.1.0"), ("web", "2.1.0")],
            &[("backend", "1.5.0")],
            &["final state: android->backend 2.0.0 Violated"],
        ),
        (
            "new backend, never deployed, in the release: fine in the end",
            &[("backend", "1.2.0"), ("android", "2.1.0"), ("web", "2.1.0")],
            &[],
            &["final state: android->backend 1.2.0 Ok"],
        ),
        (
            "backend without a target",
            &[("android", "2.1.0"), ("web", "2.1.0")],
            &[],
            &["final state: android->backend - Unknown"],
        ),
    ];
    for (name, targets, deployed, expected) in cases {
        let (targets, deployed) = (versions(targets), versions(deployed));
        let input = CompatInput {
            requires: &requires,
            targets: &targets,
            deployed: &deployed,
            waves: &order,
        };
        assert_eq!(lines(&check(&input)), expected, "{name}");
    }
}

#[test]
fn an_intermediate_violation_names_its_state() {
    // android (outside the release, deployed 2.0.0) requires backend <2; web (wave 2) needs
    // backend >=2. Wave 1 takes backend to 2.0.0 and breaks android from then on. `desktop`
    // requires the new `web`, deployed only in wave 2: broken in between, fixed at the end.
    let requires = requires(&[
        ("android", &[("backend", "<2")]),
        ("desktop", &[("web", ">=3")]),
        ("web", &[("backend", ">=2")]),
    ]);
    let order = waves(&[&["backend", "desktop"], &["web"]]);
    let targets = versions(&[("backend", "2.0.0"), ("desktop", "3.0.0"), ("web", "3.0.0")]);
    let deployed = versions(&[("android", "2.0.0"), ("backend", "1.9.0"), ("web", "2.9.0")]);
    let input = CompatInput {
        requires: &requires,
        targets: &targets,
        deployed: &deployed,
        waves: &order,
    };
    let findings = check(&input);
    assert_eq!(
        lines(&findings),
        [
            "after wave 1: desktop->web 2.9.0 Violated",
            "final state: android->backend 2.0.0 Violated",
            "final state: desktop->web 3.0.0 Ok",
            "final state: web->backend 2.0.0 Ok",
        ]
    );
    assert_eq!(
        findings[0].message(),
        "desktop requires web >=3 but gets 2.9.0 (after wave 1)"
    );
    // The report list puts the final state first.
    let report = verdicts(&findings);
    assert_eq!(report.len(), 4);
    assert_eq!(report[3].service, "desktop");
    assert_eq!(report[3].status, CompatStatus::Violated);
    assert_eq!(report[3].state.as_deref(), Some("after wave 1"));
    assert_eq!(report[0].state, None, "the final state names none");
}

#[test]
fn services_of_one_wave_are_checked_against_each_others_old_versions() {
    let requires = requires(&[("android", &[("web", ">=2")]), ("web", &[("android", "*")])]);
    let order = waves(&[&["android", "web"]]);
    let targets = versions(&[("android", "2.0.0"), ("web", "2.0.0")]);
    for (deployed, expected) in [
        (
            versions(&[("web", "1.0.0")]),
            vec![
                "during wave 1: android->web 1.0.0 Violated",
                "during wave 1: web->android - Unknown",
                "final state: android->web 2.0.0 Ok",
                "final state: web->android 2.0.0 Ok",
            ],
        ),
        (
            versions(&[("web", "2.0.0"), ("android", "1.0.0")]),
            vec![
                "final state: android->web 2.0.0 Ok",
                "final state: web->android 2.0.0 Ok",
            ],
        ),
    ] {
        let input = CompatInput {
            requires: &requires,
            targets: &targets,
            deployed: &deployed,
            waves: &order,
        };
        assert_eq!(lines(&check(&input)), expected);
    }
}

#[test]
fn a_problem_lasting_several_states_is_reported_once() {
    // `api` requires `db` >=2, which only arrives in the last wave; `worker` requires a
    // `cache` nobody knows, in every state.
    let requires = requires(&[("api", &[("db", ">=2")]), ("worker", &[("cache", "^1")])]);
    let order = waves(&[&["api"], &["worker"], &["db"]]);
    let targets = versions(&[("api", "1.0.0"), ("worker", "1.0.0"), ("db", "2.0.0")]);
    let deployed = versions(&[("db", "1.0.0"), ("worker", "0.9.0")]);
    let input = CompatInput {
        requires: &requires,
        targets: &targets,
        deployed: &deployed,
        waves: &order,
    };
    assert_eq!(
        lines(&check(&input)),
        [
            "after wave 1: api->db 1.0.0 Violated",
            "final state: api->db 2.0.0 Ok",
            "final state: worker->cache - Unknown",
        ]
    );
}

#[test]
fn an_empty_order_checks_only_what_is_deployed() {
    let requires = requires(&[("android", &[("backend", ">=1.2")])]);
    let deployed = versions(&[("android", "2.0.0"), ("backend", "1.1.0")]);
    let input = CompatInput {
        requires: &requires,
        targets: &BTreeMap::new(),
        deployed: &deployed,
        waves: &[],
    };
    assert_eq!(
        lines(&check(&input)),
        ["final state: android->backend 1.1.0 Violated"]
    );
}

#[test]
fn rollbacks_that_would_break_an_irreversible_service_are_refused() {
    let irreversible = requires(&[
        ("android", &[("backend", ">=1.2, <2")]),
        ("ios", &[("backend", ">=1.3.0-rc.1")]),
    ]);
    let cases = [
        ("backend", "1.2.5", Err("ios")),
        ("backend", "1.3.0", Ok(())),
        ("backend", "1.3.0-rc.2", Err("android")),
        ("backend", "1.1.0", Err("android")),
        ("web", "0.1.0", Ok(())),
        // An irreversible service is never rolled back; its own ranges are not a reason.
        ("android", "1.0.0", Ok(())),
    ];
    for (service, to, expected) in cases {
        let result = rollback_allowed(service, &v(to), &irreversible);
        assert_eq!(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|r| r.irreversible.as_str()),
            expected,
            "{service} -> {to}"
        );
    }
    let refused =
        rollback_allowed("backend", &v("1.1.0"), &irreversible).expect_err("android breaks");
    assert_eq!(
        refused.to_string(),
        "rolling backend back to 1.1.0 would break android, which requires backend >=1.2, <2"
    );
}
