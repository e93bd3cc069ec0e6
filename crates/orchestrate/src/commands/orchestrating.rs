//! The orchestrating run a rehearsal plays: a run of `orchestrate.yml` in the orchestrating
//! repository of the in-process emulator, and the runtime token of its job, so the release
//! ends with its manifest uploaded through the emulator's results service exactly as in
//! Actions. Also the verified release a scenario may start from (`previous_release:`): a
//! release set recorded as verified, its manifest uploaded to an earlier orchestrating run.

use std::collections::BTreeMap;

use orchestrate_core::artifact::kinds::{CompatibilityReport, HealthState, PerformanceMetrics};
use orchestrate_core::artifact::{
    Kind, MANIFEST_SCHEMA, Manifest, ManifestService, manifest_artifact_name,
};
use orchestrate_core::plan::Plan;
use orchestrate_emulator::{DEFAULT_TOKEN, RunningEmulator};
use orchestrate_github::results::{ResultsClient, ResultsConfig, zip_files};
use orchestrate_github::{
    DeploymentState, DeploymentStatusUpdate, GitHub, ReleaseMember, ReleaseSet, Repo, RetryPolicy,
    Secret,
};

use crate::engine::rehearsal::{ORCHESTRATING_WORKFLOW, PreviousReleaseSpec};
use crate::error::Failure;
use crate::store::github::MANIFEST_FILE;

/// A run of the orchestrating workflow and its job's runtime environment.
#[derive(Debug, Clone)]
pub struct OrchestratingRun {
    pub repo: Repo,
    pub run_id: u64,
    /// `ACTIONS_RUNTIME_TOKEN` of its job.
    pub runtime_token: String,
    /// `ACTIONS_RESULTS_URL`.
    pub results_url: String,
}

fn internal(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// Starts a run of the orchestrating workflow in `repo` and mints its job's runtime token.
pub fn start(emulator: &RunningEmulator, repo: &Repo) -> Result<OrchestratingRun, Failure> {
    let name = repo.to_string();
    let run_id = emulator
        .start_run(&name, ORCHESTRATING_WORKFLOW, "orchestrate-rehearsal")
        .ok_or_else(|| {
            internal(
                "starting the orchestrating run",
                format!("no {ORCHESTRATING_WORKFLOW} in {name}"),
            )
        })?;
    let (runtime_token, _, _) = emulator.runtime_token(&name, run_id);
    Ok(OrchestratingRun {
        repo: repo.clone(),
        run_id,
        runtime_token,
        results_url: format!("{}/", emulator.base_url()),
    })
}

impl OrchestratingRun {
    /// Its results-service client, with the short retries a rehearsal wants.
    pub fn results_client(
        &self,
        on_secret: Option<orchestrate_github::SecretHook>,
    ) -> Result<ResultsClient, Failure> {
        let config = ResultsConfig {
            retry: RetryPolicy {
                max_attempts: 4,
                base: std::time::Duration::from_millis(50),
                cap: std::time::Duration::from_secs(1),
                ..RetryPolicy::default()
            },
            on_secret,
            ..ResultsConfig::default()
        };
        ResultsClient::new(
            &self.results_url,
            &Secret::new(self.runtime_token.clone()),
            config,
        )
        .map_err(|e| internal("the results client", e))
    }
}

/// Records `spec` as a verified release set of `environment` in `repo` and uploads its
/// manifest to an orchestrating run of its own; returns the release's deployment id.
pub async fn seed_previous(
    emulator: &RunningEmulator,
    plan: &Plan,
    environment: &str,
    repo: &Repo,
    spec: &PreviousReleaseSpec,
) -> Result<String, Failure> {
    let client = super::rehearse::fast_client(emulator.base_url(), DEFAULT_TOKEN)?;
    let set = ReleaseSet {
        release_id: uuid::Uuid::new_v4().to_string(),
        environment: environment.to_owned(),
        git_ref: "main".to_owned(),
        members: spec
            .versions
            .iter()
            .map(|(service, version)| ReleaseMember {
                service: service.clone(),
                repo: plan
                    .service(service)
                    .map(|s| s.repo.to_string())
                    .unwrap_or_default(),
                version: version.clone(),
                deployment_id: None,
                run_id: None,
            })
            .collect(),
        lease_expires_at: None,
        run_url: None,
    };
    let id = client
        .record_release_set(repo, &set)
        .await
        .map_err(|e| internal("seeding the previous release set", e))?;
    let verified = DeploymentStatusUpdate {
        state: DeploymentState::Success,
        log_url: None,
        environment_url: None,
        description: Some("release succeeded (rehearsal's starting state)".into()),
    };
    client
        .set_deployment_status(repo, id, &verified)
        .await
        .map_err(|e| internal("seeding the previous release set", e))?;
    let id = id.to_string();
    let manifest = verified_manifest(plan, environment, &id, &spec.versions, emulator.now());
    let run = start(emulator, repo)?;
    let zip = zip_files(&[(MANIFEST_FILE, manifest.to_json().as_bytes())])
        .map_err(|e| internal("packing the previous manifest", e))?;
    run.results_client(None)?
        .upload_zip(&manifest_artifact_name(&id), zip)
        .await
        .map_err(|e| internal("uploading the previous manifest", e))?;
    Ok(id)
}

/// The manifest of a verified release that deployed `versions` (every other service of the
/// plan outside it).
fn verified_manifest(
    plan: &Plan,
    environment: &str,
    id: &str,
    versions: &BTreeMap<String, String>,
    at: chrono::DateTime<chrono::Utc>,
) -> Manifest {
    let when = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let services = plan
        .services
        .iter()
        .map(|s| {
            let target = versions.get(&s.name).cloned();
            let service = ManifestService {
                repo: s.repo.to_string(),
                from_version: None,
                outcome: if target.is_some() {
                    "succeeded"
                } else {
                    "not_in_release"
                }
                .to_owned(),
                to_version: target,
                needs: s.needs.clone(),
                run: None,
                health: if s.health.is_some() {
                    HealthState::Passed
                } else {
                    HealthState::NoCheck
                },
                artifacts: Vec::new(),
            };
            (s.name.clone(), service)
        })
        .collect();
    Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        plan: plan.name.clone(),
        deployment_id: id.to_owned(),
        environment: environment.to_owned(),
        strategy: "sequential".to_owned(),
        status: "succeeded".to_owned(),
        verified: true,
        dry_run: false,
        started_at: when.clone(),
        finished_at: when,
        orchestrator_run_url: None,
        previous_release: None,
        services,
        compatibility: CompatibilityReport {
            schema: Kind::CompatibilityReport.schema(),
            checks: Vec::new(),
        },
        health: Vec::new(),
        performance: PerformanceMetrics {
            schema: Kind::PerformanceMetrics.schema(),
            duration_secs: 0.0,
            services: BTreeMap::new(),
            requests: 0,
            requests_counted: 0,
            not_modified: 0,
        },
        rollbacks: Vec::new(),
    }
}
