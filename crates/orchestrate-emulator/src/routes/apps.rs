//! GitHub App endpoints (App JWT only, checked by the gateway): the installation of a
//! repository, organization or user, one installation by id, and minting an installation
//! access token (`POST /app/installations/{id}/access_tokens`, 201).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::apps::{AppSpec, InstallationSpec};
use crate::auth::{Access, Permission};
use crate::clock::rfc3339;
use crate::http::{ApiError, ApiResult, json_response, ok};
use crate::models::{minimal_repository, user, web_root};
use crate::routes::{AppCaller, full_name, id, object_body};
use crate::state::{AppState, World};

const DOCS_INSTALLATIONS: &str = "apps/apps#create-an-installation-access-token-for-an-app";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/repos/{owner}/{repo}/installation", get(for_repo))
        .route("/orgs/{org}/installation", get(for_account))
        .route("/users/{username}/installation", get(for_account))
        .route("/app/installations/{installation_id}", get(show))
        .route(
            "/app/installations/{installation_id}/access_tokens",
            post(access_token),
        )
}

async fn for_repo(
    State(st): State<AppState>,
    Extension(caller): Extension<AppCaller>,
    Path((owner, repo)): Path<(String, String)>,
) -> ApiResult {
    let world = st.world();
    let repo = world
        .repo(&full_name(&owner, &repo))
        .ok_or_else(ApiError::not_found)?;
    let (app, installation) = st
        .apps
        .installation_on(caller.app_id, &owner)
        .filter(|(_, i)| i.covers(repo.full_name()))
        .ok_or_else(ApiError::not_found)?;
    Ok(ok(&installation_json(&st.base_url, app, installation, &st)))
}

async fn for_account(
    State(st): State<AppState>,
    Extension(caller): Extension<AppCaller>,
    Path(account): Path<String>,
) -> ApiResult {
    let (app, installation) = st
        .apps
        .installation_on(caller.app_id, &account)
        .ok_or_else(ApiError::not_found)?;
    Ok(ok(&installation_json(&st.base_url, app, installation, &st)))
}

async fn show(
    State(st): State<AppState>,
    Extension(caller): Extension<AppCaller>,
    Path(installation_id): Path<String>,
) -> ApiResult {
    let (app, installation) = st
        .apps
        .installation(caller.app_id, id(&installation_id)?)
        .ok_or_else(ApiError::not_found)?;
    Ok(ok(&installation_json(&st.base_url, app, installation, &st)))
}

