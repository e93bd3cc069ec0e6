//! Predicting when a run ends from the workflow's recent successful runs, and the polls that
//! follow: a few sparse ones while the run is young, dense ones where most earlier runs ended,
//! at most `edge_max` apart anywhere else the run may end. Pure arithmetic: callers pass
//! durations and ages.

use std::time::Duration;

/// The window of run ages in which a run is expected to end, from earlier runs' durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast {
    /// The median of the kept durations.
    pub median: Duration,
    /// The shortest and longest kept durations (outliers trimmed).
    pub low: Duration,
    pub high: Duration,
    /// The 20th and 80th percentiles of the kept durations (linear interpolation): where
    /// three runs in five ended.
    pub core: (Duration, Duration),
    /// The spread: 1.4826 × the median absolute deviation (a standard deviation for normally
    /// spread durations), at least 1 s and 1 % of the median.
    pub sigma: Duration,
    /// How many durations were kept after trimming.
    pub kept: usize,
}

impl Forecast {
    /// The forecast from earlier runs' durations, or `None` with no usable history (empty, or
    /// only zero durations). Outliers are trimmed with the median absolute deviation: a
    /// duration further than 3 MAD from the median (the MAD taken as at least 1 % of the
    /// median and at least 1 s, so identical histories keep near-identical runs) is dropped.
    pub fn from_durations(durations: &[Duration]) -> Option<Forecast> {
        let mut sorted: Vec<Duration> =
            durations.iter().copied().filter(|d| !d.is_zero()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort();
        let median = median_of(&sorted);
        let floor = (median / 100).max(Duration::from_secs(1));
        let mad = median_of(&deviations(&sorted, median)).max(floor);
        let bound = mad * 3;
        let kept: Vec<Duration> = sorted
            .into_iter()
            .filter(|d| d.abs_diff(median) <= bound)
            .collect();
        // The median itself is always within the bound, so `kept` is never empty.
        let low = *kept.first()?;
        let high = *kept.last()?;
        let median = median_of(&kept);
        let sigma = median_of(&deviations(&kept, median))
            .max(floor)
            .mul_f64(1.4826);
        Some(Forecast {
            median,
            low,
            high,
            core: (quantile(&kept, 0.2), quantile(&kept, 0.8)),
            sigma,
            kept: kept.len(),
        })
    }

    /// The margin added on both sides of `[low, high]`: half the spread, at least 1 s. With
    /// ten earlier runs, about one run in eleven is shorter than all of them.
    pub fn margin(&self) -> Duration {
        (self.sigma / 2).max(Duration::from_secs(1))
    }

    /// The window `[low - margin, high + margin]` of run ages.
    pub fn window(&self) -> (Duration, Duration) {
        let margin = self.margin();
        (
            self.low.saturating_sub(margin),
            self.high.saturating_add(margin),
        )
    }
}

/// The polls of a run, with or without a forecast.
///
/// Detection latency is the time from a run's end to the first poll after it: with polls `s`
/// apart it is spread evenly over `[0, s]`, so its median is `s / 2`. With a forecast the
/// polls follow a fixed schedule of run ages:
/// - **core** `[P20 − dense/2, P80 + dense/2]` (within the window), where three earlier runs
///   in five ended: every `dense`, so an end there is seen within `dense` (median `dense/2`);
/// - **the rest of the window and past it**: at most `edge_max` apart, so an end anywhere at
///   or after the window's start is seen within `edge_max`;
/// - **before the window**: a few evenly spaced polls from the registration to the first one
///   of the window's schedule, at least `sparse_min` apart, at most `sparse_max`, and
///   `early_polls` of them when there is room, so that an early failure is noticed within
///   about a quarter of the run.
///
/// For a fixed number of polls, dense polls where the end is likely and sparse ones where it
/// is not give the least median latency; the floor is the core's width over `dense`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPolicy {
    /// The interval inside the core (and early in a run without history).
    pub dense: Duration,
    /// The longest interval anywhere in the window, and past it.
    pub edge_max: Duration,
    /// How many polls to place before the window when there is room (`sparse_min` apart).
    pub early_polls: u32,
    /// The shortest and longest wait between polls before the window.
    pub sparse_min: Duration,
    pub sparse_max: Duration,
    /// Without history: `dense` for the first `young`, then `steady`.
    pub young: Duration,
    pub steady: Duration,
}

