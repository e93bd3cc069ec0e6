//! Workflow commands on stdout (`::group::`, `::error file=..::`, `::add-mask::`, ...) with the
//! runner's exact escaping: data escapes `%`, `\r`, `\n`; property values also `:` and `,`.
//! Formatting is pure; [`Workflow`] is the sink and redacts secrets from everything but the
//! masks themselves.

use std::borrow::Cow;
use std::io::{self, Write};

use super::mask::Masker;

/// Escapes a command message (toolkit `escapeData`). `%` goes first so escapes stay unique.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (toolkit `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Breaks the lines of plain text that the runner would run as workflow commands. The runner
/// reads stdout and stderr, splits lines at `\n` and `\r`, runs a line whose text (after
/// leading whitespace) starts with `::`, and the legacy form `##[cmd]` anywhere in a line. A
/// job name, GitHub message or archive name holding `\n::stop-commands::x` or
/// `##[add-mask]…` must stay text: a zero-width space goes between the two characters, so the
/// line reads the same and no longer parses.
pub fn defuse(text: &str) -> Cow<'_, str> {
    const ZWSP: char = '\u{200B}';
    let starts_command = |line: &str| line.trim_start().starts_with("::");
    if !text.contains("##[") && !text.split(['\n', '\r']).any(starts_command) {
        return Cow::Borrowed(text);
    }
    let legacy = format!("##{ZWSP}[");
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive(['\n', '\r']) {
        let body = line.trim_start();
        if starts_command(line) {
            out.push_str(&line[..line.len() - body.len()]);
            out.push(':');
            out.push(ZWSP);
            out.push_str(&body[1..].replace("##[", &legacy));
        } else {
            out.push_str(&line.replace("##[", &legacy));
        }
    }
    Cow::Owned(out)
}

/// `::name k=v,k=v::message`, properties with empty values left out like the toolkit does.
pub fn format_command(name: &str, properties: &[(&str, String)], message: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    if props.is_empty() {
        format!("::{name}::{}", escape_data(message))
    } else {
        format!("::{name} {}::{}", props.join(","), escape_data(message))
    }
}

/// Annotation kinds shown on the run page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Notice => "notice",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Where an annotation points; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub end_line: Option<usize>,
    pub col: Option<usize>,
    pub end_column: Option<usize>,
    pub title: Option<String>,
}

impl Location {
    /// The property list, with the runner's case-sensitive names.
    fn properties(&self) -> Vec<(&'static str, String)> {
        let num = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
        vec![
            ("file", self.file.clone().unwrap_or_default()),
            ("line", num(self.line)),
            ("endLine", num(self.end_line)),
            ("col", num(self.col)),
            ("endColumn", num(self.end_column)),
            ("title", self.title.clone().unwrap_or_default()),
        ]
    }
}

/// Writes workflow commands to the step's stdout. `announce_masks` is false outside Actions,
/// where `::add-mask::` lines would only be noise (redaction still applies).
#[derive(Debug)]
pub struct Workflow<W: Write> {
    out: W,
    masker: Masker,
    announce_masks: bool,
}

impl<W: Write> Workflow<W> {
    pub fn new(out: W, masker: Masker, announce_masks: bool) -> Workflow<W> {
        Workflow {
            out,
            masker,
            announce_masks,
        }
    }

    /// Registers a secret and, in Actions, tells the runner to mask each new fragment. Call
    /// this before anything that might print the secret.
    pub fn add_mask(&mut self, secret: &str) -> io::Result<()> {
        for fragment in self.masker.register(secret) {
            if self.announce_masks {
                writeln!(self.out, "{}", format_command("add-mask", &[], &fragment))?;
            }
        }
        self.out.flush()
    }

    pub fn group(&mut self, title: &str) -> io::Result<()> {
        self.command("group", &[], title)
    }

    pub fn end_group(&mut self) -> io::Result<()> {
        self.command("endgroup", &[], "")
    }

    pub fn debug(&mut self, message: &str) -> io::Result<()> {
        self.command("debug", &[], message)
    }

    pub fn annotate(&mut self, level: Level, location: &Location, message: &str) -> io::Result<()> {
        let props = location.properties();
        self.command(level.command(), &props, message)
    }

