//! The release plan: the raw file shape, validation into a [`Plan`], templates, and the
//! `versions` input.
//!
//! Reading goes in three steps, each collecting every problem it can find:
//! `yaml` (a located tree from `granit-parser` events) → `raw` (shape, keys, types) →
//! `validate` (meaning). [`load`] runs them and returns the plan or all diagnostics.

mod decode;
mod diag;
mod graph;
mod model;
pub mod raw;
pub mod raw_notify;
mod rules;
mod schema;
mod service;
pub mod store;
mod template;
mod validate;
mod variables;
mod versions;
mod yaml;

pub use decode::{Spanned, Text};
pub use diag::{Diagnostic, Level, Span, did_you_mean, render_diagnostics};
pub use model::*;
pub use schema::{SCHEMA_URL, plan_schema, plan_schema_text};
pub use store::StoreConfig;
pub use template::{Placeholder, Template, TemplateError, Vars};
pub use versions::{ReleaseSet, parse_versions};

/// A plan that passed validation, and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub plan: Plan,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates the plan in `text`; `file` is used in messages only.
///
/// On failure returns every diagnostic (errors and warnings), sorted by position.
pub fn load(file: &str, text: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let root = match yaml::parse(file, text) {
        Ok(Some(root)) if !root.is_null() => root,
        Ok(_) => {
            return Err(vec![
                Diagnostic::error(file, Span::start(), "the plan file is empty")
                    .with_hint("start from `version: 1`, `name:`, `environments:` and `services:` (see the README)"),
            ]);
        }
        Err(diag) => return Err(vec![*diag]),
    };
    let mut ctx = decode::Ctx::new(file);
    let raw = raw::read_plan(&mut ctx, &root);
    let plan = validate::validate(&mut ctx, &raw);
    let mut diags = ctx.diags;
    diags.sort_by_key(|d| (d.line, d.column));
    match plan {
        Some(plan) if !diags.iter().any(Diagnostic::is_error) => Ok(Loaded {
            plan,
            warnings: diags,
        }),
        _ => Err(diags),
    }
}

/// The plan file's data as JSON, as an editor or a JSON Schema validator sees it (YAML 1.2, merge
/// keys applied; `null` for an empty file): what [`plan_schema`] describes.
pub fn plan_data(file: &str, text: &str) -> Result<serde_json::Value, Box<Diagnostic>> {
    Ok(yaml::parse(file, text)?.map_or(serde_json::Value::Null, |root| yaml::to_json(&root)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaded_templates_render_with_their_variables() {
        let text = "version: 1\nname: p\nenvironments: {staging: {vars: {api: https://x}}}\nservices:\n  api:\n    repo: a/b\n    workflow: d.yml\n    inputs: {url: \"{{ vars.api }}/v{{version}}\", replicas: 3}\n";
        let loaded = load("plan.yml", text).expect("valid");
        let svc = loaded.plan.service("api").expect("declared");
        let vars = Vars::from([
            ("vars.api".to_owned(), "https://x".to_owned()),
            ("version".to_owned(), "1.0.0".to_owned()),
        ]);
        let url = svc
            .inputs
            .get("url")
            .expect("declared")
            .render(&vars)
            .expect("renders");
        assert_eq!(url, "https://x/v1.0.0");
        // A number in YAML is an input value as written.
        assert_eq!(svc.inputs.get("replicas").expect("declared").source(), "3");
    }

    #[test]
    fn the_approval_timeout_comes_from_the_service_then_the_environment_then_a_day() {
        let text = "version: 1\nname: p\nenvironments: {staging: {}, production: {approval_timeout: 2h}}\nservices:\n  a: {repo: x/y, workflow: d.yml}\n  b: {repo: x/y, workflow: d.yml, approval_timeout: 30m, auto_approve: true}\n";
        let plan = load("plan.yml", text).expect("valid").plan;
        let (a, b) = (plan.service("a").expect("a"), plan.service("b").expect("b"));
        let env = |name: &str| plan.environments.get(name);
        let hours = |h: u64| std::time::Duration::from_secs(h * 3600);
        assert_eq!(a.approval_timeout_in(env("production")), hours(2));
        assert_eq!(a.approval_timeout_in(env("staging")), hours(24));
        assert_eq!(
            b.approval_timeout_in(env("production")),
            std::time::Duration::from_secs(1800)
        );
        assert!(b.auto_approve && !a.auto_approve);
    }

    #[test]
    fn diagnostics_come_sorted_by_position() {
        let text = "version: 3\nname: p\nenvironments: {staging: {}}\nservices:\n  a: {repo: x, workflow: d.yml, needs: [zz]}\nbogus: 1\n";
        let diags = load("plan.yml", text).expect_err("invalid");
        let positions: Vec<(usize, usize)> = diags.iter().map(|d| (d.line, d.column)).collect();
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(positions, sorted);
        assert_eq!(diags.len(), 4, "{diags:#?}");
    }
}
