//! A workflow's deployment environment with protection rules (required reviewers, a wait
//! timer), and the review a scenario scripts for it.
//!
//! ```yaml
//! environment:
//!   name: production
//!   reviewers: [alice, bob, pratiko/release-managers]   # users, or `org/team` for a team
//!   wait_timer: 5m                     # GitHub sets whole minutes; the API reports minutes
//!   prevent_self_review: true          # the run's actor may not approve it
//!   review: approved after 2m by alice # or `rejected by bob`, or a mapping (below)
//! ```
//!
//! A run of such a workflow goes `queued → waiting` and stays there until a reviewer approves
//! (and the wait timer, if any, has passed), a reviewer rejects (the run fails), it is
//! cancelled, or 30 days pass (it fails, as GitHub's do). `review:` scripts one review,
//! counted from the moment the run starts waiting: `approved|rejected [after <duration>]
//! [by <login>]`, or `{ state: approved, after: 2m, by: alice, comment: "Ship it" }`; `by`
//! defaults to the first user reviewer. Reviews can also come through
//! `POST …/pending_deployments`; the first review decides.

use std::time::Duration;

use serde::Deserialize;

use super::de_duration;

/// The environment a workflow's deploy job references.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// Environment name, e.g. `production`.
    pub name: String,
    /// Required reviewers: logins, or `org/team` for a team (at most six, like GitHub).
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// How long a job waits before it may start.
    #[serde(default, deserialize_with = "de_duration")]
    pub wait_timer: Duration,
    /// Whether the run's actor is kept from approving it.
    #[serde(default)]
    pub prevent_self_review: bool,
    /// The scripted review.
    #[serde(default)]
    pub review: Option<ReviewScript>,
}

/// What a review decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// The job may proceed.
    Approved,
    /// The job fails.
    Rejected,
}

impl ReviewState {
    /// `approved` or `rejected`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    /// Parses the API spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approved" => Some(ReviewState::Approved),
            "rejected" => Some(ReviewState::Rejected),
            _ => None,
        }
    }
}

/// A review a scenario scripts: who decides what, how long after the run starts waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewScript {
    /// Approve or reject.
    pub state: ReviewState,
    /// Delay from the start of the wait.
    pub after: Duration,
    /// Reviewer login (default: the first user reviewer).
    pub by: Option<String>,
    /// The review's comment.
    pub comment: String,
}

impl ReviewScript {
    /// Parses `approved|rejected [after <duration>] [by <login>]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut words = text.split_whitespace();
        let state = words
            .next()
            .and_then(ReviewState::parse)
            .ok_or_else(|| format!("review `{text}` must start with `approved` or `rejected`"))?;
        let mut script = ReviewScript {
            state,
            after: Duration::ZERO,
            by: None,
            comment: String::new(),
        };
        while let Some(word) = words.next() {
            let value = words
                .next()
                .ok_or_else(|| format!("review `{text}`: `{word}` needs a value"))?;
            match word {
                "after" => {
                    script.after = humantime::parse_duration(value)
                        .map_err(|e| format!("review `{text}`: {e}"))?;
                }
                "by" => script.by = Some(value.to_owned()),
                other => {
                    return Err(format!(
                        "review `{text}`: unexpected `{other}` (expected `after <duration>` or `by <login>`)"
                    ));
                }
            }
        }
        Ok(script)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewMap {
    state: ReviewState,
    #[serde(default, deserialize_with = "de_duration")]
    after: Duration,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ReviewRepr {
    Text(String),
    Map(ReviewMap),
}

impl<'de> Deserialize<'de> for ReviewScript {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match ReviewRepr::deserialize(d)? {
            ReviewRepr::Text(text) => ReviewScript::parse(&text).map_err(serde::de::Error::custom),
            ReviewRepr::Map(m) => Ok(ReviewScript {
                state: m.state,
                after: m.after,
                by: m.by,
                comment: m.comment,
            }),
        }
    }
}

impl EnvironmentSpec {
    /// An environment named `name` with `reviewers` and no timer.
    pub fn new(name: &str, reviewers: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            reviewers: reviewers.iter().map(|r| (*r).to_owned()).collect(),
            wait_timer: Duration::ZERO,
            prevent_self_review: false,
            review: None,
        }
    }

