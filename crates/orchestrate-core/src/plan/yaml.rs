//! A small located YAML tree built from `granit-parser` events (the parser under
//! `serde-saphyr`, re-exported by it).
//!
//! Why not `serde_saphyr::from_str` with `Spanned<T>`: serde stops at the first error, gives no
//! location for mapping *keys*, and silently keeps one of two duplicate keys. Plan validation
//! has to report every problem with an exact line and column, so the file is read into this
//! tree (every node and key carries its span, duplicate keys are kept) and walked by hand.

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as ParserSpan};

use super::diag::{Diagnostic, Span};

/// Alias expansion copies nodes; this caps the copies so a "billion laughs" file is an error,
/// not an out-of-memory.
const MAX_NODES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub span: Span,
    /// Nodes in this subtree, for the alias-expansion budget.
    size: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in file order; duplicate keys are kept so validation can report them.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    pub plain: bool,
    /// Characters between the node's column and the first character of `text`, when every
    /// character of `text` sits on the node's line as written (no escapes, no folding). Lets
    /// diagnostics point inside a value.
    pub exact_offset: Option<usize>,
}

impl Node {
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// `~`, `null` or nothing at all, written plainly.
    pub fn is_null(&self) -> bool {
        self.as_scalar().is_some_and(|s| {
            s.plain && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL")
        })
    }

    /// What this node is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Map(_) => "a mapping",
            Kind::Seq(_) => "a list",
            Kind::Scalar(_) if self.is_null() => "nothing",
            Kind::Scalar(s) if s.plain && parse_bool(&s.text).is_some() => "a boolean",
            Kind::Scalar(s) if s.plain && s.text.parse::<f64>().is_ok() => "a number",
            Kind::Scalar(_) => "a string",
        }
    }
}

/// YAML 1.2 core-schema booleans.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// The tree as JSON data, with plain scalars resolved by YAML 1.2's core schema (what editors
/// and `jsonschema` see): null, booleans, integers and finite floats; everything else, and
/// every quoted scalar, is a string. Of duplicate keys the last wins, as in JSON.
pub(crate) fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &node.kind {
        Kind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = k
                        .as_scalar()
                        .map_or_else(|| to_json(k).to_string(), |s| s.text.clone());
                    (key, to_json(v))
                })
                .collect(),
        ),
        Kind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Kind::Scalar(s) if !s.plain => Value::String(s.text.clone()),
        Kind::Scalar(_) if node.is_null() => Value::Null,
        Kind::Scalar(s) => core_scalar(&s.text),
    }
}

fn core_scalar(text: &str) -> serde_json::Value {
    use serde_json::Value;
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned, 10) {
        if let Ok(n) = text.parse::<i64>() {
            return n.into();
        }
        if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
            return n.into();
        }
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8)] {
        if let Some(rest) = text.strip_prefix(prefix)
            && digits(rest, radix)
            && let Ok(n) = u64::from_str_radix(rest, radix)
        {
            return n.into();
        }
    }
    let float_chars = text
        .chars()
        .all(|c| c.is_ascii_digit() || ".eE+-".contains(c));
    if float_chars
        && unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

