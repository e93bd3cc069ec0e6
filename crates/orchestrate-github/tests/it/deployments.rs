//! The registry: deployments created without auto-merge, the 202 answer as an error, and
//! "deployed" read as the newest deployment (by id) whose newest status (by id) is success.

use orchestrate_github::{DeploymentState, DeploymentStatusUpdate, Error, GitHub, NewDeployment};

use crate::fake::{self, Resp};
use crate::{client, repo};

fn deployment(id: u64, version: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "sha": "s", "ref": "main", "task": "deploy", "environment": "production",
        "payload": {"version": version}, "created_at": "2026-01-01T00:00:00Z"})
}

fn new_deployment() -> NewDeployment {
    NewDeployment {
        environment: "production".into(),
        git_ref: "main".into(),
        task: "deploy".into(),
        payload: serde_json::json!({"version": "1.2.3"}),
        description: Some("d".repeat(300)),
        production_environment: None,
    }
}

#[tokio::test]
async fn create_sends_no_auto_merge_and_statuses_are_posted() {
    let gh = fake::start(|req| {
        if req.is("POST", "/repos/acme/api/deployments/77/statuses") {
            return Resp::json(201, serde_json::json!({"id": 1, "state": "success"}));
        }
        if req.is("POST", "/repos/acme/api/deployments") {
            return Resp::json(201, deployment(77, "1.2.3"));
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let id = github
        .create_deployment(&repo(), &new_deployment())
        .await
        .expect("created");
    assert_eq!(id, 77);
    let update = DeploymentStatusUpdate {
        state: DeploymentState::Success,
        log_url: Some("https://github.com/acme/api/actions/runs/1".into()),
        environment_url: None,
        description: None,
    };
    github
        .set_deployment_status(&repo(), id, &update)
        .await
        .expect("status");
    let requests = gh.requests();
    assert_eq!(requests[0].body["auto_merge"], false);
    assert_eq!(requests[0].body["required_contexts"], serde_json::json!([]));
    assert_eq!(
        requests[0].body["description"]
            .as_str()
            .map(|d| d.chars().count()),
        Some(140)
    );
    assert_eq!(requests[1].body["state"], "success");
}

#[tokio::test]
async fn a_202_auto_merge_answer_is_an_error() {
    let gh = fake::start(|_| {
        Resp::json(
            202,
            serde_json::json!({"message": "Auto-merged master into topic-branch on deployment."}),
        )
    })
    .await;
    let err = client(&gh.url)
        .create_deployment(&repo(), &new_deployment())
        .await
        .expect_err("202");
    assert!(matches!(err, Error::DeploymentAutoMerged { .. }), "{err}");
    assert!(err.to_string().contains("Auto-merged"));
}

#[tokio::test]
async fn deployed_versions_sort_by_id_and_read_the_newest_status() {
    let gh = fake::start(|req| {
        if req.is("GET", "/repos/acme/api/deployments?") {
            // Deliberately out of order.
            return Resp::json(200, serde_json::json!([deployment(3, "1.1.0"), deployment(9, "1.3.0"), deployment(7, "1.2.0"), deployment(5, "1.1.5")]));
        }
        let statuses = match req.path.split('/').nth(5) {
            Some("9") => serde_json::json!([{"id": 92, "state": "failure"}, {"id": 91, "state": "in_progress"}]),
            Some("7") => serde_json::json!([{"id": 72, "state": "success"}, {"id": 71, "state": "in_progress"}]),
            Some("5") => serde_json::json!([{"id": 51, "state": "in_progress"}, {"id": 53, "state": "success"}]),
            _ => serde_json::json!([{"id": 31, "state": "success"}]),
        };
        Resp::json(200, statuses)
    })
    .await;
    let history = client(&gh.url)
        .deployed_versions(&repo(), "production")
        .await
        .expect("read");
    assert_eq!(
        history.current.as_ref().and_then(|d| d.version.as_deref()),
        Some("1.2.0")
    );
    assert_eq!(
        history.previous.as_ref().and_then(|d| d.version.as_deref()),
        Some("1.1.5")
    );
    assert!(gh.requests()[0].path.contains("environment=production"));
}

#[tokio::test]
async fn history_reads_every_page_then_the_statuses_of_what_it_keeps() {
    let gh = fake::start(|req| {
        if req.is("GET", "/repos/acme/api/deployments?") {
            if req.path.contains("page=2") {
                let mut old = deployment(2, "0.9.0");
                old["created_at"] = "2025-06-01T00:00:00Z".into();
                return Resp::json(200, serde_json::json!([old, deployment(4, "1.0.0")]));
            }
            let mut own = deployment(8, "x");
            own["payload"] = "".into();
            let host = req.header("host").unwrap_or("");
            let next = format!("<http://{host}/repos/acme/api/deployments?page=2>; rel=\"next\"");
            return Resp::json(200, serde_json::json!([deployment(6, "1.1.0"), own]))
                .header("link", next);
        }
        let id: u64 = req.path.split('/').nth(5).and_then(|s| s.parse().ok()).unwrap_or(0);
        Resp::json(
            200,
            serde_json::json!([{"id": id * 10 + 1, "state": "success", "description": format!("{id} verified healthy took 30s"),
                "created_at": "2026-01-01T00:01:00Z"}, {"id": id * 10, "state": "in_progress"}]),
        )
    })
    .await;
    let since = "2026-01-01T00:00:00Z".parse().expect("time");
    let history = client(&gh.url)
        .deployment_history(&repo(), "production", since)
        .await
        .expect("read");
    let ids: Vec<u64> = history.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        vec![4, 6],
        "oldest first; too old and not orchestrate's left out"
    );
    assert_eq!(history[1].statuses.len(), 2);
    assert_eq!(
        history[1].statuses[0].description,
        "6 verified healthy took 30s"
    );
    assert_eq!(
        history[1].statuses[0].created_at.to_rfc3339(),
        "2026-01-01T00:01:00+00:00"
    );
    // A status without a time takes the deployment's.
    assert_eq!(history[1].statuses[1].created_at, history[1].created_at);
    let paths: Vec<String> = gh.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths.len(),
        4,
        "two list pages, two status lists: {paths:?}"
    );
}

fn in_env(id: u64, environment: &str, version: &str) -> serde_json::Value {
    let mut d = deployment(id, version);
    d["environment"] = environment.into();
    d
}

#[tokio::test]
async fn several_environments_come_from_one_list_without_an_environment_filter() {
    let gh = fake::start(|req| {
        if req.is("GET", "/repos/acme/api/deployments?") {
            if req.path.contains("page=2") {
                return Resp::json(
                    200,
                    serde_json::json!([
                        in_env(4, "staging/web", "2.0.0"),
                        in_env(2, "staging/android", "5.0.0")
                    ]),
                );
            }
            // GitHub's own deployment (no version) is newest in staging/web; production and
            // staging/ios are not asked for; the order is deliberately not by id.
            let mut own = in_env(12, "staging/web", "x");
            own["payload"] = "".into();
            let host = req.header("host").unwrap_or("");
            let next = format!("<http://{host}/repos/acme/api/deployments?page=2>; rel=\"next\"");
            return Resp::json(
                200,
                serde_json::json!([
                    in_env(6, "staging/web", "2.1.0"),
                    own,
                    in_env(11, "production", "9.0.0"),
                    in_env(8, "staging/android", "5.1.0"),
                    in_env(10, "staging/web", "2.2.0"),
                    in_env(9, "staging/ios", "7.0.0")
                ]),
            )
            .header("link", next);
        }
        let state = match req.path.split('/').nth(5) {
            Some("10") => "failure",
            _ => "success",
        };
        Resp::json(200, serde_json::json!([{"id": 1, "state": state}]))
    })
    .await;
    let environments = vec![
        "staging/web".to_owned(),
        "staging/android".to_owned(),
        "staging/desktop".to_owned(),
    ];
    let found = client(&gh.url)
        .deployed_versions_many(&repo(), &environments)
        .await
        .expect("read");
    let version = |env: &str, previous: bool| {
        let h = &found[env];
        let d = if previous { &h.previous } else { &h.current };
        d.as_ref().and_then(|d| d.version.clone())
    };
    assert_eq!(found.len(), 3, "every environment asked for: {found:?}");
    assert_eq!(
        (version("staging/web", false), version("staging/web", true)),
        (Some("2.1.0".into()), Some("2.0.0".into()))
    );
    assert_eq!(
        (
            version("staging/android", false),
            version("staging/android", true)
        ),
        (Some("5.1.0".into()), Some("5.0.0".into()))
    );
    assert_eq!(found["staging/desktop"], Default::default());
    let paths: Vec<String> = gh.requests().iter().map(|r| r.path.clone()).collect();
    let lists: Vec<&String> = paths
        .iter()
        .filter(|p| p.contains("/deployments?"))
        .collect();
    assert_eq!(lists.len(), 2, "one list, two pages: {paths:?}");
    assert!(
        lists[0].contains("task=deploy") && lists[0].contains("per_page=100"),
        "{paths:?}"
    );
    assert!(
        lists.iter().all(|p| !p.contains("environment=")),
        "{paths:?}"
    );
    // Statuses newest first per environment, only of versioned deployments asked for:
    // web 10 (failure), 6, 4; android 8, 2. Never 12 (no version), 11 or 9.
    let mut statuses: Vec<u64> = paths
        .iter()
        .filter_map(|p| p.split('/').nth(5)?.parse().ok())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![2, 4, 6, 8, 10], "{paths:?}");
}
