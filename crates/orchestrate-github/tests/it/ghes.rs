//! A GHES-shaped host: the emulator serving its whole API under `/api/v3`, and the client
//! pointed at `http://host/api/v3` dispatching, awaiting, listing and downloading an artifact,
//! with every request, `Link`, `url` and `Location` staying under the prefix.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use orchestrate_emulator::{
    ArtifactSpec, Behaviour, Emulator, EmulatorConfig, RepoSpec, Scenario, WorkflowSpec,
};
use orchestrate_github::{
    ArtifactLimits, Client, ClientConfig, Credentials, DispatchRequest, GitHub, PollPolicy,
    RunWatcher, Secret, WatchTarget,
};

use crate::repo;

fn scenario() -> Scenario {
    let mut manifest = ArtifactSpec {
        name: "build-info".into(),
        files: BTreeMap::new(),
    };
    manifest.files.insert(
        "build-info.json".into(),
        serde_json::json!({ "version": "${{ inputs.version }}" }),
    );
    let behaviour = Behaviour {
        artifacts: vec![manifest],
        ..Behaviour::timed(Duration::from_secs(2), Duration::from_secs(8), "success")
    };
    let workflow = WorkflowSpec::new("deploy.yml")
        .input("version", true)
        .behaviour(behaviour);
    Scenario::builder().repo(RepoSpec::new("acme/api").workflow(workflow))
}

#[tokio::test]
async fn dispatch_await_and_artifacts_under_api_v3() {
    let config = EmulatorConfig {
        path_prefix: Some("/api/v3".into()),
        time_factor: Some(20.0),
        ..EmulatorConfig::new(scenario())
    };
    let emu = Emulator::start(config).await.expect("emulator starts");
    let base = emu.base_url().to_owned();
    let root = format!("http://{}", emu.addr());
    assert_eq!(base, format!("{root}/api/v3"));

    let config = ClientConfig::new(
        &base,
        Credentials::Token(Secret::new(orchestrate_emulator::DEFAULT_TOKEN)),
    );
    let github: Arc<dyn GitHub> = Arc::new(Client::new(config).expect("client"));
    let dispatched = github
        .dispatch(&DispatchRequest {
            repo: repo(),
            workflow: "deploy.yml".into(),
            git_ref: "main".into(),
            inputs: BTreeMap::from([("version".to_owned(), "3.1.4".to_owned())]),
            correlate: false,
        })
        .await
        .expect("dispatch");
    let watcher = RunWatcher::spawn(github.clone(), PollPolicy::fast());
    let target =
        WatchTarget::from_dispatch(&dispatched, chrono::Duration::seconds(60)).expect("run id");
    let run = tokio::time::timeout(Duration::from_secs(20), watcher.watch(target).completed())
        .await
        .expect("in time")
        .expect("completes");
    assert!(run.succeeded(), "{run:?}");
    // Pages live at the host's root on GHES, the API under /api/v3.
    assert!(
        run.html_url
            .starts_with(&format!("{root}/acme/api/actions/runs/")),
        "{}",
        run.html_url
    );

    let artifacts = github
        .list_run_artifacts(&repo(), run.id)
        .await
        .expect("listed");
    assert_eq!(artifacts.len(), 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = github
        .download_artifact(
            &repo(),
            &artifacts[0],
            &dir.path().join("build-info"),
            &ArtifactLimits::default(),
        )
        .await
        .expect("downloaded");
    assert!(out.digest_verified);
    assert_eq!(out.fields["version"], "3.1.4");

    // Every request the client made went under the prefix, the blob download included.
    let requests = emu.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(r.path.starts_with("/api/v3/"), "{} {}", r.method, r.path);
        assert!(
            r.status < 400,
            "{} {} answered {}",
            r.method,
            r.path,
            r.status
        );
    }
    assert!(
        requests
            .iter()
            .any(|r| r.path.starts_with("/api/v3/_blob/"))
    );

    // Link, url fields and Location carry the prefix too; nothing is served outside it.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let token = orchestrate_emulator::DEFAULT_TOKEN;
    for _ in 0..2 {
        github
            .dispatch(&DispatchRequest {
                repo: repo(),
                workflow: "deploy.yml".into(),
                git_ref: "main".into(),
                inputs: BTreeMap::from([("version".to_owned(), "3.1.5".to_owned())]),
                correlate: false,
            })
            .await
            .expect("dispatch");
    }
    let page = http
        .get(format!("{base}/repos/acme/api/actions/runs?per_page=1"))
        .bearer_auth(token)
        .send()
        .await
        .expect("runs");
    let link = page.headers()["link"].to_str().expect("link").to_owned();
    assert!(
        link.contains(&format!(
            "<{base}/repos/acme/api/actions/runs?per_page=1&page=2>; rel=\"next\""
        )),
        "{link}"
    );
    let body: serde_json::Value = page.json().await.expect("json");
    let url = body["workflow_runs"][0]["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{base}/repos/acme/api/actions/runs/")),
        "{url}"
    );
    let zip = http
        .get(format!(
            "{base}/repos/acme/api/actions/artifacts/{}/zip",
            artifacts[0].id
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("download");
    assert_eq!(zip.status(), 302);
    let location = zip.headers()["location"].to_str().expect("location");
    assert!(
        location.starts_with(&format!("{base}/_blob/")),
        "{location}"
    );
    let outside = http
        .get(format!("{root}/repos/acme/api/actions/runs"))
        .bearer_auth(token)
        .send()
        .await
        .expect("answer");
    assert_eq!(outside.status(), 404);
}
