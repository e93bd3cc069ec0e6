//! A scripted world for scheduler tests: it answers every command after a fixed delay, as a
//! driver would, injects faults at given times, and writes the event → command transcript.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::{Command, Event, NodeSpec, Scheduler, SchedulerConfig, StrategyConfig};
use crate::report::RollbackOutcome;

pub const DISPATCH_DELAY: Duration = Duration::from_secs(2);
pub const HEALTH_DELAY: Duration = Duration::from_secs(10);
pub const CANCEL_DELAY: Duration = Duration::from_secs(1);
pub const ROLLBACK_DELAY: Duration = Duration::from_secs(30);

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// How one service behaves in the scripted world.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub run: Duration,
    pub run_ok: bool,
    pub health_ok: bool,
    pub rollback: RollbackOutcome,
}

impl Behaviour {
    pub fn ok(run_secs: u64) -> Self {
        Behaviour {
            run: secs(run_secs),
            run_ok: true,
            health_ok: true,
            rollback: RollbackOutcome::Succeeded,
        }
    }
}

/// The reference plan: backend (health gate), then android (irreversible), ios, web (health
/// gate, the canary) and desktop, each needing the backend.
pub fn reference(strategy: StrategyConfig) -> SchedulerConfig {
    let node = |name: &str, needs: &[&str], irreversible, has_health| NodeSpec {
        name: name.into(),
        needs: needs.iter().map(|n| (*n).to_owned()).collect(),
        irreversible,
        has_health,
    };
    SchedulerConfig {
        nodes: vec![
            node("backend", &[], false, true),
            node("android", &["backend"], true, false),
            node("ios", &["backend"], false, false),
            node("web", &["backend"], false, true),
            node("desktop", &["backend"], false, false),
        ],
        strategy,
        fail_fast: true,
        rollback_on_failure: true,
    }
}

/// Distinct run lengths, so parallel runs finish in an order that differs from file order.
pub fn reference_behaviour() -> BTreeMap<String, Behaviour> {
    [
        ("backend", 60),
        ("android", 120),
        ("ios", 90),
        ("web", 30),
        ("desktop", 45),
    ]
    .into_iter()
    .map(|(name, run)| (name.to_owned(), Behaviour::ok(run)))
    .collect()
}

pub fn canary(max_parallel: usize, bake_secs: u64) -> StrategyConfig {
    StrategyConfig::Canary {
        services: vec!["web".into()],
        bake: secs(bake_secs),
        max_parallel,
    }
}

/// The scheduler plus the scripted world around it.
pub struct World {
    pub scheduler: Scheduler,
    behaviour: BTreeMap<String, Behaviour>,
    queue: Vec<(Duration, u64, Event)>,
    seq: u64,
    pub transcript: String,
    pub commands: Vec<Command>,
}

impl World {
    pub fn new(config: SchedulerConfig, behaviour: BTreeMap<String, Behaviour>) -> Self {
        let scheduler = Scheduler::new(config).expect("test graphs are acyclic");
        let mut world = World {
            scheduler,
            behaviour,
            queue: Vec::new(),
            seq: 0,
            transcript: String::new(),
            commands: Vec::new(),
        };
        world.push(Event::Start {
            now: Duration::ZERO,
        });
        world
    }

    /// Delivers `event` at its own `now`, whatever the world is doing then.
    pub fn inject(&mut self, event: Event) {
        self.push(event);
    }

    fn push(&mut self, event: Event) {
        self.seq += 1;
        self.queue.push((event.now(), self.seq, event));
    }

    /// Drops what the world was going to report about `service` (a cancelled run says
    /// nothing more).
    fn forget(&mut self, service: &str) {
        self.queue.retain(|(_, _, e)| {
            !matches!(
                e,
                Event::Dispatched { .. } | Event::RunFinished { .. } | Event::HealthVerdict { .. }
            ) || e.service() != Some(service)
        });
    }

    /// Runs until nothing is left to deliver; returns the transcript.
    pub fn run(mut self) -> Self {
        while let Some(pos) =
            (0..self.queue.len()).min_by_key(|&i| (self.queue[i].0, self.queue[i].1))
        {
            let (now, _, event) = self.queue.swap_remove(pos);
            match self.scheduler.try_event(event.clone()) {
                Ok(commands) => {
                    let _ = writeln!(self.transcript, "> {event}");
                    for command in commands {
                        let _ = writeln!(self.transcript, "<   {command}");
                        self.answer(now, &command);
                        self.commands.push(command);
                    }
                }
                Err(why) => {
                    let _ = writeln!(self.transcript, "> {event}   (ignored: {why})");
                }
            }
        }
        self
    }

    fn behaviour(&self, service: &str) -> Behaviour {
        self.behaviour
            .get(service)
            .cloned()
            .unwrap_or_else(|| Behaviour::ok(10))
    }

    fn answer(&mut self, now: Duration, command: &Command) {
        match command {
            Command::Dispatch { service } => self.push(Event::Dispatched {
                service: service.clone(),
                now: now + DISPATCH_DELAY,
            }),
            Command::Await { service } => {
                let b = self.behaviour(service);
                self.push(Event::RunFinished {
                    service: service.clone(),
                    success: b.run_ok,
                    now: now + b.run,
                });
            }
            Command::Check { service } => {
                let ok = self.behaviour(service).health_ok;
                self.push(Event::HealthVerdict {
                    service: service.clone(),
                    ok,
                    now: now + HEALTH_DELAY,
                });
            }
            Command::Bake { until } => self.push(Event::Tick { now: *until }),
            Command::Cancel { service } => {
                self.forget(service);
                self.push(Event::Cancelled {
                    service: service.clone(),
                    now: now + CANCEL_DELAY,
                });
            }
            Command::Rollback { service } => {
                let outcome = self.behaviour(service).rollback;
                self.push(Event::RollbackFinished {
                    service: service.clone(),
                    outcome,
                    now: now + ROLLBACK_DELAY,
                });
            }
            Command::Skip { .. } | Command::Halt { .. } | Command::Done { .. } => {}
        }
    }

    /// The commands of one kind, by service, in order.
    pub fn services_of(&self, kind: fn(&Command) -> bool) -> Vec<String> {
        self.commands
            .iter()
            .filter(|c| kind(c))
            .filter_map(|c| c.service().map(str::to_owned))
            .collect()
    }
}
