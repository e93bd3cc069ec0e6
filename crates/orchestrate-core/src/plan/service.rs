//! Validating one service: repository, workflow and trigger, input limits, `requires`
//! ranges, artifacts, health check, rollback and the templates in all of them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::decode::{Ctx, Spanned, Text};
use super::diag::suggestion;
use super::raw::RawService;
use super::template::Template;
use super::validate::{parse_repo, service_list, unknown_service};
use super::variables::{self, Owner, Scope, Stage};
use super::{Health, Rollback, Service, Trigger};

/// GitHub's limit on `workflow_dispatch` inputs.
const MAX_WORKFLOW_INPUTS: usize = 25;
/// GitHub's limit on top-level `client_payload` properties of a `repository_dispatch`.
const MAX_PAYLOAD_PROPERTIES: usize = 10;
pub(crate) const TRIGGERS: &[&str] = &["workflow_dispatch", "repository_dispatch"];
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(5);

pub(crate) fn service(
    ctx: &mut Ctx<'_>,
    scope: &Scope<'_>,
    mut owner: Owner<'_>,
    name: &Spanned<String>,
    svc: &RawService,
    names: &[String],
) -> Option<Service> {
    let what = format!("service `{}`", name.value);
    if !name
        .value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        let diag = ctx.error(
            name.span,
            format!(
                "service name `{}` can only use letters, digits, `-` and `_`",
                name.value
            ),
        );
        diag.hint = Some(
            "service names appear in template variables such as `runs.<service>.url`".to_owned(),
        );
    }
    if let Some(t) = &svc.approval_timeout {
        super::validate::positive_approval_timeout(ctx, t);
    }
    let repo = svc.repo.as_ref().and_then(|r| parse_repo(ctx, r));
    let workflow = svc.workflow.as_ref().map(|w| check_workflow(ctx, w));
    let trigger = trigger(ctx, svc, &what, workflow.clone());
    let inputs = templates(ctx, scope, &owner, &svc.inputs, &what, "input");
    check_input_count(ctx, svc, name, trigger.as_ref());
    let requires = requires(ctx, svc, name, names);
    let mut artifacts: Vec<String> = Vec::new();
    for a in &svc.artifacts {
        if artifacts.contains(&a.value) {
            let diag = ctx.error(
                a.span,
                format!("artifact `{}` is listed twice in {what}", a.value),
            );
            diag.hint = Some("list each artifact once".to_owned());
        } else {
            artifacts.push(a.value.clone());
        }
    }
    let share = shared(ctx, svc, &what);
    owner.stage = Stage::AfterRun;
    let health = svc.health.as_ref().map(|h| {
        let url = h.url.as_ref().and_then(|u| {
            variables::check(ctx, scope, &owner, u, &format!("`health.url` of {what}"))
        });
        let expect = h.expect.as_ref();
        let expect_status = match expect.and_then(|e| e.status.as_ref()) {
            Some(s) if !(100..=599).contains(&s.value) => {
                let diag = ctx.error(s.span, format!("`{}` is not an HTTP status", s.value));
                diag.hint = Some("use a status between 100 and 599, e.g. 200".to_owned());
                200
            }
            Some(s) => u16::try_from(s.value).unwrap_or(200),
            None => 200,
        };
        let json = expect.map_or(&[][..], |e| e.json.as_slice());
        let expect_json = templates(ctx, scope, &owner, json, &what, "`expect.json` field");
        let interval = h
            .interval
            .as_ref()
            .map_or(DEFAULT_HEALTH_INTERVAL, |i| i.value);
        if interval.is_zero() {
            let diag = ctx.error(
                h.interval.as_ref().map_or(h.span, |i| i.span),
                "`health.interval` must be longer than 0s",
            );
            diag.hint =
                Some("poll every few seconds, e.g. `interval: 5s` (the default)".to_owned());
        }
        url.map(|url| Health {
            url,
            expect_status,
            expect_json,
            interval,
            timeout: h.timeout.as_ref().map(|t| t.value),
        })
    });
    let rollback = svc.rollback.as_ref().map(|r| {
        if svc.irreversible.as_ref().is_some_and(|i| i.value) {
            let diag = ctx.warning(r.span, format!("{what} is irreversible, so its `rollback` is never used"));
            diag.hint = Some("an irreversible service is halted on failure, never rolled back; remove `rollback`".to_owned());
        }
        Rollback {
            workflow: r.workflow.as_ref().map(|w| check_workflow(ctx, w)),
            inputs: templates(ctx, scope, &owner, &r.inputs, &what, "rollback input"),
        }
    });
    Some(Service {
        name: name.value.clone(),
        repo: repo?,
        trigger: trigger?,
        inputs,
        needs: svc.needs.iter().map(|n| n.value.clone()).collect(),
        requires,
        irreversible: svc.irreversible.as_ref().is_some_and(|i| i.value),
        health: health.flatten(),
        rollback,
        artifacts,
        share,
        correlate: svc.correlate.as_ref().is_some_and(|c| c.value),
        timeout: svc.timeout.as_ref().map(|t| t.value),
        auto_approve: svc.auto_approve.as_ref().is_some_and(|a| a.value),
        approval_timeout: svc.approval_timeout.as_ref().map(|t| t.value),
    })
}

