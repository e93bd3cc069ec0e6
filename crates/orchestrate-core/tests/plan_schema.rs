//! The plan's JSON Schema against the plan fixtures: every valid plan (the fixtures and the
//! examples) validates; every invalid fixture whose problem is one of shape (an unknown key, a
//! wrong type, a missing field, a bad enum value or format) is refused by the schema too. The
//! others are named below with why a schema cannot see their problem. The committed
//! `schema/orchestrate.schema.json` must be what `orchestrate schema` prints.

use std::path::{Path, PathBuf};

use orchestrate_core::plan::{plan_data, plan_schema, plan_schema_text};

/// Invalid fixtures whose problem is meaning, not shape: they are valid against the schema.
const SEMANTIC: &[(&str, &str)] = &[
    ("bad_semver_range.yml", "semver range grammar"),
    (
        "canary_missing.yml",
        "`strategy: canary` needs a `canary:` section (a rule across keys)",
    ),
    ("canary_not_in_plan.yml", "unknown services"),
    ("cycle.yml", "dependency cycles"),
    (
        "s3_store.yml",
        "the keys a store takes depend on `store` (a rule across keys), and a prefix's segments",
    ),
    (
        "duplicate_service.yml",
        "a duplicate YAML key: JSON data holds one of them",
    ),
    ("template_syntax.yml", "template syntax"),
    (
        "too_many_inputs.yml",
        "the input limit depends on `trigger` and `correlate`",
    ),
    ("unknown_service.yml", "unknown services"),
    ("unknown_template_variable.yml", "template variables"),
];

/// Invalid fixtures that are not YAML at all, so there is no data to check.
const NOT_YAML: &[&str] = &["yaml_indentation.yml", "yaml_syntax.yml"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    out.sort();
    out
}

fn name(path: &Path) -> String {
    path.file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned()
}

fn data(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("readable");
    plan_data(&name(path), &text).unwrap_or_else(|d| panic!("{}: {}", path.display(), d.message))
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&plan_schema()).expect("the schema compiles")
}

fn errors(validator: &jsonschema::Validator, data: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(data)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn valid_plans_and_the_examples_validate() {
    let validator = validator();
    let mut plans = files(&root().join("tests/fixtures/plans/valid"));
    plans.push(root().join("examples/orchestrate.yml"));
    plans.extend(
        files(&root().join("examples/scenarios"))
            .into_iter()
            .filter(|p| name(p).ends_with(".plan.yml")),
    );
    assert!(plans.len() >= 6, "{plans:?}");
    for path in plans {
        let errors = errors(&validator, &data(&path));
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn structural_problems_are_refused_by_the_schema() {
    let validator = validator();
    let mut refused = 0;
    for path in files(&root().join("tests/fixtures/plans/invalid")) {
        let file = name(&path);
        if NOT_YAML.contains(&file.as_str()) {
            let text = std::fs::read_to_string(&path).expect("readable");
            assert!(plan_data(&file, &text).is_err(), "{file} parses as YAML");
            continue;
        }
        let errors = errors(&validator, &data(&path));
        match SEMANTIC.iter().find(|(f, _)| *f == file) {
            Some((_, why)) => assert!(
                errors.is_empty(),
                "{file} is listed as semantic ({why}) but the schema refuses it:\n{}",
                errors.join("\n")
            ),
            None => {
                assert!(!errors.is_empty(), "the schema accepts {file}");
                refused += 1;
            }
        }
    }
    assert!(refused >= 10, "only {refused} fixtures refused");
}

/// Where the schema points for the fixtures that show one problem each.
#[test]
fn refusals_point_at_the_offending_value() {
    let validator = validator();
    let dir = root().join("tests/fixtures/plans/invalid");
    let cases = [
        ("unknown_strategy.yml", "/strategy"),
        ("bad_version.yml", "/version"),
        ("bad_repo.yml", "/services/backend/repo"),
        ("empty.yml", ""),
    ];
    for (file, pointer) in cases {
        let errors = errors(&validator, &data(&dir.join(file)));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("{pointer}: "))),
            "{file}: expected an error at `{pointer}`, got {errors:#?}"
        );
    }
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path = root().join("schema/orchestrate.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == plan_schema_text(),
        "{} is not the generated schema: run `cargo run -- schema > schema/orchestrate.schema.json` and commit it",
        path.display()
    );
}

#[test]
fn the_example_plan_names_the_schema() {
    let text = std::fs::read_to_string(root().join("examples/orchestrate.yml")).expect("readable");
    let line = format!(
        "# yaml-language-server: $schema={}",
        orchestrate_core::plan::SCHEMA_URL
    );
    assert!(
        text.lines().any(|l| l == line),
        "examples/orchestrate.yml lacks `{line}`"
    );
}
