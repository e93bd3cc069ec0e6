//! Reading and steering runs: one conditional list request per repository for everything
//! awaited there, a single run, the failed job and step of a run, and cancelling.

use std::collections::BTreeSet;

use crate::client::{Client, Method, Request};
use crate::correlate;
use crate::dispatch::{created_filter, enc};
use crate::error::{Error, Result};
use crate::models::{Job, JobList, RunList, WorkflowRun};
use crate::types::{CancelOutcome, PollQuery, PollResult, Repo, RunFailure, RunSummary};

/// Pages of 100 runs read per poll before falling back to one GET per missing run.
const MAX_POLL_PAGES: usize = 5;

/// Earlier successful runs read to forecast a run's end.
const HISTORY_RUNS: usize = 10;

/// Conclusions that mean "this is what broke", strongest first.
const BROKEN: [&str; 4] = ["failure", "timed_out", "startup_failure", "action_required"];

impl Client {
    pub(crate) async fn get_run_summary(&self, repo: &Repo, run_id: u64) -> Result<RunSummary> {
        let path = format!("/repos/{}/{}/actions/runs/{run_id}", repo.owner, repo.name);
        let run: WorkflowRun = self.json(Request::get(repo, path).conditional()).await?;
        Ok(run.into())
    }

    /// Creation to completion of the workflow's last successful runs, newest first. A re-run
    /// attempt counts from its own start (its creation is the first attempt's).
    pub(crate) async fn recent_durations(
        &self,
        repo: &Repo,
        workflow: &str,
    ) -> Result<Vec<std::time::Duration>> {
        let path = format!(
            "/repos/{}/{}/actions/workflows/{}/runs?status=success&per_page={HISTORY_RUNS}&exclude_pull_requests=true",
            repo.owner,
            repo.name,
            enc(workflow)
        );
        let list: RunList = self.json(Request::get(repo, path).conditional()).await?;
        Ok(list
            .workflow_runs
            .into_iter()
            .filter(|r| r.conclusion.as_deref() == Some("success"))
            .filter_map(|r| {
                let from = match r.run_attempt {
                    Some(attempt) if attempt > 1 => r.run_started_at?,
                    _ => r.created_at,
                };
                (r.updated_at - from).to_std().ok()
            })
            .collect())
    }

    pub(crate) async fn poll(&self, repo: &Repo, query: &PollQuery) -> Result<PollResult> {
        let mut result = PollResult {
            not_modified: true,
            ..PollResult::default()
        };
        if query.run_ids.is_empty() && query.correlations.is_empty() {
            return Ok(result);
        }
        let mut path = format!(
            "/repos/{}/{}/actions/runs?per_page=100&exclude_pull_requests=true",
            repo.owner, repo.name
        );
        if let Some(since) = query.created_since {
            path.push_str(&format!("&created={}", created_filter(since)));
        }
        if let Some(event) = &query.event {
            path.push_str(&format!("&event={}", enc(event)));
        }
        let wanted: BTreeSet<u64> = query.run_ids.iter().copied().collect();
        for _ in 0..MAX_POLL_PAGES {
            let response = self
                .send(Request::get(repo, path.clone()).conditional())
                .await?;
            result.requests += 1;
            result.not_modified &= response.from_cache;
            let list: RunList =
                serde_json::from_str(&response.body).map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })?;
            for run in list.workflow_runs.into_iter().map(RunSummary::from) {
                for id in &query.correlations {
                    if correlate::title_matches(&run.display_title, id) {
                        let runs = result.correlated.entry(id.clone()).or_default();
                        if !runs.iter().any(|r| r.id == run.id) {
                            runs.push(run.clone());
                        }
                    }
                }
                if wanted.contains(&run.id) {
                    result.runs.insert(run.id, run);
                }
            }
            let complete = wanted.iter().all(|id| result.runs.contains_key(id))
                && query
                    .correlations
                    .iter()
                    .all(|c| result.correlated.contains_key(c));
            if complete {
                break;
            }
            match self.next_page(&response)? {
                Some(next) => path = next,
                None => break,
            }
        }
        // Awaited runs the list did not show (older than the filter, beyond the pages read).
        let missing: Vec<u64> = wanted
            .iter()
            .copied()
            .filter(|id| !result.runs.contains_key(id))
            .collect();
        for id in missing {
            let path = format!("/repos/{}/{}/actions/runs/{id}", repo.owner, repo.name);
            let response = self
                .send(Request::get(repo, path.clone()).conditional())
                .await?;
            result.requests += 1;
            result.not_modified &= response.from_cache;
            let run: WorkflowRun = serde_json::from_str(&response.body)
                .map_err(|source| Error::Decode { path, source })?;
            result.runs.insert(id, run.into());
        }
        Ok(result)
    }

    pub(crate) async fn run_failure(&self, repo: &Repo, run_id: u64) -> Result<RunFailure> {
        let run = self.get_run_summary(repo, run_id).await?;
        let path = format!(
            "/repos/{}/{}/actions/runs/{run_id}/jobs?filter=latest&per_page=100",
            repo.owner, repo.name
        );
        let jobs: JobList = self.json(Request::get(repo, path)).await?;
        Ok(failure_from_jobs(&run, &jobs.jobs))
    }

    pub(crate) async fn cancel(&self, repo: &Repo, run_id: u64) -> Result<CancelOutcome> {
        let path = format!(
            "/repos/{}/{}/actions/runs/{run_id}/cancel",
            repo.owner, repo.name
        );
        // Cancelling twice is harmless (the second answer is 409), so it may be re-sent.
        let request = Request::write(Method::Post, repo, path, None)
            .idempotent()
            .accept(&[409]);
        let response = self.send(request).await?;
        Ok(if response.status == 409 {
            CancelOutcome::AlreadyCompleted
        } else {
            CancelOutcome::Requested
        })
    }
}

