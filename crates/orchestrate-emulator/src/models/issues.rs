//! JSON for issues and issue comments.

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::models::{node_id, repo_html, repo_url, user};
use crate::state::records::{Comment, Issue};

/// `issue`.
pub fn issue(base: &str, repo: &str, i: &Issue) -> Value {
    let url = format!("{}/issues/{}", repo_url(base, repo), i.number);
    let labels: Vec<Value> = i
        .labels
        .iter()
        .map(|name| {
            let id = super::user_id(name);
            json!({
                "id": id,
                "node_id": node_id("Label", id),
                "url": format!("{}/labels/{name}", repo_url(base, repo)),
                "name": name,
                "description": null,
                "color": "ededed",
                "default": false,
            })
        })
        .collect();
    let assignees: Vec<Value> = i.assignees.iter().map(|a| user(base, a)).collect();
    json!({
        "id": i.id,
        "node_id": node_id("Issue", i.id),
        "url": url,
        "repository_url": repo_url(base, repo),
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": format!("{}/issues/{}", repo_html(base, repo), i.number),
        "number": i.number,
        "state": i.state,
        "state_reason": i.state_reason,
        "title": i.title,
        "body": i.body,
        "user": user(base, &i.user),
        "labels": labels,
        "assignee": assignees.first().cloned(),
        "assignees": assignees,
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": i.comments.len(),
        "closed_at": i.closed_at.map(rfc3339),
        "created_at": rfc3339(i.created_at),
        "updated_at": rfc3339(i.updated_at),
        "closed_by": i.closed_at.map(|_| user(base, &i.user)),
        "author_association": "OWNER",
    })
}

/// `issue-comment`.
pub fn comment(base: &str, repo: &str, issue_number: u64, c: &Comment) -> Value {
    let api = repo_url(base, repo);
    json!({
        "id": c.id,
        "node_id": node_id("IssueComment", c.id),
        "url": format!("{api}/issues/comments/{}", c.id),
        "body": c.body,
        "html_url": format!("{}/issues/{issue_number}#issuecomment-{}", repo_html(base, repo), c.id),
        "user": user(base, &c.user),
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.created_at),
        "issue_url": format!("{api}/issues/{issue_number}"),
        "author_association": "OWNER",
    })
}
