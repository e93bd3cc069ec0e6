//! Property test: random graphs, strategies and answer orders (with faults and nonsense events)
//! against an independent model of what the protocol allows.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

/// splitmix64: a small deterministic generator, so a failing seed replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }

    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// Something the driver owes the scheduler an answer for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owed {
    Dispatch(String),
    Await(String),
    Check(String),
    /// `run_open`: the run had not concluded, so it may still finish first.
    Cancel(String, bool),
    Rollback(String),
    Bake(Duration),
}

fn random_config(rng: &mut Rng) -> SchedulerConfig {
    let n = 1 + rng.below(7);
    let nodes: Vec<NodeSpec> = (0..n)
        .map(|i| NodeSpec {
            name: format!("s{i}"),
            needs: (0..i)
                .filter(|_| rng.percent(30))
                .map(|j| format!("s{j}"))
                .collect(),
            irreversible: rng.percent(20),
            has_health: rng.percent(50),
        })
        .collect();
    let max_parallel = 1 + rng.below(4);
    let strategy = match rng.below(3) {
        0 => StrategyConfig::Sequential,
        1 => StrategyConfig::Parallel { max_parallel },
        _ => StrategyConfig::Canary {
            services: (0..n)
                .filter(|_| rng.percent(30))
                .map(|i| format!("s{i}"))
                .collect(),
            bake: Duration::from_secs(if rng.percent(50) { 0 } else { 60 }),
            max_parallel,
        },
    };
    SchedulerConfig {
        nodes,
        strategy,
        fail_fast: rng.percent(50),
        rollback_on_failure: rng.percent(70),
    }
}

/// The model: what the harness itself saw, independent of the scheduler's bookkeeping.
struct Model {
    config: SchedulerConfig,
    needs: BTreeMap<String, Vec<String>>,
    cap: usize,
    /// Services that may run before the canary is released (none: no gate).
    first: Option<BTreeSet<String>>,
    released: bool,
    owed: Vec<Owed>,
    dispatched: BTreeSet<String>,
    skipped: BTreeSet<String>,
    in_flight: BTreeSet<String>,
    verified: BTreeSet<String>,
    deployed: Vec<String>,
    handled: Vec<String>,
    dones: usize,
    trouble: bool,
}

