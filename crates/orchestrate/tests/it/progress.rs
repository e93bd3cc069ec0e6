//! `orchestrate run`'s progress on stderr: plain lines, one per state change and without
//! terminal codes when stderr is not a terminal (a pipe, the Actions log); one live line per
//! service on a terminal, driven here in a detached tmux pane and read back from its screen.

use std::process::Command;
use std::time::{Duration, Instant};

use orchestrate_emulator::DEFAULT_TOKEN;

use crate::engine_github::{VERSIONS, emulator, run_release, workspace_with};

/// `(service, state)` of each progress line about a service, in order.
fn states(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('[')?.split_once("] ")?.1;
            let (service, rest) = rest.split_once(' ')?;
            let rest = rest.trim_start();
            let state = rest.get(..16).unwrap_or(rest).trim();
            Some((service.to_owned(), state.to_owned()))
        })
        .filter(|(service, _)| service == "backend" || service == "web")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_one_plain_line_per_state_change_when_stderr_is_not_a_terminal() {
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    let out = run_release(&emu, DEFAULT_TOKEN, &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stderr.contains('\x1b'),
        "no terminal codes: {:?}",
        out.stderr
    );
    let states = states(&out.stderr);
    let of = |name: &str| -> Vec<&str> {
        states
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, state)| state.as_str())
            .collect()
    };
    assert_eq!(
        of("backend"),
        [
            "dispatching",
            "dispatched",
            "running",
            "run succeeded",
            "checking health",
            "verified"
        ],
        "{}",
        out.stderr
    );
    assert_eq!(
        of("web"),
        ["dispatching", "dispatched", "running", "run succeeded"],
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.lines().any(|l| l.ends_with("release succeeded")),
        "{}",
        out.stderr
    );
}

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux runs")
}

/// Kills the test's own tmux server (its private socket) however the test ends.
struct TmuxServer(String);

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let _ = tmux(&self.0, &["kill-server"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::print_stderr,
    reason = "a test that cannot run here says so in the test output"
)]
async fn run_on_a_terminal_shows_a_live_line_per_service() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux is not installed; the live display is not tested");
        return;
    }
    let emu = emulator(Duration::from_secs(4), 10.0, Vec::new()).await;
    let dir = workspace_with(&emu, crate::engine_github::PLAN);
    let socket = format!("orchestrate-it-{}", std::process::id());
    let server = TmuxServer(socket.clone());
    let script = format!(
        "'{}' run --env staging --versions '{VERSIONS}' >/dev/null; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_orchestrate")
    );
    let api = format!("GITHUB_API_URL={}", emu.base_url());
    let token = format!("ORCHESTRATE_TOKEN={DEFAULT_TOKEN}");
    let cwd = dir.path().to_str().expect("utf-8").to_owned();
    let started = tmux(
        &socket,
        &[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "it",
            "-x",
            "160",
            "-y",
            "40",
            "-c",
            &cwd,
            "-e",
            &api,
            "-e",
            &token,
            "-e",
            "GITHUB_REPOSITORY=acme/release",
            "-e",
            "TERM=xterm-256color",
            &script,
        ],
    );
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let capture = tmux(&socket, &["capture-pane", "-p", "-t", "it"]);
        let screen = String::from_utf8_lossy(&capture.stdout).into_owned();
        if screen.contains("EXIT=") || Instant::now() > deadline {
            break screen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    drop(server);
    assert!(screen.contains("EXIT=0"), "{screen}");
    // The live lines: `<spinner> <service> <state> …`, not the plain `[clock] service …` form.
    let live = |service: &str, state: &str| {
        screen.lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with('[') && l.contains(service) && l.contains(state)
        })
    };
    assert!(live("backend", "verified"), "{screen}");
    assert!(live("web", "run succeeded"), "{screen}");
}
