//! `orchestrate status --env E`: what the registry says is deployed in E, per service of the
//! plan, the last verified release set with its manifest (what a rollback would restore), and
//! the last release sets recorded in the orchestrating repository.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use orchestrate_core::plan::{Plan, Repo};
use orchestrate_github::GitHub;
use serde_json::json;

use super::Io;
use crate::cli::{Format, StatusArgs};
use crate::engine::registry;
use crate::engine::session;
use crate::env::Env;
use crate::error::Failure;
use crate::settings::{Auth, Problems, Secret, planfile};

pub fn run(args: &StatusArgs, env: &Env, io: &mut Io) -> Result<(), Failure> {
    let label = args.plan.display().to_string();
    let file = planfile::read(&args.plan, &label)?;
    let plan = file.loaded.plan;
    check_environment(&plan, &args.env)?;
    let github = registry_client(env, io)?;
    let orchestrator = orchestrator_repo(env, &plan);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let store = orchestrator
        .clone()
        .map(|repo| {
            crate::store::open(
                &plan.artifacts,
                crate::store::StoreContext {
                    env,
                    github: Arc::clone(&github),
                    orchestrator: repo,
                    manifest_dir: std::path::PathBuf::from(crate::cli::DEFAULT_MANIFEST_DIR),
                    on_secret: None,
                },
            )
        })
        .transpose()
        .map_err(|e| {
            let mut problems = Problems::new();
            problems.input("plan artifacts.store", e.to_string(), e.hint());
            Failure::BadInput(problems)
        })?;
    let (deployed, sets, verified) = runtime
        .block_on(async {
            let deployed = registry::lookup(&github, &plan, &args.env).await?;
            let sets = match &orchestrator {
                Some(repo) => github.release_sets(repo, &args.env, args.history).await?,
                None => Vec::new(),
            };
            let verified = match (&orchestrator, &store) {
                (Some(repo), Some(store)) => {
                    crate::engine::manifest::previous(&github, store, repo, &plan.name, &args.env)
                        .await
                }
                _ => None,
            };
            Ok::<_, orchestrate_github::Error>((deployed, sets, verified))
        })
        .map_err(github_failure)?;
    let text = match args.format {
        Format::Json => json!({
            "environment": args.env,
            "services": plan.services.iter().map(|s| {
                let d = deployed.get(&s.name).cloned().unwrap_or_default();
                json!({"service": s.name, "repo": s.repo.to_string(), "deployed": d.current, "previous": d.previous})
            }).collect::<Vec<_>>(),
            "last_verified": verified.as_ref().map(|v| json!({
                "deployment_id": v.deployment_id,
                "manifest": v.location,
                "finished_at": v.manifest.finished_at,
                "versions": v.manifest.verified_versions(),
            })),
            "release_sets": sets.iter().map(|r| json!({
                "deployment_id": r.deployment_id,
                "created_at": r.created_at.to_rfc3339(),
                "state": r.state,
                "members": r.set.as_ref().map(|s| s.members.iter().map(|m| json!({"service": m.service, "version": m.version})).collect::<Vec<_>>()),
            })).collect::<Vec<_>>(),
        })
        .to_string(),
        Format::Text => {
            let mut out = format!("Deployed in `{}` (plan `{}`):\n\n", args.env, plan.name);
            let width = plan.services.iter().map(|s| s.name.len()).max().unwrap_or(8);
            for s in &plan.services {
                let d = deployed.get(&s.name).cloned().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:<12} (previous {})  {}",
                    s.name,
                    d.current.as_deref().unwrap_or("none"),
                    d.previous.as_deref().unwrap_or("none"),
                    s.repo
                );
            }
            match &verified {
                Some(v) => {
                    let versions: Vec<String> = v
                        .manifest
                        .verified_versions()
                        .iter()
                        .map(|(s, version)| format!("{s} {version}"))
                        .collect();
                    let _ = writeln!(
                        out,
                        "\nLast verified release set: {} (finished {}), manifest {}\n  {}",
                        v.deployment_id,
                        v.manifest.finished_at,
                        v.location,
                        versions.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "\nLast verified release set: none with a manifest (rollbacks go by the registry)"
                    );
                }
            }
            let _ = writeln!(out, "\nLast release sets:");
            if sets.is_empty() {
                let _ = writeln!(out, "  none recorded");
            }
            for r in &sets {
                let members = r.set.as_ref().map_or(String::new(), |s| {
                    s.members.iter().map(|m| format!("{} {}", m.service, m.version)).collect::<Vec<_>>().join(", ")
                });
                let _ = writeln!(
                    out,
                    "  {}  {}  {:<11}  {members}",
                    r.deployment_id,
                    r.created_at.format("%Y-%m-%d %H:%M"),
                    r.state.as_deref().unwrap_or("no status"),
                );
            }
            out
        }
    };
    io.print(&text).context("writing to stdout")?;
    Ok(())
}

/// Where the release sets are recorded: `GITHUB_REPOSITORY`, else (outside Actions) the first
/// service's repository, as a release records them.
pub(super) fn orchestrator_repo(env: &Env, plan: &Plan) -> Option<Repo> {
    env.github()
        .repository
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .map(|(o, n)| Repo {
            owner: o.to_owned(),
            name: n.to_owned(),
        })
        .or_else(|| plan.services.first().map(|s| s.repo.clone()))
}

/// Bad input (exit 2) unless `environment` is one of the plan's.
pub(super) fn check_environment(plan: &Plan, environment: &str) -> Result<(), Failure> {
    if plan.environments.contains_key(environment) {
        return Ok(());
    }
    let mut problems = Problems::new();
    let known: Vec<&str> = plan.environments.keys().map(String::as_str).collect();
    problems.input(
        "--env",
        format!("plan `{}` has no environment `{environment}`", plan.name),
        format!("environments in the plan: {}", known.join(", ")),
    );
    Err(problems.into())
}

/// A client for reading the registry, with the token from the environment (`ORCHESTRATE_TOKEN`,
/// else `GITHUB_TOKEN`), masked like a release's.
pub(super) fn registry_client(env: &Env, io: &Io) -> Result<Arc<dyn GitHub>, Failure> {
    let gh = env.github();
    let auth = env.fallback_token().map(|t| Auth::Token(Secret::new(t)));
    let masks = session::MaskSink {
        masker: io.masker.clone(),
        announce: env.in_github_actions(),
    };
    let client: Arc<dyn GitHub> = session::client(&gh.api_url, auth.as_ref(), masks)?;
    Ok(client)
}

/// A GitHub error as the exit code it means: 3 when GitHub refused, else 5.
pub(super) fn github_failure(e: orchestrate_github::Error) -> Failure {
    if e.is_refusal() {
        Failure::GitHubRefused(e.to_string())
    } else {
        Failure::Internal(anyhow::anyhow!(e.to_string()))
    }
}
