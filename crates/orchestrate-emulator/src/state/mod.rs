//! The emulator's shared state: the world (repositories, runs, deployments, issues), tokens,
//! rate limits, faults, the request log and the artifact store.

pub mod gate;
pub mod jobs;
mod past_runs;
pub mod records;
pub mod runs;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::artifacts::{ArtifactStore, RunInfo};
use crate::auth::TokenSpec;
use crate::clock::Clock;
use crate::faults::Faults;
use crate::ratelimit::RateLimiter;
use crate::record::RecordedRequest;
use crate::scenario::{HealthSpec, RepoSpec, Scenario};
use crate::template::{TemplateContext, render};
use records::{Deployment, Issue};
use runs::{Attempt, Run};

/// Shared by every handler.
pub type AppState = Arc<Shared>;

/// Everything the emulator holds.
pub struct Shared {
    /// Emulated time.
    pub clock: Arc<Clock>,
    /// `http://127.0.0.1:PORT`, the root of every URL the emulator hands out.
    pub base_url: String,
    /// Repositories and what happened in them.
    pub world: Mutex<World>,
    /// Primary rate-limit budgets.
    pub limiter: Mutex<RateLimiter>,
    /// Injected faults.
    pub faults: Mutex<Faults>,
    /// Every answered request.
    pub records: Mutex<Vec<RecordedRequest>>,
    /// Artifacts (shared with the results and blob services).
    pub artifacts: ArtifactStore,
    /// Configured tokens.
    pub tokens: Vec<TokenSpec>,
    /// Default primary rate limit per hour.
    pub rate_limit: u32,
    /// Old-GHES mode: `return_run_details` is rejected with 400.
    pub legacy_ghes: bool,
    /// GitHub Apps and the installation tokens minted for them.
    pub(crate) apps: crate::apps::Apps,
}

/// Takes a lock even if a panicking thread poisoned it (the data stays consistent: every
/// mutation is a single push or assignment).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The world, settled to the current emulated time (runs that completed have uploaded
    /// their artifacts).
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut world = lock(&self.world);
        world.settle(self.clock.now(), &self.artifacts);
        world
    }

    /// The token configured with this secret, or an installation token minted earlier that has
    /// not expired on the emulated clock.
    pub fn token(&self, secret: &str) -> Option<TokenSpec> {
        self.tokens
            .iter()
            .find(|t| t.token == secret)
            .cloned()
            .or_else(|| self.apps.token(secret, self.clock.now()))
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only their ids are shown.
        let ids: Vec<&str> = self.tokens.iter().map(|t| t.id.as_str()).collect();
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("tokens", &ids)
            .finish_non_exhaustive()
    }
}

/// Id counters. Each kind starts in its own range so ids of different kinds never collide,
/// which makes a client mixing them up fail loudly.
#[derive(Debug)]
pub struct Ids {
    run: u64,
    job: u64,
    deployment: u64,
    status: u64,
    issue: u64,
    comment: u64,
    check_suite: u64,
}

impl Default for Ids {
    fn default() -> Self {
        Self {
            run: 20_000_000_000,
            job: 50_000_000_000,
            deployment: 1_000_000_000,
            status: 3_000_000_000,
            issue: 2_000_000_000,
            comment: 4_000_000_000,
            check_suite: 30_000_000_000,
        }
    }
}

fn bump(counter: &mut u64) -> u64 {
    *counter += 1;
    *counter
}

impl Ids {
    /// Next deployment id.
    pub fn deployment(&mut self) -> u64 {
        bump(&mut self.deployment)
    }
    /// Next deployment status id.
    pub fn status(&mut self) -> u64 {
        bump(&mut self.status)
    }
    /// Next issue id.
    pub fn issue(&mut self) -> u64 {
        bump(&mut self.issue)
    }
    /// Next comment id.
    pub fn comment(&mut self) -> u64 {
        bump(&mut self.comment)
    }
    fn jobs(&mut self, count: usize) -> Vec<u64> {
        (0..count).map(|_| bump(&mut self.job)).collect()
    }
}

