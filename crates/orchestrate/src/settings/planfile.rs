//! Reading the release plan file and handing it to the core's loader. A missing or unreadable
//! file is a bad input (exit 2) with a hint, like any plan error.

use std::path::{Path, PathBuf};

use orchestrate_core::plan::{self, Loaded};

use super::problems::Problems;

/// A plan file that loaded, its text (for rendering warnings) and how messages name it.
#[derive(Debug, Clone)]
pub struct PlanFile {
    pub label: String,
    pub text: String,
    pub loaded: Loaded,
}

/// `path` resolved against `base` when it is relative (the action resolves against
/// `GITHUB_WORKSPACE`; the CLI against the current directory, i.e. no base).
pub fn resolve(path: &Path, base: Option<&Path>) -> PathBuf {
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}

/// Reads and validates the plan. `label` is how messages name the file (the path as given).
pub fn read(path: &Path, label: &str) -> Result<PlanFile, Problems> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) => {
            let mut problems = Problems::new();
            let hint = if err.kind() == std::io::ErrorKind::NotFound {
                "create it (see examples/orchestrate.yml) or pass another path (`plan` input or the PLAN argument)"
            } else {
                "check that the file is readable and UTF-8"
            };
            problems.input(
                label,
                format!("cannot read the plan `{label}`: {err}"),
                hint,
            );
            return Err(problems);
        }
    };
    match plan::load(label, &text) {
        Ok(loaded) => Ok(PlanFile {
            label: label.to_owned(),
            text,
            loaded,
        }),
        Err(diagnostics) => Err(Problems::from_diagnostics(diagnostics, &text)),
    }
}

impl PlanFile {
    /// The plan's warnings, ready to render.
    pub fn warnings(&self) -> Problems {
        Problems::from_diagnostics(self.loaded.warnings.clone(), &self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_plan_is_a_located_problem_with_a_hint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read(&dir.path().join("nope.yml"), "nope.yml").expect_err("missing");
        let text = err.render();
        assert!(text.contains("cannot read the plan `nope.yml`"), "{text}");
        assert!(text.contains("help: create it"), "{text}");
    }

    #[test]
    fn relative_paths_resolve_against_the_workspace() {
        let ws = Path::new("/github/workspace");
        assert_eq!(resolve(Path::new("p.yml"), Some(ws)), ws.join("p.yml"));
        assert_eq!(
            resolve(Path::new("/abs/p.yml"), Some(ws)),
            PathBuf::from("/abs/p.yml")
        );
        assert_eq!(resolve(Path::new("p.yml"), None), PathBuf::from("p.yml"));
    }
}