fn rank(conclusion: Option<&str>) -> Option<usize> {
    let c = conclusion?;
    if let Some(i) = BROKEN.iter().position(|b| *b == c) {
        return Some(i);
    }
    match c {
        "success" | "skipped" | "neutral" => None,
        "cancelled" => Some(BROKEN.len() + 1),
        _ => Some(BROKEN.len()),
    }
}

/// Name the job and step that broke: the first job with the strongest non-success conclusion,
/// and in it the first step with the strongest non-success conclusion.
pub fn failure_from_jobs(run: &RunSummary, jobs: &[Job]) -> RunFailure {
    let job = jobs
        .iter()
        .filter_map(|j| rank(j.conclusion.as_deref()).map(|r| (r, j)))
        .min_by_key(|(r, _)| *r)
        .map(|(_, j)| j);
    let step = job.and_then(|j| {
        j.steps
            .iter()
            .filter_map(|s| rank(s.conclusion.as_deref()).map(|r| (r, s)))
            .min_by_key(|(r, _)| *r)
            .map(|(_, s)| s)
    });
    let job_url = job.and_then(|j| j.html_url.clone());
    let step_url = match (&job_url, step) {
        (Some(url), Some(step)) => Some(format!("{url}#step:{}:1", step.number)),
        _ => None,
    };
    RunFailure {
        run_id: run.id,
        run_url: run.html_url.clone(),
        conclusion: run.conclusion.clone(),
        job: job.map(|j| j.name.clone()),
        job_url,
        step: step.map(|s| s.name.clone()),
        step_number: step.map(|s| s.number),
        step_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Vec<Job> {
        serde_json::from_str::<JobList>(
            r#"{"total_count": 3, "jobs": [
              {"id": 1, "name": "lint", "status": "completed", "conclusion": "success",
               "html_url": "https://github.com/a/b/actions/runs/9/job/1", "steps": []},
              {"id": 2, "name": "notify", "status": "completed", "conclusion": "cancelled",
               "html_url": "https://github.com/a/b/actions/runs/9/job/2", "steps": []},
              {"id": 3, "name": "android", "status": "completed", "conclusion": "failure",
               "html_url": "https://github.com/a/b/actions/runs/9/job/3", "steps": [
                 {"name": "build", "status": "completed", "conclusion": "success", "number": 1},
                 {"name": "upload", "status": "completed", "conclusion": "failure", "number": 2},
                 {"name": "post", "status": "completed", "conclusion": "skipped", "number": 3}]}]}"#,
        )
        .expect("parses")
        .jobs
    }

    fn run() -> RunSummary {
        RunSummary {
            id: 9,
            html_url: "https://github.com/a/b/actions/runs/9".into(),
            status: "completed".into(),
            conclusion: Some("failure".into()),
            display_title: "deploy".into(),
            event: "workflow_dispatch".into(),
            head_branch: None,
            path: String::new(),
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            run_started_at: None,
            run_attempt: None,
        }
    }

    #[test]
    fn names_the_failed_job_and_step_with_links() {
        let f = failure_from_jobs(&run(), &jobs());
        assert_eq!(f.job.as_deref(), Some("android"));
        assert_eq!(f.step.as_deref(), Some("upload"));
        assert_eq!(
            f.step_url.as_deref(),
            Some("https://github.com/a/b/actions/runs/9/job/3#step:2:1")
        );
        assert_eq!(f.message(), "job `android`, step `upload`: failure");
        assert_eq!(f.to_report().job_url, f.step_url);
    }

    #[test]
    fn without_jobs_the_run_itself_is_named() {
        let f = failure_from_jobs(&run(), &[]);
        assert_eq!(f.job, None);
        assert_eq!(f.message(), "run 9: failure");
    }
}
