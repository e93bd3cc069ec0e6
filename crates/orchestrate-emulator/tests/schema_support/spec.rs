//! GitHub's OpenAPI subset as a test oracle: loads `shared/github-openapi-subset.deref.json`
//! and the operations it lacks that the emulator serves (`tests/openapi/approvals.deref.json`,
//! cut from the same description, see `tests/openapi/extract.py`), lists their operations, matches concrete request paths to them, applies the per-version
//! `x-github-breaking-changes` patches, and compiles response schemas (OpenAPI 3.0 dialect
//! turned into JSON Schema 2020-12) into `jsonschema` validators.

use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

/// The `$ref`-free twin of the subset, read from `shared/` beside the repository (CI keeps a
/// copy of `shared/` next to the clone, so the same relative path works there).
pub const DEREF_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/github-openapi-subset.deref.json"
);

/// The approval-gate operations, cut from the same description as the subset.
pub const APPROVALS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/openapi/approvals.deref.json"
);

/// The API version whose breaking changes the subset carries as patches.
pub const API_2026: &str = "2026-03-10";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// One operation of the subset.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template, e.g. `/repos/{owner}/{repo}/actions/runs/{run_id}`.
    pub path: String,
    /// `operationId`, e.g. `actions/get-workflow-run`.
    pub id: String,
    /// The operation object as published (API version 2022-11-28).
    raw: Value,
}

impl Operation {
    /// Whether the template matches a concrete path; the score counts literal segments so the
    /// most specific template wins.
    fn score(&self, concrete: &str) -> Option<usize> {
        let template: Vec<&str> = self.path.split('/').collect();
        let actual: Vec<&str> = concrete.split('/').collect();
        if template.len() != actual.len() {
            return None;
        }
        let mut literal = 0;
        for (t, a) in template.iter().zip(&actual) {
            if t.starts_with('{') && t.ends_with('}') {
                if a.is_empty() {
                    return None;
                }
            } else if t == a {
                literal += 1;
            } else {
                return None;
            }
        }
        Some(literal)
    }

    /// The operation as API version `version` describes it.
    pub fn for_version(&self, version: &str) -> Value {
        let mut op = self.raw.clone();
        apply_breaking_changes(&mut op, version);
        op
    }

    /// Whether the operation is under `/repos/{owner}/{repo}`.
    pub fn repo_scoped(&self) -> bool {
        self.path.starts_with("/repos/{owner}/{repo}")
    }
}

/// Compiled response schemas by (operation id, status, API version).
type Validators = HashMap<(String, u16, String), Option<Arc<Validator>>>;

/// The loaded subset.
#[derive(Debug)]
pub struct Spec {
    /// Every operation, in file order.
    pub operations: Vec<Operation>,
    validators: std::sync::Mutex<Validators>,
}

impl Spec {
    /// Loads the subset and the approval-gate operations; panics with a clear message when
    /// `shared/` is not beside the clone.
    pub fn load() -> Self {
        let mut spec = Self::load_file(DEREF_PATH);
        spec.operations
            .extend(Self::load_file(APPROVALS_PATH).operations);
        spec
    }

