//! Tests only: a Python interpreter with a given package, for the tests that start a real
//! server written in Python (aiosmtpd for email, moto for S3). Looked for, in order: the
//! variable naming one, `.ci/.venv/bin/python` (which `bash .ci/run setup` creates with every
//! test tool), `target/test-venvs/<name>`, `python3`; when none can import the module, the
//! package is installed into `target/test-venvs/<name>` (a fresh clone needs only python3 and
//! the package registry). If that fails too the test FAILS with instructions: never a silent
//! skip.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::env::Env;

/// What a test needs from Python.
pub struct PythonTool {
    /// Imported to check an interpreter has it, e.g. `aiosmtpd`.
    pub module: &'static str,
    /// What pip installs, pinned (the same as `.ci/run`'s `PY_TOOLS`).
    pub package: &'static str,
    /// The venv under `target/test-venvs/`.
    pub venv: &'static str,
    /// The environment variable that may name an interpreter to use (see `env.rs`).
    pub override_var: &'static str,
}

fn can_import(python: &Path, module: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl PythonTool {
    /// An interpreter that can import the module, provisioning one when there is none.
    pub fn find_or_provision(&self) -> PathBuf {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let own_venv = workspace.join("target/test-venvs").join(self.venv);
        let candidates: Vec<PathBuf> = Env::from_process()
            .get(self.override_var)
            .map(PathBuf::from)
            .into_iter()
            .chain([
                workspace.join(".ci/.venv/bin/python"),
                own_venv.join("bin/python"),
                PathBuf::from("python3"),
            ])
            .collect();
        if let Some(found) = candidates.iter().find(|p| can_import(p, self.module)) {
            return found.clone();
        }
        self.provision(&own_venv).unwrap_or_else(|why| {
            panic!(
                "no Python with {} (tried {candidates:?}) and installing it into {} failed: \
                 {why}; run `bash .ci/run setup`, or set {} to a Python that has {}",
                self.module,
                own_venv.display(),
                self.override_var,
                self.package
            )
        })
    }

    fn provision(&self, venv: &Path) -> Result<PathBuf, String> {
        let run = |program: &Path, args: &[&str]| -> Result<(), String> {
            let out = std::process::Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("{}: {e}", program.display()))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{} {args:?} exited with {}: {}",
                    program.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        };
        let venv_arg = venv.to_string_lossy();
        run(Path::new("python3"), &["-m", "venv", &venv_arg])?;
        let python = venv.join("bin/python");
        run(
            &python,
            &[
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                self.package,
            ],
        )?;
        if can_import(&python, self.module) {
            Ok(python)
        } else {
            Err(format!("{} still cannot be imported", self.module))
        }
    }
}
