//! Environment gates of a workflow run: what a waiting run waits for
//! (`GET …/pending_deployments`), reviewing it (`POST …/pending_deployments`: approve or
//! reject; 403 for an App token, which GitHub does not let review; 422 when nothing is pending
//! or the caller may not review), and the review history (`GET …/approvals`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::http::{ApiError, ApiResult, ok};
use crate::models::{deploy, gates};
use crate::routes::{Caller, find_repo, find_repo_mut, id, object_body};
use crate::scenario::ReviewState;
use crate::state::AppState;
use crate::state::gate::Review;

const DOCS: &str = "actions/workflow-runs#review-pending-deployments-for-a-workflow-run";

pub fn router() -> Router<AppState> {
    let run = "/repos/{owner}/{repo}/actions/runs/{run_id}";
    Router::new()
        .route(
            &format!("{run}/pending_deployments"),
            get(pending).post(review),
        )
        .route(&format!("{run}/approvals"), get(history))
}

/// The repository and run of the path, or GitHub's 404.
fn find_run<'a>(
    world: &'a crate::state::World,
    owner: &str,
    repo: &str,
    run_id: &str,
) -> Result<(&'a crate::state::RepoState, &'a crate::state::runs::Run), ApiError> {
    let repo = find_repo(world, owner, repo)?;
    let run = repo.run(id(run_id)?).ok_or_else(ApiError::not_found)?;
    Ok((repo, run))
}

async fn pending(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    let now = st.clock.now();
    let world = st.world();
    let (repo, run) = find_run(&world, &owner, &repo, &run_id)?;
    let attempt = run.latest();
    let mut out = Vec::new();
    if let Some(gate) = attempt.gate.as_ref().filter(|_| attempt.is_waiting(now)) {
        let opened = attempt.started_at();
        let undecided = gate.decision(opened).is_none_or(|r| r.at > now);
        let can = undecided && gate.can_review(&caller.login, &run.actor, caller.integration);
        out.push(gates::pending(&st.base_url, repo, gate, opened, can));
    }
    Ok(ok(&Value::Array(out)))
}

/// The body of a review: `environment_ids`, `state` and `comment` are all required.
fn parse_review(bytes: &Bytes) -> Result<(Vec<u64>, ReviewState, String), ApiError> {
    let body = object_body(bytes)?;
    let missing = |field: &str| {
        ApiError::unprocessable(format!("Invalid request.\n\n\"{field}\" wasn't supplied."))
            .docs(DOCS)
    };
    let invalid = |field: &str| {
        ApiError::unprocessable(format!(
            "Invalid request.\n\nInvalid value for \"{field}\"."
        ))
        .docs(DOCS)
    };
    let ids = body
        .get("environment_ids")
        .ok_or_else(|| missing("environment_ids"))?;
    let ids: Vec<u64> = ids
        .as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect())
        .ok_or_else(|| invalid("environment_ids"))?;
    let state = body.get("state").ok_or_else(|| missing("state"))?;
    let state = state
        .as_str()
        .and_then(ReviewState::parse)
        .ok_or_else(|| invalid("state"))?;
    let comment = body.get("comment").ok_or_else(|| missing("comment"))?;
    let comment = comment
        .as_str()
        .ok_or_else(|| invalid("comment"))?
        .to_owned();
    Ok((ids, state, comment))
}

async fn review(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let (ids, state, comment) = parse_review(&bytes)?;
    if caller.integration {
        // `enabledForGitHubApps: false` in GitHub's description of this operation.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
        )
        .docs(DOCS));
    }
    let now = st.clock.now();
    let mut world = st.world();
    let repo = find_repo_mut(&mut world, &owner, &repo)?;
    let run_id = id(&run_id)?;
    let run = repo.run_mut(run_id).ok_or_else(ApiError::not_found)?;
    let actor = run.actor.clone();
    let attempt = run.latest_mut();
    let waiting = attempt.is_waiting(now);
    let opened = attempt.started_at();
    let nothing = || {
        ApiError::unprocessable("No pending deployment requests to approve or reject").docs(DOCS)
    };
    let gate = attempt
        .gate
        .as_mut()
        .filter(|_| waiting)
        .ok_or_else(nothing)?;
    let undecided = gate.decision(opened).is_none_or(|r| r.at > now);
    if ids.is_empty() || ids.iter().any(|i| *i != gate.environment_id) || !undecided {
        return Err(nothing());
    }
    if !gate.can_review(&caller.login, &actor, false) {
        let message = format!(
            "{} is not allowed to review deployments to {}",
            caller.login, gate.spec.name
        );
        return Err(ApiError::unprocessable(message).docs(DOCS));
    }
    gate.posted.push(Review {
        state,
        by: caller.login.clone(),
        comment,
        at: now,
    });
    let deployment = gate.deployment;
    let full = repo.full_name().to_owned();
    let answer: Vec<Value> = deployment
        .and_then(|d| repo.deployments.iter().find(|x| x.id == d))
        .map(|d| deploy::deployment(&st.base_url, &full, d))
        .into_iter()
        .collect();
    Ok(ok(&Value::Array(answer)))
}

async fn history(
    State(st): State<AppState>,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
) -> ApiResult {
    let now = st.clock.now();
    let world = st.world();
    let (repo, run) = find_run(&world, &owner, &repo, &run_id)?;
    let reviews: Vec<Value> = run
        .attempts
        .iter()
        .filter_map(|attempt| {
            let gate = attempt.gate.as_ref()?;
            let decided = gate.decision(attempt.started_at())?;
            // A review only happened if it came while the run still waited for it.
            (decided.at <= now && decided.at <= attempt.outcome().0)
                .then(|| gates::review(&st.base_url, repo, gate, &decided))
        })
        .collect();
    Ok(ok(&Value::Array(reviews)))
}
