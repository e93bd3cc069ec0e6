//! Workflow runs: lists with filters and pagination, one run, attempts, jobs, cancel, re-run
//! and logs.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::http::{ApiError, ApiResult, ListPage, json_response, ok, param, set_location};
use crate::models::actions;
use crate::routes::{created, find_repo, find_repo_mut, full_name, id, query_pairs};
use crate::state::jobs::jobs_at;
use crate::state::runs::Run;
use crate::state::{AppState, RepoState};

pub fn router() -> Router<AppState> {
    let runs = "/repos/{owner}/{repo}/actions/runs";
    Router::new()
        .route(runs, get(list_repo))
        .route(
            "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
            get(list_workflow),
        )
        .route(&format!("{runs}/{{run_id}}"), get(show))
        .route(
            &format!("{runs}/{{run_id}}/attempts/{{attempt}}"),
            get(show_attempt),
        )
        .route(&format!("{runs}/{{run_id}}/jobs"), get(jobs))
        .route(
            &format!("{runs}/{{run_id}}/attempts/{{attempt}}/jobs"),
            get(attempt_jobs),
        )
        .route("/repos/{owner}/{repo}/actions/jobs/{job_id}", get(job))
        .route(&format!("{runs}/{{run_id}}/cancel"), post(cancel))
        .route(&format!("{runs}/{{run_id}}/force-cancel"), post(cancel))
        .route(&format!("{runs}/{{run_id}}/rerun"), post(rerun))
        .route(
            &format!("{runs}/{{run_id}}/rerun-failed-jobs"),
            post(rerun_failed),
        )
        .route(&format!("{runs}/{{run_id}}/logs"), get(logs))
}

async fn list_repo(
    st: State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list(&st, &full_name(&owner, &repo), None, raw)
}

async fn list_workflow(
    st: State<AppState>,
    Path((owner, repo, workflow)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    list(&st, &full_name(&owner, &repo), Some(workflow), raw)
}

fn list(st: &AppState, repo: &str, workflow: Option<String>, raw: Option<String>) -> ApiResult {
    let query = query_pairs(raw);
    let now = st.clock.now();
    let world = st.world();
    let repo = world.repo(repo).ok_or_else(ApiError::not_found)?;
    let workflow_index = match &workflow {
        Some(w) => Some(repo.workflow_index(w).ok_or_else(ApiError::not_found)?),
        None => None,
    };
    let created = match param(&query, "created") {
        Some(value) => Some(created::parse(value).ok_or_else(|| {
            ApiError::unprocessable("Validation Failed").with_errors(json!([{
                "resource": "WorkflowRun", "field": "created", "code": "invalid", "value": value,
            }]))
        })?),
        None => None,
    };
    let text = |name: &str| param(&query, name).filter(|v| !v.is_empty());
    let mut runs: Vec<&Run> = repo
        .runs
        .iter()
        .filter(|r| r.listed_at <= now)
        .filter(|r| workflow_index.is_none_or(|w| r.workflow_index == w))
        .filter(|r| text("event").is_none_or(|e| r.event == e))
        .filter(|r| text("branch").is_none_or(|b| r.head_branch == b))
        .filter(|r| text("head_sha").is_none_or(|s| r.head_sha == s))
        .filter(|r| text("actor").is_none_or(|a| r.actor.eq_ignore_ascii_case(a)))
        .filter(|r| text("status").is_none_or(|s| r.matches_status(s, now)))
        .filter(|r| text("check_suite_id").is_none_or(|c| r.check_suite_id.to_string() == c))
        .filter(|r| created.is_none_or(|c| c.contains(r.created_at)))
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.id));
    let path = match &workflow {
        Some(w) => format!("/repos/{}/actions/workflows/{w}/runs", repo.full_name()),
        None => format!("/repos/{}/actions/runs", repo.full_name()),
    };
    let list = ListPage::new(&query, &st.base_url, &path).wrapped("workflow_runs");
    Ok(list.respond(&runs, |r| {
        actions::workflow_run(&st.base_url, repo, r, None, now)
    }))
}

fn find<'a>(repo: &'a RepoState, run_id: &str) -> Result<&'a Run, ApiError> {
    repo.run(id(run_id)?).ok_or_else(ApiError::not_found)
}

async fn show(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    let now = st.clock.now();
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let run = find(repo, &run_id)?;
    Ok(ok(&actions::workflow_run(
        &st.base_url,
        repo,
        run,
        None,
        now,
    )))
}