impl Default for ForecastPolicy {
    /// Real time: 1.3 s in the core keeps the median latency under 1 s; at most 2.8 s anywhere
    /// in or after the window keeps the 95th percentile under 3 s (without history too: 1.3 s
    /// for the first minute, 2.5 s after). Before the window: three polls when the run is
    /// long enough for them to be a minute apart, and never more than 5 minutes apart.
    fn default() -> Self {
        ForecastPolicy {
            dense: Duration::from_millis(1300),
            edge_max: Duration::from_millis(2800),
            early_polls: 3,
            sparse_min: Duration::from_secs(60),
            sparse_max: Duration::from_secs(300),
            young: Duration::from_secs(60),
            steady: Duration::from_millis(2500),
        }
    }
}

impl ForecastPolicy {
    /// The wait before the next poll of a run that is `age` old: to the first point of the
    /// schedule at least half a dense interval away (a poll that went out a little late does
    /// not double up on the next point).
    pub fn interval(&self, forecast: Option<&Forecast>, age: Duration) -> Duration {
        let Some(forecast) = forecast else {
            return if age < self.young {
                self.dense
            } else {
                self.steady
            };
        };
        let (next, step) = Schedule::new(self, forecast).next_at_or_after(age + self.dense / 2);
        // Never more than a step from now, for a poll that went out off the schedule.
        next.saturating_sub(age).min(step)
    }

    /// The ages at which a run of `duration` is polled, from its registration up to and
    /// including the poll that sees it completed: what the request targets are measured by.
    pub fn poll_ages(&self, forecast: Option<&Forecast>, duration: Duration) -> Vec<Duration> {
        let mut ages = Vec::new();
        let mut age = Duration::ZERO;
        loop {
            age += self.interval(forecast, age);
            ages.push(age);
            if age >= duration {
                return ages;
            }
        }
    }
}

/// A forecast's poll schedule as four runs of evenly spaced ages: `sparse` from 0 to `first`,
/// the left tail from `first` to the core's start, the core, and past it every `edge`.
struct Schedule {
    sparse_step: Duration,
    first: Duration,
    tail_step: Duration,
    core_start: Duration,
    dense: Duration,
    core_last: Duration,
    edge: Duration,
}

impl Schedule {
    fn new(policy: &ForecastPolicy, forecast: &Forecast) -> Schedule {
        let dense = policy.dense.max(Duration::from_millis(1));
        let edge = policy.edge_max.max(dense);
        let (start, end) = forecast.window();
        let core_start = forecast.core.0.saturating_sub(dense / 2).clamp(start, end);
        let core_end = (forecast.core.1 + dense / 2).clamp(core_start, end);
        // The core's polls: every `dense` from its start until one at or past its end.
        let steps = (core_end - core_start).as_secs_f64() / dense.as_secs_f64();
        let core_last = core_start + dense * (steps.ceil() as u32);
        // The left tail: the fewest polls at most `edge` apart ending at the core's start, the
        // first one a step into the window.
        let tail = core_start - start;
        let tail_steps = (tail.as_secs_f64() / edge.as_secs_f64()).ceil().max(1.0) as u32;
        let tail_step = tail / tail_steps;
        let first = start + tail_step;
        // Before it: `early_polls` + 1 intervals when they can be `sparse_min` long, fewer when
        // not, more when they would exceed `sparse_max`.
        let fit = (first.as_secs_f64() / policy.sparse_min.as_secs_f64().max(1e-3)).floor();
        let cap = (first.as_secs_f64() / policy.sparse_max.as_secs_f64().max(1e-3)).ceil();
        let intervals = fit
            .min(f64::from(policy.early_polls) + 1.0)
            .max(cap)
            .max(1.0);
        Schedule {
            sparse_step: first.div_f64(intervals),
            first,
            tail_step,
            core_start,
            dense,
            core_last,
            edge,
        }
    }

    /// The first scheduled age at or after `age`, and the step of the schedule there.
    fn next_at_or_after(&self, age: Duration) -> (Duration, Duration) {
        let (from, step, last) = if age <= self.first {
            (Duration::ZERO, self.sparse_step, self.first)
        } else if age <= self.core_start {
            (self.first, self.tail_step, self.core_start)
        } else if age <= self.core_last {
            (self.core_start, self.dense, self.core_last)
        } else {
            (self.core_last, self.edge, Duration::MAX)
        };
        if step.is_zero() {
            return (last, self.dense);
        }
        let n = ((age - from).as_secs_f64() / step.as_secs_f64()).ceil();
        ((from + step.mul_f64(n)).min(last), step)
    }
}

/// The `q` quantile of sorted durations, interpolating linearly between neighbours.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let at = q.clamp(0.0, 1.0) * (sorted.len().saturating_sub(1)) as f64;
    let (i, frac) = (at.floor() as usize, at.fract());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + (*next - sorted[i]).mul_f64(frac),
        None => sorted[i],
    }
}

