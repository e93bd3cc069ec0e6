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
//!   staging: { vars: { api: https://… }, health_timeout: 60s, lock: false, approval_timeout: 24h }
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
//!     artifacts: [build-info]          # downloaded after success; JSON fields as templates
//!     share: [build-info]              # handed on: fields, plus `.id`, `.run_id`, `.repository`, `.digest`
//!     correlate: false                 # always send the `orchestrate_id` input
//!     timeout: 30m
//!     auto_approve: false              # approve the run's environment gates when the token may
//!     approval_timeout: 24h            # default: the environment's, else 24h
//! notifications:             # see `raw_notify`
//! channels:                  # see `raw_notify`
//! artifacts: { store: github }   # github | s3 | local: see `store`
//! ```
//!
//! An empty value (`key:` or `key: ~`) is the same as leaving the key out.

use std::time::Duration;

use schemars::JsonSchema;

use super::Strategy;
use super::decode::{Ctx, Spanned, Text};
use super::diag::Span;
use super::raw_notify::{RawChannels, RawRule, read_channels, read_rules};
use super::schema::{EventType, Map, Names, RepoName, TriggerKind, WorkflowName};
use super::store::{self, RawStore};
use super::yaml::Node;

pub(crate) const PLAN_KEYS: &[&str] = &[
    "version",
    "name",
    "strategy",
    "max_parallel",
    "canary",
    "environments",
    "services",
    "notifications",
    "channels",
    "artifacts",
];
pub(crate) const CANARY_KEYS: &[&str] = &["services", "bake"];
pub(crate) const ENV_KEYS: &[&str] = &["vars", "health_timeout", "lock", "approval_timeout"];
pub(crate) const SERVICE_KEYS: &[&str] = &[
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
    "share",
    "correlate",
    "timeout",
    "auto_approve",
    "approval_timeout",
];
pub(crate) const HEALTH_KEYS: &[&str] = &["url", "expect", "interval", "timeout"];
pub(crate) const EXPECT_KEYS: &[&str] = &["status", "json"];
pub(crate) const ROLLBACK_KEYS: &[&str] = &["workflow", "inputs"];

/// Every mapping this module reads, by its name in the JSON Schema, with the keys the reader
/// accepts: the schema test checks that the two never drift apart.
#[cfg(test)]
pub(crate) const OBJECTS: &[(&str, &[&str])] = &[
    ("Plan", PLAN_KEYS),
    ("Canary", CANARY_KEYS),
    ("Environment", ENV_KEYS),
    ("Service", SERVICE_KEYS),
    ("Health", HEALTH_KEYS),
    ("Expect", EXPECT_KEYS),
    ("Rollback", ROLLBACK_KEYS),
    ("Artifacts", super::store::KEYS),
];

// The doc comments of these types and their fields are the descriptions in the plan's JSON
// Schema (`orchestrate schema`): they are written for the people who write plans.

/// An orchestrate release plan: which services to deploy, in what order, how to check and roll
/// them back, and whom to tell. Templates are written `{{ name }}`, never `${{ }}`.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Plan", deny_unknown_fields)]
pub struct RawPlan {
    /// The format version of this file: `1`.
    #[schemars(required, extend("const" = 1))]
    pub version: Option<Spanned<u64>>,
    /// The release's name, used in messages and the job summary.
    #[schemars(required)]
    pub name: Option<Spanned<String>>,
    /// How much runs at once; `needs` holds under every strategy. `sequential` (default): one
    /// service at a time; `parallel`: every service whose needs are met, up to `max_parallel`;
    /// `canary`: the `canary` services first, a health gate and a bake, then the rest in
    /// parallel. The `deployment_strategy` input overrides it.
    #[schemars(with = "Option<Strategy>")]
    pub strategy: Option<Spanned<String>>,
    /// Most runs in flight at once under `parallel` and `canary` (default 4).
    #[schemars(range(min = 1))]
    pub max_parallel: Option<Spanned<u64>>,
    /// The services deployed first under `strategy: canary`; required for that strategy.
    pub canary: Option<RawCanary>,
    /// The environments a release can target, by name; at least one.
    #[schemars(required, with = "Map<Option<RawEnvironment>>", extend("minProperties" = 1))]
    pub environments: Vec<(Spanned<String>, RawEnvironment)>,
    /// The deployable services, by name (letters, digits, `-` and `_`); at least one.
    #[schemars(required, with = "Names<RawService>", extend("minProperties" = 1))]
    pub services: Vec<(Spanned<String>, RawService)>,
    /// Routing rules: every rule whose `on`, `severity` and `when` match an event sends it to
    /// the rule's channels.
    #[schemars(with = "Option<Vec<RawRule>>")]
    pub notifications: Vec<RawRule>,
    /// How each notification channel is reached. Secrets never go here, only the names of the
    /// environment variables that hold them.
    #[schemars(with = "Option<RawChannels>")]
    pub channels: RawChannels,
    /// Where the release manifest and the artifacts services hand on (`share`) are stored
    /// (default `store: github`).
    pub artifacts: Option<RawStore>,
}

