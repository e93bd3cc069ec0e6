//! Diagnostics for plan files and inputs: what went wrong, where, and how to fix it, plus a
//! renderer that prints them the way rustc and cargo-deny do.

use std::fmt::Write as _;

/// Where something is in a source text: a 1-based line, a 1-based column counted in
/// characters, and how many characters to underline on that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub len: usize,
}

impl Span {
    /// A span on one line; `len` is clamped to at least one character so a caret always shows.
    pub fn new(line: usize, column: usize, len: usize) -> Span {
        Span {
            line: line.max(1),
            column: column.max(1),
            len: len.max(1),
        }
    }

    /// The start of a text.
    pub fn start() -> Span {
        Span::new(1, 1, 1)
    }

    /// A span `offset` characters into this one (for a part of a one-line scalar).
    pub fn narrow(self, offset: usize, len: usize) -> Span {
        Span::new(self.line, self.column + offset, len)
    }
}

/// How bad a diagnostic is: errors stop the release, warnings are shown and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error,
    Warning,
}

/// One problem found in a plan file or an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Level,
    /// The file (or input name) the problem is in, as given by the caller.
    pub file: String,
    /// 1-based line; `0` when the problem concerns the input as a whole (no snippet shown).
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Characters underlined from `column`.
    pub len: usize,
    pub message: String,
    /// Short text printed next to the carets.
    pub label: Option<String>,
    /// How to fix it, printed as `= help: ...`.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Level::Error, file, span, message)
    }

    pub fn warning(file: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Level::Warning, file, span, message)
    }

    /// A problem with a whole input rather than a place in it.
    pub fn unlocated(file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            line: 0,
            column: 0,
            len: 0,
            ..Diagnostic::new(Level::Error, file, Span::start(), message)
        }
    }

    fn new(severity: Level, file: &str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            file: file.to_owned(),
            line: span.line,
            column: span.column,
            len: span.len,
            message: message.into(),
            label: None,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Level::Error
    }
}

/// One line: `file:line:column: error: message` (for logs and annotations).
impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {level}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {level}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// The closest candidate to `word`, if one is close enough to be a plausible typo: one edit
/// away (a letter added, dropped, changed, or two neighbours swapped, which Jaro-Winkler
/// scores low in short words such as `wbe` for `web`), or similar by Jaro-Winkler. One edit
/// away beats similar; ties go to the higher Jaro-Winkler score.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let long_enough = word.chars().count() >= 2;
    let one_edit = |c: &str| long_enough && strsim::osa_distance(word, c) <= 1;
    candidates
        .into_iter()
        .map(|c| (one_edit(c), strsim::jaro_winkler(word, c), c))
        .filter(|(near, score, _)| *near || *score >= 0.8)
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| c)
}

