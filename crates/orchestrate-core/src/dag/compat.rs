//! Compatibility checks (SPEC §6): every `requires` range against the versions each state of
//! the release holds, from the first wave to the final state, and whether rolling a service
//! back would break an irreversible service.
//!
//! Which ranges apply in a state: those of release services already at their target (the plan
//! describes the target version), and those of services outside the release set that are
//! deployed (they keep running and keep needing what they need). A release service still at its
//! old version is not checked: the plan does not say what the old version requires.
//!
//! Matching follows semver's pre-release rule: `1.3.0-rc.1` satisfies a range only if a
//! comparator of the range names a pre-release of `1.3.0` itself (`>=1.3.0-rc.0`), so
//! `>=1.2, <2` does not accept it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use semver::{Version, VersionReq};

use crate::report::{CompatStatus, CompatVerdict};

/// A state of the release the verdict holds in. Waves are numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompatState {
    /// While wave `n` deploys: a service of the wave is at its target while another service of
    /// the same wave it requires is still at its deployed version.
    DuringWave(usize),
    /// Waves `1..=n` deployed, the rest not yet.
    AfterWave(usize),
    /// Every service of the release at its target.
    Final,
}

impl fmt::Display for CompatState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompatState::DuringWave(n) => write!(f, "during wave {n}"),
            CompatState::AfterWave(n) => write!(f, "after wave {n}"),
            CompatState::Final => write!(f, "final state"),
        }
    }
}

/// One verdict and the state it holds in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatFinding {
    pub state: CompatState,
    pub verdict: CompatVerdict,
}

impl CompatFinding {
    /// A one-line description naming the state, e.g. `android requires backend >=1.2, <2 but
    /// gets 1.1.0 (after wave 1)`.
    pub fn message(&self) -> String {
        let v = &self.verdict;
        let what = match (&v.status, &v.against) {
            (CompatStatus::Ok, Some(version)) => format!("gets {version}"),
            (CompatStatus::Violated, Some(version)) => format!("but gets {version}"),
            _ => format!("but no version of {} is known", v.requires),
        };
        format!(
            "{} requires {} {} {what} ({})",
            v.service, v.requires, v.range, self.state
        )
    }
}

/// What the checks look at.
#[derive(Debug, Clone, Copy)]
pub struct CompatInput<'a> {
    /// For each service of the plan, the ranges it requires of other services.
    pub requires: &'a BTreeMap<String, BTreeMap<String, VersionReq>>,
    /// Target versions of the release set.
    pub targets: &'a BTreeMap<String, Version>,
    /// What the registry says is deployed, for every service it knows.
    pub deployed: &'a BTreeMap<String, Version>,
    /// The deploy order: the release set in waves (from [`super::Graph::waves`]). For a
    /// sequential release, pass one service per wave to check the state after each one.
    pub waves: &'a [Vec<String>],
}

/// Every verdict of the final state (ok or not), preceded by every problem (violated or
/// unknown) of an earlier state that the final state does not show, each reported once, at
/// the first state it appears in, in the order the states occur.
pub fn check(input: &CompatInput<'_>) -> Vec<CompatFinding> {
    let total = input.waves.len();
    let final_state = evaluate(input, total, CompatState::Final);
    let mut seen: BTreeSet<(String, String, Option<String>)> = final_state
        .iter()
        .filter(|f| f.verdict.status != CompatStatus::Ok)
        .map(|f| key(&f.verdict))
        .collect();
    let mut findings = Vec::new();
    for wave in 1..=total {
        let mut states = during_wave(input, wave);
        if wave < total {
            states.extend(evaluate(input, wave, CompatState::AfterWave(wave)));
        }
        for finding in states {
            if finding.verdict.status != CompatStatus::Ok && seen.insert(key(&finding.verdict)) {
                findings.push(finding);
            }
        }
    }
    findings.extend(final_state);
    findings
}

/// The findings of [`check`] as report verdicts: the final state's, then the earlier states'
/// problems, each naming its state.
pub fn verdicts(findings: &[CompatFinding]) -> Vec<CompatVerdict> {
    let (last, earlier): (Vec<_>, Vec<_>) =
        findings.iter().partition(|f| f.state == CompatState::Final);
    last.into_iter()
        .chain(earlier)
        .map(|f| CompatVerdict {
            state: (f.state != CompatState::Final).then(|| f.state.to_string()),
            ..f.verdict.clone()
        })
        .collect()
}

