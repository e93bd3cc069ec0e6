//! Issues and comments: create, list (`labels`, `state`), get, update (close), and comments.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::routing::get;
use serde_json::{Map, Value};

use crate::http::{ApiError, ApiResult, ListPage, created, ok, param};
use crate::models::issues;
use crate::routes::{
    API_2026, Caller, find_repo, find_repo_and_ids, find_repo_mut, id, object_body, query_pairs,
};
use crate::state::records::{Comment, Issue};
use crate::state::{AppState, RepoState};

const DOCS_CREATE: &str = "issues/issues#create-an-issue";

pub fn router() -> Router<AppState> {
    let base = "/repos/{owner}/{repo}/issues";
    Router::new()
        .route(base, get(list).post(create))
        .route(&format!("{base}/{{number}}"), get(show).patch(update))
        .route(
            &format!("{base}/{{number}}/comments"),
            get(list_comments).post(comment),
        )
}

fn strings(body: &Map<String, Value>, field: &str) -> Vec<String> {
    body.get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().or_else(|| v.get("name").and_then(Value::as_str)))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

async fn create(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = object_body(&body)?;
    let title = match body.get("title") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(
                ApiError::invalid_field("Issue", "title", "missing_field").docs(DOCS_CREATE)
            );
        }
    };
    let now = st.clock.now();
    let mut world = st.world();
    let (repo, ids) = find_repo_and_ids(&mut world, &owner, &repo)?;
    let mut assignees = strings(&body, "assignees");
    if let Some(single) = body.get("assignee").and_then(Value::as_str) {
        assignees.insert(0, single.to_owned());
    }
    let issue = Issue {
        id: ids.issue(),
        number: repo.issues.len() as u64 + 1,
        title,
        body: body.get("body").and_then(Value::as_str).map(str::to_owned),
        labels: strings(&body, "labels"),
        assignees,
        state: "open".to_owned(),
        state_reason: None,
        user: caller.login,
        created_at: now,
        updated_at: now,
        closed_at: None,
        comments: Vec::new(),
    };
    let mut json = issues::issue(&st.base_url, repo.full_name(), &issue);
    if caller.api_version == API_2026
        && let Some(map) = json.as_object_mut()
    {
        // Changeset `remove_singular_assignee_from_issues_and_pull_requests`.
        map.remove("assignee");
    }
    repo.issues.push(issue);
    Ok(created(&json))
}

async fn list(
    State(st): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = query_pairs(raw);
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let state = param(&query, "state").unwrap_or("open");
    let labels: Vec<&str> = param(&query, "labels")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut found: Vec<&Issue> = repo
        .issues
        .iter()
        .filter(|i| state == "all" || i.state == state)
        .filter(|i| {
            labels
                .iter()
                .all(|l| i.labels.iter().any(|have| have.eq_ignore_ascii_case(l)))
        })
        .collect();
    // Default sort: created, newest first.
    found.sort_by_key(|i| std::cmp::Reverse(i.number));
    if param(&query, "direction") == Some("asc") {
        found.reverse();
    }
    let path = format!("/repos/{}/issues", repo.full_name());
    let list = ListPage::new(&query, &st.base_url, &path);
    Ok(list.respond(&found, |i| issues::issue(&st.base_url, repo.full_name(), i)))
}

/// Issue `number` of `repo`, or GitHub's 404.
fn find_issue(repo: &RepoState, number: u64) -> Result<&Issue, ApiError> {
    repo.issues
        .iter()
        .find(|i| i.number == number)
        .ok_or_else(ApiError::not_found)
}

/// [`find_issue`], mutably.
fn find_issue_mut(repo: &mut RepoState, number: u64) -> Result<&mut Issue, ApiError> {
    repo.issues
        .iter_mut()
        .find(|i| i.number == number)
        .ok_or_else(ApiError::not_found)
}

async fn show(
    State(st): State<AppState>,
    Path((owner, repo, number)): Path<(String, String, String)>,
) -> ApiResult {
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let number = id(&number)?;
    let issue = find_issue(repo, number)?;
    Ok(ok(&issues::issue(&st.base_url, repo.full_name(), issue)))
}

async fn update(
    State(st): State<AppState>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = object_body(&body)?;
    let now = st.clock.now();
    let mut world = st.world();
    let repo = find_repo_mut(&mut world, &owner, &repo)?;
    let number = id(&number)?;
    let full = repo.spec.name.clone();
    let issue = find_issue_mut(repo, number)?;
    if let Some(title) = body.get("title").and_then(Value::as_str) {
        issue.title = title.to_owned();
    }
    if let Some(text) = body.get("body") {
        issue.body = text.as_str().map(str::to_owned);
    }
    if body.contains_key("labels") {
        issue.labels = strings(&body, "labels");
    }
    match body.get("state").and_then(Value::as_str) {
        Some("closed") if issue.state != "closed" => {
            issue.state = "closed".to_owned();
            issue.closed_at = Some(now);
            let reason = body
                .get("state_reason")
                .and_then(Value::as_str)
                .unwrap_or("completed");
            issue.state_reason = Some(reason.to_owned());
        }
        Some("open") if issue.state != "open" => {
            issue.state = "open".to_owned();
            issue.closed_at = None;
            issue.state_reason = Some("reopened".to_owned());
        }
        Some("open" | "closed") | None => {}
        Some(_) => {
            return Err(ApiError::invalid_field("Issue", "state", "invalid"));
        }
    }
    issue.updated_at = now;
    Ok(ok(&issues::issue(&st.base_url, &full, issue)))
}

async fn comment(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = object_body(&body)?;
    let text = body
        .get("body")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            ApiError::unprocessable("Invalid request.\n\n\"body\" wasn't supplied.")
                .docs("issues/comments#create-an-issue-comment")
        })?;
    let now = st.clock.now();
    let mut world = st.world();
    let (repo, ids) = find_repo_and_ids(&mut world, &owner, &repo)?;
    let number = id(&number)?;
    let full = repo.spec.name.clone();
    let issue = find_issue_mut(repo, number)?;
    let comment = Comment {
        id: ids.comment(),
        body: text.to_owned(),
        user: caller.login,
        created_at: now,
    };
    let json = issues::comment(&st.base_url, &full, number, &comment);
    issue.comments.push(comment);
    issue.updated_at = now;
    Ok(created(&json))
}

async fn list_comments(
    State(st): State<AppState>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = query_pairs(raw);
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let number = id(&number)?;
    let issue = find_issue(repo, number)?;
    let path = format!("/repos/{}/issues/{number}/comments", repo.full_name());
    let list = ListPage::new(&query, &st.base_url, &path);
    Ok(list.respond(&issue.comments, |c| {
        issues::comment(&st.base_url, repo.full_name(), number, c)
    }))
}
