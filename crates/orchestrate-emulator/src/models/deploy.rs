//! JSON for deployments and deployment statuses.

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::models::{node_id, repo_url, user};
use crate::state::records::{Deployment, DeploymentStatus};

/// The API URL of a deployment.
pub fn deployment_url(base: &str, repo: &str, id: u64) -> String {
    format!("{}/deployments/{id}", repo_url(base, repo))
}

/// `deployment`.
pub fn deployment(base: &str, repo: &str, d: &Deployment) -> Value {
    let url = deployment_url(base, repo, d.id);
    json!({
        "url": url,
        "id": d.id,
        "node_id": node_id("Deployment", d.id),
        "sha": d.sha,
        "ref": d.git_ref,
        "task": d.task,
        "payload": d.payload,
        "original_environment": d.original_environment,
        "environment": d.environment,
        "description": d.description,
        "creator": user(base, &d.creator),
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.updated_at),
        "statuses_url": format!("{url}/statuses"),
        "repository_url": repo_url(base, repo),
        "transient_environment": d.transient,
        "production_environment": d.production,
        "performed_via_github_app": null,
    })
}

/// The API URL of a deployment status.
pub fn status_url(base: &str, repo: &str, deployment: u64, id: u64) -> String {
    format!("{}/statuses/{id}", deployment_url(base, repo, deployment))
}

/// `deployment-status`.
pub fn status(base: &str, repo: &str, deployment: u64, s: &DeploymentStatus) -> Value {
    json!({
        "url": status_url(base, repo, deployment, s.id),
        "id": s.id,
        "node_id": node_id("DeploymentStatus", s.id),
        "state": s.state,
        "creator": user(base, &s.creator),
        "description": s.description,
        "environment": s.environment,
        "target_url": s.target_url,
        "created_at": rfc3339(s.created_at),
        "updated_at": rfc3339(s.created_at),
        "deployment_url": deployment_url(base, repo, deployment),
        "repository_url": repo_url(base, repo),
        "environment_url": s.environment_url,
        "log_url": s.log_url,
        "performed_via_github_app": null,
    })
}