    /// A plain line of text (not a command), redacted. In Actions it is also defused, so text
    /// from GitHub or an archive cannot run a workflow command; outside, stdout is data (`plan
    /// --format json`) and stays exact.
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        let redacted = self.masker.redact(text);
        if self.announce_masks {
            writeln!(self.out, "{}", defuse(&redacted))
        } else {
            writeln!(self.out, "{redacted}")
        }
    }

    fn command(
        &mut self,
        name: &str,
        properties: &[(&str, String)],
        message: &str,
    ) -> io::Result<()> {
        let properties: Vec<(&str, String)> = properties
            .iter()
            .map(|(k, v)| (*k, self.masker.redact(v)))
            .collect();
        let line = format_command(name, &properties, &self.masker.redact(message));
        writeln!(self.out, "{line}")
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::runner::{parse_command, unescape_data};

    fn written(f: impl FnOnce(&mut Workflow<Vec<u8>>) -> io::Result<()>) -> String {
        let mut wf = Workflow::new(Vec::new(), Masker::new(), true);
        f(&mut wf).expect("writing to a Vec cannot fail");
        String::from_utf8(wf.into_inner()).expect("utf-8")
    }

    #[test]
    fn escapes_exactly_like_the_toolkit() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
        // `%0A` typed literally must survive a round trip, hence `%` first.
        assert_eq!(unescape_data(&escape_data("100%0A")), "100%0A");
    }

    #[test]
    fn error_annotation_round_trips_through_the_runner_parser() {
        let loc = Location {
            file: Some("plans/a,b:c.yml".into()),
            line: Some(3),
            col: Some(7),
            title: Some("bad: plan, really".into()),
            ..Location::default()
        };
        let out = written(|w| w.annotate(Level::Error, &loc, "unknown key `x`\nsecond line 50%"));
        assert_eq!(
            out,
            "::error file=plans/a%2Cb%3Ac.yml,line=3,col=7,title=bad%3A plan%2C really::unknown key `x`%0Asecond line 50%25\n"
        );
        let command = parse_command(out.trim_end()).expect("parses");
        assert_eq!(command.name, "error");
        assert_eq!(
            command.properties,
            [
                ("col".to_owned(), "7".to_owned()),
                ("file".to_owned(), "plans/a,b:c.yml".to_owned()),
                ("line".to_owned(), "3".to_owned()),
                ("title".to_owned(), "bad: plan, really".to_owned()),
            ]
            .into()
        );
        assert_eq!(command.message, "unknown key `x`\nsecond line 50%");
    }

    #[test]
    fn groups_warnings_notices_and_debug() {
        let out = written(|w| {
            w.group("Plan: a, b")?;
            w.annotate(Level::Warning, &Location::default(), "careful")?;
            w.annotate(Level::Notice, &Location::default(), "fyi")?;
            w.debug("x=1")?;
            w.end_group()
        });
        assert_eq!(
            out,
            "::group::Plan: a, b\n::warning::careful\n::notice::fyi\n::debug::x=1\n::endgroup::\n"
        );
    }

    #[test]
    fn masks_come_first_and_later_lines_are_redacted() {
        let out = written(|w| {
            w.add_mask("ghp_secret%1")?;
            w.add_mask("-----BEGIN-----\nAAAA\n-----END-----")?;
            w.add_mask("   ")?;
            w.line("token=ghp_secret%1 key=AAAA")?;
            w.annotate(
                Level::Error,
                &Location {
                    title: Some("ghp_secret%1".into()),
                    ..Location::default()
                },
                "AAAA",
            )
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "::add-mask::ghp_secret%251",
                "::add-mask::-----BEGIN-----",
                "::add-mask::AAAA",
                "::add-mask::-----END-----",
                "token=*** key=***",
                "::error title=***::***",
            ]
        );
        let masked = parse_command(lines[0]).expect("parses").message;
        assert_eq!(masked, "ghp_secret%1");
    }

    #[test]
    fn text_cannot_smuggle_workflow_commands() {
        let hostile = "deploy (job `x\n  ::stop-commands::pwn`)\r::error::forged\nok ##[add-mask]y";
        let out = written(|w| w.line(hostile));
        for line in out.split(['\n', '\r']) {
            assert!(
                parse_command(line).is_none(),
                "{line:?} parses as a command"
            );
            assert!(!line.contains("##["), "{line:?}");
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
        }
        assert_eq!(out.replace('\u{200B}', ""), format!("{hostile}\n"));
        assert!(matches!(defuse("plain :: text ## [x]"), Cow::Borrowed(_)));
        // Outside Actions stdout is data and stays byte for byte.
        let mut wf = Workflow::new(Vec::new(), Masker::new(), false);
        wf.line("::x::y").expect("vec");
        assert_eq!(
            String::from_utf8(wf.into_inner()).expect("utf-8"),
            "::x::y\n"
        );
    }

    #[test]
    fn masks_are_not_announced_outside_actions_but_still_redact() {
        let mut wf = Workflow::new(Vec::new(), Masker::new(), false);
        wf.add_mask("tok123").expect("vec");
        wf.line("use tok123").expect("vec");
        assert_eq!(
            String::from_utf8(wf.into_inner()).expect("utf-8"),
            "use ***\n"
        );
    }
}
