//! GitHub App authentication end to end against the emulator: installation tokens minted once
//! per owner and cached, a repository outside the installation, bad keys and app ids, an
//! expired installation token minted again, and the emulator's own JWT checks. The key pair
//! is the throwaway one in `tests/fixtures/` (see its README).

use std::collections::BTreeMap;
use std::time::Duration;

use orchestrate_emulator::{
    Access, AppSpec, Behaviour, Emulator, EmulatorConfig, InstallationSpec, Permission, RepoSpec,
    RunningEmulator, Scenario, WorkflowSpec,
};
use orchestrate_github::{
    Client, ClientConfig, Credentials, DispatchRequest, Error, GitHub, Repo, RetryPolicy, Secret,
};
use serde_json::{Value, json};

const PRIVATE_KEY: &str = include_str!("../fixtures/test-app-key.pem");
const PUBLIC_KEY: &str = include_str!("../fixtures/test-app-key.pub.pem");
const APP_ID: u64 = 424_242;

fn deploy() -> WorkflowSpec {
    WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .behaviour(Behaviour::timed(
            Duration::from_secs(1),
            Duration::from_secs(5),
            "success",
        ))
}

/// `acme` has the app on `api` only (not `web`), `globex` on every repository, `initech` not
/// at all. The clock is frozen at the wall time so the test moves it.
async fn emulator() -> RunningEmulator {
    let scenario = Scenario::builder()
        .repo(RepoSpec::new("acme/api").workflow(deploy()))
        .repo(RepoSpec::new("acme/web").workflow(deploy()))
        .repo(RepoSpec::new("globex/app").workflow(deploy()))
        .repo(RepoSpec::new("initech/svc").workflow(deploy()));
    let actions = [(Permission::Actions, Access::Write)];
    let app = AppSpec::new(APP_ID, PUBLIC_KEY)
        .installation(InstallationSpec::new(101, "acme", &actions).repos(&["api"]))
        .installation(InstallationSpec::new(202, "globex", &actions));
    let config = EmulatorConfig {
        apps: vec![app],
        time_factor: Some(0.0),
        ..EmulatorConfig::new(scenario)
    };
    Emulator::start(config).await.expect("emulator starts")
}

fn app_client(url: &str, app_id: u64, key: &str) -> orchestrate_github::Result<Client> {
    let credentials = Credentials::App {
        app_id,
        private_key: Secret::new(key),
    };
    let mut config = ClientConfig::new(url, credentials);
    config.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    Client::new(config)
}

fn repo(full: &str) -> Repo {
    let (owner, name) = full.split_once('/').expect("owner/name");
    Repo {
        owner: owner.into(),
        name: name.into(),
    }
}

fn request(full: &str) -> DispatchRequest {
    DispatchRequest {
        repo: repo(full),
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: BTreeMap::from([("version".to_owned(), "1.2.3".to_owned())]),
        correlate: false,
    }
}

fn count(emu: &RunningEmulator, method: &str, path: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path_only() == path)
        .count()
}

