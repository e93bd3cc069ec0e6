#!/usr/bin/env bash
# The image's contract without a Docker engine: build the static musl binary exactly as the
# Dockerfile does, prove it is static, then run it as `orchestrate action` in an empty root
# laid out like the runner's container (see .ci/container_contract.py for the checks).
#
# Usage: .ci/container-contract.sh        (needs root, or sudo, for apt-get and chroot)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET=x86_64-unknown-linux-musl
BIN="target/${TARGET}/release/orchestrate"
PYTHON="${CI_PYTHON:-python3}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! rustup target list --installed | grep -qx "${TARGET}"; then
  echo "-- rustup target add ${TARGET}"
  rustup target add "${TARGET}"
fi

if ! command -v musl-gcc >/dev/null 2>&1; then
  echo "-- installing musl-tools (musl-gcc links ring's C code statically)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools
fi

echo "-- cargo build --release --locked --target ${TARGET} -p orchestrate (as the Dockerfile does)"
cargo build --release --locked --target "${TARGET}" -p orchestrate

echo "-- the binary must be static (FROM scratch has no libc)"
file_out="$(file -b "${BIN}")"
echo "   file: ${file_out}"
case "${file_out}" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) echo "error: ${BIN} is not statically linked" >&2; exit 1 ;;
esac
# ldd exits non-zero for static binaries on some libcs; its words are what matter.
ldd_out="$(ldd "${BIN}" 2>&1 || true)"
echo "   ldd: ${ldd_out}"
case "${ldd_out}" in
  *"statically linked"* | *"not a dynamic executable"*) ;;
  *) echo "error: ldd reports shared libraries for ${BIN}" >&2; exit 1 ;;
esac

echo "-- running it in an empty root with the runner's container environment"
as_root "${PYTHON}" .ci/container_contract.py --binary "${BIN}" --plan examples/orchestrate.yml --action action.yml
