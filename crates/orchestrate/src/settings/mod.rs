//! One `Settings` type for a release, whatever fed it (CLI flags or action inputs with the
//! event fallback), validated once against the plan. Every problem is collected and reported
//! together, naming the input, before anything is dispatched.

pub mod event;
pub mod parse;
pub mod planfile;
pub mod problems;
pub mod raw;

use std::time::Duration;

use orchestrate_core::notify::rule::Channel;
use orchestrate_core::plan::{Plan, ReleaseSet, Strategy};

pub use planfile::PlanFile;
pub use problems::Problems;
pub use raw::{Given, Origin, RawSettings};

/// A secret string: never printed by `Debug`, only reachable through `expose`. The GitHub
/// layer's own type, so settings hand credentials over without re-wrapping them.
pub use orchestrate_github::Secret;

/// How orchestrate authenticates to GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A PAT or an installation token.
    Token(Secret),
    /// A GitHub App: installation tokens are minted per repository owner.
    App { app_id: u64, private_key: Secret },
}

/// Whether the settings are for a preview (no GitHub access needed) or a real release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Preview,
    Release,
}

/// A release, fully checked. Nothing here needs re-validating downstream.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How messages name the plan file.
    pub plan_file: String,
    pub plan: Plan,
    pub environment: String,
    pub release: ReleaseSet,
    pub strategy: Strategy,
    pub rollback_on_failure: bool,
    /// `None`: every channel the plan's rules name; `Some`: only these.
    pub channels: Option<Vec<Channel>>,
    pub dry_run: bool,
    pub timeout: Option<Duration>,
    /// Required for a release that is not a dry run; absent is fine for a preview.
    pub auth: Option<Auth>,
}

impl Settings {
    /// Checks `raw` against the loaded `plan`. Collects every problem; `Err` when any is an
    /// error. A real release (not a dry run) also needs credentials.
    pub fn validate(
        raw: &RawSettings,
        plan: &PlanFile,
        purpose: Purpose,
    ) -> Result<Settings, Problems> {
        let mut problems = Problems::new();
        let plan_ref = &plan.loaded.plan;
        let environment = parse::environment(raw.environment.as_ref(), plan_ref, &mut problems);
        let release = parse::release_set(&raw.versions, plan_ref, &mut problems);
        let strategy = parse::strategy(raw.strategy.as_ref(), plan_ref, &mut problems);
        let rollback_on_failure =
            parse::boolean(raw.rollback_on_failure.as_ref(), true, &mut problems);
        let dry_run = parse::boolean(raw.dry_run.as_ref(), false, &mut problems);
        let channels = parse::channels(raw.notification_channels.as_ref(), &mut problems);
        let timeout = parse::timeout(raw.timeout.as_ref(), &mut problems);
        let needs_auth = purpose == Purpose::Release && !dry_run;
        let auth = parse::auth(raw, needs_auth, &mut problems);
        problems.into_result()?;
        match (environment, release) {
            (Some(environment), Some(release)) => Ok(Settings {
                plan_file: plan.label.clone(),
                plan: plan_ref.clone(),
                environment,
                release,
                strategy,
                rollback_on_failure,
                channels,
                dry_run,
                timeout,
                auth,
            }),
            // Both report a problem when absent, so this is unreachable; keep it an error.
            _ => {
                let mut problems = Problems::new();
                problems.input(
                    "settings",
                    "target environment or versions missing",
                    "give both",
                );
                Err(problems)
            }
        }
    }

    /// The target environment's `health_timeout` (60 s for an environment the plan does not
    /// describe).
    pub fn health_timeout(&self) -> Duration {
        self.plan
            .environments
            .get(&self.environment)
            .map_or(Duration::from_secs(60), |e| e.health_timeout)
    }

    /// The secrets these settings hold, for the masker.
    pub fn secrets(&self) -> Vec<&str> {
        match &self.auth {
            Some(Auth::Token(token)) => vec![token.expose()],
            Some(Auth::App { private_key, .. }) => vec![private_key.expose()],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