/// `canary: { services: [web], bake: 5m }`.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Canary", deny_unknown_fields)]
pub struct RawCanary {
    #[schemars(skip)]
    pub span: Span,
    /// The canary services: deployed (with what they need) before the rest.
    #[schemars(required, with = "Vec<Spanned<String>>")]
    pub services: Vec<Spanned<String>>,
    /// How long the canary must stay healthy before the rest deploys (default `0s`); its health
    /// check keeps running meanwhile.
    pub bake: Option<Spanned<Duration>>,
}

/// One environment a release can target. Written with nothing under it, every default applies.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Environment", deny_unknown_fields)]
pub struct RawEnvironment {
    /// Values for `{{ vars.<name> }}` in this environment.
    #[schemars(with = "Option<Map<Text>>")]
    pub vars: Vec<(Spanned<String>, Text)>,
    /// How long a health gate may take before it fails (default `60s`); a service's
    /// `health.timeout` overrides it.
    pub health_timeout: Option<Spanned<Duration>>,
    /// One release at a time in this environment, across every repository (a lease that
    /// expires, so a killed job cannot hold it forever). Default `false`.
    pub lock: Option<Spanned<bool>>,
    /// How long a run may wait for this environment's approval gate (a GitHub environment
    /// with required reviewers or a wait timer) before it is cancelled and the service fails
    /// (default `24h`); a service's `approval_timeout` overrides it. The wait does not count
    /// against the run's or the release's `timeout`.
    pub approval_timeout: Option<Spanned<Duration>>,
}

/// One deployable service: the workflow that deploys it, what it needs, how to check it and
/// how to roll it back.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Service", deny_unknown_fields)]
pub struct RawService {
    /// The repository whose workflow deploys it, as `owner/name`.
    #[schemars(required, with = "RepoName")]
    pub repo: Option<Spanned<String>>,
    /// The workflow's file name (`deploy.yml`, not a path) or its numeric id.
    #[schemars(required, with = "WorkflowName")]
    pub workflow: Option<Spanned<String>>,
    /// The branch or tag to dispatch on (default `main`; `workflow_dispatch` only).
    #[schemars(rename = "ref")]
    pub git_ref: Option<Spanned<String>>,
    /// How the run is started: `workflow_dispatch` (default) or `repository_dispatch` (then
    /// `event_type` is required).
    #[schemars(with = "Option<TriggerKind>")]
    pub trigger: Option<Spanned<String>>,
    /// The `repository_dispatch` event type the target workflow listens for (1 to 100
    /// characters).
    #[schemars(with = "Option<EventType>")]
    pub event_type: Option<Spanned<String>>,
    /// Workflow inputs (or `client_payload` properties) as templates, e.g.
    /// `{ version: "{{ version }}" }`; numbers and booleans are sent as written. GitHub takes
    /// at most 25 inputs (10 payload properties), the correlation id included.
    #[schemars(with = "Option<Map<Text>>")]
    pub inputs: Vec<(Spanned<String>, Text)>,
    #[schemars(skip)]
    pub inputs_span: Option<Span>,
    /// Services that must be deployed and healthy first: a hard edge under every strategy.
    #[schemars(with = "Option<Vec<Spanned<String>>>")]
    pub needs: Vec<Spanned<String>>,
    /// Semver ranges other services must satisfy, e.g. `{ backend: ">=1.2, <2" }`; checked
    /// before anything is dispatched, for every intermediate state of the order.
    #[schemars(with = "Option<Map<Spanned<String>>>")]
    pub requires: Vec<(Spanned<String>, Spanned<String>)>,
    /// A store release: halted on failure, never rolled back. Default `false`.
    pub irreversible: Option<Spanned<bool>>,
    /// The health gate: the service counts as deployed only when it passes.
    pub health: Option<RawHealth>,
    /// How to roll it back; without it the deploy workflow is re-run with the previous version.
    pub rollback: Option<RawRollback>,
    /// Artifacts of its run to download after success; their JSON fields become
    /// `{{ artifacts.<service>.<artifact>.<field> }}`.
    #[schemars(with = "Option<Vec<Spanned<String>>>")]
    pub artifacts: Vec<Spanned<String>>,
    /// Artifacts of its run handed on to the services that need this one: downloaded like
    /// `artifacts`, plus `{{ artifacts.<service>.<artifact>.id }}`, `.run_id`, `.repository` and
    /// `.digest` for `actions/download-artifact`; recorded in the manifest, and copied to an
    /// `s3` or `local` store when typed (`build-info`, `deployment-config`, `test-results`).
    #[schemars(with = "Option<Vec<Spanned<String>>>")]
    pub share: Vec<Spanned<String>>,
    /// Always send the `orchestrate_id` correlation input (the target workflow declares it).
    /// Default `false`.
    pub correlate: Option<Spanned<bool>>,
    /// Limit for this service's run (default: the release's `timeout`).
    pub timeout: Option<Spanned<Duration>>,
    /// Approve the run's environment gate through the API when the token is allowed to (a
    /// required reviewer; GitHub lets no App token review); otherwise the run waits for a
    /// person like any gate. Default `false`.
    pub auto_approve: Option<Spanned<bool>>,
    /// How long its run may wait for an approval (default: the environment's
    /// `approval_timeout`, else `24h`).
    pub approval_timeout: Option<Spanned<Duration>>,
}

