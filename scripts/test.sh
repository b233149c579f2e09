#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests
# need first (a project-local Python venv with pyarrow for the interop
# test and SeaweedFS + moto for the S3 and KMS tests; curl and rsyslog
# from Debian as real clients of the agent), starts the local S3 and KMS,
# then runs every test of every crate. Extra arguments go to the runner.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-python.sh
./scripts/setup-debian.sh
./scripts/check-infra.sh

# One S3 (SeaweedFS) and KMS (moto) pair for the whole run, on free
# 127.0.0.1 ports, stopped on exit also when tests fail. The tests read
# its variables from $LOGSEAL_TEST_SERVICES/env and pass them on
# explicitly (each works under its own key prefix); they are not exported
# here, so that nothing else in the run is pointed at S3 by accident.
SERVICES_DIR="$(mktemp -d "${TMPDIR:-/tmp}/logseal-test-services.XXXXXX")"
stop_services() {
  infra/dev/services stop --dir "$SERVICES_DIR" >&2 || true
  rm -rf "$SERVICES_DIR"
}
trap stop_services EXIT
infra/dev/services start --dir "$SERVICES_DIR" >/dev/null
export LOGSEAL_TEST_SERVICES="$SERVICES_DIR"

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  echo "test.sh: cargo-nextest not found, using cargo test" >&2
  cargo test --workspace --no-fail-fast "$@"
fi
