//! Deployments as a registry: 201, the 202 auto-merge answer, 409 on failing contexts, list
//! filters and order, statuses with `Location` and `auto_inactive`, delete rules.

use serde_json::{Value, json};

use crate::support::{Env, assert_error};

async fn create(env: &Env, repo: &str, body: Value) -> crate::support::Answer {
    env.post(&format!("/repos/{repo}/deployments"), body).await
}

#[tokio::test]
async fn create_201_and_the_auto_merge_202() {
    let env = Env::standard().await;
    let body = json!({ "ref": "main", "environment": "staging", "auto_merge": false, "required_contexts": [], "payload": { "version": "1.2.3" } });
    let created = create(&env, "octo/api", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["payload"], json!({ "version": "1.2.3" }));
    assert_eq!(
        (
            created.body["environment"].as_str(),
            created.body["production_environment"].as_bool()
        ),
        (Some("staging"), Some(false))
    );
    assert_eq!(created.body["sha"].as_str().map(str::len), Some(40));
    let merged = create(
        &env,
        "octo/api",
        json!({ "ref": "release", "required_contexts": [] }),
    )
    .await;
    assert_eq!(
        (merged.status, &merged.body),
        (
            202,
            &json!({ "message": "Auto-merged main into release on deployment." })
        )
    );
    assert_eq!(env.emu.deployments("octo/api").len(), 1);
    // The merge happened: the ref is no longer behind and the next request deploys.
    let after = create(
        &env,
        "octo/api",
        json!({ "ref": "release", "required_contexts": [] }),
    )
    .await;
    assert_eq!(after.status, 201);
    env.emu.set_behind("octo/api", "release");
    let kept = create(
        &env,
        "octo/api",
        json!({ "ref": "release", "auto_merge": false, "required_contexts": [] }),
    )
    .await;
    assert_eq!(kept.status, 201);
    assert_error(
        &create(&env, "octo/api", json!({ "ref": "ghost" })).await,
        422,
        "No ref found for: ghost",
    );
}

#[tokio::test]
async fn failing_contexts_conflict_unless_bypassed() {
    let env = Env::standard().await;
    assert_error(
        &create(&env, "octo/web", json!({ "ref": "main" })).await,
        409,
        "Commit status checks failed for main",
    );
    assert_error(
        &create(
            &env,
            "octo/web",
            json!({ "ref": "main", "required_contexts": ["ci/test"] }),
        )
        .await,
        409,
        "Conflict",
    );
    assert_eq!(
        create(
            &env,
            "octo/web",
            json!({ "ref": "main", "required_contexts": [] })
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn list_filters_and_is_not_in_id_order() {
    let env = Env::standard().await;
    let mut ids = Vec::new();
    for environment in ["production", "staging", "production", "dev"] {
        let body = json!({ "ref": "main", "environment": environment, "auto_merge": false, "required_contexts": [] });
        ids.push(
            create(&env, "octo/api", body).await.body["id"]
                .as_u64()
                .expect("id"),
        );
    }
    let listed: Vec<u64> = env
        .get("/repos/octo/api/deployments")
        .await
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["id"].as_u64())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed.len(), 4);
    assert_ne!(listed, sorted, "the list must not already be in id order");
    let production = env
        .get("/repos/octo/api/deployments?environment=production")
        .await;
    let production: Vec<u64> = production
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["id"].as_u64())
        .collect();
    assert_eq!(production, [ids[0], ids[2]]);
    let paged = env.get("/repos/octo/api/deployments?per_page=3").await;
    assert!(paged.header("link").contains("rel=\"next\""));
    assert_eq!(
        env.get("/repos/octo/api/deployments?task=migrate")
            .await
            .body,
        json!([])
    );
}

#[tokio::test]
async fn statuses_have_location_and_auto_inactive_applies_to_non_production() {
    let env = Env::standard().await;
    let body = |env: &str| json!({ "ref": "main", "environment": env, "auto_merge": false, "required_contexts": [] });
    let first = create(&env, "octo/api", body("staging")).await.body["id"]
        .as_u64()
        .expect("id");
    let prod = create(&env, "octo/api", body("production")).await.body["id"]
        .as_u64()
        .expect("id");
    let second = create(&env, "octo/api", body("staging")).await.body["id"]
        .as_u64()
        .expect("id");
    for id in [first, prod] {
        let status = env
            .post(
                &format!("/repos/octo/api/deployments/{id}/statuses"),
                json!({ "state": "success", "log_url": "https://ci/1" }),
            )
            .await;
        assert_eq!(status.status, 201, "{}", status.text);
        assert_eq!(
            status.header("location"),
            status.body["url"].as_str().expect("url")
        );
        assert_eq!(status.body["target_url"], "https://ci/1");
    }
    let status = env
        .post(
            &format!("/repos/octo/api/deployments/{second}/statuses"),
            json!({ "state": "success" }),
        )
        .await;
    let status_id = status.body["id"].as_u64().expect("status id");
    let first_statuses = env
        .get(&format!("/repos/octo/api/deployments/{first}/statuses"))
        .await;
    assert_eq!(
        first_statuses.body[0]["state"], "inactive",
        "newest first: {}",
        first_statuses.text
    );
    assert_eq!(first_statuses.body[1]["state"], "success");
    let prod_statuses = env
        .get(&format!("/repos/octo/api/deployments/{prod}/statuses"))
        .await;
    assert_eq!(prod_statuses.body.as_array().map(Vec::len), Some(1));
    let one = env
        .get(&format!(
            "/repos/octo/api/deployments/{second}/statuses/{status_id}"
        ))
        .await;
    assert_eq!(one.body["state"], "success");
    assert_error(
        &env.post(
            &format!("/repos/octo/api/deployments/{second}/statuses"),
            json!({ "state": "shipped" }),
        )
        .await,
        422,
        "Validation Failed",
    );
    let delete = |id: u64| {
        env.send(
            env.http
                .delete(env.url(&format!("/repos/octo/api/deployments/{id}")))
                .bearer_auth(&env.token),
        )
    };
    assert_error(
        &delete(second).await,
        422,
        "We cannot delete an active deployment",
    );
    assert_eq!(delete(first).await.status, 204);
    assert_error(
        &env.get(&format!("/repos/octo/api/deployments/{first}"))
            .await,
        404,
        "Not Found",
    );
}
