//! Bad-input reports: diagnostics (from the core's plan and versions parsers, or our own input
//! checks) each kept with the text it points into, rendered like a compiler. Always exit 2.

use orchestrate_core::plan::{Diagnostic, render_diagnostics};

/// One diagnostic and the source it points into (the plan file, the `versions` text, or
/// nothing for a problem with a whole input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub diagnostic: Diagnostic,
    pub source: String,
}

/// Every problem found before anything is dispatched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    items: Vec<Problem>,
}

impl Problems {
    pub fn new() -> Problems {
        Problems::default()
    }

    /// Diagnostics that all point into `source`.
    pub fn from_diagnostics(diagnostics: Vec<Diagnostic>, source: &str) -> Problems {
        let mut problems = Problems::new();
        problems.extend(diagnostics, source);
        problems
    }

    pub fn extend(&mut self, diagnostics: Vec<Diagnostic>, source: &str) {
        self.items
            .extend(diagnostics.into_iter().map(|diagnostic| Problem {
                diagnostic,
                source: source.to_owned(),
            }));
    }

    /// A problem with a whole input: `location` says where it came from (`--env`,
    /// `input target_environment`, ...).
    pub fn input(&mut self, location: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.items.push(Problem {
            diagnostic: Diagnostic::unlocated(location, message).with_hint(hint),
            source: String::new(),
        });
    }

    pub fn append(&mut self, other: Problems) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|p| p.diagnostic.is_error())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.items.iter()
    }

    /// `Err(self)` when any problem is an error, so `?` stops before dispatching.
    pub fn into_result(self) -> Result<(), Problems> {
        if self.has_errors() { Err(self) } else { Ok(()) }
    }

    /// All problems, compiler style, separated by blank lines.
    pub fn render(&self) -> String {
        let parts: Vec<String> = self
            .items
            .iter()
            .map(|p| render_diagnostics(std::slice::from_ref(&p.diagnostic), &p.source))
            .collect();
        parts.join("\n")
    }

    /// `error: N problems` style closing line, cargo-deny fashion.
    pub fn summary_line(&self) -> String {
        let errors = self
            .items
            .iter()
            .filter(|p| p.diagnostic.is_error())
            .count();
        let warnings = self.items.len() - errors;
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        match (errors, warnings) {
            (0, 0) => "no problems".to_owned(),
            (e, 0) => plural(e, "error"),
            (0, w) => plural(w, "warning"),
            (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrate_core::plan::Span;

    #[test]
    fn renders_each_problem_against_its_own_source() {
        let mut problems = Problems::new();
        problems.extend(
            vec![
                Diagnostic::error("versions", Span::new(1, 10, 3), "bad version `x.y`")
                    .with_hint("use semver"),
            ],
            "{backend: x.y}",
        );
        problems.input(
            "--env",
            "environment `prod` is not in the plan",
            "did you mean `production`?",
        );
        let text = problems.render();
        assert!(text.contains("1 | {backend: x.y}"), "{text}");
        assert!(text.contains("--> --env"), "{text}");
        assert!(
            text.contains("= help: did you mean `production`?"),
            "{text}"
        );
        assert!(problems.has_errors());
        assert_eq!(problems.summary_line(), "2 errors");
    }

    #[test]
    fn warnings_alone_do_not_stop_anything() {
        let problems = Problems::from_diagnostics(
            vec![Diagnostic::warning("p.yml", Span::start(), "odd")],
            "x",
        );
        assert!(!problems.has_errors());
        assert_eq!(problems.summary_line(), "1 warning");
        assert!(problems.into_result().is_ok());
    }
}