/// One repository's live state.
#[derive(Debug)]
pub struct RepoState {
    /// The scenario's description.
    pub spec: RepoSpec,
    /// Repository id.
    pub id: u64,
    /// Owner's user id.
    pub owner_id: u64,
    /// Workflow ids, parallel to `spec.workflows`.
    pub workflow_ids: Vec<u64>,
    /// When the repository and its workflows were created.
    pub created_at: DateTime<Utc>,
    /// Refs still behind the default branch.
    pub behind: BTreeSet<String>,
    /// Runs, oldest first.
    pub runs: Vec<Run>,
    /// Run numbers handed out per workflow.
    pub run_numbers: BTreeMap<u64, u64>,
    /// Deployments, oldest first.
    pub deployments: Vec<Deployment>,
    /// Issues, oldest first.
    pub issues: Vec<Issue>,
    /// Ids of the environments its workflows reference, by name.
    pub environments: BTreeMap<String, u64>,
}

impl RepoState {
    /// `owner/name` as the scenario spells it.
    pub fn full_name(&self) -> &str {
        &self.spec.name
    }

    /// Resolves a branch, tag, `refs/heads/…`, `refs/tags/…` or full sha to a commit sha.
    pub fn resolve_ref(&self, git_ref: &str) -> Option<String> {
        let name = git_ref
            .strip_prefix("refs/heads/")
            .or_else(|| git_ref.strip_prefix("refs/tags/"))
            .unwrap_or(git_ref);
        let known = name == self.spec.default_branch
            || self.spec.branches.iter().any(|b| b == name)
            || self.spec.tags.iter().any(|t| t == name);
        if known {
            // A ref that was auto-merged by a deployment moved to a new commit.
            let merged =
                self.spec.behind_default.iter().any(|b| b == name) && !self.behind.contains(name);
            let suffix = if merged { "+merged" } else { "" };
            return Some(fake_sha(&format!("{}@{name}{suffix}", self.spec.name)));
        }
        let is_sha = name.len() == 40 && name.chars().all(|c| c.is_ascii_hexdigit());
        is_sha.then(|| name.to_ascii_lowercase())
    }

    /// The workflow addressed by numeric id or file name.
    pub fn workflow_index(&self, id_or_file: &str) -> Option<usize> {
        if let Ok(id) = id_or_file.parse::<u64>() {
            return self.workflow_ids.iter().position(|w| *w == id);
        }
        self.spec
            .workflows
            .iter()
            .position(|w| w.file == id_or_file)
    }

    /// A run by id.
    pub fn run(&self, id: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    /// A run by id, mutably.
    pub fn run_mut(&mut self, id: u64) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// The gate a new attempt of workflow `index` waits for, if the workflow has one.
    fn gate_for(&self, index: usize) -> Option<gate::Gate> {
        let spec = self.spec.workflows.get(index)?.environment.clone()?;
        let id = self
            .environments
            .get(&spec.name)
            .copied()
            .unwrap_or_default();
        Some(gate::Gate::new(spec, id))
    }
}

/// A 40-hex-digit commit id derived from `seed`, stable across runs of the emulator.
pub fn fake_sha(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))[..40].to_owned()
}

/// What starts a run.
#[derive(Debug, Clone)]
pub struct Trigger {
    /// `workflow_dispatch` or `repository_dispatch`.
    pub event: String,
    /// Branch or tag name.
    pub ref_name: String,
    /// Commit.
    pub sha: String,
    /// Inputs as strings.
    pub inputs: BTreeMap<String, String>,
    /// repository_dispatch payload, top-level values as strings.
    pub client_payload: BTreeMap<String, String>,
    /// repository_dispatch event type.
    pub event_type: String,
    /// Dispatching login.
    pub actor: String,
}

/// The jobs of `previous` that succeeded, keyed by their index in the next attempt's job list
/// (matched by name, since an attempt's behaviour may list other jobs).
fn carried_jobs(
    previous: &Attempt,
    next: &crate::scenario::Behaviour,
    now: DateTime<Utc>,
) -> BTreeMap<usize, jobs::JobView> {
    let done = jobs::jobs_at(previous, now);
    next.jobs
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            let job = done.iter().find(|j| j.name == spec.name)?;
            let succeeded = matches!(job.conclusion.as_deref(), Some("success" | "neutral"));
            succeeded.then(|| (index, job.clone()))
        })
        .collect()
}

