//! The gateway every API request passes: faults, authentication, the primary rate limit,
//! repository visibility and permissions, ETags and 304s, GitHub's headers, and the request
//! log. Then the app: REST routes plus the results, blob and tokenless helper services.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::{self, TokenKind, TokenSpec};
use crate::etag;
use crate::faults::Fault;
use crate::http::{ApiError, json_response};
use crate::listener::KillSwitch;
use crate::ratelimit::Quota;
use crate::record::RecordedRequest;
use crate::routes::{self, Caller};
use crate::state::{AppState, lock};

/// A dispatch's run stays out of the run lists this long (see [`Fault::LateRun`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListedAfter(pub std::time::Duration);

/// The default REST API version.
const DEFAULT_API_VERSION: &str = "2022-11-28";

/// The whole emulator app.
pub fn app(state: AppState, results: Router, blob: Router) -> Router {
    let api = routes::router()
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), gateway))
        .with_state(state.clone());
    let public = routes::public_router()
        .with_state(state.clone())
        .merge(results)
        .merge(blob)
        .layer(middleware::from_fn_with_state(state, log_only));
    public.merge(api)
}

/// Tokenless services (health, logs, results, blobs): recorded, never counted.
async fn log_only(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let (method, path, at, wall) = (
        req.method().to_string(),
        path_of(&req),
        st.clock.now(),
        Utc::now(),
    );
    let response = next.run(req).await;
    record(
        &st,
        Entry {
            method,
            path,
            status: response.status().as_u16(),
            counted: false,
            token: None,
            at,
            wall,
        },
    );
    response
}

/// The path and query as the client sent them (with the GHES-style prefix, when one is set).
fn path_of(req: &Request) -> String {
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or(req.uri(), |original| &original.0);
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned())
}

struct Entry {
    method: String,
    path: String,
    status: u16,
    counted: bool,
    token: Option<String>,
    at: DateTime<Utc>,
    wall: DateTime<Utc>,
}

fn record(st: &AppState, e: Entry) {
    tracing::debug!(method = %e.method, path = %e.path, status = e.status, "emulator request");
    lock(&st.records).push(RecordedRequest {
        method: e.method,
        path: e.path,
        status: e.status,
        counted: e.counted,
        token_id: e.token,
        at: e.at,
        wall: e.wall,
    });
}

/// Authenticated API requests.
async fn gateway(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = path_of(&req);
    let bare = req.uri().path().to_owned();
    let mut entry = Entry {
        method: method.to_string(),
        path,
        status: 0,
        counted: false,
        token: None,
        at: st.clock.now(),
        wall: Utc::now(),
    };
    let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let decision = lock(&st.faults).decide(method.as_str(), &bare);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut response = match decision.fault {
        Some(Fault::Reset) => {
            if let Some(ConnectInfo(kill)) = req.extensions().get::<ConnectInfo<KillSwitch>>() {
                kill.kill();
            }
            record(&st, entry);
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            ApiError::new(status, "Server Error").into_response()
        }
        Some(Fault::SecondaryLimit {
            status,
            retry_after,
        }) => secondary_limit(status, retry_after, &request_id),
        None | Some(Fault::SucceedThen502 | Fault::LateRun { .. }) => {
            let succeed_then_502 = decision.fault.is_some();
            if let Some(Fault::LateRun { listed_after }) = decision.fault {
                req.extensions_mut()
                    .insert(ListedAfter(std::time::Duration::from_secs(listed_after)));
            }
            authorized(
                &st,
                &mut req,
                &mut entry,
                &request_id,
                next,
                succeed_then_502,
            )
            .await
        }
    };
    let headers = response.headers_mut();
    insert(headers, "x-github-request-id", &request_id);
    insert(headers, "x-github-media-type", "github.v3; format=json");
    entry.status = response.status().as_u16();
    record(&st, entry);
    response
}