/// The health gate: GET `url` every `interval` until the answer matches `expect` or `timeout`
/// passes.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Health", deny_unknown_fields)]
pub struct RawHealth {
    #[schemars(skip)]
    pub span: Span,
    /// The URL to GET, as a template, e.g. `"{{ vars.api }}/health"`.
    #[schemars(required)]
    pub url: Option<Text>,
    /// What a passing answer looks like (default: status 200).
    pub expect: Option<RawExpect>,
    /// Time between checks (default `5s`; more than 0s).
    pub interval: Option<Spanned<Duration>>,
    /// How long the gate may take (default: the environment's `health_timeout`).
    pub timeout: Option<Spanned<Duration>>,
}

/// What a passing health answer looks like.
#[derive(Debug, Default, JsonSchema)]
#[schemars(rename = "Expect", deny_unknown_fields)]
pub struct RawExpect {
    /// The HTTP status (default 200).
    #[schemars(range(min = 100, max = 599))]
    pub status: Option<Spanned<u64>>,
    /// JSON fields the body must hold, by dotted path, as templates, e.g.
    /// `{ version: "{{ version }}" }`: the new version actually serving.
    #[schemars(with = "Option<Map<Text>>")]
    pub json: Vec<(Spanned<String>, Text)>,
}

/// How a service is rolled back.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Rollback", deny_unknown_fields)]
pub struct RawRollback {
    #[schemars(skip)]
    pub span: Span,
    /// The rollback workflow's file name or id (default: the deploy workflow, with
    /// `{{ previous_version }}`).
    #[schemars(with = "Option<WorkflowName>")]
    pub workflow: Option<Spanned<String>>,
    /// Its inputs, as templates.
    #[schemars(with = "Option<Map<Text>>")]
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
    if let (Some(node), Some(span)) = (f.get("artifacts"), f.key_span("artifacts")) {
        plan.artifacts = store::read(ctx, node, span);
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
    env.approval_timeout = f
        .get("approval_timeout")
        .and_then(|n| ctx.duration(n, "`approval_timeout`"));
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
    svc.share = f
        .get("share")
        .and_then(|n| ctx.string_list(n, "`share`"))
        .unwrap_or_default();
    svc.correlate = f.get("correlate").and_then(|n| ctx.bool(n, "`correlate`"));
    svc.timeout = f.get("timeout").and_then(|n| ctx.duration(n, "`timeout`"));
    svc.auto_approve = f
        .get("auto_approve")
        .and_then(|n| ctx.bool(n, "`auto_approve`"));
    svc.approval_timeout = f
        .get("approval_timeout")
        .and_then(|n| ctx.duration(n, "`approval_timeout`"));
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
        expect: None,
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
        health.expect = Some(RawExpect {
            status: e.get("status").and_then(|n| ctx.uint(n, "`expect.status`")),
            json: e
                .get("json")
                .map(|json| ctx.text_map(json, "`expect.json`"))
                .unwrap_or_default(),
        });
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
