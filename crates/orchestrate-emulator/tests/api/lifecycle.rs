//! Run lifecycle from the scenario: queued → in_progress → completed in emulated time, jobs
//! and steps, artifacts with real zips behind a tokenless 302, failures by input, cancel and
//! re-run, logs, accelerated clocks and the health endpoint.

use std::io::Read as _;

use orchestrate_emulator::{EmulatorConfig, HealthFailure, Scenario};
use serde_json::json;

use crate::support::{Env, assert_error, start};

fn run_path(id: u64) -> String {
    format!("/repos/octo/api/actions/runs/{id}")
}

#[tokio::test]
async fn run_moves_through_its_lifecycle_with_jobs_steps_and_timestamps() {
    let env = Env::standard().await;
    let id = env.dispatch("1.2.3", "c1").await;
    let run = env.get(&run_path(id)).await;
    assert_eq!(
        (
            run.body["status"].as_str(),
            run.body["conclusion"].is_null()
        ),
        (Some("queued"), true)
    );
    assert_eq!(run.body["created_at"], "2026-05-01T10:00:00Z");
    assert_eq!(run.body["run_attempt"], 1);
    assert_eq!(run.body["path"], ".github/workflows/deploy.yml@main");
    env.advance(10);
    assert_eq!(env.get(&run_path(id)).await.body["status"], "in_progress");
    let jobs = env.get(&format!("{}/jobs", run_path(id))).await;
    assert_eq!(jobs.body["total_count"], 2);
    assert_eq!(jobs.body["jobs"][0]["status"], "in_progress");
    assert_eq!(jobs.body["jobs"][1]["status"], "queued");
    env.advance(60);
    let done = env.get(&run_path(id)).await;
    assert_eq!(
        (
            done.body["status"].as_str(),
            done.body["conclusion"].as_str()
        ),
        (Some("completed"), Some("success"))
    );
    assert_eq!(done.body["updated_at"], "2026-05-01T10:01:10Z");
    let jobs = env.get(&format!("{}/jobs", run_path(id))).await;
    let steps: Vec<&str> = jobs.body["jobs"][1]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(steps, ["Set up job", "push", "verify", "Complete job"]);
    let job_id = jobs.body["jobs"][1]["id"].as_u64().expect("job id");
    let job = env
        .get(&format!("/repos/octo/api/actions/jobs/{job_id}"))
        .await;
    assert_eq!(
        (job.body["conclusion"].as_str(), job.body["run_id"].as_u64()),
        (Some("success"), Some(id))
    );
}

#[tokio::test]
async fn completed_run_has_its_artifact_downloadable_without_a_token() {
    let env = Env::standard().await;
    let id = env.dispatch("3.1.4", "c2").await;
    assert_eq!(
        env.get(&format!("{}/artifacts", run_path(id))).await.body["total_count"],
        0
    );
    env.advance(70);
    let list = env.get(&format!("{}/artifacts", run_path(id))).await;
    assert_eq!(list.body["total_count"], 1, "{}", list.text);
    let artifact = &list.body["artifacts"][0];
    assert_eq!(artifact["name"], "release-manifest");
    let artifact_id = artifact["id"].as_u64().expect("artifact id");
    let by_name = env
        .get("/repos/octo/api/actions/artifacts?name=release-manifest")
        .await;
    assert_eq!(by_name.body["artifacts"][0]["id"], json!(artifact_id));
    assert_eq!(
        env.get("/repos/octo/api/actions/artifacts?name=other")
            .await
            .body["total_count"],
        0
    );
    let redirect = env
        .get(&format!(
            "/repos/octo/api/actions/artifacts/{artifact_id}/zip"
        ))
        .await;
    assert_eq!(redirect.status, 302);
    let location = redirect.header("location").to_owned();
    assert!(location.starts_with(env.emu.base_url()), "{location}");
    let blob = env.http.get(&location).send().await.expect("blob");
    assert_eq!(blob.status().as_u16(), 200);
    let bytes = blob.bytes().await.expect("zip bytes");
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a real zip");
    let mut manifest = String::new();
    archive
        .by_name("manifest.json")
        .expect("manifest.json")
        .read_to_string(&mut manifest)
        .expect("read");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&manifest).expect("json"),
        json!({ "version": "3.1.4" })
    );
    let deleted = env
        .send(
            env.http
                .delete(env.url(&format!("/repos/octo/api/actions/artifacts/{artifact_id}")))
                .bearer_auth(&env.token),
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_error(
        &env.get(&format!("/repos/octo/api/actions/artifacts/{artifact_id}"))
            .await,
        404,
        "Not Found",
    );
}