fn key(v: &CompatVerdict) -> (String, String, Option<String>) {
    (v.service.clone(), v.requires.clone(), v.against.clone())
}

/// The versions after the first `done` waves: their services at target, everything else at
/// its deployed version (when there is one).
fn versions_after<'a>(
    input: &CompatInput<'a>,
    done: usize,
) -> BTreeMap<&'a str, Option<&'a Version>> {
    let mut versions: BTreeMap<&str, Option<&Version>> = input
        .deployed
        .iter()
        .map(|(s, v)| (s.as_str(), Some(v)))
        .collect();
    for (n, wave) in input.waves.iter().enumerate() {
        for service in wave {
            let version = if n < done {
                input.targets.get(service)
            } else {
                input.deployed.get(service)
            };
            versions.insert(service.as_str(), version);
        }
    }
    versions
}

fn release_wave(input: &CompatInput<'_>, service: &str) -> Option<usize> {
    input
        .waves
        .iter()
        .position(|w| w.iter().any(|s| s == service))
}

/// The verdicts of the state after `done` waves.
fn evaluate(input: &CompatInput<'_>, done: usize, state: CompatState) -> Vec<CompatFinding> {
    let versions = versions_after(input, done);
    let mut findings = Vec::new();
    for (service, requires) in input.requires {
        let active = match release_wave(input, service) {
            Some(wave) => wave < done,
            None => input.deployed.contains_key(service),
        };
        if !active {
            continue;
        }
        for (required, range) in requires {
            let against = versions.get(required.as_str()).copied().flatten();
            findings.push(CompatFinding {
                state,
                verdict: verdict(service, required, range, against),
            });
        }
    }
    findings
}

/// Within wave `wave`, a service at its target requiring another service of the same wave
/// still at its deployed version (they run in parallel, either may finish first).
fn during_wave(input: &CompatInput<'_>, wave: usize) -> Vec<CompatFinding> {
    let Some(members) = input.waves.get(wave - 1) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for service in members {
        let Some(requires) = input.requires.get(service) else {
            continue;
        };
        for (required, range) in requires {
            if required != service && members.contains(required) {
                findings.push(CompatFinding {
                    state: CompatState::DuringWave(wave),
                    verdict: verdict(service, required, range, input.deployed.get(required)),
                });
            }
        }
    }
    findings
}

fn verdict(
    service: &str,
    required: &str,
    range: &VersionReq,
    against: Option<&Version>,
) -> CompatVerdict {
    let status = match against {
        None => CompatStatus::Unknown,
        Some(v) if range.matches(v) => CompatStatus::Ok,
        Some(_) => CompatStatus::Violated,
    };
    CompatVerdict {
        service: service.to_owned(),
        requires: required.to_owned(),
        range: range.to_string(),
        against: against.map(ToString::to_string),
        status,
        // Set by [`verdicts`]: a finding carries its state beside the verdict.
        state: None,
    }
}

/// Rolling `service` back would leave an irreversible service without what it requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "rolling {service} back to {rollback_to} would break {irreversible}, which requires {service} {range}"
)]
pub struct RollbackRefused {
    pub service: String,
    pub rollback_to: Version,
    pub irreversible: String,
    pub range: VersionReq,
}

/// Whether `service` may go back to `rollback_to`, given the `requires` of the irreversible
/// services that stay as they are (by name). Only ranges on `service` matter: nothing else
/// changes. The first broken range (by irreversible service name) is returned.
pub fn rollback_allowed(
    service: &str,
    rollback_to: &Version,
    irreversible: &BTreeMap<String, BTreeMap<String, VersionReq>>,
) -> Result<(), RollbackRefused> {
    for (name, requires) in irreversible {
        if name == service {
            continue;
        }
        if let Some(range) = requires.get(service)
            && !range.matches(rollback_to)
        {
            return Err(RollbackRefused {
                service: service.to_owned(),
                rollback_to: rollback_to.clone(),
                irreversible: name.clone(),
                range: range.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "compat_tests.rs"]
mod tests;
