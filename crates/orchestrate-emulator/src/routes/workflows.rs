//! Workflows: list, get, and the dispatch endpoint with every answer GitHub gives.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::http::{ApiError, ApiResult, ListPage, json_response, ok};
use crate::models::actions;
use crate::models::{repo_html, repo_url};
use crate::routes::{API_2026, Caller, find_repo, full_name, object_body, query_pairs};
use crate::scenario::WorkflowSpec;
use crate::state::{AppState, RepoState, Trigger};

const DISPATCH_DOCS: &str = "actions/workflows#create-a-workflow-dispatch-event";
/// Inputs a dispatch may carry.
const MAX_INPUTS: usize = 25;
/// Characters of the compact JSON `inputs` object.
const MAX_INPUTS_CHARS: usize = 65_535;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/repos/{owner}/{repo}/actions/workflows", get(list))
        .route(
            "/repos/{owner}/{repo}/actions/workflows/{workflow_id}",
            get(show),
        )
        .route(
            "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
            post(dispatch),
        )
}

async fn list(
    State(st): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = query_pairs(raw);
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let indexes: Vec<usize> = (0..repo.spec.workflows.len()).collect();
    let path = format!("/repos/{}/actions/workflows", repo.full_name());
    let list = ListPage::new(&query, &st.base_url, &path).wrapped("workflows");
    Ok(list.respond(&indexes, |i| actions::workflow(&st.base_url, repo, *i)))
}

async fn show(
    State(st): State<AppState>,
    Path((owner, repo, workflow)): Path<(String, String, String)>,
) -> ApiResult {
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let index = repo
        .workflow_index(&workflow)
        .ok_or_else(ApiError::not_found)?;
    Ok(ok(&actions::workflow(&st.base_url, repo, index)))
}

async fn dispatch(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    listed_after: Option<Extension<crate::server::ListedAfter>>,
    Path((owner, repo, workflow)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    let not_found = || ApiError::not_found().docs(DISPATCH_DOCS);
    let body = object_body(&body)?;
    let now = st.clock.now();
    let mut world = st.world();
    let repo_state = world
        .repo(&full_name(&owner, &repo))
        .ok_or_else(not_found)?;
    let index = repo_state.workflow_index(&workflow).ok_or_else(not_found)?;
    let spec = &repo_state.spec.workflows[index];
    let request = validate(&st, repo_state, spec, &body, &caller)?;
    let full = repo_state.full_name().to_owned();
    let run_id = world
        .start_run(&full, index, request.trigger, now, &st.artifacts)
        .ok_or_else(not_found)?;
    if let Some(Extension(crate::server::ListedAfter(after))) = listed_after
        && let Some(run) = world
            .repo_mut(&full)
            .and_then(|r| r.runs.iter_mut().find(|r| r.id == run_id))
    {
        run.listed_at = crate::clock::plus(now, after);
    }
    if !request.details {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let details = json!({
        "workflow_run_id": run_id,
        "run_url": format!("{}/actions/runs/{run_id}", repo_url(&st.base_url, &full)),
        "html_url": format!("{}/actions/runs/{run_id}", repo_html(&st.base_url, &full)),
    });
    Ok(json_response(StatusCode::OK, &details))
}

struct Validated {
    trigger: Trigger,
    details: bool,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::unprocessable(message).docs(DISPATCH_DOCS)
}

fn validate(
    st: &AppState,
    repo: &RepoState,
    spec: &WorkflowSpec,
    body: &Map<String, Value>,
    caller: &Caller,
) -> Result<Validated, ApiError> {
    let git_ref = match body.get("ref") {
        Some(Value::String(r)) if !r.is_empty() => r.clone(),
        _ => return Err(invalid("Invalid request.\n\n\"ref\" wasn't supplied.")),
    };
    let wants_details = body.get("return_run_details");
    if st.legacy_ghes && wants_details.is_some() {
        let message = "Invalid request.\n\n\"return_run_details\" is not a permitted key.";
        return Err(ApiError::new(StatusCode::BAD_REQUEST, message).docs(DISPATCH_DOCS));
    }
    let details = caller.api_version == API_2026 || wants_details == Some(&Value::Bool(true));
    if !spec.workflow_dispatch {
        return Err(invalid(
            "Workflow does not have 'workflow_dispatch' trigger",
        ));
    }
    let given = match body.get("inputs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            return Err(invalid(format!(
                "Invalid request.\n\nFor 'properties/inputs', {other} is not an object."
            )));
        }
    };
    if given.len() > MAX_INPUTS {
        return Err(invalid(format!(
            "Invalid request.\n\nFor 'properties/inputs', {} properties were given but only {MAX_INPUTS} are allowed.",
            given.len()
        )));
    }
    if Value::Object(given.clone()).to_string().chars().count() > MAX_INPUTS_CHARS {
        return Err(invalid("inputs are too large."));
    }
    let sha = repo
        .resolve_ref(&git_ref)
        .ok_or_else(|| invalid(format!("No ref found for: {git_ref}")))?;
    let inputs = resolve_inputs(spec, &given)?;
    let ref_name = git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(&git_ref)
        .to_owned();
    let trigger = Trigger {
        event: "workflow_dispatch".to_owned(),
        ref_name,
        sha,
        inputs,
        client_payload: BTreeMap::new(),
        event_type: String::new(),
        actor: caller.login.clone(),
    };
    Ok(Validated { trigger, details })
}

/// Checks given inputs against the declared ones and fills defaults.
fn resolve_inputs(
    spec: &WorkflowSpec,
    given: &Map<String, Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let unexpected: Vec<&String> = given
        .keys()
        .filter(|k| !spec.inputs.contains_key(*k))
        .collect();
    if !unexpected.is_empty() {
        let list = serde_json::to_string(&unexpected).unwrap_or_default();
        return Err(invalid(format!("Unexpected inputs provided: {list}")));
    }
    let mut inputs = BTreeMap::new();
    for (name, declared) in &spec.inputs {
        let value = match given.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let value = match value.or_else(|| declared.default.clone()) {
            Some(v) => v,
            None if declared.required => {
                return Err(invalid(format!("Required input '{name}' not provided")));
            }
            None => continue,
        };
        if !declared.options.is_empty() && !declared.options.contains(&value) {
            return Err(invalid(format!(
                "Provided value '{value}' for input '{name}' not in the list of allowed values"
            )));
        }
        inputs.insert(name.clone(), value);
    }
    Ok(inputs)
}
