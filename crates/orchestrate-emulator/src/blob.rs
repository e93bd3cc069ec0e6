//! The Azure-Blob-like storage behind artifact uploads and downloads, served under `/_blob/`.
//!
//! URLs carry a SAS-style query (`sv`, `se` expiry, `sr`, `sp` permissions, `sig`): the
//! signature is an HMAC over the permissions, the expiry and the blob, keyed per emulator, so
//! a URL needs no token, cannot be widened, and stops working when it expires (403 with an
//! Azure XML error, as Azure answers). Uploads accept Put Block, Put Block List and Put Blob,
//! which is what `@azure/storage-blob` (`uploadStream`) and a single-shot client send.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac as _};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::artifacts::{ArtifactError, ArtifactStore, BlobProps, BlockRef};
use crate::http::param;

/// The storage service version the emulator claims to speak.
const SERVICE_VERSION: &str = "2025-11-05";
const PREFIX: &str = "/_blob/actions-results";
/// Blocks are 8 MiB from the toolkit; single-shot uploads may be larger.
const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// Routes of the blob service; merge into the emulator's app.
pub fn blob_router(store: ArtifactStore) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/artifacts/{{file}}"), get(download))
        .route(&format!("{PREFIX}/uploads/{{key}}"), put(upload))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(store)
}

pub(crate) fn download_url(
    store: &ArtifactStore,
    base_url: &str,
    id: u64,
    expiry: DateTime<Utc>,
) -> String {
    let path = format!("artifacts/{id}.zip");
    signed_url(
        store,
        base_url,
        &path,
        &format!("artifacts/{id}"),
        "r",
        expiry,
    )
}

pub(crate) fn upload_url(
    store: &ArtifactStore,
    base_url: &str,
    key: &str,
    expiry: DateTime<Utc>,
) -> String {
    let path = format!("uploads/{key}");
    signed_url(store, base_url, &path, &path, "cw", expiry)
}

fn signed_url(
    store: &ArtifactStore,
    base_url: &str,
    path: &str,
    resource: &str,
    permissions: &str,
    expiry: DateTime<Utc>,
) -> String {
    let se = expiry.to_rfc3339_opts(SecondsFormat::Secs, true);
    let sig = sign(store.signing_key(), permissions, &se, resource);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", SERVICE_VERSION)
        .append_pair("se", &se)
        .append_pair("sr", "b")
        .append_pair("sp", permissions)
        .append_pair("sig", &sig)
        .finish();
    format!("{}{PREFIX}/{path}?{query}", base_url.trim_end_matches('/'))
}

fn mac(key: &[u8; 32], permissions: &str, se: &str, resource: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key)
        .expect("hmac accepts a key of any length");
    mac.update(format!("{permissions}\n{se}\n{resource}").as_bytes());
    mac
}

fn sign(key: &[u8; 32], permissions: &str, se: &str, resource: &str) -> String {
    STANDARD.encode(mac(key, permissions, se, resource).finalize().into_bytes())
}

/// Checks the SAS of a request for `resource` needing permission `need`.
fn authorize(
    store: &ArtifactStore,
    query: Option<&str>,
    resource: &str,
    need: char,
) -> Result<Vec<(String, String)>, AzureError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (Some(sp), Some(se), Some(sig)) = (
        param(&pairs, "sp"),
        param(&pairs, "se"),
        param(&pairs, "sig"),
    ) else {
        return Err(auth_failed(
            "the request carries no shared access signature".into(),
        ));
    };
    let valid = STANDARD.decode(sig).is_ok_and(|raw| {
        mac(store.signing_key(), sp, se, resource)
            .verify_slice(&raw)
            .is_ok()
    });
    if !valid {
        return Err(auth_failed(
            "Signature did not match. String to sign used was not the one signed".into(),
        ));
    }
    let now = store.now();
    let expiry = DateTime::parse_from_rfc3339(se).map(|t| t.with_timezone(&Utc));
    match expiry {
        Ok(expiry) if expiry > now => {}
        _ => {
            return Err(auth_failed(format!(
                "Signed expiry time [{}] must be after signed start time [{}]",
                http_date(expiry.unwrap_or(now)),
                http_date(now)
            )));
        }
    }
    if !sp.contains(need) {
        return Err(AzureError {
            status: StatusCode::FORBIDDEN,
            code: "AuthorizationPermissionMismatch",
            message: "This request is not authorized to perform this operation using this permission.",
            extra_xml: String::new(),
        });
    }
    Ok(pairs)
}

