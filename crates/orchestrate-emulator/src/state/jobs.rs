//! Jobs and steps of an attempt: planned from the scripted behaviour (jobs run one after
//! another through the in-progress time), then viewed at an instant. Jobs an attempt carried
//! over from the previous one ("re-run failed jobs") are shown as they ended there. Behind an
//! environment gate the first job (the one that references the environment) is `waiting`;
//! when the gate fails the run, that job fails without running a step and the rest are
//! skipped.

use chrono::{DateTime, Utc};

use crate::state::runs::Attempt;

/// Conclusions a failing job can carry (the job schema's enum, minus the benign ones).
const FAILING: [&str; 4] = ["failure", "timed_out", "cancelled", "action_required"];
/// Conclusions every job shares with the run.
const SHARED: [&str; 3] = ["success", "neutral", "skipped"];

/// One step at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    /// Step name.
    pub name: String,
    /// 1-based number.
    pub number: u32,
    /// `queued`, `in_progress` or `completed`.
    pub status: &'static str,
    /// Set when completed.
    pub conclusion: Option<String>,
    /// When it started, once started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed, once completed.
    pub completed_at: Option<DateTime<Utc>>,
}

/// One job at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// Job id.
    pub id: u64,
    /// Job name.
    pub name: String,
    /// Attempt the job belongs to.
    pub run_attempt: u32,
    /// `queued`, `waiting`, `in_progress` or `completed`.
    pub status: &'static str,
    /// Set when completed.
    pub conclusion: Option<String>,
    /// When the job was created (with its attempt).
    pub created_at: DateTime<Utc>,
    /// When it started (planned start while queued; the schema makes it non-null).
    pub started_at: DateTime<Utc>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Steps.
    pub steps: Vec<StepView>,
}

struct Planned {
    name: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    conclusion: String,
}

/// The jobs of `attempt` as they look at `now`.
pub fn jobs_at(attempt: &Attempt, now: DateTime<Utc>) -> Vec<JobView> {
    let behaviour = &attempt.behaviour;
    let (end, conclusion) = attempt.outcome();
    if behaviour.conclusion == "startup_failure" {
        return Vec::new();
    }
    let cancelled = attempt.cancelled_at.filter(|c| *c < attempt.natural_end());
    if attempt.gate_failed() && cancelled.is_none() {
        return gate_failed_jobs(attempt, end, now);
    }
    let mut jobs = running_jobs(attempt, end, &conclusion, cancelled, now);
    if attempt.is_waiting(now)
        && let Some(first) = jobs.iter_mut().find(|j| j.status == "queued")
    {
        first.status = "waiting";
    }
    jobs
}

/// The jobs of an attempt whose gate failed it: the gated job fails at `end` without a step,
/// the others are skipped; before that, the gated job waits.
fn gate_failed_jobs(attempt: &Attempt, end: DateTime<Utc>, now: DateTime<Utc>) -> Vec<JobView> {
    attempt
        .behaviour
        .jobs
        .iter()
        .zip(&attempt.job_ids)
        .enumerate()
        .map(|(index, (spec, id))| {
            let conclusion = if index == 0 { "failure" } else { "skipped" };
            let mut job = view_job(
                *id,
                &spec.name,
                attempt,
                end,
                end,
                conclusion.to_owned(),
                Vec::new(),
                now,
            );
            if job.status == "queued" && index == 0 && now >= attempt.started_at() {
                job.status = "waiting";
            }
            job
        })
        .collect()
}

fn running_jobs(
    attempt: &Attempt,
    end: DateTime<Utc>,
    conclusion: &str,
    cancelled: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<JobView> {
    let behaviour = &attempt.behaviour;
    // Only the jobs that run in this attempt share its in-progress time; `index` below counts
    // those alone.
    let running: Vec<(usize, &crate::scenario::JobSpec)> = behaviour
        .jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| !attempt.carried.contains_key(i))
        .collect();
    let count = running.len().max(1) as i32;
    let slot = chrono::Duration::from_std(behaviour.in_progress).unwrap_or_default() / count;
    let start = attempt.running_at();
    let failing = running
        .iter()
        .position(|(_, j)| j.fails)
        .unwrap_or(running.len().saturating_sub(1));
    let mut position = 0;
    behaviour
        .jobs
        .iter()
        .zip(&attempt.job_ids)
        .enumerate()
        .map(|(job_index, (spec, id))| {
            if let Some(done) = attempt.carried.get(&job_index) {
                return done.clone();
            }
            let index = position;
            position += 1;
            let j_start = start + slot * index as i32;
            let slot_end = start + slot * (index as i32 + 1);
            let j_end = slot_end.min(end);
            let (job_conclusion, failing_step) = match cancelled {
                Some(at) if j_start >= at => ("cancelled".to_owned(), None),
                Some(at) if j_end >= at => (
                    "cancelled".to_owned(),
                    Some(cut_step(spec.steps.len(), j_start, slot_end, at)),
                ),
                Some(_) => ("success".to_owned(), None),
                None => natural(conclusion, index, failing, spec),
            };
            let mut steps = plan_steps(
                &spec.steps,
                j_start.min(end),
                j_end,
                &job_conclusion,
                failing_step,
            );
            if cancelled.is_some_and(|at| j_start >= at) {
                steps.clear();
            }
            view_job(
                *id,
                &spec.name,
                attempt,
                j_start.min(end),
                j_end,
                job_conclusion,
                steps,
                now,
            )
        })
        .collect()
}

/// Which step a cancel at `at` interrupts (index into the full step list with set-up first).
fn cut_step(
    user_steps: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    at: DateTime<Utc>,
) -> usize {
    let total = user_steps as i64 + 2;
    let span = (end - start).num_milliseconds().max(1);
    let into = (at - start).num_milliseconds().clamp(0, span - 1);
    usize::try_from(into * total / span).unwrap_or(0)
}

