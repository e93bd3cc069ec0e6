//! The plan as a Mermaid flowchart, each service coloured by its outcome and linked to its run.

use std::fmt::Write as _;

use super::RunReport;

/// Renders a fenced `mermaid` block for the job summary.
pub fn render(report: &RunReport) -> String {
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (i, svc) in report.services.iter().enumerate() {
        let version = match (&svc.from_version, &svc.to_version) {
            (Some(from), Some(to)) => format!("{from} → {to}"),
            (None, Some(to)) => format!("→ {to}"),
            (Some(from), None) => from.clone(),
            (None, None) => String::new(),
        };
        let mut label = label_text(&svc.name);
        if !version.is_empty() {
            let _ = write!(label, "<br/>{}", label_text(&version));
        }
        let _ = write!(label, "<br/>{}", svc.outcome.as_str());
        let shape = if svc.irreversible {
            format!("{{{{\"{label}\"}}}}")
        } else {
            format!("[\"{label}\"]")
        };
        let _ = writeln!(out, "  s{i}{shape}");
    }
    for (i, svc) in report.services.iter().enumerate() {
        for need in &svc.needs {
            if let Some(j) = report.services.iter().position(|s| &s.name == need) {
                let _ = writeln!(out, "  s{j} --> s{i}");
            }
        }
    }
    for (i, svc) in report.services.iter().enumerate() {
        if let Some(run) = &svc.run {
            let _ = writeln!(
                out,
                "  click s{i} href \"{}\" _blank",
                run.url.replace('"', "%22")
            );
        }
    }
    for (class, style) in CLASSES {
        let _ = writeln!(out, "  classDef {class} {style}");
    }
    for (i, svc) in report.services.iter().enumerate() {
        let _ = writeln!(out, "  class s{i} {}", svc.outcome.as_str());
    }
    out.push_str("```\n");
    out
}

/// Node label text: Mermaid labels are quoted, so quotes and markup must be entities.
fn label_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const CLASSES: [(&str, &str); 9] = [
    ("succeeded", "fill:#dafbe1,stroke:#1a7f37,color:#1a7f37"),
    ("failed", "fill:#ffebe9,stroke:#cf222e,color:#cf222e"),
    (
        "timed_out",
        "fill:#ffebe9,stroke:#cf222e,color:#cf222e,stroke-dasharray:4",
    ),
    ("cancelled", "fill:#eaeef2,stroke:#57606a,color:#57606a"),
    (
        "skipped",
        "fill:#f6f8fa,stroke:#8c959f,color:#8c959f,stroke-dasharray:4",
    ),
    ("rolled_back", "fill:#fff8c5,stroke:#9a6700,color:#9a6700"),
    ("halted", "fill:#fbefff,stroke:#8250df,color:#8250df"),
    (
        "not_in_release",
        "fill:#ffffff,stroke:#d0d7de,color:#57606a",
    ),
    ("planned", "fill:#ddf4ff,stroke:#0969da,color:#0969da"),
];

// Every outcome needs a class, or its nodes render unstyled.
const _: () = assert!(CLASSES.len() == 9);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ServiceOutcome;

    #[test]
    fn every_outcome_has_a_class() {
        for outcome in [
            ServiceOutcome::Succeeded,
            ServiceOutcome::Failed,
            ServiceOutcome::TimedOut,
            ServiceOutcome::Cancelled,
            ServiceOutcome::Skipped,
            ServiceOutcome::RolledBack,
            ServiceOutcome::Halted,
            ServiceOutcome::NotInRelease,
            ServiceOutcome::Planned,
        ] {
            assert!(
                CLASSES.iter().any(|(c, _)| *c == outcome.as_str()),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn labels_cannot_close_the_quote() {
        assert_eq!(label_text("a\"b<c>"), "a&quot;b&lt;c&gt;");
    }
}
