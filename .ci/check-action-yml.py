#!/usr/bin/env python3
"""Checks action.yml's shape, which actionlint does not validate.

- the metadata keys GitHub needs (name, description, author, branding, inputs, outputs, runs)
- runs.using == docker with a prebuilt `docker://` image (users' runners never compile Rust)
- exactly the inputs and outputs of SPEC.md section 3, snake_case, each described
- every input has its constant in the binary's env registry (`const INPUT_<NAME>: &str =
  "INPUT_<NAME>"` in crates/orchestrate/src) and the registry names no input action.yml lacks
- the example workflows that call the action pass only declared inputs, and the reusable
  pipeline re-exports every output
- workflow policy (STYLE.md): `permissions: {}` at the top, permissions per job, and every
  third-party action pinned by a full commit SHA with a `# version` comment

Usage: check-action-yml.py [REPO_ROOT]   (exit 1 with one line per problem)
"""

from __future__ import annotations

import pathlib
import re
import sys

import yaml

EXPECTED_INPUTS = {
    "github_token": None,
    "app_id": None,
    "app_private_key": None,
    "plan": ".github/orchestrate.yml",
    "target_environment": None,
    "versions": None,
    "deployment_strategy": None,
    "rollback_on_failure": "",
    "notification_channels": None,
    "dry_run": "",
    "timeout": None,
}
EXPECTED_OUTPUTS = {
    "deployment_id",
    "status",
    "runs",
    "failed_services",
    "rolled_back_services",
    "manifest_artifact_id",
    "report",
}
# https://docs.github.com/en/actions/reference/metadata-syntax -> branding.color
BRANDING_COLORS = {"white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ACTION_REF = re.compile(r"^pratiko/orchestrate@")
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)\s*(?:#\s*(\S+))?")


def check_metadata(action: dict, problems: list[str]) -> None:
    for key in ("name", "description", "author", "branding", "inputs", "outputs", "runs"):
        if not action.get(key):
            problems.append(f"action.yml: missing or empty `{key}`")
    branding = action.get("branding") or {}
    if not branding.get("icon"):
        problems.append("action.yml: branding.icon is missing")
    if branding.get("color") not in BRANDING_COLORS:
        problems.append(f"action.yml: branding.color {branding.get('color')!r} is not one of {sorted(BRANDING_COLORS)}")

    runs = action.get("runs") or {}
    if runs.get("using") != "docker":
        problems.append(f"action.yml: runs.using must be `docker`, found {runs.get('using')!r}")
    image = str(runs.get("image", ""))
    if not image.startswith("docker://"):
        problems.append(f"action.yml: runs.image must be a prebuilt `docker://` image, found {image!r}")
    for key in ("entrypoint", "args"):
        if key in runs:
            problems.append(f"action.yml: runs.{key} must not be set (the image's ENTRYPOINT is `orchestrate action`)")


def check_inputs(inputs: dict, problems: list[str]) -> None:
    for name, spec in inputs.items():
        if not SNAKE.match(name):
            problems.append(f"action.yml: input `{name}` is not snake_case")
        spec = spec or {}
        if not str(spec.get("description", "")).strip():
            problems.append(f"action.yml: input `{name}` has no description")
        if not isinstance(spec.get("required"), bool):
            problems.append(f"action.yml: input `{name}` must say `required: true|false`")
        if "default" in spec and not isinstance(spec["default"], str):
            problems.append(f"action.yml: input `{name}` default must be a quoted string, found {spec['default']!r}")
        if spec.get("required") is True and spec.get("default"):
            problems.append(f"action.yml: input `{name}` is required but has a default")
    missing = sorted(set(EXPECTED_INPUTS) - set(inputs))
    extra = sorted(set(inputs) - set(EXPECTED_INPUTS))
    if missing:
        problems.append(f"action.yml: inputs missing from SPEC section 3: {missing}")
    if extra:
        problems.append(f"action.yml: inputs not in SPEC section 3: {extra}")
    for name, default in EXPECTED_INPUTS.items():
        if default is not None and name in inputs and (inputs[name] or {}).get("default") != default:
            problems.append(f"action.yml: input `{name}` default must be {default!r}")


def check_outputs(outputs: dict, problems: list[str]) -> None:
    for name, spec in outputs.items():
        if not SNAKE.match(name):
            problems.append(f"action.yml: output `{name}` is not snake_case")
        if not str((spec or {}).get("description", "")).strip():
            problems.append(f"action.yml: output `{name}` has no description")
    if set(outputs) != EXPECTED_OUTPUTS:
        problems.append(
            f"action.yml: outputs must be exactly {sorted(EXPECTED_OUTPUTS)}, found {sorted(outputs)}"
        )


def check_binary_reads_inputs(root: pathlib.Path, inputs: dict, problems: list[str]) -> None:
    src = root / "crates" / "orchestrate" / "src"
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(src.rglob("*.rs")))
    # The registry (crates/orchestrate/src/env.rs): `pub const INPUT_X: &str = "INPUT_X";`.
    # Only those count, not doc comments or test data.
    read = set(re.findall(r'const\s+INPUT_\w+\s*:\s*&str\s*=\s*"INPUT_([^"]+)"', text))
    for name in inputs:
        if name.upper() not in read:
            problems.append(
                f"action.yml: input `{name}` is never read by the binary (no `INPUT_{name.upper()}` in {src.relative_to(root)})"
            )
    declared = {name.upper() for name in inputs}
    for env_name in sorted(read - declared):
        problems.append(f"{src.relative_to(root)}: reads `INPUT_{env_name}`, which action.yml does not declare")


