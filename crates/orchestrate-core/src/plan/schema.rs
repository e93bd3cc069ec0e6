//! The plan's JSON Schema (draft 2020-12), generated with schemars from the raw types the
//! reader fills (`raw`, `raw_notify`): their doc comments are its descriptions, and a key the
//! reader refuses is refused by `additionalProperties: false`. This module says how the
//! reader's values are written in YAML ([`Spanned`] and [`Text`]: any scalar where text is
//! read, an unquoted `true`/`false`, a whole number) and the formats it checks (repositories,
//! workflow names, durations, environment variable names, email addresses).
//!
//! The schema checks shape: keys, types, enums, formats. Meaning (services that exist, cycles,
//! semver ranges, template variables, input counts) is `orchestrate validate`'s.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings, json_schema};

use super::decode::{Spanned, Text};
use super::raw::RawPlan;

/// Where editors find the schema: the file committed at `schema/orchestrate.schema.json`, on
/// the `v1` tag, which the release workflow moves to each `v1.x.y` release. So a plan is
/// checked against the keys of the action it runs with (`pratiko/orchestrate@v1`), never
/// against keys that exist only on `main`.
pub const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/pratiko/orchestrate/v1/schema/orchestrate.schema.json";

/// humantime's units (`humantime::parse_duration`), longest spelling first.
const DURATION_UNITS: &str = "nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y";

/// The plan's JSON Schema.
pub fn plan_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<RawPlan>();
    schema.insert("$id".into(), SCHEMA_URL.into());
    schema.insert("title".into(), "orchestrate release plan".into());
    let mut value = schema.to_value();
    unwrap_descriptions(&mut value);
    value
}

/// Doc comments are wrapped at 100 columns; editors show a description as one paragraph.
fn unwrap_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => unwrap_descriptions(other),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// The schema as `orchestrate schema` prints it and `schema/orchestrate.schema.json` holds it.
pub fn plan_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&plan_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema of a value the reader takes from one YAML scalar.
pub trait ValueSchema {
    fn value_schema(generator: &mut SchemaGenerator) -> Schema;
}

/// Text is read from any scalar: `ref: 2024` is the string `2024`.
impl ValueSchema for String {
    fn value_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

/// Whole numbers are written unquoted.
impl ValueSchema for u64 {
    fn value_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": 0 })
    }
}

/// Booleans are YAML 1.2's unquoted `true` and `false`.
impl ValueSchema for bool {
    fn value_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "boolean" })
    }
}

impl ValueSchema for Duration {
    fn value_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<DurationText>()
    }
}

/// A located value is written as the value.
impl<T: ValueSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Spanned<{}>", std::any::type_name::<T>()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::value_schema(generator)
    }
}

/// A template: any scalar; `{{ name }}` placeholders are filled in when it is used.
impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "Template".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Text with `{{ variable }}` placeholders: `environment`, `version`, `previous_version`, `versions.<service>`, `vars.<name>`, `runs.<service>.id|url`, `artifacts.<service>.<artifact>.<field>`, `deployment_id`. Numbers and booleans are used as written.",
            "type": ["string", "number", "boolean"]
        })
    }
}

/// A duration as humantime reads it: `30s`, `5m`, `1h30m`, `1.5h`, `2h 37min`; or `0`.
pub struct DurationText;

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration such as `30s`, `5m`, `1h30m` or `1.5h` (units: ns, us, ms, s, m, h, d, w, M, y and their long forms).",
            "anyOf": [
                { "type": "string", "pattern": duration_pattern() },
                { "const": 0 }
            ]
        })
    }
}

/// Every span is a number (digits, spaces allowed inside, an optional fraction) and a unit;
/// spans follow each other with or without spaces. A lone `0` needs no unit.
fn duration_pattern() -> String {
    let number = r"[0-9][0-9\s]*(?:\.[0-9\s]*[0-9][0-9\s]*)?";
    format!(r"^\s*(?:0|(?:{number}(?:{DURATION_UNITS})\s*)+)\s*$")
}

/// `owner/name` with GitHub's characters (`validate::parse_repo`).
pub struct RepoName;

impl JsonSchema for RepoName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Repository".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A GitHub repository as `owner/name`.",
            "type": "string",
            "pattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
        })
    }
}

/// A workflow file name (never a path) or a numeric workflow id.
pub struct WorkflowName;

impl JsonSchema for WorkflowName {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Workflow".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A workflow's file name (`deploy.yml`, not `.github/workflows/deploy.yml`) or its numeric id.",
            "type": ["string", "integer"],
            "pattern": "^[^/]*$"
        })
    }
}

/// The trigger names `service::trigger` accepts.
#[derive(JsonSchema)]
#[schemars(rename = "Trigger", rename_all = "snake_case")]
#[expect(dead_code, reason = "only its schema is used")]
pub enum TriggerKind {
    WorkflowDispatch,
    RepositoryDispatch,
}

/// A `repository_dispatch` event type: GitHub takes 1 to 100 characters.
pub struct EventType;

impl JsonSchema for EventType {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "EventType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"], "minLength": 1, "maxLength": 100 })
    }
}

/// The name of an environment variable (`rules::env_name`).
pub struct EnvName;

impl JsonSchema for EnvName {
    fn schema_name() -> Cow<'static, str> {
        "EnvironmentVariable".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The NAME of an environment variable holding a secret, e.g. `SLACK_WEBHOOK_URL`; never the secret itself.",
            "type": "string",
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"
        })
    }
}

/// An email address as `rules::check_address` accepts it.
pub struct EmailAddress;

impl JsonSchema for EmailAddress {
    fn schema_name() -> Cow<'static, str> {
        "EmailAddress".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An email address, e.g. `ops@example.com`.",
            "type": "string",
            "pattern": r"^[^@\s]+@\S*\.\S*$"
        })
    }
}

/// A mapping from names to `V`.
pub struct Map<V>(PhantomData<V>);

impl<V: JsonSchema> JsonSchema for Map<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Map<{}>", V::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "additionalProperties": generator.subschema_for::<V>() })
    }
}

/// A mapping from service names (letters, digits, `-` and `_`) to `V`.
pub struct Names<V>(PhantomData<V>);

impl<V: JsonSchema> JsonSchema for Names<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Names<{}>", V::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": "^[A-Za-z0-9_-]+$" },
            "additionalProperties": generator.subschema_for::<V>()
        })
    }
}

/// One `T` or a list of them (`ctx.string_or_list`).
pub struct OneOrList<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for OneOrList<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OneOrList<{}>", T::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({ "anyOf": [item, { "type": "array", "items": item }] })
    }
}

/// One `T` or a list of at least one.
pub struct OneOrMore<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for OneOrMore<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMore<{}>", T::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({ "anyOf": [item, { "type": "array", "items": item, "minItems": 1 }] })
    }
}

#[cfg(test)]
mod tests;
