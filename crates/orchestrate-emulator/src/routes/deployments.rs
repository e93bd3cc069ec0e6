//! Deployments and deployment statuses: create (201, the 202 auto-merge answer, 409 for
//! failing status checks), list (filters, pagination, deliberately not in id order), get,
//! delete, and statuses with `auto_inactive`.
//!
//! List order: grouped by environment (alphabetically), oldest first inside a group. GitHub
//! does not document its order, so clients must sort themselves; this order differs from id
//! order on purpose, so a client that trusts the list order fails here first.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::http::{ApiError, ApiResult, ListPage, created, json_response, ok, param};
use crate::models::deploy;
use crate::routes::{
    Caller, find_repo, find_repo_and_ids, find_repo_mut, id, object_body, query_pairs,
};
use crate::state::records::{Deployment, DeploymentStatus};
use crate::state::{AppState, Ids, RepoState};

const DOCS_CREATE: &str = "deployments/deployments#create-a-deployment";
const DOCS_STATUS: &str = "deployments/statuses#create-a-deployment-status";
use crate::scenario::DEPLOYMENT_STATES as STATES;

pub fn router() -> Router<AppState> {
    let base = "/repos/{owner}/{repo}/deployments";
    Router::new()
        .route(base, get(list).post(create))
        .route(&format!("{base}/{{id}}"), get(show).delete(remove))
        .route(
            &format!("{base}/{{id}}/statuses"),
            get(list_statuses).post(create_status),
        )
        .route(
            &format!("{base}/{{id}}/statuses/{{status_id}}"),
            get(show_status),
        )
}

fn str_field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

fn bool_field(body: &Map<String, Value>, name: &str, default: bool) -> bool {
    body.get(name).and_then(Value::as_bool).unwrap_or(default)
}

async fn create(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = object_body(&body)?;
    let now = st.clock.now();
    let mut world = st.world();
    let deployment_id = world.ids.deployment();
    let repo = find_repo_mut(&mut world, &owner, &repo)?;
    let git_ref = str_field(&body, "ref")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::unprocessable("Invalid request.\n\n\"ref\" wasn't supplied.")
                .docs(DOCS_CREATE)
        })?;
    let sha = repo.resolve_ref(git_ref).ok_or_else(|| {
        ApiError::unprocessable(format!("No ref found for: {git_ref}")).docs(DOCS_CREATE)
    })?;
    if bool_field(&body, "auto_merge", true) && repo.behind.remove(git_ref) {
        // GitHub merges the default branch into the ref and creates no deployment.
        let message = format!(
            "Auto-merged {} into {git_ref} on deployment.",
            repo.spec.default_branch
        );
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({ "message": message }),
        ));
    }
    check_contexts(repo, &body, git_ref)?;
    let environment = str_field(&body, "environment")
        .unwrap_or("production")
        .to_owned();
    let payload = match body.get("payload") {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(Value::String(text)) => serde_json::from_str::<Map<String, Value>>(text)
            .map(Value::Object)
            .unwrap_or_else(|_| Value::String(text.clone())),
        Some(other) => other.clone(),
    };
    let deployment = Deployment {
        id: deployment_id,
        sha,
        git_ref: git_ref.to_owned(),
        task: str_field(&body, "task").unwrap_or("deploy").to_owned(),
        production: bool_field(&body, "production_environment", environment == "production"),
        original_environment: environment.clone(),
        environment,
        payload,
        description: Some(str_field(&body, "description").unwrap_or("").to_owned()),
        transient: bool_field(&body, "transient_environment", false),
        creator: caller.login,
        created_at: now,
        updated_at: now,
        statuses: Vec::new(),
    };
    let json = deploy::deployment(&st.base_url, repo.full_name(), &deployment);
    repo.deployments.push(deployment);
    Ok(json_response(StatusCode::CREATED, &json))
}

/// 409 when a required (or, with `required_contexts` unset, any) status context is failing.
fn check_contexts(
    repo: &RepoState,
    body: &Map<String, Value>,
    git_ref: &str,
) -> Result<(), ApiError> {
    let failing: Vec<&String> =
        match body.get("required_contexts") {
            None | Some(Value::Null) => repo.spec.failing_contexts.iter().collect(),
            Some(Value::Array(wanted)) => repo
                .spec
                .failing_contexts
                .iter()
                .filter(|c| wanted.iter().any(|w| w.as_str() == Some(c.as_str())))
                .collect(),
            Some(_) => return Err(ApiError::unprocessable(
                "Invalid request.\n\nFor 'properties/required_contexts', value is not an array.",
            )
            .docs(DOCS_CREATE)),
        };
    if failing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(StatusCode::CONFLICT, format!("Conflict: Commit status checks failed for {git_ref}."))
        .docs(DOCS_CREATE)
        .with_errors(json!([{ "contexts": failing.iter().map(|c| json!({"context": c, "state": "failure"})).collect::<Vec<_>>(), "resource": "Deployment", "field": "required_contexts", "code": "invalid" }])))
}

async fn list(
    State(st): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = query_pairs(raw);
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let matches = |field: &str, value: &str| param(&query, field).is_none_or(|want| want == value);
    let mut found: Vec<&Deployment> = repo
        .deployments
        .iter()
        .filter(|d| matches("environment", &d.environment) && matches("ref", &d.git_ref))
        .filter(|d| matches("sha", &d.sha) && matches("task", &d.task))
        .collect();
    found.sort_by(|a, b| a.environment.cmp(&b.environment).then(a.id.cmp(&b.id)));
    let path = format!("/repos/{}/deployments", repo.full_name());
    let list = ListPage::new(&query, &st.base_url, &path);
    Ok(list.respond(&found, |d| {
        deploy::deployment(&st.base_url, repo.full_name(), d)
    }))
}

