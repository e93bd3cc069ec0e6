//! The Actions results service: artifact upload v4 over Twirp JSON (protocol.md §3.2).
//!
//! Every call carries a runtime token ([`RuntimeRegistry`]); the backend ids in the request
//! must be the ones its `scp` claim grants. Answers use snake_case names and int64 strings,
//! errors are Twirp's `{"code","msg"}` with the status Twirp maps the code to.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::artifacts::{ArtifactError, ArtifactStore, NewUpload};
use crate::blob;

mod runtime;

pub use runtime::RuntimeRegistry;
use runtime::Scope;

const SERVICE: &str = "github.actions.results.api.v1.ArtifactService";
/// How long CreateArtifact's signed upload URL stays valid.
const UPLOAD_URL_LIFETIME_HOURS: i64 = 6;
/// Characters upload-artifact refuses in a name.
const FORBIDDEN_NAME_CHARS: &[char] = &['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];

#[derive(Clone)]
struct Service {
    store: ArtifactStore,
    runtime: RuntimeRegistry,
}

/// Routes of the results service (`POST /twirp/github.actions.results.api.v1.ArtifactService/*`).
pub fn results_router(store: ArtifactStore, runtime: RuntimeRegistry) -> Router {
    Router::new()
        .route("/twirp/{service}/{method}", any(twirp))
        .with_state(Service { store, runtime })
}

/// A Twirp error: `{"code","msg"}` with the HTTP status Twirp maps the code to.
#[derive(Debug)]
struct TwirpError {
    code: &'static str,
    msg: String,
}

impl TwirpError {
    fn new(code: &'static str, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
        }
    }
}

impl IntoResponse for TwirpError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "invalid_argument" | "malformed" | "out_of_range" => StatusCode::BAD_REQUEST,
            "unauthenticated" => StatusCode::UNAUTHORIZED,
            "permission_denied" => StatusCode::FORBIDDEN,
            "not_found" | "bad_route" => StatusCode::NOT_FOUND,
            "already_exists" | "aborted" => StatusCode::CONFLICT,
            "failed_precondition" => StatusCode::PRECONDITION_FAILED,
            "resource_exhausted" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = json!({ "code": self.code, "msg": self.msg });
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<ArtifactError> for TwirpError {
    fn from(error: ArtifactError) -> Self {
        let code = match &error {
            ArtifactError::AlreadyExists => "already_exists",
            ArtifactError::NotFound | ArtifactError::UploadNotFound => "not_found",
            ArtifactError::NotUploaded => "failed_precondition",
            ArtifactError::InvalidBlockList(_)
            | ArtifactError::SizeMismatch { .. }
            | ArtifactError::HashMismatch { .. } => "invalid_argument",
        };
        Self::new(code, error.to_string())
    }
}

/// protobuf JSON accepts a wrapper (`StringValue`, `Int64Value`) bare or as `{"value": …}`,
/// and an int64 as a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(u64),
    Wrapped { value: Box<Scalar> },
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Number(n) => n.to_string(),
            Self::Wrapped { value } => value.text(),
        }
    }

    fn number(&self, field: &str) -> Result<u64, TwirpError> {
        self.text()
            .parse()
            .map_err(|_| TwirpError::new("invalid_argument", format!("{field} must be an int64")))
    }
}

/// Every request message, merged: each RPC reads the fields it defines.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Request {
    #[serde(alias = "workflowRunBackendId")]
    workflow_run_backend_id: String,
    #[serde(alias = "workflowJobRunBackendId")]
    workflow_job_run_backend_id: String,
    name: String,
    #[serde(alias = "expiresAt")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(alias = "mimeType")]
    mime_type: Option<Scalar>,
    size: Option<Scalar>,
    hash: Option<Scalar>,
    #[serde(alias = "nameFilter")]
    name_filter: Option<Scalar>,
    #[serde(alias = "idFilter")]
    id_filter: Option<Scalar>,
}