async fn show_attempt(
    State(st): State<AppState>,
    Path((owner, repo, run_id, attempt)): Path<(String, String, String, String)>,
) -> ApiResult {
    let now = st.clock.now();
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let run = find(repo, &run_id)?;
    let number = u32::try_from(id(&attempt)?).map_err(|_| ApiError::not_found())?;
    run.attempt(number).ok_or_else(ApiError::not_found)?;
    Ok(ok(&actions::workflow_run(
        &st.base_url,
        repo,
        run,
        Some(number),
        now,
    )))
}

async fn jobs(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = query_pairs(raw);
    let all = param(&query, "filter") == Some("all");
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let run = find(repo, &run_id)?;
    let attempts: Vec<u32> = if all {
        run.attempts.iter().map(|a| a.number).collect()
    } else {
        vec![run.latest().number]
    };
    let path = format!("/repos/{}/actions/runs/{}/jobs", repo.full_name(), run.id);
    Ok(job_page(&st, repo, run, &attempts, &query, &path))
}

async fn attempt_jobs(
    State(st): State<AppState>,
    Path((owner, repo, run_id, attempt)): Path<(String, String, String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = query_pairs(raw);
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let run = find(repo, &run_id)?;
    let number = u32::try_from(id(&attempt)?).map_err(|_| ApiError::not_found())?;
    run.attempt(number).ok_or_else(ApiError::not_found)?;
    let path = format!(
        "/repos/{}/actions/runs/{}/attempts/{number}/jobs",
        repo.full_name(),
        run.id
    );
    Ok(job_page(&st, repo, run, &[number], &query, &path))
}

fn job_page(
    st: &AppState,
    repo: &RepoState,
    run: &Run,
    attempts: &[u32],
    query: &[(String, String)],
    path: &str,
) -> Response {
    let now = st.clock.now();
    let mut all: Vec<_> = attempts
        .iter()
        .filter_map(|n| run.attempt(*n))
        .flat_map(|a| jobs_at(a, now))
        .collect();
    // A job carried over by "re-run failed jobs" belongs to several attempts but ran once.
    let mut seen = std::collections::BTreeSet::new();
    all.retain(|job| seen.insert(job.id));
    let list = ListPage::new(query, &st.base_url, path).wrapped("jobs");
    list.respond(&all, |j| actions::job(&st.base_url, repo, run, j))
}

async fn job(
    State(st): State<AppState>,
    Path((owner, repo, job_id)): Path<(String, String, String)>,
) -> ApiResult {
    let wanted = id(&job_id)?;
    let now = st.clock.now();
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    for run in &repo.runs {
        for attempt in run.attempts.iter().filter(|a| a.job_ids.contains(&wanted)) {
            if let Some(view) = jobs_at(attempt, now).into_iter().find(|j| j.id == wanted) {
                return Ok(ok(&actions::job(&st.base_url, repo, run, &view)));
            }
        }
    }
    Err(ApiError::not_found())
}

async fn cancel(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    let now = st.clock.now();
    let mut world = st.world();
    let repo = find_repo_mut(&mut world, &owner, &repo)?;
    let run = repo.run_mut(id(&run_id)?).ok_or_else(ApiError::not_found)?;
    if !run.cancel(now) {
        let message = "Cannot cancel a workflow run that is completed.";
        return Err(ApiError::new(StatusCode::CONFLICT, message)
            .docs("actions/workflow-runs#cancel-a-workflow-run"));
    }
    Ok(json_response(StatusCode::ACCEPTED, &json!({})))
}

async fn rerun(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    start_attempt(&st, &owner, &repo, &run_id, false)
}

async fn rerun_failed(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    start_attempt(&st, &owner, &repo, &run_id, true)
}

fn start_attempt(
    st: &AppState,
    owner: &str,
    repo: &str,
    run_id: &str,
    failed_only: bool,
) -> ApiResult {
    let now = st.clock.now();
    let mut world = st.world();
    let full = find_repo(&world, owner, repo)?.full_name().to_owned();
    match world.rerun(&full, id(run_id)?, now, failed_only) {
        None => Err(ApiError::not_found()),
        Some(false) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "This workflow is already running",
        )
        .docs("actions/workflow-runs#re-run-a-workflow")),
        Some(true) => Ok(json_response(StatusCode::CREATED, &json!({}))),
    }
}

async fn logs(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    let world = st.world();
    let repo = find_repo(&world, &owner, &repo)?;
    let run = find(repo, &run_id)?;
    // The link expires after one minute of emulated time, like GitHub's signed log URL.
    let expires = (st.clock.now() + chrono::Duration::seconds(60)).timestamp();
    let location = format!(
        "{}/_logs/{}/{}?expires={expires}",
        st.base_url,
        repo.full_name(),
        run.id
    );
    let mut response = StatusCode::FOUND.into_response();
    set_location(&mut response, &location);
    Ok(response)
}
