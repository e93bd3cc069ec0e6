//! The arithmetic of `orchestrate stats` over a list of [`Record`]s (see the README's `stats`
//! section for the definitions).

use std::collections::{BTreeMap, BTreeSet};

use super::{Outcome, Record, ReleaseTimes};

const DAY: f64 = 86_400.0;

/// What was counted, and the figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub period_start: i64,
    pub period_end: i64,
    /// Settled deployments counted (unsettled ones are only reported).
    pub deployments: usize,
    pub unsettled: usize,
    pub repositories: usize,
    pub services: usize,
    pub releases: usize,
    /// Releases whose manifest was read: their coordination latency and health come from it.
    pub manifests: usize,
    pub figures: Figures,
}

/// Rates are fractions (0–1), durations seconds; `None` when nothing was there to measure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Figures {
    pub succeeded: usize,
    pub failed: usize,
    pub rolled_back: usize,
    pub success_rate: Option<f64>,
    /// Failed or rolled back, over settled deployments.
    pub failure_rate: Option<f64>,
    pub rollback_rate: Option<f64>,
    pub duration_avg: Option<f64>,
    pub duration_p50: Option<i64>,
    pub duration_p90: Option<i64>,
    pub health_checked: usize,
    pub health_passed: usize,
    pub health_pass_rate: Option<f64>,
    /// Upstream verified → dependent recorded, within a release (with its manifest: a
    /// service's `needs` verified → its dispatch, to the millisecond).
    pub coordination_pairs: usize,
    pub coordination_latency_avg: Option<f64>,
    pub coordination_latency_max: Option<f64>,
    pub releases_succeeded: usize,
    pub releases_failed: usize,
    pub releases_rolled_back: usize,
    /// DORA: successful releases per day over the period.
    pub deployment_frequency_per_day: Option<f64>,
    /// DORA lead time, by proxy: a successful release's first deployment recorded → its last
    /// service settled (commit times are not in the registry).
    pub lead_time_avg: Option<f64>,
    pub lead_time_p50: Option<i64>,
    /// DORA: failed or rolled-back releases over settled releases.
    pub change_failure_rate: Option<f64>,
    /// DORA time to restore: a failed release's first failure → its rollback settled, or
    /// (without a rollback) the next successful release settled.
    pub mttr_avg: Option<f64>,
    pub restored: usize,
    pub unrestored: usize,
}

/// Nearest-rank percentile of `values` (any order); `None` when empty.
pub fn percentile(values: &[i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
}

fn mean_f(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

struct Release<'a> {
    records: Vec<&'a Record>,
    start: i64,
    end: Option<i64>,
    outcome: Outcome,
}

fn releases(records: &[Record]) -> Vec<Release<'_>> {
    let mut grouped: BTreeMap<String, Vec<&Record>> = BTreeMap::new();
    for r in records {
        grouped.entry(r.release_key()).or_default().push(r);
    }
    let mut out: Vec<Release> = grouped
        .into_values()
        .map(|records| {
            let start = records.iter().map(|r| r.created_at).min().unwrap_or(0);
            let has = |o: Outcome| records.iter().any(|r| r.outcome == o);
            let outcome = if has(Outcome::Unsettled) {
                Outcome::Unsettled
            } else if has(Outcome::RolledBack) {
                Outcome::RolledBack
            } else if has(Outcome::Failed) {
                Outcome::Failed
            } else {
                Outcome::Succeeded
            };
            let end = (outcome != Outcome::Unsettled)
                .then(|| records.iter().filter_map(|r| r.settled_at).max())
                .flatten();
            Release {
                records,
                start,
                end,
                outcome,
            }
        })
        .collect();
    out.sort_by_key(|r| r.start);
    out
}

/// Latencies from an upstream service verified to the next deployment of the same release
/// recorded after it; with the release's manifest, from a service's `needs` verified to its
/// dispatch.
fn coordination(release: &Release, manifests: &BTreeMap<&str, &ReleaseTimes>) -> Vec<f64> {
    let manifest = release
        .records
        .first()
        .and_then(|r| r.release_id.as_deref())
        .and_then(|id| manifests.get(id));
    if let Some(manifest) = manifest {
        return manifest.hand_offs(release.records.iter().map(|r| r.service.as_str()));
    }
    release
        .records
        .iter()
        .filter_map(|d| {
            release
                .records
                .iter()
                .filter(|u| u.deployment_id != d.deployment_id)
                .filter(|u| matches!(u.outcome, Outcome::Succeeded | Outcome::RolledBack))
                .filter_map(|u| u.settled_at)
                .filter(|&settled| settled <= d.created_at)
                .max()
                .map(|settled| (d.created_at - settled) as f64)
        })
        .collect()
}

/// `records` with the health verdicts of the releases' manifests, where a manifest has one
/// for the service.
fn with_manifest_health(
    records: &[Record],
    manifests: &BTreeMap<&str, &ReleaseTimes>,
) -> Vec<Record> {
    records
        .iter()
        .map(|r| {
            let from_manifest = r
                .release_id
                .as_deref()
                .and_then(|id| manifests.get(id))
                .and_then(|m| m.services.get(&r.service));
            match from_manifest {
                Some(service) => Record {
                    health: service.health,
                    ..r.clone()
                },
                None => r.clone(),
            }
        })
        .collect()
}

