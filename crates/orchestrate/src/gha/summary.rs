//! The job summary in `$GITHUB_STEP_SUMMARY`. The runner drops (does not truncate) a summary
//! over 1 MiB, so we cap it ourselves under that, cut at a line (or at least a UTF-8) boundary
//! and say visibly that it was cut.

use std::io::{self, Write};

use super::mask::Masker;

/// Hard cap for one step's summary, safely under the runner's 1024 * 1024 bytes.
pub const SUMMARY_LIMIT: usize = 1_000_000;

/// Appended after a cut, so readers know the summary is incomplete and where the rest is.
pub const TRUNCATION_MARKER: &str = "\n\n> [!WARNING]\n> This summary was truncated to stay under GitHub's 1 MiB limit. The full report is in the `report` output.\n";

/// `markdown` cut to at most `budget` bytes including the marker; unchanged when it fits.
/// Prefers the last line break that fits, so no table row or code fence is split mid-line.
pub fn truncate(markdown: &str, budget: usize) -> (String, bool) {
    if markdown.len() <= budget {
        return (markdown.to_owned(), false);
    }
    let room = budget.saturating_sub(TRUNCATION_MARKER.len());
    let mut cut = room.min(markdown.len());
    while !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(line_end) = markdown[..cut].rfind('\n') {
        cut = line_end + 1;
    }
    let mut out = String::with_capacity(cut + TRUNCATION_MARKER.len());
    out.push_str(&markdown[..cut]);
    if room > 0 {
        out.push_str(TRUNCATION_MARKER);
    }
    (out, true)
}

/// Appends Markdown to the summary file, redacted and capped. `existing` is how many bytes the
/// file already holds (the runner creates it empty, but an earlier write in this step counts).
#[derive(Debug)]
pub struct SummaryWriter<W: Write> {
    out: W,
    masker: Masker,
    written: usize,
    limit: usize,
}

impl<W: Write> SummaryWriter<W> {
    pub fn new(out: W, masker: Masker, existing: usize) -> SummaryWriter<W> {
        SummaryWriter::with_limit(out, masker, existing, SUMMARY_LIMIT)
    }

    pub fn with_limit(out: W, masker: Masker, existing: usize, limit: usize) -> SummaryWriter<W> {
        SummaryWriter {
            out,
            masker,
            written: existing,
            limit,
        }
    }

    /// Appends; returns whether the text had to be cut. Once full, further appends write
    /// nothing and report a cut.
    pub fn append(&mut self, markdown: &str) -> io::Result<bool> {
        let redacted = self.masker.redact(markdown);
        let budget = self.limit.saturating_sub(self.written);
        let (text, truncated) = truncate(&redacted, budget);
        self.out.write_all(text.as_bytes())?;
        self.out.flush()?;
        self.written += text.len();
        if truncated {
            // Nothing more fits after the marker; stop later appends from adding to it.
            self.written = self.limit;
        }
        Ok(truncated)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_summaries_are_written_unchanged_and_redacted() {
        let masker = Masker::new();
        masker.register("tok");
        let mut w = SummaryWriter::new(Vec::new(), masker, 0);
        assert!(!w.append("# Release\nauth tok\n").expect("vec"));
        assert_eq!(
            String::from_utf8(w.into_inner()).expect("utf-8"),
            "# Release\nauth ***\n"
        );
    }

    #[test]
    fn huge_summaries_stay_under_the_limit_with_a_marker_at_a_line_boundary() {
        let row = "| backend | 1.2.0 → 1.3.0 | ✅ succeeded | [run](https://github.com/o/r/actions/runs/1) |\n";
        let huge = row.repeat(SUMMARY_LIMIT / row.len() + 100);
        let mut w = SummaryWriter::new(Vec::new(), Masker::new(), 0);
        assert!(w.append(&huge).expect("vec"));
        let out = String::from_utf8(w.into_inner()).expect("cut at a char boundary");
        assert!(out.len() <= SUMMARY_LIMIT, "{} bytes", out.len());
        assert!(out.len() < 1024 * 1024);
        assert!(out.ends_with(TRUNCATION_MARKER));
        let body = out.strip_suffix(TRUNCATION_MARKER).expect("marker");
        assert!(body.ends_with(row), "cut mid-row");
    }

    #[test]
    fn cuts_multibyte_text_without_lines_at_a_char_boundary() {
        let text = "é".repeat(200);
        let (out, cut) = truncate(&text, TRUNCATION_MARKER.len() + 51);
        assert!(cut);
        let body = out.strip_suffix(TRUNCATION_MARKER).expect("marker");
        assert_eq!(body.len(), 50, "25 two-byte chars");
    }

    #[test]
    fn existing_content_counts_against_the_limit_and_a_full_summary_takes_nothing_more() {
        let limit = TRUNCATION_MARKER.len() + 20;
        let mut w = SummaryWriter::with_limit(Vec::new(), Masker::new(), 10, limit);
        let text = format!("0123456789\n{}\n", "x".repeat(limit));
        assert!(w.append(&text).expect("vec"));
        assert!(w.append("more\n").expect("vec"));
        let out = String::from_utf8(w.into_inner()).expect("utf-8");
        assert_eq!(out, format!("0123456789{TRUNCATION_MARKER}"));
    }
}
