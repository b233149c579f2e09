#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests
# need first (a project-local Python venv with pyarrow for the interop
# test; curl and rsyslog from Debian as real clients of the agent), then
# every test of every crate. Extra arguments go to the runner.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-python.sh
./scripts/setup-debian.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "test.sh: cargo-nextest not found, using cargo test" >&2
  cargo test --workspace --no-fail-fast "$@"
fi
