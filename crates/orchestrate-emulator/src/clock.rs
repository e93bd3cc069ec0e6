//! Emulated time: real time, optionally accelerated by a factor and shifted by hand, so a
//! 30-minute release can be rehearsed in seconds and tests can jump over waits.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

/// The emulator's clock. Every run timestamp and every lifecycle transition is read from it;
/// run status is computed lazily from `now()`, so no background task is needed.
#[derive(Debug)]
pub struct Clock {
    origin_real: Instant,
    origin_emulated: DateTime<Utc>,
    factor: f64,
    offset: Mutex<Duration>,
}

impl Clock {
    /// A clock starting at `start` (default: the current wall time) and running `factor` times
    /// faster than real time. A factor of zero freezes the clock (only `advance` moves it).
    pub fn new(start: Option<DateTime<Utc>>, factor: f64) -> Self {
        Self {
            origin_real: Instant::now(),
            origin_emulated: start.unwrap_or_else(Utc::now),
            factor: if factor.is_finite() && factor >= 0.0 {
                factor
            } else {
                1.0
            },
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// The current emulated time.
    pub fn now(&self) -> DateTime<Utc> {
        let real = self.origin_real.elapsed().mul_f64(self.factor);
        let offset = *self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = chrono::Duration::from_std(real + offset).unwrap_or(chrono::Duration::MAX);
        self.origin_emulated + elapsed
    }

    /// Jumps the emulated time forward (tests use this instead of sleeping).
    pub fn advance(&self, by: Duration) {
        let mut offset = self
            .offset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *offset += by;
    }

    /// The acceleration factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }
}

/// GitHub's timestamp format: RFC 3339, whole seconds, `Z`.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Adds a std duration to an emulated instant (saturating).
pub fn plus(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let clock = Clock::new(Some(start), 0.0);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(rfc3339(clock.now()), "2026-01-01T00:01:30Z");
    }

    #[test]
    fn accelerated_clock_runs_ahead_of_real_time() {
        let clock = Clock::new(None, 1000.0);
        let before = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() - before >= chrono::Duration::seconds(15));
    }
}
