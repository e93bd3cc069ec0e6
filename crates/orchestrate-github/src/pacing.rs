//! Pure timing policies: how often to poll, how long to back off, how to wait out rate limits
//! and how to spread the remaining budget. No clock and no randomness inside: callers pass
//! `now`, ages and a jitter draw, so every rule is tested as arithmetic.

use std::time::Duration;

/// How often a repository is polled while runs are awaited there.
///
/// The interval starts at `min` and grows with the age of the youngest awaited run
/// (`age * growth`), up to `max`: a run that has taken ten minutes is unlikely to finish in the
/// next second, a run dispatched a second ago often does (failures at startup).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    pub min: Duration,
    pub max: Duration,
    /// Fraction of the run's age added as interval (0.05: a 100 s old run is polled every 5 s).
    pub growth: f64,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            min: Duration::from_secs(1),
            max: Duration::from_secs(30),
            growth: 0.05,
        }
    }
}

impl PollPolicy {
    /// A policy for the accelerated emulator: quick first polls so detection stays under 1 s.
    pub fn fast() -> Self {
        PollPolicy {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
            growth: 0.05,
        }
    }

    /// The interval before the next poll of a run that is `age` old.
    pub fn interval(&self, age: Duration) -> Duration {
        let grown = age.mul_f64(self.growth.max(0.0));
        grown.clamp(self.min, self.max.max(self.min))
    }
}

/// Exponential backoff for GET retries after a 5xx or a network error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Tries in total (1 = no retry).
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// The longest rate-limit wait taken silently; longer waits become an error.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based), with "equal jitter": half the
    /// exponential step is fixed, half is `jitter` (a draw in `[0, 1)`) of it. The fixed half
    /// keeps retries from hammering; the random half keeps clients from retrying in lockstep.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let step = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.min(16)))
            .min(self.cap);
        let half = step / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// The rate-limit facts of one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// UTC epoch seconds.
    pub reset: Option<i64>,
    /// `retry-after`, in seconds.
    pub retry_after: Option<u64>,
}