fn find<'a>(repo: &'a RepoState, raw: &str) -> Result<&'a Deployment, ApiError> {
    let wanted = id(raw)?;
    repo.deployments
        .iter()
        .find(|d| d.id == wanted)
        .ok_or_else(ApiError::not_found)
}

async fn show(
    State(st): State<AppState>,
    Path((owner, repo, raw)): Path<(String, String, String)>,
) -> ApiResult {
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    Ok(ok(&deploy::deployment(
        &st.base_url,
        repo.full_name(),
        find(repo, &raw)?,
    )))
}

async fn remove(
    State(st): State<AppState>,
    Path((owner, repo, raw)): Path<(String, String, String)>,
) -> ApiResult {
    let mut world = st.world();
    let repo = find_repo_mut(&mut world, &owner, &repo)?;
    let target = find(repo, &raw)?;
    let alone = repo
        .deployments
        .iter()
        .filter(|d| d.environment == target.environment)
        .count()
        == 1;
    if target.is_active() && !alone {
        let message = "We cannot delete an active deployment unless it is the only deployment in a given environment.";
        return Err(
            ApiError::unprocessable(message).docs("deployments/deployments#delete-a-deployment")
        );
    }
    let target_id = target.id;
    repo.deployments.retain(|d| d.id != target_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn create_status(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, raw)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = object_body(&body)?;
    let now = st.clock.now();
    let mut world = st.world();
    let (repo, ids) = find_repo_and_ids(&mut world, &owner, &repo)?;
    let deployment_id = find(repo, &raw)?.id;
    let state = str_field(&body, "state")
        .filter(|s| STATES.contains(s))
        .ok_or_else(|| {
            ApiError::invalid_field("DeploymentStatus", "state", "invalid").docs(DOCS_STATUS)
        })?;
    let description = str_field(&body, "description").unwrap_or("").to_owned();
    if description.chars().count() > 140 {
        return Err(ApiError::unprocessable("Validation Failed")
            .docs(DOCS_STATUS)
            .with_errors(json!([{
                "resource": "DeploymentStatus", "field": "description", "code": "custom",
                "message": "description is too long (maximum is 140 characters)",
            }])));
    }
    let log_url = str_field(&body, "log_url").unwrap_or("").to_owned();
    let target_url = str_field(&body, "target_url").map_or_else(|| log_url.clone(), str::to_owned);
    let deployment = repo
        .deployments
        .iter_mut()
        .find(|d| d.id == deployment_id)
        .ok_or_else(ApiError::not_found)?;
    let environment = str_field(&body, "environment")
        .map_or_else(|| deployment.environment.clone(), str::to_owned);
    deployment.environment.clone_from(&environment);
    deployment.updated_at = now;
    let status = DeploymentStatus {
        id: ids.status(),
        state: state.to_owned(),
        creator: caller.login.clone(),
        description,
        environment: environment.clone(),
        target_url,
        log_url,
        environment_url: str_field(&body, "environment_url").unwrap_or("").to_owned(),
        created_at: now,
    };
    let json = deploy::status(&st.base_url, &repo.spec.name, deployment_id, &status);
    deployment.statuses.push(status);
    if state == "success" && bool_field(&body, "auto_inactive", true) {
        mark_inactive(repo, ids, deployment_id, &environment, &caller.login, now);
    }
    Ok(created(&json))
}

/// `auto_inactive`: prior non-transient, non-production deployments in the same environment
/// whose latest status is `success` get an `inactive` status.
fn mark_inactive(
    repo: &mut RepoState,
    ids: &mut Ids,
    except: u64,
    environment: &str,
    login: &str,
    now: chrono::DateTime<chrono::Utc>,
) {
    for d in repo
        .deployments
        .iter_mut()
        .filter(|d| d.id != except && d.environment == environment)
    {
        if d.transient || d.production || d.latest_state() != Some("success") {
            continue;
        }
        d.statuses.push(DeploymentStatus {
            id: ids.status(),
            state: "inactive".to_owned(),
            creator: login.to_owned(),
            description: String::new(),
            environment: environment.to_owned(),
            target_url: String::new(),
            log_url: String::new(),
            environment_url: String::new(),
            created_at: now,
        });
        d.updated_at = now;
    }
}

async fn list_statuses(
    State(st): State<AppState>,
    Path((owner, repo, raw)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let query = query_pairs(query);
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let deployment = find(repo, &raw)?;
    let newest_first: Vec<&DeploymentStatus> = deployment.statuses.iter().rev().collect();
    let path = format!(
        "/repos/{}/deployments/{}/statuses",
        repo.full_name(),
        deployment.id
    );
    let list = ListPage::new(&query, &st.base_url, &path);
    Ok(list.respond(&newest_first, |s| {
        deploy::status(&st.base_url, repo.full_name(), deployment.id, s)
    }))
}

async fn show_status(
    State(st): State<AppState>,
    Path((owner, repo, raw, status_id)): Path<(String, String, String, String)>,
) -> ApiResult {
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let deployment = find(repo, &raw)?;
    let wanted = id(&status_id)?;
    let status = deployment
        .statuses
        .iter()
        .find(|s| s.id == wanted)
        .ok_or_else(ApiError::not_found)?;
    Ok(ok(&deploy::status(
        &st.base_url,
        repo.full_name(),
        deployment.id,
        status,
    )))
}
