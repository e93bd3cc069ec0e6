//! Runs recorded before the emulator started (a workflow's `history`): the lists, the runs,
//! their attempts and jobs, in every conclusion a history may hold.

use std::time::Duration;

use orchestrate_emulator::{RepoSpec, RunHistory, WorkflowSpec};
use serde_json::Value;

use super::Env;

const WEB: &str = "/repos/octo/web/actions";

/// `repo` plus `bench.yml` (10 successful runs of 2m40s–3m20s) and `mixed.yml` (one run of
/// each conclusion a history may hold).
pub fn with_history(repo: RepoSpec) -> RepoSpec {
    let spread = RunHistory::spread(10, Duration::from_secs(160), Duration::from_secs(200));
    let listed = r#"[
        { duration: 2m, ago: 4h, conclusion: failure },
        { duration: 2m, ago: 3h, conclusion: cancelled },
        { duration: 2m, ago: 2h, conclusion: timed_out },
        { duration: 2m, ago: 1h, queued: 5s }
    ]"#;
    let listed: RunHistory = serde_saphyr::from_str(listed).expect("valid history");
    repo.workflow(WorkflowSpec::new("bench.yml").history(spread))
        .workflow(WorkflowSpec::new("mixed.yml").history(listed))
}

/// Lists the recorded runs (workflow and repository level, filtered, paginated) and reads
/// each run of `mixed.yml` with its attempt and jobs.
pub async fn history(env: &Env<'_>) {
    env.get(&format!(
        "{WEB}/workflows/bench.yml/runs?status=success&per_page=4"
    ))
    .expect(200)
    .await;
    env.get(&format!("{WEB}/workflows/bench.yml/runs?per_page=4&page=3"))
        .expect(200)
        .await;
    env.get(&format!(
        "{WEB}/runs?created=%3C2026-05-01T10:00:00Z&per_page=100"
    ))
    .expect(200)
    .await;
    let mixed = env
        .get(&format!("{WEB}/workflows/mixed.yml/runs"))
        .expect(200)
        .await;
    let runs = mixed.body["workflow_runs"].as_array().expect("runs");
    let conclusions: Vec<&str> = runs
        .iter()
        .filter_map(|r| r["conclusion"].as_str())
        .collect();
    assert_eq!(
        conclusions,
        ["success", "timed_out", "cancelled", "failure"]
    );
    for id in runs.iter().filter_map(|r| r["id"].as_u64()) {
        env.get(&format!("{WEB}/runs/{id}")).expect(200).await;
        env.get(&format!("{WEB}/runs/{id}/attempts/1"))
            .expect(200)
            .await;
        let jobs = env.get(&format!("{WEB}/runs/{id}/jobs")).expect(200).await;
        let job = jobs.body["jobs"][0]["id"].as_u64().expect("a job");
        env.get(&format!("{WEB}/runs/{id}/attempts/1/jobs"))
            .expect(200)
            .await;
        env.get(&format!("/repos/octo/web/actions/jobs/{job}"))
            .expect(200)
            .await;
        let artifacts = env
            .get(&format!("{WEB}/runs/{id}/artifacts"))
            .expect(200)
            .await;
        assert_eq!(artifacts.body["total_count"], Value::from(0));
    }
}
