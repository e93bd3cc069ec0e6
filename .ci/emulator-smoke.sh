#!/usr/bin/env bash
# Acceptance smoke test of the GitHub emulator with curl, as an outside client sees it:
#   - a workflow dispatch answers 204, and 200 with run details when asked;
#   - old-GHES mode answers 400 `"return_run_details" is not a permitted key.`;
#   - a repeated GET with its ETag answers 304 and leaves `x-ratelimit-remaining` unchanged;
#   - an artifact download answers 302 to a URL that serves the zip without a token.
#
# Server: `orchestrate emulator --port 0 --scenario examples/scenarios/emulator-smoke.yml`
# (old-GHES mode with `--legacy-ghes`). Needs: cargo, curl, python3.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-${ROOT}/target}"
SCENARIO="${ROOT}/examples/scenarios/emulator-smoke.yml"
TOKEN="emulator-token"
REPO="octo/api"

WORK="$(mktemp -d)"
PIDS=()
# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  rm -rf "${WORK}"
}
trap cleanup EXIT

cargo build --quiet -p orchestrate --bin orchestrate
ORCHESTRATE="${TARGET_DIR}/debug/orchestrate"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# start NAME ARGS... : starts `orchestrate emulator`, sets BASE to its base URL.
start() {
  local name="$1"
  shift
  local out="${WORK}/${name}.out" err="${WORK}/${name}.err"
  "${ORCHESTRATE}" emulator --port 0 --scenario "${SCENARIO}" "$@" >"${out}" 2>"${err}" &
  local pid=$!
  PIDS+=("${pid}")
  BASE=""
  for _ in $(seq 1 100); do
    BASE="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "${out}" | head -n 1 || true)"
    [ -n "${BASE}" ] && break
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "${BASE}" ]; then
    echo "${name}: \`orchestrate emulator $*\` did not serve: $(head -c 300 "${err}" | tr '\n' ' ')" >&2
    exit 1
  fi
  echo "# ${name}: orchestrate emulator $* serving at ${BASE}"
}

# api METHOD PATH [BODY] : curl with the token; writes headers/body to files, prints the status.
api() {
  local method="$1" path="$2" body="${3:-}"
  local args=(-sS -o "${WORK}/body" -D "${WORK}/headers" -w '%{http_code}' -X "${method}"
    -H "Authorization: Bearer ${TOKEN}" -H "Accept: application/vnd.github+json"
    -H "X-GitHub-Api-Version: 2022-11-28")
  [ -n "${body}" ] && args+=(-H "Content-Type: application/json" --data "${body}")
  # curl leaves the output file alone when there is no body: start each call from empty.
  : >"${WORK}/body"
  curl "${args[@]}" "${EXTRA_HEADERS[@]}" "${BASE}${path}"
}
EXTRA_HEADERS=()
header() { grep -i "^$1:" "${WORK}/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$1)" "${WORK}/body"; }

start github
DISPATCH="/repos/${REPO}/actions/workflows/deploy.yml/dispatches"

status="$(api POST "${DISPATCH}" '{"ref":"main","inputs":{"version":"1.0.0","orchestrate_id":"smoke-a"}}')"
if [ "${status}" = 204 ] && [ ! -s "${WORK}/body" ]; then ok "dispatch answers 204 with no body"; else not_ok "dispatch answered ${status}"; fi

RUN_ID=""
status="$(api POST "${DISPATCH}" '{"ref":"main","inputs":{"version":"1.0.1","orchestrate_id":"smoke-b"},"return_run_details":true}')"
if [ "${status}" = 200 ]; then
  RUN_ID="$(json "['workflow_run_id']")"
  run_url="$(json "['run_url']")"
  if [ "${run_url}" = "${BASE}/repos/${REPO}/actions/runs/${RUN_ID}" ]; then
    ok "dispatch with return_run_details answers 200 with run ${RUN_ID}"
  else
    not_ok "run_url ${run_url}"
  fi