/// Parses one YAML document into a located tree. `Ok(None)` for an empty document.
pub(crate) fn parse(file: &str, text: &str) -> Result<Option<Node>, Box<Diagnostic>> {
    let mut builder = Builder::default();
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, pspan) = item.map_err(|e| {
            let m = e.marker();
            Box::new(
                Diagnostic::error(
                    file,
                    Span::new(m.line(), m.col() + 1, 1),
                    format!("invalid YAML: {}", e.info()),
                )
                .with_hint("check the indentation and quoting around this point"),
            )
        })?;
        let span = to_span(&pspan);
        match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(Box::new(Diagnostic::error(file, span, "a second YAML document starts here")
                        .with_hint("a plan file holds exactly one document; remove this `---` and what follows")));
                }
            }
            Event::Scalar(value, style, anchor, _) => {
                let scalar = scalar(text, &pspan, &value, style);
                let node = Node {
                    kind: Kind::Scalar(scalar),
                    span,
                    size: 1,
                };
                builder.finish(file, node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(target) = builder
                    .anchors
                    .iter()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                else {
                    return Err(Box::new(
                        Diagnostic::error(
                            file,
                            span,
                            "this alias refers to a node that is not finished yet",
                        )
                        .with_hint("an alias (`*name`) cannot refer to the node that contains it"),
                    ));
                };
                builder.finish(file, target, 0)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                builder.stack.push(Frame::Seq(Vec::new(), span, anchor))
            }
            Event::MappingStart(_, anchor, _) => {
                builder
                    .stack
                    .push(Frame::Map(Vec::new(), None, span, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(file, span)?,
            _ => {}
        }
    }
    Ok(builder.root)
}

fn to_span(span: &ParserSpan) -> Span {
    let (start, end) = (span.start, span.end);
    let len = if end.line() == start.line() {
        end.col().saturating_sub(start.col())
    } else {
        1
    };
    Span::new(start.line(), start.col() + 1, len)
}

fn scalar(source: &str, span: &ParserSpan, value: &str, style: ScalarStyle) -> Scalar {
    let written = span.byte_range().and_then(|r| source.get(r));
    let exact_offset = match (style, written) {
        (_, _) if span.start.line() != span.end.line() => None,
        (ScalarStyle::Plain, Some(w)) if w == value => Some(0),
        (ScalarStyle::DoubleQuoted, Some(w))
            if w.len() == value.len() + 2 && w[1..w.len() - 1] == *value =>
        {
            Some(1)
        }
        (ScalarStyle::SingleQuoted, Some(w))
            if w.len() == value.len() + 2 && w[1..w.len() - 1] == *value =>
        {
            Some(1)
        }
        _ => None,
    };
    Scalar {
        text: value.to_owned(),
        plain: style == ScalarStyle::Plain,
        exact_offset,
    }
}

enum Frame {
    Seq(Vec<Node>, Span, usize),
    Map(Vec<(Node, Node)>, Option<Node>, Span, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    nodes: usize,
}

impl Builder {
    fn finish(&mut self, file: &str, node: Node, anchor: usize) -> Result<(), Box<Diagnostic>> {
        self.nodes += node.size;
        if self.nodes > MAX_NODES {
            return Err(Box::new(
                Diagnostic::error(file, node.span, "the document expands to too many nodes")
                    .with_hint(
                        "aliases (`*name`) copy what they refer to; use fewer nested aliases",
                    ),
            ));
        }
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, pending, ..)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => *pending = Some(node),
            },
            None => self.root = Some(node),
        }
        Ok(())
    }

    fn close(&mut self, file: &str, end: Span) -> Result<(), Box<Diagnostic>> {
        let mut node = match self.stack.pop() {
            Some(Frame::Seq(items, span, anchor)) => {
                let size = 1 + items.iter().map(|n| n.size).sum::<usize>();
                (
                    Node {
                        kind: Kind::Seq(items),
                        span,
                        size,
                    },
                    anchor,
                )
            }
            Some(Frame::Map(entries, _, span, anchor)) => {
                let entries = apply_merges(entries);
                let size = 1 + entries.iter().map(|(k, v)| k.size + v.size).sum::<usize>();
                (
                    Node {
                        kind: Kind::Map(entries),
                        span,
                        size,
                    },
                    anchor,
                )
            }
            // The parser balances start and end events; an unbalanced end is ignored.
            None => return Ok(()),
        };
        // A flow collection closes on its own line: underline all of it, brackets included.
        let start = node.0.span;
        if end.line == start.line && end.column > start.column {
            node.0.span = Span::new(
                start.line,
                start.column,
                end.column + end.len - start.column,
            );
        }
        // Children were already counted when they finished; only the container itself is new.
        self.nodes = self.nodes.saturating_sub(node.0.size - 1);
        self.finish(file, node.0, node.1)
    }
}

