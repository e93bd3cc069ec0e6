//! Evaluates the `${{ … }}` expressions a workflow's `run-name` (and scripted artifact files)
//! may contain, from the context of one dispatched run.

use std::collections::BTreeMap;

/// What an expression can reference.
#[derive(Debug, Clone, Default)]
pub struct TemplateContext {
    /// `inputs.*` / `github.event.inputs.*` (workflow_dispatch).
    pub inputs: BTreeMap<String, String>,
    /// `github.event.client_payload.*` (repository_dispatch), top-level values as strings.
    pub client_payload: BTreeMap<String, String>,
    /// `github.event_name`.
    pub event_name: String,
    /// `github.ref_name`.
    pub ref_name: String,
    /// `github.actor`.
    pub actor: String,
    /// `github.run_number`.
    pub run_number: u64,
    /// `github.event.action` (the repository_dispatch event type).
    pub event_type: String,
}

/// Replaces every `${{ expr }}` in `template`. Unknown references evaluate to the empty string,
/// as they do on GitHub; `a || b` falls back to `b` when `a` is empty.
pub fn render(template: &str, ctx: &TemplateContext) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&evaluate(after[..end].trim(), ctx));
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn evaluate(expr: &str, ctx: &TemplateContext) -> String {
    expr.split("||")
        .map(|alt| lookup(alt.trim(), ctx))
        .find(|value| !value.is_empty())
        .unwrap_or_default()
}

fn lookup(reference: &str, ctx: &TemplateContext) -> String {
    if let Some(literal) = reference
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
    {
        return literal.replace("''", "'");
    }
    let field =
        |map: &BTreeMap<String, String>, key: &str| map.get(key).cloned().unwrap_or_default();
    if let Some(name) = reference.strip_prefix("inputs.") {
        return field(&ctx.inputs, name);
    }
    if let Some(name) = reference.strip_prefix("github.event.inputs.") {
        return field(&ctx.inputs, name);
    }
    if let Some(name) = reference.strip_prefix("github.event.client_payload.") {
        return field(&ctx.client_payload, name);
    }
    match reference {
        "github.event_name" => ctx.event_name.clone(),
        "github.ref_name" => ctx.ref_name.clone(),
        "github.actor" | "github.triggering_actor" => ctx.actor.clone(),
        "github.run_number" => ctx.run_number.to_string(),
        "github.event.action" => ctx.event_type.clone(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_inputs_payload_and_fallbacks() {
        let mut ctx = TemplateContext {
            event_name: "workflow_dispatch".into(),
            ..TemplateContext::default()
        };
        ctx.inputs.insert("version".into(), "1.2.3".into());
        ctx.inputs.insert("orchestrate_id".into(), "abc".into());
        let out = render(
            "Deploy ${{ inputs.version }} [${{inputs.orchestrate_id}}]",
            &ctx,
        );
        assert_eq!(out, "Deploy 1.2.3 [abc]");
        assert_eq!(render("${{ inputs.missing || 'none' }}", &ctx), "none");
        assert_eq!(
            render("${{ github.event_name }} ${{ x", &ctx),
            "workflow_dispatch ${{ x"
        );
    }
}
