//! Property tests: no input makes plan loading or `versions` parsing panic, and every
//! diagnostic from a plan file points at a real line and column.

use orchestrate_core::plan::{Diagnostic, load, parse_versions, render_diagnostics};
use proptest::prelude::*;

const REFERENCE: &str = include_str!("../../../tests/fixtures/plans/valid/reference.yml");

fn check_plan(text: &str) {
    // YAML ends a line at `\r\n`, `\n` or a lone `\r`.
    let line_count = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .lines()
        .count()
        .max(1);
    let diags: Vec<Diagnostic> = match load("plan.yml", text) {
        Ok(loaded) => loaded.warnings,
        Err(diags) => {
            assert!(
                diags.iter().any(Diagnostic::is_error),
                "failure without an error: {diags:?}"
            );
            diags
        }
    };
    for d in &diags {
        assert!(
            d.line >= 1 && d.column >= 1,
            "unlocated diagnostic {d:?} for {text:?}"
        );
        // A syntax error at end of input may sit one line past the last one.
        assert!(
            d.line <= line_count + 1,
            "line {} past the end ({line_count}) for {text:?}",
            d.line
        );
    }
    let _ = render_diagnostics(&diags, text);
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("0".to_owned()),
        Just("true".to_owned()),
        Just("~".to_owned()),
        Just("\"\"".to_owned()),
        Just("\"{{ version }}\"".to_owned()),
        Just("\"{{ runs.a.url }}\"".to_owned()),
        Just("\"{{ artifacts.a.info.x }}\"".to_owned()),
        Just("\"{{ vars.api }}/h\"".to_owned()),
        Just("\"${{ github.sha }}\"".to_owned()),
        Just("\"{{ open\"".to_owned()),
        Just("5m".to_owned()),
        Just("owner/name".to_owned()),
        Just("\">=1.2, <2\"".to_owned()),
        Just("deploy.yml".to_owned()),
        Just("canary".to_owned()),
        Just("repository_dispatch".to_owned()),
        Just("slack".to_owned()),
        Just("email".to_owned()),
        Just("deployment_failed".to_owned()),
        Just("&x a".to_owned()),
        Just("*x".to_owned()),
        "[a-c]".prop_map(|s| s),
        "[a-z_]{1,10}".prop_map(|s| s),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "version",
            "name",
            "strategy",
            "max_parallel",
            "canary",
            "environments",
            "services",
            "notifications",
            "channels",
            "vars",
            "health_timeout",
            "lock",
            "repo",
            "workflow",
            "ref",
            "trigger",
            "event_type",
            "inputs",
            "needs",
            "requires",
            "irreversible",
            "health",
            "rollback",
            "artifacts",
            "correlate",
            "timeout",
            "url",
            "expect",
            "status",
            "json",
            "interval",
            "bake",
            "on",
            "to",
            "when",
            "severity",
            "environment",
            "service",
            "email",
            "github_issue",
            "webhook",
            "slack",
            "a",
            "b",
            "c",
            "staging",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,6}",
    ]
}

/// Flow-style YAML values built from plan vocabulary, nested a few levels.
fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|entries| {
                let body: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

/// A block-style document: top-level keys with flow values, sometimes a well-formed head.
fn document() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec((key(), value()), 0..10),
    )
        .prop_map(|(head, entries)| {
            let mut text = String::new();
            if head {
                text.push_str(
                    "version: 1\nname: p\nenvironments: { staging: { vars: { api: x } } }\n",
                );
            }
            for (k, v) in entries {
                text.push_str(&format!("{k}: {v}\n"));
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check_plan(&text);
    }

    #[test]
    fn yaml_shaped_plans_never_panic(text in document()) {
        check_plan(&text);
    }

    #[test]
    fn edited_reference_plan_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, "[ a-z:{}\\[\\]\\-\"'\n#&*]{0,3}"), 1..4)
    ) {
        let mut text: Vec<char> = REFERENCE.chars().collect();
        for (at, remove, insert) in edits {
            let start = at.index(text.len().max(1)).min(text.len());
            let end = (start + remove).min(text.len());
            text.splice(start..end, insert.chars());
        }
        check_plan(&text.into_iter().collect::<String>());
    }

    #[test]
    fn versions_input_never_panics(text in prop_oneof![".{0,120}".boxed(), value().boxed()]) {
        if let Err(diags) = parse_versions("versions", &text) {
            prop_assert!(!diags.is_empty());
            prop_assert!(diags.iter().all(|d| d.hint.is_some()));
        }
    }
}

#[test]
fn reference_plan_loads_cleanly() {
    let loaded = load("reference.yml", REFERENCE).expect("the reference plan is valid");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let names: Vec<&str> = loaded
        .plan
        .services
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["backend", "android", "ios", "web", "desktop"]);
}