    /// The operations of one dereferenced OpenAPI file.
    pub fn load_file(path: &str) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "cannot read GitHub's OpenAPI description at {path} ({e}); the schema tests need \
                 a copy of `shared/` beside the repository root (shared/github-openapi-subset.deref.json)"
            )
        });
        let doc: Value = serde_json::from_str(&text).expect("the OpenAPI subset is valid JSON");
        let paths = doc["paths"]
            .as_object()
            .expect("the OpenAPI subset has `paths`");
        let mut operations = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    operations.push(Operation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        id: op["operationId"]
                            .as_str()
                            .expect("every operation has an operationId")
                            .to_owned(),
                        raw: op.clone(),
                    });
                }
            }
        }
        Self {
            operations,
            validators: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The operation a request hits, if the subset has it.
    pub fn find(&self, method: &str, concrete: &str) -> Option<&Operation> {
        let bare = concrete.split('?').next().unwrap_or(concrete);
        self.operations
            .iter()
            .filter(|op| op.method.eq_ignore_ascii_case(method))
            .filter_map(|op| op.score(bare).map(|s| (s, op)))
            .max_by_key(|(s, _)| *s)
            .map(|(_, op)| op)
    }

    /// The operation with `operation_id`.
    pub fn operation(&self, operation_id: &str) -> &Operation {
        self.operations
            .iter()
            .find(|op| op.id == operation_id)
            .unwrap_or_else(|| panic!("no operation {operation_id} in the subset"))
    }

    /// Whether `status` is a documented response of `op` in API version `version`.
    pub fn documents(&self, op: &Operation, status: u16, version: &str) -> bool {
        op.for_version(version)["responses"]
            .get(status.to_string())
            .is_some()
    }

    /// The compiled JSON schema of the `status` response of `op` in `version`, or `None` when
    /// the spec gives that response no JSON body schema.
    pub fn validator(&self, op: &Operation, status: u16, version: &str) -> Option<Arc<Validator>> {
        let key = (op.id.clone(), status, version.to_owned());
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(key)
            .or_insert_with(|| {
                let versioned = op.for_version(version);
                let schema = versioned["responses"]
                    .get(status.to_string())?
                    .get("content")?
                    .get("application/json")?
                    .get("schema")?
                    .clone();
                Some(Arc::new(compile(&schema).unwrap_or_else(|e| {
                    panic!("schema of {} {status} does not compile: {e}", op.id)
                })))
            })
            .clone()
    }
}

/// Compiles an OpenAPI 3.0 schema object.
///
/// Formats are asserted (JSON Schema 2020-12 only annotates them by default): `date-time` and
/// `email` with the crate's checks; `uri` as an absolute URL **or the empty string**, because
/// GitHub itself answers `""` for unset URI fields that the spec declares with `default: ""`
/// (deployment status `target_url`, `log_url`, `environment_url`). The OpenAPI-only formats
/// `int64` and `timestamp` are unknown to JSON Schema and ignored (they annotate integers).
pub fn compile(schema: &Value) -> Result<Validator, String> {
    let converted = to_json_schema(schema);
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("uri", |s: &str| s.is_empty() || url::Url::parse(s).is_ok())
        .build(&converted)
        .map_err(|e| e.to_string())
}

/// Turns an OpenAPI 3.0 schema object into JSON Schema 2020-12.
///
/// - `nullable: true` becomes a `"null"` member of `type` (and of `enum`, since GitHub sends
///   `null` for nullable enums such as a job's `conclusion`); a nullable schema without `type`
///   (a bare `oneOf`/`anyOf`/`allOf`) becomes `anyOf: [{type: null}, schema]`.
/// - A `oneOf` with two or more branches that accept `null` after that change would reject
///   `null` for matching several branches, which OpenAPI 3.0 did not intend; it becomes
///   `anyOf`.
/// - `example` and `deprecated` (OpenAPI annotations whose 3.0 forms are not JSON Schema) and
///   the `x-*` extensions are dropped.
pub fn to_json_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "nullable" | "example" | "deprecated" | "discriminator" | "xml" => {}
            k if k.starts_with("x-") => {}
            "properties" | "patternProperties" => {
                let converted: Map<String, Value> = value
                    .as_object()
                    .map(|props| {
                        props
                            .iter()
                            .map(|(name, sub)| (name.clone(), to_json_schema(sub)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(converted));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(key.clone(), to_json_schema(value));
            }
            "oneOf" | "anyOf" | "allOf" => {
                let branches: Vec<Value> = value
                    .as_array()
                    .map(|b| b.iter().map(to_json_schema).collect())
                    .unwrap_or_default();
                let nullable_branches = branches.iter().filter(|b| accepts_null(b)).count();
                let key = if key == "oneOf" && nullable_branches > 1 {
                    "anyOf".to_owned()
                } else {
                    key.clone()
                };
                out.insert(key, Value::Array(branches));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if map.get("nullable") != Some(&Value::Bool(true)) {
        return Value::Object(out);
    }
    match out.get("type").cloned() {
        Some(Value::String(t)) => {
            out.insert("type".into(), json!([t, "null"]));
            if let Some(Value::Array(values)) = out.get_mut("enum")
                && !values.contains(&Value::Null)
            {
                values.push(Value::Null);
            }
            Value::Object(out)
        }
        _ => json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] }),
    }
}

