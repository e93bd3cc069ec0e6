//! Pure correlation of a dispatch with its run when the host returns no run id: a unique
//! `orchestrate_id` input that the target workflow puts in its `run-name`, matched as a whole
//! word in the run's `display_title` among runs created after the dispatch. Never "the newest
//! run": without a match there is no run.

use chrono::{DateTime, Utc};

use crate::types::RunSummary;

/// The workflow input (and `client_payload` key) that carries the correlation id.
pub const INPUT_NAME: &str = "orchestrate_id";

/// A fresh correlation id: `orch-` and 16 hex digits of a v4 UUID (64 random bits).
pub fn new_id() -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!("orch-{}", &uuid[..16])
}

/// Whether `title` contains `id` as a whole word (not inside a longer id).
pub fn title_matches(title: &str, id: &str) -> bool {
    if id.is_empty() {
        return false;
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    title.match_indices(id).any(|(at, _)| {
        let before = title[..at].chars().next_back();
        let after = title[at + id.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The runs among `runs` that belong to correlation `id`: created at or after `since` (already
/// including the allowed clock skew) and carrying the id in their title.
pub fn matching<'a>(
    runs: impl IntoIterator<Item = &'a RunSummary>,
    id: &str,
    since: DateTime<Utc>,
) -> Vec<&'a RunSummary> {
    runs.into_iter()
        .filter(|r| r.created_at >= since && title_matches(&r.display_title, id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64, title: &str, created: &str) -> RunSummary {
        RunSummary {
            id,
            html_url: format!("https://github.com/a/b/actions/runs/{id}"),
            status: "queued".into(),
            conclusion: None,
            display_title: title.into(),
            event: "workflow_dispatch".into(),
            head_branch: Some("main".into()),
            path: ".github/workflows/deploy.yml".into(),
            created_at: created.parse().expect("valid time"),
            updated_at: created.parse().expect("valid time"),
            run_started_at: None,
            run_attempt: Some(1),
        }
    }

    #[test]
    fn ids_are_unique_and_short() {
        let a = new_id();
        assert_eq!(a.len(), 21);
        assert!(a.starts_with("orch-"));
        assert_ne!(a, new_id());
    }

    #[test]
    fn matches_whole_words_only() {
        assert!(title_matches("deploy 1.2.3 [orch-abc]", "orch-abc"));
        assert!(title_matches("orch-abc", "orch-abc"));
        assert!(!title_matches("deploy orch-abcd", "orch-abc"));
        assert!(!title_matches("xorch-abc", "orch-abc"));
        assert!(!title_matches("deploy", ""));
    }

    #[test]
    fn never_picks_the_newest_run_without_the_id() {
        let since: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().expect("valid time");
        let runs = [
            run(3, "deploy [orch-zzz]", "2026-01-01T10:00:05Z"),
            run(2, "deploy [orch-abc]", "2026-01-01T10:00:01Z"),
            run(1, "deploy [orch-abc]", "2026-01-01T09:00:00Z"),
        ];
        let found: Vec<u64> = matching(&runs, "orch-abc", since)
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(found, vec![2]);
        assert!(matching(&runs, "orch-none", since).is_empty());
    }
}
