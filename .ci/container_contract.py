#!/usr/bin/env python3
"""Runs the static binary the way GitHub runs the action's container, in an empty root.

The root holds only what `docker run` would give the image (github-protocol.md section 4.1):
/usr/local/bin/orchestrate, /github/workspace (the plan at .github/orchestrate.yml),
/github/file_commands/{set_output,step_summary,...}_<uuid> created empty, /github/workflow/
event.json, /github/home and /github/runner_temp. The process gets exactly a container action's
environment (`env -i` semantics): INPUT_* for every input with action.yml's defaults, GITHUB_*,
HOME, CI, GITHUB_ACTIONS; cwd /github/workspace; entrypoint `orchestrate action`.

Checked, for each dry-run case: exit code 0; GITHUB_OUTPUT parses under the runner's rules (section 4.3)
and has status=planned, every output of action.yml, and JSON `runs`/`report`; the summary is
non-empty and under 1 MiB; the token and the runtime token (ACTIONS_RUNTIME_TOKEN, passed with
ACTIONS_RESULTS_URL as the runner does: the dry run's manifest upload fails against a closed
port, a warning) never appear outside `::add-mask::`; nothing is written outside /github. A bad input (unknown environment) must exit 2 with an `::error` annotation,
still without leaking the token or writing outside /github.

Needs root (chroot). Usage: container_contract.py --binary B --plan P --action action.yml
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import uuid

TOKEN = "ghp_FAKE_container_contract_dummy_token"
# A runtime token shaped like the runner's (a JWT whose `scp` names a run and a job): the dry
# run's manifest upload goes to a closed port, so it is a warning, and the token a canary.
RUNTIME_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
    "eyJzY3AiOiJBY3Rpb25zLlJlc3VsdHM6Y2FuYXJ5LXJ1bjpjYW5hcnktam9iIn0."
    "CANARY_runtime_token_signature"
)
SUMMARY_LIMIT = 1024 * 1024
EXPECTED_VERSIONS = {"backend": "1.2.0", "android": "2.1.0", "web": "2.1.0"}


class OutputFileError(Exception):
    pass


def parse_env_file(text: str) -> dict[str, str]:
    """The runner's `EnvFileKeyValuePairs` (FileCommandManager.cs), Linux line endings."""
    lines = text.split("\n")
    # A trailing "\n" leaves one empty string after the split, which the runner also skips.
    pairs: dict[str, str] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line == "":
            continue
        eq = line.find("=")
        heredoc = line.find("<<")
        if heredoc < 0 or (0 <= eq < heredoc):
            if eq < 0:
                raise OutputFileError(f"Invalid format '{line}'")
            name, value = line[:eq], line[eq + 1 :]
            if not name:
                raise OutputFileError(f"Invalid format '{line}': name must not be empty")
            pairs[name] = value
            continue
        name, delimiter = line[:heredoc], line[heredoc + 2 :]
        if not name or not delimiter:
            raise OutputFileError(
                f"Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
            )
        value_lines: list[str] = []
        while True:
            if index >= len(lines):
                raise OutputFileError(f"Invalid value. Matching delimiter not found '{delimiter}'")
            candidate = lines[index]
            index += 1
            if candidate == delimiter:
                break
            value_lines.append(candidate)
        # A last content line without "\n" never meets its delimiter, so it fails above
        # (the runner says "EOF marker missing new line."); a closing delimiter at EOF may
        # lack its "\n".
        pairs[name] = "\n".join(value_lines)
    return pairs


def load_action(path: pathlib.Path) -> dict:
    import yaml  # only the CI venv needs PyYAML; the parser above is stdlib

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def lay_root(root: pathlib.Path, binary: pathlib.Path, plan: pathlib.Path, event: dict) -> dict[str, str]:
    """Creates the container's filesystem; returns the runner file paths by kind."""
    (root / "usr/local/bin").mkdir(parents=True)
    shutil.copy2(binary, root / "usr/local/bin/orchestrate")
    (root / "github/workspace/.github").mkdir(parents=True)
    shutil.copy2(plan, root / "github/workspace/.github/orchestrate.yml")
    for folder in ("file_commands", "workflow", "home", "runner_temp"):
        (root / "github" / folder).mkdir(parents=True, exist_ok=True)
    (root / "github/workflow/event.json").write_text(json.dumps(event), encoding="utf-8")
    files = {}
    for kind in ("set_output", "step_summary", "set_env", "add_path", "save_state"):
        name = f"/github/file_commands/{kind}_{uuid.uuid4()}"
        (root / name.lstrip("/")).touch()
        files[kind] = name
    return files


