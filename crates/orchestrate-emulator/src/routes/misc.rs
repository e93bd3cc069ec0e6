//! `GET /rate_limit`, `POST /repos/{o}/{r}/dispatches` (repository_dispatch), and the
//! tokenless helpers: `/_health/<service>` and the run-log download behind the 302.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult, json_response, ok, param};
use crate::ratelimit::Quota;
use crate::routes::{API_2026, Caller, find_repo, id, object_body, query_pairs};
use crate::scenario::{HealthFailure, HealthSpec};
use crate::state::jobs::jobs_at;
use crate::state::{AppState, Trigger, World, lock};

const DOCS_DISPATCH: &str = "repos/repos#create-a-repository-dispatch-event";

pub fn router() -> Router<AppState> {
    Router::new().route("/rate_limit", get(rate_limit)).route(
        "/repos/{owner}/{repo}/dispatches",
        post(repository_dispatch),
    )
}

pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/_health/{service}", get(health))
        .route("/_logs/{owner}/{repo}/{run_id}", get(run_logs))
}

fn quota_json(q: Quota) -> Value {
    json!({ "limit": q.limit, "remaining": q.remaining, "reset": q.reset, "used": q.used, "resource": "core" })
}

async fn rate_limit(State(st): State<AppState>, Extension(caller): Extension<Caller>) -> ApiResult {
    let core = lock(&st.limiter).peek(&caller.token_id, caller.rate_limit, Utc::now());
    let fixed = |limit: u32| Quota {
        limit,
        remaining: limit,
        used: 0,
        reset: core.reset,
    };
    let mut resources = serde_json::Map::new();
    resources.insert("core".into(), quota_json(core));
    for (name, limit) in [
        ("search", 30),
        ("graphql", 5000),
        ("integration_manifest", 5000),
        ("code_search", 10),
    ] {
        let mut q = quota_json(fixed(limit));
        q["resource"] = json!(name);
        resources.insert(name.into(), q);
    }
    let mut body = json!({ "resources": resources });
    // API version 2026-03-10 removed the top-level `rate` (changeset `remove_rate_limit_rate`).
    if caller.api_version != API_2026 {
        body["rate"] = quota_json(core);
    }
    Ok(ok(&body))
}

async fn repository_dispatch(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = object_body(&body)?;
    let invalid = |message: &str| ApiError::unprocessable(message).docs(DOCS_DISPATCH);
    let event_type = match body.get("event_type") {
        Some(Value::String(t)) if (1..=100).contains(&t.chars().count()) => t.clone(),
        Some(Value::String(_)) => {
            return Err(invalid(
                "Invalid request.\n\nevent_type must be between 1 and 100 characters.",
            ));
        }
        _ => {
            return Err(invalid(
                "Invalid request.\n\n\"event_type\" wasn't supplied.",
            ));
        }
    };
    let payload = match body.get("client_payload") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(invalid(
                "Invalid request.\n\nFor 'properties/client_payload', value is not an object.",
            ));
        }
    };
    if payload.len() > 10 {
        let message = format!(
            "Invalid request.\n\nNo more than 10 properties are allowed; {} were supplied.",
            payload.len()
        );
        return Err(invalid(&message));
    }
    if Value::Object(payload.clone()).to_string().len() >= 64 * 1024 {
        return Err(invalid("client_payload is too large."));
    }
    let client_payload: BTreeMap<String, String> = payload
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    let now = st.clock.now();
    let mut world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let full = repo.full_name().to_owned();
    let branch = repo.spec.default_branch.clone();
    let sha = repo.resolve_ref(&branch).unwrap_or_default();
    let targets: Vec<usize> = repo
        .spec
        .workflows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.repository_dispatch.contains(&event_type))
        .map(|(i, _)| i)
        .collect();
    for index in targets {
        let trigger = Trigger {
            event: "repository_dispatch".to_owned(),
            ref_name: branch.clone(),
            sha: sha.clone(),
            inputs: BTreeMap::new(),
            client_payload: client_payload.clone(),
            event_type: event_type.clone(),
            actor: caller.login.clone(),
        };
        world.start_run(&full, index, trigger, now, &st.artifacts);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The version a service reports: the `version_input` of the newest successful run of its
/// deploy workflow (and since when it serves), or the initial version.
fn deployed(
    world: &World,
    spec: &HealthSpec,
    now: chrono::DateTime<Utc>,
) -> Option<(String, Option<chrono::DateTime<Utc>>)> {
    let repo = world.repo(&spec.repo)?;
    let index = repo.workflow_index(&spec.workflow)?;
    let newest = repo
        .runs
        .iter()
        .filter(|r| r.workflow_index == index)
        .filter_map(|r| {
            let phase = r.latest().phase(now);
            (phase.conclusion.as_deref() == Some("success")).then_some((phase.updated_at, r))
        })
        .max_by_key(|(at, run)| (*at, run.id))
        .and_then(|(at, run)| Some((run.inputs.get(&spec.version_input)?.clone(), Some(at))));
    Some(newest.unwrap_or_else(|| (spec.initial_version.clone(), None)))
}

async fn health(State(st): State<AppState>, Path(service): Path<String>) -> Response {
    let now = st.clock.now();
    let world = st.world();
    let Some(spec) = world.health.iter().find(|h| h.service == service) else {
        return ApiError::not_found().into_response();
    };
    let unhealthy = |version: &str| {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "status": "unhealthy", "version": version }),
        )
    };
    let (version, since) =
        deployed(&world, spec, now).unwrap_or_else(|| (spec.initial_version.clone(), None));
    match spec.failure {
        HealthFailure::UnhealthyAfter(after)
            if since.is_some_and(|at| {
                now - at >= chrono::Duration::from_std(after).unwrap_or(chrono::TimeDelta::MAX)
            }) =>
        {
            unhealthy(&version)
        }
        HealthFailure::UnhealthyAfter(_) => ok(&json!({ "status": "ok", "version": version })),
        HealthFailure::Down => unhealthy(&version),
        HealthFailure::NeverReportsNewVersion => {
            ok(&json!({ "status": "ok", "version": spec.initial_version }))
        }
        HealthFailure::None if spec.unhealthy_versions.contains(&version) => unhealthy(&version),
        HealthFailure::None => ok(&json!({ "status": "ok", "version": version })),
    }
}

async fn run_logs(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = query_pairs(raw);
    let now = st.clock.now();
    let expires = param(&query, "expires")
        .and_then(|e| e.parse::<i64>().ok())
        .unwrap_or(0);
    if now.timestamp() > expires {
        return Ok((
            StatusCode::FORBIDDEN,
            "AuthenticationFailed: signed URL expired",
        )
            .into_response());
    }
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let run = repo.run(id(&run_id)?).ok_or_else(ApiError::not_found)?;
    let mut text = String::new();
    for job in jobs_at(run.latest(), now) {
        for step in &job.steps {
            let verdict = step.conclusion.as_deref().unwrap_or(step.status);
            text.push_str(&format!(
                "{}/{}_{}.txt: {verdict}\n",
                job.name, step.number, step.name
            ));
        }
    }
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}
