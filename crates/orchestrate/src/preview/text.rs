//! The human-readable form of a [`Preview`], printed by `orchestrate plan`. Pure: returns a
//! string; the caller's sink redacts and prints it.

use std::fmt::Write as _;

use orchestrate_core::report::CompatStatus;

use super::{Preview, Step};

fn strategy_name(p: &Preview) -> &'static str {
    match p.strategy {
        orchestrate_core::plan::Strategy::Sequential => "sequential",
        orchestrate_core::plan::Strategy::Parallel => "parallel",
        orchestrate_core::plan::Strategy::Canary => "canary",
    }
}

pub fn render(p: &Preview) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; results are ignored on purpose below.
    let _ = writeln!(
        out,
        "plan `{}` ({}) -> environment `{}`, strategy {}, max_parallel {}{}",
        p.plan,
        p.file,
        p.environment,
        strategy_name(p),
        p.max_parallel,
        if p.dry_run { " (dry run)" } else { "" }
    );
    let set: Vec<String> = p
        .release_set
        .iter()
        .map(|(s, v)| format!("{s} {v}"))
        .collect();
    let _ = writeln!(out, "release set: {}", set.join(", "));
    if !p.not_in_release.is_empty() {
        let _ = writeln!(
            out,
            "not in the release: {} (needs on them are met by what is deployed)",
            p.not_in_release.join(", ")
        );
    }
    if p.lock {
        let _ = writeln!(
            out,
            "lock: `{}` is locked for the length of the release",
            p.environment
        );
    }
    out.push_str("\nwaves:\n");
    for step in &p.steps {
        match step {
            Step::Wave { number, services } => {
                let _ = writeln!(out, "  {number}. {}", services.join(", "));
            }
            Step::Bake { duration } => {
                let _ = writeln!(
                    out,
                    "     canary gate: health checks pass, then bake {}",
                    humantime::format_duration(*duration)
                );
            }
        }
    }
    out.push_str("\nservices:\n");
    for s in &p.services {
        let mut flags = Vec::new();
        if s.irreversible {
            flags.push("irreversible: halted on failure, never rolled back");
        }
        let _ = writeln!(
            out,
            "  {} {} -> {} {}@{}{}",
            s.name,
            s.version,
            s.repo,
            s.workflow,
            s.git_ref,
            if flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", flags.join("; "))
            }
        );
        if !s.needs.is_empty() {
            let _ = writeln!(out, "    needs: {}", s.needs.join(", "));
        }
        for (k, v) in &s.inputs {
            let _ = writeln!(out, "    input {k}: {v}");
        }
        if let Some(url) = &s.health_url {
            let _ = writeln!(out, "    health: {url}");
        }
        if let Some(rollback) = &s.rollback {
            let _ = writeln!(out, "    rollback: {rollback}");
        }
    }
    if !p.compatibility.is_empty() {
        out.push_str("\ncompatibility:\n");
        for c in &p.compatibility {
            let verdict = match (&c.status, &c.against) {
                (CompatStatus::Ok, Some(v)) => format!("ok ({v})"),
                (CompatStatus::Violated, Some(v)) => format!("VIOLATED ({v})"),
                _ => "checked against the deployed version at run time".to_owned(),
            };
            let state = c
                .state
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} requires {} {}{state}: {verdict}",
                c.service, c.requires, c.range
            );
        }
    }
    if !p.irreversible.is_empty() {
        let _ = writeln!(out, "\nirreversible: {}", p.irreversible.join(", "));
    }
    out
}
