//! What a release cost and how quickly it reacted (issue 4, item 7): requests (total, counted
//! against the rate limit, 304s), detection latency (a run completed on GitHub's clock → the
//! driver acted on it, in real time) and the wall time beyond the runs' critical path.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::driver::Driver;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub requests: u64,
    pub counted: u64,
    pub not_modified: u64,
    pub retries: u64,
    /// Real time from each run's completion to the driver noticing it.
    pub detection: Vec<Duration>,
    /// Emulated (GitHub) time from start to end.
    pub wall: Duration,
    /// The longest chain of run durations through `needs` and the canary bake (emulated).
    pub critical_path: Duration,
    pub scale: f64,
    pub runs: usize,
    pub repos: usize,
    /// Requests spent awaiting runs (run lists and run GETs) and how many were 304s, when the
    /// server's request log is available (a rehearsal).
    pub awaiting: Option<(u64, u64)>,
}

impl Metrics {
    pub fn of(driver: &Driver<'_>) -> Metrics {
        let pace = driver.engine.pace;
        let stats = driver.engine.github.stats();
        let mut detection = Vec::new();
        let mut spans: BTreeMap<&str, Duration> = BTreeMap::new();
        for (name, svc) in &driver.svcs {
            if let Some((completed, noticed)) = svc.detection {
                let lag = (noticed - completed).to_std().unwrap_or_default();
                detection.push(pace.to_real(lag));
            }
            if let Some(run) = &svc.run {
                let span = (run.updated_at - run.created_at)
                    .to_std()
                    .unwrap_or_default();
                spans.insert(name.as_str(), span);
            }
        }
        detection.sort();
        // Each run starts when what it needs finished; a run dispatched after the canary bake
        // starts when the canary part finished plus the bake.
        let bake = driver.bakes.first().copied();
        let dispatched = |name: &str| driver.svcs.get(name).and_then(|s| s.dispatched_at);
        let mut finish: BTreeMap<String, Duration> = BTreeMap::new();
        for wave in driver.scheduler.graph().waves() {
            for name in wave {
                let needs = driver.scheduler.graph().needs_of(&name).unwrap_or_default();
                let mut start = needs
                    .iter()
                    .filter_map(|n| finish.get(n))
                    .max()
                    .copied()
                    .unwrap_or_default();
                if let Some((from, until)) = bake
                    && dispatched(&name).is_some_and(|d| d >= until)
                {
                    let canary = finish
                        .iter()
                        .filter(|(n, _)| dispatched(n).is_some_and(|d| d < from))
                        .map(|(_, f)| *f)
                        .max()
                        .unwrap_or_default();
                    start = start.max(canary + until.saturating_sub(from));
                }
                let own = spans.get(name.as_str()).copied().unwrap_or_default();
                finish.insert(name, start + own);
            }
        }
        let repos = driver
            .svcs
            .values()
            .map(|s| s.spec.repo.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        Metrics {
            requests: stats.requests,
            counted: stats.counted,
            not_modified: stats.not_modified,
            retries: stats.retries,
            detection,
            wall: pace.now(),
            critical_path: finish.values().max().copied().unwrap_or_default(),
            scale: pace.scale(),
            runs: spans.len(),
            repos,
            awaiting: None,
        }
    }

    /// The `q` quantile (0..=1) of detection latency, nearest rank.
    pub fn detection_quantile(&self, q: f64) -> Option<Duration> {
        if self.detection.is_empty() {
            return None;
        }
        let rank = (q * self.detection.len() as f64).ceil() as usize;
        self.detection
            .get(rank.clamp(1, self.detection.len()) - 1)
            .copied()
    }

    pub fn overhead(&self) -> Duration {
        self.wall.saturating_sub(self.critical_path)
    }

    /// A small table for people.
    pub fn render(&self, title: &str) -> String {
        let ms =
            |d: Option<Duration>| d.map_or("–".to_owned(), |d| format!("{} ms", d.as_millis()));
        let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
        let mut out = String::new();
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(out, "| measure | value |\n|---|---|");
        let rows = [
            (
                "runs awaited / repositories",
                format!("{} / {}", self.runs, self.repos),
            ),
            ("requests (total)", self.requests.to_string()),
            (
                "requests counted against the rate limit",
                self.counted.to_string(),
            ),
            ("304 Not Modified (free)", self.not_modified.to_string()),
            (
                "of which awaiting runs (total / 304)",
                self.awaiting
                    .map_or("–".to_owned(), |(t, n)| format!("{t} / {n}")),
            ),
            ("retries", self.retries.to_string()),
            (
                "detection latency p50 (real time)",
                ms(self.detection_quantile(0.5)),
            ),
            (
                "detection latency p95 (real time)",
                ms(self.detection_quantile(0.95)),
            ),
            ("wall time (GitHub time)", secs(self.wall)),
            (
                "runs' critical path incl. bake (GitHub time)",
                secs(self.critical_path),
            ),
            (
                "wall time minus critical path (GitHub time)",
                secs(self.overhead()),
            ),
            (
                "wall time minus critical path (real time)",
                secs(self.overhead().div_f64(self.scale.max(1.0))),
            ),
            (
                "time scale (GitHub seconds per real second)",
                format!("{}", self.scale),
            ),
        ];
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let m = Metrics {
            detection: (1..=20).map(Duration::from_millis).collect(),
            ..Metrics::default()
        };
        assert_eq!(m.detection_quantile(0.5), Some(Duration::from_millis(10)));
        assert_eq!(m.detection_quantile(0.95), Some(Duration::from_millis(19)));
        assert_eq!(Metrics::default().detection_quantile(0.5), None);
    }
}