else
  not_ok "dispatch with return_run_details answered ${status}: $(cat "${WORK}/body")"
fi

# Wait (at most 20 s) for the run to complete so its representation, and its artifact, are final.
run_status=""
for _ in $(seq 1 80); do
  api GET "/repos/${REPO}/actions/runs/${RUN_ID}" >/dev/null
  run_status="$(json "['status']" 2>/dev/null || true)"
  [ "${run_status}" = completed ] && break
  sleep 0.25
done
if [ "${run_status}" = completed ]; then ok "run ${RUN_ID} completed"; else not_ok "run ${RUN_ID} is ${run_status}"; fi

status="$(api GET "/repos/${REPO}/actions/runs/${RUN_ID}")"
etag="$(header etag)"
remaining="$(header x-ratelimit-remaining)"
EXTRA_HEADERS=(-H "If-None-Match: ${etag}")
status_304="$(api GET "/repos/${REPO}/actions/runs/${RUN_ID}")"
EXTRA_HEADERS=()
remaining_304="$(header x-ratelimit-remaining)"
if [ "${status}" = 200 ] && [ -n "${etag}" ] && [ "${status_304}" = 304 ] && [ ! -s "${WORK}/body" ]; then
  ok "a repeated GET with its ETag answers 304 with no body"
else
  not_ok "conditional GET: ${status} then ${status_304} (etag ${etag})"
fi
if [ -n "${remaining}" ] && [ "${remaining}" = "${remaining_304}" ]; then
  ok "the 304 leaves x-ratelimit-remaining at ${remaining}"
else
  not_ok "x-ratelimit-remaining ${remaining} -> ${remaining_304} after a 304"
fi
api GET "/repos/${REPO}/actions/runs/${RUN_ID}" >/dev/null
if [ "$(header x-ratelimit-remaining)" = "$((remaining - 1))" ]; then ok "a 200 costs one request"; else not_ok "a 200 left remaining at $(header x-ratelimit-remaining)"; fi

status="$(api GET "/repos/${REPO}/actions/runs/${RUN_ID}/artifacts")"
artifact_id="$(json "['artifacts'][0]['id']" 2>/dev/null || true)"
if [ "${status}" = 200 ] && [ -n "${artifact_id}" ]; then ok "run ${RUN_ID} lists artifact ${artifact_id}"; else not_ok "artifacts answered ${status}: $(cat "${WORK}/body")"; fi
status="$(api GET "/repos/${REPO}/actions/artifacts/${artifact_id}/zip")"
location="$(header location)"
if [ "${status}" = 302 ] && [ -n "${location}" ]; then ok "artifact download answers 302"; else not_ok "artifact download answered ${status}"; fi
blob_status="$(curl -sS -o "${WORK}/artifact.zip" -w '%{http_code}' "${location}")"
magic="$(head -c 4 "${WORK}/artifact.zip" | od -An -tx1 | tr -d ' \n')"
if [ "${blob_status}" = 200 ] && [ "${magic}" = 504b0304 ]; then
  ok "the Location serves the zip without a token"
else
  not_ok "tokenless GET of ${location} answered ${blob_status} (magic ${magic})"
fi

start old-ghes --legacy-ghes
status="$(api POST "${DISPATCH}" '{"ref":"main","inputs":{"version":"1.0.0"},"return_run_details":true}')"
if [ "${status}" = 400 ] && grep -q 'return_run_details\\" is not a permitted key.' "${WORK}/body"; then
  ok "old-GHES mode answers 400 to return_run_details"
else
  not_ok "old-GHES dispatch answered ${status}: $(cat "${WORK}/body")"
fi
status="$(api POST "${DISPATCH}" '{"ref":"main","inputs":{"version":"1.0.0"}}')"
if [ "${status}" = 204 ]; then ok "old-GHES mode still answers 204 without it"; else not_ok "old-GHES plain dispatch answered ${status}"; fi

echo "${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
