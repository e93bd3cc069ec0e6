//! The benchmark's cases as data: which repositories, how long each run takes and what its
//! workflow's history holds, and the emulator scenario that plays them.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cli::BenchCase;

/// The workflow every case dispatches.
pub const WORKFLOW: &str = "deploy.yml";

/// Time a run spends queued before it starts, in every case (and in its history).
const QUEUED: Duration = Duration::from_secs(1);

/// One case: what runs where.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub case: BenchCase,
    pub title: String,
    pub repos: Vec<RepoRuns>,
}

/// One repository of a case: its runs (creation to completion) and its workflow's history.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoRuns {
    pub name: String,
    pub runs: Vec<Duration>,
    /// Ten earlier successful runs spread evenly over `[min, max]` (creation to completion).
    pub history: Option<(Duration, Duration)>,
}

impl Case {
    /// `case` with `samples` independent samples (cases a, b, d: one run per repository),
    /// every duration multiplied by `scale`.
    pub fn new(case: BenchCase, samples: usize, scale: f64) -> Case {
        let s = |secs: f64| Duration::from_secs_f64(secs * scale);
        let samples = samples.max(1);
        // Spread the runs' durations evenly over `[mid - half, mid + half]`: runs never end at
        // the same point of the poll schedule, as real runs do not.
        let spread = |mid: f64, half: f64, n: usize| -> Vec<Duration> {
            (0..n)
                .map(|i| {
                    let f = if n == 1 {
                        0.0
                    } else {
                        i as f64 / (n - 1) as f64 * 2.0 - 1.0
                    };
                    s(mid + half * f)
                })
                .collect()
        };
        let one_each = |prefix: &str, mid: f64, history: Option<(f64, f64)>| -> Vec<RepoRuns> {
            spread(mid, 1.0, samples)
                .into_iter()
                .enumerate()
                .map(|(i, run)| RepoRuns {
                    name: format!("bench/{prefix}-{}", i + 1),
                    runs: vec![run],
                    history: history.map(|(lo, hi)| (s(lo), s(hi))),
                })
                .collect()
        };
        let (title, repos) = match case {
            BenchCase::A => (
                "a 20 s run; history: 10 runs of 19–21 s".to_owned(),
                one_each("a", 20.0, Some((19.0, 21.0))),
            ),
            BenchCase::B => (
                "a 3 min run; history: 10 runs of 2:40–3:20".to_owned(),
                one_each("b", 180.0, Some((160.0, 200.0))),
            ),
            BenchCase::C => (
                "50 runs of 19–21 s in 5 repositories; history: 10 runs of 19–21 s each".to_owned(),
                (1..=5)
                    .map(|r| RepoRuns {
                        name: format!("bench/c-{r}"),
                        runs: spread(20.0, 1.0, 10),
                        history: Some((s(19.0), s(21.0))),
                    })
                    .collect(),
            ),
            BenchCase::D => (
                "a 20 s run without history".to_owned(),
                one_each("d", 20.0, None),
            ),
            BenchCase::E => (
                "a 10 min run; history: 10 runs of 9:55–10:05".to_owned(),
                one_each("e", 600.0, Some((595.0, 605.0))),
            ),
        };
        Case { case, title, repos }
    }

    pub fn runs(&self) -> usize {
        self.repos.iter().map(|r| r.runs.len()).sum()
    }

    /// The emulator scenario: each repository's workflow, the run `n` (input) taking its own
    /// duration.
    pub fn scenario(&self) -> String {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut yaml = String::from("repos:\n");
        for repo in &self.repos {
            let _ = writeln!(yaml, "  - name: {}", repo.name);
            let _ = writeln!(yaml, "    workflows:");
            let _ = writeln!(yaml, "      - file: {WORKFLOW}");
            let _ = writeln!(yaml, "        inputs: {{ n: {{ required: true }} }}");
            let first = repo.runs.first().copied().unwrap_or_default();
            let _ = writeln!(
                yaml,
                "        behaviour: {{ queued: {}, in_progress: {} }}",
                ms(QUEUED),
                ms(first.saturating_sub(QUEUED))
            );
            let _ = writeln!(yaml, "        when:");
            for (i, run) in repo.runs.iter().enumerate() {
                let _ = writeln!(
                    yaml,
                    "          - {{ inputs: {{ n: \"{i}\" }}, in_progress: {} }}",
                    ms(run.saturating_sub(QUEUED))
                );
            }
            if let Some((lo, hi)) = repo.history {
                let _ = writeln!(
                    yaml,
                    "        history: {{ runs: 10, durations: [{}, {}], queued: {} }}",
                    ms(lo.saturating_sub(QUEUED)),
                    ms(hi.saturating_sub(QUEUED)),
                    ms(QUEUED)
                );
            }
        }
        yaml
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_around_the_case_duration() {
        let a = Case::new(BenchCase::A, 3, 1.0);
        let runs: Vec<Duration> = a.repos.iter().flat_map(|r| r.runs.clone()).collect();
        assert_eq!(runs, [19, 20, 21].map(Duration::from_secs));
        assert_eq!(a.repos[0].name, "bench/a-1");
        let c = Case::new(BenchCase::C, 3, 1.0);
        assert_eq!((c.repos.len(), c.runs()), (5, 50));
        let d = Case::new(BenchCase::D, 2, 0.5);
        assert_eq!(d.repos[1].runs, [Duration::from_millis(10_500)]);
        assert_eq!(d.repos[1].history, None);
    }

    #[test]
    fn the_scenario_plays_each_run_and_the_history() {
        let b = Case::new(BenchCase::B, 1, 1.0);
        let scenario = orchestrate_emulator::Scenario::from_yaml(&b.scenario()).expect("valid");
        assert_eq!(scenario.repos.len(), 1);
        let yaml = b.scenario();
        assert!(
            yaml.contains("- { inputs: { n: \"0\" }, in_progress: 179000ms }"),
            "{yaml}"
        );
        assert!(
            yaml.contains("history: { runs: 10, durations: [159000ms, 199000ms], queued: 1000ms }"),
            "{yaml}"
        );
        let c = Case::new(BenchCase::C, 1, 1.0);
        orchestrate_emulator::Scenario::from_yaml(&c.scenario()).expect("valid");
    }
}