/// Repositories and counters.
#[derive(Debug)]
pub struct World {
    /// Repositories, in scenario order.
    pub repos: Vec<RepoState>,
    /// Health endpoints.
    pub health: Vec<HealthSpec>,
    /// Id counters.
    pub ids: Ids,
    run_ids: u64,
    check_suites: u64,
}

impl World {
    /// The world a scenario describes, created at `now`.
    pub fn new(scenario: &Scenario, now: DateTime<Utc>) -> Self {
        let mut next_workflow = 100_000_000;
        let mut next_environment = 160_000_000;
        let repos = scenario
            .repos
            .iter()
            .zip(1_u64..)
            .map(|(spec, index)| {
                let workflow_ids = spec
                    .workflows
                    .iter()
                    .map(|w| {
                        next_workflow += 1;
                        w.id.unwrap_or(next_workflow)
                    })
                    .collect();
                RepoState {
                    spec: spec.clone(),
                    id: 700_000_000 + index,
                    owner_id: 9_000_000 + index,
                    workflow_ids,
                    created_at: now - chrono::Duration::days(365),
                    behind: spec.behind_default.iter().cloned().collect(),
                    runs: Vec::new(),
                    run_numbers: BTreeMap::new(),
                    deployments: Vec::new(),
                    issues: Vec::new(),
                    environments: spec
                        .workflows
                        .iter()
                        .filter_map(|w| w.environment.as_ref())
                        .map(|e| e.name.clone())
                        .collect::<BTreeSet<String>>()
                        .into_iter()
                        .map(|name| {
                            next_environment += 1;
                            (name, next_environment)
                        })
                        .collect(),
                }
            })
            .collect();
        let mut world = Self {
            repos,
            health: scenario.health.clone(),
            ids: Ids::default(),
            run_ids: Ids::default().run,
            check_suites: Ids::default().check_suite,
        };
        for repo in &mut world.repos {
            records::seed(repo, &mut world.ids, now);
        }
        past_runs::seed(&mut world, now);
        world
    }

    /// A repository by `owner/name`, case-insensitively.
    pub fn repo(&self, full_name: &str) -> Option<&RepoState> {
        self.repos
            .iter()
            .find(|r| r.spec.name.eq_ignore_ascii_case(full_name))
    }

    /// A repository by `owner/name`, mutably.
    pub fn repo_mut(&mut self, full_name: &str) -> Option<&mut RepoState> {
        self.repos
            .iter_mut()
            .find(|r| r.spec.name.eq_ignore_ascii_case(full_name))
    }

    /// A repository and the id counters, both mutably.
    pub fn repo_and_ids(&mut self, full_name: &str) -> Option<(&mut RepoState, &mut Ids)> {
        let repo = self
            .repos
            .iter_mut()
            .find(|r| r.spec.name.eq_ignore_ascii_case(full_name))?;
        Some((repo, &mut self.ids))
    }

    /// Creates a run of workflow `workflow` in `repo` and returns its id.
    pub fn start_run(
        &mut self,
        repo: &str,
        workflow: usize,
        trigger: Trigger,
        now: DateTime<Utc>,
        artifacts: &ArtifactStore,
    ) -> Option<u64> {
        self.run_ids += 1;
        self.check_suites += 1;
        let id = self.run_ids;
        let check_suite_id = self.check_suites;
        let index = self
            .repos
            .iter()
            .position(|r| r.spec.name.eq_ignore_ascii_case(repo))?;
        let spec = self.repos[index].spec.workflows.get(workflow)?.clone();
        let behaviour = spec.behaviour_for(&trigger.inputs, 1);
        let job_ids = self.ids.jobs(behaviour.jobs.len());
        let state = &mut self.repos[index];
        let workflow_id = state.workflow_ids[workflow];
        let run_number = {
            let n = state.run_numbers.entry(workflow_id).or_insert(0);
            *n += 1;
            *n
        };
        let ctx = TemplateContext {
            inputs: trigger.inputs.clone(),
            client_payload: trigger.client_payload,
            event_name: trigger.event.clone(),
            ref_name: trigger.ref_name.clone(),
            actor: trigger.actor.clone(),
            run_number,
            event_type: trigger.event_type.clone(),
        };
        let display_title = match &spec.run_name {
            Some(template) => render(template, &ctx),
            None if trigger.event == "repository_dispatch" => trigger.event_type.clone(),
            None => spec.display_name().to_owned(),
        };
        artifacts.register_run(
            &state.spec.name,
            id,
            RunInfo {
                repository_id: state.id,
                head_repository_id: state.id,
                head_branch: trigger.ref_name.clone(),
                head_sha: trigger.sha.clone(),
            },
        );
        state.runs.push(Run {
            id,
            workflow_index: workflow,
            workflow_id,
            run_number,
            event: trigger.event,
            head_branch: trigger.ref_name,
            head_sha: trigger.sha,
            display_title,
            inputs: trigger.inputs,
            actor: trigger.actor,
            created_at: now,
            listed_at: now,
            check_suite_id,
            attempts: vec![Attempt {
                gate: state.gate_for(workflow),
                ..Attempt::new(1, now, behaviour, job_ids)
            }],
        });
        Some(id)
    }