    /// Scripts its review.
    #[must_use]
    pub fn review(mut self, script: ReviewScript) -> Self {
        self.review = Some(script);
        self
    }

    /// Sets the wait timer.
    #[must_use]
    pub fn wait_timer(mut self, timer: Duration) -> Self {
        self.wait_timer = timer;
        self
    }

    /// The user reviewers (a reviewer with a `/` is a team).
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.reviewers
            .iter()
            .map(String::as_str)
            .filter(|r| !r.contains('/'))
    }

    /// Who the scripted review is by: its `by`, else the first user reviewer.
    pub fn scripted_reviewer(&self) -> Option<&str> {
        let script = self.review.as_ref()?;
        script.by.as_deref().or_else(|| self.users().next())
    }

    /// Checks the reviewers and the scripted review.
    pub fn validate(&self, workflow: &str) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err(format!(
                "workflow `{workflow}`: `environment.name` is empty"
            ));
        }
        if self.reviewers.len() > 6 {
            return Err(format!(
                "workflow `{workflow}`: an environment has at most six reviewers"
            ));
        }
        if self.review.is_some() && self.reviewers.is_empty() {
            return Err(format!(
                "workflow `{workflow}`: `review:` needs `reviewers:` (nobody reviews an environment without them)"
            ));
        }
        if self.review.is_some() && self.scripted_reviewer().is_none() {
            return Err(format!(
                "workflow `{workflow}`: `review:` needs `by <login>` when every reviewer is a team"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_short_review_forms() {
        let approved = ReviewScript::parse("approved after 2m by alice").expect("valid");
        assert_eq!(approved.state, ReviewState::Approved);
        assert_eq!(approved.after, Duration::from_secs(120));
        assert_eq!(approved.by.as_deref(), Some("alice"));
        let rejected = ReviewScript::parse("rejected by bob").expect("valid");
        assert_eq!(
            (rejected.state, rejected.after, rejected.by.as_deref()),
            (ReviewState::Rejected, Duration::ZERO, Some("bob"))
        );
        assert_eq!(
            ReviewScript::parse("rejected").expect("valid").by,
            None,
            "defaults to the first reviewer later"
        );
        for bad in [
            "maybe",
            "approved after",
            "approved soon by x",
            "approved after 2x",
        ] {
            assert!(ReviewScript::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_both_yaml_forms_and_checks_the_reviewer() {
        let text = "name: production\nreviewers: [alice, org/team]\nwait_timer: 5m\nreview: { state: rejected, by: bob, comment: not today }\n";
        let env: EnvironmentSpec = serde_saphyr::from_str(text).expect("valid");
        assert_eq!(env.wait_timer, Duration::from_secs(300));
        let review = env.review.clone().expect("scripted");
        assert_eq!(review.comment, "not today");
        assert_eq!(env.users().collect::<Vec<_>>(), ["alice"]);
        assert!(env.validate("deploy.yml").is_ok());
        let short: EnvironmentSpec = serde_saphyr::from_str(
            "name: production\nreviewers: [alice]\nreview: approved after 1m\n",
        )
        .expect("valid");
        assert_eq!(short.scripted_reviewer(), Some("alice"));
        let nobody: EnvironmentSpec =
            serde_saphyr::from_str("name: p\nreview: approved\n").expect("parses");
        assert!(nobody.validate("deploy.yml").is_err());
        let teams_only: EnvironmentSpec =
            serde_saphyr::from_str("name: p\nreviewers: [org/t]\nreview: approved\n")
                .expect("parses");
        assert!(teams_only.validate("deploy.yml").is_err());
    }
}
