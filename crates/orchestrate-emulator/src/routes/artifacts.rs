//! REST artifacts: list (per run and per repository, `name` filter), get, delete, and the
//! download redirect to a tokenless signed URL served by the blob service.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::artifacts::{ArtifactRecord, artifact_json};
use crate::http::{ApiError, ApiResult, ListPage, ok, param};
use crate::routes::{full_name, id, query_pairs};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    let base = "/repos/{owner}/{repo}/actions";
    Router::new()
        .route(&format!("{base}/runs/{{run_id}}/artifacts"), get(list_run))
        .route(&format!("{base}/artifacts"), get(list_repo))
        .route(
            &format!("{base}/artifacts/{{artifact_id}}"),
            get(show).delete(remove),
        )
        .route(
            &format!("{base}/artifacts/{{artifact_id}}/{{archive_format}}"),
            get(download),
        )
}

/// The repository's canonical name, 404 when unknown.
fn canonical(st: &AppState, owner: &str, repo: &str) -> Result<String, ApiError> {
    let world = st.world();
    Ok(world
        .repo(&full_name(owner, repo))
        .ok_or_else(ApiError::not_found)?
        .full_name()
        .to_owned())
}

async fn list_run(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let repo = canonical(&st, &owner, &repo)?;
    let run_id = id(&run_id)?;
    if st.world().repo(&repo).and_then(|r| r.run(run_id)).is_none() {
        return Err(ApiError::not_found());
    }
    let path = format!("/repos/{repo}/actions/runs/{run_id}/artifacts");
    Ok(page(
        &st,
        st.artifacts.list_for_run(&repo, run_id),
        raw,
        &path,
    ))
}

async fn list_repo(
    State(st): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let repo = canonical(&st, &owner, &repo)?;
    let path = format!("/repos/{repo}/actions/artifacts");
    Ok(page(&st, st.artifacts.list_for_repo(&repo), raw, &path))
}

/// Newest first (GitHub's default `direction=desc`), `name` filter, pagination.
fn page(
    st: &AppState,
    mut records: Vec<ArtifactRecord>,
    raw: Option<String>,
    path: &str,
) -> axum::response::Response {
    let query = query_pairs(raw);
    if let Some(name) = param(&query, "name") {
        records.retain(|r| r.name == name);
    }
    records.sort_by_key(|r| std::cmp::Reverse(r.id));
    if param(&query, "direction") == Some("asc") {
        records.reverse();
    }
    let list = ListPage::new(&query, &st.base_url, path).wrapped("artifacts");
    list.respond(&records, |r| artifact_json(r, &st.base_url))
}

async fn show(
    State(st): State<AppState>,
    Path((owner, repo, artifact)): Path<(String, String, String)>,
) -> ApiResult {
    let repo = canonical(&st, &owner, &repo)?;
    let record = st
        .artifacts
        .get(&repo, id(&artifact)?)
        .ok_or_else(ApiError::not_found)?;
    Ok(ok(&artifact_json(&record, &st.base_url)))
}

async fn remove(
    State(st): State<AppState>,
    Path((owner, repo, artifact)): Path<(String, String, String)>,
) -> ApiResult {
    let repo = canonical(&st, &owner, &repo)?;
    if !st.artifacts.delete(&repo, id(&artifact)?) {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn download(
    State(st): State<AppState>,
    Path((owner, repo, artifact, format)): Path<(String, String, String, String)>,
) -> ApiResult {
    let repo = canonical(&st, &owner, &repo)?;
    if format != "zip" {
        return Err(ApiError::not_found());
    }
    let record = st
        .artifacts
        .get(&repo, id(&artifact)?)
        .ok_or_else(ApiError::not_found)?;
    if record.expired || record.expires_at <= st.clock.now() {
        return Err(ApiError::new(StatusCode::GONE, "Artifact has expired")
            .docs("actions/artifacts#download-an-artifact"));
    }
    let location = st
        .artifacts
        .signed_download_url(&st.base_url, record.id, st.clock.now());
    let mut response = StatusCode::FOUND.into_response();
    let value = HeaderValue::from_str(&location).map_err(|_| ApiError::not_found())?;
    response.headers_mut().insert(header::LOCATION, value);
    Ok(response)
}
