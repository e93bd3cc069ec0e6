//! A workflow's run `history`: recorded runs, completed before the emulator started, served
//! by the run lists like any other run (durations, filters, pagination, ETags).

use chrono::{DateTime, Utc};
use orchestrate_emulator::{EmulatorConfig, Scenario};
use serde_json::{Value, json};

use crate::support::{Answer, Env, START, start};

const SCENARIO: &str = r#"
repos:
  - name: octo/hist
    workflows:
      - file: deploy.yml
        name: Deploy
        inputs: { version: { required: true }, channel: { default: stable } }
        behaviour:
          jobs:
            - { name: build, steps: [compile] }
            - { name: deploy, steps: [push, verify] }
        history:
          runs: 10
          durations: [2m40s, 3m20s]
          queued: 2s
          every: 1h
      - file: smoke.yml
        history:
          - { duration: 5m, ago: 150m, conclusion: failure }
          - { duration: 1m, ago: 90m, queued: 5s }
          - { duration: 2m, ago: 30m, conclusion: cancelled }
"#;

const DEPLOY: &str = "/repos/octo/hist/actions/workflows/deploy.yml/runs";
const RUNS: &str = "/repos/octo/hist/actions/runs";

async fn env() -> Env {
    let scenario = Scenario::from_yaml(SCENARIO).expect("valid scenario");
    start(EmulatorConfig {
        time_factor: Some(0.0),
        start_time: Some(START.parse().expect("valid start")),
        ..EmulatorConfig::new(scenario)
    })
    .await
}

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.to_utc())
        .unwrap_or_else(|| panic!("a timestamp, got {value}"))
}

fn runs(answer: &Answer) -> &Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["workflow_runs"].as_array().expect("runs")
}

fn field(answer: &Answer, name: &str) -> Vec<Value> {
    runs(answer).iter().map(|r| r[name].clone()).collect()
}

/// run_started_at → updated_at of each listed run, in seconds.
fn durations(answer: &Answer) -> Vec<i64> {
    runs(answer)
        .iter()
        .map(|r| (at(&r["updated_at"]) - at(&r["run_started_at"])).num_seconds())
        .collect()
}

#[tokio::test]
async fn a_spread_history_lists_newest_first_with_the_declared_durations() {
    let env = env().await;
    let answer = env
        .get(&format!("{DEPLOY}?status=success&per_page=10"))
        .await;
    assert_eq!(answer.body["total_count"], 10);
    // 2m40s..3m20s in nine equal steps of 4.44 s, rounded; the newest took the longest.
    assert_eq!(
        durations(&answer),
        [200, 196, 191, 187, 182, 178, 173, 169, 164, 160]
    );
    let numbers: Vec<u64> = field(&answer, "run_number")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(numbers, (1..=10).rev().collect::<Vec<u64>>());
    let ids: Vec<u64> = field(&answer, "id")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let start: DateTime<Utc> = START.parse().expect("valid start");
    let list = runs(&answer);
    assert_eq!(
        at(&list[0]["updated_at"]),
        start - chrono::Duration::seconds(60)
    );
    for (newer, older) in list.iter().zip(&list[1..]) {
        let gap = at(&newer["created_at"]) - at(&older["created_at"]);
        assert_eq!(gap.num_seconds(), 3600);
    }
    for run in list {
        let queued = at(&run["run_started_at"]) - at(&run["created_at"]);
        assert_eq!(queued.num_seconds(), 2);
        assert_eq!(
            (
                &run["status"],
                &run["conclusion"],
                &run["event"],
                &run["head_branch"],
                &run["run_attempt"],
                &run["display_title"],
            ),
            (
                &json!("completed"),
                &json!("success"),
                &json!("workflow_dispatch"),
                &json!("main"),
                &json!(1),
                &json!("Deploy"),
            )
        );
    }

    // Its jobs ran through the in-progress time and the last one ended with the run.
    let newest = &list[0];
    let jobs = env.get(&format!("{RUNS}/{}/jobs", newest["id"])).await;
    let jobs = jobs.body["jobs"].as_array().expect("jobs");
    let names: Vec<&str> = jobs.iter().filter_map(|j| j["name"].as_str()).collect();
    assert_eq!(names, ["build", "deploy"]);
    assert!(jobs.iter().all(|j| j["conclusion"] == "success"));
    assert_eq!(at(&jobs[0]["started_at"]), at(&newest["run_started_at"]));
    assert_eq!(at(&jobs[1]["completed_at"]), at(&newest["updated_at"]));
    let steps = jobs[1]["steps"].as_array().expect("steps");
    assert_eq!(
        steps.last().map(|s| at(&s["completed_at"])),
        Some(at(&newest["updated_at"]))
    );

    // A run dispatched now comes after the history: next number, first in the list.
    let dispatched = env
        .post(
            "/repos/octo/hist/actions/workflows/deploy.yml/dispatches",
            json!({ "ref": "main", "inputs": { "version": "1.0.0" }, "return_run_details": true }),
        )
        .await;
    let id = dispatched.body["workflow_run_id"].as_u64().expect("run id");
    let all = env.get(DEPLOY).await;
    assert_eq!(runs(&all)[0]["id"], json!(id));
    assert_eq!(runs(&all)[0]["run_number"], 11);
    assert_eq!(all.body["total_count"], 11);
    let done = env.get(&format!("{DEPLOY}?status=success")).await;
    assert_eq!(done.body["total_count"], 10, "the new run is still queued");
}

