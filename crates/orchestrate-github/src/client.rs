//! The HTTP client for GitHub's REST API: the request and response types, and [`Client::send`]
//! which adds auth, conditional requests (the cache is `etag.rs`), rate-limit waits (the gate is
//! `gate.rs`), GET retries with backoff and same-host redirects (renamed repositories) to the
//! bare HTTP leg in `transport.rs`.
//!
//! Transport is reqwest, not octocrab, although octocrab was the first choice: octocrab 0.54's
//! default client always *appends* `User-Agent: octocrab` (its `ExtraHeadersLayer` appends after
//! any header we set, so `orchestrate/<version>` could only be sent as a second value), its
//! `build_request` appends `X-GitHub-Api-Version: 2022-11-28` to every request, its
//! follow-redirect layer follows the artifact 302 itself (we need the `Location` and a bounded
//! body), and with App auth it only sends tokens to `api.github.com`, while we mint one token
//! per owner. What remained of octocrab would have been a thin `execute` call; octocrab still
//! signs the GitHub App JWT (see `auth.rs`). Sibling modules (`issues.rs`) use [`Client::send`]
//! and [`Client::json`] for authenticated JSON GET/POST/PATCH.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderValue};
use serde::de::DeserializeOwned;

use crate::auth::{Auth, Credentials};
use crate::error::{Error, Purpose, Result, remedy};
use crate::etag::{EtagCache, MAX_CACHED};
use crate::gate::RateGate;
use crate::link;
use crate::pacing::{RateHeaders, RetryPolicy, rate_limit_retry_wait, reset_local};
use crate::stats::RequestStats;
pub use crate::transport::https_client_builder;
pub(crate) use crate::transport::{Transport, http_client};
use crate::types::Repo;

/// Called with every newly minted GitHub App installation token before its first use, so the
/// binary can mask it (`::add-mask::`) before anything could print it.
pub type SecretHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The `X-GitHub-Api-Version` sent with every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// Dispatch answers 204, or 200 with run details when asked (`return_run_details`).
    #[default]
    V2022_11_28,
    /// Dispatch always answers 200 with run details; `return_run_details` must not be sent.
    V2026_03_10,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2022_11_28 => "2022-11-28",
            ApiVersion::V2026_03_10 => "2026-03-10",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "2022-11-28" => Some(ApiVersion::V2022_11_28),
            "2026-03-10" => Some(ApiVersion::V2026_03_10),
            _ => None,
        }
    }
}

/// Everything needed to talk to one GitHub host.
#[derive(Clone)]
pub struct ClientConfig {
    /// `GITHUB_API_URL`: `https://api.github.com`, `https://host/api/v3`, or an emulator.
    pub api_url: String,
    pub credentials: Credentials,
    pub api_version: ApiVersion,
    pub retry: RetryPolicy,
    /// Whole-request limit; a dispatch that hits it is treated as ambiguous, never re-sent.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Clock skew allowed between us and GitHub when filtering runs by creation time.
    pub clock_skew: Duration,
    /// After an ambiguous dispatch, how long to look for its run before concluding there is none.
    pub dispatch_lookup: Duration,
    /// Interval between those looks.
    pub dispatch_lookup_interval: Duration,
    /// Sees every installation token minted for a GitHub App, once, before it is sent.
    pub on_secret: Option<SecretHook>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_url", &self.api_url)
            .field("credentials", &self.credentials)
            .field("api_version", &self.api_version)
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("clock_skew", &self.clock_skew)
            .field("dispatch_lookup", &self.dispatch_lookup)
            .field("dispatch_lookup_interval", &self.dispatch_lookup_interval)
            .field("on_secret", &self.on_secret.as_ref().map(|_| "Fn(&str)"))
            .finish()
    }
}

