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

/// Whether `python` imports `module` and, when `package` is pinned (`name[extras]==x.y.z`),
/// has that very release: another one may behave differently (moto 5.2.1 answers a missing
/// bucket with `SignatureDoesNotMatch`).
fn can_import(python: &Path, module: &str, package: Option<&str>) -> bool {
    let mut script = format!("import {module}");
    if let Some((name, version)) = package.and_then(|p| p.split_once("==")) {
        let dist = name.split('[').next().unwrap_or(name);
        script.push_str(&format!(
            "\nimport importlib.metadata as m, sys\nsys.exit(m.version({dist:?}) != {version:?})"
        ));
    }
    std::process::Command::new(python)
        .args(["-c", &script])
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
        // An interpreter named by the variable is taken as it is; the others must have the
        // pinned release.
        let named = Env::from_process()
            .get(self.override_var)
            .map(|p| (PathBuf::from(p), None));
        let candidates: Vec<(PathBuf, Option<&str>)> = named
            .into_iter()
            .chain(
                [
                    workspace.join(".ci/.venv/bin/python"),
                    own_venv.join("bin/python"),
                    PathBuf::from("python3"),
                ]
                .map(|p| (p, Some(self.package))),
            )
            .collect();
        if let Some((found, _)) = candidates
            .iter()
            .find(|(p, pinned)| can_import(p, self.module, *pinned))
        {
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
        if can_import(&python, self.module, Some(self.package)) {
            Ok(python)
        } else {
            Err(format!("{} still cannot be imported", self.module))
        }
    }
}
