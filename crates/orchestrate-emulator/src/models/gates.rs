//! JSON for environment gates: `pending-deployment` (what a waiting run waits for, who may
//! review it) and `environment-approvals` (a review in a run's history), shaped after
//! `tests/openapi/approvals.deref.json`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::models::{node_id, repo_html, repo_url, user, user_id, web_root};
use crate::state::RepoState;
use crate::state::gate::{Gate, Review};

/// The environment object both schemas embed (`with_times` adds `created_at`/`updated_at`,
/// which the review history carries).
fn environment(base: &str, repo: &RepoState, gate: &Gate, with_times: bool) -> Value {
    let name = &gate.spec.name;
    let mut env = json!({
        "id": gate.environment_id,
        "node_id": node_id("Environment", gate.environment_id),
        "name": name,
        "url": format!("{}/environments/{name}", repo_url(base, repo.full_name())),
        "html_url": format!(
            "{}/deployments/activity_log?environments_filter={name}",
            repo_html(base, repo.full_name())
        ),
    });
    if with_times {
        let created = rfc3339(repo.created_at);
        env["created_at"] = json!(created);
        env["updated_at"] = json!(created);
    }
    env
}

/// A reviewer: `{type: User, reviewer: simple-user}` or `{type: Team, reviewer: team}` for an
/// `org/team` entry.
fn reviewer(base: &str, entry: &str) -> Value {
    let Some((org, slug)) = entry.split_once('/') else {
        return json!({ "type": "User", "reviewer": user(base, entry) });
    };
    let id = user_id(entry);
    let api = format!("{base}/organizations/{}/team/{id}", user_id(org));
    json!({
        "type": "Team",
        "reviewer": {
            "id": id,
            "node_id": node_id("Team", id),
            "url": api,
            "html_url": format!("{}/orgs/{org}/teams/{slug}", web_root(base)),
            "name": slug,
            "slug": slug,
            "description": null,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": format!("{api}/members{{/member}}"),
            "repositories_url": format!("{api}/repos"),
            "type": "organization",
            "organization_id": user_id(org),
            "parent": null,
        },
    })
}

/// `pending-deployment` for a gate whose wait started at `opened`.
pub fn pending(
    base: &str,
    repo: &RepoState,
    gate: &Gate,
    opened: DateTime<Utc>,
    can_approve: bool,
) -> Value {
    let minutes = gate.wait_timer_minutes();
    json!({
        "environment": environment(base, repo, gate, false),
        "wait_timer": minutes,
        "wait_timer_started_at": (minutes > 0).then(|| rfc3339(opened)),
        "current_user_can_approve": can_approve,
        "reviewers": gate.spec.reviewers.iter().map(|r| reviewer(base, r)).collect::<Vec<_>>(),
    })
}

/// `environment-approvals` for one review of `gate`.
pub fn review(base: &str, repo: &RepoState, gate: &Gate, review: &Review) -> Value {
    json!({
        "environments": [environment(base, repo, gate, true)],
        "state": review.state.as_str(),
        "user": user(base, &review.by),
        "comment": review.comment,
    })
}