/// `share:` names: each once, each a name `upload-artifact` accepts.
fn shared(ctx: &mut Ctx<'_>, svc: &RawService, what: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in &svc.share {
        if let Some(c) = a
            .value
            .chars()
            .find(|c| super::store::FORBIDDEN_NAME_CHARS.contains(c))
        {
            let diag = ctx.error(
                a.span,
                format!(
                    "artifact name `{}` in `share` of {what} contains {c:?}",
                    a.value
                ),
            );
            diag.hint = Some(
                "artifact names cannot contain `\" : < > | * ? \\ /` or line breaks".to_owned(),
            );
        } else if out.contains(&a.value) {
            let diag = ctx.error(
                a.span,
                format!(
                    "artifact `{}` is listed twice in `share` of {what}",
                    a.value
                ),
            );
            diag.hint = Some("list each artifact once".to_owned());
        } else {
            out.push(a.value.clone());
        }
    }
    out
}

fn check_workflow(ctx: &mut Ctx<'_>, w: &Spanned<String>) -> String {
    if let Some((_, file)) = w.value.rsplit_once('/') {
        let diag = ctx.error(w.span, format!("workflow `{}` is a path", w.value));
        diag.hint = Some(format!(
            "give the file name only (`{file}`) or the workflow's numeric id"
        ));
    }
    w.value.clone()
}

fn trigger(
    ctx: &mut Ctx<'_>,
    svc: &RawService,
    what: &str,
    workflow: Option<String>,
) -> Option<Trigger> {
    let kind = svc
        .trigger
        .as_ref()
        .map_or("workflow_dispatch", |t| t.value.as_str());
    match kind {
        "workflow_dispatch" => {
            if let Some(e) = &svc.event_type {
                let diag = ctx.error(
                    e.span,
                    format!("`event_type` only applies to `trigger: repository_dispatch` ({what})"),
                );
                diag.hint =
                    Some("remove `event_type`, or set `trigger: repository_dispatch`".to_owned());
            }
            let git_ref = svc
                .git_ref
                .as_ref()
                .map_or_else(|| "main".to_owned(), |r| r.value.clone());
            Some(Trigger::WorkflowDispatch {
                workflow: workflow?,
                git_ref,
            })
        }
        "repository_dispatch" => {
            if let Some(r) = &svc.git_ref {
                let diag = ctx.warning(
                    r.span,
                    format!("`ref` is ignored with `trigger: repository_dispatch` ({what})"),
                );
                diag.hint = Some(
                    "repository_dispatch always runs the default branch's workflow".to_owned(),
                );
            }
            let event_type = match &svc.event_type {
                Some(e) if (1..=100).contains(&e.value.chars().count()) => Some(e.value.clone()),
                Some(e) => {
                    let diag = ctx.error(e.span, "`event_type` must be 1 to 100 characters");
                    diag.hint = Some("GitHub rejects longer or empty event types".to_owned());
                    None
                }
                None => {
                    let span = svc.trigger.as_ref().map(|t| t.span).unwrap_or_default();
                    let diag = ctx.error(
                        span,
                        format!("`trigger: repository_dispatch` needs an `event_type` ({what})"),
                    );
                    diag.hint = Some(
                        "add `event_type: deploy`, the type the target workflow listens for"
                            .to_owned(),
                    );
                    None
                }
            };
            Some(Trigger::RepositoryDispatch {
                event_type: event_type?,
                workflow: workflow?,
            })
        }
        other => {
            let span = svc.trigger.as_ref().map(|t| t.span).unwrap_or_default();
            let diag = ctx.error(span, format!("unknown trigger `{other}` in {what}"));
            diag.hint = suggestion(other, TRIGGERS, "triggers are");
            None
        }
    }
}

