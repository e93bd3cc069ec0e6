//! Serde helpers that give the report's JSON readable times: RFC 3339 instants and durations
//! in seconds, instead of serde's struct form of `SystemTime` and `Duration`.

use std::time::{Duration, SystemTime};

use serde::Serializer;

pub(crate) fn rfc3339<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_seconds(*at))
}

pub(crate) fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(round_ms(*d)),
        None => s.serialize_none(),
    }
}

/// Seconds with millisecond precision, so JSON stays short and stable.
pub(crate) fn round_ms(d: Duration) -> f64 {
    (d.as_millis() as f64) / 1000.0
}
