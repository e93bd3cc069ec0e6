//! `orchestrate emulator --scenario S`: the scenario's `deployed:` versions are in the registry
//! by the time the URL is printed (read back with `orchestrate status`), and a scenario that
//! seeds versions without a plan to place them is bad input naming `--plan`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use orchestrate_emulator::DEFAULT_TOKEN;

use crate::support::{reference_plan, repo_root, run};

/// The emulator process this test started; killed (by its own handle) however the test ends.
/// Its stdout stays open: a closed pipe would stop it at its next line.
pub(crate) struct Served(Child, BufReader<ChildStdout>);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `orchestrate emulator --port 0 args…` and returns it with the URL it printed.
pub(crate) fn serve(args: &[&str]) -> (Served, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchestrate"))
        .args(["emulator", "--port", "0"])
        .args(args)
        .current_dir(repo_root())
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut served = Served(child, BufReader::new(stdout));
    let mut line = String::new();
    served.1.read_line(&mut line).expect("a line");
    let url = line
        .trim()
        .strip_prefix("emulator listening on ")
        .unwrap_or_else(|| panic!("the emulator printed its URL first: {line}"))
        .to_owned();
    (served, url)
}

#[test]
fn the_emulator_seeds_the_scenarios_deployed_versions_before_announcing_itself() {
    let (_served, url) = serve(&["--scenario", "happy", "--plan", reference_plan()]);
    let status = run(
        &["status", reference_plan(), "--env", "staging"],
        &[
            ("GITHUB_API_URL", url.as_str()),
            ("ORCHESTRATE_TOKEN", DEFAULT_TOKEN),
        ],
    );
    assert_eq!(status.code, 0, "{status:?}");
    let line = |service: &str| {
        status
            .stdout
            .lines()
            .find(|l| l.contains(service))
            .unwrap_or_else(|| panic!("no {service}: {}", status.stdout))
            .to_owned()
    };
    // happy.yml: `deployed: { backend: 1.2.0, android: 2.0.0, … }`.
    assert!(line("backend").contains("1.2.0"), "{}", status.stdout);
    assert!(line("android").contains("2.0.0"), "{}", status.stdout);
}

#[test]
fn seeding_without_a_plan_is_bad_input_naming_the_flag() {
    let out = run(
        &[
            "emulator",
            "--port",
            "0",
            "--scenario",
            "happy",
            "--plan",
            "no/such/plan.yml",
        ],
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--plan"), "{}", out.stderr);
}
