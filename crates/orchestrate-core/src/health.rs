//! Health verdicts: whether one HTTP answer from a service shows it serving what we expect.
//! The check itself (requests, retries, timeouts) is the binary's; the judgement is here.

use std::collections::BTreeMap;

/// What a health check expects, with templates already rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub status: u16,
    /// Dotted JSON paths (`build.version`) and the values they must hold.
    pub json: BTreeMap<String, String>,
}

/// Judges one answer. `Err` says, in words fit for a summary, what was wrong.
pub fn judge(expect: &Expectation, status: u16, body: &str) -> Result<(), String> {
    if status != expect.status {
        return Err(format!(
            "answered HTTP {status}, expected {}",
            expect.status
        ));
    }
    if expect.json.is_empty() {
        return Ok(());
    }
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|_| "answered a body that is not JSON".to_owned())?;
    for (path, wanted) in &expect.json {
        match lookup(&value, path) {
            None => return Err(format!("JSON has no `{path}`")),
            Some(found) => {
                let found = scalar_text(found);
                if found != *wanted {
                    return Err(format!("`{path}` is `{found}`, expected `{wanted}`"));
                }
            }
        }
    }
    Ok(())
}

/// The value at each of `paths` in a JSON `body`, as [`judge`] compares it; `None` where the
/// body is not JSON or has no such field. Shows what a service actually serves.
pub fn seen(body: &str, paths: &[&str]) -> Vec<Option<String>> {
    let value = serde_json::from_str::<serde_json::Value>(body).ok();
    paths
        .iter()
        .map(|path| {
            value
                .as_ref()
                .and_then(|v| lookup(v, path))
                .map(scalar_text)
        })
        .collect()
}

fn lookup<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(value, |v, key| match v {
        serde_json::Value::Object(map) => map.get(key),
        serde_json::Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Strings compare without their quotes; anything else as compact JSON.
fn scalar_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(json: &[(&str, &str)]) -> Expectation {
        Expectation {
            status: 200,
            json: json
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn seen_values_are_what_judge_compares() {
        let body = r#"{"version":"1.2.0","build":{"n":7},"tags":["a"]}"#;
        assert_eq!(
            seen(body, &["version", "build.n", "tags.0", "missing"]),
            [
                Some("1.2.0".to_owned()),
                Some("7".to_owned()),
                Some("a".to_owned()),
                None
            ]
        );
        assert_eq!(seen("<html>", &["version"]), [None]);
    }

    #[test]
    fn the_new_version_serving_passes() {
        assert_eq!(
            judge(
                &expect(&[("version", "1.2.0")]),
                200,
                r#"{"version":"1.2.0"}"#
            ),
            Ok(())
        );
        assert_eq!(
            judge(
                &expect(&[("build.n", "7"), ("tags.0", "a")]),
                200,
                r#"{"build":{"n":7},"tags":["a"]}"#
            ),
            Ok(())
        );
    }

    #[test]
    fn the_old_version_still_serving_fails_with_the_reason() {
        assert_eq!(
            judge(
                &expect(&[("version", "1.2.0")]),
                200,
                r#"{"version":"1.1.0"}"#
            ),
            Err("`version` is `1.1.0`, expected `1.2.0`".to_owned())
        );
    }

    #[test]
    fn wrong_status_missing_field_and_non_json_fail() {
        let reason = |r: Result<(), String>| r.err().unwrap_or_default();
        assert!(reason(judge(&expect(&[]), 503, "")).contains("HTTP 503"));
        assert!(reason(judge(&expect(&[("version", "1")]), 200, "{}")).contains("no `version`"));
        assert!(reason(judge(&expect(&[("version", "1")]), 200, "<html>")).contains("not JSON"));
        assert_eq!(judge(&expect(&[]), 200, "<html>"), Ok(()));
    }
}