fn accepts_null(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::Array(types)) => types.contains(&json!("null")),
        Some(Value::String(t)) => t == "null",
        _ => schema
            .get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|b| b.iter().any(accepts_null)),
    }
}

/// Applies every `x-github-breaking-changes` patch for `version` found anywhere in `node`.
///
/// GitHub writes two kinds: an array is a JSON Patch (RFC 6902) relative to the annotated
/// node, an object is a JSON Merge Patch (RFC 7396). A merge patch that sets a member of
/// `properties` to `null` removes that field from the API version; it becomes the `false`
/// schema so a response that still carries the removed field fails validation.
pub fn apply_breaking_changes(node: &mut Value, version: &str) {
    match node {
        Value::Object(map) => {
            if let Some(changes) = map.remove("x-github-breaking-changes") {
                let mut patched = Value::Object(std::mem::take(map));
                for change in changes.as_array().into_iter().flatten() {
                    if change["version"].as_str() != Some(version) {
                        continue;
                    }
                    match &change["patch"] {
                        Value::Array(ops) => json_patch(&mut patched, ops),
                        merge @ Value::Object(_) => merge_patch(&mut patched, merge, false),
                        _ => {}
                    }
                }
                if let Value::Object(m) = patched {
                    *map = m;
                }
            }
            for value in map.values_mut() {
                apply_breaking_changes(value, version);
            }
        }
        Value::Array(items) => {
            for item in items {
                apply_breaking_changes(item, version);
            }
        }
        _ => {}
    }
}

fn merge_patch(target: &mut Value, patch: &Value, in_properties: bool) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            if in_properties {
                map.insert(key.clone(), Value::Bool(false));
            } else {
                map.remove(key);
            }
        } else {
            let entry = map.entry(key.clone()).or_insert(Value::Null);
            merge_patch(entry, value, key == "properties");
        }
    }
}

fn json_patch(target: &mut Value, ops: &[Value]) {
    for op in ops {
        let Some((parent, last)) = op["path"].as_str().and_then(|p| p.rsplit_once('/')) else {
            continue;
        };
        let last = last.replace("~1", "/").replace("~0", "~");
        if let Some(Value::Object(map)) = target.pointer_mut(parent) {
            match op["op"].as_str() {
                Some("remove") => {
                    map.remove(&last);
                }
                Some("add" | "replace") => {
                    map.insert(last, op["value"].clone());
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_null_type_and_enum_member() {
        let schema = json!({
            "type": "object",
            "required": ["conclusion"],
            "properties": {
                "conclusion": { "type": "string", "nullable": true, "enum": ["success"] },
                "value": { "oneOf": [
                    { "type": "string", "nullable": true },
                    { "type": "integer", "nullable": true },
                ]},
            },
        });
        let v = compile(&schema).expect("compiles");
        assert!(v.is_valid(&json!({ "conclusion": null, "value": null })));
        assert!(v.is_valid(&json!({ "conclusion": "success", "value": 3 })));
        assert!(!v.is_valid(&json!({ "conclusion": "nope" })));
        assert!(!v.is_valid(&json!({})));
    }

    #[test]
    fn breaking_changes_remove_fields_and_responses() {
        let mut op = json!({
            "responses": {
                "204": {},
                "200": { "content": { "application/json": { "schema": {
                    "type": "object",
                    "required": ["rate", "resources"],
                    "properties": { "rate": {}, "resources": {} },
                    "x-github-breaking-changes": [{
                        "version": API_2026,
                        "patch": { "properties": { "rate": null }, "required": ["resources"] },
                    }],
                }}}},
            },
            "x-github-breaking-changes": [{
                "version": API_2026,
                "patch": [{ "op": "remove", "path": "/responses/204" }],
            }],
        });
        let old = op.clone();
        apply_breaking_changes(&mut op, API_2026);
        assert!(op["responses"].get("204").is_none());
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let v = compile(schema).expect("compiles");
        assert!(v.is_valid(&json!({ "resources": {} })));
        assert!(!v.is_valid(&json!({ "resources": {}, "rate": {} })));
        let mut untouched = old.clone();
        apply_breaking_changes(&mut untouched, "2022-11-28");
        assert!(untouched["responses"].get("204").is_some());
    }
}
