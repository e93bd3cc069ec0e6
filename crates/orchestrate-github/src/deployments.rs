//! GitHub Deployments as the version registry: recording a service's deployment and its
//! statuses, reading what is deployed in an environment (newest deployment whose newest status
//! is `success`, by id, since the list order is undocumented), for several environments of one
//! repository from one list, and the release-set record in the orchestrator's own repository.

use crate::client::{Client, Method, Request};
use crate::error::{Error, Result};
use crate::models::{Deployment, DeploymentStatus, MessageBody};
use crate::types::{
    DeployedHistory, DeployedVersion, DeploymentHistoryEntry, DeploymentId, DeploymentStatusUpdate,
    NewDeployment, ReleaseSet, ReleaseSetRecord, Repo, StatusEntry,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The `task` of a service deployment and of a release-set record.
pub const TASK_DEPLOY: &str = "deploy";
pub const TASK_RELEASE_SET: &str = "deploy:release-set";

/// Deployments examined when looking for the current and previous good versions.
const MAX_EXAMINED: usize = 30;
const MAX_LIST_PAGES: usize = 3;
/// Pages of 100 read for `stats`: 5,000 deployments per repository and environment.
const MAX_HISTORY_PAGES: usize = 50;
const PERMISSION: &str = "deployments: write";

impl Client {
    pub(crate) async fn new_deployment(
        &self,
        repo: &Repo,
        d: &NewDeployment,
    ) -> Result<DeploymentId> {
        let mut body = serde_json::json!({
            "ref": d.git_ref,
            "task": d.task,
            "environment": d.environment,
            "payload": d.payload,
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": false,
        });
        if let Some(description) = &d.description {
            body["description"] = truncate(description, 140).into();
        }
        if let Some(production) = d.production_environment {
            body["production_environment"] = production.into();
        }
        let path = format!("/repos/{}/{}/deployments", repo.owner, repo.name);
        // Not re-sent after a 5xx: a stray deployment without statuses is harmless to the
        // registry (only `success` statuses count), a duplicate with statuses is not.
        let request = Request::write(Method::Post, repo, path.clone(), Some(body))
            .permission(PERMISSION)
            .accept(&[202]);
        let response = self.send(request).await?;
        if response.status == 202 {
            let message = serde_json::from_str::<MessageBody>(&response.body)
                .ok()
                .and_then(|m| m.message);
            return Err(Error::DeploymentAutoMerged {
                repo: repo.to_string(),
                message: message.unwrap_or_else(|| "no message".into()),
            });
        }
        let created: Deployment = serde_json::from_str(&response.body)
            .map_err(|source| Error::Decode { path, source })?;
        Ok(created.id)
    }

    pub(crate) async fn deployment_status(
        &self,
        repo: &Repo,
        id: DeploymentId,
        update: &DeploymentStatusUpdate,
    ) -> Result<()> {
        let mut body = serde_json::json!({ "state": update.state.as_str() });
        if let Some(url) = &update.log_url {
            body["log_url"] = url.clone().into();
        }
        if let Some(url) = &update.environment_url {
            body["environment_url"] = url.clone().into();
        }
        if let Some(description) = &update.description {
            body["description"] = truncate(description, 140).into();
        }
        let path = format!(
            "/repos/{}/{}/deployments/{id}/statuses",
            repo.owner, repo.name
        );
        // A repeated status is harmless, so this write may be re-sent.
        let request = Request::write(Method::Post, repo, path, Some(body))
            .permission(PERMISSION)
            .idempotent();
        self.send(request).await.map(|_| ())
    }

    /// Deployments of `repo` in `environment` with `task`, newest (highest id) first.
    async fn deployments(
        &self,
        repo: &Repo,
        environment: &str,
        task: &str,
    ) -> Result<Vec<Deployment>> {
        self.deployment_pages(repo, Some(environment), task, MAX_LIST_PAGES)
            .await
    }

    /// Up to `max_pages` pages of the deployments list (of one environment, or of all),
    /// newest (highest id) first.
    async fn deployment_pages(
        &self,
        repo: &Repo,
        environment: Option<&str>,
        task: &str,
        max_pages: usize,
    ) -> Result<Vec<Deployment>> {
        let filter = environment
            .map(|e| format!("environment={}&", crate::dispatch::enc(e)))
            .unwrap_or_default();
        let mut path = format!(
            "/repos/{}/{}/deployments?{filter}task={}&per_page=100",
            repo.owner,
            repo.name,
            crate::dispatch::enc(task)
        );
        let mut all: Vec<Deployment> = Vec::new();
        for _ in 0..max_pages {
            let response = self
                .send(
                    Request::get(repo, path.clone())
                        .permission(PERMISSION)
                        .conditional(),
                )
                .await?;
            let page: Vec<Deployment> =
                serde_json::from_str(&response.body).map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })?;
            all.extend(page);
            match self.next_page(&response)? {
                Some(next) => path = next,
                None => break,
            }
        }
        all.sort_by_key(|d| std::cmp::Reverse(d.id));
        all.dedup_by_key(|d| d.id);
        Ok(all)
    }

    /// Every orchestrate deployment (one carrying a `version`) of `repo` in `environment`
    /// created at or after `since`, with all its statuses: the whole list (every page, one
    /// request each), then one status request per deployment kept.
    pub(crate) async fn history(
        &self,
        repo: &Repo,
        environment: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DeploymentHistoryEntry>> {
        let mut out = Vec::new();
        for d in self
            .deployment_pages(repo, Some(environment), TASK_DEPLOY, MAX_HISTORY_PAGES)
            .await?
            .into_iter()
            .filter(|d| d.created_at >= since)
        {
            let payload = d.payload_object();
            if !payload.get("version").is_some_and(|v| v.is_string()) {
                continue;
            }
            let path = format!(
                "/repos/{}/{}/deployments/{}/statuses?per_page=100",
                repo.owner, repo.name, d.id
            );
            let statuses: Vec<DeploymentStatus> = self
                .json(Request::get(repo, path).permission(PERMISSION))
                .await?;
            out.push(DeploymentHistoryEntry {
                id: d.id,
                created_at: d.created_at,
                payload,
                statuses: statuses
                    .into_iter()
                    .map(|s| StatusEntry {
                        id: s.id,
                        created_at: s.created_at.unwrap_or(d.created_at),
                        description: s.description.unwrap_or_default(),
                        state: s.state,
                    })
                    .collect(),
            });
        }
        out.reverse();
        Ok(out)
    }

    /// The newest status state of a deployment (status order is not guaranteed either).
    async fn newest_state(&self, repo: &Repo, id: DeploymentId) -> Result<Option<String>> {
        let path = format!(
            "/repos/{}/{}/deployments/{id}/statuses?per_page=100",
            repo.owner, repo.name
        );
        let statuses: Vec<DeploymentStatus> = self
            .json(
                Request::get(repo, path)
                    .permission(PERMISSION)
                    .conditional(),
            )
            .await?;
        Ok(newest_status(&statuses).map(str::to_owned))
    }

    pub(crate) async fn deployed(&self, repo: &Repo, environment: &str) -> Result<DeployedHistory> {
        let mut many = self
            .deployed_many(repo, std::slice::from_ref(&environment.to_owned()))
            .await?;
        Ok(many.remove(environment).unwrap_or_default())
    }

    /// What is deployed in each of `environments` of `repo`, from one deployments list: with
    /// the `environment=` filter for one environment, otherwise every `deploy` deployment of
    /// the repository (all pages, up to [`MAX_HISTORY_PAGES`]) grouped by environment here,
    /// since the API filters by one environment only. Then, per environment, the statuses as
    /// [`Client::good_versions`] reads them. Every environment asked for is in the answer.
    pub(crate) async fn deployed_many(
        &self,
        repo: &Repo,
        environments: &[String],
    ) -> Result<BTreeMap<String, DeployedHistory>> {
        let mut grouped: BTreeMap<String, Vec<Deployment>> = environments
            .iter()
            .map(|e| (e.clone(), Vec::new()))
            .collect();
        let only = match grouped.keys().collect::<Vec<_>>().as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        };
        let listed = match &only {
            Some(one) => self.deployments(repo, one, TASK_DEPLOY).await?,
            None if grouped.is_empty() => Vec::new(),
            None => {
                self.deployment_pages(repo, None, TASK_DEPLOY, MAX_HISTORY_PAGES)
                    .await?
            }
        };
        for d in listed {
            // With the filter, the answer is the environment asked for, whatever it says.
            let key = only.as_ref().unwrap_or(&d.environment);
            if let Some(list) = grouped.get_mut(key) {
                list.push(d);
            }
        }
        let mut out = BTreeMap::new();
        for (environment, deployments) in grouped {
            let history = self.good_versions(repo, deployments).await?;
            out.insert(environment, history);
        }
        Ok(out)
    }

    /// The current and previous good versions among `deployments` (newest first): the first
    /// two whose newest status is `success`, reading statuses newest first, among at most
    /// [`MAX_EXAMINED`] that carry a version.
    async fn good_versions(
        &self,
        repo: &Repo,
        deployments: Vec<Deployment>,
    ) -> Result<DeployedHistory> {
        let mut good = Vec::new();
        // Only deployments that carry a version are the registry's: GitHub records one of its
        // own (empty payload) for every job that references an environment, and a target
        // workflow's job may well reference the environment orchestrate records into.
        for d in deployments
            .into_iter()
            .filter(|d| {
                d.payload_object()
                    .get("version")
                    .is_some_and(|v| v.is_string())
            })
            .take(MAX_EXAMINED)
        {
            if self.newest_state(repo, d.id).await?.as_deref() == Some("success") {
                let payload = d.payload_object();
                good.push(DeployedVersion {
                    deployment_id: d.id,
                    version: payload
                        .get("version")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned),
                    payload,
                    git_ref: d.git_ref,
                    sha: d.sha,
                    created_at: d.created_at,
                });
                if good.len() == 2 {
                    break;
                }
            }
        }
        let mut good = good.into_iter();
        Ok(DeployedHistory {
            current: good.next(),
            previous: good.next(),
        })
    }

    pub(crate) async fn new_release_set(
        &self,
        repo: &Repo,
        set: &ReleaseSet,
    ) -> Result<DeploymentId> {
        let payload = serde_json::to_value(set).map_err(|source| Error::Decode {
            path: "release set".into(),
            source,
        })?;
        let deployment = NewDeployment {
            environment: set.environment.clone(),
            git_ref: set.git_ref.clone(),
            task: TASK_RELEASE_SET.to_owned(),
            payload: serde_json::json!({ "release_set": payload }),
            description: Some(format!(
                "release {} ({} services)",
                set.release_id,
                set.members.len()
            )),
            production_environment: None,
        };
        self.new_deployment(repo, &deployment).await
    }

    pub(crate) async fn recent_release_sets(
        &self,
        repo: &Repo,
        environment: &str,
        limit: usize,
    ) -> Result<Vec<ReleaseSetRecord>> {
        let mut records = Vec::new();
        for d in self
            .deployments(repo, environment, TASK_RELEASE_SET)
            .await?
            .into_iter()
            .take(limit)
        {
            let state = self.newest_state(repo, d.id).await?;
            let set = d
                .payload_object()
                .get("release_set")
                .and_then(|v| serde_json::from_value::<ReleaseSet>(v.clone()).ok())
                .map(|s| ReleaseSet {
                    git_ref: d.git_ref.clone(),
                    ..s
                });
            records.push(ReleaseSetRecord {
                deployment_id: d.id,
                created_at: d.created_at,
                state,
                set,
            });
        }
        Ok(records)
    }
}

