//! Snapshots of every notification payload (Slack, webhook, email, GitHub issue) for a
//! success, a failure with rollback and a health-check failure, plus the limits and escaping
//! the payloads must respect.

use std::time::Duration;

use orchestrate_core::notify::samples::{
    approval_rejected, approval_required, epoch, failure_with_rollback, health_check_failure,
    success,
};
use orchestrate_core::notify::{Notice, at_finish, email, issue, slack, webhook};
use orchestrate_core::report::RunReport;

const DELIVERY_ID: &str = "00000000-0000-4000-8000-000000000001";

fn cases() -> [(&'static str, RunReport); 4] {
    [
        ("success", success()),
        ("failure_with_rollback", failure_with_rollback()),
        ("health_check_failure", health_check_failure()),
        ("approval_rejected", approval_rejected()),
    ]
}

/// The mid-release `approval_required` notice of [`approval_required`].
fn waiting() -> (RunReport, Vec<Notice>) {
    let report = approval_required();
    let notices = vec![orchestrate_core::notify::approval_required(
        &report,
        vec!["backend".to_owned()],
    )];
    (report, notices)
}

#[test]
fn approval_required_payloads_carry_the_reviewers_and_the_run_to_review() {
    let (report, notices) = waiting();
    let slack = slack::message(&report, &notices);
    let text = slack.to_string();
    assert!(text.contains("Approval required in production"), "{text}");
    assert!(
        text.contains("https://github.com/mickgian/PratikoAi-BE/actions/runs/541|review run 541"),
        "{text}"
    );
    insta::assert_json_snapshot!("slack_approval_required", slack);
    let payload = webhook::payload(
        &report,
        &notices,
        DELIVERY_ID,
        epoch() + Duration::from_secs(30),
    );
    let json = serde_json::to_value(&payload).expect("serialises");
    assert_eq!(json["event"], "approval_required");
    assert_eq!(json["severity"], "warning");
    assert_eq!(json["status"], "in_progress");
    assert_eq!(json["services"][0]["approvals"][0]["state"], "waiting");
    assert_eq!(
        json["services"][0]["run_url"],
        "https://github.com/mickgian/PratikoAi-BE/actions/runs/541"
    );
    insta::assert_json_snapshot!("webhook_approval_required", payload);
    let mail = email::message(&report, &notices);
    assert!(mail.text.contains("approval: waiting for approval in production (reviewers: alice, mickgian/release-managers)"), "{}", mail.text);
    insta::assert_snapshot!(
        "email_text_approval_required",
        format!("Subject: {}\n\n{}", mail.subject, mail.text)
    );
}

#[test]
fn slack_payloads() {
    for (name, report) in cases() {
        let notices = at_finish(&report);
        insta::assert_json_snapshot!(format!("slack_{name}"), slack::message(&report, &notices));
    }
}

#[test]
fn webhook_payloads() {
    for (name, report) in cases() {
        let notices = at_finish(&report);
        let payload = webhook::payload(
            &report,
            &notices,
            DELIVERY_ID,
            epoch() + Duration::from_secs(760),
        );
        insta::assert_json_snapshot!(format!("webhook_{name}"), payload);
    }
}

#[test]
fn email_payloads() {
    for (name, report) in cases() {
        let notices = at_finish(&report);
        let mail = email::message(&report, &notices);
        insta::assert_snapshot!(
            format!("email_text_{name}"),
            format!("Subject: {}\n\n{}", mail.subject, mail.text)
        );
        insta::assert_snapshot!(format!("email_html_{name}"), mail.html);
    }
}

#[test]
fn issue_payloads() {
    for (name, report) in cases() {
        let notices = at_finish(&report);
        let text = if name == "success" {
            issue::success_comment(&report, true)
        } else {
            format!(
                "Title: {}\n\n{}",
                issue::failure_title(&report),
                issue::failure_body(&report, &notices)
            )
        };
        insta::assert_snapshot!(format!("issue_{name}"), text);
    }
    let report = health_check_failure();
    insta::assert_snapshot!(
        "issue_repeat_comment",
        issue::repeat_comment(&report, &at_finish(&report))
    );
}

#[test]
fn issue_title_names_environment_and_deployment_and_keeps_the_dedupe_prefix() {
    let report = failure_with_rollback();
    let title = issue::failure_title(&report);
    assert_eq!(title, "Release failed in production (deployment 1043)");
    assert!(title.starts_with(&issue::title_prefix("production")));
    assert_eq!(
        issue::labels(&["release".to_owned(), "orchestration".to_owned()]),
        ["orchestration", "release"]
    );
}

#[test]
fn html_body_escapes_every_value() {
    let mut report = failure_with_rollback();
    report.services[2].name = "<script>alert(1)</script>".to_owned();
    let mail = email::message(&report, &at_finish(&report));
    assert!(!mail.html.contains("<script>"));
    assert!(mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        mail.html
            .contains("&lt;bucket&gt; denied &amp; not retried")
    );
}

#[test]
fn slack_escapes_control_characters() {
    let report = failure_with_rollback();
    let text = slack::message(&report, &at_finish(&report)).to_string();
    assert!(text.contains("&lt;bucket&gt; denied &amp; not retried"));
    assert!(!text.contains("<bucket>"));
}

fn blocks(message: &serde_json::Value) -> &Vec<serde_json::Value> {
    message["blocks"].as_array().expect("blocks is an array")
}

#[test]
fn slack_respects_block_and_text_limits_and_says_what_it_cut() {
    let mut report = failure_with_rollback();
    let template = report.services[2].clone();
    report.services = (0..2000)
        .map(|i| {
            let mut s = template.clone();
            s.name = format!("service-{i:04}");
            s
        })
        .collect();
    report.environment = "e".repeat(400);
    let message = slack::message(&report, &at_finish(&report));
    let blocks = blocks(&message);
    assert_eq!(blocks.len(), slack::MAX_BLOCKS);
    let header = blocks[0]["text"]["text"].as_str().expect("header text");
    assert_eq!(header.chars().count(), slack::MAX_HEADER_TEXT);
    assert!(header.ends_with('…'));
    for block in blocks {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(
                text.chars().count() <= slack::MAX_SECTION_TEXT,
                "{}",
                text.len()
            );
        }
    }
    let last_services = blocks[blocks.len() - 3]["text"]["text"]
        .as_str()
        .expect("text");
    let more = last_services.lines().last().expect("a line");
    let shown = message.to_string().matches("*service-").count();
    assert_eq!(more, format!("… and {} more services", 2000 - shown));
    assert!(
        message["text"].as_str().expect("fallback").chars().count() <= slack::MAX_FALLBACK_TEXT
    );
}

#[test]
fn slack_small_report_keeps_every_service() {
    let report = success();
    let message = slack::message(&report, &at_finish(&report));
    let all = message.to_string();
    for s in &report.services {
        assert!(all.contains(&format!("*{}*", s.name)), "{}", s.name);
    }
    assert!(!all.contains("more services"));
    assert!(
        all.contains("<https://github.com/mickgian/release/actions/runs/9001|Orchestrating run>")
    );
}

#[test]
fn webhook_body_is_signed_over_its_exact_bytes() {
    let report = failure_with_rollback();
    let payload = webhook::payload(&report, &at_finish(&report), DELIVERY_ID, epoch());
    let body = webhook::body(&payload);
    let header = webhook::signature_header(b"s3cret", &body);
    assert!(webhook::verify_signature(b"s3cret", &body, &header));
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(!webhook::verify_signature(b"s3cret", &tampered, &header));
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(parsed["schema"], "orchestrate.notification/v1");
    assert_eq!(parsed["event"], "manual_intervention_required");
    assert_eq!(parsed["severity"], "critical");
    assert_eq!(parsed["services"][2]["failed_step"], "Upload to CDN");
}