/// Authentication, rate limit, visibility, permission, handler, ETag.
async fn authorized(
    st: &AppState,
    req: &mut Request,
    entry: &mut Entry,
    request_id: &str,
    next: Next,
    then_502: bool,
) -> Response {
    if crate::apps::is_app_endpoint(req.uri().path()) {
        return app_authorized(st, req, entry, next).await;
    }
    let secret = auth::bearer(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let token = match secret.map(|s| st.token(s)) {
        None => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "Requires authentication")
                .into_response();
        }
        Some(None) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "Bad credentials").into_response();
        }
        Some(Some(token)) => token,
    };
    entry.token = Some(token.id.clone());
    let limit = token.rate_limit.unwrap_or(st.rate_limit);
    let counted = req.uri().path() != "/rate_limit";
    let quota = if counted {
        match lock(&st.limiter).take(&token.id, limit, Utc::now()) {
            Ok(quota) => quota,
            Err(quota) => return with_quota(primary_exhausted(&token, request_id, quota), quota),
        }
    } else {
        lock(&st.limiter).peek(&token.id, limit, Utc::now())
    };
    entry.counted = counted;
    if let Err(error) = check_repo(st, &token, req.method(), req.uri().path()) {
        return with_quota(error.into_response(), quota);
    }
    let api_version = req
        .headers()
        .get("x-github-api-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(DEFAULT_API_VERSION)
        .to_owned();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_get = req.method() == Method::GET;
    req.extensions_mut().insert(Caller {
        token_id: token.id.clone(),
        login: token.login.clone(),
        api_version: api_version.clone(),
        rate_limit: limit,
        integration: token.kind == auth::TokenKind::Integration,
    });
    let request = std::mem::replace(req, Request::new(Body::empty()));
    let mut response = next.run(request).await;
    if then_502 && response.status().is_success() {
        // The work was done (e.g. the run exists), but the client is told otherwise.
        response = ApiError::new(StatusCode::BAD_GATEWAY, "Server Error").into_response();
    }
    insert(
        response.headers_mut(),
        "x-github-api-version-selected",
        &api_version,
    );
    if is_get && response.status() == StatusCode::OK {
        let (response, not_modified) =
            conditional(response, if_none_match.as_deref(), &token.id).await;
        if not_modified {
            // "Making a conditional request does not count against your primary rate limit."
            entry.counted = false;
            let quota = lock(&st.limiter).refund(&token.id, limit, Utc::now());
            return with_quota(response, quota);
        }
        return with_quota(
            response,
            if counted {
                quota
            } else {
                lock(&st.limiter).peek(&token.id, limit, Utc::now())
            },
        );
    }
    with_quota(response, quota)
}

/// The endpoints that take a GitHub App JWT instead of a token: the JWT is verified (GitHub's
/// 401 messages otherwise) and the app's own budget is charged. Neither the JWT nor a token
/// minted here is recorded; the log shows `app-<id>`.
async fn app_authorized(
    st: &AppState,
    req: &mut Request,
    entry: &mut Entry,
    next: Next,
) -> Response {
    let jwt = auth::bearer(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let verified = jwt.map(|jwt| {
        st.apps
            .verify(jwt, Utc::now().timestamp())
            .map(|app| app.app_id)
    });
    let app_id = match verified {
        Some(Ok(app_id)) => app_id,
        Some(Err(message)) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
        }
        None => {
            return ApiError::new(StatusCode::UNAUTHORIZED, crate::apps::JWT_UNDECODABLE)
                .into_response();
        }
    };
    let bucket = format!("app-{app_id}");
    entry.token = Some(bucket.clone());
    let quota = match lock(&st.limiter).take(&bucket, st.rate_limit, Utc::now()) {
        Ok(quota) => quota,
        Err(quota) => {
            let message = "API rate limit exceeded for this GitHub App.";
            let refused = ApiError::new(StatusCode::FORBIDDEN, message)
                .docs("overview/rate-limits-for-the-rest-api");
            return with_quota(refused.into_response(), quota);
        }
    };
    entry.counted = true;
    req.extensions_mut().insert(routes::AppCaller { app_id });
    let request = std::mem::replace(req, Request::new(Body::empty()));
    with_quota(next.run(request).await, quota)
}

