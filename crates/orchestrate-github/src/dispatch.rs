//! Starting runs (`workflow_dispatch`, `repository_dispatch`) so that the run awaited is the run
//! dispatched, and finding a dispatched run by its correlation id.
//!
//! The rules, in order:
//! 1. Ask for run details (`return_run_details: true`, or API version 2026-03-10 where the 200
//!    is the only answer). A 200 carries `workflow_run_id`: done.
//! 2. A 400 or 422 that names `return_run_details` (older GHES) is a refusal: nothing was
//!    created, so the host is remembered as lacking the capability and the dispatch is sent
//!    again without the field and with a correlation id (the fallback needs it).
//! 3. A 204 carries no run id. With a correlation id sent, the run is found later by matching
//!    `display_title` among runs created after the dispatch; without one, the run cannot be
//!    identified and that is an error, never a guess at "the newest run".
//! 4. A timeout, a network error or a 5xx is ambiguous: the run may exist. The POST is never
//!    re-sent blindly. With a correlation id, orchestrate looks for the run for
//!    `dispatch_lookup`; found, it is the run; not found, the dispatch is sent once more with
//!    the same id (should the first run appear late after all, two runs carry the id and the
//!    watcher reports that instead of picking one). Without a correlation id nothing can tell,
//!    so the error says so and nothing is re-sent.
//!
//! The id is sent only when the caller says the target declares it (`correlate`), or when the
//! fallback needs it: GitHub answers 422 to an input the workflow does not declare.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::client::{ApiVersion, Client, Method, Request};
use crate::correlate::{self, INPUT_NAME};
use crate::error::{Error, Result};
use crate::models::{DispatchResponse, RunList};
use crate::types::{
    Correlation, DispatchRequest, Dispatched, RepositoryDispatchRequest, RunRef, RunSummary,
};

/// Pages read when looking for a correlated run (100 runs each).
const MAX_LOOKUP_PAGES: usize = 5;

pub(crate) fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `created` filter value: `>=` and whole seconds, so the URL stays stable between polls.
pub(crate) fn created_filter(since: DateTime<Utc>) -> String {
    enc(&format!(">={}", since.format("%Y-%m-%dT%H:%M:%SZ")))
}

/// The `branch` filter for a dispatch `ref`: runs list `head_branch` as the short name, while
/// the dispatch accepts `refs/heads/main` and `refs/tags/v1` as well as `main` and `v1`.
fn branch_name(git_ref: &str) -> &str {
    git_ref
        .strip_prefix("refs/heads/")
        .or_else(|| git_ref.strip_prefix("refs/tags/"))
        .unwrap_or(git_ref)
}

/// Whether an error leaves it open whether the server acted on the request.
fn is_ambiguous(err: &Error) -> bool {
    match err {
        Error::Network { .. } => true,
        Error::Http { status, .. } => *status >= 500,
        _ => false,
    }
}

