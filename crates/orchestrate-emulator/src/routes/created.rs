//! The `created` filter of the run lists: GitHub's search date syntax (`>=X`, `>X`, `<=X`,
//! `<X`, `X..Y`, `X`), each bound a date or a date-time.

use chrono::{DateTime, NaiveDate, Utc};

/// A half-open or closed time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Created {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
}

impl Created {
    /// Whether `at` lies in the range.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| at >= f) && self.until.is_none_or(|u| at < u)
    }
}

/// One bound: its start, and the start of the next unit (next day for a date, next second for
/// a date-time), so `<=X` and `>X` treat a whole day or second as one value.
fn bound(text: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        let at = at.to_utc();
        return Some((at, at + chrono::Duration::seconds(1)));
    }
    if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S") {
        let at = naive.and_utc();
        return Some((at, at + chrono::Duration::seconds(1)));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let start = date.and_hms_opt(0, 0, 0)?.and_utc();
    Some((start, start + chrono::Duration::days(1)))
}

/// Parses a `created` value; `None` when it is not valid search syntax.
pub fn parse(value: &str) -> Option<Created> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix(">=") {
        return bound(rest).map(|(start, _)| Created {
            from: Some(start),
            until: None,
        });
    }
    if let Some(rest) = value.strip_prefix("<=") {
        return bound(rest).map(|(_, next)| Created {
            from: None,
            until: Some(next),
        });
    }
    if let Some(rest) = value.strip_prefix('>') {
        return bound(rest).map(|(_, next)| Created {
            from: Some(next),
            until: None,
        });
    }
    if let Some(rest) = value.strip_prefix('<') {
        return bound(rest).map(|(start, _)| Created {
            from: None,
            until: Some(start),
        });
    }
    if let Some((low, high)) = value.split_once("..") {
        let from = if low == "*" {
            None
        } else {
            Some(bound(low)?.0)
        };
        let until = if high == "*" {
            None
        } else {
            Some(bound(high)?.1)
        };
        return Some(Created { from, until });
    }
    bound(value).map(|(start, next)| Created {
        from: Some(start),
        until: Some(next),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("valid").to_utc()
    }

    #[test]
    fn every_operator_and_unit() {
        let t = at("2026-03-01T12:00:00Z");
        assert!(parse(">=2026-03-01T12:00:00Z").expect("ok").contains(t));
        assert!(!parse(">2026-03-01T12:00:00Z").expect("ok").contains(t));
        assert!(parse("<=2026-03-01").expect("ok").contains(t));
        assert!(!parse("<2026-03-01").expect("ok").contains(t));
        assert!(!parse(">2026-03-01").expect("ok").contains(t));
        assert!(parse("2026-02-28..2026-03-01").expect("ok").contains(t));
        assert!(parse("2026-03-01T11:00:00Z..*").expect("ok").contains(t));
        assert!(parse("2026-03-01").expect("ok").contains(t));
        assert!(!parse("2026-03-02").expect("ok").contains(t));
        assert_eq!(parse("yesterday"), None);
    }
}
