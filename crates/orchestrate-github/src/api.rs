//! The [`GitHub`] trait: one method per use case, orchestrate's own types in and out, and its
//! implementation over the REST [`Client`]. Object-safe (boxed futures), so the driver can hold
//! an `Arc<dyn GitHub>` and tests can substitute a fake.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use crate::approvals::{GateReview, PendingGate, Review};
use crate::client::Client;
use crate::error::Result;
use crate::stats::StatsSnapshot;
use crate::types::{
    ArtifactInfo, ArtifactLimits, CancelOutcome, Correlation, DeployedHistory,
    DeploymentHistoryEntry, DeploymentId, DeploymentStatusUpdate, DispatchRequest, Dispatched,
    ExtractedArtifact, NewDeployment, PollQuery, PollResult, ReleaseSet, ReleaseSetRecord, Repo,
    RepositoryDispatchRequest, RunFailure, RunSummary,
};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait GitHub: Send + Sync {
    /// `workflow_dispatch`, identifying the run (run details, else correlation); never re-sent
    /// blindly (see `dispatch.rs`).
    fn dispatch<'a>(&'a self, req: &'a DispatchRequest) -> BoxFuture<'a, Result<Dispatched>>;

    /// `repository_dispatch`; the run is found by the `orchestrate_id` in `client_payload`.
    fn repository_dispatch<'a>(
        &'a self,
        req: &'a RepositoryDispatchRequest,
    ) -> BoxFuture<'a, Result<Dispatched>>;

    /// The run carrying a correlation id, if it exists yet (error when several do).
    fn find_dispatched_run<'a>(
        &'a self,
        correlation: &'a Correlation,
    ) -> BoxFuture<'a, Result<Option<RunSummary>>>;

    /// Everything awaited in one repository, in one conditional list request (plus pages, plus
    /// one GET per awaited run the list did not show).
    fn poll_runs<'a>(
        &'a self,
        repo: &'a Repo,
        query: &'a PollQuery,
    ) -> BoxFuture<'a, Result<PollResult>>;

    fn get_run<'a>(&'a self, repo: &'a Repo, run_id: u64) -> BoxFuture<'a, Result<RunSummary>>;

    /// How long the workflow's most recent successful runs took, from creation to completion
    /// (one list request): what the watcher forecasts a run's end from. None by default.
    fn workflow_durations<'a>(
        &'a self,
        _repo: &'a Repo,
        _workflow: &'a str,
    ) -> BoxFuture<'a, Result<Vec<std::time::Duration>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The failed job and step of a run, with links.
    fn failure_detail<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<RunFailure>>;

    /// 202 and 409 (already completed) are both success.
    fn cancel_run<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<CancelOutcome>>;

    fn list_run_artifacts<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<Vec<ArtifactInfo>>>;

    /// The repository's artifacts named exactly `name`, newest first.
    fn find_artifacts<'a>(
        &'a self,
        repo: &'a Repo,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ArtifactInfo>>>;

    /// Download, verify, unpack safely into `dest` (must not exist or be empty), read JSON fields.
    fn download_artifact<'a>(
        &'a self,
        repo: &'a Repo,
        artifact: &'a ArtifactInfo,
        dest: &'a Path,
        limits: &'a ArtifactLimits,
    ) -> BoxFuture<'a, Result<ExtractedArtifact>>;

    /// `auto_merge: false`, `required_contexts: []`; a 202 (auto-merge) is an error.
    fn create_deployment<'a>(
        &'a self,
        repo: &'a Repo,
        deployment: &'a NewDeployment,
    ) -> BoxFuture<'a, Result<DeploymentId>>;

    fn set_deployment_status<'a>(
        &'a self,
        repo: &'a Repo,
        id: DeploymentId,
        update: &'a DeploymentStatusUpdate,
    ) -> BoxFuture<'a, Result<()>>;

    /// Current and previous good versions of `repo` in `environment`.
    fn deployed_versions<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<DeployedHistory>>;

    /// [`GitHub::deployed_versions`] for several environments of `repo` (the services sharing
    /// it) from one deployments list grouped by environment; every environment asked for is a
    /// key of the answer.
    fn deployed_versions_many<'a>(
        &'a self,
        repo: &'a Repo,
        environments: &'a [String],
    ) -> BoxFuture<'a, Result<BTreeMap<String, DeployedHistory>>>;

    /// Every orchestrate deployment of `repo` in `environment` since `since`, oldest first,
    /// with its statuses (one list request, all pages, plus one status request each).
    fn deployment_history<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Vec<DeploymentHistoryEntry>>>;

    /// Record a release set (a deployment with task `deploy:release-set`) in the orchestrator's
    /// repository; its statuses are set with [`GitHub::set_deployment_status`].
    fn record_release_set<'a>(
        &'a self,
        repo: &'a Repo,
        set: &'a ReleaseSet,
    ) -> BoxFuture<'a, Result<DeploymentId>>;

    /// The newest `limit` release sets in `environment`, newest first.
    fn release_sets<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<ReleaseSetRecord>>>;

    /// The newest release set in `environment` whose newest status is `success`.
    fn verified_release_set<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReleaseSetRecord>>>;

    /// What a `waiting` run waits for: its environments, their reviewers and timers, and
    /// whether the token may approve.
    fn pending_gates<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<Vec<PendingGate>>>;

    /// Approves or rejects environments a run waits for (never re-sent).
    fn review_gates<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
        review: &'a GateReview,
    ) -> BoxFuture<'a, Result<()>>;

    /// Who reviewed a run's environments, oldest first.
    fn run_reviews<'a>(&'a self, repo: &'a Repo, run_id: u64)
    -> BoxFuture<'a, Result<Vec<Review>>>;

    /// Requests made so far, for the report and the pacing of pollers.
    fn stats(&self) -> StatsSnapshot;
}