/// Neither the key, a JWT nor an installation token shows in the request log.
fn assert_log_has_no_secrets(emu: &RunningEmulator) {
    let key_body = PRIVATE_KEY.lines().nth(1).expect("key body");
    for r in emu.requests() {
        let shown = format!("{r:?}");
        for secret in ["ghs_", "eyJ", key_body] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}

#[tokio::test]
async fn tokens_are_minted_once_per_owner_and_cached() {
    let emu = emulator().await;
    let github = app_client(emu.base_url(), APP_ID, PRIVATE_KEY).expect("client");
    let api = github.dispatch(&request("acme/api")).await.expect("acme");
    let app = github
        .dispatch(&request("globex/app"))
        .await
        .expect("globex");
    github.dispatch(&request("acme/api")).await.expect("again");
    let run = api.run.expect("run details");
    let got = github
        .get_run(&repo("acme/api"), run.id)
        .await
        .expect("run");
    assert_eq!(got.id, run.id);
    assert!(app.run.is_some());
    assert_eq!(emu.runs("acme/api").len(), 2);
    assert_eq!(emu.runs("globex/app").len(), 1);

    assert_eq!(count(&emu, "GET", "/repos/acme/api/installation"), 1);
    assert_eq!(count(&emu, "GET", "/repos/globex/app/installation"), 1);
    assert_eq!(
        count(&emu, "POST", "/app/installations/101/access_tokens"),
        1
    );
    assert_eq!(
        count(&emu, "POST", "/app/installations/202/access_tokens"),
        1
    );
    // Every repository request went out with its owner's installation token.
    let dispatches: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/dispatches"))
        .map(|r| (r.status, r.token_id.unwrap_or_default()))
        .collect();
    assert_eq!(
        dispatches,
        [
            (200, "installation-101".to_owned()),
            (200, "installation-202".to_owned()),
            (200, "installation-101".to_owned()),
        ]
    );
    assert_log_has_no_secrets(&emu);
    let shown = format!("{github:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains("ghs_"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_repo_outside_the_installation_is_a_404_with_the_remedy() {
    let emu = emulator().await;
    let github = app_client(emu.base_url(), APP_ID, PRIVATE_KEY).expect("client");
    github
        .dispatch(&request("acme/api"))
        .await
        .expect("acme/api");
    // acme's token is cached, but `web` is not among the installation's repositories.
    let err = github
        .dispatch(&request("acme/web"))
        .await
        .expect_err("acme/web is outside the installation");
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(err.is_refusal());
    let text = err.to_string();
    assert!(text.contains("token cannot see acme/web"), "{text}");
    assert!(text.contains("actions: write"), "{text}");

    // No installation on the owner at all: the lookup says so and names the fix.
    let err = github
        .dispatch(&request("initech/svc"))
        .await
        .expect_err("not installed on initech");
    assert!(matches!(err, Error::AppAuth { .. }), "{err:?}");
    assert!(err.is_refusal());
    let text = err.to_string();
    assert!(
        text.contains("not installed on initech/svc") && text.contains("install it"),
        "{text}"
    );
    assert!(emu.runs("acme/web").is_empty() && emu.runs("initech/svc").is_empty());
    assert_log_has_no_secrets(&emu);
}

#[tokio::test]
async fn bad_keys_and_app_ids_are_clear_errors() {
    let emu = emulator().await;
    let key_body = PRIVATE_KEY.lines().nth(1).expect("key body");

    // Not a key at all: refused before any request, without echoing it.
    let truncated: String = PRIVATE_KEY.chars().take(200).collect();
    let err = app_client(emu.base_url(), APP_ID, &truncated).expect_err("not a key");
    let text = err.to_string();
    assert!(text.contains("app_private_key"), "{text}");
    assert!(!text.contains(&key_body[..20]), "{text}");

    // A real key, but GitHub knows it under another app id: GitHub's 401 and what to check.
    let github = app_client(emu.base_url(), APP_ID + 1, PRIVATE_KEY).expect("client");
    let err = github
        .dispatch(&request("acme/api"))
        .await
        .expect_err("the JWT is refused");
    assert!(matches!(err, Error::AppAuth { .. }), "{err:?}");
    assert!(err.is_refusal());
    let text = err.to_string();
    assert!(
        text.contains("A JSON web token could not be decoded")
            && text.contains("app_id")
            && text.contains("same GitHub App"),
        "{text}"
    );
    assert!(!text.contains(&key_body[..20]) && !format!("{err:?}").contains("eyJ"));
    assert_eq!(count(&emu, "GET", "/repos/acme/api/installation"), 1);
    assert!(emu.requests().iter().any(|r| r.status == 401));
    assert!(emu.runs("acme/api").is_empty());
}

#[tokio::test]
async fn an_expired_installation_token_is_minted_again() {
    let emu = emulator().await;
    let github = app_client(emu.base_url(), APP_ID, PRIVATE_KEY).expect("client");
    let run = github
        .dispatch(&request("acme/api"))
        .await
        .expect("dispatch")
        .run
        .expect("run details");
    // An hour and a minute of emulated time: the token expired on the emulator's clock while
    // the client's own clock still thinks it fresh, so the refusal is what triggers a re-mint.
    emu.advance(Duration::from_secs(61 * 60));
    let got = github
        .get_run(&repo("acme/api"), run.id)
        .await
        .expect("re-minted and answered");
    assert_eq!(got.id, run.id);
    let path = format!("/repos/acme/api/actions/runs/{}", run.id);
    let statuses: Vec<u16> = emu
        .requests()
        .iter()
        .filter(|r| r.path_only() == path)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [401, 200]);
    assert_eq!(
        count(&emu, "POST", "/app/installations/101/access_tokens"),
        2
    );
    assert_log_has_no_secrets(&emu);
}

/// A JWT with chosen claims, signed with the fixture key.
fn jwt(claims: Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).expect("key");
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jsonwebtoken::encode(&header, &claims, &key).expect("signed")
}

