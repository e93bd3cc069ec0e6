//! The release-set record and, for environments with `lock: true`, the lease it carries.
//!
//! Every release records itself as a `deploy:release-set` deployment in the orchestrator's
//! repository (status `in_progress`, then `success`/`failure`). With `lock: true` the record
//! also carries `lease_expires_at`: while a record of another release is still `in_progress`
//! (or has no status yet) and its lease has not expired, the environment is locked: the
//! release waits (see `prepare`) and dispatches nothing until the lease is free. A killed job
//! leaves its record `in_progress`; the expiry (the release's timeout plus a margin) frees the
//! environment anyway.
//!
//! Two releases starting together both write their record and then read the list again: the
//! one with the lower deployment id keeps the lease, the other marks its record `error` and
//! waits. GitHub assigns deployment ids in creation order, so both reach the same verdict.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orchestrate_github::{
    DeploymentId, DeploymentState, DeploymentStatusUpdate, GitHub, ReleaseSet, ReleaseSetRecord,
    Repo,
};

/// Release sets read when looking for a live lease.
const LOOKBACK: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// `deployment` is the holder's release-set deployment: its `deployment_id` output.
    #[error(
        "environment `{environment}` is locked by release {deployment} ({}) until {until}",
        run_url.as_deref().unwrap_or("no run URL recorded")
    )]
    Held {
        environment: String,
        deployment: DeploymentId,
        run_url: Option<String>,
        until: String,
    },
    #[error(transparent)]
    GitHub(#[from] orchestrate_github::Error),
}

fn live<'a>(
    records: &'a [ReleaseSetRecord],
    now: DateTime<Utc>,
    mine: &str,
) -> impl Iterator<Item = (&'a ReleaseSetRecord, &'a ReleaseSet, DateTime<Utc>)> {
    records.iter().filter_map(move |r| {
        let set = r.set.as_ref()?;
        let until = set.lease_expires_at?;
        // A record without a status is live only briefly: its release sets `in_progress` right
        // after creating it, so an old one is a stray (a create answered 5xx, then retried).
        let fresh = now - r.created_at < chrono::Duration::minutes(2);
        let open = match r.state.as_deref() {
            None => fresh,
            Some(state) => matches!(state, "queued" | "pending" | "in_progress"),
        };
        (open && until > now && set.release_id != mine).then_some((r, set, until))
    })
}

fn held(
    environment: &str,
    record: &ReleaseSetRecord,
    set: &ReleaseSet,
    until: DateTime<Utc>,
) -> LeaseError {
    LeaseError::Held {
        environment: environment.to_owned(),
        deployment: record.deployment_id,
        run_url: set.run_url.clone(),
        until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Records `set` (status `in_progress`), taking the lease first when `set.lease_expires_at` is
/// set. Returns the record's deployment id: the release's id.
pub async fn record(
    github: &Arc<dyn GitHub>,
    repo: &Repo,
    set: &ReleaseSet,
    now: DateTime<Utc>,
) -> Result<DeploymentId, LeaseError> {
    let locking = set.lease_expires_at.is_some();
    if locking {
        let records = github
            .release_sets(repo, &set.environment, LOOKBACK)
            .await?;
        if let Some((r, s, until)) = live(&records, now, &set.release_id).next() {
            return Err(held(&set.environment, r, s, until));
        }
    }
    let id = create(github, repo, set).await?;
    let update = |state, description: &str| DeploymentStatusUpdate {
        state,
        log_url: None,
        environment_url: None,
        description: Some(description.to_owned()),
    };
    if locking {
        let records = github
            .release_sets(repo, &set.environment, LOOKBACK)
            .await?;
        let earlier = live(&records, now, &set.release_id)
            .filter(|(r, _, _)| r.deployment_id < id)
            .min_by_key(|(r, _, _)| r.deployment_id);
        if let Some((r, s, until)) = earlier {
            let lost = update(
                DeploymentState::Error,
                "another release took the lock first",
            );
            github.set_deployment_status(repo, id, &lost).await?;
            return Err(held(&set.environment, r, s, until));
        }
    }
    let started = update(DeploymentState::InProgress, "release in progress");
    github.set_deployment_status(repo, id, &started).await?;
    Ok(id)
}

/// Creates the record, trying again after a 5xx or no answer: a record the first attempt left
/// behind gets no status and is ignored (see `live`).
async fn create(
    github: &Arc<dyn GitHub>,
    repo: &Repo,
    set: &ReleaseSet,
) -> Result<DeploymentId, orchestrate_github::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match github.record_release_set(repo, set).await {
            Err(e) if attempt < 3 && !e.is_refusal() && e.status().is_none_or(|s| s >= 500) => {
                tracing::warn!(error = %e, "recording the release set failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
            }
            other => return other,
        }
    }
}

/// Sets the record's final status, which also frees the lease.
pub async fn finish(
    github: &Arc<dyn GitHub>,
    repo: &Repo,
    id: DeploymentId,
    succeeded: bool,
    description: &str,
    log_url: Option<String>,
) -> Result<(), orchestrate_github::Error> {
    let update = DeploymentStatusUpdate {
        state: if succeeded {
            DeploymentState::Success
        } else {
            DeploymentState::Failure
        },
        log_url,
        environment_url: None,
        description: Some(description.to_owned()),
    };
    github.set_deployment_status(repo, id, &update).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(
        id: u64,
        release: &str,
        state: Option<&str>,
        until: Option<i64>,
    ) -> ReleaseSetRecord {
        // Record 6 was created long ago (a stray); the others a moment ago.
        let created = if id == 6 { 0 } else { 990 };
        ReleaseSetRecord {
            deployment_id: id,
            created_at: DateTime::from_timestamp(created, 0).expect("valid"),
            state: state.map(str::to_owned),
            set: Some(ReleaseSet {
                release_id: release.to_owned(),
                environment: "production".into(),
                git_ref: "main".into(),
                members: Vec::new(),
                lease_expires_at: until.and_then(|s| DateTime::from_timestamp(s, 0)),
                run_url: Some(format!("https://github.com/o/r/actions/runs/{id}")),
            }),
        }
    }

    #[test]
    fn only_open_unexpired_leases_of_other_releases_are_live() {
        let now = DateTime::from_timestamp(1_000, 0).expect("valid");
        let records = vec![
            record_of(1, "old", Some("in_progress"), Some(900)), // expired
            record_of(2, "done", Some("success"), Some(5_000)),  // finished
            record_of(3, "nolock", Some("in_progress"), None),   // not locking
            record_of(4, "mine", Some("in_progress"), Some(5_000)),
            record_of(5, "other", None, Some(5_000)),
            record_of(6, "stray", None, Some(5_000)),
        ];
        let ids: Vec<u64> = live(&records, now, "mine")
            .map(|(r, _, _)| r.deployment_id)
            .collect();
        assert_eq!(ids, [5]);
        let err = held(
            "production",
            &records[4],
            records[4].set.as_ref().expect("set"),
            DateTime::from_timestamp(5_000, 0).expect("valid"),
        );
        assert!(
            err.to_string().contains(
                "locked by release 5 (https://github.com/o/r/actions/runs/5) until 1970-01-01T01:23:20Z"
            ),
            "{err}"
        );
    }
}