impl Client {
    /// The newest release set in `environment` whose newest status is `success` (a verified
    /// release): one list request, then one status request per record from the newest until
    /// one is verified, at most [`MAX_EXAMINED`].
    pub(crate) async fn last_verified_release_set(
        &self,
        repo: &Repo,
        environment: &str,
    ) -> Result<Option<ReleaseSetRecord>> {
        for d in self
            .deployments(repo, environment, TASK_RELEASE_SET)
            .await?
            .into_iter()
            .take(MAX_EXAMINED)
        {
            let state = self.newest_state(repo, d.id).await?;
            if state.as_deref() != Some("success") {
                continue;
            }
            let set = d
                .payload_object()
                .get("release_set")
                .and_then(|v| serde_json::from_value::<ReleaseSet>(v.clone()).ok())
                .map(|s| ReleaseSet {
                    git_ref: d.git_ref.clone(),
                    ..s
                });
            return Ok(Some(ReleaseSetRecord {
                deployment_id: d.id,
                created_at: d.created_at,
                state,
                set,
            }));
        }
        Ok(None)
    }
}

/// The state of the status with the highest id.
pub fn newest_status(statuses: &[DeploymentStatus]) -> Option<&str> {
    statuses
        .iter()
        .max_by_key(|s| s.id)
        .map(|s| s.state.as_str())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_status_is_by_id_not_list_order() {
        let statuses: Vec<DeploymentStatus> = serde_json::from_str(
            r#"[{"id": 5, "state": "in_progress"}, {"id": 9, "state": "success"}, {"id": 7, "state": "failure"}]"#,
        )
        .expect("parses");
        assert_eq!(newest_status(&statuses), Some("success"));
        assert_eq!(newest_status(&[]), None);
    }

    #[test]
    fn descriptions_are_cut_at_140_characters() {
        assert_eq!(truncate(&"é".repeat(200), 140).chars().count(), 140);
    }
}
