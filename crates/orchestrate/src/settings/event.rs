//! The event fallback: when the workflow was started by `workflow_dispatch` or
//! `repository_dispatch`, inputs left empty are taken from the event's `inputs` /
//! `client_payload`. Our snake_case names are accepted, and so are the seed's names
//! (`environment`, `strategy`, `backend_version`, `frontend_versions`).

use serde_json::Value;

/// One value found in the event, with the key it came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventValue {
    /// The key in `inputs` / `client_payload`.
    pub key: String,
    /// The value as text: strings as they are, booleans and numbers printed, mappings as
    /// JSON (which the YAML/JSON `versions` parser reads).
    pub text: String,
}

/// What a dispatch event offers for each of our inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventInputs {
    /// `workflow_dispatch` or `repository_dispatch`, for messages.
    pub event_name: String,
    pub plan: Option<EventValue>,
    pub target_environment: Option<EventValue>,
    pub deployment_strategy: Option<EventValue>,
    /// Version sources, in the order they are merged: `versions`, `backend_version` (as a
    /// one-entry mapping `{backend: ...}`), `frontend_versions`.
    pub versions: Vec<EventValue>,
    pub rollback_on_failure: Option<EventValue>,
    pub notification_channels: Option<EventValue>,
    pub dry_run: Option<EventValue>,
    pub timeout: Option<EventValue>,
}

/// Why the event file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event file `{path}` is not valid JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{key}` in the {event} event must be a string, number, boolean or mapping")]
    Unusable { event: String, key: String },
}

/// Whether inputs may fall back to this event.
pub fn supports_fallback(event_name: &str) -> bool {
    matches!(event_name, "workflow_dispatch" | "repository_dispatch")
}

impl EventInputs {
    /// Reads the event payload (`GITHUB_EVENT_PATH`'s content). Returns `Ok(None)` for events
    /// that carry no inputs.
    pub fn from_payload(
        event_name: &str,
        path: &str,
        payload: &str,
    ) -> Result<Option<EventInputs>, EventError> {
        if !supports_fallback(event_name) {
            return Ok(None);
        }
        let json: Value = serde_json::from_str(payload).map_err(|source| EventError::Json {
            path: path.to_owned(),
            source,
        })?;
        let section = if event_name == "workflow_dispatch" {
            "inputs"
        } else {
            "client_payload"
        };
        let Some(Value::Object(fields)) = json.get(section) else {
            return Ok(Some(EventInputs {
                event_name: event_name.to_owned(),
                ..EventInputs::default()
            }));
        };
        let pick = |names: &[&str]| -> Result<Option<EventValue>, EventError> {
            for name in names {
                let Some(value) = fields.get(*name) else {
                    continue;
                };
                if let Some(text) = as_text(event_name, name, value)? {
                    return Ok(Some(EventValue {
                        key: (*name).to_owned(),
                        text,
                    }));
                }
            }
            Ok(None)
        };
        let mut versions = Vec::new();
        if let Some(v) = pick(&["versions"])? {
            versions.push(v);
        }
        if let Some(backend) = pick(&["backend_version"])? {
            versions.push(EventValue {
                text: serde_json::json!({ "backend": backend.text }).to_string(),
                key: backend.key,
            });
        }
        if let Some(v) = pick(&["frontend_versions"])? {
            versions.push(v);
        }
        Ok(Some(EventInputs {
            event_name: event_name.to_owned(),
            plan: pick(&["plan"])?,
            target_environment: pick(&["target_environment", "environment"])?,
            deployment_strategy: pick(&["deployment_strategy", "strategy"])?,
            versions,
            rollback_on_failure: pick(&["rollback_on_failure"])?,
            notification_channels: pick(&["notification_channels"])?,
            dry_run: pick(&["dry_run"])?,
            timeout: pick(&["timeout"])?,
        }))
    }
}

/// Text for a value; `None` for null and blank strings (an empty form field means "not given").
fn as_text(event: &str, key: &str, value: &Value) -> Result<Option<String>, EventError> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.trim().to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => value.to_string(),
        Value::Array(_) => {
            return Err(EventError::Unusable {
                event: event.to_owned(),
                key: key.to_owned(),
            });
        }
    };
    Ok(Some(text).filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(event: &str, payload: &str) -> EventInputs {
        EventInputs::from_payload(event, "/github/workflow/event.json", payload)
            .expect("valid payload")
            .expect("dispatch event")
    }

    #[test]
    fn workflow_dispatch_inputs_accept_the_seed_names() {
        let ev = parse(
            "workflow_dispatch",
            r#"{"inputs":{"environment":"staging","strategy":"canary","backend_version":"1.2.0",
                "frontend_versions":"{\"android\":\"2.1.0\"}","dry_run":"true","rollback_on_failure":""}}"#,
        );
        assert_eq!(
            ev.target_environment
                .as_ref()
                .map(|v| (v.key.as_str(), v.text.as_str())),
            Some(("environment", "staging"))
        );
        assert_eq!(
            ev.deployment_strategy.as_ref().map(|v| v.text.as_str()),
            Some("canary")
        );
        let versions: Vec<(&str, &str)> = ev
            .versions
            .iter()
            .map(|v| (v.key.as_str(), v.text.as_str()))
            .collect();
        assert_eq!(
            versions,
            [
                ("backend_version", r#"{"backend":"1.2.0"}"#),
                ("frontend_versions", r#"{"android":"2.1.0"}"#)
            ]
        );
        assert_eq!(ev.dry_run.as_ref().map(|v| v.text.as_str()), Some("true"));
        assert_eq!(ev.rollback_on_failure, None, "an empty field is not given");
    }

    #[test]
    fn our_names_win_over_the_seed_names() {
        let ev = parse(
            "workflow_dispatch",
            r#"{"inputs":{"environment":"staging","target_environment":"production"}}"#,
        );
        assert_eq!(
            ev.target_environment.map(|v| v.text),
            Some("production".to_owned())
        );
    }

    #[test]
    fn repository_dispatch_reads_client_payload_with_typed_values() {
        let ev = parse(
            "repository_dispatch",
            r#"{"action":"release","client_payload":{"target_environment":"staging","dry_run":true,
                "frontend_versions":{"web":"2.1.0"},"versions":{"backend":"1.2.0"},"timeout":600}}"#,
        );
        assert_eq!(ev.dry_run.map(|v| v.text), Some("true".to_owned()));
        assert_eq!(ev.timeout.map(|v| v.text), Some("600".to_owned()));
        let texts: Vec<&str> = ev.versions.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, [r#"{"backend":"1.2.0"}"#, r#"{"web":"2.1.0"}"#]);
    }

    #[test]
    fn other_events_and_missing_sections_give_nothing() {
        let none = EventInputs::from_payload("push", "e.json", "not even json").expect("ignored");
        assert!(none.is_none());
        let empty = parse("workflow_dispatch", r#"{"ref":"refs/heads/main"}"#);
        assert_eq!(empty.target_environment, None);
        assert!(empty.versions.is_empty());
    }

    #[test]
    fn broken_payloads_are_errors_naming_the_file_or_key() {
        let err = EventInputs::from_payload("workflow_dispatch", "/x/event.json", "{")
            .expect_err("bad json");
        assert!(err.to_string().contains("/x/event.json"), "{err}");
        let err = EventInputs::from_payload(
            "repository_dispatch",
            "e",
            r#"{"client_payload":{"environment":["a"]}}"#,
        )
        .expect_err("array");
        assert!(err.to_string().contains("`environment`"), "{err}");
    }
}
