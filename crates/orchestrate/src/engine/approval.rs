//! The driver's side of environment gates: a service whose run waits for an approval (or a
//! wait timer) is shown as waiting, announced with `approval_required`, and timed against its
//! `approval_timeout` instead of its run `timeout`; while any run waits, the release's own
//! `timeout` is paused too. When the wait ends the report records who decided and how long
//! it took; when the `approval_timeout` passes first, the run is cancelled and the service
//! fails (and the release rolls back as for any failure).

use std::time::Duration;

use chrono::{DateTime, Utc};
use orchestrate_core::dag::Event;
use orchestrate_core::report::{ApprovalReport, ApprovalState};
use orchestrate_github::{PendingGate, Review};

use super::driver::{Driver, detail};
use super::tasks::AutoApproval;

/// A run's wait under way.
#[derive(Debug, Clone)]
pub struct GateWait {
    /// When the driver learnt of it (its own clock).
    pub since: Duration,
    /// When the run was first seen waiting (GitHub's clock), to time the wait.
    pub seen: DateTime<Utc>,
    /// When its `approval_timeout` passes (the driver's clock).
    pub deadline: Duration,
    pub auto: AutoApproval,
}

/// The report entry of a wait that just started.
fn waiting_report(gates: &[PendingGate], timeout: Duration) -> ApprovalReport {
    let mut reviewers: Vec<String> = Vec::new();
    for r in gates.iter().flat_map(|g| &g.reviewers) {
        if !reviewers.contains(&r.name) {
            reviewers.push(r.name.clone());
        }
    }
    ApprovalReport {
        environments: gates.iter().map(|g| g.environment.clone()).collect(),
        reviewers,
        wait_timer: gates
            .iter()
            .map(|g| g.wait_timer)
            .max()
            .filter(|t| !t.is_zero()),
        state: ApprovalState::Waiting,
        by: None,
        comment: None,
        auto_approved: false,
        waited: Some(Duration::ZERO),
        timeout: Some(timeout),
    }
}

/// `waiting for approval: in production (reviewers: alice) <run>`: the note of a wait, whose
/// first words are the service's state in the progress display.
fn waiting_note(report: &ApprovalReport, auto: &AutoApproval, url: &str) -> String {
    let line = report.waiting_line();
    let (state, rest) = line.split_once(" in ").unwrap_or((line.as_str(), ""));
    let mut note = format!("{state}: in {rest} {url}");
    match auto {
        AutoApproval::Off => {}
        AutoApproval::Approved => {
            note = format!("approving: {rest}, as the token's user (auto_approve) {url}")
        }
        AutoApproval::NotAllowed => {
            note.push_str(" (auto_approve: the token may not approve here; waiting for a reviewer)")
        }
        AutoApproval::Failed(why) => note.push_str(&format!(
            " (auto_approve failed: {why}; waiting for a reviewer)"
        )),
    }
    note
}

