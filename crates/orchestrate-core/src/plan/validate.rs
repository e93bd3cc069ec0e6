//! From the raw plan to a validated [`Plan`]: version, strategy, environments, the `needs`
//! graph and its cycles, the canary; each service is checked in `service`. Every problem is
//! reported; a plan is returned only when there was no error.

use std::collections::BTreeMap;
use std::time::Duration;

use super::decode::{Ctx, Spanned};
use super::diag::suggestion;
use super::graph::{self, Edges};
use super::raw::RawPlan;
use super::rules;
use super::service;
use super::variables::{Owner, Scope, Stage};
use super::{Canary, Environment, Plan, Repo, Strategy};

pub(crate) const STRATEGIES: &[&str] = &["sequential", "parallel", "canary"];
const DEFAULT_MAX_PARALLEL: usize = 4;
const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn validate(ctx: &mut Ctx<'_>, raw: &RawPlan) -> Option<Plan> {
    if let Some(v) = &raw.version
        && v.value != 1
    {
        let diag = ctx.error(v.span, format!("unsupported plan version `{}`", v.value));
        diag.label = Some("expected 1".to_owned());
        diag.hint = Some("this orchestrate reads version 1 plans: set `version: 1`".to_owned());
    }
    let strategy = raw
        .strategy
        .as_ref()
        .map_or(Some(Strategy::Sequential), |s| {
            parse_strategy(ctx, s, "`strategy`")
        });
    let max_parallel = raw.max_parallel.as_ref().map_or(DEFAULT_MAX_PARALLEL, |m| {
        if m.value == 0 {
            let diag = ctx.error(m.span, "`max_parallel` must be at least 1");
            diag.hint = Some("use 1 to run one service at a time".to_owned());
        }
        usize::try_from(m.value).unwrap_or(usize::MAX).max(1)
    });
    let environments = environments(raw);
    for (_, env) in &raw.environments {
        if let Some(t) = &env.approval_timeout {
            positive_approval_timeout(ctx, t);
        }
    }
    let names: Vec<String> = raw.services.iter().map(|(n, _)| n.value.clone()).collect();
    let edges = needs_graph(ctx, raw, &names);
    for cycle in graph::find_cycles(&edges) {
        let mut path: Vec<&str> = cycle.members.iter().map(|i| names[*i].as_str()).collect();
        path.push(path[0]);
        let diag = ctx.error(
            cycle.span,
            format!("dependency cycle: {}", path.join(" -> ")),
        );
        diag.label = Some(format!("`{}` needs `{}`", path[0], path[1]));
        diag.hint =
            Some("remove one of these `needs` so the services can be put in order".to_owned());
    }
    let canary = canary(ctx, raw, &names, strategy);
    let scope = Scope {
        services: &names,
        artifacts: raw
            .services
            .iter()
            .map(|(n, s)| {
                (
                    n.value.as_str(),
                    s.artifacts
                        .iter()
                        .chain(&s.share)
                        .map(|a| a.value.as_str())
                        .collect(),
                )
            })
            .collect(),
        env_vars: raw
            .environments
            .iter()
            .map(|(n, e)| {
                (
                    n.value.as_str(),
                    e.vars.iter().map(|(k, _)| k.value.as_str()).collect(),
                )
            })
            .collect(),
    };
    let mut services = Vec::new();
    for (i, (name, svc)) in raw.services.iter().enumerate() {
        let upstream = graph::upstream(&edges, i)
            .into_iter()
            .map(|j| names[j].as_str())
            .collect();
        let owner = Owner {
            name: &name.value,
            upstream,
            stage: Stage::Deploy,
        };
        services.push(service::service(ctx, &scope, owner, name, svc, &names));
    }
    let env_names: Vec<&str> = environments.keys().map(String::as_str).collect();
    let (notifications, channels) = rules::validate(ctx, raw, &env_names, &names);
    let artifacts = super::store::validate(ctx, raw.artifacts.as_ref());
    if ctx.diags.iter().any(|d| d.is_error()) {
        return None;
    }
    Some(Plan {
        file: ctx.file.to_owned(),
        name: raw.name.as_ref()?.value.clone(),
        strategy: strategy?,
        max_parallel,
        canary,
        environments,
        services: services.into_iter().collect::<Option<Vec<_>>>()?,
        notifications,
        channels,
        artifacts,
    })
}

pub(crate) fn parse_strategy(
    ctx: &mut Ctx<'_>,
    s: &Spanned<String>,
    what: &str,
) -> Option<Strategy> {
    match s.value.as_str() {
        "sequential" => Some(Strategy::Sequential),
        "parallel" => Some(Strategy::Parallel),
        "canary" => Some(Strategy::Canary),
        other => {
            let diag = ctx.error(s.span, format!("unknown strategy `{other}` in {what}"));
            diag.label = Some("unknown strategy".to_owned());
            diag.hint = suggestion(other, STRATEGIES, "strategies are");
            None
        }
    }
}

