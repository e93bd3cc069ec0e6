//! Reading typed values out of the located YAML tree while collecting every problem:
//! `deny_unknown_fields` with "did you mean", duplicate keys, wrong types, missing fields,
//! durations. A failed value is reported and skipped, so the walk always continues.

use std::collections::BTreeMap;
use std::time::Duration;

use super::diag::{Diagnostic, Span, suggestion};
use super::yaml::{Kind, Node, parse_bool};

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// A string value (usually a template) and where it was written. When `exact`, `span`
/// starts at the value's first character and every character sits on that line as written,
/// so a position inside the value can be pointed at.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub value: String,
    pub span: Span,
    pub exact: bool,
}

impl Text {
    /// The span of `len` characters `offset` characters into the value, or the whole value.
    pub fn at(&self, offset: usize, len: usize) -> Span {
        if self.exact {
            self.span.narrow(offset, len)
        } else {
            self.span
        }
    }
}

/// Collects diagnostics for one file while it is read.
pub(crate) struct Ctx<'f> {
    pub file: &'f str,
    pub diags: Vec<Diagnostic>,
}

impl<'f> Ctx<'f> {
    pub fn new(file: &'f str) -> Ctx<'f> {
        Ctx {
            file,
            diags: Vec::new(),
        }
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    pub fn warning(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::warning(self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, what: &str, hint: Option<&str>) {
        let message = format!("{what} must be {expected}, found {}", node.describe());
        let diag = self.error(node.span, message);
        diag.label = Some(format!("expected {expected}"));
        let fallback = match expected {
            "a mapping" => "write `key: value` pairs, indented under it or as `{ key: value }`",
            "a list" => "write a list, e.g. `[a, b]`",
            "`true` or `false`" => "booleans are `true` and `false` (YAML 1.2: not yes/no/on/off)",
            "a whole number" => "write digits without quotes, e.g. `4`",
            _ => "write a single value, quoted if it contains `:` or `#`",
        };
        diag.hint = Some(hint.unwrap_or(fallback).to_owned());
    }

    /// Checks that `node` is a mapping with string keys among `known`, reporting unknown and
    /// duplicate keys. `what` names the mapping in messages, `owner` is where it was named
    /// (used for "missing field" errors).
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        owner: Span,
        known: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.entries(node, what)?;
        let mut fields = Fields {
            what: what.to_owned(),
            owner,
            values: BTreeMap::new(),
        };
        for (key, value) in entries {
            if !known.contains(&key.value.as_str()) {
                let hint = suggestion(&key.value, known, "expected one of");
                let diag = self.error(key.span, format!("unknown key `{}` in {what}", key.value));
                diag.label = Some("unknown key".to_owned());
                diag.hint = hint;
                continue;
            }
            // A key left empty (`key:` or `~`) counts as not given.
            if !value.is_null() {
                fields.values.insert(key.value, (key.span, value));
            }
        }
        Some(fields)
    }

    /// The entries of a mapping with string keys, reporting non-string and duplicate keys.
    pub fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<Vec<(Spanned<String>, &'n Node)>> {
        let Kind::Map(pairs) = &node.kind else {
            self.wrong_type(node, "a mapping", what, None);
            return None;
        };
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut out = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            let Some(name) = key.as_scalar().map(|s| s.text.as_str()) else {
                let diag = self.error(
                    key.span,
                    format!(
                        "keys in {what} must be plain names, found {}",
                        key.describe()
                    ),
                );
                diag.hint = Some("write a name before the `:`".to_owned());
                continue;
            };
            if let Some(first) = seen.get(name) {
                let diag = self.error(key.span, format!("duplicate key `{name}` in {what}"));
                diag.label = Some(format!("first defined at line {}", first.line));
                diag.hint = Some(
                    "YAML keeps only one of them; merge the two entries or rename one".to_owned(),
                );
                continue;
            }
            seen.insert(name, key.span);
            out.push((Spanned::new(name.to_owned(), key.span), value));
        }
        Some(out)
    }

    /// Any scalar as text (numbers and booleans keep how they were written).
    pub fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match node.as_scalar() {
            Some(s) if !node.is_null() => Some(Spanned::new(s.text.clone(), node.span)),
            _ => {
                self.wrong_type(node, "a string", what, None);
                None
            }
        }
    }

    pub fn bool(&mut self, node: &Node, what: &str) -> Option<Spanned<bool>> {
        match node
            .as_scalar()
            .filter(|s| s.plain)
            .and_then(|s| parse_bool(&s.text))
        {
            Some(b) => Some(Spanned::new(b, node.span)),
            None => {
                self.wrong_type(node, "`true` or `false`", what, None);
                None
            }
        }
    }

    pub fn uint(&mut self, node: &Node, what: &str) -> Option<Spanned<u64>> {
        match node
            .as_scalar()
            .filter(|s| s.plain)
            .and_then(|s| s.text.parse::<u64>().ok())
        {
            Some(n) => Some(Spanned::new(n, node.span)),
            None => {
                self.wrong_type(node, "a whole number", what, None);
                None
            }
        }
    }

    /// A humantime duration such as `30s`, `5m` or `1h30m`.
    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Spanned<Duration>> {
        let text = self.string(node, what)?;
        match humantime::parse_duration(text.value.trim()) {
            Ok(d) => Some(Spanned::new(d, node.span)),
            Err(e) => {
                let hint = if text.value.trim().parse::<f64>().is_ok() {
                    format!("add a unit, e.g. `{}s`", text.value.trim())
                } else {
                    "write a duration like `30s`, `5m` or `1h30m`".to_owned()
                };
                let diag = self.error(
                    node.span,
                    format!("invalid duration `{}` for {what}: {e}", text.value),
                );
                diag.label = Some("not a duration".to_owned());
                diag.hint = Some(hint);
                None
            }
        }
    }

