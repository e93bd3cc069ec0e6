//! Response helpers: GitHub's JSON content type, its error body shape, and `Link` pagination.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// GitHub's JSON content type.
pub const JSON: &str = "application/json; charset=utf-8";
/// The REST docs root used in `documentation_url`.
pub const DOCS: &str = "https://docs.github.com/rest";

/// An error answered with GitHub's body: `{"message", "documentation_url", "status"}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// `message`.
    pub message: String,
    /// `documentation_url`.
    pub docs: String,
    /// Optional `errors` array (validation failures).
    pub errors: Option<Value>,
}

impl ApiError {
    /// An error with the generic docs URL.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            docs: DOCS.to_owned(),
            errors: None,
        }
    }

    /// 404 `Not Found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found")
    }

    /// 422 with a message.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// Sets the documentation URL (path under the REST docs root).
    #[must_use]
    pub fn docs(mut self, path: &str) -> Self {
        self.docs = format!("{DOCS}/{path}");
        self
    }

    /// 422 `Validation Failed` with one `errors` entry naming `resource`, `field` and `code`.
    pub fn invalid_field(resource: &str, field: &str, code: &str) -> Self {
        Self::unprocessable("Validation Failed").with_errors(json!([{
            "resource": resource, "field": field, "code": code,
        }]))
    }

    /// Adds an `errors` array.
    #[must_use]
    pub fn with_errors(mut self, errors: Value) -> Self {
        self.errors = Some(errors);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "message": self.message,
            "documentation_url": self.docs,
            "status": self.status.as_u16().to_string(),
        });
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
    }
}

/// A JSON response with GitHub's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    response
}

/// 200 with a JSON body.
pub fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// Sets `Location`; a URL that is not a valid header value is left out rather than sent
/// malformed.
pub fn set_location(response: &mut Response, url: &str) {
    if let Ok(value) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, value);
    }
}

/// 201 with `body`, its `url` as `Location`, as GitHub answers a create.
pub fn created(body: &Value) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Some(url) = body["url"].as_str() {
        set_location(&mut response, url);
    }
    response
}

/// A result whose error answers GitHub's error body.
pub type ApiResult = Result<Response, ApiError>;

/// `per_page` (default 30, at most 100) and `page` (from 1) of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Items per page.
    pub per_page: usize,
    /// 1-based page.
    pub page: usize,
}

impl Paging {
    /// From the raw query values; invalid values fall back to the defaults like GitHub.
    pub fn from_query(per_page: Option<&str>, page: Option<&str>) -> Self {
        let per_page = per_page
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(30)
            .min(100);
        let page = page
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|v| *v > 0)
            .unwrap_or(1);
        Self { per_page, page }
    }

    /// The slice of `items` on this page.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1)
            .saturating_mul(self.per_page)
            .min(items.len());
        let end = start.saturating_add(self.per_page).min(items.len());
        &items[start..end]
    }

    /// The `Link` header for a list of `total` items at `base` + `path` with `query` (the
    /// request's own parameters, `page` replaced), or `None` when everything fits on one page.
    pub fn link(
        &self,
        total: usize,
        base: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Option<String> {
        let last = total.div_ceil(self.per_page).max(1);
        if last == 1 && self.page == 1 {
            return None;
        }
        let url = |page: usize| {
            let mut pairs = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in query.iter().filter(|(k, _)| k != "page") {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("page", &page.to_string());
            format!("<{base}{path}?{}>", pairs.finish())
        };
        let mut links = Vec::new();
        if self.page > 1 {
            links.push(format!(
                "{}; rel=\"prev\"",
                url(self.page.saturating_sub(1).min(last))
            ));
        }
        if self.page < last {
            links.push(format!("{}; rel=\"next\"", url(self.page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if self.page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
        }
        Some(links.join(", "))
    }
}

/// A list response: `body` plus its `Link` header.
pub fn paged(body: &Value, link: Option<String>) -> Response {
    let mut response = ok(body);
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// Where a list lives and how GitHub shapes it.
#[derive(Debug, Clone, Copy)]
pub struct ListPage<'a> {
    /// The request's query (`per_page`, `page` and the filters, kept in the `Link` URLs).
    pub query: &'a [(String, String)],
    pub base_url: &'a str,
    /// The list's path, e.g. `/repos/o/r/issues`.
    pub path: &'a str,
    /// `Some("workflow_runs")` for `{"total_count": n, "workflow_runs": [...]}`; `None` for a
    /// bare array.
    pub wrap: Option<&'a str>,
}

impl<'a> ListPage<'a> {
    /// A list answered as a bare array.
    pub fn new(query: &'a [(String, String)], base_url: &'a str, path: &'a str) -> Self {
        Self {
            query,
            base_url,
            path,
            wrap: None,
        }
    }

    /// The list answered as `{"total_count": n, key: [...]}`.
    #[must_use]
    pub fn wrapped(self, key: &'a str) -> Self {
        Self {
            wrap: Some(key),
            ..self
        }
    }

    /// The page the query asks for of `items`, each rendered by `render`, with its `Link`.
    pub fn respond<T>(&self, items: &[T], render: impl Fn(&T) -> Value) -> Response {
        let paging = Paging::from_query(param(self.query, "per_page"), param(self.query, "page"));
        let page: Vec<Value> = paging.slice(items).iter().map(render).collect();
        let body = match self.wrap {
            Some(key) => json!({ "total_count": items.len(), key: page }),
            None => Value::Array(page),
        };
        let link = paging.link(items.len(), self.base_url, self.path, self.query);
        paged(&body, link)
    }
}

/// Looks a query parameter up.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_has_absolute_next_last_prev_first() {
        let paging = Paging::from_query(Some("10"), Some("2"));
        let query = vec![
            ("per_page".to_owned(), "10".to_owned()),
            ("page".to_owned(), "2".to_owned()),
        ];
        let link = paging
            .link(35, "http://h", "/repos/o/r/actions/runs", &query)
            .expect("paged");
        assert!(
            link.contains("<http://h/repos/o/r/actions/runs?per_page=10&page=3>; rel=\"next\""),
            "{link}"
        );
        assert!(link.contains("page=4>; rel=\"last\""), "{link}");
        assert!(
            link.contains("page=1>; rel=\"prev\"") && link.contains("page=1>; rel=\"first\""),
            "{link}"
        );
        assert_eq!(
            paging.slice(&(0..35).collect::<Vec<_>>()),
            &[10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
        );
        assert_eq!(Paging::from_query(Some("500"), None).per_page, 100);
        assert_eq!(
            Paging::from_query(None, None).link(30, "h", "/p", &[]),
            None
        );
    }
}