/// 404 for an unknown or invisible repository, 403 for a missing permission.
fn check_repo(
    st: &AppState,
    token: &TokenSpec,
    method: &Method,
    path: &str,
) -> Result<(), ApiError> {
    let Some((full, rest)) = auth::repo_of(path) else {
        return Ok(());
    };
    let exists = lock(&st.world).repo(&full).is_some();
    if !exists || !token.can_see(&full) {
        return Err(ApiError::not_found());
    }
    let (permission, access) = auth::required_permission(method, rest);
    if !token.allows(permission, access) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            token.forbidden_message(),
        ));
    }
    Ok(())
}

/// Adds a strong ETag; answers 304 with an empty body when `If-None-Match` matches.
async fn conditional(
    response: Response,
    if_none_match: Option<&str>,
    token_id: &str,
) -> (Response, bool) {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Server Error").into_response(),
            false,
        );
    };
    let link = parts
        .headers
        .get(header::LINK)
        .and_then(|v| v.to_str().ok());
    let tag = etag::compute(&bytes, link, token_id);
    insert(&mut parts.headers, "etag", &tag);
    insert(
        &mut parts.headers,
        "cache-control",
        "private, max-age=60, s-maxage=60",
    );
    insert(
        &mut parts.headers,
        "vary",
        "Accept, Authorization, Cookie, X-GitHub-OTP",
    );
    if if_none_match.is_some_and(|inm| etag::matches(inm, &tag)) {
        let mut headers = HeaderMap::new();
        for name in [
            header::ETAG,
            header::CACHE_CONTROL,
            header::VARY,
            header::LINK,
        ] {
            if let Some(value) = parts.headers.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        *not_modified.headers_mut() = headers;
        return (not_modified, true);
    }
    (Response::from_parts(parts, Body::from(bytes)), false)
}

fn primary_exhausted(token: &TokenSpec, request_id: &str, quota: Quota) -> Response {
    let who = match token.kind {
        TokenKind::PersonalAccessToken => {
            format!("user ID {}", crate::models::user_id(&token.login))
        }
        TokenKind::Integration => {
            // Minted tokens carry their installation's id; configured ones get a stable number.
            let id = token
                .id
                .strip_prefix("installation-")
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| crate::models::user_id(&token.id));
            format!("installation ID {id}")
        }
    };
    let reset = DateTime::from_timestamp(quota.reset, 0)
        .map(crate::clock::rfc3339)
        .unwrap_or_default();
    let message = format!(
        "API rate limit exceeded for {who}. If you reach out to GitHub Support for help, please include the request ID {request_id} and timestamp {reset}."
    );
    ApiError::new(StatusCode::FORBIDDEN, message)
        .docs("overview/rate-limits-for-the-rest-api")
        .into_response()
}

fn secondary_limit(status: u16, retry_after: u64, request_id: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
    let message = format!(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {request_id}."
    );
    let body = json!({
        "message": message,
        "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        "status": status.as_u16().to_string(),
    });
    let mut response = json_response(status, &body);
    insert(
        response.headers_mut(),
        "retry-after",
        &retry_after.to_string(),
    );
    response
}

fn with_quota(mut response: Response, quota: Quota) -> Response {
    let headers = response.headers_mut();
    insert(headers, "x-ratelimit-limit", &quota.limit.to_string());
    insert(
        headers,
        "x-ratelimit-remaining",
        &quota.remaining.to_string(),
    );
    insert(headers, "x-ratelimit-used", &quota.used.to_string());
    insert(headers, "x-ratelimit-reset", &quota.reset.to_string());
    insert(headers, "x-ratelimit-resource", "core");
    response
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}