async fn download(
    State(store): State<ArtifactStore>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some(id) = file
        .strip_suffix(".zip")
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return blob_not_found();
    };
    if let Err(denied) = authorize(&store, query.as_deref(), &format!("artifacts/{id}"), 'r') {
        return denied.into_response();
    }
    let Some((record, bytes)) = store.content(id) else {
        return blob_not_found();
    };
    let total = bytes.len() as u64;
    let range = headers
        .get("x-ms-range")
        .or_else(|| headers.get(header::RANGE))
        .and_then(|v| v.to_str().ok());
    let (status, start, end) = match range.map(|r| parse_range(r, total)) {
        None => (StatusCode::OK, 0, total),
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(None) => {
            return azure_error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
                "",
            );
        }
    };
    let body = bytes.slice(usize_of(start)..usize_of(end));
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    let h = response.headers_mut();
    common_headers(h, &headers);
    set(h, header::CONTENT_TYPE, &record.content_type);
    set(h, header::CONTENT_LENGTH, &(end - start).to_string());
    set(
        h,
        header::CONTENT_DISPOSITION,
        &content_disposition(&record.file_name()),
    );
    set(h, header::ACCEPT_RANGES, "bytes");
    set(h, header::ETAG, &format!("\"0x8DC{:012X}\"", record.id));
    set(h, header::LAST_MODIFIED, &http_date(record.updated_at));
    set(h, HeaderName::from_static("x-ms-blob-type"), "BlockBlob");
    set(h, HeaderName::from_static("x-ms-server-encrypted"), "true");
    set(
        h,
        HeaderName::from_static("x-ms-creation-time"),
        &http_date(record.created_at),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        set(
            h,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{}/{total}", end.saturating_sub(1)),
        );
    }
    if method != Method::HEAD {
        *response.body_mut() = Body::from(body);
    }
    response
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` as a half-open range; `None` when unsatisfiable.
fn parse_range(spec: &str, total: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    let (first, last) = spec.split_once('-')?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (total.saturating_sub(n), total)
        }
        (a, "") => (a.parse().ok()?, total),
        (a, b) => {
            let a: u64 = a.parse().ok()?;
            let b: u64 = b.parse().ok()?;
            (a, b.saturating_add(1).min(total))
        }
    };
    (start < end && start < total).then_some((start, end))
}

async fn upload(
    State(store): State<ArtifactStore>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = match authorize(&store, query.as_deref(), &format!("uploads/{key}"), 'w') {
        Ok(pairs) => pairs,
        Err(denied) => return denied.into_response(),
    };
    let now = store.now();
    let header_str = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let result = match param(&pairs, "comp") {
        Some("block") => {
            let Some(block_id) = param(&pairs, "blockid").filter(|b| STANDARD.decode(b).is_ok())
            else {
                return invalid_query_parameter("blockid");
            };
            let md5 = content_md5(&body);
            store
                .stage_block(&key, block_id, body)
                .map(|()| (None, Some(md5)))
        }
        Some("blocklist") => {
            let Some(blocks) = parse_block_list(&body) else {
                return azure_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidXmlDocument",
                    "XML specified is not syntactically valid.",
                    "",
                );
            };
            let content_type = header_str("x-ms-blob-content-type");
            store
                .commit_blocks(&key, &blocks, content_type, now)
                .map(|props| (Some(props), None))
        }
        None => {
            if header_str("x-ms-blob-type").as_deref() != Some("BlockBlob") {
                return azure_error(
                    StatusCode::BAD_REQUEST,
                    "MissingRequiredHeader",
                    "An HTTP header that's mandatory for this request is not specified.",
                    "<HeaderName>x-ms-blob-type</HeaderName>",
                );
            }
            let content_type =
                header_str("x-ms-blob-content-type").or_else(|| header_str("content-type"));
            let md5 = content_md5(&body);
            store
                .put_blob(&key, body, content_type, now)
                .map(|props| (Some(props), Some(md5)))
        }
        Some(_) => {
            return invalid_query_parameter("comp");
        }
    };
    match result {
        Ok((props, md5)) => created(&headers, props.as_ref(), md5.as_deref()),
        Err(ArtifactError::InvalidBlockList(_)) => azure_error(
            StatusCode::BAD_REQUEST,
            "InvalidBlockList",
            "The specified block list is invalid.",
            "",
        ),
        Err(_) => blob_not_found(),
    }
}

/// Base64 MD5 of a request body, which Azure returns for Put Block and Put Blob.
fn content_md5(body: &[u8]) -> String {
    STANDARD.encode(Md5::digest(body))
}

fn created(request: &HeaderMap, props: Option<&BlobProps>, md5: Option<&str>) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    let h = response.headers_mut();
    common_headers(h, request);
    set(h, header::CONTENT_LENGTH, "0");
    set(
        h,
        HeaderName::from_static("x-ms-request-server-encrypted"),
        "true",
    );
    if let Some(md5) = md5 {
        set(h, HeaderName::from_static("content-md5"), md5);
    }
    if let Some(props) = props {
        set(h, header::ETAG, &props.etag);
        set(h, header::LAST_MODIFIED, &http_date(props.last_modified));
    }
    response
}

/// The `<Latest>`, `<Committed>` and `<Uncommitted>` entries of a Put Block List body, in order.
fn parse_block_list(body: &[u8]) -> Option<Vec<BlockRef>> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<BlockList>")? + "<BlockList>".len();
    let end = text.rfind("</BlockList>")?;
    let mut rest = text.get(start..end)?.trim();
    let mut blocks = Vec::new();
    while !rest.is_empty() {
        let open_end = rest.strip_prefix('<')?.find('>')? + 1;
        let tag = rest.get(1..open_end)?;
        let close = format!("</{tag}>");
        let after_open = rest.get(open_end + 1..)?;
        let value_end = after_open.find(&close)?;
        let id = after_open.get(..value_end)?.trim().to_owned();
        blocks.push(match tag {
            "Latest" => BlockRef::Latest(id),
            "Committed" => BlockRef::Committed(id),
            "Uncommitted" => BlockRef::Uncommitted(id),
            _ => return None,
        });
        rest = after_open.get(value_end + close.len()..)?.trim_start();
    }
    Some(blocks)
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    // Every value set here is built from ASCII; a value that is not is left out rather than sent
    // malformed.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn common_headers(headers: &mut HeaderMap, request: &HeaderMap) {
    let version = request
        .get("x-ms-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(SERVICE_VERSION)
        .to_owned();
    set(
        headers,
        HeaderName::from_static("x-ms-request-id"),
        &uuid::Uuid::new_v4().to_string(),
    );
    set(headers, HeaderName::from_static("x-ms-version"), &version);
    set(headers, header::DATE, &http_date(Utc::now()));
    set(
        headers,
        header::SERVER,
        "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
    );
    if let Some(id) = request.get("x-ms-client-request-id") {
        headers.insert(
            HeaderName::from_static("x-ms-client-request-id"),
            id.clone(),
        );
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// `attachment; filename=<ascii>; filename*=UTF-8''<percent-encoded>` (RFC 6266 / 5987).
fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\'' | ';' | '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in file_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename={ascii}; filename*=UTF-8''{encoded}")
}

fn auth_failed(detail: String) -> AzureError {
    AzureError {
        status: StatusCode::FORBIDDEN,
        code: "AuthenticationFailed",
        message: "Server failed to authenticate the request. Make sure the value of Authorization \
                  header is formed correctly including the signature.",
        extra_xml: format!(
            "<AuthenticationErrorDetail>{}</AuthenticationErrorDetail>",
            xml_escape(&detail)
        ),
    }
}

/// A refusal the blob service answers with an Azure error document.
#[derive(Debug)]
struct AzureError {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    extra_xml: String,
}

impl IntoResponse for AzureError {
    fn into_response(self) -> Response {
        azure_error(self.status, self.code, self.message, &self.extra_xml)
    }
}

fn blob_not_found() -> Response {
    azure_error(
        StatusCode::NOT_FOUND,
        "BlobNotFound",
        "The specified blob does not exist.",
        "",
    )
}

/// Azure's 400 for a query parameter `name` with a value it cannot use.
fn invalid_query_parameter(name: &str) -> Response {
    azure_error(
        StatusCode::BAD_REQUEST,
        "InvalidQueryParameterValue",
        "Value for one of the query parameters specified in the request URI is invalid.",
        &format!("<QueryParameterName>{name}</QueryParameterName>"),
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An Azure storage error: XML body, `x-ms-error-code` header.
fn azure_error(status: StatusCode, code: &str, message: &str, extra_xml: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{}\n\
         RequestId:{request_id}\nTime:{now}</Message>{extra_xml}</Error>",
        xml_escape(message)
    );
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    set(h, header::CONTENT_TYPE, "application/xml");
    set(h, HeaderName::from_static("x-ms-error-code"), code);
    set(h, HeaderName::from_static("x-ms-request-id"), &request_id);
    set(h, HeaderName::from_static("x-ms-version"), SERVICE_VERSION);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_list_keeps_order_and_kinds() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>QQ==</Latest>
            <Committed>Qg==</Committed><Uncommitted>Qw==</Uncommitted></BlockList>"#;
        assert_eq!(
            parse_block_list(body),
            Some(vec![
                BlockRef::Latest("QQ==".into()),
                BlockRef::Committed("Qg==".into()),
                BlockRef::Uncommitted("Qw==".into()),
            ])
        );
        assert_eq!(parse_block_list(b"<BlockList></BlockList>"), Some(vec![]));
        assert_eq!(
            parse_block_list(b"<BlockList><Other>x</Other></BlockList>"),
            None
        );
        assert_eq!(parse_block_list(b"<BlockList><Latest>x</BlockList>"), None);
        assert_eq!(parse_block_list(b"not xml"), None);
    }

    #[test]
    fn ranges_follow_http_semantics() {
        assert_eq!(parse_range("bytes=0-3", 10), Some((0, 4)));
        assert_eq!(parse_range("bytes=5-", 10), Some((5, 10)));
        assert_eq!(parse_range("bytes=-3", 10), Some((7, 10)));
        assert_eq!(parse_range("bytes=8-100", 10), Some((8, 10)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
    }

    #[test]
    fn content_disposition_has_plain_and_encoded_names() {
        assert_eq!(
            content_disposition("build info ü.zip"),
            "attachment; filename=build info _.zip; filename*=UTF-8''build%20info%20%C3%BC.zip"
        );
    }

    #[test]
    fn signed_urls_verify_and_reject_tampering() {
        let store = ArtifactStore::new();
        let expiry = store.now() + chrono::Duration::seconds(60);
        let url = download_url(&store, "http://h:1/", 7, expiry);
        let (path, query) = url.split_once('?').expect("query");
        assert_eq!(path, "http://h:1/_blob/actions-results/artifacts/7.zip");
        assert!(authorize(&store, Some(query), "artifacts/7", 'r').is_ok());
        let denied = authorize(&store, Some(query), "artifacts/8", 'r').expect_err("other blob");
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let denied = authorize(&store, Some(query), "artifacts/7", 'w').expect_err("read only");
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let widened = query.replace("sp=r", "sp=rw");
        assert!(authorize(&store, Some(&widened), "artifacts/7", 'w').is_err());
    }
}
