//! Step outputs in `$GITHUB_OUTPUT`: one heredoc entry per output,
//! `name<<ghadelimiter_<uuid v4>\nvalue\nghadelimiter_<uuid>\n`, as the toolkit writes them, so
//! any value (newlines, `=`, `<<`, unicode) reaches the runner intact.

use std::io::{self, Write};

use super::mask::Masker;

/// Why an output was not written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "output name `{0}` is not usable: it must be non-empty and contain no `=`, `<<` or line break"
    )]
    BadName(String),
    #[error("output `{0}` contains the delimiter `{1}`; refusing to write it")]
    ContainsDelimiter(String, String),
    #[error("writing output `{name}`")]
    Io {
        name: String,
        #[source]
        source: io::Error,
    },
}

/// A fresh delimiter, unguessable so that a value cannot end its own entry.
pub fn new_delimiter() -> String {
    format!("ghadelimiter_{}", uuid::Uuid::new_v4())
}

/// One entry in the runner's heredoc form. Names with `=` or `<<` are refused, stricter than
/// the toolkit: the runner picks the `NAME=VALUE` form when `=` comes first, and a name holding
/// `<<` would move where the delimiter starts.
pub fn format_output(name: &str, value: &str, delimiter: &str) -> Result<String, OutputError> {
    if name.is_empty() || name.contains(['=', '\n', '\r']) || name.contains("<<") {
        return Err(OutputError::BadName(name.to_owned()));
    }
    if name.contains(delimiter) || value.contains(delimiter) {
        return Err(OutputError::ContainsDelimiter(
            name.to_owned(),
            delimiter.to_owned(),
        ));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// Appends outputs to the output file (or any writer), redacting secrets from values.
#[derive(Debug)]
pub struct OutputWriter<W: Write> {
    out: W,
    masker: Masker,
}

impl<W: Write> OutputWriter<W> {
    pub fn new(out: W, masker: Masker) -> OutputWriter<W> {
        OutputWriter { out, masker }
    }

    /// Writes one output with its own fresh delimiter.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), OutputError> {
        let entry = format_output(name, &self.masker.redact(value), &new_delimiter())?;
        self.out
            .write_all(entry.as_bytes())
            .and_then(|()| self.out.flush())
            .map_err(|source| OutputError::Io {
                name: name.to_owned(),
                source,
            })
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gha::runner::parse_env_file as parse;

    fn write_all(pairs: &[(&str, &str)], masker: Masker) -> String {
        let mut writer = OutputWriter::new(Vec::new(), masker);
        for (name, value) in pairs {
            writer.set(name, value).expect("valid output");
        }
        String::from_utf8(writer.into_inner()).expect("utf-8")
    }

    #[test]
    fn tricky_values_round_trip_through_the_runner_parser() {
        let pairs = [
            ("plain", "succeeded"),
            ("empty", ""),
            ("multi", "line one\nline two\n\nline four"),
            ("trailing_newline", "ends with newline\n"),
            ("equals", "a=b=c"),
            ("heredoc_lookalike", "x<<EOF\nEOF\n=<<"),
            ("unicode", "déploiement ✓ 部署 🚀"),
            ("json", r#"{"backend":{"id":1,"url":"https://x/y?a=b"}}"#),
            ("crlf", "windows\r\nline"),
        ];
        let text = write_all(&pairs, Masker::new());
        let parsed = parse(&text).expect("the runner accepts it");
        assert_eq!(parsed.len(), pairs.len());
        for (name, value) in pairs {
            assert_eq!(
                parsed.get(name).map(String::as_str),
                Some(value),
                "output {name}"
            );
        }
    }

    #[test]
    fn each_entry_uses_a_fresh_uuid_delimiter() {
        let text = write_all(&[("a", "1"), ("b", "2")], Masker::new());
        let heads: Vec<&str> = text.lines().filter(|l| l.contains("<<")).collect();
        assert_eq!(heads.len(), 2);
        let delims: Vec<&str> = heads
            .iter()
            .filter_map(|h| h.split_once("<<"))
            .map(|(_, d)| d)
            .collect();
        assert_ne!(delims[0], delims[1]);
        for d in delims {
            let uuid = d.strip_prefix("ghadelimiter_").expect("prefix");
            assert_eq!(
                uuid::Uuid::parse_str(uuid).map(|u| u.get_version_num()),
                Ok(4)
            );
        }
    }

    #[test]
    fn refuses_values_and_names_containing_the_delimiter_or_bad_names() {
        let d = "ghadelimiter_fixed";
        assert!(matches!(
            format_output("x", "before\nghadelimiter_fixed\nafter", d),
            Err(OutputError::ContainsDelimiter(..))
        ));
        assert!(matches!(
            format_output("ghadelimiter_fixed", "v", d),
            Err(OutputError::ContainsDelimiter(..))
        ));
        for bad in ["", "a=b", "a<<b", "a\nb"] {
            assert!(
                matches!(format_output(bad, "v", d), Err(OutputError::BadName(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            format_output("ok", "v", d).expect("valid"),
            "ok<<ghadelimiter_fixed\nv\nghadelimiter_fixed\n"
        );
    }

    #[test]
    fn secrets_never_reach_the_output_file() {
        let masker = Masker::new();
        masker.register("ghp_topsecret");
        let text = write_all(&[("report", "token ghp_topsecret used")], masker);
        assert!(!text.contains("ghp_topsecret"));
        let parsed = parse(&text).expect("parses");
        assert_eq!(parsed["report"], "token *** used");
    }

    #[test]
    fn runner_parser_rejects_what_the_runner_rejects() {
        assert!(
            parse("name<<EOF\nvalue\n")
                .expect_err("rejected")
                .contains("Matching delimiter not found")
        );
        assert!(
            parse("name<<EOF\nvalue")
                .expect_err("rejected")
                .contains("EOF marker missing new line")
        );
        assert!(
            parse("<<EOF\nEOF\n")
                .expect_err("rejected")
                .contains("Name must not be empty")
        );
        assert!(
            parse("garbage\n")
                .expect_err("rejected")
                .contains("Invalid format")
        );
        let later_wins = parse("a=1\n\na=2\n").expect("parses");
        assert_eq!(later_wins["a"], "2");
    }
}
