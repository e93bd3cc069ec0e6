//! The version registry (SPEC §6) as the driver reads it: what each service of the plan has
//! deployed in the environment before the release, and the GitHub environment name its
//! deployments use.
//!
//! Deployments belong to a repository, and one repository may ship several services (the KMP
//! repository ships android, ios, web and desktop). A service alone in its repository records
//! its deployments in the plan's environment (`staging`); a service sharing its repository
//! records them in `<environment>/<service>` (`staging/web`), so each keeps its own history.

use std::collections::BTreeMap;
use std::sync::Arc;

use orchestrate_core::plan::{Plan, Repo, Service};
use orchestrate_github::{DeployedHistory, GitHub};

/// What the registry says about one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployed {
    /// The version deployed now.
    pub current: Option<String>,
    /// The version deployed before that.
    pub previous: Option<String>,
    /// What the current deployment's payload recorded: the run that deployed it and the
    /// release (release-set deployment id) it was part of.
    pub run: Option<(u64, String)>,
    pub release_id: Option<String>,
}

/// The GitHub environment a service's deployments are recorded in.
pub fn deployment_environment(plan: &Plan, service: &Service, environment: &str) -> String {
    let sharing = plan
        .services
        .iter()
        .filter(|s| s.repo == service.repo)
        .count()
        > 1;
    if sharing {
        format!("{environment}/{}", service.name)
    } else {
        environment.to_owned()
    }
}

impl From<DeployedHistory> for Deployed {
    fn from(history: DeployedHistory) -> Self {
        let payload = history.current.as_ref().map(|d| &d.payload);
        let field = |key: &str| payload.and_then(|p| p.get(key));
        let run = field("run_id")
            .and_then(serde_json::Value::as_u64)
            .zip(field("run_url").and_then(|u| u.as_str()).map(str::to_owned));
        let release_id = field("deployment_id").and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        Deployed {
            current: history.current.and_then(|d| d.version),
            previous: history.previous.and_then(|d| d.version),
            run,
            release_id,
        }
    }
}

/// Reads every service of the plan (in the release set or not): one registry read per
/// repository, all repositories concurrently, so the cost grows with repositories, not
/// services.
pub async fn lookup(
    github: &Arc<dyn GitHub>,
    plan: &Plan,
    environment: &str,
) -> Result<BTreeMap<String, Deployed>, orchestrate_github::Error> {
    // Per repository: (service, its GitHub environment), in plan order.
    let mut by_repo: BTreeMap<String, (Repo, Vec<(String, String)>)> = BTreeMap::new();
    for service in &plan.services {
        let env = deployment_environment(plan, service, environment);
        by_repo
            .entry(service.repo.to_string())
            .or_insert_with(|| (service.repo.clone(), Vec::new()))
            .1
            .push((service.name.clone(), env));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (repo, services) in by_repo.into_values() {
        let github = Arc::clone(github);
        tasks.spawn(async move {
            let environments: Vec<String> = services.iter().map(|(_, e)| e.clone()).collect();
            let found = github.deployed_versions_many(&repo, &environments).await;
            (services, found)
        });
    }
    let mut out = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((services, found)) = joined else {
            continue;
        };
        let mut found = found?;
        for (name, env) in services {
            let history = found.remove(&env).unwrap_or_default();
            out.insert(name, Deployed::from(history));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrate_core::plan::load;

    #[test]
    fn services_sharing_a_repository_get_their_own_environment() {
        let text = "version: 1\nname: p\nenvironments: {staging: {}}\nservices:\n  api: {repo: a/be, workflow: d.yml}\n  web: {repo: a/kmp, workflow: w.yml}\n  ios: {repo: a/kmp, workflow: i.yml}\n";
        let plan = load("p.yml", text).expect("valid").plan;
        let env =
            |s: &str| deployment_environment(&plan, plan.service(s).expect("service"), "staging");
        assert_eq!(env("api"), "staging");
        assert_eq!(env("web"), "staging/web");
        assert_eq!(env("ios"), "staging/ios");
    }
}
