//! `orchestrate stats --env E [--since 30d] [--service S] [--format table|json|prometheus]`:
//! release statistics from the registry. One deployments list (all pages) per repository and
//! deployment environment of the plan's services, plus one status list per deployment; then
//! the releases' manifests where the plan's store has them (`manifests`). The arithmetic is
//! `orchestrate_core::stats`, the output `render`.

mod manifests;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use orchestrate_core::plan::{Plan, Repo};
use orchestrate_core::stats::{self, Record, StatusView, Summary};
use orchestrate_github::{DeploymentHistoryEntry, GitHub};

pub use manifests::ManifestsRead;

use super::Io;
use super::health::check_services;
use super::status::{check_environment, github_failure, registry_client};
use crate::cli::{StatsArgs, StatsFormat};
use crate::engine::registry::deployment_environment;
use crate::env::Env;
use crate::error::Failure;
use crate::settings::{Problems, planfile};

/// What a stats run read and spent, beside the figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub plan: String,
    pub environment: String,
    /// The `--since` as given.
    pub since: String,
    /// Only these services (empty: all of the plan's).
    pub services: Vec<String>,
    /// The deployment lists read: one per repository and deployment environment.
    pub lists: Vec<ListRead>,
    pub requests: Requests,
    /// The release manifests looked for, one per release of the period.
    pub manifests: ManifestsRead,
    pub summary: Summary,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ListRead {
    pub repo: String,
    pub environment: String,
    /// Orchestrate deployments found there in the period.
    pub deployments: usize,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Requests {
    pub total: u64,
    pub counted: u64,
}

pub fn run(args: &StatsArgs, env: &Env, io: &mut Io) -> Result<(), Failure> {
    let file = planfile::read(&args.plan, &args.plan.display().to_string())?;
    let plan = file.loaded.plan;
    check_environment(&plan, &args.env)?;
    check_services(&plan, &args.service)?;
    let period = stats::parse_period(&args.since).map_err(|why| {
        let mut problems = Problems::new();
        problems.input(
            "--since",
            why,
            "a whole number and a unit: `m`, `h`, `d` or `w`, e.g. `30d` or `12h`",
        );
        Failure::from(problems)
    })?;
    let github = registry_client(env, io)?;
    let now = Utc::now();
    let since = now - chrono::Duration::seconds(period);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (records, lists) = runtime
        .block_on(collect(&github, &plan, &args.env, &args.service, since))
        .map_err(github_failure)?;
    let (times, read) = match manifests::open(&plan, env, &github, &args.manifest_dir) {
        Ok(store) => runtime.block_on(manifests::read(&store, &plan.name, &args.env, &records)),
        Err(why) => {
            tracing::warn!(error = %why, "cannot open the plan's store; the figures come from the registry alone");
            let read = ManifestsRead {
                store: format!("{} store unavailable: {why}", plan.artifacts.kind()),
                ..ManifestsRead::default()
            };
            (Vec::new(), read)
        }
    };
    let api = github.stats();
    let report = Report {
        plan: plan.name.clone(),
        environment: args.env.clone(),
        since: args.since.clone(),
        services: args.service.clone(),
        lists,
        requests: Requests {
            total: api.requests,
            counted: api.counted,
        },
        manifests: read,
        summary: stats::compute(&records, &times, since.timestamp(), now.timestamp()),
    };
    let text = match args.format {
        StatsFormat::Table => render::table(&report),
        StatsFormat::Json => serde_json::to_string_pretty(&report).context("serializing")?,
        StatsFormat::Prometheus => render::prometheus(&report).context("encoding the metrics")?,
    };
    io.print(&text).context("writing to stdout")?;
    Ok(())
}

/// Where each selected service's deployments are: its repository and deployment environment
/// (`staging`, or `staging/<service>` when services share a repository).
fn sources(
    plan: &Plan,
    environment: &str,
    only: &[String],
) -> BTreeMap<(Repo, String), Vec<String>> {
    let mut out: BTreeMap<(Repo, String), Vec<String>> = BTreeMap::new();
    for service in plan
        .services
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
    {
        let key = (
            service.repo.clone(),
            deployment_environment(plan, service, environment),
        );
        out.entry(key).or_default().push(service.name.clone());
    }
    out
}

/// Every selected service's deployments since `since`, as stats records; the lists read.
async fn collect(
    github: &Arc<dyn GitHub>,
    plan: &Plan,
    environment: &str,
    only: &[String],
    since: DateTime<Utc>,
) -> orchestrate_github::Result<(Vec<Record>, Vec<ListRead>)> {
    let mut reads = tokio::task::JoinSet::new();
    for ((repo, deployment_env), services) in sources(plan, environment, only) {
        let github = Arc::clone(github);
        reads.spawn(async move {
            let entries = github
                .deployment_history(&repo, &deployment_env, since)
                .await;
            (repo, deployment_env, services, entries)
        });
    }
    let mut records = Vec::new();
    let mut lists = Vec::new();
    while let Some(joined) = reads.join_next().await {
        let (repo, deployment_env, services, entries) =
            joined.expect("a stats read does not panic");
        let found: Vec<Record> = entries?
            .iter()
            .filter_map(|entry| record(&repo, &services, entry))
            .collect();
        lists.push(ListRead {
            repo: repo.to_string(),
            environment: deployment_env,
            deployments: found.len(),
        });
        records.extend(found);
    }
    lists.sort_by(|a, b| (&a.repo, &a.environment).cmp(&(&b.repo, &b.environment)));
    records.sort_by_key(|r| (r.created_at, r.deployment_id));
    Ok((records, lists))
}

/// A deployment as a stats record when it belongs to one of `services` (its payload names
/// the service; a deployment without one belongs to the only service listed there).
fn record(repo: &Repo, services: &[String], entry: &DeploymentHistoryEntry) -> Option<Record> {
    let named = entry.payload.get("service").and_then(|v| v.as_str());
    let service = match (named, services) {
        (Some(name), _) => services.iter().find(|s| *s == name)?.clone(),
        (None, [only]) => only.clone(),
        (None, _) => return None,
    };
    let release_id = entry.payload.get("deployment_id").and_then(|v| match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let statuses: Vec<StatusView> = entry
        .statuses
        .iter()
        .map(|s| StatusView {
            id: s.id,
            state: s.state.clone(),
            description: s.description.clone(),
            created_at: s.created_at.timestamp(),
        })
        .collect();
    Some(Record::new(
        service,
        repo.to_string(),
        release_id,
        entry.id,
        entry.created_at.timestamp(),
        &statuses,
    ))
}
