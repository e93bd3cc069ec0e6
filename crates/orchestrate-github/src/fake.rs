//! A scripted [`GitHub`] for unit tests: polls answered by a closure (and their instants
//! recorded, on tokio's clock), optionally slowed per repository; a workflow history; cancels
//! recorded; every other call refused as unscripted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::{BoxFuture, GitHub};
use crate::approvals::{GateReview, PendingGate, Review};
use crate::error::{Error, Result};
use crate::stats::StatsSnapshot;
use crate::types::{
    ArtifactInfo, ArtifactLimits, CancelOutcome, Correlation, DeployedHistory, DeploymentId,
    DeploymentStatusUpdate, DispatchRequest, Dispatched, ExtractedArtifact, NewDeployment,
    PollQuery, PollResult, ReleaseSet, ReleaseSetRecord, Repo, RepositoryDispatchRequest,
    RunFailure, RunSummary,
};

/// Answers poll number `n` (0-based) of `repo` for `query`.
pub(crate) type PollScript =
    Box<dyn Fn(usize, &Repo, &PollQuery) -> Result<PollResult> + Send + Sync>;

pub(crate) struct FakeGitHub {
    script: PollScript,
    polls: Mutex<Vec<Instant>>,
    /// Repository name → how long each of its polls takes.
    slow: BTreeMap<String, Duration>,
    /// What `workflow_durations` answers, and how often it was asked.
    history: Vec<Duration>,
    history_reads: Mutex<u32>,
    cancelled: Mutex<Vec<u64>>,
}

impl FakeGitHub {
    pub(crate) fn polls(script: PollScript) -> Self {
        FakeGitHub {
            script,
            polls: Mutex::new(Vec::new()),
            slow: BTreeMap::new(),
            history: Vec::new(),
            history_reads: Mutex::new(0),
            cancelled: Mutex::new(Vec::new()),
        }
    }

    /// Each poll of repository `name` takes `delay` before it is answered.
    pub(crate) fn slow(mut self, name: &str, delay: Duration) -> Self {
        self.slow.insert(name.to_owned(), delay);
        self
    }

    /// Every workflow's recent successful runs took `durations`.
    pub(crate) fn history(mut self, durations: Vec<Duration>) -> Self {
        self.history = durations;
        self
    }

    pub(crate) fn history_reads(&self) -> u32 {
        *self.history_reads.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn cancelled(&self) -> Vec<u64> {
        self.cancelled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// When each poll was made.
    pub(crate) fn poll_times(&self) -> Vec<Instant> {
        self.polls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn unscripted<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T>> {
    Box::pin(async { Err(Error::Config("not scripted".into())) })
}

impl GitHub for FakeGitHub {
    fn poll_runs<'a>(
        &'a self,
        repo: &'a Repo,
        query: &'a PollQuery,
    ) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(async move {
            let n = {
                let mut polls = self.polls.lock().unwrap_or_else(|e| e.into_inner());
                polls.push(Instant::now());
                polls.len() - 1
            };
            if let Some(delay) = self.slow.get(&repo.name) {
                tokio::time::sleep(*delay).await;
            }
            (self.script)(n, repo, query)
        })
    }

    fn workflow_durations<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Duration>>> {
        *self.history_reads.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let history = self.history.clone();
        Box::pin(async move { Ok(history) })
    }

    fn dispatch<'a>(&'a self, _: &'a DispatchRequest) -> BoxFuture<'a, Result<Dispatched>> {
        unscripted()
    }
    fn repository_dispatch<'a>(
        &'a self,
        _: &'a RepositoryDispatchRequest,
    ) -> BoxFuture<'a, Result<Dispatched>> {
        unscripted()
    }
    fn find_dispatched_run<'a>(
        &'a self,
        _: &'a Correlation,
    ) -> BoxFuture<'a, Result<Option<RunSummary>>> {
        unscripted()
    }
    fn get_run<'a>(&'a self, _: &'a Repo, _: u64) -> BoxFuture<'a, Result<RunSummary>> {
        unscripted()
    }
    fn failure_detail<'a>(&'a self, _: &'a Repo, _: u64) -> BoxFuture<'a, Result<RunFailure>> {
        unscripted()
    }
    fn cancel_run<'a>(&'a self, _: &'a Repo, id: u64) -> BoxFuture<'a, Result<CancelOutcome>> {
        self.cancelled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        Box::pin(async { Ok(CancelOutcome::Requested) })
    }
    fn list_run_artifacts<'a>(
        &'a self,
        _: &'a Repo,
        _: u64,
    ) -> BoxFuture<'a, Result<Vec<ArtifactInfo>>> {
        unscripted()
    }
    fn find_artifacts<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ArtifactInfo>>> {
        unscripted()
    }
    fn download_artifact<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a ArtifactInfo,
        _: &'a Path,
        _: &'a ArtifactLimits,
    ) -> BoxFuture<'a, Result<ExtractedArtifact>> {
        unscripted()
    }
    fn create_deployment<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a NewDeployment,
    ) -> BoxFuture<'a, Result<DeploymentId>> {
        unscripted()
    }
    fn set_deployment_status<'a>(
        &'a self,
        _: &'a Repo,
        _: DeploymentId,
        _: &'a DeploymentStatusUpdate,
    ) -> BoxFuture<'a, Result<()>> {
        unscripted()
    }
    fn deployed_versions<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a str,
    ) -> BoxFuture<'a, Result<DeployedHistory>> {
        unscripted()
    }
    fn deployed_versions_many<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a [String],
    ) -> BoxFuture<'a, Result<std::collections::BTreeMap<String, DeployedHistory>>> {
        unscripted()
    }
    fn deployment_history<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a str,
        _: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Vec<crate::types::DeploymentHistoryEntry>>> {
        unscripted()
    }
    fn record_release_set<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a ReleaseSet,
    ) -> BoxFuture<'a, Result<DeploymentId>> {
        unscripted()
    }
    fn release_sets<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a str,
        _: usize,
    ) -> BoxFuture<'a, Result<Vec<ReleaseSetRecord>>> {
        unscripted()
    }
    fn verified_release_set<'a>(
        &'a self,
        _: &'a Repo,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReleaseSetRecord>>> {
        unscripted()
    }
    fn pending_gates<'a>(&'a self, _: &'a Repo, _: u64) -> BoxFuture<'a, Result<Vec<PendingGate>>> {
        unscripted()
    }
    fn review_gates<'a>(
        &'a self,
        _: &'a Repo,
        _: u64,
        _: &'a GateReview,
    ) -> BoxFuture<'a, Result<()>> {
        unscripted()
    }
    fn run_reviews<'a>(&'a self, _: &'a Repo, _: u64) -> BoxFuture<'a, Result<Vec<Review>>> {
        unscripted()
    }
    fn stats(&self) -> StatsSnapshot {
        StatsSnapshot::default()
    }
}
