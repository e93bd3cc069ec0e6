//! Injected faults: seeded random ones (5xx rate, latency, connection resets, "succeeded but
//! answered 502") and scripted ones (the nth matching request fails in a given way).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

/// What happens to one request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status (5xx) without doing anything.
    Status(u16),
    /// Drop the connection with a TCP reset, without an HTTP answer.
    Reset,
    /// Do the work (e.g. create the run) but answer 502.
    SucceedThen502,
    /// Create the run but answer 502, and keep the run out of the run lists for
    /// `listed_after` seconds (emulated): GitHub's lists trail its writes, so a client that
    /// looks for the run it may have created finds nothing and dispatches again.
    LateRun {
        /// Seconds (emulated) before the run shows in lists; a GET by id sees it at once.
        listed_after: u64,
    },
    /// A secondary rate limit: 403 or 429 with `retry-after` seconds.
    SecondaryLimit {
        /// 403 or 429.
        status: u16,
        /// Seconds in `retry-after`.
        retry_after: u64,
    },
}

/// A fault scripted for requests matching a method and path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedFault {
    /// Method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Substring of the path to match.
    pub path_contains: String,
    /// Matching requests to let through before faulting.
    #[serde(default)]
    pub skip: u32,
    /// How many matching requests fault after that.
    #[serde(default = "one")]
    pub times: u32,
    /// The fault.
    pub fault: Fault,
}

impl ScriptedFault {
    /// A fault for the next `times` requests whose path contains `path_contains`.
    pub fn new(method: Option<&str>, path_contains: &str, fault: Fault) -> Self {
        Self {
            method: method.map(str::to_owned),
            path_contains: path_contains.to_owned(),
            skip: 0,
            times: 1,
            fault,
        }
    }
}

/// Seeded random faults plus scripted ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the random generator.
    #[serde(default)]
    pub seed: u64,
    /// Probability that a request answers a 5xx (500, 502 or 503).
    #[serde(default)]
    pub error_rate: f64,
    /// Probability that a connection is reset instead of answered.
    #[serde(default)]
    pub reset_rate: f64,
    /// Probability that a workflow dispatch creates its run but answers 502.
    #[serde(default)]
    pub dispatch_502_rate: f64,
    /// Added latency, milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Extra random latency up to this many milliseconds.
    #[serde(default)]
    pub latency_jitter_ms: u64,
    /// Scripted faults.
    #[serde(default)]
    pub script: Vec<ScriptedFault>,
}

/// The decision for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long before answering.
    pub latency: Duration,
    /// The fault to apply, if any.
    pub fault: Option<Fault>,
}

/// The live fault state.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: StdRng,
    seen: Vec<u32>,
}

impl Faults {
    /// Fault state from its configuration.
    pub fn new(config: FaultConfig) -> Self {
        let rng = StdRng::seed_from_u64(config.seed);
        let seen = vec![0; config.script.len()];
        Self { config, rng, seen }
    }

    /// Adds a scripted fault at run time.
    pub fn script(&mut self, fault: ScriptedFault) {
        self.config.script.push(fault);
        self.seen.push(0);
    }

    /// Decides what happens to a request.
    pub fn decide(&mut self, method: &str, path: &str) -> Decision {
        let mut decision = Decision {
            latency: self.latency(),
            fault: None,
        };
        for (index, scripted) in self.config.script.iter().enumerate() {
            let method_ok = scripted
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            if !method_ok || !path.contains(&scripted.path_contains) {
                continue;
            }
            let seen = &mut self.seen[index];
            *seen += 1;
            if *seen > scripted.skip && *seen <= scripted.skip + scripted.times {
                decision.fault = Some(scripted.fault.clone());
                return decision;
            }
        }
        decision.fault = self.random_fault(method, path);
        decision
    }

    fn latency(&mut self) -> Duration {
        let jitter = match self.config.latency_jitter_ms {
            0 => 0,
            max => self.rng.random_range(0..=max),
        };
        Duration::from_millis(self.config.latency_ms + jitter)
    }

    fn random_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let is_dispatch =
            method == "POST" && path.ends_with("/dispatches") && path.contains("/workflows/");
        if is_dispatch && self.roll(self.config.dispatch_502_rate) {
            return Some(Fault::SucceedThen502);
        }
        if self.roll(self.config.reset_rate) {
            return Some(Fault::Reset);
        }
        if self.roll(self.config.error_rate) {
            let statuses = [500, 502, 503];
            return Some(Fault::Status(
                statuses[self.rng.random_range(0..statuses.len())],
            ));
        }
        None
    }

    fn roll(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.rng.random::<f64>() < probability
    }
}

fn one() -> u32 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_fault_hits_only_the_chosen_occurrence() {
        let mut faults = Faults::new(FaultConfig::default());
        let mut fault = ScriptedFault::new(Some("GET"), "/actions/runs", Fault::Status(503));
        fault.skip = 1;
        faults.script(fault);
        assert_eq!(faults.decide("GET", "/repos/o/r/actions/runs").fault, None);
        assert_eq!(
            faults.decide("GET", "/repos/o/r/actions/runs").fault,
            Some(Fault::Status(503))
        );
        assert_eq!(faults.decide("GET", "/repos/o/r/actions/runs").fault, None);
        assert_eq!(faults.decide("POST", "/repos/o/r/actions/runs").fault, None);
    }

    #[test]
    fn same_seed_gives_same_faults() {
        let config = FaultConfig {
            seed: 7,
            error_rate: 0.5,
            ..FaultConfig::default()
        };
        let run = |config: FaultConfig| {
            let mut faults = Faults::new(config);
            (0..50)
                .map(|_| faults.decide("GET", "/x").fault)
                .collect::<Vec<_>>()
        };
        let first = run(config.clone());
        assert_eq!(first, run(config));
        assert!(first.iter().any(Option::is_some) && first.iter().any(Option::is_none));
    }
}
