//! Pure timing policies: how often to poll, how long to back off, how to wait out rate limits
//! and how to spread the remaining budget. No clock and no randomness inside: callers pass
//! `now`, ages and a jitter draw, so every rule is tested as arithmetic.

use std::time::Duration;

use chrono::{DateTime, Utc};

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
    /// The response's `Date` (epoch seconds): GitHub's clock, which `reset` is measured against.
    pub date: Option<i64>,
}

/// When the budget resets, on the local clock: `reset` is on GitHub's clock, so it is moved by
/// the skew the response's `Date` shows. `None` without a reset.
pub fn reset_local(headers: &RateHeaders, local_now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let reset = headers.reset?;
    match headers.date {
        Some(date) => local_now.checked_add_signed(chrono::Duration::seconds(reset - date)),
        None => DateTime::from_timestamp(reset, 0),
    }
}

/// How long to wait before re-sending a request GitHub refused for a rate limit, or `None`
/// when the response is not a rate-limit refusal. Follows GitHub's documented order:
/// `retry-after` first, then `x-ratelimit-reset` when nothing remains, else at least 60 s.
/// The reset is measured against the response's `Date` when it has one (GitHub's clock), and
/// against `now_epoch` (the local clock) only otherwise: a runner whose clock is ahead would
/// otherwise re-send before the reset, one behind would wait too long.
pub fn rate_limit_wait(
    status: u16,
    message: &str,
    headers: &RateHeaders,
    now_epoch: i64,
) -> Option<Duration> {
    let exhausted = headers.remaining == Some(0);
    let limited = status == 429
        || (status == 403
            && (exhausted || headers.retry_after.is_some() || names_a_rate_limit(message)));
    if !limited {
        return None;
    }
    if let Some(secs) = headers.retry_after {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if exhausted && let Some(reset) = headers.reset {
        let now = headers.date.unwrap_or(now_epoch);
        // One extra second: the reset is rounded down to the second on GitHub's side.
        let secs = (reset - now).max(0) as u64 + 1;
        return Some(Duration::from_secs(secs));
    }
    Some(Duration::from_secs(60))
}

/// A 403 whose message names a rate limit: "API rate limit exceeded", "You have exceeded a
/// secondary rate limit", and older GHES's "You have triggered an abuse detection mechanism"
/// (sent without `retry-after`), which is the secondary limit under its former name.
fn names_a_rate_limit(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("rate limit") || message.contains("abuse")
}

/// How long a poller waits before asking again about a repository whose requests are refused
/// for a rate limit until `reset_at` (local clock): until the reset, one second more (it is
/// rounded down), and up to two seconds of `jitter` (a draw in `[0, 1)`) so the pollers sharing
/// a budget do not all wake in the same instant. Without a reset, GitHub's "at least 60 s".
pub fn rate_limited_poll_wait(
    reset_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    jitter: f64,
) -> Duration {
    let until_reset = match reset_at {
        Some(reset) => (reset - now).to_std().unwrap_or_default(),
        None => Duration::from_secs(59),
    };
    until_reset + Duration::from_secs(1) + Duration::from_secs(2).mul_f64(jitter.clamp(0.0, 1.0))
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
            date: None,
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

    #[test]
    fn the_reset_wait_is_measured_on_githubs_clock_not_a_skewed_local_one() {
        let github_now = 1_767_225_600;
        let headers = RateHeaders {
            remaining: Some(0),
            reset: Some(github_now + 30),
            date: Some(github_now),
            ..Default::default()
        };
        // The runner's clock is ten minutes ahead: the local clock says the reset has passed.
        let ahead = github_now + 600;
        assert_eq!(rate_limit_wait(403, "", &headers, ahead), Some(S(31)));
        // Ten minutes behind: the local clock would wait ten minutes too long.
        let behind = github_now - 600;
        assert_eq!(rate_limit_wait(403, "", &headers, behind), Some(S(31)));
        // Without a `Date`, the local clock is all there is.
        let undated = RateHeaders {
            date: None,
            ..headers
        };
        assert_eq!(rate_limit_wait(403, "", &undated, ahead), Some(S(1)));
        let local = DateTime::from_timestamp(ahead, 0).expect("time");
        assert_eq!(
            reset_local(&headers, local).map(|r| r.timestamp()),
            Some(ahead + 30)
        );
        assert_eq!(
            reset_local(&undated, local).map(|r| r.timestamp()),
            Some(github_now + 30)
        );
    }

    #[test]
    fn old_ghes_abuse_detection_is_a_rate_limit_not_a_refusal() {
        let now = 1_000;
        let none = RateHeaders::default();
        let abuse = "You have triggered an abuse detection mechanism. Please wait a few minutes \
                     before you try again.";
        let waits: Vec<_> = (0..3)
            .map(|n| rate_limit_retry_wait(403, abuse, &none, now, n))
            .collect();
        assert_eq!(waits, [Some(S(60)), Some(S(120)), Some(S(240))]);
        assert_eq!(
            rate_limit_wait(403, "You have exceeded a Secondary Rate Limit", &none, now),
            Some(S(60))
        );
        assert_eq!(
            rate_limit_wait(403, "Must have admin rights to Repository.", &none, now),
            None
        );
    }

    #[test]
    fn a_rate_limited_poller_sleeps_past_the_reset_with_a_little_jitter() {
        let now = DateTime::from_timestamp(1_000, 0).expect("time");
        let reset = DateTime::from_timestamp(1_000 + 1_800, 0);
        assert_eq!(rate_limited_poll_wait(reset, now, 0.0), S(1_801));
        assert_eq!(rate_limited_poll_wait(reset, now, 1.0), S(1_803));
        let past = DateTime::from_timestamp(900, 0);
        assert_eq!(rate_limited_poll_wait(past, now, 0.5), S(2));
        assert_eq!(rate_limited_poll_wait(None, now, 0.0), S(60));
    }
}
