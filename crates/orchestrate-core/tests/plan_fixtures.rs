//! Data-driven plan fixtures: every file under `tests/fixtures/plans/valid` must load (its
//! validated plan and warnings are snapshotted), every file under `invalid` must fail (its
//! rendered diagnostics are snapshotted). Adding a fixture file adds a test case.

use std::path::Path;

use orchestrate_core::plan::{Diagnostic, load, render_diagnostics};

/// The fixture's path relative to the repository root, as a user would pass it.
fn display_name(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("repository root exists");
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn valid_plans_load() {
    insta::glob!("../../../tests/fixtures/plans", "valid/*.yml", |path| {
        let text = read(path);
        let name = display_name(path);
        let loaded = match load(&name, &text) {
            Ok(loaded) => loaded,
            Err(diags) => panic!(
                "{name} should be valid:\n{}",
                render_diagnostics(&diags, &text)
            ),
        };
        assert!(loaded.warnings.iter().all(|d: &Diagnostic| !d.is_error()));
        let warnings = render_diagnostics(&loaded.warnings, &text);
        insta::assert_snapshot!(format!(
            "{:#?}\n\n--- warnings ---\n{warnings}",
            loaded.plan
        ));
    });
}

#[test]
fn invalid_plans_report_every_problem() {
    insta::glob!("../../../tests/fixtures/plans", "invalid/*.yml", |path| {
        let text = read(path);
        let name = display_name(path);
        let diags = match load(&name, &text) {
            Ok(_) => panic!("{name} should be invalid"),
            Err(diags) => diags,
        };
        assert!(
            diags.iter().any(Diagnostic::is_error),
            "{name}: no error among {diags:?}"
        );
        for d in &diags {
            assert!(
                d.line >= 1 && d.column >= 1,
                "{name}: unlocated diagnostic {d:?}"
            );
            assert!(d.hint.is_some(), "{name}: diagnostic without a hint: {d:?}");
        }
        insta::assert_snapshot!(render_diagnostics(&diags, &text));
    });
}

/// The shipped example plan (maintained next to the README) must stay valid.
#[test]
fn example_plan_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/orchestrate.yml");
    if !path.exists() {
        return;
    }
    let text = read(&path);
    if let Err(diags) = load("examples/orchestrate.yml", &text) {
        panic!("{}", render_diagnostics(&diags, &text));
    }
}
