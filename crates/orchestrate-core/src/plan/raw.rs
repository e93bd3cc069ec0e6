//! The raw plan: a mirror of the file's shape with a position on every value. Reading it
//! checks keys (`deny_unknown_fields` with "did you mean"), duplicates, types, required fields
//! and durations; meaning (services exist, ranges parse, no cycles…) is checked in `validate`.
//!
//! The file format (SPEC §2), with the defaults this crate applies:
//!
//! ```yaml
//! version: 1                 # required, must be 1
//! name: pratiko              # required
//! strategy: sequential       # sequential (default) | parallel | canary
//! max_parallel: 4            # default 4, at least 1
//! canary: { services: [web], bake: 5m }   # bake defaults to 0s; required for strategy canary
//! environments:              # required, at least one
//!   staging: { vars: { api: https://… }, health_timeout: 60s, lock: false }
//! services:                  # required, at least one; keys are service names
//!   backend:
//!     repo: owner/name                 # required
//!     workflow: deploy.yml             # required: file name or numeric id
//!     ref: main                        # default main (workflow_dispatch only)
//!     trigger: workflow_dispatch       # or repository_dispatch (then event_type is required)
//!     inputs: { version: "{{ version }}" }   # values are templates; numbers/booleans kept as written
//!     needs: [other]                   # hard ordering edges
//!     requires: { other: ">=1.2, <2" } # semver ranges of other services
//!     irreversible: false
//!     health: { url: "…", expect: { status: 200, json: { version: "{{ version }}" } }, interval: 5s, timeout: 2m }
//!     rollback: { workflow: rollback.yml, inputs: { … } }
//!     artifacts: [build-info]
//!     correlate: false                 # always send the `orchestrate_id` input
//!     timeout: 30m
//! notifications:             # see `raw_notify`
//! channels:                  # see `raw_notify`
//! ```
//!
//! An empty value (`key:` or `key: ~`) is the same as leaving the key out.

use std::time::Duration;

use super::decode::{Ctx, Spanned, Text};
use super::diag::Span;
use super::raw_notify::{RawChannels, RawRule, read_channels, read_rules};
use super::yaml::Node;

const PLAN_KEYS: &[&str] = &[
    "version",
    "name",
    "strategy",
    "max_parallel",
    "canary",
    "environments",
    "services",
    "notifications",
    "channels",
];
const CANARY_KEYS: &[&str] = &["services", "bake"];
const ENV_KEYS: &[&str] = &["vars", "health_timeout", "lock"];
const SERVICE_KEYS: &[&str] = &[
    "repo",
    "workflow",
    "ref",
    "trigger",
    "event_type",
    "inputs",
    "needs",
    "requires",
    "irreversible",
    "health",
    "rollback",
    "artifacts",
    "correlate",
    "timeout",
];
const HEALTH_KEYS: &[&str] = &["url", "expect", "interval", "timeout"];
const EXPECT_KEYS: &[&str] = &["status", "json"];
const ROLLBACK_KEYS: &[&str] = &["workflow", "inputs"];

/// The whole file. `None`/empty where the value was missing or unreadable (already reported).
#[derive(Debug, Default)]
pub struct RawPlan {
    pub version: Option<Spanned<u64>>,
    pub name: Option<Spanned<String>>,
    /// `sequential | parallel | canary`, checked in validation.
    pub strategy: Option<Spanned<String>>,
    pub max_parallel: Option<Spanned<u64>>,
    pub canary: Option<RawCanary>,
    pub environments: Vec<(Spanned<String>, RawEnvironment)>,
    pub services: Vec<(Spanned<String>, RawService)>,
    pub notifications: Vec<RawRule>,
    pub channels: RawChannels,
}

/// `canary: { services: [...], bake: 5m }`.
#[derive(Debug)]
pub struct RawCanary {
    pub span: Span,
    pub services: Vec<Spanned<String>>,
    pub bake: Option<Spanned<Duration>>,
}

/// `environments.<name>: { vars, health_timeout (default 60s), lock (default false) }`.
#[derive(Debug, Default)]
pub struct RawEnvironment {
    pub vars: Vec<(Spanned<String>, Text)>,
    pub health_timeout: Option<Spanned<Duration>>,
    pub lock: Option<Spanned<bool>>,
}

