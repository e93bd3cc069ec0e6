//! Authentication like GitHub: 401 without or with a bad token, 404 for repositories a token
//! cannot see, 403 for missing permissions with the message of its kind of token.

use orchestrate_emulator::{Access, EmulatorConfig, Permission, TokenKind, TokenSpec};
use serde_json::json;

use crate::support::{Env, assert_error, config, start};

fn tokens() -> Vec<TokenSpec> {
    let reader = TokenSpec::scoped(
        "reader",
        "ghp_reader",
        &["octo/api"],
        &[(Permission::Actions, Access::Read)],
    );
    let mut app = TokenSpec::scoped(
        "app",
        "ghs_app",
        &["octo/api"],
        &[(Permission::Actions, Access::Read)],
    );
    app.kind = TokenKind::Integration;
    vec![TokenSpec::permissive("admin", "ghp_admin"), reader, app]
}

#[tokio::test]
async fn missing_and_bad_tokens_are_401() {
    let env = start(EmulatorConfig {
        tokens: tokens(),
        ..config()
    })
    .await;
    let none = env
        .send(env.http.get(env.url("/repos/octo/api/actions/runs")))
        .await;
    assert_error(&none, 401, "Requires authentication");
    let bad = env
        .send(
            env.http
                .get(env.url("/repos/octo/api/actions/runs"))
                .bearer_auth("ghp_wrong"),
        )
        .await;
    assert_error(&bad, 401, "Bad credentials");
}

#[tokio::test]
async fn invisible_repo_is_404_and_missing_permission_403() {
    let mut env: Env = start(EmulatorConfig {
        tokens: tokens(),
        ..config()
    })
    .await;
    env.token = "ghp_reader".into();
    assert_eq!(env.get("/repos/octo/api/actions/runs").await.status, 200);
    assert_error(
        &env.get("/repos/octo/web/actions/runs").await,
        404,
        "Not Found",
    );
    assert_error(
        &env.get("/repos/octo/nope/actions/runs").await,
        404,
        "Not Found",
    );
    let dispatch = json!({ "ref": "main", "inputs": { "version": "1" } });
    let forbidden = env
        .post(
            "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
            dispatch.clone(),
        )
        .await;
    assert_error(
        &forbidden,
        403,
        "Resource not accessible by personal access token",
    );
    assert_error(
        &env.get("/repos/octo/api/deployments").await,
        403,
        "Resource not accessible by personal access token",
    );
    env.token = "ghs_app".into();
    let forbidden = env
        .post(
            "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
            dispatch.clone(),
        )
        .await;
    assert_error(&forbidden, 403, "Resource not accessible by integration");
    env.token = "ghp_admin".into();
    assert_eq!(
        env.post(
            "/repos/octo/api/actions/workflows/deploy.yml/dispatches",
            dispatch
        )
        .await
        .status,
        204
    );
    assert!(
        env.emu
            .requests()
            .iter()
            .any(|r| r.token_id.as_deref() == Some("reader"))
    );
}