/// YAML merge keys (`<<: *defaults` or `<<: [*a, *b]`): keys written in the mapping win, then
/// earlier merged mappings over later ones. A `<<` whose value is not a mapping is left in
/// place, so validation reports it as an unknown key.
fn apply_merges(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let is_merge = |k: &Node| k.as_scalar().is_some_and(|s| s.plain && s.text == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return entries;
    }
    let mut explicit = Vec::new();
    let mut merged = Vec::new();
    for (key, value) in entries {
        if !is_merge(&key) {
            explicit.push((key, value));
            continue;
        }
        match value.kind {
            Kind::Map(pairs) => merged.extend(pairs),
            Kind::Seq(items) => {
                for item in items {
                    match item.kind {
                        Kind::Map(pairs) => merged.extend(pairs),
                        _ => explicit.push((key.clone(), item)),
                    }
                }
            }
            Kind::Scalar(_) => explicit.push((key, value)),
        }
    }
    let text = |n: &Node| n.as_scalar().map(|s| s.text.clone());
    for (key, value) in merged {
        let name = text(&key);
        if name.is_none() || !explicit.iter().any(|(k, _)| text(k) == name) {
            explicit.push((key, value));
        }
    }
    explicit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_entries(node: &Node) -> &[(Node, Node)] {
        match &node.kind {
            Kind::Map(e) => e,
            other => panic!("expected map, got {other:?}"),
        }
    }

    #[test]
    fn keys_and_values_carry_exact_positions() {
        let text = "a: 1\nsvc:\n  repo: \"o/r\"\n  needs: [x, y]\n";
        let root = parse("f", text).expect("parses").expect("has a root");
        let entries = map_entries(&root);
        assert_eq!(entries[1].0.span, Span::new(2, 1, 3));
        let inner = map_entries(&entries[1].1);
        assert_eq!(inner[0].0.span, Span::new(3, 3, 4));
        assert_eq!(inner[0].1.span.column, 9);
        assert_eq!(inner[0].1.as_scalar().and_then(|s| s.exact_offset), Some(1));
        match &inner[1].1.kind {
            Kind::Seq(items) => assert_eq!(items[1].span, Span::new(4, 14, 1)),
            other => panic!("expected seq, got {other:?}"),
        }
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let root = parse("f", "a: 1\na: 2\n").expect("parses").expect("root");
        assert_eq!(map_entries(&root).len(), 2);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse("f", "a: [1, 2\nb: 3\n").expect_err("unterminated flow sequence");
        assert!(err.line >= 1, "{err:?}");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let err = parse("f", &text).expect_err("too big");
        assert!(err.message.contains("too many nodes"));
    }

    #[test]
    fn merge_keys_fill_in_what_is_not_written() {
        let text = "base: &b {repo: a/b, ref: main}\nsvc:\n  <<: *b\n  ref: dev\n";
        let root = parse("f", text).expect("parses").expect("root");
        let svc = map_entries(&map_entries(&root)[1].1)
            .iter()
            .map(|(k, v)| {
                let text = |n: &Node| n.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
                (text(k), text(v))
            })
            .collect::<Vec<_>>();
        assert_eq!(
            svc,
            [
                ("ref".to_owned(), "dev".to_owned()),
                ("repo".to_owned(), "a/b".to_owned())
            ]
        );
    }

    #[test]
    fn json_data_follows_the_yaml_1_2_core_schema() {
        let text = "a: [~, null, '', true, False, yes, on, 12, -3, +4, 0x1F, 0o17, 1.5, .5, 1e3, .inf, 1.2.0, '7', \"true\", 08]\n";
        let root = parse("f", text).expect("parses").expect("root");
        assert_eq!(
            to_json(&root),
            serde_json::json!({"a": [null, null, "", true, false, "yes", "on", 12, -3, 4, 31, 15, 1.5, 0.5, 1000.0, ".inf", "1.2.0", "7", "true", 8]})
        );
    }

    #[test]
    fn empty_document_has_no_root() {
        assert_eq!(parse("f", "# only a comment\n").expect("parses"), None);
    }

    #[test]
    fn second_document_is_an_error() {
        let err = parse("f", "a: 1\n---\nb: 2\n").expect_err("two documents");
        assert_eq!(err.line, 2);
    }
}
