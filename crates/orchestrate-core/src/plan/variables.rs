//! Checking templates against the plan: every `{{ variable }}` must exist (SPEC §2), and
//! `runs.<svc>` / `artifacts.<svc>` must name a service that has finished by the time the
//! template is rendered. Problems point at the variable inside the value.

use std::collections::{BTreeMap, BTreeSet};

use super::decode::{Ctx, Text};
use super::diag::{did_you_mean, suggestion};
use super::template::{Template, TemplateError};

const SIMPLE: &[&str] = &[
    "environment",
    "version",
    "previous_version",
    "deployment_id",
];
const PREFIXES: &[&str] = &["versions", "vars", "runs", "artifacts"];
const ALL_FORMS: &str = "variables are `environment`, `version`, `previous_version`, `deployment_id`, \
`versions.<service>`, `vars.<name>`, `runs.<service>.id`, `runs.<service>.url` and \
`artifacts.<service>.<artifact>.<field>`";

/// What a template may refer to.
pub(crate) struct Scope<'a> {
    /// Service names in file order.
    pub services: &'a [String],
    /// Artifacts each service declares.
    pub artifacts: BTreeMap<&'a str, Vec<&'a str>>,
    /// Variable names per environment.
    pub env_vars: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

/// Where a template is used, which decides which services have finished by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Inputs of the deploy run: only upstream services have finished.
    Deploy,
    /// Health checks and rollback: the service's own run has finished too.
    AfterRun,
}

/// The service a template belongs to and what has finished before it is rendered.
pub(crate) struct Owner<'a> {
    pub name: &'a str,
    pub upstream: BTreeSet<&'a str>,
    pub stage: Stage,
}

/// Parses `text` and checks each variable; reports problems and returns the template when
/// it parsed.
pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    scope: &Scope<'_>,
    owner: &Owner<'_>,
    text: &Text,
    what: &str,
) -> Option<Template> {
    let template = match Template::parse(&text.value) {
        Ok(t) => t,
        Err(e) => {
            report_parse_error(ctx, text, what, &e);
            return None;
        }
    };
    for offset in template.github_expressions() {
        let diag = ctx.warning(
            text.at(*offset, 3),
            format!("`${{{{` in {what} is GitHub expression syntax, passed on as text"),
        );
        diag.label = Some("not an orchestrate template".to_owned());
        diag.hint = Some(
            "orchestrate templates are written `{{ name }}`; GitHub would evaluate `${{ }}` if this plan were inlined in a workflow"
                .to_owned(),
        );
    }
    for p in template.placeholders() {
        let span = text.at(p.offset, p.len);
        match check_variable(scope, owner, &p.name) {
            Verdict::Ok => {}
            Verdict::Error(message, hint) => {
                let diag = ctx.error(span, format!("{message} in {what}"));
                diag.hint = hint;
            }
            Verdict::MissingIn(envs) => {
                let diag = ctx.warning(
                    span,
                    format!(
                        "`{}` is not defined in environment {}",
                        p.name,
                        quoted_list(&envs)
                    ),
                );
                diag.hint = Some(
                    "rendering fails in those environments; define the variable there too"
                        .to_owned(),
                );
            }
        }
    }
    Some(template)
}

fn report_parse_error(ctx: &mut Ctx<'_>, text: &Text, what: &str, error: &TemplateError) {
    let (span, message, hint) = match error {
        TemplateError::Unterminated { offset } => (
            text.at(*offset, 2),
            format!("unterminated `{{{{` in {what}"),
            "close the variable with `}}`, as in `{{ version }}`",
        ),
        TemplateError::Empty { offset } => (
            text.at(*offset, 4),
            format!("empty `{{{{ }}}}` in {what}"),
            "put a variable name between the braces, as in `{{ version }}`",
        ),
        TemplateError::InvalidName { name, offset, len } => (
            text.at(*offset, *len),
            format!("invalid template variable `{name}` in {what}"),
            "variable names are dotted words such as `vars.api` or `runs.backend.url`",
        ),
        TemplateError::Missing { name } => {
            (text.span, format!("no value for `{name}` in {what}"), "")
        }
    };
    let diag = ctx.error(span, message);
    diag.hint = (!hint.is_empty()).then(|| hint.to_owned());
}

enum Verdict {
    Ok,
    Error(String, Option<String>),
    /// Defined in some environments but not these.
    MissingIn(Vec<String>),
}

fn error(message: String, hint: impl Into<Option<String>>) -> Verdict {
    Verdict::Error(message, hint.into())
}