async fn access_token(
    State(st): State<AppState>,
    Extension(caller): Extension<AppCaller>,
    Path(installation_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let (app, installation) = st
        .apps
        .installation(caller.app_id, id(&installation_id)?)
        .ok_or_else(ApiError::not_found)?;
    let body = object_body(&body)?;
    let now = st.clock.now();
    let world = st.world();
    let repos = requested_repos(&world, installation, &body)?;
    let permissions = requested_permissions(installation, &body)?;
    let minted = st
        .apps
        .mint(app, installation, repos.clone(), permissions.clone(), now);
    let mut answer = json!({
        "token": minted.token,
        "expires_at": rfc3339(minted.expires_at),
        "permissions": permissions_json(&permissions),
        "repository_selection": installation.repository_selection(),
    });
    // GitHub lists the repositories only when the token is limited to some of them.
    let narrowed = body.contains_key("repositories") || body.contains_key("repository_ids");
    if narrowed || installation.repository_selection() == "selected" {
        let listed: Vec<Value> = repos
            .iter()
            .filter_map(|name| world.repo(name))
            .map(|repo| minimal_repository(&st.base_url, repo))
            .collect();
        answer["repositories"] = Value::Array(listed);
    }
    Ok(json_response(StatusCode::CREATED, &answer))
}

/// The repositories the token covers: the installation's, narrowed by `repositories` (names)
/// or `repository_ids` when given; 422 when one is outside the installation.
fn requested_repos(
    world: &World,
    installation: &InstallationSpec,
    body: &serde_json::Map<String, Value>,
) -> Result<Vec<String>, ApiError> {
    let covered: Vec<(String, u64)> = world
        .repos
        .iter()
        .filter(|r| installation.covers(r.full_name()))
        .map(|r| (r.full_name().to_owned(), r.id))
        .collect();
    let outside = || {
        ApiError::unprocessable(
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
        )
        .docs(DOCS_INSTALLATIONS)
    };
    let mut wanted = Vec::new();
    if let Some(names) = body.get("repositories") {
        for name in names.as_array().ok_or_else(outside)? {
            let name = name.as_str().ok_or_else(outside)?;
            let short = name.rsplit('/').next().unwrap_or(name);
            let found = covered
                .iter()
                .find(|(full, _)| {
                    full.rsplit('/')
                        .next()
                        .is_some_and(|n| n.eq_ignore_ascii_case(short))
                })
                .ok_or_else(outside)?;
            wanted.push(found.0.clone());
        }
    }
    if let Some(ids) = body.get("repository_ids") {
        for repo_id in ids.as_array().ok_or_else(outside)? {
            let repo_id = repo_id.as_u64().ok_or_else(outside)?;
            let found = covered
                .iter()
                .find(|(_, i)| *i == repo_id)
                .ok_or_else(outside)?;
            wanted.push(found.0.clone());
        }
    }
    if wanted.is_empty()
        && !body.contains_key("repositories")
        && !body.contains_key("repository_ids")
    {
        return Ok(covered.into_iter().map(|(name, _)| name).collect());
    }
    wanted.sort();
    wanted.dedup();
    Ok(wanted)
}

/// The installation's permissions, or the subset the body asks for; 422 beyond them.
fn requested_permissions(
    installation: &InstallationSpec,
    body: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<Permission, Access>, ApiError> {
    let granted = installation.granted();
    let Some(asked) = body.get("permissions") else {
        return Ok(granted);
    };
    let refused = || {
        ApiError::unprocessable("The permissions requested are not granted to this installation.")
            .docs(DOCS_INSTALLATIONS)
    };
    let asked = asked.as_object().ok_or_else(refused)?;
    let mut narrowed = BTreeMap::new();
    for (name, level) in asked {
        let permission: Permission = serde_json::from_value(json!(name)).map_err(|_| refused())?;
        let access: Access = serde_json::from_value(level.clone()).map_err(|_| refused())?;
        if granted.get(&permission).copied().unwrap_or(Access::None) < access {
            return Err(refused());
        }
        narrowed.insert(permission, access);
    }
    narrowed.entry(Permission::Metadata).or_insert(Access::Read);
    Ok(narrowed)
}

fn permissions_json(permissions: &BTreeMap<Permission, Access>) -> Value {
    let map: serde_json::Map<String, Value> = permissions
        .iter()
        .filter(|(_, a)| **a != Access::None)
        .filter_map(|(p, a)| {
            let name = serde_json::to_value(p).ok()?.as_str()?.to_owned();
            Some((name, serde_json::to_value(a).ok()?))
        })
        .collect();
    Value::Object(map)
}

/// The `installation` object.
fn installation_json(
    base: &str,
    app: &AppSpec,
    installation: &InstallationSpec,
    st: &AppState,
) -> Value {
    let mut account = user(base, &installation.account);
    account["type"] = json!("Organization");
    let target_id = account["id"].clone();
    let created = rfc3339(st.clock.now() - chrono::Duration::days(30));
    json!({
        "id": installation.id,
        "account": account,
        "repository_selection": installation.repository_selection(),
        "access_tokens_url": format!("{base}/app/installations/{}/access_tokens", installation.id),
        "repositories_url": format!("{base}/installation/repositories"),
        "html_url": format!(
            "{}/organizations/{}/settings/installations/{}",
            web_root(base),
            installation.account,
            installation.id
        ),
        "app_id": app.app_id,
        "app_slug": app.slug,
        "target_id": target_id,
        "target_type": "Organization",
        "permissions": permissions_json(&installation.granted()),
        "events": [],
        "created_at": created,
        "updated_at": created,
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": null,
    })
}
