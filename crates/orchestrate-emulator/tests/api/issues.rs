//! Issues and comments: create, comment, list by label and state, close.

use serde_json::json;

use crate::support::{Env, assert_error};

#[tokio::test]
async fn create_comment_list_and_close() {
    let env = Env::standard().await;
    let created = env.post("/repos/octo/api/issues", json!({ "title": "Release 1.2.3 failed", "body": "details", "labels": ["release-failure"] })).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["number"], 1);
    assert_eq!(
        created.header("location"),
        created.body["url"].as_str().expect("url")
    );
    assert_eq!(created.body["labels"][0]["name"], "release-failure");
    env.post("/repos/octo/api/issues", json!({ "title": "other" }))
        .await;
    let comment = env
        .post(
            "/repos/octo/api/issues/1/comments",
            json!({ "body": "retrying" }),
        )
        .await;
    assert_eq!(comment.status, 201);
    assert_eq!(
        comment.body["issue_url"],
        json!(format!("{}/repos/octo/api/issues/1", env.emu.base_url()))
    );
    let labelled = env
        .get("/repos/octo/api/issues?labels=release-failure&state=open")
        .await;
    assert_eq!(labelled.body.as_array().map(Vec::len), Some(1));
    assert_eq!(labelled.body[0]["comments"], 1);
    let comments = env.get("/repos/octo/api/issues/1/comments").await;
    assert_eq!(comments.body[0]["body"], "retrying");
    let patch = env
        .http
        .patch(env.url("/repos/octo/api/issues/1"))
        .bearer_auth(&env.token)
        .json(&json!({ "state": "closed" }));
    let closed = env.send(patch).await;
    assert_eq!(
        (closed.status, closed.body["state"].as_str()),
        (200, Some("closed"))
    );
    assert_eq!(closed.body["state_reason"], "completed");
    assert_eq!(
        env.get("/repos/octo/api/issues?labels=release-failure")
            .await
            .body,
        json!([])
    );
    assert_eq!(
        env.get("/repos/octo/api/issues?state=all")
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(env.emu.issues("octo/api")[0].comments.len(), 1);
    assert_error(
        &env.post("/repos/octo/api/issues", json!({ "body": "no title" }))
            .await,
        422,
        "Validation Failed",
    );
    assert_error(
        &env.post("/repos/octo/api/issues/9/comments", json!({ "body": "x" }))
            .await,
        404,
        "Not Found",
    );
}
