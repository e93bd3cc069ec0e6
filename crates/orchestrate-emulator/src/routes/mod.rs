//! The REST routes, one module per API area, and the helpers they share.

mod approvals;
mod apps;
mod artifacts;
mod created;
mod deployments;
mod issues;
mod misc;
mod runs;
mod workflows;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::Value;

use crate::http::ApiError;
use crate::state::{AppState, Ids, RepoState, World};

/// Who is calling, set by the gateway middleware for authenticated API requests.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Configured token id.
    pub token_id: String,
    /// Login of the token's user.
    pub login: String,
    /// `X-GitHub-Api-Version` sent (default `2022-11-28`).
    pub api_version: String,
    /// The token's primary rate limit per hour.
    pub rate_limit: u32,
    /// An App installation token or `GITHUB_TOKEN` rather than a person's token.
    pub integration: bool,
}

/// The GitHub App a verified App JWT belongs to, set by the gateway on the App endpoints.
#[derive(Debug, Clone, Copy)]
pub struct AppCaller {
    /// The JWT's `iss`.
    pub app_id: u64,
}

/// The API version that changed dispatch and `rate_limit`.
pub const API_2026: &str = "2026-03-10";

/// Every REST route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(workflows::router())
        .merge(runs::router())
        .merge(approvals::router())
        .merge(artifacts::router())
        .merge(deployments::router())
        .merge(issues::router())
        .merge(misc::router())
        .merge(apps::router())
}

/// The routes that need no token (health, log downloads).
pub fn public_router() -> Router<AppState> {
    misc::public_router()
}

/// Query parameters as pairs, in order.
pub fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    })
    .unwrap_or_default()
}

/// A JSON request body; an empty body is `null`. Malformed JSON answers GitHub's 400.
pub fn json_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Problems parsing JSON"))
}

/// A JSON object body (`null` becomes an empty object); anything else is a 400.
pub fn object_body(bytes: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match json_body(bytes)? {
        Value::Null => Ok(serde_json::Map::new()),
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
        )),
    }
}

/// `owner/name` from path segments.
pub fn full_name(owner: &str, repo: &str) -> String {
    format!("{owner}/{repo}")
}

/// The repository of the path's `owner` and `repo`, or GitHub's 404.
pub fn find_repo<'a>(world: &'a World, owner: &str, repo: &str) -> Result<&'a RepoState, ApiError> {
    world
        .repo(&full_name(owner, repo))
        .ok_or_else(ApiError::not_found)
}

/// [`find_repo`], mutably.
pub fn find_repo_mut<'a>(
    world: &'a mut World,
    owner: &str,
    repo: &str,
) -> Result<&'a mut RepoState, ApiError> {
    world
        .repo_mut(&full_name(owner, repo))
        .ok_or_else(ApiError::not_found)
}

/// [`find_repo`], mutably, with the id counters (for handlers that create records).
pub fn find_repo_and_ids<'a>(
    world: &'a mut World,
    owner: &str,
    repo: &str,
) -> Result<(&'a mut RepoState, &'a mut Ids), ApiError> {
    world
        .repo_and_ids(&full_name(owner, repo))
        .ok_or_else(ApiError::not_found)
}

/// A numeric path id; anything else is a 404, as GitHub routes it.
pub fn id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}
