//! A dry run's report: every service of the release `planned`, the rest `not_in_release`,
//! waves and compatibility from the preview. Rendered by the core's report renderers like a
//! real run, plus a short "planned waves" section only a dry run has.

use std::fmt::Write as _;
use std::time::SystemTime;

use orchestrate_core::report::{
    ApiStats, HealthVerdict, ReleaseStatus, RunReport, ServiceOutcome, ServiceReport,
};

use crate::preview::{Preview, Step};
use crate::settings::Settings;

/// The report of a release that was only planned. `deployment_id` is a local id: no
/// deployment exists in a dry run.
pub fn report(
    settings: &Settings,
    preview: &Preview,
    now: SystemTime,
    run_url: Option<String>,
) -> RunReport {
    let wave_of = |name: &str| {
        preview
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Wave { number, services } => Some((number, services)),
                Step::Bake { .. } => None,
            })
            .find(|(_, services)| services.iter().any(|s| s == name))
            .map_or(0, |(number, _)| number - 1)
    };
    let services = settings
        .plan
        .services
        .iter()
        .map(|s| {
            let target = settings.release.version(&s.name).map(ToString::to_string);
            ServiceReport {
                name: s.name.clone(),
                repo: s.repo.to_string(),
                from_version: None,
                outcome: if target.is_some() {
                    ServiceOutcome::Planned
                } else {
                    ServiceOutcome::NotInRelease
                },
                to_version: target,
                needs: s.needs.clone(),
                wave: wave_of(&s.name),
                irreversible: s.irreversible,
                run: None,
                queued: None,
                duration: None,
                dispatched: None,
                settled: None,
                health: if s.health.is_some() {
                    HealthVerdict::NotChecked
                } else {
                    HealthVerdict::NoCheck
                },
                failure: None,
                artifacts: Vec::new(),
                approvals: Vec::new(),
            }
        })
        .collect();
    RunReport {
        plan: settings.plan.name.clone(),
        deployment_id: format!("dry-run-{}", uuid::Uuid::new_v4()),
        environment: settings.environment.clone(),
        strategy: settings.strategy,
        status: ReleaseStatus::Planned,
        dry_run: true,
        started_at: now,
        finished_at: now,
        orchestrator_run_url: run_url,
        services,
        compatibility: preview.compatibility.clone(),
        rollbacks: Vec::new(),
        timeline: Vec::new(),
        api: ApiStats::default(),
        notifications: Vec::new(),
        error: None,
        manifest: None,
    }
}

/// Writes the dry run's manifest to the plan's store (a store that fails its pre-flight is
/// bad input, exit 2; one that fails the write is a warning in the report).
pub fn store_manifest(
    settings: &Settings,
    env: &crate::env::Env,
    io: &super::Io,
    report: &mut RunReport,
    manifest_dir: &std::path::Path,
) -> Result<(), crate::error::Failure> {
    use anyhow::Context as _;
    let gh = env.github();
    let masks = crate::engine::session::MaskSink {
        masker: io.masker.clone(),
        announce: env.in_github_actions(),
    };
    // A dry run reads nothing back: the client needs no credentials.
    let github = crate::engine::session::client(&gh.api_url, None, masks.clone())?;
    let store = crate::engine::session::open_store(
        settings,
        env,
        github,
        super::run::orchestrator(&gh, settings),
        manifest_dir,
        masks,
    )?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        store.preflight().await.map_err(|e| {
            let mut problems = crate::settings::Problems::new();
            problems.input("plan artifacts.store", e.to_string(), e.hint());
            crate::error::Failure::BadInput(problems)
        })?;
        crate::engine::manifest::write(&store, report, None).await;
        Ok(())
    })
}

/// The waves in Markdown, appended after the report summary.
pub fn waves_markdown(preview: &Preview) -> String {
    let mut out = String::from("\n### Planned waves (dry run: nothing was dispatched)\n\n");
    for step in &preview.steps {
        // Writing to a String cannot fail.
        let _ = match step {
            Step::Wave { number, services } => {
                let list: Vec<String> = services
                    .iter()
                    .map(|s| {
                        format!(
                            "`{s}` {}",
                            preview.release_set.get(s).map_or("", String::as_str)
                        )
                    })
                    .collect();
                writeln!(out, "{number}. {}", list.join(", "))
            }
            Step::Bake { duration } => writeln!(
                out,
                "   - canary gate: health checks pass, then bake {}",
                humantime::format_duration(*duration)
            ),
        };
    }
    if preview.lock {
        let _ = writeln!(
            out,
            "\nEnvironment `{}` is locked for the length of a release.",
            preview.environment
        );
    }
    if !preview.irreversible.is_empty() {
        let _ = writeln!(
            out,
            "\nIrreversible (halted on failure, never rolled back): {}",
            preview.irreversible.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::raw::{Given, RawSettings};
    use crate::settings::tests::plan_file;
    use crate::settings::{Purpose, Settings};

    #[test]
    fn planned_report_marks_the_release_set_and_renders_outputs() {
        let raw = RawSettings {
            environment: Some(Given::input("target_environment", "staging")),
            versions: vec![Given::input("versions", "{backend: 1.2.0, web: 2.1.0}")],
            ..RawSettings::default()
        };
        let settings = Settings::validate(&raw, &plan_file(), Purpose::Preview).expect("valid");
        let preview = Preview::build(&settings).expect("preview");
        let report = report(&settings, &preview, SystemTime::UNIX_EPOCH, None);
        assert_eq!(report.status, ReleaseStatus::Planned);
        let outcome = |n: &str| report.service(n).map(|s| (s.outcome, s.wave));
        assert_eq!(outcome("backend"), Some((ServiceOutcome::Planned, 0)));
        assert_eq!(outcome("web"), Some((ServiceOutcome::Planned, 1)));
        assert_eq!(outcome("android"), Some((ServiceOutcome::NotInRelease, 0)));
        let outputs = orchestrate_core::report::outputs::render(&report);
        let names: Vec<&str> = outputs.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "deployment_id",
                "status",
                "runs",
                "failed_services",
                "rolled_back_services",
                "manifest_artifact_id",
                "report"
            ]
        );
        let md = waves_markdown(&preview);
        assert!(
            md.contains("1. `backend` 1.2.0") && md.contains("2. `web` 2.1.0"),
            "{md}"
        );
    }
}
