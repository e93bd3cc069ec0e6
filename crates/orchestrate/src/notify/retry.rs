//! Retrying one channel's delivery: exponential backoff with jitter on transient failures,
//! `retry-after` honoured, and a hard bound on attempts and on total time.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How hard a channel tries. The defaults give at most 4 attempts within 30 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Total time a channel may take, attempts and waits included. No wait starts that would
    /// end past it, and each attempt's timeout is cut to what is left.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`, capped, then
    /// scaled by `jitter` in `[0.5, 1.0]` so that many senders do not retry in step.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        exp.min(self.max_delay).mul_f64(jitter.clamp(0.5, 1.0))
    }
}

/// Why one attempt failed. `message` never contains a secret (callers strip URLs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptError {
    pub transient: bool,
    /// The server's `retry-after`, when it gave one.
    pub retry_after: Option<Duration>,
    pub message: String,
}

impl AttemptError {
    pub fn permanent(message: impl Into<String>) -> Self {
        AttemptError {
            transient: false,
            retry_after: None,
            message: message.into(),
        }
    }

    pub fn transient(message: impl Into<String>) -> Self {
        AttemptError {
            transient: true,
            retry_after: None,
            message: message.into(),
        }
    }
}

/// The end of a channel's delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub attempts: u32,
    pub error: Option<String>,
}

/// Runs `op` until it succeeds, fails permanently, or the policy's attempts or time run out.
/// `op` receives the time left in the budget, to use as its timeout; an attempt still running
/// when the budget ends is dropped.
pub async fn run<F, Fut>(policy: &RetryPolicy, mut op: F) -> Outcome
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<(), AttemptError>>,
{
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let left = policy.budget.saturating_sub(start.elapsed());
        // The budget bounds even an attempt whose transport has no timeout of its own.
        let result = match tokio::time::timeout(left, op(left)).await {
            Ok(result) => result,
            Err(_) => Err(AttemptError::transient(format!(
                "no answer within the {} budget",
                humantime::format_duration(policy.budget)
            ))),
        };
        let err = match result {
            Ok(()) => {
                return Outcome {
                    attempts: attempt,
                    error: None,
                };
            }
            Err(err) => err,
        };
        let give_up = |why: &str| Outcome {
            attempts: attempt,
            error: Some(format!("{}{why}", err.message)),
        };
        if !err.transient {
            return give_up("");
        }
        if attempt >= policy.max_attempts {
            return give_up(&format!(" (gave up after {attempt} attempts)"));
        }
        let wait = err
            .retry_after
            .unwrap_or_else(|| policy.backoff(attempt, rand::random_range(0.5..=1.0)));
        if start.elapsed() + wait >= policy.budget {
            return give_up(&format!(
                " (gave up after {attempt} attempts: the next one would exceed the {} budget)",
                humantime::format_duration(policy.budget)
            ));
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, error = %err.message, "retrying notification");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(p.backoff(3, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(8));
        assert_eq!(p.backoff(2, 0.5), Duration::from_millis(500));
        assert_eq!(
            p.backoff(2, 0.1),
            Duration::from_millis(500),
            "jitter is clamped"
        );
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            budget: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_up_to_the_attempt_limit() {
        let mut calls = 0;
        let out = run(&policy(), |_| {
            calls += 1;
            async { Err(AttemptError::transient("HTTP 503")) }
        })
        .await;
        assert_eq!(calls, 3);
        assert_eq!(out.attempts, 3);
        assert_eq!(
            out.error.as_deref(),
            Some("HTTP 503 (gave up after 3 attempts)")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_stop_at_once_and_success_ends_retries() {
        let out = run(&policy(), |_| async {
            Err(AttemptError::permanent("HTTP 404"))
        })
        .await;
        assert_eq!((out.attempts, out.error.as_deref()), (1, Some("HTTP 404")));
        let mut calls = 0;
        let out = run(&policy(), |_| {
            calls += 1;
            let fail = calls < 2;
            async move {
                if fail {
                    Err(AttemptError::transient("connect"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!(
            out,
            Outcome {
                attempts: 2,
                error: None
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_the_budget_bounds_the_total() {
        let start = Instant::now();
        let out = run(&policy(), |_| async {
            Err(AttemptError {
                transient: true,
                retry_after: Some(Duration::from_secs(20)),
                message: "HTTP 429".to_owned(),
            })
        })
        .await;
        assert_eq!(out.attempts, 3);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(40),
            "two waits of retry-after"
        );
        let out = run(&policy(), |_| async {
            Err(AttemptError {
                transient: true,
                retry_after: Some(Duration::from_secs(120)),
                message: "HTTP 429".to_owned(),
            })
        })
        .await;
        assert_eq!(out.attempts, 1, "a wait past the budget is not started");
        assert!(
            out.error
                .is_some_and(|e| e.contains("exceed the 1m budget"))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_never_answers_is_cut_at_the_budget() {
        let start = Instant::now();
        let out = run(&policy(), |_| {
            std::future::pending::<Result<(), AttemptError>>()
        })
        .await;
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        assert_eq!(out.attempts, 1);
        assert!(
            out.error
                .is_some_and(|e| e.starts_with("no answer within the 1m budget"))
        );
    }
}
