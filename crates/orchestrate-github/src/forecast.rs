//! Predicting when a run ends from the workflow's recent successful runs, and the poll
//! interval that follows: sparse while the run is young, dense inside the window where it
//! is likely to end, backing off past it. Pure arithmetic: callers pass durations and ages.

use std::time::Duration;

/// The window of run ages in which a run is expected to end, from earlier runs' durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forecast {
    /// The median of the kept durations.
    pub median: Duration,
    /// The shortest and longest kept durations (outliers trimmed).
    pub low: Duration,
    pub high: Duration,
    /// How many durations were kept after trimming.
    pub kept: usize,
}

impl Forecast {
    /// The forecast from earlier runs' durations, or `None` with no usable history (empty, or
    /// only zero durations). Outliers are trimmed with the median absolute deviation: a
    /// duration further than 3 MAD from the median (the MAD taken as at least 5 % of the
    /// median and at least 1 s, so identical histories keep near-identical runs) is dropped.
    pub fn from_durations(durations: &[Duration]) -> Option<Forecast> {
        let mut sorted: Vec<Duration> =
            durations.iter().copied().filter(|d| !d.is_zero()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort();
        let median = median_of(&sorted);
        let mut deviations: Vec<Duration> = sorted.iter().map(|d| d.abs_diff(median)).collect();
        deviations.sort();
        let mad = median_of(&deviations)
            .max(median / 20)
            .max(Duration::from_secs(1));
        let bound = mad * 3;
        let kept: Vec<Duration> = sorted
            .into_iter()
            .filter(|d| d.abs_diff(median) <= bound)
            .collect();
        // The median itself is always within the bound, so `kept` is never empty.
        let low = *kept.first()?;
        let high = *kept.last()?;
        Some(Forecast {
            median: median_of(&kept),
            low,
            high,
            kept: kept.len(),
        })
    }

    /// The margin added on both sides of `[low, high]`: a tenth of the median, at least 2 s
    /// (the queueing and runner start-up noise of a short run).
    pub fn margin(&self) -> Duration {
        (self.median / 10).max(Duration::from_secs(2))
    }

    /// The dense window `[low - margin, high + margin]` of run ages.
    pub fn window(&self) -> (Duration, Duration) {
        let margin = self.margin();
        (
            self.low.saturating_sub(margin),
            self.high.saturating_add(margin),
        )
    }
}

/// The poll intervals of a run, with or without a forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastPolicy {
    /// The interval inside the forecast window (and early in a run without history).
    pub dense: Duration,
    /// The longest wait before the window: a run may still fail early.
    pub sparse_max: Duration,
    /// Without history: `dense` for the first `young`, then `steady`.
    pub young: Duration,
    pub steady: Duration,
    /// Past the window: `dense` plus this fraction of the overrun, up to `late_max`.
    pub late_growth: f64,
    pub late_max: Duration,
}

impl Default for ForecastPolicy {
    /// Real time: 1 s in the window keeps detection p50 under 1 s; 2 s without history and 3 s
    /// at most past the window keep p95 within 3 s.
    fn default() -> Self {
        ForecastPolicy {
            dense: Duration::from_secs(1),
            sparse_max: Duration::from_secs(60),
            young: Duration::from_secs(60),
            steady: Duration::from_secs(2),
            late_growth: 0.05,
            late_max: Duration::from_secs(3),
        }
    }
}

impl ForecastPolicy {
    /// The wait before the next poll of a run that is `age` old. Before the window the wait
    /// ends at the window's start (never later than `sparse_max`, never shorter than `dense`).
    pub fn interval(&self, forecast: Option<&Forecast>, age: Duration) -> Duration {
        let Some(forecast) = forecast else {
            return if age < self.young {
                self.dense
            } else {
                self.steady
            };
        };
        let (start, end) = forecast.window();
        if age < start {
            return (start - age).clamp(self.dense, self.sparse_max.max(self.dense));
        }
        if age <= end {
            return self.dense;
        }
        let grown = self.dense + (age - end).mul_f64(self.late_growth.max(0.0));
        grown.min(self.late_max.max(self.dense))
    }