#[tokio::test]
async fn expired_artifact_download_is_410() {
    let env = Env::standard().await;
    let id = env.dispatch("1.0.0", "c3").await;
    env.advance(70);
    let list = env.get(&format!("{}/artifacts", run_path(id))).await;
    let artifact_id = list.body["artifacts"][0]["id"]
        .as_u64()
        .expect("artifact id");
    assert!(env.emu.artifacts().expire(artifact_id));
    assert_error(
        &env.get(&format!(
            "/repos/octo/api/actions/artifacts/{artifact_id}/zip"
        ))
        .await,
        410,
        "expired",
    );
}

#[tokio::test]
async fn an_artifact_expires_on_the_emulated_clock_everywhere() {
    let env = Env::standard().await;
    let id = env.dispatch("1.0.0", "exp").await;
    env.advance(70);
    let list = env.get(&format!("{}/artifacts", run_path(id))).await;
    let artifact = &list.body["artifacts"][0];
    assert_eq!(artifact["expired"], false);
    let artifact_id = artifact["id"].as_u64().expect("artifact id");
    let path = format!("/repos/octo/api/actions/artifacts/{artifact_id}");
    assert_eq!(env.get(&format!("{path}/zip")).await.status, 302);
    // GitHub's default retention is 90 days; no call to `ArtifactStore::expire` here.
    env.advance(91 * 24 * 3600);
    let list = env.get(&format!("{}/artifacts", run_path(id))).await;
    assert_eq!(list.body["artifacts"][0]["expired"], true);
    let repo_list = env.get("/repos/octo/api/actions/artifacts").await;
    assert_eq!(repo_list.body["artifacts"][0]["expired"], true);
    assert_eq!(env.get(&path).await.body["expired"], true);
    assert_error(&env.get(&format!("{path}/zip")).await, 410, "expired");
}

#[tokio::test]
async fn a_full_rerun_runs_every_job_again() {
    let env = Env::standard().await;
    let id = env.dispatch("2.0.0", "full").await;
    env.advance(70);
    let first = env.get(&format!("{}/jobs", run_path(id))).await;
    let rerun = env
        .post(&format!("{}/rerun", run_path(id)), json!({}))
        .await;
    assert_eq!(rerun.status, 201);
    let second = env.get(&format!("{}/attempts/2/jobs", run_path(id))).await;
    for index in 0..2 {
        assert_ne!(
            second.body["jobs"][index]["id"],
            first.body["jobs"][index]["id"]
        );
        assert_eq!(second.body["jobs"][index]["run_attempt"], 2);
    }
    let all = env.get(&format!("{}/jobs?filter=all", run_path(id))).await;
    assert_eq!(all.body["total_count"], 4);
}