#[tokio::test]
async fn per_page_pages_through_the_history_with_link_headers_and_etags() {
    let env = env().await;
    let first = env
        .get(&format!("{DEPLOY}?status=success&per_page=4"))
        .await;
    assert_eq!(durations(&first), [200, 196, 191, 187]);
    let base = env.emu.base_url();
    let link = first.header("link");
    assert!(
        link.contains(&format!(
            "<{base}{DEPLOY}?status=success&per_page=4&page=2>; rel=\"next\""
        )),
        "{link}"
    );
    assert!(link.contains("page=3>; rel=\"last\""), "{link}");
    let second = env
        .get(&format!("{DEPLOY}?status=success&per_page=4&page=2"))
        .await;
    assert_eq!(durations(&second), [182, 178, 173, 169]);
    let last = env
        .get(&format!("{DEPLOY}?status=success&per_page=4&page=3"))
        .await;
    assert_eq!(durations(&last), [164, 160]);
    assert!(
        !last.header("link").contains("next"),
        "{}",
        last.header("link")
    );

    // The history does not change, so the list answers 304 to its own ETag.
    let etag = first.header("etag").to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let request = env
        .http
        .get(env.url(&format!("{DEPLOY}?status=success&per_page=4")))
        .bearer_auth(&env.token)
        .header("if-none-match", &etag);
    let again = env.send(request).await;
    assert_eq!(again.status, 304);
    env.advance(3600);
    let request = env
        .http
        .get(env.url(&format!("{DEPLOY}?status=success&per_page=4")))
        .bearer_auth(&env.token)
        .header("if-none-match", &etag);
    assert_eq!(
        env.send(request).await.status,
        304,
        "an hour later, still the same"
    );
}

