//! Counters of what the GitHub layer spent: requests, requests counted against the rate limit,
//! 304s, retries, and the last rate-limit headers seen (which also drive budget pacing).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::pacing::RateHeaders;

#[derive(Debug, Default)]
pub struct RequestStats {
    requests: AtomicU64,
    counted: AtomicU64,
    not_modified: AtomicU64,
    retries: AtomicU64,
    rate: Mutex<RateHeaders>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP responses received (any status).
    pub requests: u64,
    /// Responses that cost rate limit (everything but a 304).
    pub counted: u64,
    pub not_modified: u64,
    /// Requests re-sent after a 5xx, a network error or a rate limit.
    pub retries: u64,
    pub rate: RateHeaders,
}

impl From<StatsSnapshot> for orchestrate_core::report::ApiStats {
    fn from(s: StatsSnapshot) -> Self {
        orchestrate_core::report::ApiStats {
            requests: s.requests,
            counted: s.counted,
            not_modified: s.not_modified,
            rate_limit_remaining: s.rate.remaining,
        }
    }
}

impl RequestStats {
    pub(crate) fn record(&self, status: u16, rate: RateHeaders) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status == 304 {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counted.fetch_add(1, Ordering::Relaxed);
        }
        if rate.remaining.is_some() || rate.reset.is_some() {
            let mut last = self.rate.lock().unwrap_or_else(|e| e.into_inner());
            *last = RateHeaders {
                retry_after: None,
                ..rate
            };
        }
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            counted: self.counted.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate: *self.rate.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_304_is_not_counted_against_the_limit() {
        let stats = RequestStats::default();
        let rate = RateHeaders {
            limit: Some(5000),
            remaining: Some(4999),
            reset: Some(9),
            retry_after: Some(3),
            date: None,
        };
        stats.record(200, rate);
        stats.record(304, RateHeaders::default());
        stats.record_retry();
        let s = stats.snapshot();
        assert_eq!(
            (s.requests, s.counted, s.not_modified, s.retries),
            (2, 1, 1, 1)
        );
        assert_eq!(s.rate.remaining, Some(4999));
        assert_eq!(s.rate.retry_after, None);
        let api: orchestrate_core::report::ApiStats = s.into();
        assert_eq!(api.rate_limit_remaining, Some(4999));
    }
}