/// How long to wait before re-sending a request GitHub refused for a rate limit, or `None`
/// when the response is not a rate-limit refusal. Follows GitHub's documented order:
/// `retry-after` first, then `x-ratelimit-reset` when nothing remains, else at least 60 s.
pub fn rate_limit_wait(
    status: u16,
    message: &str,
    headers: &RateHeaders,
    now_epoch: i64,
) -> Option<Duration> {
    let exhausted = headers.remaining == Some(0);
    let limited = status == 429
        || (status == 403
            && (exhausted || headers.retry_after.is_some() || message.contains("rate limit")));
    if !limited {
        return None;
    }
    if let Some(secs) = headers.retry_after {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if exhausted && let Some(reset) = headers.reset {
        // One extra second: the reset is rounded down to the second on GitHub's side.
        let secs = (reset - now_epoch).max(0) as u64 + 1;
        return Some(Duration::from_secs(secs));
    }
    Some(Duration::from_secs(60))
}

/// The wait before re-sending a request after its `refusals`-th consecutive rate-limit refusal
/// (0 for the first). A wait GitHub named (`retry-after`, or `x-ratelimit-reset` with nothing
/// remaining) is taken as it is; the 60 s default for a secondary limit that named none doubles
/// with every refusal, as GitHub asks: "wait at least one minute … then back off
/// exponentially".
pub fn rate_limit_retry_wait(
    status: u16,
    message: &str,
    headers: &RateHeaders,
    now_epoch: i64,
    refusals: u32,
) -> Option<Duration> {
    let wait = rate_limit_wait(status, message, headers, now_epoch)?;
    let named =
        headers.retry_after.is_some() || (headers.remaining == Some(0) && headers.reset.is_some());
    if named {
        return Some(wait);
    }
    Some(wait.saturating_mul(2u32.saturating_pow(refusals.min(16))))
}

/// Stretch `interval` so the remaining budget lasts until the reset: below a quarter of the
/// limit, each of the `pollers` may spend at most an equal share of what remains above a
/// reserve; at the reserve, wait for the reset. Slowing down before the limit, not after.
pub fn paced_interval(
    interval: Duration,
    headers: &RateHeaders,
    pollers: usize,
    now_epoch: i64,
) -> Duration {
    let (Some(limit), Some(remaining), Some(reset)) =
        (headers.limit, headers.remaining, headers.reset)
    else {
        return interval;
    };
    let until_reset = Duration::from_secs((reset - now_epoch).max(0) as u64);
    // Keep some budget for dispatches, cancels, deployments and the report.
    let reserve = (limit / 20).clamp(10, 200);
    if remaining <= reserve {
        return interval.max(until_reset + Duration::from_secs(1));
    }
    if remaining >= limit / 4 {
        return interval;
    }
    let spendable = (remaining - reserve).max(1);
    let per_request = until_reset.mul_f64(pollers.max(1) as f64 / spendable as f64);
    interval.max(per_request)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn interval_starts_short_and_grows_with_age_up_to_the_cap() {
        let p = PollPolicy::default();
        assert_eq!(p.interval(S(0)), S(1));
        assert_eq!(p.interval(S(100)), S(5));
        assert_eq!(p.interval(S(10_000)), S(30));
        let fast = PollPolicy::fast();
        assert_eq!(fast.interval(S(0)), Duration::from_millis(100));
        assert_eq!(fast.interval(S(600)), S(1));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(r.backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(r.backoff(3, 0.0), Duration::from_secs(2));
        assert_eq!(r.backoff(30, 0.5), Duration::from_millis(22_500));
    }

    #[test]
    fn rate_limit_wait_prefers_retry_after_then_reset_then_sixty_seconds() {
        let now = 1_000;
        let h = RateHeaders {
            retry_after: Some(7),
            ..Default::default()
        };
        assert_eq!(rate_limit_wait(429, "", &h, now), Some(S(7)));
        let h = RateHeaders {
            remaining: Some(0),
            reset: Some(1_030),
            ..Default::default()
        };
        assert_eq!(
            rate_limit_wait(403, "API rate limit exceeded", &h, now),
            Some(S(31))
        );
        assert_eq!(
            rate_limit_wait(429, "", &RateHeaders::default(), now),
            Some(S(60))
        );
        let h = RateHeaders {
            remaining: Some(100),
            ..Default::default()
        };
        assert_eq!(
            rate_limit_wait(403, "Resource not accessible by integration", &h, now),
            None
        );
        assert_eq!(rate_limit_wait(500, "", &RateHeaders::default(), now), None);
    }

    #[test]
    fn an_unnamed_secondary_wait_doubles_with_each_refusal_a_named_one_does_not() {
        let now = 1_000;
        let none = RateHeaders::default();
        let waits: Vec<_> = (0..4)
            .map(|n| rate_limit_retry_wait(403, "secondary rate limit", &none, now, n))
            .collect();
        assert_eq!(
            waits,
            [Some(S(60)), Some(S(120)), Some(S(240)), Some(S(480))]
        );
        let after = RateHeaders {
            retry_after: Some(7),
            ..Default::default()
        };
        assert_eq!(rate_limit_retry_wait(429, "", &after, now, 3), Some(S(7)));
        let reset = RateHeaders {
            remaining: Some(0),
            reset: Some(1_030),
            ..Default::default()
        };
        assert_eq!(rate_limit_retry_wait(403, "", &reset, now, 3), Some(S(31)));
        assert_eq!(rate_limit_retry_wait(404, "", &none, now, 3), None);
    }

    #[test]
    fn pacing_leaves_plenty_alone_spreads_little_and_waits_at_the_reserve() {
        let now = 0;
        let plenty = RateHeaders {
            limit: Some(5000),
            remaining: Some(4000),
            reset: Some(3600),
            retry_after: None,
        };
        assert_eq!(paced_interval(S(1), &plenty, 5, now), S(1));
        // 1,000 left (reserve 200): 800 spendable over 3,600 s by 5 pollers -> 22.5 s each.
        let low = RateHeaders {
            remaining: Some(1000),
            ..plenty
        };
        assert_eq!(
            paced_interval(S(1), &low, 5, now),
            Duration::from_millis(22_500)
        );
        let empty = RateHeaders {
            remaining: Some(150),
            ..plenty
        };
        assert_eq!(paced_interval(S(1), &empty, 5, now), S(3601));
        assert_eq!(paced_interval(S(2), &RateHeaders::default(), 5, now), S(2));
    }
}