#[tokio::test]
async fn an_explicit_history_keeps_its_conclusions_and_filters_apply() {
    let env = env().await;
    let smoke = "/repos/octo/hist/actions/workflows/smoke.yml/runs";
    let all = env.get(smoke).await;
    assert_eq!(
        field(&all, "conclusion"),
        [json!("cancelled"), json!("success"), json!("failure")]
    );
    assert_eq!(durations(&all), [120, 60, 300]);
    assert_eq!(
        field(&all, "display_title"),
        [json!("smoke.yml"), json!("smoke.yml"), json!("smoke.yml")]
    );
    let start: DateTime<Utc> = START.parse().expect("valid start");
    let created: Vec<i64> = runs(&all)
        .iter()
        .map(|r| (start - at(&r["created_at"])).num_minutes())
        .collect();
    assert_eq!(created, [30, 90, 150]);
    let queued = at(&runs(&all)[1]["run_started_at"]) - at(&runs(&all)[1]["created_at"]);
    assert_eq!(queued.num_seconds(), 5);

    let success = env.get(&format!("{smoke}?status=success")).await;
    assert_eq!(durations(&success), [60]);
    let failure = env.get(&format!("{smoke}?status=failure")).await;
    assert_eq!(durations(&failure), [300]);
    let completed = env.get(&format!("{smoke}?status=completed")).await;
    assert_eq!(completed.body["total_count"], 3);
    assert_eq!(
        env.get(&format!("{smoke}?status=in_progress")).await.body["total_count"],
        0
    );

    // The repository's list holds both histories, newest first by creation.
    let repo = env.get(&format!("{RUNS}?per_page=100")).await;
    assert_eq!(repo.body["total_count"], 13);
    let times: Vec<DateTime<Utc>> = runs(&repo).iter().map(|r| at(&r["created_at"])).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // `created` filters read the recorded creation times: 09:00 and later (START is 10:00).
    let since = env
        .get(&format!("{RUNS}?created=%3E%3D2026-05-01T09:00:00Z"))
        .await;
    let names: Vec<Value> = field(&since, "name");
    assert_eq!(names, [json!("Deploy"), json!("smoke.yml")]);
    let before = env
        .get(&format!(
            "{RUNS}?created=%3C2026-05-01T09:00:00Z&event=workflow_dispatch&branch=main"
        ))
        .await;
    assert_eq!(before.body["total_count"], 11);
}

#[test]
fn a_bad_history_is_a_clear_scenario_error() {
    let with = |history: &str| {
        format!(
            "repos:\n  - name: octo/x\n    workflows:\n      - file: d.yml\n        history: {history}\n"
        )
    };
    let cases = [
        (
            with("{ runs: 3, durations: [3m20s, 2m40s] }"),
            "`durations` must be `[min, max]` with min <= max, got [3m 20s, 2m 40s]",
        ),
        (with("{ runs: 0, durations: [3m] }"), "has `runs: 0`"),
        (
            with("{ runs: 3, durations: [3m], spacing: 1h }"),
            "line 5 column 46: unknown field `spacing`, expected one of runs, durations",
        ),
        (
            with("[{ duration: 3m, ago: 2h, result: failure }]"),
            "unknown field `result`",
        ),
        (
            with("[{ duration: 3m, ago: 1h }, { duration: 3m, ago: 2h }]"),
            "oldest first",
        ),
        (with("[{ duration: 3m, ago: 2m }]"), "still be running"),
        (
            with("{ runs: 3, durations: [3m], conclusion: skipped }"),
            "conclusion `skipped` is not one of success, failure, cancelled, timed_out",
        ),
        (
            with("{ runs: 3, durations: [soon] }"),
            "invalid scenario yaml",
        ),
    ];
    for (yaml, wanted) in cases {
        let err = Scenario::from_yaml(&yaml).expect_err(&yaml).to_string();
        assert!(err.contains(wanted), "{yaml}\n{err}");
        assert!(
            err.contains("workflow `d.yml` in `octo/x`")
                || err.starts_with("invalid scenario yaml"),
            "names the workflow: {err}"
        );
    }
    let no_dispatch = "repos:\n  - name: octo/x\n    workflows:\n      - file: d.yml\n        workflow_dispatch: false\n        history: { runs: 1, durations: [1m] }\n";
    let err = Scenario::from_yaml(no_dispatch)
        .expect_err("no dispatch")
        .to_string();
    assert!(
        err.contains("does not declare `workflow_dispatch`"),
        "{err}"
    );
}