impl Driver<'_> {
    pub(super) fn on_approval_waiting(
        &mut self,
        name: &str,
        gates: &[PendingGate],
        auto: AutoApproval,
        seen: DateTime<Utc>,
    ) {
        let now = self.now();
        let settings = &self.release.settings;
        let environment = settings.plan.environments.get(&settings.environment);
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        let timeout = svc.spec.approval_timeout_in(environment);
        let report = waiting_report(gates, timeout);
        let url = svc
            .run
            .as_ref()
            .map(|r| r.html_url.clone())
            .unwrap_or_default();
        let note = waiting_note(&report, &auto, &url);
        let announce = !report.reviewers.is_empty()
            && auto != AutoApproval::Approved
            && !std::mem::replace(&mut svc.approval_announced, true);
        svc.approvals.push(report);
        svc.gate = Some(GateWait {
            since: now,
            seen,
            deadline: now + timeout,
            auto,
        });
        self.approval_pause.get_or_insert(now);
        self.note(Some(name), note.trim_end().to_owned());
        if announce {
            self.announce_approval(name);
        }
    }

    pub(super) fn on_approval_ended(
        &mut self,
        name: &str,
        review: Option<Review>,
        seen: DateTime<Utc>,
    ) {
        let now = self.now();
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        let Some(gate) = svc.gate.take() else {
            // A rejection that came between two polls: no wait was seen, only its verdict.
            if let Some(r) = review.filter(Review::rejected) {
                let timeout = svc.spec.approval_timeout_in(None);
                svc.approvals.push(ApprovalReport {
                    environments: r.environments,
                    state: ApprovalState::Rejected,
                    by: Some(r.user),
                    comment: Some(r.comment).filter(|c| !c.trim().is_empty()),
                    waited: None,
                    ..waiting_report(&[], timeout)
                });
            }
            return;
        };
        let paused = now.saturating_sub(gate.since);
        svc.deadline = svc.deadline.map(|d| d + paused);
        let Some(report) = svc.approvals.last_mut() else {
            return;
        };
        report.waited = Some((seen - gate.seen).to_std().unwrap_or(paused));
        match review {
            Some(r) if r.approved() => {
                report.state = ApprovalState::Approved;
                report.auto_approved = gate.auto == AutoApproval::Approved;
                report.by = Some(r.user);
                report.comment = Some(r.comment).filter(|c| !c.trim().is_empty());
            }
            Some(r) if r.rejected() => {
                report.state = ApprovalState::Rejected;
                report.by = Some(r.user);
                report.comment = Some(r.comment).filter(|c| !c.trim().is_empty());
            }
            _ => report.state = ApprovalState::Passed,
        }
        let decision = report.decision();
        let (state, rest) = decision.split_once(' ').unwrap_or((decision.as_str(), ""));
        let note = format!("{state}: {rest}");
        self.resume_release_clock(now);
        self.note(Some(name), note);
    }

    /// The earliest `approval_timeout` of a run that waits and still races it.
    pub(super) fn approval_deadline(&self) -> Option<Duration> {
        self.svcs
            .iter()
            .filter(|(name, _)| self.racing_its_limit(name))
            .filter_map(|(_, svc)| svc.gate.as_ref().map(|g| g.deadline))
            .min()
    }

    /// Runs whose `approval_timeout` passed: their wait ends, they fail, and the scheduler
    /// cancels them.
    pub(super) fn on_approval_deadlines(&mut self, now: Duration) {
        let expired: Vec<String> = self
            .svcs
            .iter()
            .filter(|(name, svc)| {
                svc.gate.as_ref().is_some_and(|g| now >= g.deadline) && self.racing_its_limit(name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in expired {
            let Some(svc) = self.svcs.get_mut(&name) else {
                continue;
            };
            let Some(gate) = svc.gate.take() else {
                continue;
            };
            let mut environments = String::new();
            let mut limit = now.saturating_sub(gate.since);
            if let Some(report) = svc.approvals.last_mut() {
                report.state = ApprovalState::TimedOut;
                report.waited = Some(limit);
                environments = report.environment_list();
                limit = report.timeout.unwrap_or(limit);
            }
            let limit = humantime::format_duration(limit);
            let why = format!(
                "no approval in {environments} within its approval_timeout ({limit}): run cancelled"
            );
            if svc.failure.is_none() {
                svc.failure = Some(detail(&why));
            }
            self.resume_release_clock(now);
            self.note(Some(&name), format!("timed out: {why}"));
            self.queue.push_back(Event::TimedOut { service: name, now });
        }
    }

    /// A run that waited is being cancelled (the release stopped): its wait ends here.
    pub(super) fn end_wait_on_cancel(&mut self, name: &str, now: Duration) {
        let Some(svc) = self.svcs.get_mut(name) else {
            return;
        };
        let Some(gate) = svc.gate.take() else {
            return;
        };
        if let Some(report) = svc.approvals.last_mut() {
            report.state = ApprovalState::Cancelled;
            report.waited = Some(now.saturating_sub(gate.since));
        }
        self.resume_release_clock(now);
    }

    /// The release's own `timeout` runs again once no run waits for an approval: it is pushed
    /// back by the time the waits took.
    fn resume_release_clock(&mut self, now: Duration) {
        if self.svcs.values().any(|s| s.gate.is_some()) {
            return;
        }
        if let Some(since) = self.approval_pause.take() {
            let paused = now.saturating_sub(since);
            self.release_deadline = self.release_deadline.map(|d| d + paused);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrate_github::Reviewer;

    fn gate(env: &str, reviewers: &[&str], timer: u64) -> PendingGate {
        PendingGate {
            environment_id: 1,
            environment: env.to_owned(),
            wait_timer: Duration::from_secs(timer),
            wait_timer_started_at: None,
            can_approve: false,
            reviewers: reviewers
                .iter()
                .map(|r| Reviewer {
                    team: r.contains('/'),
                    name: (*r).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_wait_reads_as_the_service_state_then_its_details() {
        let report = waiting_report(
            &[gate("production", &["alice", "acme/ops"], 0)],
            Duration::from_secs(3600),
        );
        assert_eq!(
            waiting_note(&report, &AutoApproval::Off, "https://x/runs/1"),
            "waiting for approval: in production (reviewers: alice, acme/ops) https://x/runs/1"
        );
        assert_eq!(
            waiting_note(&report, &AutoApproval::NotAllowed, "u"),
            "waiting for approval: in production (reviewers: alice, acme/ops) u (auto_approve: the token may not approve here; waiting for a reviewer)"
        );
        assert!(
            waiting_note(&report, &AutoApproval::Approved, "u")
                .starts_with("approving: production")
        );
        let timer = waiting_report(&[gate("staging", &[], 300)], Duration::from_secs(60));
        assert_eq!(timer.wait_timer, Some(Duration::from_secs(300)));
        assert_eq!(
            waiting_note(&timer, &AutoApproval::Off, "u"),
            "waiting: in staging for its wait timer (5m 00s) u"
        );
    }

    #[test]
    fn reviewers_of_several_environments_are_listed_once() {
        let report = waiting_report(
            &[
                gate("a", &["alice", "bob"], 0),
                gate("b", &["bob", "carol"], 120),
            ],
            Duration::from_secs(60),
        );
        assert_eq!(report.reviewers, ["alice", "bob", "carol"]);
        assert_eq!(report.environment_list(), "a, b");
        assert_eq!(report.wait_timer, Some(Duration::from_secs(120)));
    }
}
