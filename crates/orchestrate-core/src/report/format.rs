//! Small text helpers shared by the renderers: durations, Markdown escaping, outcome badges.

use std::time::Duration;

use super::{HealthVerdict, ReleaseStatus, ServiceOutcome};

/// A duration as people read it: `<1s`, `42s`, `3m 05s`, `1h 02m`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => "<1s".to_owned(),
        1..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// An optional duration, `–` when unknown.
pub fn opt_duration(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".to_owned(), duration)
}

/// Text safe inside a Markdown table cell: no pipes, no line breaks, no HTML.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Inline code inside a table cell: entities do not decode in code spans, so only pipes,
/// backticks and line breaks are neutralised.
pub fn code(text: &str) -> String {
    let inner: String = text
        .chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect();
    format!("`{}`", inner.replace('|', "\\|"))
}

/// A Markdown link whose text is escaped for a table cell.
pub fn link(text: &str, url: &str) -> String {
    format!(
        "[{}]({})",
        cell(text).replace(']', "\\]"),
        url.replace(')', "%29")
    )
}

pub fn status_icon(status: ReleaseStatus) -> &'static str {
    match status {
        ReleaseStatus::Succeeded => "✅",
        ReleaseStatus::Failed => "❌",
        ReleaseStatus::RolledBack => "↩️",
        ReleaseStatus::Cancelled => "⏹️",
        ReleaseStatus::Planned => "📝",
        ReleaseStatus::InProgress => "⏳",
    }
}

pub fn outcome_icon(outcome: ServiceOutcome) -> &'static str {
    match outcome {
        ServiceOutcome::Succeeded => "✅",
        ServiceOutcome::Failed => "❌",
        ServiceOutcome::Cancelled => "⏹️",
        ServiceOutcome::Skipped => "⏭️",
        ServiceOutcome::TimedOut => "⏱️",
        ServiceOutcome::RolledBack => "↩️",
        ServiceOutcome::Halted => "⏸️",
        ServiceOutcome::NotInRelease => "➖",
        ServiceOutcome::Planned => "📝",
    }
}

/// The health verdict in a few words.
pub fn health(verdict: &HealthVerdict) -> String {
    match verdict {
        HealthVerdict::NotChecked => "not checked".to_owned(),
        HealthVerdict::NoCheck => "no check configured".to_owned(),
        HealthVerdict::Passed { attempts } => format!("✅ passed ({})", plural(*attempts, "check")),
        HealthVerdict::Failed { attempts, reason } => {
            format!("❌ failed after {}: {reason}", plural(*attempts, "check"))
        }
    }
}

/// `1 check`, `3 checks`.
pub fn plural<N: std::fmt::Display + PartialEq + From<u8>>(n: N, word: &str) -> String {
    count(n, word, &format!("{word}s"))
}

/// `n` with the singular or the plural given: `1 repository`, `2 repositories`.
pub fn count<N: std::fmt::Display + PartialEq + From<u8>>(n: N, one: &str, many: &str) -> String {
    if n == N::from(1) {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(duration(Duration::from_millis(400)), "<1s");
        assert_eq!(duration(Duration::from_secs(42)), "42s");
        assert_eq!(duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h 02m");
        assert_eq!(opt_duration(None), "–");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
        assert_eq!(code("a|`b<"), "`a\\|'b<`");
        assert_eq!(link("x]y", "http://h/a)b"), "[x\\]y](http://h/a%29b)");
    }
}
