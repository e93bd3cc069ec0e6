//! Approval gates in the report: one entry per wait of a service's run for its environment's
//! protection rules (required reviewers, a wait timer), and the words every renderer uses for
//! it, so the summary, Slack, email and the webhook say the same thing.

use std::time::Duration;

/// How one wait for an environment gate ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Still waiting for a reviewer (or the wait timer).
    Waiting,
    /// A reviewer approved it.
    Approved,
    /// A reviewer rejected it: the run failed.
    Rejected,
    /// Nobody approved it within the `approval_timeout`: the run was cancelled.
    TimedOut,
    /// The release stopped while it waited: the run was cancelled.
    Cancelled,
    /// The gate let the run through without a review on record (a wait timer alone, or a
    /// review the history does not show).
    Passed,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Waiting => "waiting",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::TimedOut => "timed_out",
            ApprovalState::Cancelled => "cancelled",
            ApprovalState::Passed => "passed",
        }
    }
}

/// One wait of a service's run for its environment gate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApprovalReport {
    /// The environments the run waited for (usually one).
    pub environments: Vec<String>,
    /// Who may review them: logins, or `org/team`.
    pub reviewers: Vec<String>,
    /// The environments' wait timer, when they have one.
    #[serde(serialize_with = "super::ser::opt_secs")]
    pub wait_timer: Option<Duration>,
    pub state: ApprovalState,
    /// Who approved or rejected it, when known.
    pub by: Option<String>,
    /// The reviewer's comment, when there was one.
    pub comment: Option<String>,
    /// Approved by orchestrate itself (`auto_approve`), as the token's user.
    pub auto_approved: bool,
    /// How long the run waited (so far, while it waits), to within one poll.
    #[serde(serialize_with = "super::ser::opt_secs")]
    pub waited: Option<Duration>,
    /// The `approval_timeout` the wait counted against.
    #[serde(serialize_with = "super::ser::opt_secs")]
    pub timeout: Option<Duration>,
}

impl ApprovalReport {
    /// `production`, or `staging, production`.
    pub fn environment_list(&self) -> String {
        self.environments.join(", ")
    }

    /// `alice, bob`, `nobody (wait timer 5m 00s)` for a gate without reviewers, `–` when
    /// they are not known (a rejection seen only after the fact).
    pub fn reviewer_list(&self) -> String {
        if self.reviewers.is_empty() {
            return match self.wait_timer {
                Some(t) => format!("nobody (wait timer {})", super::format::duration(t)),
                None => "–".to_owned(),
            };
        }
        self.reviewers.join(", ")
    }

    /// `waiting for approval in production (reviewers: alice, bob)`: the line progress, the
    /// summary and notifications show while it waits.
    pub fn waiting_line(&self) -> String {
        let env = self.environment_list();
        if self.reviewers.is_empty() {
            return match self.wait_timer {
                Some(t) => format!(
                    "waiting in {env} for its wait timer ({})",
                    super::format::duration(t)
                ),
                None => format!("waiting in {env}"),
            };
        }
        let mut line = format!(
            "waiting for approval in {env} (reviewers: {})",
            self.reviewer_list()
        );
        if let Some(t) = self.wait_timer {
            line.push_str(&format!(", wait timer {}", super::format::duration(t)));
        }
        line
    }

    /// `approved by alice`, `rejected by bob`, `no approval within 24h 00m …`: how the wait
    /// ended, without how long it took.
    pub fn verdict(&self) -> String {
        let who = self.by.as_deref().unwrap_or("a reviewer");
        let auto = if self.auto_approved {
            " (auto_approve)"
        } else {
            ""
        };
        match self.state {
            ApprovalState::Waiting => self.waiting_line(),
            ApprovalState::Approved => format!("approved by {who}{auto}"),
            ApprovalState::Rejected => format!("rejected by {who}"),
            ApprovalState::TimedOut => format!(
                "no approval within {} (approval_timeout): cancelled",
                super::format::opt_duration(self.timeout.or(self.waited))
            ),
            ApprovalState::Cancelled => "cancelled while waiting".to_owned(),
            ApprovalState::Passed if self.reviewers.is_empty() => "wait timer passed".to_owned(),
            ApprovalState::Passed => "let through (no review on record)".to_owned(),
        }
    }

    /// [`ApprovalReport::verdict`] with how long the wait took: `approved by alice after
    /// 2m 00s`.
    pub fn decision(&self) -> String {
        let verdict = self.verdict();
        match (self.state, self.waited) {
            (ApprovalState::Waiting | ApprovalState::TimedOut, _) | (_, None) => verdict,
            (_, Some(w)) => format!("{verdict} after {}", super::format::duration(w)),
        }
    }

    pub fn icon(&self) -> &'static str {
        match self.state {
            ApprovalState::Waiting => "⏳",
            ApprovalState::Approved | ApprovalState::Passed => "✅",
            ApprovalState::Rejected => "❌",
            ApprovalState::TimedOut => "⏱️",
            ApprovalState::Cancelled => "⏹️",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(state: ApprovalState) -> ApprovalReport {
        ApprovalReport {
            environments: vec!["production".into()],
            reviewers: vec!["alice".into(), "acme/releasers".into()],
            wait_timer: None,
            state,
            by: Some("alice".into()),
            comment: None,
            auto_approved: false,
            waited: Some(Duration::from_secs(120)),
            timeout: Some(Duration::from_secs(24 * 3600)),
        }
    }

    #[test]
    fn says_who_decided_and_how_long_it_took() {
        assert_eq!(
            gate(ApprovalState::Waiting).decision(),
            "waiting for approval in production (reviewers: alice, acme/releasers)"
        );
        assert_eq!(
            gate(ApprovalState::Approved).decision(),
            "approved by alice after 2m 00s"
        );
        assert_eq!(
            gate(ApprovalState::Rejected).decision(),
            "rejected by alice after 2m 00s"
        );
        assert_eq!(
            gate(ApprovalState::TimedOut).decision(),
            "no approval within 24h 00m (approval_timeout): cancelled"
        );
        let auto = ApprovalReport {
            auto_approved: true,
            by: Some("release-bot".into()),
            ..gate(ApprovalState::Approved)
        };
        assert_eq!(
            auto.decision(),
            "approved by release-bot (auto_approve) after 2m 00s"
        );
        let timer = ApprovalReport {
            reviewers: Vec::new(),
            wait_timer: Some(Duration::from_secs(300)),
            ..gate(ApprovalState::Waiting)
        };
        assert_eq!(
            timer.waiting_line(),
            "waiting in production for its wait timer (5m 00s)"
        );
    }
}