#[tokio::test]
async fn failing_version_fails_at_its_step_and_rerun_makes_a_new_attempt() {
    let env = Env::standard().await;
    let id = env.dispatch("2.0.0", "bad").await;
    assert_error(
        &env.post(&format!("{}/rerun", run_path(id)), json!({}))
            .await,
        403,
        "already running",
    );
    env.advance(70);
    let run = env.get(&run_path(id)).await;
    assert_eq!(run.body["conclusion"], "failure");
    let jobs = env.get(&format!("{}/jobs", run_path(id))).await;
    let deploy = &jobs.body["jobs"][1];
    assert_eq!(deploy["conclusion"], "failure");
    assert_eq!(deploy["steps"][1]["conclusion"], "failure");
    assert_eq!(deploy["steps"][2]["conclusion"], "skipped");
    let rerun = env
        .post(&format!("{}/rerun-failed-jobs", run_path(id)), json!({}))
        .await;
    assert_eq!((rerun.status, &rerun.body), (201, &json!({})));
    let run = env.get(&run_path(id)).await;
    assert_eq!(
        (
            run.body["run_attempt"].as_u64(),
            run.body["status"].as_str()
        ),
        (Some(2), Some("queued"))
    );
    assert_eq!(
        run.body["previous_attempt_url"],
        json!(format!("{}{}/attempts/1", env.emu.base_url(), run_path(id)))
    );
    let first = env.get(&format!("{}/attempts/1", run_path(id))).await;
    assert_eq!(first.body["conclusion"], "failure");
    // Only the failed job runs again; `build` succeeded and is carried over as it was.
    let all = env.get(&format!("{}/jobs?filter=all", run_path(id))).await;
    assert_eq!(all.body["total_count"], 3, "{}", all.text);
    let second = env.get(&format!("{}/attempts/2/jobs", run_path(id))).await;
    assert_eq!(second.body["total_count"], 2);
    let (build, deploy) = (&second.body["jobs"][0], &second.body["jobs"][1]);
    assert_eq!(
        build["id"], jobs.body["jobs"][0]["id"],
        "build is carried over"
    );
    assert_eq!(
        (build["run_attempt"].as_u64(), build["conclusion"].as_str()),
        (Some(1), Some("success"))
    );
    assert_ne!(
        deploy["id"], jobs.body["jobs"][1]["id"],
        "deploy runs again"
    );
    assert_eq!(
        (deploy["run_attempt"].as_u64(), deploy["status"].as_str()),
        (Some(2), Some("queued"))
    );
    env.advance(70);
    let latest = env.get(&format!("{}/jobs", run_path(id))).await;
    let verdicts: Vec<_> = latest.body["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["name"].clone(),
                j["run_attempt"].clone(),
                j["conclusion"].clone(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            (json!("build"), json!(1), json!("success")),
            (json!("deploy"), json!(2), json!("failure")),
        ]
    );
    assert_error(
        &env.get(&format!("{}/attempts/3/jobs", run_path(id))).await,
        404,
        "Not Found",
    );
}

#[tokio::test]
async fn cancel_answers_202_then_409_once_completed() {
    let env = Env::standard().await;
    let id = env.dispatch("1.0.0", "c4").await;
    env.advance(20);
    let cancel = env
        .post(&format!("{}/cancel", run_path(id)), json!(null))
        .await;
    assert_eq!((cancel.status, &cancel.body), (202, &json!({})));
    let run = env.get(&run_path(id)).await;
    assert_eq!(
        (run.body["status"].as_str(), run.body["conclusion"].as_str()),
        (Some("completed"), Some("cancelled"))
    );
    assert_error(
        &env.post(&format!("{}/force-cancel", run_path(id)), json!(null))
            .await,
        409,
        "completed",
    );
    env.advance(100);
    assert_eq!(
        env.get(&format!("{}/artifacts", run_path(id))).await.body["total_count"],
        0
    );
}

#[tokio::test]
async fn logs_redirect_to_a_tokenless_text() {
    let env = Env::standard().await;
    let id = env.dispatch("1.0.0", "c5").await;
    env.advance(70);
    let redirect = env.get(&format!("{}/logs", run_path(id))).await;
    assert_eq!(redirect.status, 302);
    let text = env
        .http
        .get(redirect.header("location"))
        .send()
        .await
        .expect("logs")
        .text()
        .await
        .expect("text");
    assert!(text.contains("deploy/2_push.txt: success"), "{text}");
}

