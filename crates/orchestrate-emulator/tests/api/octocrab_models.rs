//! octocrab's strict models parse what the emulator answers: workflows, runs (with Link
//! pagination), jobs, artifacts, deployments and statuses, issues, comments, rate limit.

use octocrab::models::RunId;
use octocrab::models::repos::DeploymentStatusState;
use orchestrate_emulator::DEFAULT_TOKEN;

use crate::support::Env;

#[tokio::test]
async fn octocrab_models_parse_every_answer() {
    let env = Env::standard().await;
    let gh = octocrab::Octocrab::builder()
        .base_uri(env.emu.base_url())
        .expect("base uri")
        .personal_token(DEFAULT_TOKEN.to_owned())
        .build()
        .expect("octocrab");
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(env.dispatch(&format!("1.{i}.0"), "oc").await);
    }
    env.advance(30);
    let workflows = gh
        .workflows("octo", "api")
        .list()
        .send()
        .await
        .expect("workflows parse");
    assert_eq!(workflows.items.len(), 2);
    let first = gh
        .workflows("octo", "api")
        .list_all_runs()
        .per_page(2)
        .send()
        .await
        .expect("runs parse");
    assert!(first.next.is_some());
    let all = gh.all_pages(first).await.expect("pages follow Link");
    assert_eq!(all.len(), 3);
    let run = gh
        .workflows("octo", "api")
        .get(RunId(ids[0]))
        .await
        .expect("run parses");
    assert_eq!(run.status, "in_progress");
    let jobs = gh
        .workflows("octo", "api")
        .list_jobs(RunId(ids[0]))
        .send()
        .await
        .expect("jobs parse");
    assert_eq!(jobs.items.len(), 2);
    env.advance(60);
    let artifacts = gh
        .actions()
        .list_workflow_run_artifacts("octo", "api", RunId(ids[0]))
        .send()
        .await
        .expect("artifacts parse");
    assert_eq!(
        artifacts.value.expect("a body").items[0].name,
        "release-manifest"
    );
    let repo = gh.repos("octo", "api");
    let deployment = repo
        .deployments()
        .create("main")
        .auto_merge(false)
        .required_contexts(Vec::<String>::new())
        .environment("staging")
        .send()
        .await
        .expect("deployment parses");
    let status = repo
        .deployments()
        .statuses(deployment.id)
        .create(DeploymentStatusState::Success)
        .send()
        .await
        .expect("status parses");
    assert_eq!(
        status.id,
        repo.deployments()
            .statuses(deployment.id)
            .list()
            .send()
            .await
            .expect("statuses parse")
            .items[0]
            .id
    );
    assert_eq!(
        repo.deployments()
            .list()
            .environment("staging")
            .send()
            .await
            .expect("list parses")
            .items
            .len(),
        1
    );
    let issue = gh
        .issues("octo", "api")
        .create("release failed")
        .labels(vec!["release".to_owned()])
        .send()
        .await
        .expect("issue parses");
    gh.issues("octo", "api")
        .create_comment(issue.number, "details")
        .await
        .expect("comment parses");
    let limits = gh.ratelimit().get().await.expect("rate limit parses");
    assert!(limits.resources.core.used > 0);
}
