//! An attempt's environment gate: when its wait ends (approved and the wait timer passed, or
//! rejected, or 30 days without a review), the reviews that decided it (scripted or posted
//! through the API), and who may review.
//!
//! The first review decides, as with GitHub's required reviewers ("only one of the required
//! reviewers needs to approve"). An approval given before the wait timer ends lets the job
//! start when the timer ends. A job that waits 30 days fails.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::plus;
use crate::scenario::{EnvironmentSpec, ReviewState};

/// How long GitHub lets a job wait for a review before failing it.
pub const MAX_WAIT: Duration = Duration::from_secs(30 * 24 * 3600);

/// One review of a gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Approved or rejected.
    pub state: ReviewState,
    /// Reviewer login.
    pub by: String,
    /// The review's comment.
    pub comment: String,
    /// When it was given.
    pub at: DateTime<Utc>,
}

/// How a gate's wait ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The job may start at this time.
    Passes(DateTime<Utc>),
    /// A reviewer rejected it at this time: the run fails.
    Rejected(DateTime<Utc>),
    /// Nobody reviewed it within 30 days: the run fails.
    Expired(DateTime<Utc>),
}

impl Resolution {
    /// When the wait ends.
    pub fn at(self) -> DateTime<Utc> {
        match self {
            Resolution::Passes(at) | Resolution::Rejected(at) | Resolution::Expired(at) => at,
        }
    }
}

/// The protection rules one attempt waits for.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The environment as the scenario describes it.
    pub spec: EnvironmentSpec,
    /// The environment's id in its repository.
    pub environment_id: u64,
    /// Reviews posted through the API, oldest first.
    pub posted: Vec<Review>,
    /// The deployment GitHub creates for the job once it waits, when created.
    pub deployment: Option<u64>,
    /// How many of that deployment's statuses were recorded.
    pub statuses: usize,
}

impl Gate {
    /// A gate nobody reviewed yet.
    pub fn new(spec: EnvironmentSpec, environment_id: u64) -> Self {
        Self {
            spec,
            environment_id,
            posted: Vec::new(),
            deployment: None,
            statuses: 0,
        }
    }

    /// Whether anybody must review it (otherwise only its timer holds the job).
    pub fn needs_review(&self) -> bool {
        !self.spec.reviewers.is_empty()
    }

    /// The review that decides the gate opened at `opened`, whenever it comes: the earliest of
    /// the scripted one and those posted, within the 30 days.
    pub fn decision(&self, opened: DateTime<Utc>) -> Option<Review> {
        if !self.needs_review() {
            return None;
        }
        let scripted = self.spec.review.as_ref().map(|script| Review {
            state: script.state,
            by: self.spec.scripted_reviewer().unwrap_or_default().to_owned(),
            comment: script.comment.clone(),
            at: plus(opened, script.after),
        });
        let deadline = plus(opened, MAX_WAIT);
        scripted
            .into_iter()
            .chain(self.posted.iter().cloned())
            .filter(|r| r.at < deadline)
            .min_by_key(|r| r.at)
    }

    /// How the wait that started at `opened` ends.
    pub fn resolution(&self, opened: DateTime<Utc>) -> Resolution {
        let timer = plus(opened, self.spec.wait_timer);
        if !self.needs_review() {
            return Resolution::Passes(timer);
        }
        match self.decision(opened) {
            Some(r) if r.state == ReviewState::Approved => Resolution::Passes(r.at.max(timer)),
            Some(r) => Resolution::Rejected(r.at),
            None => Resolution::Expired(plus(opened, MAX_WAIT)),
        }
    }

    /// Whether `login` may review it: a user reviewer (teams have no members here), not the
    /// run's `actor` when self-review is prevented, and not an App (GitHub does not let
    /// integrations review pending deployments).
    pub fn can_review(&self, login: &str, actor: &str, integration: bool) -> bool {
        let listed = self.spec.users().any(|u| u.eq_ignore_ascii_case(login));
        let own = self.spec.prevent_self_review && login.eq_ignore_ascii_case(actor);
        self.needs_review() && listed && !own && !integration
    }

    /// The wait timer in whole minutes, as GitHub configures and reports it.
    pub fn wait_timer_minutes(&self) -> u64 {
        self.spec.wait_timer.as_secs().div_ceil(60)
    }
}

