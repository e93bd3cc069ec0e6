//! Workflow runs and their attempts: creation, the lazily computed lifecycle
//! (queued → [waiting →] in_progress → completed, `waiting` while an environment gate holds
//! it), cancel and re-run (whole, or failed jobs only, where the jobs that succeeded are
//! carried over into the new attempt unchanged).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::clock::plus;
use crate::scenario::Behaviour;
use crate::state::gate::{Gate, Resolution};
use crate::state::jobs::JobView;

/// One workflow run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Run id (unique across the emulator).
    pub id: u64,
    /// Index of the workflow in its repository's scenario.
    pub workflow_index: usize,
    /// Workflow id.
    pub workflow_id: u64,
    /// Per-workflow run number.
    pub run_number: u64,
    /// `workflow_dispatch` or `repository_dispatch`.
    pub event: String,
    /// Branch or tag the run is on.
    pub head_branch: String,
    /// Commit the run is on.
    pub head_sha: String,
    /// Evaluated `run-name`.
    pub display_title: String,
    /// Inputs as strings (what `github.event.inputs` exposes).
    pub inputs: BTreeMap<String, String>,
    /// Login of the dispatching token.
    pub actor: String,
    /// Emulated creation time.
    pub created_at: DateTime<Utc>,
    /// From when the run lists show it (its creation, unless a fault delays it).
    pub listed_at: DateTime<Utc>,
    /// Check suite id.
    pub check_suite_id: u64,
    /// Attempts, first to latest.
    pub attempts: Vec<Attempt>,
}

/// One attempt of a run.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// 1-based attempt number.
    pub number: u32,
    /// When the attempt was created (dispatch or re-run).
    pub created_at: DateTime<Utc>,
    /// The scripted behaviour.
    pub behaviour: Behaviour,
    /// When a cancel request landed, if one did before completion.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Ids of its jobs, in job order.
    pub job_ids: Vec<u64>,
    /// Whether its artifacts were handed to the artifact store.
    pub artifacts_uploaded: bool,
    /// Jobs carried over from the previous attempt by "re-run failed jobs", by job index: they
    /// do not run again and keep their id, attempt number, times and conclusion.
    pub carried: BTreeMap<usize, JobView>,
    /// The environment gate it waits for after leaving the queue, if its workflow has one.
    pub gate: Option<Gate>,
}

/// A run's state at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// `queued`, `waiting`, `in_progress` or `completed`.
    pub status: &'static str,
    /// Set once completed.
    pub conclusion: Option<String>,
    /// Last transition at or before now.
    pub updated_at: DateTime<Utc>,
}

impl Attempt {
    /// A new attempt; `job_ids` come from the emulator's id counter.
    pub fn new(
        number: u32,
        created_at: DateTime<Utc>,
        behaviour: Behaviour,
        job_ids: Vec<u64>,
    ) -> Self {
        Self {
            number,
            created_at,
            behaviour,
            cancelled_at: None,
            job_ids,
            artifacts_uploaded: false,
            carried: BTreeMap::new(),
            gate: None,
        }
    }

    /// When the attempt leaves the queue (and starts waiting, if it has a gate).
    pub fn started_at(&self) -> DateTime<Utc> {
        plus(self.created_at, self.behaviour.queued)
    }

    /// How its gate's wait ends, if it has a gate.
    pub fn resolution(&self) -> Option<Resolution> {
        self.gate
            .as_ref()
            .map(|gate| gate.resolution(self.started_at()))
    }

    /// When its jobs start running: when its gate lets them (never, if the gate fails it:
    /// then the time it fails), else when it leaves the queue.
    pub fn running_at(&self) -> DateTime<Utc> {
        self.resolution()
            .map_or_else(|| self.started_at(), Resolution::at)
    }

    /// Whether its gate failed it (rejected, or nobody reviewed it in time).
    pub fn gate_failed(&self) -> bool {
        matches!(
            self.resolution(),
            Some(Resolution::Rejected(_) | Resolution::Expired(_))
        )
    }

    /// When the attempt completes on its own.
    pub fn natural_end(&self) -> DateTime<Utc> {
        match self.resolution() {
            Some(Resolution::Rejected(at) | Resolution::Expired(at)) => at,
            _ => plus(self.running_at(), self.behaviour.in_progress),
        }
    }

    /// When the attempt completes, and with which conclusion, given any cancel request.
    pub fn outcome(&self) -> (DateTime<Utc>, String) {
        match self.cancelled_at {
            Some(at) if at < self.natural_end() => (at, "cancelled".to_owned()),
            // A job that may not deploy fails the run without running.
            _ if self.gate_failed() => (self.natural_end(), "failure".to_owned()),
            _ => (self.natural_end(), self.behaviour.conclusion.clone()),
        }
    }

    /// The attempt's state at `now`.
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        let (end, conclusion) = self.outcome();
        let started = self.started_at();
        let running = self.running_at();
        if now >= end {
            Phase {
                status: "completed",
                conclusion: Some(conclusion),
                updated_at: end,
            }
        } else if now >= running {
            Phase {
                status: "in_progress",
                conclusion: None,
                updated_at: running,
            }
        } else if now >= started {
            Phase {
                status: "waiting",
                conclusion: None,
                updated_at: started,
            }
        } else {
            Phase {
                status: "queued",
                conclusion: None,
                updated_at: self.created_at,
            }
        }
    }

    /// Whether the attempt completed by running to its end (so it uploaded its artifacts).
    pub fn finished_naturally(&self, now: DateTime<Utc>) -> bool {
        let (end, conclusion) = self.outcome();
        now >= end
            && self.cancelled_at.is_none_or(|c| c >= self.natural_end())
            && conclusion != "startup_failure"
            && !self.gate_failed()
    }

    /// Whether it waits for its gate at `now`.
    pub fn is_waiting(&self, now: DateTime<Utc>) -> bool {
        self.phase(now).status == "waiting"
    }
}