/// What a call is about once its token and ids check out.
struct Call {
    repo: String,
    run_id: u64,
    scope: Scope,
    base_url: String,
    req: Request,
}

async fn twirp(
    State(service): State<Service>,
    Path((name, method)): Path<(String, String)>,
    http_method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match dispatch(&service, &name, &method, &http_method, &headers, &body) {
        Ok(value) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

fn dispatch(
    service: &Service,
    name: &str,
    method: &str,
    http_method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, TwirpError> {
    let known = [
        "CreateArtifact",
        "FinalizeArtifact",
        "ListArtifacts",
        "GetSignedArtifactURL",
        "DeleteArtifact",
    ];
    if name != SERVICE || !known.contains(&method) {
        return Err(TwirpError::new(
            "bad_route",
            format!("no handler for path \"/twirp/{name}/{method}\""),
        ));
    }
    if http_method != Method::POST {
        return Err(TwirpError::new(
            "bad_route",
            format!("unsupported method {http_method} (only POST is allowed)"),
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.is_empty() && !content_type.starts_with("application/json") {
        return Err(TwirpError::new(
            "bad_route",
            format!("unexpected Content-Type: \"{content_type}\""),
        ));
    }
    let call = authenticate(service, headers, body)?;
    match method {
        "CreateArtifact" => create(service, call),
        "FinalizeArtifact" => finalize(service, call),
        "ListArtifacts" => Ok(list(service, &call)),
        "GetSignedArtifactURL" => signed_url(service, &call),
        _ => delete(service, &call),
    }
}

fn authenticate(service: &Service, headers: &HeaderMap, body: &[u8]) -> Result<Call, TwirpError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            TwirpError::new(
                "unauthenticated",
                "no runtime token in the Authorization header",
            )
        })?;
    let scope = service.runtime.verify(token.trim()).ok_or_else(|| {
        TwirpError::new("unauthenticated", "the runtime token is invalid or expired")
    })?;
    let (repo, run_id) = service
        .runtime
        .run_for_backend_id(&scope.run_backend_id)
        .ok_or_else(|| {
            TwirpError::new(
                "unauthenticated",
                "the runtime token names an unknown workflow run",
            )
        })?;
    let req: Request = serde_json::from_slice(body).map_err(|e| {
        TwirpError::new(
            "malformed",
            format!("the json request could not be decoded: {e}"),
        )
    })?;
    if req.workflow_run_backend_id.is_empty() || req.workflow_job_run_backend_id.is_empty() {
        return Err(TwirpError::new(
            "invalid_argument",
            "workflow_run_backend_id and workflow_job_run_backend_id are required",
        ));
    }
    if req.workflow_run_backend_id != scope.run_backend_id {
        return Err(TwirpError::new(
            "permission_denied",
            "workflow_run_backend_id does not match the runtime token",
        ));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    Ok(Call {
        repo,
        run_id,
        scope,
        base_url: format!("http://{host}"),
        req,
    })
}

/// Uploads and deletions act for the job the token belongs to.
fn require_own_job(call: &Call) -> Result<(), TwirpError> {
    if call.req.workflow_job_run_backend_id == call.scope.job_backend_id {
        Ok(())
    } else {
        Err(TwirpError::new(
            "permission_denied",
            "workflow_job_run_backend_id does not match the runtime token",
        ))
    }
}

fn require_name(name: &str) -> Result<(), TwirpError> {
    if name.is_empty() {
        return Err(TwirpError::new("invalid_argument", "name is required"));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN_NAME_CHARS.contains(c)) {
        return Err(TwirpError::new(
            "invalid_argument",
            format!("artifact name {name:?} contains the forbidden character {c:?}"),
        ));
    }
    Ok(())
}

fn create(service: &Service, call: Call) -> Result<Value, TwirpError> {
    require_own_job(&call)?;
    require_name(&call.req.name)?;
    let now = service.store.now();
    if call.req.expires_at.is_some_and(|t| t <= now) {
        return Err(TwirpError::new(
            "invalid_argument",
            "expires_at must be in the future",
        ));
    }
    let mime = call
        .req
        .mime_type
        .as_ref()
        .map_or_else(|| "application/zip".to_owned(), Scalar::text);
    let new = NewUpload {
        repo: &call.repo,
        run_id: call.run_id,
        name: &call.req.name,
        job_backend_id: &call.scope.job_backend_id,
        content_type: &mime,
        expires_at: call.req.expires_at,
    };
    let key = service.store.begin_upload(&new, now)?;
    let expiry = now + Duration::hours(UPLOAD_URL_LIFETIME_HOURS);
    let url = blob::upload_url(&service.store, &call.base_url, &key, expiry);
    Ok(json!({ "ok": true, "signed_upload_url": url }))
}

fn finalize(service: &Service, call: Call) -> Result<Value, TwirpError> {
    require_own_job(&call)?;
    require_name(&call.req.name)?;
    // proto3 JSON leaves a zero size out entirely.
    let size = call.req.size.as_ref().map_or(Ok(0), |s| s.number("size"))?;
    let hash = call.req.hash.as_ref().map(Scalar::text);
    let record = service.store.finalize_upload(
        &call.repo,
        call.run_id,
        &call.req.name,
        size,
        hash.as_deref(),
        service.store.now(),
    )?;
    Ok(json!({ "ok": true, "artifact_id": record.id.to_string() }))
}

fn list(service: &Service, call: &Call) -> Value {
    let name_filter = call.req.name_filter.as_ref().map(Scalar::text);
    let id_filter = call.req.id_filter.as_ref().map(Scalar::text);
    let artifacts: Vec<Value> = service
        .store
        .list_for_run(&call.repo, call.run_id)
        .into_iter()
        .filter(|a| !a.expired)
        .filter(|a| name_filter.as_ref().is_none_or(|n| *n == a.name))
        .filter(|a| id_filter.as_ref().is_none_or(|id| *id == a.id.to_string()))
        .map(|a| {
            let mut item = json!({
                "workflow_run_backend_id": call.scope.run_backend_id,
                "workflow_job_run_backend_id":
                    a.job_backend_id.clone().unwrap_or_else(|| call.scope.job_backend_id.clone()),
                "database_id": a.id.to_string(),
                "name": a.name,
                "size": a.size_in_bytes.to_string(),
                "created_at": a.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            });
            if let Some(digest) = a.digest {
                item["digest"] = Value::String(digest);
            }
            item
        })
        .collect();
    json!({ "artifacts": artifacts })
}

fn signed_url(service: &Service, call: &Call) -> Result<Value, TwirpError> {
    require_name(&call.req.name)?;
    let record = service
        .store
        .find_by_name(&call.repo, call.run_id, &call.req.name)
        .filter(|a| !a.expired)
        .ok_or(ArtifactError::NotFound)?;
    let url = service
        .store
        .signed_download_url(&call.base_url, record.id, service.store.now());
    Ok(json!({ "signed_url": url }))
}

fn delete(service: &Service, call: &Call) -> Result<Value, TwirpError> {
    require_own_job(call)?;
    require_name(&call.req.name)?;
    let id = service
        .store
        .delete_by_name(&call.repo, call.run_id, &call.req.name)
        .ok_or(ArtifactError::NotFound)?;
    Ok(json!({ "ok": true, "artifact_id": id.to_string() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_accept_bare_wrapped_and_numeric_forms() {
        let req: Request = serde_json::from_str(
            r#"{"workflowRunBackendId":"r","workflow_job_run_backend_id":"j","size":"12",
                "hash":{"value":"sha256:ab"},"idFilter":7,"unknown_field":true}"#,
        )
        .expect("decodes");
        assert_eq!(req.workflow_run_backend_id, "r");
        assert_eq!(req.size.map(|s| s.number("size").ok()), Some(Some(12)));
        assert_eq!(req.hash.map(|h| h.text()), Some("sha256:ab".to_owned()));
        assert_eq!(req.id_filter.map(|h| h.text()), Some("7".to_owned()));
    }
}
