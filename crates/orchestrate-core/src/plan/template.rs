//! `{{ name }}` templates: parsing into literal and variable parts, the variables a template
//! uses, and rendering against a set of values. `${{ … }}` is GitHub's syntax, never ours: it
//! is kept as literal text (and validation warns about it).

use std::collections::BTreeMap;

/// Values for rendering, keyed by the full dotted variable name
/// (`version`, `vars.api`, `artifacts.backend.build-info.image`, …).
pub type Vars = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unterminated `{{{{` at character {offset}")]
    Unterminated { offset: usize },
    #[error("empty `{{{{ }}}}` at character {offset}")]
    Empty { offset: usize },
    #[error("invalid variable name `{name}`")]
    InvalidName {
        name: String,
        offset: usize,
        len: usize,
    },
    #[error("no value for template variable `{name}`")]
    Missing { name: String },
}

/// One `{{ name }}` in a template: the variable and where the braces are, in characters from
/// the start of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub name: String,
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Placeholder),
}

/// A parsed template string.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
    /// Character offsets of `${{` sequences, kept literally.
    github_expressions: Vec<usize>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl serde::Serialize for Template {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl Template {
    /// Parses `source`. Whitespace inside the braces is ignored; a name is dot-separated
    /// segments of letters, digits, `_` and `-`.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut github_expressions = Vec::new();
        let mut literal = String::new();
        let mut rest = source;
        let mut consumed_chars = 0usize;
        while let Some(open) = rest.find("{{") {
            let offset = consumed_chars + rest[..open].chars().count();
            let after_open = &rest[open + 2..];
            let close = after_open.find("}}");
            let is_github = rest[..open].ends_with('$');
            let Some(close) = close else {
                if is_github {
                    github_expressions.push(offset - 1);
                    break;
                }
                return Err(TemplateError::Unterminated { offset });
            };
            let whole = &rest[open..open + 2 + close + 2];
            let len = whole.chars().count();
            if is_github {
                github_expressions.push(offset - 1);
                literal.push_str(&rest[..open]);
                literal.push_str(whole);
            } else {
                literal.push_str(&rest[..open]);
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                let name = after_open[..close].trim();
                if name.is_empty() {
                    return Err(TemplateError::Empty { offset });
                }
                if !valid_name(name) {
                    return Err(TemplateError::InvalidName {
                        name: name.to_owned(),
                        offset,
                        len,
                    });
                }
                parts.push(Part::Var(Placeholder {
                    name: name.to_owned(),
                    offset,
                    len,
                }));
            }
            consumed_chars = offset + len;
            rest = &rest[open + whole.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
            github_expressions,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variable names used, in order of appearance (repeats included).
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.placeholders().map(|p| p.name.as_str())
    }

    /// Every `{{ name }}` with its position.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Literal(_) => None,
        })
    }

    /// Character offsets of `${{` in the source (GitHub expressions, left as they are).
    pub fn github_expressions(&self) -> &[usize] {
        &self.github_expressions
    }

    /// Substitutes every variable; a variable without a value is an error, never "".
    pub fn render(&self, vars: &Vars) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(p) => match vars.get(&p.name) {
                    Some(value) => out.push_str(value),
                    None => {
                        return Err(TemplateError::Missing {
                            name: p.name.clone(),
                        });
                    }
                },
            }
        }
        Ok(out)
    }
}

fn valid_name(name: &str) -> bool {
    name.split('.').all(|segment| {
        !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_variables_with_positions_and_tolerates_whitespace() {
        let t = Template::parse("é{{version}}-{{  artifacts.backend.build-info.image }}")
            .expect("valid");
        let found: Vec<_> = t.placeholders().cloned().collect();
        assert_eq!(
            found,
            vec![
                Placeholder {
                    name: "version".into(),
                    offset: 1,
                    len: 11
                },
                Placeholder {
                    name: "artifacts.backend.build-info.image".into(),
                    offset: 13,
                    len: 41
                },
            ]
        );
        assert_eq!(
            t.variables().collect::<Vec<_>>(),
            ["version", "artifacts.backend.build-info.image"]
        );
    }

    #[test]
    fn renders_every_variable() {
        let t = Template::parse("{{ vars.api }}/health?v={{ version }}").expect("valid");
        let out = t
            .render(&vars(&[("vars.api", "https://x"), ("version", "1.2.0")]))
            .expect("renders");
        assert_eq!(out, "https://x/health?v=1.2.0");
    }

    #[test]
    fn missing_value_is_an_error() {
        let t = Template::parse("{{ version }}").expect("valid");
        assert_eq!(
            t.render(&Vars::new()),
            Err(TemplateError::Missing {
                name: "version".into()
            })
        );
    }

    #[test]
    fn github_expressions_stay_literal() {
        let t = Template::parse("${{ github.sha }} and {{ version }}").expect("valid");
        assert_eq!(t.github_expressions(), &[0]);
        assert_eq!(t.variables().collect::<Vec<_>>(), ["version"]);
        let out = t.render(&vars(&[("version", "2")])).expect("renders");
        assert_eq!(out, "${{ github.sha }} and 2");
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert_eq!(
            Template::parse("a {{ version"),
            Err(TemplateError::Unterminated { offset: 2 })
        );
        assert_eq!(
            Template::parse("{{ }}"),
            Err(TemplateError::Empty { offset: 0 })
        );
        assert!(matches!(
            Template::parse("{{ a..b }}"),
            Err(TemplateError::InvalidName { .. })
        ));
        assert!(matches!(
            Template::parse("{{ a b }}"),
            Err(TemplateError::InvalidName { .. })
        ));
    }

    #[test]
    fn plain_text_has_no_variables() {
        let t = Template::parse("deploy.yml").expect("valid");
        assert_eq!(t.variables().count(), 0);
        assert_eq!(t.render(&Vars::new()).expect("renders"), "deploy.yml");
        assert_eq!(t.source(), "deploy.yml");
    }
}