#[tokio::test]
async fn accelerated_yaml_scenario_completes_a_half_hour_run_in_real_milliseconds() {
    let yaml = r#"
repos:
  - name: octo/slow
    workflows:
      - file: release.yml
        behaviour: { queued: 1m, in_progress: 29m }
"#;
    let scenario = Scenario::from_yaml(yaml).expect("valid yaml");
    let env = start(EmulatorConfig {
        time_factor: Some(20_000.0),
        ..EmulatorConfig::new(scenario)
    })
    .await;
    let answer = env
        .post(
            "/repos/octo/slow/actions/workflows/release.yml/dispatches",
            json!({ "ref": "main" }),
        )
        .await;
    assert_eq!(answer.status, 204);
    let started = std::time::Instant::now();
    loop {
        let runs = env
            .get("/repos/octo/slow/actions/runs?status=completed")
            .await;
        if runs.body["total_count"] == 1 {
            assert_eq!(runs.body["workflow_runs"][0]["conclusion"], "success");
            assert_eq!(
                runs.body["workflow_runs"][0]["display_title"],
                "release.yml"
            );
            break;
        }
        assert!(
            started.elapsed().as_secs() < 5,
            "a 30-minute run should finish in well under 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn health_reports_the_last_successfully_deployed_version() {
    let env = Env::standard().await;
    let health = || async {
        env.http
            .get(env.url("/_health/api"))
            .send()
            .await
            .expect("health")
            .json::<serde_json::Value>()
            .await
            .expect("json")
    };
    assert_eq!(health().await["version"], "1.0.0");
    env.dispatch("1.1.0", "h1").await;
    env.dispatch("2.0.0", "h2").await;
    env.advance(70);
    assert_eq!(health().await["version"], "1.1.0");
    assert!(
        env.emu
            .set_health_failure("api", HealthFailure::NeverReportsNewVersion)
    );
    assert_eq!(health().await["version"], "1.0.0");
    assert!(env.emu.set_health_failure("api", HealthFailure::Down));
    assert_eq!(
        env.http
            .get(env.url("/_health/api"))
            .send()
            .await
            .expect("health")
            .status()
            .as_u16(),
        503
    );
    assert_eq!(
        env.http
            .get(env.url("/_health/nope"))
            .send()
            .await
            .expect("health")
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn artifact_uploaded_through_the_results_service_appears_in_the_rest_list() {
    let env = Env::standard().await;
    let id = env.dispatch("1.0.0", "upload").await;
    let (token, run, job) = env.emu.runtime_token("octo/api", id);
    let twirp = |method: &str, body: serde_json::Value| {
        env.http
            .post(env.url(&format!(
                "/twirp/github.actions.results.api.v1.ArtifactService/{method}"
            )))
            .bearer_auth(&token)
            .json(&body)
    };
    let ids = json!({ "workflow_run_backend_id": run, "workflow_job_run_backend_id": job, "name": "uploaded", "version": 4 });
    let created = env.send(twirp("CreateArtifact", ids.clone())).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let upload_url = created.body["signed_upload_url"]
        .as_str()
        .expect("upload url")
        .to_owned();
    let zip = orchestrate_emulator::zipper::zip_files(&[("a.json", b"{}")]);
    let put = env
        .http
        .put(&upload_url)
        .header("x-ms-blob-type", "BlockBlob")
        .body(zip.clone())
        .send()
        .await
        .expect("put blob");
    assert_eq!(put.status().as_u16(), 201);
    let finalize = json!({
        "workflow_run_backend_id": run, "workflow_job_run_backend_id": job, "name": "uploaded",
        "size": zip.len().to_string(), "hash": orchestrate_emulator::artifacts::sha256_digest(&zip),
    });
    let finalized = env.send(twirp("FinalizeArtifact", finalize)).await;
    assert_eq!(finalized.status, 200, "{}", finalized.text);
    let list = env.get(&format!("{}/artifacts", run_path(id))).await;
    assert_eq!(
        list.body["artifacts"][0]["name"], "uploaded",
        "{}",
        list.text
    );
    assert_eq!(list.body["artifacts"][0]["size_in_bytes"], json!(zip.len()));
    // Results-service traffic is recorded but never counted against the REST rate limit.
    assert!(
        env.emu
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/twirp/") && !r.counted)
    );
}