/// `services.<name>`: see the module documentation for every key and default.
#[derive(Debug, Default)]
pub struct RawService {
    pub repo: Option<Spanned<String>>,
    pub workflow: Option<Spanned<String>>,
    pub git_ref: Option<Spanned<String>>,
    /// `workflow_dispatch` (default) or `repository_dispatch`.
    pub trigger: Option<Spanned<String>>,
    /// Required with `repository_dispatch`, 1 to 100 characters.
    pub event_type: Option<Spanned<String>>,
    pub inputs: Vec<(Spanned<String>, Text)>,
    pub inputs_span: Option<Span>,
    pub needs: Vec<Spanned<String>>,
    /// Service name and the semver range it must satisfy, as written.
    pub requires: Vec<(Spanned<String>, Spanned<String>)>,
    pub irreversible: Option<Spanned<bool>>,
    pub health: Option<RawHealth>,
    pub rollback: Option<RawRollback>,
    pub artifacts: Vec<Spanned<String>>,
    pub correlate: Option<Spanned<bool>>,
    pub timeout: Option<Spanned<Duration>>,
}

/// `health: { url, expect: { status (default 200), json: { dotted.path: template } },
/// interval (default 5s), timeout (default: the environment's health_timeout) }`.
#[derive(Debug)]
pub struct RawHealth {
    pub span: Span,
    pub url: Option<Text>,
    pub status: Option<Spanned<u64>>,
    pub json: Vec<(Spanned<String>, Text)>,
    pub interval: Option<Spanned<Duration>>,
    pub timeout: Option<Spanned<Duration>>,
}

/// `rollback: { workflow (default: the deploy workflow), inputs }`.
#[derive(Debug)]
pub struct RawRollback {
    pub span: Span,
    pub workflow: Option<Spanned<String>>,
    pub inputs: Vec<(Spanned<String>, Text)>,
}

/// Reads the plan, reporting shape problems into `ctx`.
pub(crate) fn read_plan(ctx: &mut Ctx<'_>, root: &Node) -> RawPlan {
    let mut plan = RawPlan::default();
    let Some(f) = ctx.fields(root, "the plan", Span::start(), PLAN_KEYS) else {
        return plan;
    };
    plan.version = f
        .required(ctx, "version", "1")
        .and_then(|n| ctx.uint(n, "`version`"));
    plan.name = f
        .required(ctx, "name", "my-release")
        .and_then(|n| ctx.string(n, "`name`"));
    plan.strategy = f.get("strategy").and_then(|n| ctx.string(n, "`strategy`"));
    plan.max_parallel = f
        .get("max_parallel")
        .and_then(|n| ctx.uint(n, "`max_parallel`"));
    if let (Some(node), Some(span)) = (f.get("canary"), f.key_span("canary")) {
        plan.canary = read_canary(ctx, node, span);
    }
    if let Some(node) = f.required(ctx, "environments", "{ staging: {} }") {
        let entries = ctx.entries(node, "`environments`");
        if entries.as_ref().is_some_and(Vec::is_empty) {
            let diag = ctx.error(node.span, "`environments` declares no environment");
            diag.hint = Some("add at least one, e.g. `environments: { staging: {} }`".to_owned());
        }
        for (name, env) in entries.unwrap_or_default() {
            let env = read_environment(ctx, env, &name);
            plan.environments.push((name, env));
        }
    }
    if let Some(node) = f.required(
        ctx,
        "services",
        "{ backend: { repo: owner/name, workflow: deploy.yml } }",
    ) {
        let entries = ctx.entries(node, "`services`");
        if entries.as_ref().is_some_and(Vec::is_empty) {
            let diag = ctx.error(node.span, "`services` declares no service");
            diag.hint = Some(
                "add at least one, e.g. `backend: { repo: owner/name, workflow: deploy.yml }`"
                    .to_owned(),
            );
        }
        for (name, svc) in entries.unwrap_or_default() {
            let svc = read_service(ctx, svc, &name);
            plan.services.push((name, svc));
        }
    }
    if let Some(node) = f.get("notifications") {
        plan.notifications = read_rules(ctx, node);
    }
    if let Some(node) = f.get("channels") {
        plan.channels = read_channels(
            ctx,
            node,
            f.key_span("channels").unwrap_or_else(Span::start),
        );
    }
    plan
}

fn read_canary(ctx: &mut Ctx<'_>, node: &Node, span: Span) -> Option<RawCanary> {
    let f = ctx.fields(node, "`canary`", span, CANARY_KEYS)?;
    let services = f
        .required(ctx, "services", "[web]")
        .and_then(|n| ctx.string_list(n, "`canary.services`"))
        .unwrap_or_default();
    let bake = f.get("bake").and_then(|n| ctx.duration(n, "`canary.bake`"));
    Some(RawCanary {
        span,
        services,
        bake,
    })
}

