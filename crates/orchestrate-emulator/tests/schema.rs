//! The emulator against GitHub's own OpenAPI description: every operation of
//! `shared/github-openapi-subset.json` and of `tests/openapi/approvals.deref.json` (the
//! approval-gate operations the subset lacks), every status the emulator answers, each body validated
//! against the matching response schema; plus hand-written checks of what the spec does not
//! model (ETag/304, rate-limit headers, `Link`, the artifact redirect target, dispatch bodies,
//! API version 2026-03-10).

#[path = "common/octo.rs"]
mod octo;
mod schema_support;

use schema_support::checker::{API_2022, Checker};
use schema_support::spec::{API_2026, APPROVALS_PATH, DEREF_PATH, Spec};
use schema_support::{Env, sweep};
use serde_json::json;
use sha2::{Digest, Sha256};

const RUNS: &str = "/repos/octo/api/actions/runs";
const DISPATCH: &str = "/repos/octo/api/actions/workflows/deploy.yml/dispatches";

#[test]
fn the_subset_still_has_27_paths_and_31_operations_plus_3_approval_operations() {
    // Coverage is computed from the files; pin their sizes so they cannot silently shrink.
    for (path, paths_wanted, operations_wanted) in [(DEREF_PATH, 27, 31), (APPROVALS_PATH, 2, 3)] {
        let spec = Spec::load_file(path);
        let paths: std::collections::BTreeSet<&str> =
            spec.operations.iter().map(|op| op.path.as_str()).collect();
        assert_eq!(paths.len(), paths_wanted, "{path}");
        assert_eq!(spec.operations.len(), operations_wanted, "{path}");
    }
    let ids: Vec<String> = Spec::load_file(APPROVALS_PATH)
        .operations
        .into_iter()
        .map(|op| op.id)
        .collect();
    assert_eq!(
        ids,
        [
            "actions/get-reviews-for-run",
            "actions/get-pending-deployments-for-run",
            "actions/review-pending-deployments-for-run",
        ]
    );
    assert_eq!(Spec::load().operations.len(), 34);
}

#[tokio::test]
async fn the_validator_rejects_what_github_would_not_send() {
    // The oracle itself must be able to fail: a real body passes, damaged copies do not.
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let run = env.dispatch("1.0.0").await;
    let answer = env.get(&format!("{RUNS}/{run}")).expect(200).await;
    let op = checker.spec.operation("actions/get-workflow-run");
    let validator = checker.spec.validator(op, 200, API_2022).expect("schema");
    assert!(validator.is_valid(&answer.body));
    let damaged = [
        ("/head_sha", serde_json::Value::Null),
        ("/created_at", json!("yesterday")),
        ("/repository/owner/avatar_url", json!("not a url")),
        ("/run_number", json!("7")),
        ("/repository/owner/login", json!(7)),
    ];
    for (pointer, value) in damaged {
        let mut body = answer.body.clone();
        *body.pointer_mut(pointer).expect("field exists") = value.clone();
        assert!(
            !validator.is_valid(&body),
            "{pointer} = {value} must be rejected"
        );
    }
    let mut missing = answer.body.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("display_title");
    assert!(!validator.is_valid(&missing), "required display_title");
    checker.assert_no_violations();
}

#[tokio::test]
async fn every_operation_and_status_matches_githubs_schemas() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    sweep::workflows(&env).await;
    sweep::runs(&env).await;
    sweep::history(&env).await;
    sweep::artifacts(&env).await;
    sweep::deployments(&env).await;
    sweep::issues_and_dispatches(&env).await;
    sweep::approvals(&env).await;
    sweep::rate_limit(&env).await;
    sweep::gateway(&env).await;
    let legacy = Env::start(&checker, true).await;
    sweep::legacy_dispatch(&legacy).await;
    checker.finish(&sweep::expected(&env));
}