    /// Starts a new attempt of a completed run; `false` when the run is still going. With
    /// `failed_only` ("re-run failed jobs") the jobs that succeeded are carried over and only
    /// the others (failed, cancelled, and the skipped ones that depended on them) run again;
    /// when none failed, every job runs again.
    pub fn rerun(
        &mut self,
        repo: &str,
        run_id: u64,
        now: DateTime<Utc>,
        failed_only: bool,
    ) -> Option<bool> {
        let index = self
            .repos
            .iter()
            .position(|r| r.spec.name.eq_ignore_ascii_case(repo))?;
        let run = self.repos[index].run(run_id)?;
        if run.latest().phase(now).status != "completed" {
            return Some(false);
        }
        let number = run.latest().number + 1;
        let behaviour =
            self.repos[index].spec.workflows[run.workflow_index].behaviour_for(&run.inputs, number);
        let mut carried = if failed_only {
            carried_jobs(run.latest(), &behaviour, now)
        } else {
            BTreeMap::new()
        };
        if carried.len() == behaviour.jobs.len() {
            carried.clear();
        }
        let mut fresh = self
            .ids
            .jobs(behaviour.jobs.len() - carried.len())
            .into_iter();
        let job_ids = (0..behaviour.jobs.len())
            .map(|i| match carried.get(&i) {
                Some(job) => job.id,
                None => fresh.next().unwrap_or_default(),
            })
            .collect();
        let mut attempt = Attempt::new(number, now, behaviour, job_ids);
        attempt.carried = carried;
        attempt.gate = self.repos[index].gate_for(self.repos[index].run(run_id)?.workflow_index);
        let run = self.repos[index].run_mut(run_id)?;
        run.attempts.push(attempt);
        Some(true)
    }

    /// Hands the artifacts of every attempt that ran to completion to the store, and records
    /// the deployments of gated jobs (see `gate::settle_deployments`).
    pub fn settle(&mut self, now: DateTime<Utc>, store: &ArtifactStore) {
        for repo in &mut self.repos {
            gate::settle_deployments(repo, &mut self.ids, now);
            for run in &mut repo.runs {
                let ctx = TemplateContext {
                    inputs: run.inputs.clone(),
                    event_name: run.event.clone(),
                    ref_name: run.head_branch.clone(),
                    actor: run.actor.clone(),
                    run_number: run.run_number,
                    ..TemplateContext::default()
                };
                for attempt in &mut run.attempts {
                    if attempt.artifacts_uploaded || !attempt.finished_naturally(now) {
                        continue;
                    }
                    attempt.artifacts_uploaded = true;
                    let existing = store.list_for_run(&repo.spec.name, run.id);
                    for artifact in &attempt.behaviour.artifacts {
                        if existing.iter().any(|a| a.name == artifact.name) {
                            continue;
                        }
                        let zip = crate::models::artifact_zip(artifact, &ctx);
                        store.create_finished(
                            &repo.spec.name,
                            run.id,
                            &artifact.name,
                            zip,
                            attempt.outcome().0,
                        );
                    }
                }
            }
        }
    }
}