def container_env(action: dict, inputs: dict[str, str], files: dict[str, str], event_name: str) -> dict[str, str]:
    env = {}
    for name, spec in (action.get("inputs") or {}).items():
        # The runner: spaces become `_`, then upper-case; defaults included, empty when none.
        key = "INPUT_" + name.replace(" ", "_").upper()
        env[key] = inputs.get(name, str((spec or {}).get("default", "")))
    env.update(
        {
            "HOME": "/github/home",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_OUTPUT": files["set_output"],
            "GITHUB_STEP_SUMMARY": files["step_summary"],
            "GITHUB_ENV": files["set_env"],
            "GITHUB_PATH": files["add_path"],
            "GITHUB_STATE": files["save_state"],
            "GITHUB_REPOSITORY": "pratiko/release",
            "GITHUB_REPOSITORY_OWNER": "pratiko",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_RUN_NUMBER": "7",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_SERVER_URL": "https://github.com",
            # A closed local port: a dry run must not need the API; if it tries, it fails fast
            # here instead of leaving the machine.
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "GITHUB_GRAPHQL_URL": "http://127.0.0.1:9/graphql",
            "GITHUB_WORKFLOW": "Release",
            # The runner passes the Actions runtime to container actions (protocol.md 4.2).
            "ACTIONS_RUNTIME_TOKEN": RUNTIME_TOKEN,
            "ACTIONS_RESULTS_URL": "http://127.0.0.1:9/",
            "ACTIONS_RUNTIME_URL": "http://127.0.0.1:9/",
            "GITHUB_JOB": "release",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_TEMP": "/github/runner_temp",
        }
    )
    return env


def snapshot(root: pathlib.Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if not p.is_dir()
    }


def run_case(
    name: str, args, action: dict, inputs: dict[str, str], event: dict, event_name: str, expected_exit: int
) -> list[str]:
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="orchestrate-root-") as tmp:
        root = pathlib.Path(tmp)
        files = lay_root(root, pathlib.Path(args.binary), pathlib.Path(args.plan), event)
        env = container_env(action, inputs, files, event_name)
        before = snapshot(root)

        def enter_container() -> None:
            os.chroot(root)
            os.chdir("/github/workspace")

        proc = subprocess.run(
            ["/usr/local/bin/orchestrate", "action"],
            env=env,
            preexec_fn=enter_container,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
            check=False,
        )
        stdout = proc.stdout.decode("utf-8", "replace")
        stderr = proc.stderr.decode("utf-8", "replace")
        print(f"   [{name}] exit code {proc.returncode}")
        for label, text in (("stdout", stdout), ("stderr", stderr)):
            # "| " keeps the runner from executing the inner workflow commands in CI logs.
            shown = "\n".join(f"      | {line}" for line in text.splitlines()[:40])
            if shown:
                print(f"   [{name}] {label}:\n{shown}")
        if proc.returncode != expected_exit:
            problems.append(f"[{name}] exit code {proc.returncode}, expected {expected_exit}")
        if expected_exit != 0:
            # Bad input: a clear `::error` annotation, and still no leak and no stray writes.
            if not any(line.lstrip().startswith("::error") for line in stdout.splitlines()):
                problems.append(f"[{name}] no `::error` annotation on stdout for a bad input")

        output_text = (root / files["set_output"].lstrip("/")).read_text(encoding="utf-8")
        summary_bytes = (root / files["step_summary"].lstrip("/")).read_bytes()
        try:
            outputs = parse_env_file(output_text)
        except OutputFileError as err:
            problems.append(f"[{name}] GITHUB_OUTPUT does not parse under the runner's rules: {err}")
            outputs = {}
        print(f"   [{name}] outputs: {sorted(outputs)}; summary: {len(summary_bytes)} bytes")
        if expected_exit == 0:
            problems += check_outputs(name, action, outputs)
            if not summary_bytes.strip():
                problems.append(f"[{name}] the step summary is empty")
        if len(summary_bytes) >= SUMMARY_LIMIT:
            problems.append(f"[{name}] the step summary is {len(summary_bytes)} bytes, over the runner's 1 MiB")

        leaks = [
            f"{label} ({which})"
            for label, text in (
                ("stdout", "\n".join(l for l in stdout.splitlines() if not l.lstrip().startswith("::add-mask::"))),
                ("stderr", "\n".join(l for l in stderr.splitlines() if not l.lstrip().startswith("::add-mask::"))),
                ("outputs", output_text),
                ("summary", summary_bytes.decode("utf-8", "replace")),
            )
            for which, secret in (("token", TOKEN), ("runtime token", RUNTIME_TOKEN))
            if secret in text
        ]
        if leaks:
            problems.append(f"[{name}] a secret appears unmasked in: {', '.join(leaks)}")

        after = snapshot(root)
        stray = sorted(p for p in set(after) - set(before) if not p.startswith("github/"))
        changed = sorted(p for p in before if p in after and before[p] != after[p] and not p.startswith("github/"))
        if stray or changed:
            problems.append(f"[{name}] wrote outside /github: {stray + changed}")
    return problems


