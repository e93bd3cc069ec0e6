//! The primary rate limit: a real per-token budget over a one-hour window of wall time, with
//! the numbers GitHub reports in its `x-ratelimit-*` headers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

/// Length of a rate-limit window.
const WINDOW_SECS: i64 = 3600;

/// The state of one token's budget, as reported in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// `x-ratelimit-limit`.
    pub limit: u32,
    /// `x-ratelimit-remaining`.
    pub remaining: u32,
    /// `x-ratelimit-used`.
    pub used: u32,
    /// `x-ratelimit-reset`, epoch seconds.
    pub reset: i64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: u32,
    used: u32,
    window_start: DateTime<Utc>,
}

/// Budgets per token id.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    fn bucket(&mut self, token_id: &str, limit: u32, now: DateTime<Utc>) -> &mut Bucket {
        let bucket = self.buckets.entry(token_id.to_owned()).or_insert(Bucket {
            limit,
            used: 0,
            window_start: now,
        });
        if (now - bucket.window_start).num_seconds() >= WINDOW_SECS {
            *bucket = Bucket {
                limit,
                used: 0,
                window_start: now,
            };
        }
        bucket
    }

    /// Takes one request from the budget; `Err` with the (exhausted) quota when none is left.
    pub fn take(&mut self, token_id: &str, limit: u32, now: DateTime<Utc>) -> Result<Quota, Quota> {
        let bucket = self.bucket(token_id, limit, now);
        if bucket.used >= bucket.limit {
            return Err(quota(bucket));
        }
        bucket.used += 1;
        Ok(quota(bucket))
    }

    /// Gives one request back (a `304` does not count).
    pub fn refund(&mut self, token_id: &str, limit: u32, now: DateTime<Utc>) -> Quota {
        let bucket = self.bucket(token_id, limit, now);
        bucket.used = bucket.used.saturating_sub(1);
        quota(bucket)
    }

    /// The current quota without taking anything.
    pub fn peek(&mut self, token_id: &str, limit: u32, now: DateTime<Utc>) -> Quota {
        quota(self.bucket(token_id, limit, now))
    }
}

fn quota(bucket: &Bucket) -> Quota {
    Quota {
        limit: bucket.limit,
        remaining: bucket.limit.saturating_sub(bucket.used),
        used: bucket.used,
        reset: bucket.window_start.timestamp() + WINDOW_SECS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_and_refund_restores_it() {
        let mut limiter = RateLimiter::default();
        let now = Utc::now();
        assert_eq!(limiter.take("t", 2, now).map(|q| q.remaining), Ok(1));
        assert_eq!(limiter.refund("t", 2, now).remaining, 2);
        assert!(limiter.take("t", 2, now).is_ok());
        assert!(limiter.take("t", 2, now).is_ok());
        let exhausted = limiter.take("t", 2, now).expect_err("exhausted");
        assert_eq!((exhausted.remaining, exhausted.used), (0, 2));
        let later = now + chrono::Duration::seconds(WINDOW_SECS);
        assert_eq!(limiter.take("t", 2, later).map(|q| q.remaining), Ok(1));
    }
}
