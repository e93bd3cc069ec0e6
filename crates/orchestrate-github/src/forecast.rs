//! Predicting when a run ends from the workflow's recent successful runs, and the poll
//! interval that follows: sparse while the run is young, dense inside the window where it
//! is likely to end (densest at the median), backing off past it. Pure arithmetic: callers
//! pass durations and ages.

use std::time::Duration;

/// The window of run ages in which a run is expected to end, from earlier runs' durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast {
    /// The median of the kept durations.
    pub median: Duration,
    /// The shortest and longest kept durations (outliers trimmed).
    pub low: Duration,
    pub high: Duration,
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
            sigma,
            kept: kept.len(),
        })
    }

    /// The margin added on both sides of `[low, high]`: half the spread, at least 1 s. With
    /// ten earlier runs, about one run in eleven is shorter than all of them.
    pub fn margin(&self) -> Duration {
        (self.sigma / 2).max(Duration::from_secs(1))
    }

    /// The dense window `[low - margin, high + margin]` of run ages.
    pub fn window(&self) -> (Duration, Duration) {
        let margin = self.margin();
        (
            self.low.saturating_sub(margin),
            self.high.saturating_add(margin),
        )
    }

    /// How far `age` is from the median, in spreads.
    fn z(&self, age: Duration) -> f64 {
        age.abs_diff(self.median).as_secs_f64() / self.sigma.as_secs_f64().max(1e-3)
    }
}

/// The poll intervals of a run, with or without a forecast.
///
/// Detection latency is the time from a run's end to the first poll after it: with polls `s`
/// apart it is spread evenly over `[0, s]`, so its median is `s / 2` and its 95th percentile
/// `0.95 s`. Inside the window the interval is `dense` where the end is most likely (at the
/// median) and grows towards the window's edges, where it is least likely, as
/// `dense × e^(z²/4)` (`z`: distance from the median in spreads), at most `edge_max`. For a
/// fixed number of polls, spacing them by the inverse square root of the density of the end
/// (which is what the factor is for a normal spread) gives the least expected latency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPolicy {
    /// The interval at the forecast's median (and early in a run without history).
    pub dense: Duration,
    /// The longest interval inside the window, and past it.
    pub edge_max: Duration,
    /// The longest wait before the window: a run may still fail early.
    pub sparse_max: Duration,
    /// Without history: `dense` for the first `young`, then `steady`.
    pub young: Duration,
    pub steady: Duration,
    /// Past the window: `dense` plus this fraction of the overrun, up to `edge_max`.
    pub late_growth: f64,
}

impl Default for ForecastPolicy {
    /// Real time: 1.3 s at the median keeps the median latency under 1 s; at most 2.8 s
    /// anywhere in or after the window keeps the 95th percentile under 3 s (without history
    /// too: 1.3 s for the first minute, 2.5 s after).
    fn default() -> Self {
        ForecastPolicy {
            dense: Duration::from_millis(1300),
            edge_max: Duration::from_millis(2800),
            sparse_max: Duration::from_secs(60),
            young: Duration::from_secs(60),
            steady: Duration::from_millis(2500),
            late_growth: 0.05,
        }
    }
}

impl ForecastPolicy {
    /// The wait before the next poll of a run that is `age` old. Before the window the wait
    /// ends at the window's start (never later than `sparse_max`, never shorter than `dense`).
    pub fn interval(&self, forecast: Option<&Forecast>, age: Duration) -> Duration {
        let edge = self.edge_max.max(self.dense);
        let Some(forecast) = forecast else {
            return if age < self.young {
                self.dense
            } else {
                self.steady
            };
        };
        let (start, end) = forecast.window();
        // Less than a dense interval before the window counts as inside it: waiting for the
        // start and then `dense` more would put two polls where the window wants one.
        if age < start && start - age >= self.dense {
            return (start - age).min(self.sparse_max.max(self.dense));
        }
        if age <= end {
            let z = forecast.z(age);
            let grown = self.dense.as_secs_f64() * (z * z / 4.0).min(10.0).exp();
            return Duration::from_secs_f64(grown.min(edge.as_secs_f64()));
        }
        let grown = self.dense + (age - end).mul_f64(self.late_growth.max(0.0));
        grown.min(edge)
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
    fn sparse_before_the_window_densest_at_the_median_late_past_it() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        // Before the window [19, 21]: wait until its start; less than 1.3 s before it, the
        // window's own interval there (1.5 s from the median: 1.3 s × e^(z²/4)).
        assert_eq!(p.interval(Some(&f), secs(0)), secs(19));
        assert_eq!(p.interval(Some(&f), ms(17_500)), ms(1500));
        let just_before = p.interval(Some(&f), ms(18_500));
        assert!(near(just_before, ms(1679)), "{just_before:?}");
        // At the median 1.3 s; a spread away, 1.3 s × e^(1/4).
        assert_eq!(p.interval(Some(&f), secs(20)), ms(1300));
        let at_21 = p.interval(Some(&f), secs(21));
        assert!(near(at_21, ms(1457)), "{at_21:?}");
        // Past it: 1.3 s + 5 % of the overrun, at most 2.8 s.
        assert!(near(p.interval(Some(&f), secs(41)), ms(2300)));
        assert_eq!(p.interval(Some(&f), secs(600)), ms(2800));
    }

    #[test]
    fn the_interval_never_exceeds_the_edge_inside_a_wide_window() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        let (start, end) = f.window();
        let mut age = start;
        while age <= end {
            let interval = p.interval(Some(&f), age);
            assert!(
                interval >= p.dense && interval <= p.edge_max,
                "{age:?}: {interval:?}"
            );
            age += ms(500);
        }
        assert_eq!(p.interval(Some(&f), f.median), p.dense);
    }

    #[test]
    fn a_long_young_phase_is_cut_at_sparse_max() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&[secs(600); 3]).expect("a forecast");
        // A spread of 1 % of the median (6 s × 1.4826), half of it either side.
        let (start, _) = f.window();
        assert!(near(start, ms(595_552)), "{start:?}");
        assert_eq!(p.interval(Some(&f), secs(0)), secs(60));
        assert!(near(p.interval(Some(&f), secs(550)), ms(45_552)));
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
        // A 20 s run whose ten earlier runs took 19–21 s: polled at 18 s and at 20.05 s.
        let history: Vec<Duration> = (0..10).map(|i| ms(19_000 + i * 2000 / 9)).collect();
        let f = Forecast::from_durations(&history).expect("a forecast");
        let ages = p.poll_ages(Some(&f), secs(20));
        assert_eq!(ages.len(), 2, "{ages:?}");
        assert_eq!(ages[0], secs(18));
        // A run that exceeds the prediction by a minute is still polled at most every 2.8 s.
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        let late = p.poll_ages(Some(&f), secs(82));
        assert_eq!(late.len(), 30, "{late:?}");
        assert!(late.windows(2).all(|w| w[1] - w[0] <= p.edge_max));
        // No history, 20 s: every 1.3 s.
        assert_eq!(p.poll_ages(None, secs(20)).len(), 16);
    }

    #[test]
    fn the_latency_bound_holds_for_any_end_in_or_after_the_window() {
        // Whatever the run's real duration, the first poll after its end comes within the
        // edge interval: the p95 target holds by construction, not by luck.
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        let (start, _) = f.window();
        for end in (start.as_secs()..400).map(secs) {
            let ages = p.poll_ages(Some(&f), end);
            let latency = *ages.last().expect("polled") - end;
            assert!(latency <= p.edge_max, "{end:?}: {latency:?}");
        }
    }
}
