//! What `run`, `action` and `rehearse` share around the engine: the GitHub client, the exit
//! code of an outcome, notifications, and the log of a finished release (a `::group::` per
//! service, `::error` annotations naming the failed job and step).

use std::io::Write;
use std::sync::Arc;

use orchestrate_core::notify::{self, Notice, Routing};
use orchestrate_core::report::{RunReport, ServiceOutcome};
use orchestrate_github::{Client, ClientConfig, Credentials, Secret};

use super::{End, Notifications, Outcome, StartError};
use crate::env::Env;
use crate::error::Failure;
use crate::gha::{Level, Location, Masker, Workflow};
use crate::notify::{Notifier, NotifySecrets};
use crate::settings::{Auth, Problems, Settings};

/// The GitHub client for `api_url` with the settings' credentials. Installation tokens the
/// client mints later (GitHub App auth) are masked before their first use.
pub fn client(api_url: &str, auth: Option<&Auth>, masks: MaskSink) -> Result<Arc<Client>, Failure> {
    let credentials = match auth {
        Some(Auth::Token(t)) => Credentials::Token(Secret::new(t.expose())),
        Some(Auth::App {
            app_id,
            private_key,
        }) => Credentials::App {
            app_id: *app_id,
            private_key: Secret::new(private_key.expose()),
        },
        None => Credentials::Anonymous,
    };
    let mut config = ClientConfig::new(api_url, credentials);
    config.on_secret = Some(masks.hook());
    Client::new(config)
        .map(Arc::new)
        .map_err(|e| Failure::Internal(anyhow::anyhow!("setting up the GitHub client: {e}")))
}

/// Where secrets discovered during a release are announced: registered with the masker (so
/// every sink redacts them) and, inside Actions, sent to the runner as `::add-mask::` on
/// stderr (the runner reads workflow commands on both streams; stdout may be data).
#[derive(Clone)]
pub struct MaskSink {
    pub masker: Masker,
    pub announce: bool,
}

impl MaskSink {
    pub fn hook(self) -> orchestrate_github::SecretHook {
        Arc::new(move |secret: &str| {
            let mut workflow = Workflow::new(std::io::stderr(), self.masker.clone(), self.announce);
            // If stderr is gone nothing can print the token either; the masker still has it.
            let _ = workflow.add_mask(secret);
        })
    }
}

/// The plan's artifact store for a release whose GitHub client is `github`; a store that can
/// be told unusable without the network (no AWS credentials) is bad input (exit 2).
pub fn open_store(
    settings: &Settings,
    env: &Env,
    github: Arc<dyn orchestrate_github::GitHub>,
    orchestrator: orchestrate_github::Repo,
    manifest_dir: &std::path::Path,
    masks: MaskSink,
) -> Result<Arc<crate::store::Store>, Failure> {
    let ctx = crate::store::StoreContext {
        env,
        github,
        orchestrator,
        manifest_dir: manifest_dir.to_path_buf(),
        on_secret: Some(masks.hook()),
    };
    crate::store::open(&settings.plan.artifacts, ctx)
        .map(Arc::new)
        .map_err(|e| {
            let mut problems = Problems::new();
            problems.input("plan artifacts.store", e.to_string(), e.hint());
            Failure::BadInput(problems)
        })
}

/// The exit code of a release that could not start.
pub fn start_failure(err: StartError) -> Failure {
    match err {
        StartError::Incompatible(messages) => {
            let mut problems = Problems::new();
            for m in messages {
                problems.input(
                    "versions",
                    format!("incompatible release: {m}"),
                    "release a compatible version of the required service in the same release, or change the range in `requires`",
                );
            }
            Failure::BadInput(problems)
        }
        StartError::Unresolvable(messages) => {
            let mut problems = Problems::new();
            for m in messages {
                problems.input(
                    "versions",
                    m,
                    "add that service to `versions`, deploy it first, or define the variable in the environment",
                );
            }
            Failure::BadInput(problems)
        }
        StartError::Refused(message) => Failure::GitHubRefused(message),
        StartError::Locked(message) => Failure::DeploymentFailed(message),
        StartError::GitHub(message) => Failure::Internal(anyhow::anyhow!(message)),
        StartError::Store { message, hint } => {
            let mut problems = Problems::new();
            problems.input("plan artifacts.store", message, hint);
            Failure::BadInput(problems)
        }
    }
}