impl ClientConfig {
    pub fn new(api_url: impl Into<String>, credentials: Credentials) -> Self {
        ClientConfig {
            api_url: api_url.into(),
            credentials,
            api_version: ApiVersion::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            clock_skew: Duration::from_secs(120),
            dispatch_lookup: Duration::from_secs(20),
            dispatch_lookup_interval: Duration::from_secs(2),
            on_secret: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// A response, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
    pub etag: Option<String>,
    pub link: Option<String>,
    pub location: Option<String>,
    pub rate: RateHeaders,
    /// A 304 answered from the ETag cache (the body is the cached one).
    pub from_cache: bool,
}

impl Response {
    /// GitHub's `message` field, or the start of the body.
    pub fn message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Body {
            message: Option<String>,
        }
        serde_json::from_str::<Body>(&self.body)
            .ok()
            .and_then(|b| b.message)
            .unwrap_or_else(|| self.body.chars().take(200).collect())
    }
}

/// One request to make.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: Method,
    pub repo: &'a Repo,
    /// Path and query relative to the API base, e.g. `/repos/o/r/actions/runs?per_page=100`.
    pub path: String,
    pub body: Option<serde_json::Value>,
    /// The permission the request needs, for the remedy of a refusal.
    pub permission: &'static str,
    pub workflow: Option<&'a str>,
    /// GET only: send `If-None-Match` and answer a 304 from the cache.
    pub conditional: bool,
    /// Re-send after a 5xx or a network error. Always true for GETs; for writes only when they
    /// are idempotent (cancel, a deployment status): a dispatch is never re-sent blindly.
    pub resend: bool,
    /// Non-2xx statuses returned as `Ok` for the caller to interpret (409 on cancel, …).
    pub accept: &'a [u16],
}

impl<'a> Request<'a> {
    pub fn get(repo: &'a Repo, path: impl Into<String>) -> Self {
        Request {
            method: Method::Get,
            repo,
            path: path.into(),
            body: None,
            permission: "actions: read",
            workflow: None,
            conditional: false,
            resend: true,
            accept: &[],
        }
    }

    /// A write (POST/PATCH/DELETE): never re-sent after a 5xx or a network error unless
    /// marked [`Request::idempotent`].
    pub fn write(
        method: Method,
        repo: &'a Repo,
        path: impl Into<String>,
        body: Option<serde_json::Value>,
    ) -> Self {
        Request {
            method,
            body,
            resend: false,
            permission: "actions: write",
            ..Request::get(repo, path)
        }
    }

    pub fn permission(mut self, permission: &'static str) -> Self {
        self.permission = permission;
        self
    }

    pub fn conditional(mut self) -> Self {
        self.conditional = self.method == Method::Get;
        self
    }

    pub fn idempotent(mut self) -> Self {
        self.resend = true;
        self
    }

    pub fn accept(mut self, statuses: &'a [u16]) -> Self {
        self.accept = statuses;
        self
    }

    pub fn workflow(mut self, workflow: &'a str) -> Self {
        self.workflow = Some(workflow);
        self
    }
}

/// Redirects followed for one request (a renamed repository needs one).
const MAX_REDIRECTS: u32 = 3;