/// When a failed release's failure was restored, if it was, and when it failed.
fn restore(release: &Release, later: &[Release]) -> (i64, Option<i64>) {
    let first = |o: Outcome| {
        release
            .records
            .iter()
            .filter(|r| r.outcome == o)
            .filter_map(|r| r.settled_at)
            .min()
    };
    let failed_at = first(Outcome::Failed)
        .or_else(|| first(Outcome::RolledBack))
        .unwrap_or(release.start);
    let rolled_back = release
        .records
        .iter()
        .filter(|r| r.outcome == Outcome::RolledBack)
        .filter_map(|r| r.closed_at)
        .max();
    let restored = rolled_back.or_else(|| {
        later
            .iter()
            .filter(|l| l.outcome == Outcome::Succeeded && l.start >= failed_at)
            .filter_map(|l| l.end)
            .min()
    });
    (failed_at, restored.map(|r| r.max(failed_at)))
}

/// The figures of `records` (already filtered to the period and service asked for) over the
/// period `[start, end]`, sharpened by the `manifests` of their releases.
pub fn compute(records: &[Record], manifests: &[ReleaseTimes], start: i64, end: i64) -> Summary {
    let known: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r.release_id.as_deref())
        .collect();
    let manifests: BTreeMap<&str, &ReleaseTimes> = manifests
        .iter()
        .filter(|m| known.contains(m.release_id.as_str()))
        .map(|m| (m.release_id.as_str(), m))
        .collect();
    let records = &with_manifest_health(records, &manifests)[..];
    let settled: Vec<&Record> = records
        .iter()
        .filter(|r| r.outcome != Outcome::Unsettled)
        .collect();
    let count = |o: Outcome| settled.iter().filter(|r| r.outcome == o).count();
    let (succeeded, failed, rolled_back) = (
        count(Outcome::Succeeded),
        count(Outcome::Failed),
        count(Outcome::RolledBack),
    );
    let durations: Vec<i64> = settled.iter().filter_map(|r| r.duration()).collect();
    let checked: Vec<bool> = settled.iter().filter_map(|r| r.health).collect();
    let passed = checked.iter().filter(|&&p| p).count();
    let all = releases(records);
    let latencies: Vec<f64> = all
        .iter()
        .flat_map(|r| coordination(r, &manifests))
        .collect();
    let settled_releases: Vec<&Release> = all
        .iter()
        .filter(|r| r.outcome != Outcome::Unsettled)
        .collect();
    let releases_with = |o: Outcome| settled_releases.iter().filter(|r| r.outcome == o).count();
    let (rel_ok, rel_failed, rel_rolled) = (
        releases_with(Outcome::Succeeded),
        releases_with(Outcome::Failed),
        releases_with(Outcome::RolledBack),
    );
    let lead: Vec<i64> = settled_releases
        .iter()
        .filter(|r| r.outcome == Outcome::Succeeded)
        .filter_map(|r| r.end.map(|e| (e - r.start).max(0)))
        .collect();
    let mut restore_times = Vec::new();
    let mut unrestored = 0;
    for (i, release) in all.iter().enumerate() {
        if !matches!(release.outcome, Outcome::Failed | Outcome::RolledBack) {
            continue;
        }
        match restore(release, &all[i + 1..]) {
            (failed_at, Some(restored)) => restore_times.push(restored - failed_at),
            (_, None) => unrestored += 1,
        }
    }
    let days = (end - start).max(0) as f64 / DAY;
    let figures = Figures {
        succeeded,
        failed,
        rolled_back,
        success_rate: ratio(succeeded, settled.len()),
        failure_rate: ratio(failed + rolled_back, settled.len()),
        rollback_rate: ratio(rolled_back, settled.len()),
        duration_avg: mean(&durations),
        duration_p50: percentile(&durations, 50),
        duration_p90: percentile(&durations, 90),
        health_checked: checked.len(),
        health_passed: passed,
        health_pass_rate: ratio(passed, checked.len()),
        coordination_pairs: latencies.len(),
        coordination_latency_avg: mean_f(&latencies),
        coordination_latency_max: latencies.iter().copied().reduce(f64::max),
        releases_succeeded: rel_ok,
        releases_failed: rel_failed,
        releases_rolled_back: rel_rolled,
        deployment_frequency_per_day: (days > 0.0).then(|| rel_ok as f64 / days),
        lead_time_avg: mean(&lead),
        lead_time_p50: percentile(&lead, 50),
        change_failure_rate: ratio(rel_failed + rel_rolled, settled_releases.len()),
        mttr_avg: mean(&restore_times),
        restored: restore_times.len(),
        unrestored,
    };
    Summary {
        period_start: start,
        period_end: end,
        deployments: settled.len(),
        unsettled: records.len() - settled.len(),
        repositories: records
            .iter()
            .map(|r| &r.repo)
            .collect::<BTreeSet<_>>()
            .len(),
        services: records
            .iter()
            .map(|r| &r.service)
            .collect::<BTreeSet<_>>()
            .len(),
        releases: all.len(),
        manifests: manifests.len(),
        figures,
    }
}