impl Model {
    fn new(config: SchedulerConfig) -> Self {
        let needs: BTreeMap<String, Vec<String>> = config
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.needs.clone()))
            .collect();
        let (cap, first) = match &config.strategy {
            StrategyConfig::Sequential => (1, None),
            StrategyConfig::Parallel { max_parallel } => (*max_parallel, None),
            StrategyConfig::Canary {
                services,
                bake,
                max_parallel,
            } => {
                let mut first = BTreeSet::new();
                let mut stack: Vec<String> = services
                    .iter()
                    .filter(|s| needs.contains_key(*s))
                    .cloned()
                    .collect();
                while let Some(s) = stack.pop() {
                    if first.insert(s.clone()) {
                        stack.extend(needs[&s].iter().cloned());
                    }
                }
                // A zero bake releases the rest without a `Bake` the model could see.
                let gate = (!first.is_empty() && !bake.is_zero()).then_some(first);
                (*max_parallel, gate)
            }
        };
        Model {
            config,
            needs,
            cap,
            first,
            released: false,
            owed: Vec::new(),
            dispatched: BTreeSet::new(),
            skipped: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            verified: BTreeSet::new(),
            deployed: Vec::new(),
            handled: Vec::new(),
            dones: 0,
            trouble: false,
        }
    }

    fn node(&self, s: &str) -> &NodeSpec {
        self.config
            .nodes
            .iter()
            .find(|n| n.name == s)
            .expect("known service")
    }

    fn take(&mut self, owed: &Owed) {
        self.owed.retain(|o| o != owed);
    }

    fn observe(&mut self, commands: &[Command]) -> Result<(), String> {
        for c in commands {
            if self.dones > 0 {
                return Err(format!("{c} after Done"));
            }
            match c {
                Command::Dispatch { service } => {
                    if let Some(missing) = self.needs[service]
                        .iter()
                        .find(|n| !self.verified.contains(*n))
                    {
                        return Err(format!("{service} dispatched before {missing} verified"));
                    }
                    if !self.dispatched.insert(service.clone()) || self.skipped.contains(service) {
                        return Err(format!("{service} dispatched twice or after a skip"));
                    }
                    if let Some(first) = &self.first
                        && !self.released
                        && !first.contains(service)
                    {
                        return Err(format!("{service} dispatched before the bake ended"));
                    }
                    self.in_flight.insert(service.clone());
                    if self.in_flight.len() > self.cap {
                        return Err(format!(
                            "{} in flight, cap {}",
                            self.in_flight.len(),
                            self.cap
                        ));
                    }
                    self.owed.push(Owed::Dispatch(service.clone()));
                }
                Command::Await { service } => self.owed.push(Owed::Await(service.clone())),
                Command::Check { service } => self.owed.push(Owed::Check(service.clone())),
                Command::Cancel { service } => {
                    let run_open = self
                        .owed
                        .iter()
                        .any(|o| matches!(o, Owed::Dispatch(s) | Owed::Await(s) if s == service));
                    self.owed.retain(|o| {
                        !matches!(o, Owed::Dispatch(s) | Owed::Await(s) | Owed::Check(s) if s == service)
                    });
                    self.owed.push(Owed::Cancel(service.clone(), run_open));
                }
                Command::Skip { service, .. } => {
                    if self.dispatched.contains(service) || !self.skipped.insert(service.clone()) {
                        return Err(format!("{service} skipped after dispatch or twice"));
                    }
                }
                Command::Rollback { service } | Command::Halt { service } => {
                    let rollback = matches!(c, Command::Rollback { .. });
                    if rollback == self.node(service).irreversible {
                        return Err(format!(
                            "{c}: wrong kind for irreversible={}",
                            self.node(service).irreversible
                        ));
                    }
                    if self.owed.iter().any(|o| matches!(o, Owed::Rollback(_))) {
                        return Err(format!("{c} while another rollback runs"));
                    }
                    self.handled.push(service.clone());
                    if rollback {
                        self.owed.push(Owed::Rollback(service.clone()));
                    }
                }
                Command::Bake { until } => self.owed.push(Owed::Bake(*until)),
                Command::Done { .. } => {
                    self.dones += 1;
                    if !self.owed.is_empty() || !self.in_flight.is_empty() {
                        return Err(format!("Done with {:?} still owed", self.owed));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Picks the next event: mostly an answer to something owed, sometimes a fault or nonsense.
/// Returns the event and whether the scheduler must accept it.
fn next_event(model: &mut Model, rng: &mut Rng, now: Duration) -> Option<(Event, Option<bool>)> {
    let services: Vec<String> = model.config.nodes.iter().map(|n| n.name.clone()).collect();
    if rng.percent(5) {
        let event = match rng.below(4) {
            0 => Event::Abort { now },
            1 => Event::ReleaseTimeout { now },
            2 => Event::TimedOut {
                service: services[rng.below(services.len())].clone(),
                now,
            },
            _ => Event::Tick { now },
        };
        return Some((event, None));
    }
    if rng.percent(5) {
        let nonsense = match rng.below(3) {
            0 => Event::RunFinished {
                service: "ghost".into(),
                success: true,
                now,
            },
            1 => Event::Start { now },
            _ => Event::Cancelled {
                service: services[rng.below(services.len())].clone(),
                now,
            },
        };
        // A `Cancelled` is legitimate only when a cancel is owed.
        let legit = matches!(&nonsense, Event::Cancelled { service, .. }
            if model.owed.iter().any(|o| matches!(o, Owed::Cancel(s, _) if s == service)));
        if !legit {
            return Some((nonsense, Some(false)));
        }
    }
    if model.owed.is_empty() {
        return None;
    }
    let owed = model.owed[rng.below(model.owed.len())].clone();
    model.take(&owed);
    let event = match owed {
        Owed::Dispatch(service) if rng.percent(85) => Event::Dispatched { service, now },
        Owed::Dispatch(service) => {
            model.in_flight.remove(&service);
            Event::RunFinished {
                service,
                success: false,
                now,
            }
        }
        Owed::Await(service) => {
            let success = rng.percent(85);
            if success {
                model.deployed.push(service.clone());
            }
            if !success || !model.node(&service).has_health {
                model.in_flight.remove(&service);
            }
            if success && !model.node(&service).has_health {
                model.verified.insert(service.clone());
            }
            Event::RunFinished {
                service,
                success,
                now,
            }
        }
        Owed::Check(service) => {
            let ok = rng.percent(85);
            model.in_flight.remove(&service);
            if ok {
                model.verified.insert(service.clone());
            }
            Event::HealthVerdict { service, ok, now }
        }
        Owed::Cancel(service, run_open) => {
            model.in_flight.remove(&service);
            if run_open && rng.percent(30) {
                let success = rng.percent(50);
                if success {
                    model.deployed.push(service.clone());
                }
                Event::RunFinished {
                    service,
                    success,
                    now,
                }
            } else {
                Event::Cancelled { service, now }
            }
        }
        Owed::Rollback(service) => {
            let outcome = match rng.below(4) {
                0 => RollbackOutcome::Failed,
                1 => RollbackOutcome::Refused,
                2 => RollbackOutcome::NoPrevious,
                _ => RollbackOutcome::Succeeded,
            };
            Event::RollbackFinished {
                service,
                outcome,
                now,
            }
        }
        Owed::Bake(until) => {
            model.released = true;
            Event::Tick {
                now: until.max(now),
            }
        }
    };
    Some((event, Some(true)))
}

fn run_one(seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let config = random_config(&mut rng);
    let mut scheduler = Scheduler::new(config.clone()).map_err(|e| e.to_string())?;
    let mut model = Model::new(config.clone());
    let mut now = Duration::ZERO;
    model.observe(&scheduler.on_event(Event::Start { now }))?;
    for _ in 0..1_000 {
        if model.dones > 0 {
            break;
        }
        now += Duration::from_secs(1 + rng.next() % 30);
        let Some((event, must_accept)) = next_event(&mut model, &mut rng, now) else {
            return Err(format!("stuck: nothing owed, no Done ({config:?})"));
        };
        let text = event.to_string();
        let stops = matches!(event, Event::Abort { .. } | Event::ReleaseTimeout { .. });
        if let Event::Tick { now } = event
            && let Some(bake) = model
                .owed
                .iter()
                .find(|o| matches!(o, Owed::Bake(until) if *until <= now))
                .cloned()
        {
            model.take(&bake);
            model.released = true;
        }
        match (scheduler.try_event(event), must_accept) {
            (Ok(commands), Some(true) | None) => {
                if must_accept.is_none() {
                    model.trouble = true;
                }
                if stops {
                    model.owed.retain(|o| !matches!(o, Owed::Bake(_)));
                }
                model.observe(&commands)?;
            }
            (Err(_), Some(false) | None) => {}
            (Ok(commands), Some(false)) => return Err(format!("{text} accepted: {commands:?}")),
            (Err(why), Some(true)) => return Err(format!("{text} rejected: {why}")),
        }
    }
    if model.dones != 1 {
        return Err(format!("{} Done commands", model.dones));
    }
    let Some((status, _)) = scheduler.done() else {
        return Err("scheduler not finished".into());
    };
    for (service, outcome) in scheduler.outcomes() {
        if outcome.is_none() {
            return Err(format!("{service} unsettled"));
        }
        if model.dispatched.contains(&service) == model.skipped.contains(&service) {
            return Err(format!("{service} must be dispatched xor skipped"));
        }
    }
    let all_verified = config
        .nodes
        .iter()
        .all(|n| model.verified.contains(&n.name));
    let succeeded = status == ReleaseStatus::Succeeded;
    if (succeeded && !all_verified) || (!model.trouble && succeeded != all_verified) {
        return Err(format!(
            "status {status:?} but all verified = {all_verified}"
        ));
    }
    let expected: Vec<String> = if status != ReleaseStatus::Succeeded && config.rollback_on_failure
    {
        model.deployed.iter().rev().cloned().collect()
    } else {
        Vec::new()
    };
    if model.handled != expected {
        return Err(format!(
            "rolled back {:?}, expected {expected:?}",
            model.handled
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn the_protocol_holds_for_random_graphs_and_orders(seed in any::<u64>()) {
        if let Err(why) = run_one(seed) {
            prop_assert!(false, "seed {seed}: {why}");
        }
    }
}