fn natural(
    run_conclusion: &str,
    index: usize,
    failing: usize,
    spec: &crate::scenario::JobSpec,
) -> (String, Option<usize>) {
    if SHARED.contains(&run_conclusion) {
        return (run_conclusion.to_owned(), None);
    }
    if !FAILING.contains(&run_conclusion) {
        // e.g. `stale`: no job ran to a verdict of its own.
        return ("skipped".to_owned(), None);
    }
    match index.cmp(&failing) {
        std::cmp::Ordering::Less => ("success".to_owned(), None),
        std::cmp::Ordering::Greater => ("skipped".to_owned(), None),
        std::cmp::Ordering::Equal => {
            let step = spec
                .failing_step
                .as_ref()
                .and_then(|name| spec.steps.iter().position(|s| s == name))
                .unwrap_or(spec.steps.len().saturating_sub(1));
            // +1: "Set up job" comes first.
            (
                run_conclusion.to_owned(),
                Some(step + usize::from(!spec.steps.is_empty())),
            )
        }
    }
}

fn plan_steps(
    user: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    job_conclusion: &str,
    failing_step: Option<usize>,
) -> Vec<Planned> {
    let mut names = vec!["Set up job".to_owned()];
    names.extend(user.iter().cloned());
    names.push("Complete job".to_owned());
    let last = names.len() - 1;
    let slot = (end - start) / names.len() as i32;
    names
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let conclusion = match failing_step {
                _ if job_conclusion == "skipped" => "skipped",
                Some(f) if index == f => job_conclusion,
                Some(f) if index > f && index != last => "skipped",
                _ => "success",
            };
            let s = start + slot * index as i32;
            Planned {
                name,
                start: s,
                end: if index == last { end } else { s + slot },
                conclusion: conclusion.to_owned(),
            }
        })
        .collect()
}

#[expect(clippy::too_many_arguments, reason = "a flat constructor of the view")]
fn view_job(
    id: u64,
    name: &str,
    attempt: &Attempt,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    conclusion: String,
    steps: Vec<Planned>,
    now: DateTime<Utc>,
) -> JobView {
    let (status, conclusion, completed_at) = lifecycle(start, end, conclusion, now);
    let steps = steps
        .into_iter()
        .zip(1..)
        .map(|(step, number)| {
            let (status, conclusion, completed_at) =
                lifecycle(step.start, step.end, step.conclusion, now);
            StepView {
                name: step.name,
                number,
                status,
                conclusion,
                started_at: (now >= step.start).then_some(step.start),
                completed_at,
            }
        })
        .collect();
    JobView {
        id,
        name: name.to_owned(),
        run_attempt: attempt.number,
        status,
        conclusion,
        created_at: attempt.created_at,
        started_at: start,
        completed_at,
        steps,
    }
}

fn lifecycle(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    conclusion: String,
    now: DateTime<Utc>,
) -> (&'static str, Option<String>, Option<DateTime<Utc>>) {
    if now >= end {
        ("completed", Some(conclusion), Some(end))
    } else if now >= start {
        ("in_progress", None, None)
    } else {
        ("queued", None, None)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scenario::{Behaviour, JobSpec};

    fn attempt(conclusion: &str) -> Attempt {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .to_utc();
        let mut behaviour = Behaviour::timed(Duration::ZERO, Duration::from_secs(100), conclusion);
        behaviour.jobs = vec![
            JobSpec {
                name: "build".into(),
                steps: vec!["compile".into()],
                fails: false,
                failing_step: None,
            },
            JobSpec {
                name: "deploy".into(),
                steps: vec!["push".into(), "verify".into()],
                fails: true,
                failing_step: Some("push".into()),
            },
            JobSpec {
                name: "notify".into(),
                steps: vec![],
                fails: false,
                failing_step: None,
            },
        ];
        Attempt::new(1, start, behaviour, vec![11, 12, 13])
    }

    #[test]
    fn failing_job_fails_at_its_step_and_later_jobs_are_skipped() {
        let a = attempt("failure");
        let jobs = jobs_at(&a, a.created_at + chrono::Duration::seconds(200));
        let verdicts: Vec<_> = jobs
            .iter()
            .map(|j| j.conclusion.clone().unwrap_or_default())
            .collect();
        assert_eq!(verdicts, ["success", "failure", "skipped"]);
        let steps: Vec<_> = jobs[1]
            .steps
            .iter()
            .map(|s| (s.name.as_str(), s.conclusion.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            steps,
            [
                ("Set up job", "success".to_owned()),
                ("push", "failure".to_owned()),
                ("verify", "skipped".to_owned()),
                ("Complete job", "success".to_owned())
            ]
        );
    }

    #[test]
    fn jobs_progress_with_time_and_cancel_cuts_the_running_one() {
        let mut a = attempt("success");
        let at = |s: i64| a.created_at + chrono::Duration::seconds(s);
        let statuses: Vec<_> = jobs_at(&a, at(40)).iter().map(|j| j.status).collect();
        assert_eq!(statuses, ["completed", "in_progress", "queued"]);
        a.cancelled_at = Some(at(50));
        let jobs = jobs_at(&a, at(60));
        let verdicts: Vec<_> = jobs
            .iter()
            .map(|j| j.conclusion.clone().unwrap_or_default())
            .collect();
        assert_eq!(verdicts, ["success", "cancelled", "cancelled"]);
        assert!(jobs[2].steps.is_empty());
        assert_eq!(jobs[1].completed_at, Some(at(50)));
    }

    #[test]
    fn startup_failure_has_no_jobs() {
        let a = attempt("startup_failure");
        assert!(jobs_at(&a, a.created_at).is_empty());
    }
}
