//! The preview of the test plan: waves, plan-time template rendering, compatibility.

use orchestrate_core::report::CompatStatus;

use super::*;
use crate::settings::raw::{Given, RawSettings};
use crate::settings::tests::plan_file;
use crate::settings::{Purpose, Settings};

fn settings(versions: &str, strategy: &str) -> Settings {
    let raw = RawSettings {
        environment: Some(Given::flag("target_environment", "--env", "staging")),
        versions: vec![Given::flag("versions", "--versions", versions)],
        strategy: Some(Given::flag("deployment_strategy", "--strategy", strategy)),
        ..RawSettings::default()
    };
    Settings::validate(&raw, &plan_file(), Purpose::Preview).expect("valid settings")
}

#[test]
fn renders_what_is_known_and_names_what_comes_later() {
    let preview = Preview::build(&settings(
        "{backend: 1.2.0, frontend: {web: 2.1.0}}",
        "canary",
    ))
    .expect("preview");
    let web = preview
        .services
        .iter()
        .find(|s| s.name == "web")
        .expect("web");
    assert_eq!(web.inputs["version"], "2.1.0");
    assert_eq!(web.inputs["run"], "<after backend>");
    let backend = preview
        .services
        .iter()
        .find(|s| s.name == "backend")
        .expect("backend");
    assert_eq!(backend.inputs["environment"], "staging");
    assert_eq!(
        backend.health_url.as_deref(),
        Some("https://api-staging.example/health")
    );
    assert_eq!(preview.not_in_release, ["android"]);
    assert!(preview.irreversible.is_empty());
}

#[test]
fn compatibility_is_checked_against_target_versions() {
    let ok =
        Preview::build(&settings("{backend: 1.2.0, web: 2.1.0}", "parallel")).expect("preview");
    assert_eq!(ok.compatibility.len(), 1);
    assert_eq!(ok.compatibility[0].status, CompatStatus::Ok);
    let bad =
        Preview::build(&settings("{backend: 2.0.0, web: 2.1.0}", "parallel")).expect("preview");
    assert_eq!(bad.compatibility[0].status, CompatStatus::Violated);
    let unknown = Preview::build(&settings("{web: 2.1.0}", "parallel")).expect("preview");
    assert_eq!(unknown.compatibility[0].status, CompatStatus::Unknown);
}

#[test]
fn deployed_versions_settle_ranges_on_services_outside_the_release() {
    let settings = settings("{web: 2.1.0}", "parallel");
    let preview = Preview::build(&settings).expect("preview");
    let check = |deployed: &str| {
        let deployed = BTreeMap::from([(
            "backend".to_owned(),
            Version::parse(deployed).expect("a version"),
        )]);
        let findings = check_compatibility(&settings, &preview.steps, &deployed);
        assert_eq!(findings.len(), 1);
        findings[0].verdict.status.clone()
    };
    assert_eq!(check("1.5.0"), CompatStatus::Ok);
    assert_eq!(check("2.0.0"), CompatStatus::Violated);
}

#[test]
fn text_form_snapshot() {
    let preview = Preview::build(&settings(
        "{backend: 1.2.0, frontend: {android: 2.1.0, web: 2.1.0}}",
        "canary",
    ))
    .expect("preview");
    insta::assert_snapshot!(text::render(&preview));
}

#[test]
fn json_form_snapshot() {
    let preview = Preview::build(&settings("{backend: 1.2.0, android: 2.1.0}", "sequential"))
        .expect("preview");
    insta::assert_json_snapshot!(preview);
}
