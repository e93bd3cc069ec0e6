//! A workflow's run history: earlier runs, all completed before the emulator starts, at times
//! relative to its start, so a client that predicts a run's end from its workflow's recent
//! durations has something to read.
//!
//! Two shapes, under a workflow:
//!
//! ```yaml
//! history:                     # `runs` runs, durations spread evenly over [min, max]
//!   runs: 10
//!   durations: [2m40s, 3m20s]  # run_started_at -> updated_at; one value: all alike
//!   queued: 2s                 # created_at -> run_started_at (default 1s)
//!   conclusion: success        # (default success)
//!   every: 1h                  # between one run's creation and the next (default 1h)
//! ```
//!
//! ```yaml
//! history:                     # or each run by hand, oldest first
//!   - { duration: 3m, ago: 2h, conclusion: failure }   # `ago`: created this long before the start
//!   - { duration: 2m50s, ago: 1h, queued: 5s }
//! ```
//!
//! In the spread form the oldest run takes `min` and the newest `max`, in equal steps (rounded
//! to whole seconds), and the newest ends [`NEWEST_ENDS_BEFORE_START`] before the emulator starts.

use std::fmt;
use std::time::Duration;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::de_duration;

/// How long before the emulator's start the newest run of a spread history ends.
pub const NEWEST_ENDS_BEFORE_START: Duration = Duration::from_secs(60);

/// The conclusions a recorded run may have (runs that ran their jobs to a verdict).
pub const HISTORY_CONCLUSIONS: [&str; 4] = ["success", "failure", "cancelled", "timed_out"];

/// The most runs one workflow's history may hold.
const MAX_RUNS: u32 = 10_000;

/// A workflow's recorded runs, in either shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunHistory {
    /// `runs` runs spread over a range of durations.
    Spread(HistorySpread),
    /// Each run by hand, oldest first.
    Listed(Vec<PastRun>),
}

/// `history: { runs, durations, queued, conclusion, every }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySpread {
    /// How many runs.
    pub runs: u32,
    /// `[min, max]` of run_started_at → updated_at (one value: every run takes it).
    #[serde(deserialize_with = "de_durations")]
    pub durations: Vec<Duration>,
    /// created_at → run_started_at.
    #[serde(default = "default_queued", deserialize_with = "de_duration")]
    pub queued: Duration,
    /// Every run's conclusion.
    #[serde(default = "default_conclusion")]
    pub conclusion: String,
    /// Between one run's creation and the next's.
    #[serde(default = "default_every", deserialize_with = "de_duration")]
    pub every: Duration,
}

/// One run of an explicit history.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastRun {
    /// run_started_at → updated_at.
    #[serde(deserialize_with = "de_duration")]
    pub duration: Duration,
    /// How long before the emulator's start it was created.
    #[serde(deserialize_with = "de_duration")]
    pub ago: Duration,
    /// created_at → run_started_at.
    #[serde(default = "default_queued", deserialize_with = "de_duration")]
    pub queued: Duration,
    /// Its conclusion.
    #[serde(default = "default_conclusion")]
    pub conclusion: String,
}

impl RunHistory {
    /// `runs` runs of `min..=max`, the other keys at their defaults.
    pub fn spread(runs: u32, min: Duration, max: Duration) -> Self {
        Self::Spread(HistorySpread {
            runs,
            durations: vec![min, max],
            queued: default_queued(),
            conclusion: default_conclusion(),
            every: default_every(),
        })
    }

    /// Checks counts, ranges, conclusions and that every run completed before the start.
    pub fn validate(&self, repo: &str, workflow: &str) -> Result<(), String> {
        let at = format!("the history of workflow `{workflow}` in `{repo}`");
        match self {
            Self::Spread(spread) => spread.validate(&at),
            Self::Listed(runs) => {
                if runs.is_empty() {
                    return Err(format!("{at} lists no runs (leave `history` out instead)"));
                }
                for (index, run) in runs.iter().enumerate() {
                    run.validate(&format!("{at}, run {}", index + 1))?;
                }
                if runs.windows(2).any(|w| w[1].ago > w[0].ago) {
                    return Err(format!(
                        "{at} must list its runs oldest first (`ago` decreasing)"
                    ));
                }
                Ok(())
            }
        }
    }

    /// The runs, oldest first.
    pub fn runs(&self) -> Vec<PastRun> {
        match self {
            Self::Listed(runs) => runs.clone(),
            Self::Spread(spread) => spread.runs(),
        }
    }
}

impl HistorySpread {
    fn validate(&self, at: &str) -> Result<(), String> {
        if self.runs == 0 {
            return Err(format!(
                "{at} has `runs: 0`: give at least one run, or leave `history` out"
            ));
        }
        if self.runs > MAX_RUNS {
            return Err(format!("{at} has more than {MAX_RUNS} runs"));
        }
        let (min, max) = match self.durations.as_slice() {
            [one] => (*one, *one),
            [min, max] => (*min, *max),
            _ => {
                return Err(format!(
                    "{at}: `durations` takes `[min, max]` or `[duration]`, not {} values",
                    self.durations.len()
                ));
            }
        };
        if min > max {
            return Err(format!(
                "{at}: `durations` must be `[min, max]` with min <= max, got [{}, {}]",
                humantime::format_duration(min),
                humantime::format_duration(max)
            ));
        }
        if self.runs > 1 && self.every.is_zero() {
            return Err(format!("{at}: `every` must be longer than 0s"));
        }
        check_conclusion(at, &self.conclusion)
    }