fn check_input_count(
    ctx: &mut Ctx<'_>,
    svc: &RawService,
    name: &Spanned<String>,
    trigger: Option<&Trigger>,
) {
    // The correlation id travels as one more input (always, for repository_dispatch).
    let (limit, extra, kind) = match trigger {
        Some(Trigger::RepositoryDispatch { .. }) => {
            (MAX_PAYLOAD_PROPERTIES, 1, "`client_payload` properties")
        }
        _ => (
            MAX_WORKFLOW_INPUTS,
            usize::from(svc.correlate.as_ref().is_some_and(|c| c.value)),
            "workflow inputs",
        ),
    };
    let count = svc.inputs.len() + extra;
    if count > limit {
        let span = svc.inputs_span.unwrap_or(name.span);
        let diag = ctx.error(
            span,
            format!(
                "service `{}` sends {count} {kind}; GitHub accepts at most {limit}",
                name.value
            ),
        );
        diag.label = Some(format!("{count} {kind}"));
        diag.hint = Some(if extra == 1 {
            "the `orchestrate_id` correlation input counts too; pass related values as one JSON input".to_owned()
        } else {
            "pass related values as one JSON input and parse it in the workflow".to_owned()
        });
    }
}

fn requires(
    ctx: &mut Ctx<'_>,
    svc: &RawService,
    name: &Spanned<String>,
    names: &[String],
) -> BTreeMap<String, semver::VersionReq> {
    let known = service_list(names);
    let mut out = BTreeMap::new();
    for (target, range) in &svc.requires {
        if target.value == name.value {
            let diag = ctx.error(
                target.span,
                format!("service `{}` requires a version of itself", name.value),
            );
            diag.hint = Some("`requires` names other services; remove this entry".to_owned());
            continue;
        }
        if !names.contains(&target.value) {
            unknown_service(
                ctx,
                target,
                &known,
                &format!("service `{}` requires", name.value),
            );
        }
        match semver::VersionReq::parse(&range.value) {
            Ok(req) => {
                out.insert(target.value.clone(), req);
            }
            Err(e) => {
                let diag = ctx.error(
                    range.span,
                    format!(
                        "invalid version range `{}` for `{}`: {e}",
                        range.value, target.value
                    ),
                );
                diag.label = Some("not a semver range".to_owned());
                diag.hint =
                    Some("write comparators separated by commas, e.g. `>=1.2, <2`".to_owned());
            }
        }
    }
    out
}

fn templates(
    ctx: &mut Ctx<'_>,
    scope: &Scope<'_>,
    owner: &Owner<'_>,
    entries: &[(Spanned<String>, Text)],
    what: &str,
    kind: &str,
) -> BTreeMap<String, Template> {
    let mut out = BTreeMap::new();
    for (key, text) in entries {
        let context = format!("{kind} `{}` of {what}", key.value);
        if let Some(t) = variables::check(ctx, scope, owner, text, &context) {
            out.insert(key.value.clone(), t);
        }
    }
    out
}