/// `did you mean `x`?` when a candidate is close, else a list of what is allowed.
pub fn suggestion(word: &str, candidates: &[&str], what: &str) -> Option<String> {
    if let Some(close) = did_you_mean(word, candidates.iter().copied()) {
        return Some(format!("did you mean `{close}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
    Some(format!("{what}: {}", list.join(", ")))
}

/// Renders diagnostics like a compiler: headline, location arrow, the source line with carets,
/// and the hint. `source` is the text the diagnostics point into (render diagnostics of
/// different inputs separately).
pub fn render_diagnostics(diags: &[Diagnostic], source: &str) -> String {
    let lines = source_lines(source);
    let mut out = String::new();
    for (i, diag) in diags.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, diag, &lines);
    }
    out
}

/// Splits like YAML does: `\r\n`, `\n` and a lone `\r` each end a line, so line numbers
/// from the parser find the right text.
pub(crate) fn source_lines(source: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&source[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&source[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < source.len() {
        lines.push(&source[start..]);
    }
    lines
}

fn render_one(out: &mut String, diag: &Diagnostic, lines: &[&str]) {
    let level = match diag.severity {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "{level}: {}", diag.message);
    let source_line = diag.line.checked_sub(1).and_then(|i| lines.get(i));
    let gutter = " ".repeat(diag.line.to_string().len());
    if diag.line == 0 {
        let _ = writeln!(out, "{gutter}--> {}", diag.file);
    } else {
        let _ = writeln!(
            out,
            "{gutter}--> {}:{}:{}",
            diag.file, diag.line, diag.column
        );
    }
    if let Some(text) = source_line {
        // Tabs become one space so the caret column (counted in characters) still lines up.
        let shown: String = text
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let width = shown.chars().count();
        let start = diag.column.saturating_sub(1).min(width);
        let len = diag.len.max(1).min(width.saturating_sub(start).max(1));
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{} | {}", diag.line, shown.trim_end());
        let carets = format!("{}{}", " ".repeat(start), "^".repeat(len));
        match &diag.label {
            Some(label) => {
                let _ = writeln!(out, "{gutter} | {carets} {label}");
            }
            None => {
                let _ = writeln!(out, "{gutter} | {carets}");
            }
        }
    } else if let Some(label) = &diag.label {
        let _ = writeln!(out, "{gutter} = note: {label}");
    }
    if let Some(hint) = &diag.hint {
        if source_line.is_some() {
            let _ = writeln!(out, "{gutter} |");
        }
        let _ = writeln!(out, "{gutter} = help: {hint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_the_span_with_hint() {
        let source = "version: 1\nservices:\n  api:\n    worklfow: x.yml\n";
        let diag = Diagnostic::error("plan.yml", Span::new(4, 5, 8), "unknown key `worklfow`")
            .with_label("unknown key")
            .with_hint("did you mean `workflow`?");
        let text = render_diagnostics(&[diag], source);
        assert_eq!(
            text,
            "error: unknown key `worklfow`\n --> plan.yml:4:5\n  |\n4 |     worklfow: x.yml\n  |     ^^^^^^^^ unknown key\n  |\n  = help: did you mean `workflow`?\n"
        );
    }

    #[test]
    fn unlocated_diagnostic_has_no_snippet() {
        let diag =
            Diagnostic::unlocated("versions", "input `versions` is empty").with_hint("give one");
        let text = render_diagnostics(&[diag], "");
        assert_eq!(
            text,
            "error: input `versions` is empty\n --> versions\n  = help: give one\n"
        );
    }

    #[test]
    fn display_is_one_line() {
        let diag = Diagnostic::error("plan.yml", Span::new(3, 7, 2), "bad");
        assert_eq!(diag.to_string(), "plan.yml:3:7: error: bad");
        assert_eq!(
            Diagnostic::unlocated("versions", "empty").to_string(),
            "versions: error: empty"
        );
    }

    #[test]
    fn splits_lines_like_yaml() {
        assert_eq!(source_lines("a\r\nb\rc\nd"), ["a", "b", "c", "d"]);
        assert_eq!(source_lines("a\n"), ["a"]);
        assert!(source_lines("").is_empty());
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("worklfow", ["workflow", "repo"]),
            Some("workflow")
        );
        assert_eq!(did_you_mean("zzz", ["workflow", "repo"]), None);
        assert_eq!(
            suggestion("zzz", &["a", "b"], "expected one of").as_deref(),
            Some("expected one of: `a`, `b`")
        );
    }

    #[test]
    fn suggests_short_names_one_edit_away() {
        let services = ["backend", "ios", "android", "web"];
        let cases = [
            ("wbe", Some("web")),         // swapped neighbours
            ("iso", Some("ios")),         // swapped neighbours
            ("eb", Some("web")),          // a dropped letter
            ("Web", Some("web")),         // a changed letter
            ("bakcedn", Some("backend")), // two edits away: Jaro-Winkler alone
            ("mac", None),
        ];
        for (word, expected) in cases {
            assert_eq!(did_you_mean(word, services), expected, "{word}");
        }
        assert_eq!(did_you_mean("x", ["y"]), None, "one letter is no evidence");
        assert_eq!(
            did_you_mean("iso", ["isolated", "ios"]),
            Some("ios"),
            "one edit away beats a long shared prefix"
        );
    }
}