    fn runs(&self) -> Vec<PastRun> {
        let min = self.durations.first().copied().unwrap_or_default();
        let max = self.durations.last().copied().unwrap_or(min);
        let steps = self.runs.saturating_sub(1).max(1);
        let newest = self.runs.saturating_sub(1);
        let mut runs: Vec<PastRun> = (0..self.runs)
            .map(|k| {
                let duration = min + (max - min).mul_f64(f64::from(k) / f64::from(steps));
                PastRun {
                    duration: Duration::from_secs_f64(duration.as_secs_f64().round()),
                    ago: Duration::ZERO,
                    queued: self.queued,
                    conclusion: self.conclusion.clone(),
                }
            })
            .collect();
        let last = runs
            .last()
            .map_or(Duration::ZERO, |r| r.queued + r.duration);
        let newest_ago = NEWEST_ENDS_BEFORE_START + last;
        for (k, run) in (0..).zip(&mut runs) {
            run.ago = newest_ago + self.every * (newest - k);
        }
        runs
    }
}

impl PastRun {
    fn validate(&self, at: &str) -> Result<(), String> {
        if self.ago <= self.queued + self.duration {
            return Err(format!(
                "{at}: created {} before the start, it would still be running then \
                 (`ago` must exceed `queued` + `duration`)",
                humantime::format_duration(self.ago)
            ));
        }
        check_conclusion(at, &self.conclusion)
    }
}

fn check_conclusion(at: &str, conclusion: &str) -> Result<(), String> {
    if HISTORY_CONCLUSIONS.contains(&conclusion) {
        Ok(())
    } else {
        Err(format!(
            "{at}: conclusion `{conclusion}` is not one of {}",
            HISTORY_CONCLUSIONS.join(", ")
        ))
    }
}

impl<'de> Deserialize<'de> for RunHistory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Shape;
        impl<'de> Visitor<'de> for Shape {
            type Value = RunHistory;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a mapping `{ runs, durations: [min, max], queued, conclusion, every }` \
                     or a list of `{ duration, ago, queued, conclusion }`",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RunHistory, A::Error> {
                HistorySpread::deserialize(MapAccessDeserializer::new(map)).map(RunHistory::Spread)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RunHistory, A::Error> {
                Vec::<PastRun>::deserialize(SeqAccessDeserializer::new(seq)).map(RunHistory::Listed)
            }
        }
        d.deserialize_any(Shape)
    }
}

fn de_durations<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| humantime::parse_duration(text).map_err(serde::de::Error::custom))
        .collect()
}

fn default_queued() -> Duration {
    Duration::from_secs(1)
}
fn default_conclusion() -> String {
    "success".to_owned()
}
fn default_every() -> Duration {
    Duration::from_secs(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<RunHistory, String> {
        let history: RunHistory = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        history.validate("o/r", "deploy.yml")?;
        Ok(history)
    }

    #[test]
    fn a_spread_history_steps_evenly_from_min_to_max_and_ends_before_the_start() {
        let history =
            parse("runs: 5\ndurations: [2m40s, 3m20s]\nqueued: 2s\nevery: 30m\n").expect("valid");
        let runs = history.runs();
        let secs: Vec<u64> = runs.iter().map(|r| r.duration.as_secs()).collect();
        assert_eq!(secs, [160, 170, 180, 190, 200]);
        let newest = runs.last().expect("five runs");
        assert_eq!(newest.ago, Duration::from_secs(60 + 2 + 200));
        let gaps: Vec<u64> = runs
            .windows(2)
            .map(|w| (w[0].ago - w[1].ago).as_secs())
            .collect();
        assert_eq!(gaps, [1800; 4]);
        assert!(runs.iter().all(|r| r.queued == Duration::from_secs(2)));
    }

    #[test]
    fn defaults_and_a_single_duration() {
        let history = parse("{ runs: 1, durations: [90s] }").expect("valid");
        let run = &history.runs()[0];
        assert_eq!(
            (run.duration, run.queued, run.conclusion.as_str()),
            (Duration::from_secs(90), Duration::from_secs(1), "success")
        );
        assert_eq!(run.ago, Duration::from_secs(60 + 1 + 90));
    }

    #[test]
    fn an_explicit_list_is_taken_as_written() {
        let history = parse("- { duration: 3m, ago: 2h, conclusion: failure }\n- { duration: 1m, ago: 1h, queued: 5s }\n")
            .expect("valid");
        let runs = history.runs();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].conclusion, "failure");
        assert_eq!(runs[1].queued, Duration::from_secs(5));
        assert_eq!(runs[1].ago, Duration::from_secs(3600));
    }

    #[test]
    fn bad_histories_say_what_is_wrong() {
        let cases = [
            ("runs: 3\ndurations: [3m, 2m]\n", "min <= max"),
            ("runs: 0\ndurations: [3m]\n", "runs: 0"),
            ("runs: 2\ndurations: [1m, 2m, 3m]\n", "not 3 values"),
            ("runs: 2\ndurations: [1m]\nevery: 0s\n", "`every`"),
            (
                "runs: 2\ndurations: [1m]\nconclusion: stale\n",
                "not one of",
            ),
            (
                "runs: 2\ndurations: [1m]\nspacing: 1h\n",
                "unknown field `spacing`",
            ),
            ("runs: 2\n", "missing field `durations`"),
            ("- { duration: 3m, ago: 2m }\n", "still be running"),
            (
                "- { duration: 1m, ago: 1h }\n- { duration: 1m, ago: 2h }\n",
                "oldest first",
            ),
            (
                "- { duration: 1m, ago: 1h, took: 2m }\n",
                "unknown field `took`",
            ),
            ("[]", "lists no runs"),
            ("10", "a mapping"),
        ];
        for (yaml, wanted) in cases {
            let err = parse(yaml).expect_err(yaml);
            assert!(err.contains(wanted), "{yaml:?}: {err}");
        }
    }
}