async fn call(
    emu: &RunningEmulator,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut req = http
        .request(method, format!("{}{path}", emu.base_url()))
        .bearer_auth(bearer)
        .header("user-agent", "test");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.expect("answer");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_emulator_checks_the_jwt_like_github() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = emulator().await;
    let now = chrono::Utc::now().timestamp();
    let lookup = "/repos/acme/api/installation";
    let cases = [
        (
            json!({"iss": APP_ID, "iat": now - 60, "exp": now + 700}),
            "too far in the future",
        ),
        (
            json!({"iss": APP_ID, "iat": now - 600, "exp": now - 10}),
            "'exp') must be a numeric",
        ),
        (
            json!({"iss": APP_ID, "iat": now + 120, "exp": now + 300}),
            "'Issued at' claim",
        ),
        (
            json!({"iss": 7, "iat": now - 60, "exp": now + 300}),
            "could not be decoded",
        ),
    ];
    for (claims, message) in cases {
        let (status, body) = call(&emu, reqwest::Method::GET, lookup, &jwt(claims), None).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            body["message"].as_str().unwrap_or("").contains(message),
            "{body}"
        );
    }
    let (status, body) = call(&emu, reqwest::Method::GET, lookup, "ghp_nope", None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("A JSON web token could not be decoded"))
    );

    let good = jwt(json!({"iss": APP_ID.to_string(), "iat": now - 60, "exp": now + 540}));
    let (status, installation) = call(&emu, reqwest::Method::GET, lookup, &good, None).await;
    assert_eq!(status, 200, "{installation}");
    assert_eq!(installation["id"], 101);
    assert_eq!(installation["app_id"], APP_ID);
    assert_eq!(installation["account"]["login"], "acme");
    assert_eq!(installation["repository_selection"], "selected");
    assert_eq!(
        installation["permissions"],
        json!({"actions": "write", "metadata": "read"})
    );
    let (status, _) = call(
        &emu,
        reqwest::Method::GET,
        "/repos/acme/web/installation",
        &good,
        None,
    )
    .await;
    assert_eq!(status, 404, "web is not selected");
    let (status, org) = call(
        &emu,
        reqwest::Method::GET,
        "/orgs/globex/installation",
        &good,
        None,
    )
    .await;
    assert_eq!((status, org["id"].as_u64()), (200, Some(202)));

    let mint = "/app/installations/202/access_tokens";
    let (status, token) = call(&emu, reqwest::Method::POST, mint, &good, None).await;
    assert_eq!(status, 201, "{token}");
    assert!(
        token["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("ghs_"))
    );
    let expires: chrono::DateTime<chrono::Utc> = token["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("rfc3339");
    // One hour of emulated time (`expires_at` is whole seconds).
    let lifetime = (expires - emu.now()).num_seconds();
    assert!((3599..=3600).contains(&lifetime), "{lifetime}");
    assert_eq!(token["repository_selection"], "all");
    assert_eq!(
        token["permissions"],
        json!({"actions": "write", "metadata": "read"})
    );
    assert!(
        token.get("repositories").is_none(),
        "listed only when selected"
    );

    let narrowed = json!({"repositories": ["app"], "permissions": {"actions": "read"}});
    let (status, token) = call(&emu, reqwest::Method::POST, mint, &good, Some(narrowed)).await;
    assert_eq!(status, 201, "{token}");
    assert_eq!(
        token["permissions"],
        json!({"actions": "read", "metadata": "read"})
    );
    assert_eq!(token["repositories"][0]["full_name"], "globex/app");
    let minted = token["token"].as_str().expect("token").to_owned();
    let (status, body) = call(
        &emu,
        reqwest::Method::POST,
        "/repos/globex/app/actions/workflows/deploy.yml/dispatches",
        &minted,
        Some(json!({"ref": "main", "inputs": {"version": "1"}})),
    )
    .await;
    assert_eq!(status, 403, "a read-only token cannot dispatch: {body}");
    assert_eq!(body["message"], "Resource not accessible by integration");

    let beyond = json!({"permissions": {"deployments": "write"}});
    let (status, body) = call(&emu, reqwest::Method::POST, mint, &good, Some(beyond)).await;
    assert_eq!(status, 422, "{body}");
    let elsewhere = json!({"repositories": ["api"]});
    let (status, _) = call(&emu, reqwest::Method::POST, mint, &good, Some(elsewhere)).await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &emu,
        reqwest::Method::POST,
        "/app/installations/999/access_tokens",
        &good,
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_log_has_no_secrets(&emu);
}

/// The `on_secret` hook sees every minted installation token exactly once, before any request
/// carries it: the first token, and the one minted again after GitHub answers 401.
#[tokio::test]
async fn the_secret_hook_sees_each_minted_token_once_before_its_first_use() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    use crate::fake::{self, Resp, run_json};

    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let minted = Arc::new(AtomicU32::new(0));
    let run_gets = Arc::new(AtomicU32::new(0));
    let seen = events.clone();
    let gh = fake::start(move |req| {
        let auth = req.header("authorization").unwrap_or_default();
        let token = auth.strip_prefix("Bearer ").unwrap_or_default();
        let token = if token.starts_with("ghs_") {
            token
        } else {
            "jwt"
        };
        seen.lock()
            .expect("lock")
            .push(format!("{} {} {token}", req.method, req.path));
        if req.is("GET", "/repos/acme/api/installation") {
            return Resp::json(200, json!({"id": 11}));
        }
        if req.is("POST", "/app/installations/11/access_tokens") {
            let n = minted.fetch_add(1, Ordering::SeqCst) + 1;
            return Resp::json(
                201,
                json!({"token": format!("ghs_minted_{n}"), "expires_at": "2099-01-01T00:00:00Z"}),
            );
        }
        if req.is("GET", "/repos/acme/api/actions/runs/5") {
            // The third read finds the first token expired.
            if run_gets.fetch_add(1, Ordering::SeqCst) == 2 {
                return Resp::json(401, json!({"message": "Bad credentials"}));
            }
            return Resp::json(
                200,
                run_json(5, "a", "queued", None, "2026-01-01T10:00:00Z"),
            );
        }
        Resp::empty(404)
    })
    .await;
    let mut config = ClientConfig::new(
        &gh.url,
        Credentials::App {
            app_id: APP_ID,
            private_key: Secret::new(PRIVATE_KEY),
        },
    );
    let hooked = events.clone();
    config.on_secret = Some(Arc::new(move |token: &str| {
        hooked.lock().expect("lock").push(format!("hook {token}"));
    }));
    let github = Client::new(config).expect("client");
    for _ in 0..4 {
        github.get_run(&repo("acme/api"), 5).await.expect("run");
    }
    let events = events.lock().expect("lock").clone();
    let hooks: Vec<&str> = events
        .iter()
        .filter_map(|e| e.strip_prefix("hook "))
        .collect();
    assert_eq!(hooks, ["ghs_minted_1", "ghs_minted_2"], "{events:#?}");
    for token in hooks {
        let hook = events.iter().position(|e| e == &format!("hook {token}"));
        let first_use = events
            .iter()
            .position(|e| !e.starts_with("hook ") && e.ends_with(&format!(" {token}")));
        assert!(first_use.is_some(), "{token} used: {events:#?}");
        assert!(hook < first_use, "{token} hooked before use: {events:#?}");
    }
}