    /// The number of polls a run of `duration` costs from its first poll at age 0 up to and
    /// including the one that sees it completed: what the request targets are measured by.
    pub fn polls_until(&self, forecast: Option<&Forecast>, duration: Duration) -> u32 {
        let mut age = Duration::ZERO;
        let mut polls = 1;
        while age < duration {
            age += self.interval(forecast, age);
            polls += 1;
        }
        polls
    }
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

    fn history_2m40_3m20() -> Vec<Duration> {
        (0..10).map(|i| secs(160 + i * 40 / 9)).collect()
    }

    #[test]
    fn window_spans_the_history_with_a_margin() {
        let f = Forecast::from_durations(&history_2m40_3m20()).expect("a forecast");
        assert_eq!((f.low, f.high, f.kept), (secs(160), secs(200), 10));
        // Median of 160..=200 in ten steps: (177 + 182) / 2 = 179.5 s, margin 17.95 s.
        assert_eq!(f.median, Duration::from_millis(179_500));
        assert_eq!(f.margin(), Duration::from_millis(17_950));
        assert_eq!(
            f.window(),
            (
                Duration::from_millis(142_050),
                Duration::from_millis(217_950)
            )
        );
    }

    #[test]
    fn outliers_are_trimmed() {
        // A run stuck in a queue for 20 minutes and one that failed fast do not widen the window.
        let mut durations = vec![secs(20), secs(21), secs(19), secs(22), secs(20)];
        durations.push(secs(1200));
        durations.push(secs(2));
        let f = Forecast::from_durations(&durations).expect("a forecast");
        assert_eq!((f.low, f.high, f.kept), (secs(19), secs(22), 5));
        assert_eq!(f.window(), (secs(17), secs(24)));
    }

    #[test]
    fn identical_history_keeps_a_margin() {
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        assert_eq!(f.window(), (secs(18), secs(22)));
    }

    #[test]
    fn no_history_means_no_forecast() {
        assert_eq!(Forecast::from_durations(&[]), None);
        assert_eq!(Forecast::from_durations(&[Duration::ZERO]), None);
    }

    #[test]
    fn sparse_before_the_window_dense_inside_late_past_it() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        // Before the window [18, 22]: wait until its start.
        assert_eq!(p.interval(Some(&f), secs(0)), secs(18));
        assert_eq!(p.interval(Some(&f), Duration::from_millis(17_500)), secs(1));
        assert_eq!(p.interval(Some(&f), secs(20)), secs(1));
        assert_eq!(p.interval(Some(&f), secs(22)), secs(1));
        // Past it: 1 s + 5 % of the overrun, at most 3 s.
        assert_eq!(p.interval(Some(&f), secs(42)), secs(2));
        assert_eq!(p.interval(Some(&f), secs(600)), secs(3));
    }

    #[test]
    fn a_long_young_phase_is_cut_at_sparse_max() {
        let p = ForecastPolicy::default();
        let f = Forecast::from_durations(&[secs(600); 3]).expect("a forecast");
        assert_eq!(f.window(), (secs(540), secs(660)));
        assert_eq!(p.interval(Some(&f), secs(0)), secs(60));
        assert_eq!(p.interval(Some(&f), secs(500)), secs(40));
    }

    #[test]
    fn without_history_one_second_then_two() {
        let p = ForecastPolicy::default();
        assert_eq!(p.interval(None, secs(0)), secs(1));
        assert_eq!(p.interval(None, secs(59)), secs(1));
        assert_eq!(p.interval(None, secs(60)), secs(2));
        assert_eq!(p.interval(None, secs(3600)), secs(2));
    }

    #[test]
    fn request_counts_of_the_target_cases() {
        let p = ForecastPolicy::default();
        // A 20 s run whose history says 20 s: polls at 0, 18, 19, 20.
        let f = Forecast::from_durations(&[secs(20); 5]).expect("a forecast");
        assert_eq!(p.polls_until(Some(&f), secs(20)), 4);
        // A run that exceeds the prediction by a minute is still polled at most every 3 s.
        let late = p.polls_until(Some(&f), secs(82));
        assert!((4 + 4 + 20..=4 + 4 + 60).contains(&late), "{late}");
        // No history, 20 s: every second.
        assert_eq!(p.polls_until(None, secs(20)), 21);
    }
}
