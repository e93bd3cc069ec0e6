//! JSON for workflows, workflow runs and jobs.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::models::{minimal_repository, node_id, repo_html, repo_url, user};
use crate::state::RepoState;
use crate::state::jobs::JobView;
use crate::state::runs::Run;

/// `workflow` for the workflow at `index` of `repo`.
pub fn workflow(base: &str, repo: &RepoState, index: usize) -> Value {
    let spec = &repo.spec.workflows[index];
    let id = repo.workflow_ids[index];
    let html = repo_html(base, repo.full_name());
    let created = rfc3339(repo.created_at);
    json!({
        "id": id,
        "node_id": node_id("Workflow", id),
        "name": spec.display_name(),
        "path": format!(".github/workflows/{}", spec.file),
        "state": "active",
        "created_at": created,
        "updated_at": created,
        "url": format!("{}/actions/workflows/{id}", repo_url(base, repo.full_name())),
        "html_url": format!("{html}/blob/{}/.github/workflows/{}", repo.spec.default_branch, spec.file),
        "badge_url": format!("{html}/workflows/{}/badge.svg", spec.display_name()),
    })
}

/// `workflow-run` for `run` as of attempt `attempt` (the latest when `None`) at `now`.
pub fn workflow_run(
    base: &str,
    repo: &RepoState,
    run: &Run,
    attempt: Option<u32>,
    now: DateTime<Utc>,
) -> Value {
    let current = attempt
        .and_then(|n| run.attempt(n))
        .unwrap_or_else(|| run.latest());
    let phase = current.phase(now);
    let spec = &repo.spec.workflows[run.workflow_index];
    let api = repo_url(base, repo.full_name());
    let run_api = format!("{api}/actions/runs/{}", run.id);
    let previous =
        (current.number > 1).then(|| format!("{run_api}/attempts/{}", current.number - 1));
    let actor = user(base, &run.actor);
    let commit_time = rfc3339(run.created_at - chrono::Duration::hours(1));
    json!({
        "id": run.id,
        "name": spec.display_name(),
        "node_id": node_id("WorkflowRun", run.id),
        "check_suite_id": run.check_suite_id,
        "check_suite_node_id": node_id("CheckSuite", run.check_suite_id),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": format!(".github/workflows/{}@{}", spec.file, run.head_branch),
        "run_number": run.run_number,
        "run_attempt": current.number,
        "referenced_workflows": [],
        "event": run.event,
        "status": phase.status,
        "conclusion": phase.conclusion,
        "workflow_id": run.workflow_id,
        "url": run_api,
        "html_url": format!("{}/actions/runs/{}", repo_html(base, repo.full_name()), run.id),
        "pull_requests": [],
        "created_at": rfc3339(run.created_at),
        "updated_at": rfc3339(phase.updated_at.max(current.created_at)),
        "actor": actor,
        "triggering_actor": actor,
        "run_started_at": rfc3339(current.created_at),
        "jobs_url": format!("{run_api}/jobs"),
        "logs_url": format!("{run_api}/logs"),
        "check_suite_url": format!("{api}/check-suites/{}", run.check_suite_id),
        "artifacts_url": format!("{run_api}/artifacts"),
        "cancel_url": format!("{run_api}/cancel"),
        "rerun_url": format!("{run_api}/rerun"),
        "previous_attempt_url": previous,
        "workflow_url": format!("{api}/actions/workflows/{}", run.workflow_id),
        "head_commit": {
            "id": run.head_sha,
            "tree_id": crate::state::fake_sha(&format!("tree:{}", run.head_sha)),
            "message": format!("Release work on {}", run.head_branch),
            "timestamp": commit_time,
            "author": { "name": "Octo Cat", "email": "octocat@users.noreply.github.com" },
            "committer": { "name": "GitHub", "email": "noreply@github.com" },
        },
        "repository": minimal_repository(base, repo),
        "head_repository": minimal_repository(base, repo),
        "head_repository_id": repo.id,
        "display_title": run.display_title,
    })
}

/// `job` for one job of `run`.
pub fn job(base: &str, repo: &RepoState, run: &Run, job: &JobView) -> Value {
    let api = repo_url(base, repo.full_name());
    let started = job.status != "queued";
    let steps: Vec<Value> = job
        .steps
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "status": s.status,
                "conclusion": s.conclusion,
                "number": s.number,
                "started_at": s.started_at.map(rfc3339),
                "completed_at": s.completed_at.map(rfc3339),
            })
        })
        .collect();
    json!({
        "id": job.id,
        "run_id": run.id,
        "run_url": format!("{api}/actions/runs/{}", run.id),
        "run_attempt": job.run_attempt,
        "node_id": node_id("CheckRun", job.id),
        "head_sha": run.head_sha,
        "url": format!("{api}/actions/jobs/{}", job.id),
        "html_url": format!("{}/actions/runs/{}/job/{}", repo_html(base, repo.full_name()), run.id, job.id),
        "status": job.status,
        "conclusion": job.conclusion,
        "created_at": rfc3339(job.created_at),
        "started_at": rfc3339(job.started_at),
        "completed_at": job.completed_at.map(rfc3339),
        "name": job.name,
        "steps": steps,
        "check_run_url": format!("{api}/check-runs/{}", job.id),
        "labels": ["ubuntu-latest"],
        "runner_id": started.then_some(1),
        "runner_name": started.then_some("GitHub Actions 1"),
        "runner_group_id": started.then_some(2),
        "runner_group_name": started.then_some("GitHub Actions"),
        "workflow_name": repo.spec.workflows[run.workflow_index].display_name(),
        "head_branch": run.head_branch,
    })
}
