#!/usr/bin/env bash
# Runs GitHub's own Node clients (@actions/artifact, @octokit/rest) against the emulator:
# builds and starts `serve_for_node`, reads the environment it prints, runs each check script
# against it (rust-interop.mjs with orchestrate's own Rust clients too), and stops it. Then
# rehearses examples/orchestrate.yml (happy, and android-upload-fails with its rollback) with
# `--serve-after`, and checks the manifest each release uploaded (rehearsal/manifest.mjs).
# Exits non-zero when any check fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"

cd "${HERE}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

cargo build --quiet --manifest-path "${ROOT}/Cargo.toml" -p orchestrate-emulator --example serve_for_node
cargo build --quiet --manifest-path "${ROOT}/Cargo.toml" -p orchestrate-github --example artifact_interop
cargo build --quiet --manifest-path "${ROOT}/Cargo.toml" -p orchestrate --bin orchestrate
export ARTIFACT_INTEROP="${TARGET_DIR}/debug/examples/artifact_interop"

WORK="$(mktemp -d)"
SERVER_PID=""
# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  if [ -n "${SERVER_PID}" ]; then
    kill "${SERVER_PID}" 2>/dev/null || true
    wait "${SERVER_PID}" 2>/dev/null || true
  fi
  rm -rf "${WORK}"
}
trap cleanup EXIT

"${TARGET_DIR}/debug/examples/serve_for_node" >"${WORK}/server.out" 2>"${WORK}/server.err" &
SERVER_PID=$!

for _ in $(seq 1 200); do
  [ -s "${WORK}/server.out" ] && break
  if ! kill -0 "${SERVER_PID}" 2>/dev/null; then
    echo "emulator exited before it was ready:" >&2
    cat "${WORK}/server.err" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -s "${WORK}/server.out" ]; then
  echo "emulator did not print its environment within 20 s" >&2
  exit 1
fi

# The JSON line becomes an env file (KEY=VALUE per line) for `node --env-file`.
# shellcheck disable=SC2016 # the single-quoted text is JavaScript, not shell
node -e '
  const line = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0];
  for (const [key, value] of Object.entries(JSON.parse(line))) console.log(`${key}=${value}`);
' "${WORK}/server.out" >"${WORK}/emulator.env"

status=0
# Every check script here runs against the same emulator (add new ones as *.mjs).
for script in *.mjs; do
  echo "== ${script}"
  node --env-file="${WORK}/emulator.env" "${script}" || status=1
done
kill "${SERVER_PID}" 2>/dev/null || true
wait "${SERVER_PID}" 2>/dev/null || true
SERVER_PID=""

# A rehearsal that stays up after its release, its orchestrating run's environment in a file.
rehearse_and_check() {
  local scenario="$1" expect_rollback="$2" env_file="${WORK}/${1}.env"
  echo "== rehearsal/manifest.mjs (rehearse --scenario ${scenario})"
  "${TARGET_DIR}/debug/orchestrate" rehearse "${ROOT}/examples/orchestrate.yml" --scenario "${scenario}" \
    --serve-after "${env_file}" >"${WORK}/${scenario}.out" 2>"${WORK}/${scenario}.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    [ -s "${env_file}" ] && break
    if ! kill -0 "${SERVER_PID}" 2>/dev/null; then
      echo "rehearsal exited before it served:" >&2
      cat "${WORK}/${scenario}.err" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ ! -s "${env_file}" ]; then
    echo "rehearsal did not write its environment within 60 s" >&2
    return 1
  fi
  local rc=0
  EXPECT_ROLLBACK="${expect_rollback}" node --env-file="${env_file}" rehearsal/manifest.mjs || rc=1
  kill -INT "${SERVER_PID}" 2>/dev/null || true
  wait "${SERVER_PID}" 2>/dev/null || true
  SERVER_PID=""
  return "${rc}"
}
rehearse_and_check happy 0 || status=1
rehearse_and_check android-upload-fails 1 || status=1
exit "${status}"