fn check_variable(scope: &Scope<'_>, owner: &Owner<'_>, name: &str) -> Verdict {
    let segments: Vec<&str> = name.split('.').collect();
    match segments.as_slice() {
        [simple] if SIMPLE.contains(simple) => Verdict::Ok,
        ["versions", svc] => known_service(scope, svc, name).unwrap_or(Verdict::Ok),
        ["vars", key] => check_var(scope, key, name),
        ["runs", svc, field] => {
            if let Some(v) = known_service(scope, svc, name) {
                return v;
            }
            if !matches!(*field, "id" | "url") {
                return error(
                    format!("unknown field `{field}` in `{name}`"),
                    format!("a run has `id` and `url`: write `runs.{svc}.id` or `runs.{svc}.url`"),
                );
            }
            finished(owner, svc, name)
        }
        ["runs", ..] => error(
            format!("unknown template variable `{name}`"),
            "write `runs.<service>.id` or `runs.<service>.url`".to_owned(),
        ),
        ["artifacts", svc, artifact, _field, ..] => {
            if let Some(v) = known_service(scope, svc, name) {
                return v;
            }
            let declared = scope.artifacts.get(svc).cloned().unwrap_or_default();
            if !declared.contains(artifact) {
                let hint = match suggestion(artifact, &declared, "it declares") {
                    Some(s) => s,
                    None => format!("add `{artifact}` to `artifacts` (or `share`) of service `{svc}`"),
                };
                return error(format!("service `{svc}` declares no artifact `{artifact}` (used in `{name}`)"), hint);
            }
            finished(owner, svc, name)
        }
        ["artifacts", ..] => error(
            format!("`{name}` does not name an artifact field"),
            "write `artifacts.<service>.<artifact>.<field>`, where the field is a key of the artifact's JSON".to_owned(),
        ),
        [first, rest @ ..] => {
            let close = match did_you_mean(name, SIMPLE.iter().copied()) {
                Some(simple) => Some(simple.to_owned()),
                None if !rest.is_empty() => {
                    did_you_mean(first, PREFIXES.iter().copied()).map(|p| format!("{p}.{}", rest.join(".")))
                }
                None => None,
            };
            let hint = match close {
                Some(c) => format!("did you mean `{c}`? ({ALL_FORMS})"),
                None => ALL_FORMS.to_owned(),
            };
            error(format!("unknown template variable `{name}`"), hint)
        }
        [] => error(format!("unknown template variable `{name}`"), ALL_FORMS.to_owned()),
    }
}

fn known_service(scope: &Scope<'_>, svc: &str, name: &str) -> Option<Verdict> {
    if scope.services.iter().any(|s| s == svc) {
        return None;
    }
    let names: Vec<&str> = scope.services.iter().map(String::as_str).collect();
    Some(error(
        format!("unknown service `{svc}` in `{name}`"),
        suggestion(svc, &names, "services in this plan are"),
    ))
}

fn finished(owner: &Owner<'_>, svc: &str, name: &str) -> Verdict {
    let own_ok = owner.stage == Stage::AfterRun && svc == owner.name;
    if own_ok || owner.upstream.contains(svc) {
        return Verdict::Ok;
    }
    if svc == owner.name {
        return error(
            format!(
                "`{name}` refers to the service's own run, which has not finished when its inputs are rendered"
            ),
            format!("`{name}` can be used in `health` and `rollback` of `{svc}`"),
        );
    }
    error(
        format!(
            "`{name}` refers to `{svc}`, which does not run before `{}`",
            owner.name
        ),
        format!(
            "add `{svc}` to `needs` of `{}` (directly or through another service) so its run finishes first",
            owner.name
        ),
    )
}

fn check_var(scope: &Scope<'_>, key: &str, name: &str) -> Verdict {
    let (with, without): (Vec<&str>, Vec<&str>) = scope
        .env_vars
        .iter()
        .map(|(env, vars)| (*env, vars.contains(key)))
        .fold((Vec::new(), Vec::new()), |(mut w, mut wo), (env, has)| {
            if has {
                w.push(env)
            } else {
                wo.push(env)
            }
            (w, wo)
        });
    if with.is_empty() {
        let all: BTreeSet<&str> = scope.env_vars.values().flatten().copied().collect();
        let all: Vec<&str> = all.into_iter().collect();
        let envs: Vec<String> = scope.env_vars.keys().map(|e| (*e).to_owned()).collect();
        let hint = match did_you_mean(key, all.iter().copied()) {
            Some(close) => format!("did you mean `vars.{close}`?"),
            None if envs.is_empty() => "declare an environment with `vars:`".to_owned(),
            None => format!(
                "define `{key}` under `vars` of environment {}",
                quoted_list(&envs)
            ),
        };
        return error(format!("`{name}` is not defined in any environment"), hint);
    }
    if without.is_empty() {
        Verdict::Ok
    } else {
        Verdict::MissingIn(without.into_iter().map(str::to_owned).collect())
    }
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