def workflow_files(root: pathlib.Path) -> list[pathlib.Path]:
    """Workflow files: ours and the examples. Plans and emulator scenarios also live under
    examples/ and are not workflows, so only files with a top-level `jobs:` count."""
    candidates = sorted((root / "examples").rglob("*.yml")) + sorted((root / ".github" / "workflows").glob("*.yml"))
    return [p for p in candidates if re.search(r"^jobs:", p.read_text(encoding="utf-8"), re.MULTILINE)]


def check_callers(root: pathlib.Path, inputs: dict, outputs: dict, problems: list[str]) -> None:
    for path in workflow_files(root):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "jobs" not in doc:
            continue  # a plan, not a workflow
        rel = path.relative_to(root)
        for job_name, job in (doc.get("jobs") or {}).items():
            for step in (job or {}).get("steps") or []:
                if not ACTION_REF.match(str(step.get("uses", ""))):
                    continue
                for key in (step.get("with") or {}):
                    if key not in inputs:
                        problems.append(f"{rel}: job `{job_name}` passes unknown input `{key}` to the action")
        # PyYAML reads the bare key `on` as a boolean (YAML 1.1).
        triggers = doc.get("on", doc.get(True)) or {}
        call = triggers.get("workflow_call") if isinstance(triggers, dict) else None
        if isinstance(call, dict) and any(
            ACTION_REF.match(str(s.get("uses", "")))
            for job in (doc.get("jobs") or {}).values()
            for s in (job or {}).get("steps") or []
        ):
            missing = sorted(set(outputs) - set(call.get("outputs") or {}))
            if missing:
                problems.append(f"{rel}: reusable workflow does not re-export outputs {missing}")


def check_workflow_policy(root: pathlib.Path, problems: list[str]) -> None:
    for path in workflow_files(root):
        text = path.read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict) or "jobs" not in doc:
            continue
        rel = path.relative_to(root)
        if doc.get("permissions") != {}:
            problems.append(f"{rel}: top-level `permissions: {{}}` is missing (grant per job instead)")
        for job_name, job in (doc.get("jobs") or {}).items():
            if "uses" not in (job or {}) and "permissions" not in (job or {}):
                problems.append(f"{rel}: job `{job_name}` declares no `permissions:`")
        for number, line in enumerate(text.splitlines(), start=1):
            match = PINNED_USES.match(line)
            if not match:
                continue
            ref, comment = match.groups()
            if ref.startswith("./") or ref.startswith("docker://") or ACTION_REF.match(ref):
                continue  # local, image, or this action itself (users pin it by its major tag)
            sha = ref.rpartition("@")[2]
            if not re.fullmatch(r"[0-9a-f]{40}", sha):
                problems.append(f"{rel}:{number}: `{ref}` is not pinned by a full commit SHA")
            elif not comment:
                problems.append(f"{rel}:{number}: `{ref}` needs a `# vX.Y.Z` comment naming the pinned release")


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    action = yaml.safe_load((root / "action.yml").read_text(encoding="utf-8"))
    problems: list[str] = []
    if not isinstance(action, dict):
        print("action.yml: not a mapping")
        return 1
    check_metadata(action, problems)
    inputs = action.get("inputs") or {}
    outputs = action.get("outputs") or {}
    check_inputs(inputs, problems)
    check_outputs(outputs, problems)
    check_binary_reads_inputs(root, inputs, problems)
    check_callers(root, inputs, outputs, problems)
    check_workflow_policy(root, problems)
    for problem in problems:
        print(problem)
    if problems:
        print(f"action.yml check: {len(problems)} problem(s)")
        return 1
    print(f"action.yml check: ok ({len(inputs)} inputs, {len(outputs)} outputs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