impl Client {
    pub(crate) async fn dispatch_workflow(&self, req: &DispatchRequest) -> Result<Dispatched> {
        let v2026 = self.api_version() == ApiVersion::V2026_03_10;
        let known = *self.run_details.lock().unwrap_or_else(|e| e.into_inner());
        let mut ask_details = !v2026 && known != Some(false);
        let mut id = (req.correlate || (!v2026 && known == Some(false))).then(correlate::new_id);
        let mut resent = false;
        loop {
            let dispatched_at = Utc::now();
            let correlation = id
                .as_ref()
                .map(|id| self.correlation_for(req, id, dispatched_at));
            match self.post_dispatch(req, id.as_deref(), ask_details).await {
                Ok(Some(run)) => {
                    if ask_details {
                        self.remember_run_details(true);
                    }
                    return Ok(Dispatched {
                        repo: req.repo.clone(),
                        dispatched_at,
                        run: Some(run),
                        correlation,
                    });
                }
                Ok(None) => {
                    if ask_details {
                        // The host ignored the field: correlate from now on.
                        self.remember_run_details(false);
                    }
                    return match correlation {
                        Some(c) => Ok(Dispatched {
                            repo: req.repo.clone(),
                            dispatched_at,
                            run: None,
                            correlation: Some(c),
                        }),
                        None => Err(Error::DispatchUnidentified {
                            repo: req.repo.to_string(),
                            workflow: req.workflow.clone(),
                        }),
                    };
                }
                // 400 is what old GHES is reported to answer; GitHub's schema validation
                // usually answers 422 with the same "… is not a permitted key" message. Either
                // way the request was refused, so nothing was created.
                Err(Error::Http {
                    status: 400 | 422,
                    ref message,
                    ..
                }) if ask_details && message.contains("return_run_details") => {
                    tracing::info!(repo = %req.repo, "host does not support return_run_details; correlating runs");
                    self.remember_run_details(false);
                    ask_details = false;
                    id.get_or_insert_with(correlate::new_id);
                }
                Err(err) if is_ambiguous(&err) => {
                    let (Some(c), false) = (correlation, resent) else {
                        return Err(Error::DispatchAmbiguous {
                            repo: req.repo.to_string(),
                            workflow: req.workflow.clone(),
                            reason: err.to_string(),
                        });
                    };
                    if let Some(run) = self.look_for_run(&c).await? {
                        return Ok(Dispatched {
                            repo: req.repo.clone(),
                            dispatched_at,
                            run: Some(run),
                            correlation: Some(c),
                        });
                    }
                    tracing::warn!(repo = %req.repo, id = %c.id, "dispatch created no run; sending it once more");
                    resent = true;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn remember_run_details(&self, supported: bool) {
        *self.run_details.lock().unwrap_or_else(|e| e.into_inner()) = Some(supported);
    }

    fn correlation_for(&self, req: &DispatchRequest, id: &str, at: DateTime<Utc>) -> Correlation {
        Correlation {
            repo: req.repo.clone(),
            workflow: req.workflow.clone(),
            git_ref: Some(req.git_ref.clone()),
            event: "workflow_dispatch".to_owned(),
            id: id.to_owned(),
            since: at - self.skew(),
        }
    }

    fn skew(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.config.clock_skew).unwrap_or_default()
    }

    /// One POST. `Ok(Some)` with run details, `Ok(None)` for a 2xx without them.
    async fn post_dispatch(
        &self,
        req: &DispatchRequest,
        id: Option<&str>,
        ask_details: bool,
    ) -> Result<Option<RunRef>> {
        let mut inputs: BTreeMap<&str, &str> = req
            .inputs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(id) = id {
            inputs.insert(INPUT_NAME, id);
        }
        let mut body = serde_json::json!({ "ref": req.git_ref, "inputs": inputs });
        if ask_details {
            body["return_run_details"] = serde_json::Value::Bool(true);
        }
        let path = format!(
            "/repos/{}/{}/actions/workflows/{}/dispatches",
            req.repo.owner,
            req.repo.name,
            enc(&req.workflow)
        );
        let request =
            Request::write(Method::Post, &req.repo, path, Some(body)).workflow(&req.workflow);
        let response = self.send(request).await?;
        if response.status != 200 || response.body.trim().is_empty() {
            return Ok(None);
        }
        let details: DispatchResponse = match serde_json::from_str(&response.body) {
            Ok(details) => details,
            Err(_) => return Ok(None),
        };
        let html_url = details
            .html_url
            .unwrap_or_else(|| format!("{}/actions/runs/{}", req.repo, details.workflow_run_id));
        Ok(Some(RunRef {
            id: details.workflow_run_id,
            html_url,
        }))
    }

    pub(crate) async fn dispatch_repository(
        &self,
        req: &RepositoryDispatchRequest,
    ) -> Result<Dispatched> {
        let mut payload = req.client_payload.clone();
        let id = match payload.get(INPUT_NAME).and_then(|v| v.as_str()) {
            Some(given) => given.to_owned(),
            None => {
                if payload.len() >= 10 {
                    return Err(Error::Config(format!(
                        "client_payload for {} has 10 top-level keys; orchestrate needs one for `{INPUT_NAME}`",
                        req.repo
                    )));
                }
                let id = correlate::new_id();
                payload.insert(INPUT_NAME.to_owned(), serde_json::Value::String(id.clone()));
                id
            }
        };
        let body = serde_json::json!({ "event_type": req.event_type, "client_payload": payload });
        let path = format!("/repos/{}/{}/dispatches", req.repo.owner, req.repo.name);
        let mut resent = false;
        loop {
            let dispatched_at = Utc::now();
            let correlation = Correlation {
                repo: req.repo.clone(),
                workflow: req.workflow.clone(),
                git_ref: None,
                event: "repository_dispatch".to_owned(),
                id: id.clone(),
                since: dispatched_at - self.skew(),
            };
            let request = Request::write(Method::Post, &req.repo, path.clone(), Some(body.clone()))
                .permission("contents: write");
            match self.send(request).await {
                Ok(_) => {
                    return Ok(Dispatched {
                        repo: req.repo.clone(),
                        dispatched_at,
                        run: None,
                        correlation: Some(correlation),
                    });
                }
                Err(err) if is_ambiguous(&err) && !resent => {
                    if let Some(run) = self.look_for_run(&correlation).await? {
                        return Ok(Dispatched {
                            repo: req.repo.clone(),
                            dispatched_at,
                            run: Some(run),
                            correlation: Some(correlation),
                        });
                    }
                    resent = true;
                }
                Err(err) if is_ambiguous(&err) => {
                    return Err(Error::DispatchAmbiguous {
                        repo: req.repo.to_string(),
                        workflow: req.workflow.clone(),
                        reason: err.to_string(),
                    });
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// After an ambiguous answer: look for the run for `dispatch_lookup`.
    async fn look_for_run(&self, c: &Correlation) -> Result<Option<RunRef>> {
        let deadline = tokio::time::Instant::now() + self.config.dispatch_lookup;
        loop {
            match self.find_correlated(c).await {
                Ok(Some(run)) => {
                    return Ok(Some(RunRef {
                        id: run.id,
                        html_url: run.html_url,
                    }));
                }
                Ok(None) => {}
                Err(err)
                    if err.is_refusal() || matches!(err, Error::CorrelationAmbiguous { .. }) =>
                {
                    return Err(err);
                }
                Err(err) => tracing::warn!(error = %err, "looking for a dispatched run failed"),
            }
            if tokio::time::Instant::now() + self.config.dispatch_lookup_interval > deadline {
                return Ok(None);
            }
            tokio::time::sleep(self.config.dispatch_lookup_interval).await;
        }
    }

    /// The run carrying `c.id`, if it exists yet; an error when several do.
    pub(crate) async fn find_correlated(&self, c: &Correlation) -> Result<Option<RunSummary>> {
        let repo = &c.repo;
        let mut path = match &c.git_ref {
            Some(git_ref) => format!(
                "/repos/{}/{}/actions/workflows/{}/runs?event={}&branch={}&created={}&per_page=100",
                repo.owner,
                repo.name,
                enc(&c.workflow),
                enc(&c.event),
                enc(branch_name(git_ref)),
                created_filter(c.since)
            ),
            None => format!(
                "/repos/{}/{}/actions/runs?event={}&created={}&per_page=100",
                repo.owner,
                repo.name,
                enc(&c.event),
                created_filter(c.since)
            ),
        };
        let mut found: Vec<RunSummary> = Vec::new();
        for _ in 0..MAX_LOOKUP_PAGES {
            let response = self
                .send(Request::get(repo, path.clone()).conditional())
                .await?;
            let list: RunList =
                serde_json::from_str(&response.body).map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })?;
            let runs: Vec<RunSummary> = list
                .workflow_runs
                .into_iter()
                .map(RunSummary::from)
                .collect();
            found.extend(
                correlate::matching(&runs, &c.id, c.since)
                    .into_iter()
                    .filter(|r| r.is_of_workflow(&c.workflow))
                    .cloned(),
            );
            match self.next_page(&response)? {
                Some(next) => path = next,
                None => break,
            }
        }
        found.dedup_by_key(|r| r.id);
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(Error::CorrelationAmbiguous {
                repo: repo.to_string(),
                id: c.id.clone(),
                runs: found.into_iter().map(|r| r.html_url).collect(),
            }),
        }
    }
}
