//! The bare HTTP leg of the GitHub client: one request out, one [`Response`] in, with the
//! headers orchestrate always sends and the ones it reads back (ETag, `Link`, `Location`,
//! rate limits, `Date`). No auth logic, no retries: [`crate::Client`] adds those, and the App
//! token minting (`auth.rs`) uses this leg directly. Also the one recipe for orchestrate's HTTPS
//! clients.

use std::sync::Arc;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::client::{ApiVersion, ClientConfig, Method, Response};
use crate::error::{Error, Result};
use crate::pacing::RateHeaders;
use crate::stats::RequestStats;

/// Sends requests: no auth logic, no retries. Used by [`crate::Client`] and to mint App tokens.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) base: url::Url,
    pub(crate) version: ApiVersion,
    pub(crate) stats: Arc<RequestStats>,
}

impl Transport {
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<&HeaderValue>,
        extra: &[(HeaderName, HeaderValue)],
        body: Option<&serde_json::Value>,
    ) -> std::result::Result<Response, reqwest::Error> {
        let url = format!("{}{}", self.base.as_str().trim_end_matches('/'), path);
        let mut builder = self
            .http
            .request(method.to_reqwest(), url)
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", self.version.as_str());
        if let Some(auth) = auth {
            builder = builder.header(header::AUTHORIZATION, auth.clone());
        }
        for (name, value) in extra {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let rate = rate_headers(headers);
        let etag = text("etag");
        let link = text("link");
        let location = text("location");
        let body = response.text().await?;
        self.stats.record(status, rate);
        tracing::debug!(method = method.as_str(), path, status, "github request");
        Ok(Response {
            status,
            body,
            etag,
            link,
            location,
            rate,
            from_cache: false,
        })
    }
}

/// The rate-limit facts of a response's headers, and GitHub's clock (`Date`) to measure the
/// reset against.
pub(crate) fn rate_headers(headers: &HeaderMap) -> RateHeaders {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let number = |name: &str| text(name).and_then(|v| v.trim().parse::<u64>().ok());
    RateHeaders {
        limit: number("x-ratelimit-limit"),
        remaining: number("x-ratelimit-remaining"),
        reset: number("x-ratelimit-reset").map(|r| r as i64),
        retry_after: number("retry-after"),
        date: text("date").and_then(http_date),
    }
}

/// An HTTP `Date` (`Tue, 15 Nov 1994 08:12:31 GMT`) as epoch seconds.
fn http_date(value: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.timestamp())
}

/// The one recipe for orchestrate's HTTPS clients: bundled webpki roots (the action's image has
/// no OS certificate store), rustls with ring, and the `orchestrate/<version>` user agent. The
/// GitHub client adds its timeouts and redirect policy; the binary's notification and health
/// check client uses it as it is.
pub fn https_client_builder() -> reqwest::ClientBuilder {
    // The binary installs ring at start; installing it here too keeps the library usable on
    // its own (tests, the emulator). An error only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    reqwest::Client::builder()
        .user_agent(concat!("orchestrate/", env!("CARGO_PKG_VERSION")))
        .tls_certs_only(roots)
}

/// The GitHub client's reqwest client: no redirects unless asked, the configured timeouts.
pub(crate) fn http_client(config: &ClientConfig, redirects: bool) -> Result<reqwest::Client> {
    let policy = if redirects {
        reqwest::redirect::Policy::limited(5)
    } else {
        reqwest::redirect::Policy::none()
    };
    https_client_builder()
        .redirect(policy)
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the http client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_headers_read_the_budget_and_githubs_clock() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1767225630"),
            ("retry-after", "7"),
            ("date", "Thu, 01 Jan 2026 00:00:00 GMT"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        assert_eq!(
            rate_headers(&headers),
            RateHeaders {
                limit: Some(5000),
                remaining: Some(0),
                reset: Some(1_767_225_630),
                retry_after: Some(7),
                date: Some(1_767_225_600),
            }
        );
        assert_eq!(http_date("not a date"), None);
    }
}