/// `owner/name` with GitHub's allowed characters.
pub(crate) fn parse_repo(ctx: &mut Ctx<'_>, s: &Spanned<String>) -> Option<Repo> {
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    match s.value.split_once('/') {
        Some((owner, name)) if valid(owner) && valid(name) => Some(Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        }),
        _ => {
            let diag = ctx.error(
                s.span,
                format!("repository `{}` is not in `owner/name` form", s.value),
            );
            diag.label = Some("expected `owner/name`".to_owned());
            diag.hint = Some(
                "write the GitHub repository as `owner/name`, e.g. `mickgian/PratikoAi-BE`"
                    .to_owned(),
            );
            None
        }
    }
}

/// An `approval_timeout` of zero would cancel every run that waits for an approval.
pub(crate) fn positive_approval_timeout(ctx: &mut Ctx<'_>, t: &Spanned<Duration>) {
    if t.value.is_zero() {
        let diag = ctx.error(t.span, "`approval_timeout` must be longer than 0s");
        diag.hint = Some(
            "give reviewers time to approve, e.g. `approval_timeout: 4h` (the default is 24h)"
                .to_owned(),
        );
    }
}

fn environments(raw: &RawPlan) -> BTreeMap<String, Environment> {
    let mut out = BTreeMap::new();
    for (name, env) in &raw.environments {
        let vars = env
            .vars
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect();
        let health_timeout = env
            .health_timeout
            .as_ref()
            .map_or(DEFAULT_HEALTH_TIMEOUT, |d| d.value);
        out.insert(
            name.value.clone(),
            Environment {
                name: name.value.clone(),
                vars,
                health_timeout,
                lock: env.lock.as_ref().is_some_and(|l| l.value),
                approval_timeout: env.approval_timeout.as_ref().map(|d| d.value),
            },
        );
    }
    out
}

pub(crate) fn service_list(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// `needs` as indices, reporting unknown and repeated names.
fn needs_graph(ctx: &mut Ctx<'_>, raw: &RawPlan, names: &[String]) -> Edges {
    let known = service_list(names);
    let mut edges = Edges::new();
    for (name, svc) in &raw.services {
        let mut targets: Vec<(usize, super::diag::Span)> = Vec::new();
        for need in &svc.needs {
            match names.iter().position(|n| *n == need.value) {
                Some(j) if targets.iter().any(|(t, _)| *t == j) => {
                    let diag = ctx.warning(
                        need.span,
                        format!(
                            "`{}` is listed twice in `needs` of `{}`",
                            need.value, name.value
                        ),
                    );
                    diag.hint = Some("list each service once".to_owned());
                }
                Some(j) => targets.push((j, need.span)),
                None => unknown_service(
                    ctx,
                    need,
                    &known,
                    &format!("service `{}` needs", name.value),
                ),
            }
        }
        edges.push(targets);
    }
    edges
}

pub(crate) fn unknown_service(
    ctx: &mut Ctx<'_>,
    name: &Spanned<String>,
    known: &[&str],
    context: &str,
) {
    let diag = ctx.error(
        name.span,
        format!(
            "{context} `{}`, which is not a service in this plan",
            name.value
        ),
    );
    diag.label = Some("unknown service".to_owned());
    diag.hint = suggestion(&name.value, known, "services in this plan are");
}

fn canary(
    ctx: &mut Ctx<'_>,
    raw: &RawPlan,
    names: &[String],
    strategy: Option<Strategy>,
) -> Option<Canary> {
    let known = service_list(names);
    let Some(c) = &raw.canary else {
        if let (Some(Strategy::Canary), Some(s)) = (strategy, &raw.strategy) {
            let diag = ctx.error(s.span, "strategy `canary` needs a `canary:` section");
            diag.hint = Some("add `canary: { services: [web], bake: 5m }`".to_owned());
        }
        return None;
    };
    if c.services.is_empty() {
        let diag = ctx.error(c.span, "`canary.services` lists no service");
        diag.hint = Some("name the services that go first, e.g. `services: [web]`".to_owned());
    }
    for s in &c.services {
        if !names.contains(&s.value) {
            unknown_service(ctx, s, &known, "canary names");
        }
    }
    Some(Canary {
        services: c.services.iter().map(|s| s.value.clone()).collect(),
        bake: c.bake.as_ref().map_or(Duration::ZERO, |b| b.value),
    })
}