/// Records the deployment GitHub creates for each gated job once it waits, and the statuses
/// that deployment has gained by `now`: `in_progress` when the job starts, then `success` or
/// `failure` when the run ends (`failure` at once when the gate fails it or it is cancelled
/// while waiting). GitHub's own `waiting` status is left out: the REST schema of a deployment
/// status does not list it.
pub(super) fn settle_deployments(
    repo: &mut super::RepoState,
    ids: &mut super::Ids,
    now: DateTime<Utc>,
) {
    let super::RepoState {
        runs, deployments, ..
    } = repo;
    for run in runs.iter_mut() {
        for attempt in &mut run.attempts {
            let opened = attempt.started_at();
            let (end, conclusion) = attempt.outcome();
            let running = attempt.running_at();
            let cancelled_waiting = conclusion == "cancelled" && end < running;
            let ran = !(attempt.gate_failed() || cancelled_waiting);
            let Some(gate) = attempt.gate.as_mut() else {
                continue;
            };
            if now < opened || (end <= opened && conclusion == "cancelled") {
                continue;
            }
            let id = *gate.deployment.get_or_insert_with(|| {
                let id = ids.deployment();
                deployments.push(super::records::Deployment {
                    id,
                    sha: run.head_sha.clone(),
                    git_ref: run.head_branch.clone(),
                    task: "deploy".to_owned(),
                    environment: gate.spec.name.clone(),
                    original_environment: gate.spec.name.clone(),
                    payload: serde_json::json!({}),
                    description: None,
                    transient: false,
                    production: gate.spec.name == "production",
                    creator: run.actor.clone(),
                    created_at: opened,
                    updated_at: opened,
                    statuses: Vec::new(),
                });
                id
            });
            let finished = if conclusion == "success" {
                "success"
            } else {
                "failure"
            };
            let wanted: Vec<(DateTime<Utc>, &str)> = if ran {
                vec![(running, "in_progress"), (end, finished)]
            } else {
                vec![(end, "failure")]
            };
            let Some(deployment) = deployments.iter_mut().find(|d| d.id == id) else {
                continue;
            };
            for (at, state) in wanted.into_iter().skip(gate.statuses) {
                if at > now {
                    break;
                }
                gate.statuses += 1;
                deployment.updated_at = at;
                deployment.statuses.push(super::records::DeploymentStatus {
                    id: ids.status(),
                    state: state.to_owned(),
                    creator: "github-actions[bot]".to_owned(),
                    description: String::new(),
                    environment: gate.spec.name.clone(),
                    target_url: String::new(),
                    log_url: String::new(),
                    environment_url: String::new(),
                    created_at: at,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ReviewScript;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("valid")
    }

    fn gate(review: Option<&str>, timer: u64) -> Gate {
        let mut spec = EnvironmentSpec::new("production", &["alice", "bob"])
            .wait_timer(Duration::from_secs(timer));
        spec.review = review.map(|r| ReviewScript::parse(r).expect("valid"));
        Gate::new(spec, 7)
    }

    #[test]
    fn an_approval_opens_the_gate_once_the_timer_passed_too() {
        assert_eq!(
            gate(Some("approved after 2m by bob"), 0).resolution(at(0)),
            Resolution::Passes(at(120))
        );
        assert_eq!(
            gate(Some("approved after 2m"), 600).resolution(at(0)),
            Resolution::Passes(at(600)),
            "the timer holds the job after the approval"
        );
        let decided = gate(Some("approved after 2m"), 0)
            .decision(at(0))
            .expect("review");
        assert_eq!(decided.by, "alice", "defaults to the first reviewer");
    }

    #[test]
    fn a_rejection_or_silence_fails_and_the_first_review_decides() {
        assert_eq!(
            gate(Some("rejected after 30s by bob"), 0).resolution(at(0)),
            Resolution::Rejected(at(30))
        );
        assert_eq!(
            gate(None, 0).resolution(at(0)),
            Resolution::Expired(at(30 * 24 * 3600))
        );
        let mut g = gate(Some("rejected after 5m by bob"), 0);
        g.posted.push(Review {
            state: ReviewState::Approved,
            by: "alice".into(),
            comment: String::new(),
            at: at(60),
        });
        assert_eq!(g.resolution(at(0)), Resolution::Passes(at(60)));
    }

    #[test]
    fn only_listed_people_may_review() {
        let mut g = gate(None, 0);
        assert!(g.can_review("Alice", "octocat", false));
        assert!(!g.can_review("carol", "octocat", false));
        assert!(
            !g.can_review("alice", "octocat", true),
            "integrations may not"
        );
        g.spec.prevent_self_review = true;
        assert!(
            !g.can_review("alice", "alice", false),
            "self-review prevented"
        );
        let timer_only = Gate::new(
            EnvironmentSpec::new("staging", &[]).wait_timer(Duration::from_secs(90)),
            8,
        );
        assert!(!timer_only.can_review("alice", "x", false));
        assert_eq!(timer_only.wait_timer_minutes(), 2);
        assert_eq!(timer_only.resolution(at(0)), Resolution::Passes(at(90)));
    }
}
