use std::collections::BTreeSet;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::notify::rule::Event;
use crate::plan::{raw, raw_notify, rules, service, validate};

fn def<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["$defs"]
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` in $defs"))
}

fn keys(object: &Value) -> BTreeSet<String> {
    object["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn enum_values(schema: &Value, name: &str) -> Vec<String> {
    def(schema, name)["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` is not an enum"))
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

#[test]
fn every_mapping_the_reader_reads_has_the_same_keys_in_the_schema() {
    let schema = plan_schema();
    let lists: Vec<(&str, &[&str])> = raw::OBJECTS
        .iter()
        .chain(raw_notify::OBJECTS)
        .copied()
        .collect();
    let mut in_schema: Vec<(String, &Value)> = vec![("Plan".to_owned(), &schema)];
    for (name, value) in schema["$defs"].as_object().expect("$defs") {
        if value.get("properties").is_some() {
            in_schema.push((name.clone(), value));
        }
    }
    for (name, object) in &in_schema {
        let Some((_, list)) = lists.iter().find(|(n, _)| n == name) else {
            panic!("object `{name}` of the schema has no key list the reader uses (raw::OBJECTS)");
        };
        let read: BTreeSet<String> = list.iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(keys(object), read, "keys of `{name}`");
        assert_eq!(
            object["additionalProperties"],
            json!(false),
            "`{name}` must refuse unknown keys as the reader does"
        );
    }
    for (name, _) in &lists {
        assert!(
            in_schema.iter().any(|(n, _)| n == name),
            "the reader's `{name}` is not an object of the schema"
        );
    }
}

#[test]
fn enums_are_the_names_validation_accepts() {
    let schema = plan_schema();
    assert_eq!(enum_values(&schema, "Strategy"), validate::STRATEGIES);
    assert_eq!(enum_values(&schema, "Trigger"), service::TRIGGERS);
    assert_eq!(enum_values(&schema, "Severity"), rules::SEVERITIES);
    assert_eq!(enum_values(&schema, "Channel"), rules::CHANNELS);
    let events: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(enum_values(&schema, "Event"), events);
}

#[test]
fn the_schema_is_draft_2020_12_with_its_id() {
    let schema = plan_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$id"], SCHEMA_URL);
    assert!(
        jsonschema::draft202012::meta::is_valid(&schema),
        "not a valid draft 2020-12 schema"
    );
    assert_eq!(
        schema["required"],
        json!(["version", "name", "environments", "services"])
    );
}

#[test]
fn descriptions_are_unwrapped_paragraphs() {
    let text = plan_schema_text();
    let schema: Value = serde_json::from_str(&text).expect("json");
    let service = def(&schema, "Service");
    let inputs = service["properties"]["inputs"]["description"]
        .as_str()
        .expect("described");
    assert!(!inputs.contains('\n'), "{inputs}");
    assert!(inputs.starts_with("Workflow inputs"), "{inputs}");
    assert!(text.ends_with("}\n"));
}

fn validator(fragment: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(fragment).expect("compiles")
}

#[test]
fn formats_accept_what_the_reader_accepts() {
    let schema = plan_schema();
    let service = &def(&schema, "Service")["properties"];
    let repo = validator(&service["repo"]);
    for ok in ["acme/api", "mickgian/PratikoAi-BE", "a.b/c_d-e"] {
        assert!(repo.is_valid(&json!(ok)), "{ok}");
    }
    for bad in [
        json!("backend"),
        json!("acme/ios/extra"),
        json!("https://github.com/acme/web"),
        json!("/x"),
        json!(3),
    ] {
        assert!(!repo.is_valid(&bad), "{bad}");
    }
    let workflow = validator(&service["workflow"]);
    assert!(workflow.is_valid(&json!("deploy.yml")));
    assert!(workflow.is_valid(&json!(12345)));
    assert!(!workflow.is_valid(&json!(".github/workflows/deploy.yml")));
    let env = validator(def(&schema, "EnvironmentVariable"));
    assert!(env.is_valid(&json!("SLACK_WEBHOOK_URL")));
    assert!(!env.is_valid(&json!("https://hooks.example.com/T000/secret")));
    let email = validator(def(&schema, "EmailAddress"));
    assert!(email.is_valid(&json!("ops@example.com")));
    for bad in [
        "not-an-address",
        "@example.com",
        "a b@example.com",
        "ops@localhost",
    ] {
        assert!(!email.is_valid(&json!(bad)), "{bad}");
    }
}

fn duration_validator() -> jsonschema::Validator {
    validator(def(&plan_schema(), "Duration"))
}

#[test]
fn durations_are_what_humantime_reads() {
    let durations = duration_validator();
    for ok in [
        "30s", "5m", "1h30m", "1h 30m", "1.5h", "2h 37min", " 10 s ", "0", "100ms", "1µs",
    ] {
        assert!(durations.is_valid(&json!(ok)), "{ok}");
        assert!(humantime::parse_duration(ok.trim()).is_ok(), "{ok}");
    }
    assert!(durations.is_valid(&json!(0)));
    for bad in ["5 mintues", "60", "soon", "", "5 mn", "1.s", "m5"] {
        assert!(!durations.is_valid(&json!(bad)), "{bad}");
        assert!(humantime::parse_duration(bad.trim()).is_err(), "{bad}");
    }
    assert!(!durations.is_valid(&json!(60)));
}

proptest! {
    /// The pattern checks how a duration is written; humantime also refuses overflows and
    /// fractions that are no whole number of nanoseconds or, from hours up, seconds (`0.1M`),
    /// which no pattern can count. Without those the two agree on every string.
    #[test]
    fn the_duration_pattern_agrees_with_humantime(
        text in r"[ ]?([0-9]{1,3}[ ]?(s|m|h|d|w|M|y|ns|ms|us|µs|min|mins|sec|hours|hr|wk|yrs|months|x|mn|S)?[ ]{0,2}){0,3}[ ]?"
    ) {
        prop_assume!(!text.contains('.'));
        let durations = duration_validator();
        prop_assert_eq!(
            durations.is_valid(&json!(text)),
            humantime::parse_duration(text.trim()).is_ok(),
            "{:?}", text
        );
    }
}