impl Run {
    /// The latest attempt.
    pub fn latest(&self) -> &Attempt {
        self.attempts
            .last()
            .expect("a run always has its first attempt")
    }

    /// The latest attempt, mutably.
    pub fn latest_mut(&mut self) -> &mut Attempt {
        self.attempts
            .last_mut()
            .expect("a run always has its first attempt")
    }

    /// One attempt by number.
    pub fn attempt(&self, number: u32) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.number == number)
    }

    /// Whether `status` (a status or a conclusion, as the list filter accepts) matches at `now`.
    pub fn matches_status(&self, wanted: &str, now: DateTime<Utc>) -> bool {
        let phase = self.latest().phase(now);
        phase.status == wanted || phase.conclusion.as_deref() == Some(wanted)
    }

    /// Requests cancellation; `false` when the run already completed (GitHub answers 409).
    pub fn cancel(&mut self, now: DateTime<Utc>) -> bool {
        let attempt = self.latest_mut();
        if attempt.phase(now).status == "completed" {
            return false;
        }
        attempt.cancelled_at = Some(now);
        true
    }
}

/// A test-facing snapshot of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunView {
    /// Run id.
    pub id: u64,
    /// Run number.
    pub run_number: u64,
    /// Workflow file name.
    pub workflow: String,
    /// Event.
    pub event: String,
    /// Status now.
    pub status: String,
    /// Conclusion now.
    pub conclusion: Option<String>,
    /// Evaluated run-name.
    pub display_title: String,
    /// Branch or tag.
    pub head_branch: String,
    /// Inputs.
    pub inputs: BTreeMap<String, String>,
    /// Latest attempt number.
    pub run_attempt: u32,
    /// When the latest attempt ends (ended) on the emulated clock, to the nanosecond (the API
    /// shows whole seconds): what a benchmark measures detection latency from.
    pub ends_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn attempt(conclusion: &str) -> Attempt {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .to_utc();
        let behaviour =
            Behaviour::timed(Duration::from_secs(10), Duration::from_secs(60), conclusion);
        Attempt::new(1, start, behaviour, vec![1])
    }

    #[test]
    fn phase_moves_through_the_lifecycle() {
        let a = attempt("failure");
        let t = |s: i64| a.created_at + chrono::Duration::seconds(s);
        assert_eq!(a.phase(t(5)).status, "queued");
        assert_eq!(a.phase(t(10)).status, "in_progress");
        let done = a.phase(t(70));
        assert_eq!(
            (done.status, done.conclusion.as_deref()),
            ("completed", Some("failure"))
        );
        assert_eq!(done.updated_at, t(70));
    }

    fn gated(review: Option<&str>) -> Attempt {
        let mut a = attempt("success");
        let mut spec = crate::scenario::EnvironmentSpec::new("production", &["alice"]);
        spec.review = review.map(|r| crate::scenario::ReviewScript::parse(r).expect("valid"));
        a.gate = Some(Gate::new(spec, 1));
        a
    }

    #[test]
    fn a_gate_holds_the_run_waiting_until_it_is_approved() {
        let a = gated(Some("approved after 2m"));
        let t = |s: i64| a.created_at + chrono::Duration::seconds(s);
        assert_eq!(a.phase(t(5)).status, "queued");
        let waiting = a.phase(t(10));
        assert_eq!((waiting.status, waiting.updated_at), ("waiting", t(10)));
        assert_eq!(a.phase(t(129)).status, "waiting");
        let running = a.phase(t(130));
        assert_eq!(
            (running.status, running.updated_at),
            ("in_progress", t(130))
        );
        assert_eq!(a.phase(t(190)).conclusion.as_deref(), Some("success"));
        assert!(a.finished_naturally(t(190)));
    }

    #[test]
    fn a_rejected_or_cancelled_gate_ends_the_run_without_running_it() {
        let a = gated(Some("rejected after 1m by alice"));
        let done = a.phase(a.created_at + chrono::Duration::seconds(70));
        assert_eq!(
            (done.status, done.conclusion.as_deref()),
            ("completed", Some("failure"))
        );
        assert!(!a.finished_naturally(a.created_at + chrono::Duration::seconds(999)));
        let mut b = gated(None);
        assert_eq!(
            b.phase(b.created_at + chrono::Duration::days(1)).status,
            "waiting"
        );
        b.cancelled_at = Some(b.created_at + chrono::Duration::seconds(30));
        let cancelled = b.phase(b.created_at + chrono::Duration::seconds(31));
        assert_eq!(cancelled.conclusion.as_deref(), Some("cancelled"));
        let expired = gated(None);
        assert_eq!(
            expired
                .phase(expired.created_at + chrono::Duration::days(31))
                .conclusion
                .as_deref(),
            Some("failure"),
            "30 days without a review fail the job"
        );
    }

    #[test]
    fn cancel_before_the_end_concludes_cancelled() {
        let mut a = attempt("success");
        a.cancelled_at = Some(a.created_at + chrono::Duration::seconds(20));
        let phase = a.phase(a.created_at + chrono::Duration::seconds(21));
        assert_eq!(phase.conclusion.as_deref(), Some("cancelled"));
        assert!(!a.finished_naturally(a.created_at + chrono::Duration::seconds(100)));
    }
}