/// The authenticated REST client. One per GitHub host.
pub struct Client {
    pub(crate) transport: Transport,
    auth: Auth,
    pub(crate) config: ClientConfig,
    etags: EtagCache,
    gate: RateGate,
    /// Whether this host honours `return_run_details` (None: not known yet).
    pub(crate) run_details: Mutex<Option<bool>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.config.api_url)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self> {
        let base = url::Url::parse(config.api_url.trim()).map_err(|_| {
            Error::Config(format!("GITHUB_API_URL is not a URL: {}", config.api_url))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "GITHUB_API_URL must be http(s): {}",
                config.api_url
            )));
        }
        let transport = Transport {
            http: http_client(&config, false)?,
            base,
            version: config.api_version,
            stats: Arc::new(RequestStats::default()),
        };
        Ok(Client {
            transport,
            auth: Auth::new(&config.credentials, config.on_secret.clone())?,
            config,
            etags: EtagCache::new(MAX_CACHED),
            gate: RateGate::default(),
            run_details: Mutex::new(None),
        })
    }

    pub fn request_stats(&self) -> &Arc<RequestStats> {
        &self.transport.stats
    }

    pub fn base_url(&self) -> &url::Url {
        &self.transport.base
    }

    pub fn api_version(&self) -> ApiVersion {
        self.config.api_version
    }

    /// The path of the next page of a list, if there is one. A `Link` to another host is an
    /// error: the token is only ever sent to the configured API.
    pub(crate) fn next_page(&self, response: &Response) -> Result<Option<String>> {
        let Some(next) = response.link.as_deref().and_then(link::next_link) else {
            return Ok(None);
        };
        link::relative_to_base(&next, self.base_url())
            .map(Some)
            .map_err(|host| Error::ForeignHost {
                what: "a pagination link",
                host,
            })
    }

    /// The path of a redirect's `Location` under the configured API; another host is an error
    /// (the token is only ever sent to the configured API).
    fn redirect_path(&self, location: &str) -> Result<String> {
        let foreign = |host: String| Error::ForeignHost {
            what: "a redirect",
            host,
        };
        let target = self
            .base_url()
            .join(location)
            .map_err(|_| foreign(location.to_owned()))?;
        link::relative_to_base(target.as_str(), self.base_url()).map_err(foreign)
    }

    /// The `Authorization` header for a repository (artifact downloads send it themselves).
    pub(crate) async fn auth_header(&self, repo: &Repo) -> Result<Option<HeaderValue>> {
        self.auth
            .header(&self.transport, &repo.owner, &repo.name)
            .await
    }

    /// Send and decode a 2xx JSON body.
    pub async fn json<T: DeserializeOwned>(&self, request: Request<'_>) -> Result<T> {
        let path = request.path.clone();
        let response = self.send(request).await?;
        serde_json::from_str(&response.body).map_err(|source| Error::Decode { path, source })
    }

    /// Forget every cached ETag and body: the next conditional requests are sent without
    /// `If-None-Match` (and cost a request each).
    pub fn clear_etag_cache(&self) {
        self.etags.clear();
    }

    /// Send one request: `Ok` for 2xx, a 304 served from cache, and the statuses in `accept`;
    /// `Err` with GitHub's message and a remedy otherwise.
    pub async fn send(&self, mut request: Request<'_>) -> Result<Response> {
        let mut redirects = 0u32;
        let mut failures = 0u32;
        let mut rate_waits = 0u32;
        let mut reauthed = false;
        // Set when a 304 arrived for a body the cache no longer holds: the next send asks
        // for the whole body instead.
        let mut unconditional = false;
        loop {
            self.pass_gate(request.repo, &request.path).await?;
            let auth = self.auth_header(request.repo).await?;
            let mut extra = Vec::new();
            let cached_etag = if request.conditional && !unconditional {
                self.etags.etag(&request.path)
            } else {
                None
            };
            if let Some(etag) = &cached_etag
                && let Ok(value) = HeaderValue::from_str(etag)
            {
                extra.push((header::IF_NONE_MATCH, value));
            }
            let sent = self
                .transport
                .send(
                    request.method,
                    &request.path,
                    auth.as_ref(),
                    &extra,
                    request.body.as_ref(),
                )
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(source) => {
                    if request.resend && failures + 1 < self.config.retry.max_attempts {
                        self.backoff(&mut failures).await;
                        continue;
                    }
                    return Err(Error::Network {
                        method: request.method.as_str(),
                        path: request.path,
                        source,
                    });
                }
            };
            if response.status == 304 && cached_etag.is_some() {
                if let Some(hit) = self.etags.hit(&request.path, response.clone()) {
                    return Ok(hit);
                }
                // Evicted between sending the validator and the answer: a 304 is free, so
                // asking again without it costs one ordinary request.
                if !unconditional {
                    unconditional = true;
                    self.transport.stats.record_retry();
                    continue;
                }
            }
            // A renamed or transferred repository answers 301 (307 for writes) with its new
            // address under the same API; the request was not acted on, so it is repeated there.
            if matches!(response.status, 301 | 302 | 307 | 308)
                && redirects < MAX_REDIRECTS
                && let Some(location) = &response.location
            {
                request.path = self.redirect_path(location)?;
                redirects += 1;
                continue;
            }
            if (200..300).contains(&response.status) || request.accept.contains(&response.status) {
                if request.conditional {
                    self.etags.store(&request.path, &response);
                }
                return Ok(response);
            }
            let message = response.message();
            let local_now = chrono::Utc::now();
            // A rate-limit refusal means the request was not acted on: waiting and re-sending
            // is safe for every method, a POST included.
            if let Some(wait) = rate_limit_retry_wait(
                response.status,
                &message,
                &response.rate,
                local_now.timestamp(),
                rate_waits,
            ) {
                // Closed even when the wait is too long to take here: the requests that follow
                // fail fast instead of hammering GitHub while it refuses them.
                self.close_gate(request.repo, wait);
                if wait > self.config.retry.max_rate_limit_wait
                    || rate_waits >= self.config.retry.max_attempts
                {
                    let reset = reset_local(&response.rate, local_now).or_else(|| {
                        local_now.checked_add_signed(chrono::Duration::from_std(wait).ok()?)
                    });
                    return Err(Error::RateLimited {
                        path: request.path,
                        reset_at: reset,
                    });
                }
                rate_waits += 1;
                tracing::warn!(path = %request.path, wait_secs = wait.as_secs(), "rate limited by GitHub; waiting");
                self.transport.stats.record_retry();
                continue;
            }
            // An expired installation token: mint a new one once. A 401 was not acted on either.
            if response.status == 401 && self.auth.is_app() && !reauthed {
                reauthed = true;
                self.auth.invalidate(&request.repo.owner).await;
                self.transport.stats.record_retry();
                continue;
            }
            if response.status >= 500
                && request.resend
                && failures + 1 < self.config.retry.max_attempts
            {
                self.backoff(&mut failures).await;
                continue;
            }
            let purpose = Purpose {
                repo: Some(request.repo.to_string()),
                permission: Some(request.permission),
                workflow: request.workflow.map(str::to_owned),
            };
            return Err(Error::Http {
                method: request.method.as_str(),
                remedy: remedy(response.status, &message, &purpose),
                path: request.path,
                status: response.status,
                message,
            });
        }
    }

    async fn backoff(&self, failures: &mut u32) {
        let wait = self.config.retry.backoff(*failures, rand::random::<f64>());
        *failures += 1;
        self.transport.stats.record_retry();
        tokio::time::sleep(wait).await;
    }

    /// Whose rate limit a request about `repo` spends.
    fn gate_key(&self, repo: &Repo) -> String {
        if self.auth.is_app() {
            repo.owner.clone()
        } else {
            String::new()
        }
    }

    /// Wait out a rate limit before sending a request about `repo`, or fail at once when the
    /// wait is longer than the client takes silently (GitHub would refuse the request anyway,
    /// and "continuing while limited may result in the banning of your integration").
    pub(crate) async fn pass_gate(&self, repo: &Repo, path: &str) -> Result<()> {
        let Some((until, left)) = self.gate.closed_for(&self.gate_key(repo)) else {
            return Ok(());
        };
        if left > self.config.retry.max_rate_limit_wait {
            return Err(Error::RateLimited {
                path: path.to_owned(),
                reset_at: chrono::Utc::now()
                    .checked_add_signed(chrono::Duration::from_std(left).unwrap_or_default()),
            });
        }
        tokio::time::sleep_until(until).await;
        Ok(())
    }

    fn close_gate(&self, repo: &Repo, wait: Duration) {
        self.gate.close(&self.gate_key(repo), wait);
    }
}