#[tokio::test]
async fn conditional_get_answers_304_with_an_empty_body_and_no_rate_cost() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let run = env.dispatch("1.0.0").await;
    let path = format!("{RUNS}/{run}");
    let first = env.get(&path).expect(200).await;
    let etag = first.header("etag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong etag: {etag}"
    );
    let remaining: u32 = first
        .header("x-ratelimit-remaining")
        .parse()
        .expect("remaining");

    for tag in [etag.clone(), format!("W/{etag}")] {
        let again = env
            .get(&path)
            .header("if-none-match", &tag)
            .expect(304)
            .await;
        assert!(again.bytes.is_empty(), "304 has no body");
        assert_eq!(again.header("etag"), etag);
        assert_eq!(
            again.header("x-ratelimit-remaining"),
            remaining.to_string(),
            "a 304 does not count against the primary limit"
        );
    }
    let counted = env.get(&path).expect(200).await;
    assert_eq!(
        counted.header("x-ratelimit-remaining"),
        (remaining - 1).to_string()
    );
    // A change of state changes the representation and so the ETag.
    env.advance(15);
    let changed = env
        .get(&path)
        .header("if-none-match", &etag)
        .expect(200)
        .await;
    assert_ne!(changed.header("etag"), etag);
    assert_eq!(changed.body["status"], "in_progress");
    let not_counted = env
        .emu
        .requests()
        .iter()
        .filter(|r| r.status == 304)
        .all(|r| !r.counted);
    assert!(not_counted, "the request log marks 304s as not counted");
    checker.assert_no_violations();
}

#[tokio::test]
async fn rate_limit_headers_describe_a_real_budget() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let now = chrono::Utc::now().timestamp();
    let mut last = None;
    for path in [
        "/repos/octo/api/actions/workflows",
        RUNS,
        "/repos/octo/api/actions/runs/999",
    ] {
        let answer = env.get(path).send().await;
        let limit: u32 = answer.header("x-ratelimit-limit").parse().expect("limit");
        let remaining: u32 = answer
            .header("x-ratelimit-remaining")
            .parse()
            .expect("remaining");
        let used: u32 = answer.header("x-ratelimit-used").parse().expect("used");
        let reset: i64 = answer.header("x-ratelimit-reset").parse().expect("reset");
        assert_eq!(limit, 5_000);
        assert_eq!(remaining + used, limit);
        assert!(
            reset > now - 5 && reset <= now + 3_600 + 5,
            "reset {reset} is epoch seconds within the hour"
        );
        assert_eq!(answer.header("x-ratelimit-resource"), "core");
        if let Some(previous) = last {
            assert_eq!(
                remaining + 1,
                previous,
                "every request, even a 404, costs one"
            );
        }
        last = Some(remaining);
    }
    // GET /rate_limit is free, and reports the same numbers as the headers.
    let overview = env.get("/rate_limit").expect(200).await;
    let last = last.expect("requests were made");
    assert_eq!(overview.header("x-ratelimit-remaining"), last.to_string());
    assert_eq!(overview.body["resources"]["core"]["remaining"], json!(last));
    assert_eq!(overview.body["rate"], overview.body["resources"]["core"]);
    let after = env.get("/rate_limit").expect(200).await;
    assert_eq!(after.header("x-ratelimit-remaining"), last.to_string());
    checker.assert_no_violations();
}