    /// A list of strings; each bad item is reported and skipped.
    pub fn string_list(&mut self, node: &Node, what: &str) -> Option<Vec<Spanned<String>>> {
        let Kind::Seq(items) = &node.kind else {
            let hint = node
                .as_scalar()
                .map(|s| format!("write a list: `[{}]`", s.text));
            self.wrong_type(node, "a list", what, hint.as_deref());
            return None;
        };
        Some(
            items
                .iter()
                .filter_map(|item| self.string(item, &format!("an entry of {what}")))
                .collect(),
        )
    }

    /// One string or a list of strings (for `when:` conditions).
    pub fn string_or_list(&mut self, node: &Node, what: &str) -> Option<Vec<Spanned<String>>> {
        match &node.kind {
            Kind::Seq(_) => self.string_list(node, what),
            _ => self.string(node, what).map(|s| vec![s]),
        }
    }

    /// Any scalar as a [`Text`] that remembers whether positions inside it are exact.
    pub fn text(&mut self, node: &Node, what: &str) -> Option<Text> {
        let value = self.string(node, what)?.value;
        let exact = node.as_scalar().and_then(|s| s.exact_offset);
        let span = match exact {
            Some(offset) => node.span.narrow(offset, value.chars().count()),
            None => node.span,
        };
        Some(Text {
            value,
            span,
            exact: exact.is_some(),
        })
    }

    /// A mapping from names to scalars (numbers and booleans are kept as written).
    pub fn text_map(&mut self, node: &Node, what: &str) -> Vec<(Spanned<String>, Text)> {
        let Some(entries) = self.entries(node, what) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            if let Some(v) = self.text(value, &format!("`{}` in {what}", key.value)) {
                out.push((key, v));
            }
        }
        out
    }
}

/// The known fields of one mapping, taken one by one by the reader.
pub(crate) struct Fields<'n> {
    what: String,
    owner: Span,
    values: BTreeMap<String, (Span, &'n Node)>,
}

impl<'n> Fields<'n> {
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.values.get(name).map(|(_, node)| *node)
    }

    /// Where the key `name` was written, if it was.
    pub fn key_span(&self, name: &str) -> Option<Span> {
        self.values.get(name).map(|(span, _)| *span)
    }

    /// A field that must be present: reports it missing at the owner's position.
    pub fn required(&self, ctx: &mut Ctx<'_>, name: &str, example: &str) -> Option<&'n Node> {
        let node = self.get(name);
        if node.is_none() {
            let diag = ctx.error(
                self.owner,
                format!("missing required field `{name}` in {}", self.what),
            );
            diag.label = Some(format!("`{name}` is missing here"));
            diag.hint = Some(format!("add `{name}: {example}`"));
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::yaml::parse;

    fn root(text: &str) -> Node {
        parse("f", text).expect("valid yaml").expect("not empty")
    }

    #[test]
    fn reports_every_unknown_and_duplicate_key() {
        let node = root("repo: a\nworklfow: b\nrepo: c\nnedds: []\n");
        let mut ctx = Ctx::new("f");
        let fields = ctx.fields(
            &node,
            "service `x`",
            Span::start(),
            &["repo", "workflow", "needs"],
        );
        assert!(fields.is_some());
        let mut messages: Vec<_> = ctx
            .diags
            .iter()
            .map(|d| (d.line, d.message.clone(), d.hint.clone()))
            .collect();
        messages.sort();
        assert_eq!(
            messages,
            vec![
                (
                    2,
                    "unknown key `worklfow` in service `x`".to_owned(),
                    Some("did you mean `workflow`?".to_owned())
                ),
                (
                    3,
                    "duplicate key `repo` in service `x`".to_owned(),
                    Some(
                        "YAML keeps only one of them; merge the two entries or rename one"
                            .to_owned()
                    )
                ),
                (
                    4,
                    "unknown key `nedds` in service `x`".to_owned(),
                    Some("did you mean `needs`?".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn wrong_types_and_durations_are_reported() {
        let node = root("needs: backend\nbake: 5 mintues\nwait: 60\nok: 1h30m\n");
        let mut ctx = Ctx::new("f");
        let fields = ctx
            .fields(&node, "x", Span::start(), &["needs", "bake", "wait", "ok"])
            .expect("map");
        assert!(
            ctx.string_list(fields.get("needs").expect("needs"), "`needs`")
                .is_none()
        );
        assert!(
            ctx.duration(fields.get("bake").expect("bake"), "`bake`")
                .is_none()
        );
        assert!(
            ctx.duration(fields.get("wait").expect("wait"), "`wait`")
                .is_none()
        );
        let ok = ctx
            .duration(fields.get("ok").expect("ok"), "`ok`")
            .expect("valid");
        assert_eq!(ok.value, Duration::from_secs(5400));
        assert_eq!(ctx.diags.len(), 3);
        assert_eq!(
            ctx.diags[0].hint.as_deref(),
            Some("write a list: `[backend]`")
        );
        assert_eq!(ctx.diags[2].hint.as_deref(), Some("add a unit, e.g. `60s`"));
    }
}