/// The exit code of a release that ran.
pub fn end_failure(outcome: &Outcome) -> Result<(), Failure> {
    let failed = || {
        let names: Vec<String> = outcome
            .report
            .services
            .iter()
            .filter(|s| matches!(s.outcome, ServiceOutcome::Failed | ServiceOutcome::TimedOut))
            .map(|s| match &s.failure {
                Some(f) => format!("{}: {}", s.name, f.message),
                None => s.name.clone(),
            })
            .collect();
        format!("{} ({})", outcome.report.status.as_str(), names.join("; "))
    };
    match &outcome.end {
        End::Succeeded => Ok(()),
        End::Failed | End::Cancelled => Err(Failure::DeploymentFailed(failed())),
        End::TimedOut => Err(Failure::TimedOut(failed())),
        End::Refused(message) => Err(Failure::GitHubRefused(message.clone())),
    }
}

/// The notifications of a release, or `None` when the plan has no rules. Issues are filed with
/// `github`, the release's own client (its credentials, pacing and request counts). Every
/// channel secret is registered with `masker`.
pub fn notifications(
    settings: &Settings,
    env: &Env,
    masker: &Masker,
    github: Arc<Client>,
) -> Option<Arc<Notifications>> {
    let plan = &settings.plan;
    if plan.notifications.is_empty() {
        return None;
    }
    let secrets = NotifySecrets::from_env(env, &plan.channels, None);
    let http = match crate::notify::http::client() {
        Ok(http) => http,
        Err(e) => {
            tracing::warn!(error = %e, "no HTTP client for notifications");
            return None;
        }
    };
    let notifier = Notifier::new(http, plan.channels.clone(), secrets, masker.clone())
        .with_github_client(github);
    Some(Arc::new(Notifications {
        notifier,
        rules: plan.notifications.clone(),
        only: settings.channels.clone(),
    }))
}

/// Delivers the end of release notifications (never fails the release), leaving out events
/// announced while it ran, and adds them to the report's deliveries.
pub async fn notify_finish(outcome: &mut Outcome, notify: Option<&Notifications>) {
    let Some(notify) = notify else { return };
    let notices: Vec<Notice> = notify::at_finish(&outcome.report)
        .into_iter()
        .filter(|n| !outcome.announced.contains(&n.event))
        .collect();
    let delivered = notify.send(&outcome.report, &notices).await;
    outcome.report.notifications.extend(delivered);
}

/// The notifications a rehearsal would send, one line each (nothing is sent): at the start,
/// then at the end.
pub fn would_notify(report: &RunReport, settings: &Settings) -> Vec<String> {
    let plan = &settings.plan;
    let routing = Routing {
        rules: &plan.notifications,
        channels: &plan.channels,
        only: settings.channels.as_deref(),
    };
    let start = notify::route(report, &notify::at_start(report), routing);
    // Sent while the release runs, once per service whose run waited for a reviewer.
    let approvals: Vec<_> = report
        .services
        .iter()
        .filter(|s| !s.approvals.is_empty())
        .flat_map(|s| {
            let notice = notify::approval_required(report, vec![s.name.clone()]);
            notify::route(report, &[notice], routing)
        })
        .collect();
    let finish = notify::route(report, &notify::at_finish(report), routing);
    start
        .iter()
        .chain(&approvals)
        .chain(&finish)
        .map(|d| {
            format!(
                "would notify {}: {}",
                d.channel.as_str(),
                d.event().as_str()
            )
        })
        .collect()
}

/// A `::group::` per service with its timeline, and an `::error` annotation per failure
/// (title: the service; message: the failed job and step, with the link).
pub fn log_groups<W: Write>(out: &mut Workflow<W>, report: &RunReport) -> std::io::Result<()> {
    for s in report.services.iter().filter(|s| s.to_version.is_some()) {
        out.group(&format!(
            "{} {}: {}",
            s.name,
            s.to_version.as_deref().unwrap_or(""),
            s.outcome.as_str()
        ))?;
        for entry in report
            .timeline
            .iter()
            .filter(|e| e.service.as_deref() == Some(&s.name))
        {
            let at = chrono::DateTime::<chrono::Utc>::from(entry.at);
            out.line(&format!("{} {}", at.format("%H:%M:%S"), entry.what))?;
        }
        if let Some(run) = &s.run {
            out.line(&format!("run: {}", run.url))?;
        }
        out.end_group()?;
    }
    for s in report.failed_services() {
        let Some(failure) = &s.failure else { continue };
        let mut message = failure.message.clone();
        if let Some(url) = failure.job_url.as_ref().or(s.run.as_ref().map(|r| &r.url)) {
            message.push_str(&format!(" ({url})"));
        }
        let location = Location {
            title: Some(s.name.clone()),
            ..Location::default()
        };
        out.annotate(Level::Error, &location, &message)?;
    }
    Ok(())
}