impl GitHub for Client {
    fn dispatch<'a>(&'a self, req: &'a DispatchRequest) -> BoxFuture<'a, Result<Dispatched>> {
        Box::pin(self.dispatch_workflow(req))
    }

    fn repository_dispatch<'a>(
        &'a self,
        req: &'a RepositoryDispatchRequest,
    ) -> BoxFuture<'a, Result<Dispatched>> {
        Box::pin(self.dispatch_repository(req))
    }

    fn find_dispatched_run<'a>(
        &'a self,
        correlation: &'a Correlation,
    ) -> BoxFuture<'a, Result<Option<RunSummary>>> {
        Box::pin(self.find_correlated(correlation))
    }

    fn poll_runs<'a>(
        &'a self,
        repo: &'a Repo,
        query: &'a PollQuery,
    ) -> BoxFuture<'a, Result<PollResult>> {
        Box::pin(self.poll(repo, query))
    }

    fn get_run<'a>(&'a self, repo: &'a Repo, run_id: u64) -> BoxFuture<'a, Result<RunSummary>> {
        Box::pin(self.get_run_summary(repo, run_id))
    }

    fn workflow_durations<'a>(
        &'a self,
        repo: &'a Repo,
        workflow: &'a str,
    ) -> BoxFuture<'a, Result<Vec<std::time::Duration>>> {
        Box::pin(self.recent_durations(repo, workflow))
    }

    fn failure_detail<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<RunFailure>> {
        Box::pin(self.run_failure(repo, run_id))
    }

    fn cancel_run<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<CancelOutcome>> {
        Box::pin(self.cancel(repo, run_id))
    }

    fn list_run_artifacts<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<Vec<ArtifactInfo>>> {
        Box::pin(self.run_artifacts(repo, run_id))
    }

    fn find_artifacts<'a>(
        &'a self,
        repo: &'a Repo,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ArtifactInfo>>> {
        Box::pin(self.artifacts_named(repo, name))
    }

    fn download_artifact<'a>(
        &'a self,
        repo: &'a Repo,
        artifact: &'a ArtifactInfo,
        dest: &'a Path,
        limits: &'a ArtifactLimits,
    ) -> BoxFuture<'a, Result<ExtractedArtifact>> {
        Box::pin(self.fetch_artifact(repo, artifact, dest, limits))
    }

    fn create_deployment<'a>(
        &'a self,
        repo: &'a Repo,
        deployment: &'a NewDeployment,
    ) -> BoxFuture<'a, Result<DeploymentId>> {
        Box::pin(self.new_deployment(repo, deployment))
    }

    fn set_deployment_status<'a>(
        &'a self,
        repo: &'a Repo,
        id: DeploymentId,
        update: &'a DeploymentStatusUpdate,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.deployment_status(repo, id, update))
    }

    fn deployed_versions<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<DeployedHistory>> {
        Box::pin(self.deployed(repo, environment))
    }

    fn deployed_versions_many<'a>(
        &'a self,
        repo: &'a Repo,
        environments: &'a [String],
    ) -> BoxFuture<'a, Result<BTreeMap<String, DeployedHistory>>> {
        Box::pin(self.deployed_many(repo, environments))
    }

    fn deployment_history<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, Result<Vec<DeploymentHistoryEntry>>> {
        Box::pin(self.history(repo, environment, since))
    }

    fn record_release_set<'a>(
        &'a self,
        repo: &'a Repo,
        set: &'a ReleaseSet,
    ) -> BoxFuture<'a, Result<DeploymentId>> {
        Box::pin(self.new_release_set(repo, set))
    }

    fn release_sets<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<ReleaseSetRecord>>> {
        Box::pin(self.recent_release_sets(repo, environment, limit))
    }

    fn verified_release_set<'a>(
        &'a self,
        repo: &'a Repo,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<Option<ReleaseSetRecord>>> {
        Box::pin(self.last_verified_release_set(repo, environment))
    }

    fn pending_gates<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<Vec<PendingGate>>> {
        Box::pin(Client::pending_gates(self, repo, run_id))
    }

    fn review_gates<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
        review: &'a GateReview,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.submit_review(repo, run_id, review))
    }

    fn run_reviews<'a>(
        &'a self,
        repo: &'a Repo,
        run_id: u64,
    ) -> BoxFuture<'a, Result<Vec<Review>>> {
        Box::pin(self.reviews(repo, run_id))
    }

    fn stats(&self) -> StatsSnapshot {
        self.request_stats().snapshot()
    }
}