/// `<url>; rel="name"` entries of a `Link` header.
fn links(header: &str) -> Vec<(String, String)> {
    header
        .split(", ")
        .map(|part| {
            let (url, rel) = part.split_once("; ").expect("`<url>; rel=\"…\"`");
            let url = url
                .strip_prefix('<')
                .and_then(|u| u.strip_suffix('>'))
                .expect("<url>");
            let rel = rel
                .strip_prefix("rel=\"")
                .and_then(|r| r.strip_suffix('"'))
                .expect("rel");
            (rel.to_owned(), url.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn link_header_pages_through_every_run_once() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let mut dispatched = Vec::new();
    for i in 0..5 {
        dispatched.push(env.dispatch(&format!("1.0.{i}")).await);
    }
    let base = env.emu.base_url().to_owned();
    let mut path = format!("{RUNS}?event=workflow_dispatch&per_page=2");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = env.get(&path).expect(200).await;
        pages += 1;
        assert_eq!(page.body["total_count"], 5);
        for run in page.body["workflow_runs"].as_array().expect("runs") {
            seen.push(run["id"].as_u64().expect("id"));
        }
        let rels = links(page.header("link"));
        let names: Vec<&str> = rels.iter().map(|(r, _)| r.as_str()).collect();
        for (_, url) in &rels {
            assert!(url.starts_with(&base), "absolute link {url}");
            assert!(url.contains("event=workflow_dispatch") && url.contains("per_page=2"));
        }
        match pages {
            1 => assert_eq!(names, ["next", "last"]),
            2 => assert_eq!(names, ["prev", "next", "last", "first"]),
            _ => assert_eq!(names, ["prev", "first"]),
        }
        match rels.iter().find(|(r, _)| r == "next") {
            Some((_, url)) => path = url.trim_start_matches(&base).to_owned(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    dispatched.reverse();
    assert_eq!(seen, dispatched, "newest first, each run exactly once");
    let single = env
        .get("/repos/octo/api/actions/workflows")
        .expect(200)
        .await;
    assert_eq!(
        single.header("link"),
        "",
        "no Link when everything fits on one page"
    );
    checker.assert_no_violations();
}

#[tokio::test]
async fn artifact_redirect_serves_the_zip_without_a_token_for_a_minute() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let run = env.dispatch("1.0.0").await;
    env.advance(120);
    let listed = env
        .get(&format!("{RUNS}/{run}/artifacts"))
        .expect(200)
        .await;
    let artifact = &listed.body["artifacts"][0];
    let download = artifact["archive_download_url"].as_str().expect("url");
    let path = download.trim_start_matches(env.emu.base_url());
    let redirect = env.get(path).expect(302).await;
    let location = redirect.header("location").to_owned();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");

    let blob = checker.http().get(&location).send().await.expect("blob");
    assert_eq!(blob.status().as_u16(), 200);
    let content_type = blob
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = blob.bytes().await.expect("zip");
    assert!(bytes.starts_with(b"PK\x03\x04"), "zip magic bytes");
    assert_eq!(content_type, "application/zip");
    assert_eq!(artifact["size_in_bytes"], json!(bytes.len()));
    if let Some(digest) = artifact["digest"].as_str() {
        assert_eq!(
            digest,
            format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
        );
    }
    env.advance(61);
    let late = checker.http().get(&location).send().await.expect("blob");
    assert_ne!(
        late.status().as_u16(),
        200,
        "the signed URL expires after a minute"
    );
    checker.assert_no_violations();
}

#[tokio::test]
async fn dispatch_answers_204_or_200_with_details_by_request_and_version() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let inputs = json!({ "version": "1.0.0", "orchestrate_id": "abc" });
    for details in [None, Some(false)] {
        let mut body = json!({ "ref": "main", "inputs": inputs });
        if let Some(flag) = details {
            body["return_run_details"] = json!(flag);
        }
        let answer = env.post(DISPATCH, body).expect(204).await;
        assert!(answer.bytes.is_empty());
    }
    let base = env.emu.base_url().to_owned();
    let with = env
        .post(
            DISPATCH,
            json!({ "ref": "main", "inputs": inputs, "return_run_details": true }),
        )
        .expect(200)
        .await;
    // 2026-03-10 removed the 204 and the flag: always 200 with details.
    let v2026 = env
        .post(DISPATCH, json!({ "ref": "main", "inputs": inputs }))
        .version(API_2026)
        .expect(200)
        .await;
    assert_eq!(v2026.header("x-github-api-version-selected"), API_2026);
    for answer in [&with, &v2026] {
        let keys: Vec<&String> = answer.body.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 3, "{}", answer.body);
        let id = answer.body["workflow_run_id"].as_u64().expect("id");
        assert_eq!(
            answer.body["run_url"],
            format!("{base}/repos/octo/api/actions/runs/{id}")
        );
        assert_eq!(
            answer.body["html_url"],
            format!("{base}/octo/api/actions/runs/{id}")
        );
        let run = env.get(&format!("{RUNS}/{id}")).expect(200).await;
        assert_eq!(run.body["display_title"], "Deploy 1.0.0 [abc]");
    }
    let runs = env.emu.runs("octo/api");
    assert_eq!(runs.len(), 4, "every dispatch created one run");
    checker.assert_no_violations();
}

#[tokio::test]
async fn api_2026_drops_rate_and_the_singular_assignee() {
    let checker = Checker::new(Spec::load());
    let env = Env::start(&checker, false).await;
    let old = env.get("/rate_limit").version(API_2022).expect(200).await;
    assert!(old.body.get("rate").is_some(), "2022-11-28 keeps `rate`");
    let new = env.get("/rate_limit").version(API_2026).expect(200).await;
    assert!(new.body.get("rate").is_none(), "remove_rate_limit_rate");
    assert!(new.body["resources"]["core"]["limit"].is_number());
    let issue = json!({ "title": "t", "assignees": ["octocat"] });
    let old = env
        .post("/repos/octo/api/issues", issue.clone())
        .expect(201)
        .await;
    assert!(old.body.get("assignee").is_some());
    let new = env
        .post("/repos/octo/api/issues", issue)
        .version(API_2026)
        .expect(201)
        .await;
    assert!(
        new.body.get("assignee").is_none(),
        "remove_singular_assignee_from_issues_and_pull_requests"
    );
    assert_eq!(new.body["assignees"][0]["login"], "octocat");
    checker.assert_no_violations();
}