fn read_environment(ctx: &mut Ctx<'_>, node: &Node, name: &Spanned<String>) -> RawEnvironment {
    let mut env = RawEnvironment::default();
    // `staging:` with nothing under it is a valid environment with all defaults.
    if node.is_null() {
        return env;
    }
    let what = format!("environment `{}`", name.value);
    let Some(f) = ctx.fields(node, &what, name.span, ENV_KEYS) else {
        return env;
    };
    if let Some(vars) = f.get("vars") {
        env.vars = ctx.text_map(vars, &format!("`vars` of {what}"));
    }
    env.health_timeout = f
        .get("health_timeout")
        .and_then(|n| ctx.duration(n, "`health_timeout`"));
    env.lock = f.get("lock").and_then(|n| ctx.bool(n, "`lock`"));
    env
}

fn read_service(ctx: &mut Ctx<'_>, node: &Node, name: &Spanned<String>) -> RawService {
    let mut svc = RawService::default();
    let what = format!("service `{}`", name.value);
    let Some(f) = ctx.fields(node, &what, name.span, SERVICE_KEYS) else {
        return svc;
    };
    svc.repo = f
        .required(ctx, "repo", "owner/name")
        .and_then(|n| ctx.string(n, "`repo`"));
    svc.workflow = f
        .required(ctx, "workflow", "deploy.yml")
        .and_then(|n| ctx.string(n, "`workflow`"));
    svc.git_ref = f.get("ref").and_then(|n| ctx.string(n, "`ref`"));
    svc.trigger = f.get("trigger").and_then(|n| ctx.string(n, "`trigger`"));
    svc.event_type = f
        .get("event_type")
        .and_then(|n| ctx.string(n, "`event_type`"));
    if let Some(inputs) = f.get("inputs") {
        svc.inputs = ctx.text_map(inputs, &format!("`inputs` of {what}"));
        svc.inputs_span = f.key_span("inputs");
    }
    svc.needs = f
        .get("needs")
        .and_then(|n| ctx.string_list(n, "`needs`"))
        .unwrap_or_default();
    if let Some(requires) = f.get("requires") {
        for (key, range) in ctx.entries(requires, "`requires`").unwrap_or_default() {
            if let Some(range) = ctx.string(range, &format!("the range for `{}`", key.value)) {
                svc.requires.push((key, range));
            }
        }
    }
    svc.irreversible = f
        .get("irreversible")
        .and_then(|n| ctx.bool(n, "`irreversible`"));
    if let (Some(node), Some(span)) = (f.get("health"), f.key_span("health")) {
        svc.health = read_health(ctx, node, span, &what);
    }
    if let (Some(node), Some(span)) = (f.get("rollback"), f.key_span("rollback")) {
        svc.rollback = read_rollback(ctx, node, span, &what);
    }
    svc.artifacts = f
        .get("artifacts")
        .and_then(|n| ctx.string_list(n, "`artifacts`"))
        .unwrap_or_default();
    svc.correlate = f.get("correlate").and_then(|n| ctx.bool(n, "`correlate`"));
    svc.timeout = f.get("timeout").and_then(|n| ctx.duration(n, "`timeout`"));
    svc
}

fn read_health(ctx: &mut Ctx<'_>, node: &Node, span: Span, owner: &str) -> Option<RawHealth> {
    let what = format!("`health` of {owner}");
    let f = ctx.fields(node, &what, span, HEALTH_KEYS)?;
    let mut health = RawHealth {
        span,
        url: f
            .required(ctx, "url", "\"{{ vars.api }}/health\"")
            .and_then(|n| ctx.text(n, "`health.url`")),
        status: None,
        json: Vec::new(),
        interval: f
            .get("interval")
            .and_then(|n| ctx.duration(n, "`health.interval`")),
        timeout: f
            .get("timeout")
            .and_then(|n| ctx.duration(n, "`health.timeout`")),
    };
    if let (Some(expect), Some(expect_span)) = (f.get("expect"), f.key_span("expect"))
        && let Some(e) = ctx.fields(expect, "`health.expect`", expect_span, EXPECT_KEYS)
    {
        health.status = e.get("status").and_then(|n| ctx.uint(n, "`expect.status`"));
        if let Some(json) = e.get("json") {
            health.json = ctx.text_map(json, "`expect.json`");
        }
    }
    Some(health)
}

fn read_rollback(ctx: &mut Ctx<'_>, node: &Node, span: Span, owner: &str) -> Option<RawRollback> {
    let what = format!("`rollback` of {owner}");
    let f = ctx.fields(node, &what, span, ROLLBACK_KEYS)?;
    Some(RawRollback {
        span,
        workflow: f
            .get("workflow")
            .and_then(|n| ctx.string(n, "`rollback.workflow`")),
        inputs: f
            .get("inputs")
            .map(|n| ctx.text_map(n, "`rollback.inputs`"))
            .unwrap_or_default(),
    })
}
