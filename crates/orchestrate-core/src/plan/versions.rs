//! The `versions` input (SPEC §3): a YAML or JSON mapping of service to version, nested
//! mappings flattened (the leaf key is the service), and the release set it selects.

use std::collections::BTreeMap;

use semver::Version;

use super::Plan;
use super::diag::{Diagnostic, Span, suggestion};
use super::yaml::{self, Kind, Node};

/// The services being released and their target versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSet {
    versions: BTreeMap<String, Version>,
}

impl ReleaseSet {
    pub fn version(&self, service: &str) -> Option<&Version> {
        self.versions.get(service)
    }

    pub fn contains(&self, service: &str) -> bool {
        self.versions.contains_key(service)
    }

    /// Service and target version, by service name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Version)> {
        self.versions.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    pub fn versions(&self) -> &BTreeMap<String, Version> {
        &self.versions
    }
}

impl Plan {
    /// Checks `versions` against the plan: at least one service, every name a service of the
    /// plan. Diagnostics name the `versions` input.
    pub fn release_set(
        &self,
        versions: &BTreeMap<String, Version>,
    ) -> Result<ReleaseSet, Vec<Diagnostic>> {
        let names: Vec<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
        let mut diags = Vec::new();
        if versions.is_empty() {
            diags.push(
                Diagnostic::unlocated(
                    "versions",
                    "input `versions` gives no service a version: the release set is empty",
                )
                .with_hint(format!(
                    "give at least one, e.g. `{{{}: 1.2.0}}`",
                    names.first().copied().unwrap_or("backend")
                )),
            );
        }
        for name in versions.keys() {
            if self.service(name).is_none() {
                let mut diag = Diagnostic::unlocated(
                    "versions",
                    format!(
                        "input `versions` names `{name}`, which is not a service in plan `{}`",
                        self.name
                    ),
                );
                diag.hint = suggestion(name, &names, "services in the plan are");
                diags.push(diag);
            }
        }
        if diags.is_empty() {
            Ok(ReleaseSet {
                versions: versions.clone(),
            })
        } else {
            Err(diags)
        }
    }
}

/// Parses the `versions` input named `input_name`. Accepts YAML or JSON; nested mappings are
/// flattened (`{frontend: {android: 2.1.0}}` gives `android`); a leading `v` is accepted.
pub fn parse_versions(
    input_name: &str,
    text: &str,
) -> Result<BTreeMap<String, Version>, Vec<Diagnostic>> {
    let example = "`{backend: 1.2.0, frontend: {android: 2.1.0}}`";
    let root = match yaml::parse(input_name, text) {
        Ok(Some(root)) if !root.is_null() => root,
        Ok(_) => {
            return Err(vec![
                Diagnostic::unlocated(input_name, format!("input `{input_name}` is empty"))
                    .with_hint(format!(
                        "give a mapping of service to version, e.g. {example}"
                    )),
            ]);
        }
        Err(mut diag) => {
            diag.message = format!(
                "input `{input_name}` is not valid YAML or JSON: {}",
                diag.message
            );
            return Err(vec![(*diag).with_hint(format!(
                "give a mapping of service to version, e.g. {example}"
            ))]);
        }
    };
    let mut reader = Reader {
        input: input_name,
        diags: Vec::new(),
        seen: BTreeMap::new(),
        versions: BTreeMap::new(),
    };
    if matches!(root.kind, Kind::Map(_)) {
        reader.mapping(&root);
    } else {
        reader.error(
            root.span,
            format!(
                "input `{input_name}` must be a mapping of service to version, found {}",
                root.describe()
            ),
            format!("e.g. {example}"),
        );
    }
    if reader.diags.is_empty() {
        Ok(reader.versions)
    } else {
        Err(reader.diags)
    }
}

struct Reader<'a> {
    input: &'a str,
    diags: Vec<Diagnostic>,
    /// Every leaf name met so far and its line, valid or not, to catch duplicates.
    seen: BTreeMap<String, usize>,
    versions: BTreeMap<String, Version>,
}

