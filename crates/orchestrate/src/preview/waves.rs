//! The waves a strategy produces, found by driving the core's scheduler through a release in
//! which every run and health check succeeds at once. Whatever the scheduler dispatches
//! together forms a wave, so the preview shows exactly what the real run would do
//! (`max_parallel` caps, canary gate and bake included), not a re-implementation of it.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use orchestrate_core::dag::{Command, Event, GraphError, Scheduler, SchedulerConfig};
use orchestrate_core::plan::{Plan, Strategy};

/// One step of the preview.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Services dispatched together.
    Wave {
        number: usize,
        services: Vec<String>,
    },
    /// The canary gate: the release waits this long with the canary healthy before going on.
    Bake {
        #[serde(serialize_with = "humantime_ser")]
        duration: Duration,
    },
}

fn humantime_ser<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// Why no preview could be made.
#[derive(Debug, thiserror::Error)]
pub enum WavesError {
    #[error("the release set does not form a graph")]
    Graph(#[from] GraphError),
    #[error("the scheduler stopped before every service was dispatched (after {0} steps)")]
    Stuck(usize),
}

/// The steps `strategy` takes for the services in `release`.
pub fn waves(
    plan: &Plan,
    release: &BTreeSet<String>,
    strategy: Strategy,
) -> Result<Vec<Step>, WavesError> {
    let config = SchedulerConfig::for_release(plan, release, strategy, true);
    let mut scheduler = Scheduler::new(config)?;
    let now = Duration::ZERO;
    let mut queue: VecDeque<Command> = scheduler.on_event(Event::Start { now }).into();
    let mut clock = now;
    let mut steps = Vec::new();
    let mut pending_bake: Option<Duration> = None;
    // Each round dispatches one wave or ends one bake; a release of n services needs at most
    // n waves and one bake, so anything beyond that is a scheduler that stopped making progress.
    let limit = release.len() * 2 + 4;
    for _ in 0..limit {
        let mut wave = Vec::new();
        while let Some(command) = queue.pop_front() {
            match command {
                Command::Dispatch { service } => wave.push(service),
                Command::Await { service } => {
                    queue.extend(scheduler.on_event(Event::RunFinished {
                        service,
                        success: true,
                        now: clock,
                    }))
                }
                Command::Check { service } => {
                    queue.extend(scheduler.on_event(Event::HealthVerdict {
                        service,
                        ok: true,
                        now: clock,
                    }))
                }
                Command::Bake { until } => pending_bake = Some(until),
                Command::Done { .. } => return Ok(steps),
                Command::Cancel { .. }
                | Command::Skip { .. }
                | Command::Rollback { .. }
                | Command::Halt { .. } => {}
            }
        }
        if !wave.is_empty() {
            for service in &wave {
                queue.extend(scheduler.on_event(Event::Dispatched {
                    service: service.clone(),
                    now: clock,
                }));
            }
            steps.push(Step::Wave {
                number: steps
                    .iter()
                    .filter(|s| matches!(s, Step::Wave { .. }))
                    .count()
                    + 1,
                services: wave,
            });
        } else if let Some(until) = pending_bake.take() {
            steps.push(Step::Bake {
                duration: until.saturating_sub(clock),
            });
            clock = clock.max(until);
            queue.extend(scheduler.on_event(Event::Tick { now: clock }));
        } else {
            return Err(WavesError::Stuck(steps.len()));
        }
    }
    Err(WavesError::Stuck(steps.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::tests::plan_file;

    fn names(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Wave { services, .. } => services.join("+"),
                Step::Bake { duration } => {
                    format!("bake {}", humantime::format_duration(*duration))
                }
            })
            .collect()
    }

    fn release(services: &[&str]) -> BTreeSet<String> {
        services.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_strategy_gives_its_own_waves_and_needs_always_come_first() {
        let plan = plan_file().loaded.plan;
        let all = release(&["backend", "web", "android"]);
        let seq = waves(&plan, &all, Strategy::Sequential).expect("waves");
        assert_eq!(names(&seq), ["backend", "web", "android"]);
        let par = waves(&plan, &all, Strategy::Parallel).expect("waves");
        assert_eq!(names(&par), ["backend", "web+android"]);
        let canary = waves(&plan, &all, Strategy::Canary).expect("waves");
        assert_eq!(names(&canary), ["backend", "web", "bake 1m", "android"]);
    }

    #[test]
    fn services_outside_the_release_set_are_left_out() {
        let plan = plan_file().loaded.plan;
        let steps = waves(&plan, &release(&["web", "android"]), Strategy::Parallel).expect("waves");
        assert_eq!(names(&steps), ["web+android"]);
    }
}