def check_outputs(name: str, action: dict, outputs: dict[str, str]) -> list[str]:
    problems = []
    for output in action.get("outputs") or {}:
        if output not in outputs:
            problems.append(f"[{name}] output `{output}` was not written")
    if outputs.get("status") != "planned":
        problems.append(f"[{name}] status={outputs.get('status')!r}, expected 'planned' (dry run)")
    for key in ("runs", "report"):
        if key in outputs:
            try:
                json.loads(outputs[key])
            except json.JSONDecodeError as err:
                problems.append(f"[{name}] output `{key}` is not JSON: {err}")
    try:
        report = json.loads(outputs.get("report", ""))
    except json.JSONDecodeError:
        return problems
    if report.get("environment") != "staging":
        problems.append(f"[{name}] report.environment={report.get('environment')!r}, expected 'staging'")
    if report.get("dry_run") is not True:
        problems.append(f"[{name}] report.dry_run is not true")
    versions = {s.get("name"): s.get("to_version") for s in report.get("services") or []}
    for service, version in EXPECTED_VERSIONS.items():
        if versions.get(service) != version:
            problems.append(f"[{name}] report: {service} to_version={versions.get(service)!r}, expected {version!r}")
    return problems


def self_test() -> None:
    """The parser against the runner's documented cases, so a broken parser cannot pass."""
    assert parse_env_file("a=1\n\nb<<EOF\nx\ny\nEOF\n") == {"a": "1", "b": "x\ny"}
    assert parse_env_file("a=b<<c\n") == {"a": "b<<c"}
    assert parse_env_file("a<<D\n\nD\n") == {"a": ""}
    assert parse_env_file("a<<D\nv\nD") == {"a": "v"}
    for bad in ("a<<D\nx\n", "<<D\nx\nD\n", "novalue\n"):
        try:
            parse_env_file(bad)
        except OutputFileError:
            continue
        raise AssertionError(f"parser accepted {bad!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--action", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("error: the empty-root run needs root (chroot)", file=sys.stderr)
        return 1
    self_test()
    action = load_action(pathlib.Path(args.action))

    frontends = {"android": "2.1.0", "web": "2.1.0"}
    explicit = {
        "github_token": TOKEN,
        "target_environment": "staging",
        "versions": "{backend: 1.2.0, frontend: {android: 2.1.0, web: 2.1.0}}",
        "dry_run": "true",
    }
    dispatch_event = {
        "inputs": {
            "environment": "staging",
            "backend_version": "1.2.0",
            "frontend_versions": json.dumps(frontends),
            "strategy": "canary",
            "dry_run": "true",
        },
        "ref": "refs/heads/main",
        "repository": {"full_name": "pratiko/release", "name": "release", "owner": {"login": "pratiko"}},
        "sender": {"login": "octocat"},
        "workflow": ".github/workflows/release.yml",
    }
    repo_dispatch_event = {
        "action": "release",
        "client_payload": {
            "environment": "staging",
            "backend_version": "1.2.0",
            "frontend_versions": frontends,
            "strategy": "parallel",
        },
        "repository": dispatch_event["repository"],
        "sender": dispatch_event["sender"],
    }
    bad_environment = dict(explicit, target_environment="nowhere")
    cases = [
        ("explicit inputs", explicit, {"inputs": {}}, "workflow_dispatch", 0),
        ("workflow_dispatch fallback", {"github_token": TOKEN, "dry_run": "true"}, dispatch_event, "workflow_dispatch", 0),
        ("repository_dispatch fallback", {"github_token": TOKEN, "dry_run": "true"}, repo_dispatch_event, "repository_dispatch", 0),
        ("unknown environment", bad_environment, {"inputs": {}}, "workflow_dispatch", 2),
    ]
    problems: list[str] = []
    for name, inputs, event, event_name, expected_exit in cases:
        problems += run_case(name, args, action, inputs, event, event_name, expected_exit)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"container contract: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"container contract: ok ({len(cases)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
