#!/usr/bin/env bash
# Runs GitHub's own Node clients (@actions/artifact, @octokit/rest) against the emulator:
# builds and starts `serve_for_node`, reads the environment it prints, runs each check script
# against it, and stops it. Exits non-zero when any check fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "${HERE}/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"

cd "${HERE}"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

cargo build --quiet --manifest-path "${ROOT}/Cargo.toml" -p orchestrate-emulator --example serve_for_node

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
exit "${status}"
