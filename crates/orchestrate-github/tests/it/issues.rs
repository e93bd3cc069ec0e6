//! The issue calls over HTTP: pull requests and other environments' issues are not "the open
//! issue", a POST answered 502 is not re-sent, a close is re-sent, and a refusal names the
//! `issues: write` permission.

use orchestrate_github::{IssueRef, NewIssue};

use crate::fake::{self, Resp};
use crate::{client, repo};

#[tokio::test]
async fn the_open_issue_is_the_newest_non_pull_request_with_the_prefix() {
    let gh = fake::start(|req| {
        if req.is("GET", "/repos/acme/api/issues") {
            return Resp::json(
                200,
                serde_json::json!([
                    {"number": 9, "title": "Release failed in production (pr)", "pull_request": {"url": "u"}},
                    {"number": 8, "title": "Release failed in staging (deployment 2)"},
                    {"number": 7, "title": "Release failed in production (deployment 1)"},
                ]),
            );
        }
        Resp::empty(404)
    })
    .await;
    let found = client(&gh.url)
        .find_open_issue(&repo(), "orchestration ops", "Release failed in production")
        .await
        .expect("listed");
    assert_eq!(
        found,
        Some(IssueRef {
            number: 7,
            title: "Release failed in production (deployment 1)".into()
        })
    );
    let path = &gh.requests()[0].path;
    assert!(
        path.contains("state=open&labels=orchestration+ops&sort=created"),
        "{path}"
    );
}

#[tokio::test]
async fn a_create_answered_502_is_not_sent_again_but_a_close_is() {
    let gh = fake::start(|req| {
        if req.is("POST", "/repos/acme/api/issues") || req.is("PATCH", "/repos/acme/api/issues/4") {
            return Resp::json(502, serde_json::json!({"message": "Bad Gateway"}));
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let issue = NewIssue {
        title: "t".into(),
        body: "b".into(),
        labels: vec!["orchestration".into()],
    };
    let err = github.create_issue(&repo(), &issue).await.expect_err("502");
    assert_eq!(err.status(), Some(502));
    assert_eq!(gh.count("POST", "/repos/acme/api/issues"), 1);
    assert_eq!(
        gh.requests()[0].body["labels"],
        serde_json::json!(["orchestration"])
    );

    github
        .close_issue(&repo(), 4)
        .await
        .expect_err("502 each time");
    assert!(gh.count("PATCH", "/repos/acme/api/issues/4") > 1);
    let close = &gh.requests()[1];
    assert_eq!(close.body["state_reason"], "completed");
}

#[tokio::test]
async fn a_refused_comment_names_the_issues_permission() {
    let gh = fake::start(|_| {
        Resp::json(
            403,
            serde_json::json!({"message": "Resource not accessible by integration"}),
        )
    })
    .await;
    let err = client(&gh.url)
        .comment_on_issue(&repo(), 3, "hello")
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.starts_with("POST /repos/acme/api/issues/3/comments: GitHub answered 403"),
        "{text}"
    );
    assert!(
        text.contains("token lacks `issues: write` on acme/api"),
        "{text}"
    );
    assert!(!text.contains(crate::TOKEN));
}
