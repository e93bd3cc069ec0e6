//! Running the built binary with a controlled environment and capturing what it prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The workspace root, where the fixtures and examples live.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference plan: the packaging's example if present, else the plan fixture.
pub fn reference_plan() -> &'static str {
    if repo_root().join("examples/orchestrate.yml").exists() {
        "examples/orchestrate.yml"
    } else {
        "tests/fixtures/plans/valid/reference.yml"
    }
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    /// A finished process, which must have exited (not been killed) and printed UTF-8.
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Runs `orchestrate args…` from the repository root with exactly `env` (nothing inherited,
/// so a developer's tokens or `GITHUB_*` never leak into a test).
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_in(&repo_root(), args, env)
}

pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
        .into()
}

/// The report's entry for service `name`.
pub fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .expect("services")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

/// What the report's timeline says about service `name`, in order.
pub fn timeline_of(report: &Value, name: &str) -> Vec<String> {
    report["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["service"] == name)
        .filter_map(|e| e["what"].as_str().map(str::to_owned))
        .collect()
}
