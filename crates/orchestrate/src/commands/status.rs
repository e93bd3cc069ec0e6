//! `orchestrate status --env E`: what the registry says is deployed in E, per service of the
//! plan, and the last release sets recorded in the orchestrating repository.

use std::fmt::Write as _;

use anyhow::Context as _;
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
    if !plan.environments.contains_key(&args.env) {
        let mut problems = Problems::new();
        let known: Vec<&str> = plan.environments.keys().map(String::as_str).collect();
        problems.input(
            "--env",
            format!("plan `{}` has no environment `{}`", plan.name, args.env),
            format!("environments in the plan: {}", known.join(", ")),
        );
        return Err(problems.into());
    }
    let gh = env.github();
    let auth = env.fallback_token().map(|t| Auth::Token(Secret::new(t)));
    let masks = session::MaskSink {
        masker: io.masker.clone(),
        announce: env.in_github_actions(),
    };
    let github = session::client(&gh.api_url, auth.as_ref(), masks)?;
    let orchestrator = gh
        .repository
        .as_deref()
        .and_then(|r| r.split_once('/'))
        .map(|(o, n)| orchestrate_core::plan::Repo {
            owner: o.to_owned(),
            name: n.to_owned(),
        })
        .or_else(|| plan.services.first().map(|s| s.repo.clone()));
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let github: std::sync::Arc<dyn orchestrate_github::GitHub> = github;
    let (deployed, sets) = runtime
        .block_on(async {
            let deployed = registry::lookup(&github, &plan, &args.env).await?;
            let sets = match &orchestrator {
                Some(repo) => github.release_sets(repo, &args.env, args.history).await?,
                None => Vec::new(),
            };
            Ok::<_, orchestrate_github::Error>((deployed, sets))
        })
        .map_err(|e| {
            if e.is_refusal() {
                Failure::GitHubRefused(e.to_string())
            } else {
                Failure::Internal(anyhow::anyhow!(e.to_string()))
            }
        })?;
    let text = match args.format {
        Format::Json => json!({
            "environment": args.env,
            "services": plan.services.iter().map(|s| {
                let d = deployed.get(&s.name).cloned().unwrap_or_default();
                json!({"service": s.name, "repo": s.repo.to_string(), "deployed": d.current, "previous": d.previous})
            }).collect::<Vec<_>>(),
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