fn deviations(sorted: &[Duration], median: Duration) -> Vec<Duration> {
    let mut deviations: Vec<Duration> = sorted.iter().map(|d| d.abs_diff(median)).collect();
    deviations.sort();
    deviations
}

fn median_of(sorted: &[Duration]) -> Duration {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Equal to the millisecond (the spreads are products of floating-point factors).
    fn near(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < ms(1)
    }

    fn history_2m40_3m20() -> Vec<Duration> {
        (0..10).map(|i| secs(160 + i * 40 / 9)).collect()
    }

    #[test]
    fn window_spans_the_history_with_half_a_spread_either_side() {
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        assert_eq!((f.low, f.high, f.kept), (secs(160), secs(200), 10));
        // 160, 164, 168, 173, 177, 182, 186, 191, 195, 200: median (177 + 182) / 2, and the
        // median of the deviations from it is 11.5 s.
        assert_eq!(f.median, ms(179_500));
        assert!(near(f.sigma, ms(17_050)), "{:?}", f.sigma);
        assert_eq!(f.core, (ms(167_200), ms(191_800)));
        let (start, end) = f.window();
        assert!(near(start, ms(151_475)), "{start:?}");
        assert!(near(end, ms(208_525)), "{end:?}");
    }

    #[test]
    fn outliers_are_trimmed() {
        // A run stuck in a queue for 20 minutes and one that failed fast do not widen the window.
        let durations = [20, 21, 19, 22, 20, 1200, 2].map(secs);
        let f = Forecast::from_durations(&durations).expect("a forecast");
        assert_eq!(
            (f.low, f.high, f.kept, f.median),
            (secs(19), secs(22), 5, secs(20))
        );
        assert_eq!(f.window(), (secs(18), secs(23)));
    }

    #[test]
    fn identical_history_keeps_a_margin() {
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        assert!(near(f.sigma, ms(1483)), "{:?}", f.sigma);
        assert_eq!(f.window(), (secs(19), secs(21)));
    }

    #[test]
    fn no_history_means_no_forecast() {
        assert_eq!(Forecast::from_durations(&[]), None);
        assert_eq!(Forecast::from_durations(&[Duration::ZERO]), None);
    }

    #[test]
    fn sparse_before_the_window_dense_in_the_core_edge_past_it() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        // Window [19, 21]; core [20 - 0.65, 20 + 0.65]; the 0.35 s of window before the core
        // take one step, so the first poll is the core's start, and it is the only one before.
        assert_eq!(f.core, (secs(20), secs(20)));
        assert_eq!(p.interval(Some(&f), secs(0)), ms(19_350));
        assert_eq!(p.interval(Some(&f), ms(17_500)), ms(1850));
        // Off the schedule (a poll that went out late, say) the next comes within a step.
        assert_eq!(p.interval(Some(&f), ms(18_800)), ms(1300));
        // In the core every 1.3 s, past it every 2.8 s.
        assert_eq!(p.interval(Some(&f), ms(19_350)), ms(1300));
        assert_eq!(p.interval(Some(&f), ms(20_650)), ms(2800));
        assert_eq!(p.interval(Some(&f), ms(23_450)), ms(2800));
        assert!(p.interval(Some(&f), secs(600)) <= ms(2800));
    }

    #[test]
    fn the_interval_is_dense_in_the_core_and_never_exceeds_the_edge_in_the_window() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        // P20 = 164 + 0.8 × 4, P80 = 191 + 0.2 × 4.
        assert_eq!(f.core, (ms(167_200), ms(191_800)));
        let ages = p.poll_ages(Some(&f), secs(400));
        let (start, _) = f.window();
        let inside: Vec<&[Duration]> = ages.windows(2).filter(|w| w[0] >= start).collect();
        assert!(inside.iter().all(|w| w[1] - w[0] <= p.edge_max), "{ages:?}");
        let core: Vec<&&[Duration]> = inside
            .iter()
            .filter(|w| w[0] >= ms(166_549) && w[1] <= ms(192_451))
            .collect();
        assert_eq!(core.len(), 19, "{ages:?}");
        assert!(core.iter().all(|w| near(w[1] - w[0], p.dense)), "{ages:?}");
    }

    #[test]
    fn a_long_run_gets_early_polls_then_the_window() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&[secs(600); 3]).expect("a forecast");
        // A spread of 1 % of the median (6 s × 1.4826), half of it either side.
        let (start, _) = f.window();
        assert!(near(start, ms(595_552)), "{start:?}");
        // The 3.8 s from there to the core [599.35, 600.65] take two steps of 1.9 s; the 597.45 s
        // before the first of them, four of 149.36 s (three early polls a minute or more apart).
        let ages = p.poll_ages(Some(&f), secs(600));
        let expected = [149_363, 298_726, 448_088, 597_451, 599_350, 600_650].map(ms);
        assert_eq!(ages.len(), expected.len(), "{ages:?}");
        assert!(
            ages.iter().zip(expected).all(|(a, e)| near(*a, e)),
            "{ages:?}"
        );
        // A run of an hour is polled every 5 minutes at most before its window.
        let f = Forecast::from_durations(&[secs(3600); 3]).expect("a forecast");
        let ages = p.poll_ages(Some(&f), secs(3000));
        assert_eq!(ages.len(), 11, "{ages:?}");
        assert!(
            ages.windows(2).all(|w| w[1] - w[0] <= secs(300)),
            "{ages:?}"
        );
    }

    #[test]
    fn without_history_dense_for_a_minute_then_steady() {
        let p = ForecastPolicy::default();
        assert_eq!(p.interval(None, secs(0)), ms(1300));
        assert_eq!(p.interval(None, secs(59)), ms(1300));
        assert_eq!(p.interval(None, secs(60)), ms(2500));
        assert_eq!(p.interval(None, secs(3600)), ms(2500));
    }

    #[test]
    fn request_counts_of_the_target_cases() {
        let p = ForecastPolicy::default();
        let evenly = |low: u64, high: u64| -> Vec<Duration> {
            (0..10).map(|i| ms(low + i * (high - low) / 9)).collect()
        };
        // A 20 s run whose ten earlier runs took 19–21 s: polled at the core's start and once
        // in it (plus the history list: 3 requests).
        let f = Forecast::from_durations(&evenly(19_000, 21_000)).expect("a forecast");
        let ages = p.poll_ages(Some(&f), secs(20));
        assert_eq!(ages.len(), 2, "{ages:?}");
        assert!(
            near(ages[0], ms(18_750)) && near(ages[1], ms(20_050)),
            "{ages:?}"
        );
        // A 10-minute run whose earlier runs took 9:55–10:05: at most 11 polls (with the
        // history list, the ≤ 12 requests of the target), for an end anywhere in ±1 s.
        let f = Forecast::from_durations(&evenly(595_000, 605_000)).expect("a forecast");
        for end in (599_000..=601_000).step_by(100).map(ms) {
            let ages = p.poll_ages(Some(&f), end);
            assert!(ages.len() <= 11, "{end:?}: {ages:?}");
        }
        // A 3-minute run whose earlier runs spread over 40 s: 2 sparse polls, 6 over the
        // window's 15 s before the core, 11 in it.
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        assert_eq!(p.poll_ages(Some(&f), secs(180)).len(), 18);
        // A run that exceeds the prediction by a minute is still polled at most every 2.8 s.
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        let late = p.poll_ages(Some(&f), secs(82));
        assert_eq!(late.len(), 24, "{late:?}");
        assert!(late.windows(2).all(|w| w[1] - w[0] <= p.edge_max));
        // No history, 20 s: every 1.3 s.
        assert_eq!(p.poll_ages(None, secs(20)).len(), 16);
    }

    #[test]
    fn most_ends_over_the_history_are_seen_within_a_second() {
        // Runs ending anywhere between the shortest and the longest earlier run, evenly: more
        // than half are seen within 1 s (the p50 target), all within the edge interval.
        let p = ForecastPolicy::default();
        for history in [
            history_2m40_3m20(),
            (0..10).map(|i| ms(595_000 + i * 10_000 / 9)).collect(),
            (0..10).map(|i| ms(19_000 + i * 2000 / 9)).collect(),
        ] {
            let f = Forecast::from_durations(&history).expect("a forecast");
            let ends: Vec<Duration> = (0..=400)
                .map(|i| f.low + (f.high - f.low).mul_f64(f64::from(i) / 400.0))
                .collect();
            let latencies: Vec<Duration> = ends
                .iter()
                .map(|end| *p.poll_ages(Some(&f), *end).last().expect("polled") - *end)
                .collect();
            let within = latencies.iter().filter(|l| **l <= secs(1)).count();
            assert!(
                within * 2 > ends.len(),
                "{:?}: {within} of {}",
                f,
                ends.len()
            );
            assert!(latencies.iter().all(|l| *l <= p.edge_max), "{f:?}");
        }
    }

    #[test]
    fn the_latency_bound_holds_for_any_end_in_or_after_the_window() {
        // Whatever the run's real duration, the first poll after its end comes within the
        // edge interval: the p95 target holds by construction, not by luck.
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        let (start, _) = f.window();
        for end in (0..1000).map(|i| start + ms(i * 250)) {
            let ages = p.poll_ages(Some(&f), end);
            let latency = *ages.last().expect("polled") - end;
            assert!(latency <= p.edge_max, "{end:?}: {latency:?}");
        }
    }
}
