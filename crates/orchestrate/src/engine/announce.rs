//! Notifications sent while the release runs (SPEC §7): `deployment_started` once the release
//! is recorded and its lock taken, `approval_required` when a run first waits for a reviewer,
//! `rollback_started` when the first rollback begins. Each goes
//! out in the background with a snapshot of the report (status `in_progress`), so the release
//! never waits on a channel; `finish` collects the deliveries into the report, and the end of
//! release notifications leave out what was already announced.

use std::sync::Arc;

use orchestrate_core::notify::rule::{Channel, Event, Rule, Severity};
use orchestrate_core::notify::{Notice, approval_required, at_start};
use orchestrate_core::report::{NotificationDelivery, ReleaseStatus, RunReport};
use tokio::task::JoinHandle;

use super::driver::Driver;
use super::{End, finish};
use crate::notify::Notifier;

/// What the engine needs to notify: the notifier and the plan's rules, restricted to `only`
/// (the `notification_channels` input).
pub struct Notifications {
    pub notifier: Notifier,
    pub rules: Vec<Rule>,
    pub only: Option<Vec<Channel>>,
}

impl Notifications {
    /// Routes and delivers `notices`; never fails (failed deliveries are in the result).
    pub async fn send(&self, report: &RunReport, notices: &[Notice]) -> Vec<NotificationDelivery> {
        if notices.is_empty() {
            return Vec::new();
        }
        self.notifier
            .notify(report, notices, &self.rules, self.only.as_deref())
            .await
    }
}

/// The announcements of a running release.
#[derive(Default)]
pub struct Announcements {
    sending: Vec<JoinHandle<Vec<NotificationDelivery>>>,
    /// Events announced already (left out at the end).
    pub events: Vec<Event>,
}

impl Driver<'_> {
    pub(super) fn announce_start(&mut self) {
        let report = self.snapshot();
        let notices = at_start(&report);
        self.announce(report, notices);
    }

    /// Before the first rollback run is dispatched: every service that will be rolled back
    /// (its run succeeded, it is not irreversible, and the registry has a version to go back
    /// to).
    pub(super) fn announce_rollback(&mut self) {
        if self.announced.events.contains(&Event::RollbackStarted) {
            return;
        }
        let services: Vec<String> = self
            .svcs
            .iter()
            .filter(|(name, svc)| {
                let previous = self
                    .prepared
                    .deployed
                    .get(*name)
                    .is_some_and(|d| d.current.is_some());
                !svc.spec.irreversible
                    && previous
                    && self
                        .scheduler
                        .status(name)
                        .is_some_and(|status| status.deployed)
            })
            .map(|(name, _)| name.clone())
            .collect();
        let report = self.snapshot();
        let notice = Notice {
            event: Event::RollbackStarted,
            severity: Severity::Warning,
            services,
        };
        self.announce(report, vec![notice]);
    }

    /// `name`'s run waits for a reviewer (its wait is in the report already).
    pub(super) fn announce_approval(&mut self, name: &str) {
        let report = self.snapshot();
        let notice = approval_required(&report, vec![name.to_owned()]);
        self.announce(report, vec![notice]);
    }

    fn announce(&mut self, report: RunReport, notices: Vec<Notice>) {
        self.announced
            .events
            .extend(notices.iter().map(|n| n.event));
        let Some(notify) = &self.engine.notify else {
            return;
        };
        if notices.is_empty() {
            return;
        }
        let notify = Arc::clone(notify);
        self.announced.sending.push(tokio::spawn(
            async move { notify.send(&report, &notices).await },
        ));
    }

    /// The report as it stands, for a notification sent mid-release.
    fn snapshot(&self) -> RunReport {
        finish::report(self, ReleaseStatus::InProgress, &End::Succeeded)
    }
}

impl Announcements {
    /// Waits for every announcement to be delivered (each bounded by the notifier's retry
    /// budget) and returns the deliveries in the order they were announced.
    pub async fn delivered(self) -> Vec<NotificationDelivery> {
        let mut out = Vec::new();
        for sending in self.sending {
            match sending.await {
                Ok(deliveries) => out.extend(deliveries),
                Err(e) => tracing::warn!(error = %e, "a notification task did not finish"),
            }
        }
        out
    }
}
