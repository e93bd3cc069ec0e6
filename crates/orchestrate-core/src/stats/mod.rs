//! Release statistics (`orchestrate stats`) computed from the registry's deployment records
//! and, where present, the releases' manifests: success and failure rates, durations,
//! rollbacks, health pass rate, coordination latency and the four DORA figures. Pure: times
//! come in as seconds since the Unix epoch.
//!
//! A record is one service deployment orchestrate made (task `deploy`). Its outcome and settle
//! time come from the final status orchestrate wrote ([`classify`]): `success` (verified, or an
//! irreversible service left in place), `failure`/`error`, or `inactive` with a "rolled back"
//! description. GitHub's own `inactive` statuses (set on older deployments when a newer one
//! succeeds) carry no such description and are ignored.

mod compute;
mod manifests;
#[cfg(test)]
mod tests;

pub use compute::{Figures, Summary, compute, percentile};
pub use manifests::{ReleaseTimes, ServiceTimes};

/// What the final description of a rolled-back deployment says.
pub const ROLLED_BACK: &str = "rolled back";
/// Markers of the health verdict in final descriptions.
pub const VERIFIED_HEALTHY: &str = "verified healthy";
pub const HEALTH_PASSED: &str = "(health passed)";
pub const HEALTH_FAILED: &str = "(health failed)";
/// The marker of a service's own duration (dispatch → settled) in final descriptions:
/// `took 42s`.
pub const TOOK: &str = "took ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    RolledBack,
    /// No final status yet (a release in flight, or one killed before it finished).
    Unsettled,
}

/// One deployment status as read from GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub id: u64,
    pub state: String,
    pub description: String,
    pub created_at: i64,
}

/// One service deployment of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub service: String,
    pub repo: String,
    /// The release (release-set deployment id) it belonged to; `None` for a deployment
    /// recorded without one, which then counts as a release of its own.
    pub release_id: Option<String>,
    pub deployment_id: u64,
    /// When the deployment was recorded (the run had been found).
    pub created_at: i64,
    pub outcome: Outcome,
    /// When the service itself settled (verified or failed): recorded + its duration when the
    /// final description gives one, else the final status's time.
    pub settled_at: Option<i64>,
    /// When the final status was written (for a rollback: when it was rolled back).
    pub closed_at: Option<i64>,
    /// Its duration as the final description gives it (dispatch → settled).
    pub took: Option<i64>,
    /// `Some(true)` when its health check passed, `Some(false)` when it failed, `None` when
    /// it had none or it did not run.
    pub health: Option<bool>,
}

impl Record {
    /// Seconds from dispatched to settled (from recorded to settled when not given).
    pub fn duration(&self) -> Option<i64> {
        self.took
            .or_else(|| self.settled_at.map(|s| (s - self.created_at).max(0)))
    }

    /// A record from a deployment's creation time and its statuses.
    pub fn new(
        service: String,
        repo: String,
        release_id: Option<String>,
        deployment_id: u64,
        created_at: i64,
        statuses: &[StatusView],
    ) -> Record {
        let f = classify(statuses);
        let settled_at = match (f.outcome, f.took) {
            (Outcome::Unsettled, _) => None,
            (_, Some(took)) => Some(created_at + took),
            (_, None) => f.at,
        };
        Record {
            service,
            repo,
            release_id,
            deployment_id,
            created_at,
            outcome: f.outcome,
            settled_at,
            closed_at: f.at,
            took: f.took,
            health: f.health,
        }
    }

    /// The release this record counts in.
    pub fn release_key(&self) -> String {
        self.release_id
            .clone()
            .unwrap_or_else(|| format!("deployment-{}", self.deployment_id))
    }
}

/// What a deployment's final status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Final {
    pub outcome: Outcome,
    /// The final status's time.
    pub at: Option<i64>,
    pub health: Option<bool>,
    pub took: Option<i64>,
}

/// The outcome, time, health verdict and duration a deployment's statuses record: the newest
/// (by id) status that orchestrate writes as final.
pub fn classify(statuses: &[StatusView]) -> Final {
    let final_status = statuses
        .iter()
        .filter(|s| match s.state.as_str() {
            "success" | "failure" | "error" => true,
            "inactive" => s.description.contains(ROLLED_BACK),
            _ => false,
        })
        .max_by_key(|s| s.id);
    let Some(s) = final_status else {
        return Final {
            outcome: Outcome::Unsettled,
            at: None,
            health: None,
            took: None,
        };
    };
    let outcome = match s.state.as_str() {
        "success" => Outcome::Succeeded,
        "inactive" => Outcome::RolledBack,
        _ => Outcome::Failed,
    };
    let health =
        if s.description.contains(VERIFIED_HEALTHY) || s.description.contains(HEALTH_PASSED) {
            Some(true)
        } else if s.description.contains(HEALTH_FAILED) {
            Some(false)
        } else {
            None
        };
    Final {
        outcome,
        at: Some(s.created_at),
        health,
        took: took(&s.description),
    }
}

/// `took 42s` in a description.
fn took(description: &str) -> Option<i64> {
    let (_, rest) = description.split_once(TOOK)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest.get(digits.len()..)?;
    after
        .starts_with('s')
        .then(|| digits.parse().ok())
        .flatten()
}

/// Parses a `--since` period: `30d`, `12h`, `90m`, `2w`, into seconds.
pub fn parse_period(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit"))?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let unit_secs = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("unknown unit `{other}` in `{text}`")),
    };
    if n == 0 {
        return Err(format!("`{text}` is an empty period"));
    }
    n.checked_mul(unit_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}