impl Reader<'_> {
    fn error(&mut self, span: Span, message: String, hint: String) {
        self.diags
            .push(Diagnostic::error(self.input, span, message).with_hint(hint));
    }

    fn mapping(&mut self, node: &Node) {
        let Kind::Map(entries) = &node.kind else {
            return;
        };
        let input = self.input;
        for (key, value) in entries {
            let Some(name) = key.as_scalar().map(|s| s.text.clone()) else {
                self.error(
                    key.span,
                    format!("input `{input}`: keys must be service names"),
                    "write `service: version`".to_owned(),
                );
                continue;
            };
            match &value.kind {
                Kind::Map(_) => self.mapping(value),
                Kind::Seq(_) => self.error(
                    value.span,
                    format!("input `{input}`: the version of `{name}` is a list"),
                    "give one version per service, e.g. `android: 2.1.0`".to_owned(),
                ),
                Kind::Scalar(s) => self.leaf(&name, key.span, value, &s.text),
            }
        }
    }

    fn leaf(&mut self, name: &str, key_span: Span, value: &Node, text: &str) {
        let input = self.input;
        if let Some(&line) = self.seen.get(name) {
            self.error(
                key_span,
                format!("input `{input}` gives `{name}` twice"),
                format!("flattening nested mappings made the names collide; the first is on line {line}: keep one"),
            );
            return;
        }
        self.seen.insert(name.to_owned(), key_span.line);
        let trimmed = text.trim();
        if value.is_null() || trimmed.is_empty() {
            self.error(
                value.span,
                format!("input `{input}` gives `{name}` an empty version"),
                format!(
                    "give a version like `{name}: 1.2.0`, or leave `{name}` out to not release it"
                ),
            );
            return;
        }
        let bare = trimmed
            .strip_prefix(['v', 'V'])
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(trimmed);
        match Version::parse(bare) {
            Ok(version) => {
                self.versions.insert(name.to_owned(), version);
            }
            Err(e) => self.error(
                value.span,
                format!("input `{input}`: `{text}` is not a semantic version for `{name}`: {e}"),
                "versions have three numbers, like `1.2.0` or `v2.1.0-rc.1`".to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("valid version")
    }

    #[test]
    fn flattens_nested_mappings_from_yaml_and_json() {
        let yaml = parse_versions(
            "versions",
            "{backend: 1.2.0, frontend: {android: v2.1.0, web: 2.1.0}}",
        )
        .expect("valid");
        let json = parse_versions(
            "versions",
            r#"{"backend": "1.2.0", "frontend": {"android": "2.1.0", "web": "2.1.0"}}"#,
        )
        .expect("valid");
        let expected = BTreeMap::from([
            ("android".to_owned(), v("2.1.0")),
            ("backend".to_owned(), v("1.2.0")),
            ("web".to_owned(), v("2.1.0")),
        ]);
        assert_eq!(yaml, expected);
        assert_eq!(json, expected);
    }

    #[test]
    fn reports_duplicates_empties_and_bad_versions_together() {
        let text = "backend: 1.2\nweb: \"\"\nfrontend:\n  backend: 1.3.0\nios: ~\n";
        let diags = parse_versions("versions", text).expect_err("invalid");
        let lines: Vec<(usize, &str)> =
            diags.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            lines,
            vec![
                (
                    1,
                    "input `versions`: `1.2` is not a semantic version for `backend`: unexpected end of input while parsing minor version number"
                ),
                (2, "input `versions` gives `web` an empty version"),
                (4, "input `versions` gives `backend` twice"),
                (5, "input `versions` gives `ios` an empty version"),
            ]
        );
        assert!(
            diags
                .iter()
                .all(|d| d.hint.is_some() && d.file == "versions")
        );
    }

    #[test]
    fn rejects_empty_input_and_non_mappings() {
        let empty = parse_versions("versions", "  ").expect_err("empty");
        assert_eq!(empty[0].message, "input `versions` is empty");
        let list = parse_versions("versions", "[1.2.0]").expect_err("list");
        assert!(
            list[0].message.contains("must be a mapping"),
            "{}",
            list[0].message
        );
        let broken = parse_versions("versions", "{backend: [").expect_err("syntax");
        assert!(
            broken[0]
                .message
                .starts_with("input `versions` is not valid YAML or JSON")
        );
    }

    fn plan() -> Plan {
        let text = "version: 1\nname: p\nenvironments: {staging: {}}\nservices:\n  backend: {repo: a/b, workflow: d.yml}\n  web: {repo: a/c, workflow: d.yml, needs: [backend]}\n";
        crate::plan::load("plan.yml", text)
            .expect("valid plan")
            .plan
    }

    #[test]
    fn release_set_accepts_plan_services() {
        let versions = parse_versions("versions", "{backend: 1.2.0}").expect("valid");
        let set = plan().release_set(&versions).expect("valid set");
        assert!(set.contains("backend") && !set.contains("web"));
        assert_eq!(set.version("backend"), Some(&v("1.2.0")));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn release_set_rejects_empty_and_unknown_services() {
        let empty = plan().release_set(&BTreeMap::new()).expect_err("empty");
        assert_eq!(
            empty[0].message,
            "input `versions` gives no service a version: the release set is empty"
        );
        assert_eq!(
            empty[0].hint.as_deref(),
            Some("give at least one, e.g. `{backend: 1.2.0}`")
        );
        let versions = parse_versions("versions", "{backnd: 1.2.0, web: 2.0.0}").expect("valid");
        let unknown = plan().release_set(&versions).expect_err("unknown");
        assert_eq!(unknown.len(), 1);
        assert_eq!(
            unknown[0].message,
            "input `versions` names `backnd`, which is not a service in plan `p`"
        );
        assert_eq!(unknown[0].hint.as_deref(), Some("did you mean `backend`?"));
    }
}
