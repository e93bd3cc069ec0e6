//! The rate-limit gate: after GitHub refuses for a rate limit, no request that spends the same
//! budget leaves before the wait is over, so the requests that follow wait (or fail fast)
//! instead of hammering GitHub while it refuses them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Closed-until instants per rate-limit identity (the one token, or with a GitHub App each
/// owner's installation token).
#[derive(Default)]
pub(crate) struct RateGate {
    until: Mutex<HashMap<String, Instant>>,
}

impl RateGate {
    /// How long requests spending `key`'s budget must still wait, if the gate is closed.
    pub(crate) fn closed_for(&self, key: &str) -> Option<(Instant, Duration)> {
        let until = *self
            .until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)?;
        Some((until, until.saturating_duration_since(Instant::now())))
    }

    /// Close `key`'s gate for `wait` from now; an already longer closure stays.
    pub(crate) fn close(&self, key: &str, wait: Duration) {
        let until = Instant::now() + wait;
        let mut gates = self.until.lock().unwrap_or_else(|e| e.into_inner());
        let gate = gates.entry(key.to_owned()).or_insert(until);
        if *gate < until {
            *gate = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_gate_stays_closed_for_the_longest_wait_of_its_key_only() {
        let gate = RateGate::default();
        assert!(gate.closed_for("").is_none());
        gate.close("acme", Duration::from_secs(60));
        gate.close("acme", Duration::from_secs(10));
        let (_, left) = gate.closed_for("acme").expect("closed");
        assert_eq!(left, Duration::from_secs(60));
        assert!(gate.closed_for("globex").is_none());
    }
}
