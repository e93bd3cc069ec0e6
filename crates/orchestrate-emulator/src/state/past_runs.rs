//! Seeds the workflows' run histories (`WorkflowSpec::history`): completed
//! `workflow_dispatch` runs on the default branch, created before the emulator started. Ids
//! and per-workflow run numbers follow creation time across the whole world, and come before
//! those of any run dispatched later.

use chrono::{DateTime, Utc};

use super::World;
use super::runs::{Attempt, Run};
use crate::clock::plus;
use crate::scenario::{Behaviour, PastRun};

/// Who dispatched the recorded runs.
const HISTORY_ACTOR: &str = "orchestrate-bot";

/// One recorded run, placed in the world.
struct Planned {
    repo: usize,
    workflow: usize,
    created_at: DateTime<Utc>,
    run: PastRun,
}

/// Adds every workflow's recorded runs as of `now`, the emulator's start.
pub fn seed(world: &mut World, now: DateTime<Utc>) {
    let mut planned: Vec<Planned> = Vec::new();
    for (repo, state) in world.repos.iter().enumerate() {
        for (workflow, spec) in state.spec.workflows.iter().enumerate() {
            let Some(history) = &spec.history else {
                continue;
            };
            planned.extend(history.runs().into_iter().map(|run| Planned {
                repo,
                workflow,
                created_at: now - chrono::Duration::from_std(run.ago).unwrap_or_default(),
                run,
            }));
        }
    }
    // Stable: runs created at the same instant keep their scenario order.
    planned.sort_by_key(|p| p.created_at);
    for p in planned {
        add(world, p);
    }
}

fn add(world: &mut World, planned: Planned) {
    world.run_ids += 1;
    world.check_suites += 1;
    let (id, check_suite_id) = (world.run_ids, world.check_suites);
    let spec = world.repos[planned.repo].spec.workflows[planned.workflow].clone();
    let behaviour = Behaviour {
        // The attempt is created when the run leaves the queue, so `run_started_at` (the
        // attempt's creation) lies `queued` after the run's `created_at`.
        queued: std::time::Duration::ZERO,
        in_progress: planned.run.duration,
        conclusion: planned.run.conclusion.clone(),
        artifacts: Vec::new(),
        ..spec.behaviour.clone()
    };
    let job_ids = world.ids.jobs(behaviour.jobs.len());
    let state = &mut world.repos[planned.repo];
    let workflow_id = state.workflow_ids[planned.workflow];
    let run_number = {
        let n = state.run_numbers.entry(workflow_id).or_insert(0);
        *n += 1;
        *n
    };
    let branch = state.spec.default_branch.clone();
    let head_sha = state
        .resolve_ref(&branch)
        .unwrap_or_else(|| super::fake_sha(&format!("{}@{branch}", state.spec.name)));
    let inputs = spec
        .inputs
        .iter()
        .filter_map(|(name, input)| Some((name.clone(), input.default.clone()?)))
        .collect();
    let started = plus(planned.created_at, planned.run.queued);
    state.runs.push(Run {
        id,
        workflow_index: planned.workflow,
        workflow_id,
        run_number,
        event: "workflow_dispatch".to_owned(),
        head_branch: branch,
        head_sha,
        display_title: spec.display_name().to_owned(),
        inputs,
        actor: HISTORY_ACTOR.to_owned(),
        created_at: planned.created_at,
        listed_at: planned.created_at,
        check_suite_id,
        attempts: vec![Attempt::new(1, started, behaviour, job_ids)],
    });
}
