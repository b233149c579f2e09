#!/usr/bin/env bash
# Checks the AWS Terraform in infra/aws:
#
# 1. checkov (static security analysis), from PyPI, in its own
#    project-local venv `.venv-checkov` at the repository root (pinned;
#    kept apart from `.venv` so that its many dependencies never meet
#    pyarrow/moto/boto3 there). Every failed check fails the script; a
#    check that does not apply is skipped inline in the .tf file with
#    `#checkov:skip=CKV_...:<reason>`, never here.
# 2. `terraform fmt -check`, then `terraform init -backend=false` and
#    `terraform validate` in a temporary copy, if `terraform` (or OpenTofu's
#    `tofu`) is on PATH. Neither is installed by this script: neither is
#    packaged for Debian, and PyPI and npm have only third-party wrappers
#    (that download the binary at run time, or bundle an old, unverified
#    one). `validate` also needs the AWS provider plugin, which
#    `terraform init` downloads from the Terraform (or OpenTofu) registry;
#    where that registry cannot be reached and no plugin cache or mirror
#    (TF_PLUGIN_CACHE_DIR, a CLI config's provider_installation) has the
#    provider, init fails and validation is skipped with the reason
#    printed, as is everything when no binary is found. fmt needs no
#    plugin and always runs when a binary is there.
#
# Idempotent: the venv is (re)made only when the pinned requirements
# change (a stamp file in it records them); later runs start checkov at
# once. Safe when several processes run it at once (they take turns on
# .tmp/venv-checkov.lock while setting up). Behaves the same with and
# without CI=true. Progress goes to stderr, checkov's findings to stdout.
#
# Environment: LOGSEAL_PYTHON, the interpreter to make the venv with
# (default: python3 on PATH).
set -euo pipefail

# Bump this (and only this) to change what the venv holds; the stamp then
# differs and the next run reinstalls.
REQUIREMENTS=(
    "checkov==3.3.30"
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-checkov"
STAMP="$VENV/.logseal-requirements"
LOCK="$ROOT/.tmp/venv-checkov.lock"
PYTHON="${LOGSEAL_PYTHON:-python3}"
INFRA="infra/aws"

log() { echo "check-infra: $*" >&2; }
die() { log "error: $*"; exit 1; }

wanted="$(printf '%s\n' "${REQUIREMENTS[@]}")"

setup_venv() {
    if [[ -x "$VENV/bin/checkov" && -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
        return 0
    fi
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found on PATH (set LOGSEAL_PYTHON to a Python 3 interpreter)"
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null ||
        die "$PYTHON has no working venv/ensurepip module (Debian/Ubuntu: apt-get install python3-venv, or run scripts/setup-python.sh, which installs it)"

    # The stamp goes first, so that an interrupted run is redone next time.
    rm -f "$STAMP"
    if [[ -x "$VENV/bin/python" && -f "$VENV/pyvenv.cfg" ]] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null &&
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        log "reusing $VENV; requirements changed or never completed"
    else
        [[ -e "$VENV" ]] && { log "removing broken $VENV"; rm -rf "$VENV"; }
        log "creating $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
        "$PYTHON" -m venv "$VENV" >&2 || { rm -rf "$VENV"; die "'$PYTHON -m venv $VENV' failed"; }
    fi
    log "installing ${REQUIREMENTS[*]} (a minute or two, once)"
    PIP_REQUIRE_VIRTUALENV=true "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input \
        --progress-bar off --quiet "${REQUIREMENTS[@]}" >&2 ||
        die "pip install ${REQUIREMENTS[*]} into $VENV failed (see pip's output above)"
    "$VENV/bin/checkov" --version >/dev/null || die "$VENV/bin/checkov does not run"

    echo "$wanted" >"$STAMP.tmp"
    mv "$STAMP.tmp" "$STAMP"
    log "installed $(echo "$wanted" | paste -sd' ' -) into $VENV"
}

mkdir -p "$(dirname "$LOCK")"
exec 9>"$LOCK"
if ! flock -n 9; then
    log "waiting for another check-infra.sh to finish setting up (lock $LOCK)"
    flock 9
fi
setup_venv
flock -u 9

cd "$ROOT"
[[ -d "$INFRA" ]] || die "$INFRA not found"

# checkov only counts a file it cannot parse ("Parsing errors: 1") and
# checks nothing in it, without failing; so every file is parsed first
# with checkov's own HCL parser (python-hcl2, stricter than Terraform's:
# e.g. no line break before an operator inside parentheses).
"$VENV/bin/python" - "$INFRA" <<'PY' || die "checkov cannot parse the file(s) above, so it would check nothing in them"
import pathlib, sys
import hcl2
bad = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.tf")):
    try:
        with open(path) as f:
            hcl2.load(f)
    except Exception as e:  # lark's errors carry the line and column
        bad += 1
        print(f"check-infra: {path}: {str(e).splitlines()[0]}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# --var-file: the example values turn on every optional part (the
# checkpoint mirror, the agent's crash-recovery grants); with the defaults
# checkov would not evaluate what `count = 0` leaves out. --skip-download:
# no guideline download from the vendor's platform (no network but the
# package registries here, and nothing is needed from there). --quiet
# --compact: only failed checks, without code excerpts, and the summary
# line. checkov exits 1 on any failed check.
log "checkov $("$VENV/bin/checkov" --version) on $INFRA (with $INFRA/example.tfvars)"
"$VENV/bin/checkov" -d "$INFRA" --var-file "$INFRA/example.tfvars" --framework terraform --quiet --compact \
    --skip-download --download-external-modules false ||
    die "checkov found problems in $INFRA (above); fix them, or skip a check that does not apply inline with #checkov:skip=CKV_...:<reason>"

tf=""
for candidate in terraform tofu; do
    if command -v "$candidate" >/dev/null; then
        tf="$candidate"
        break
    fi
done
if [[ -z "$tf" ]]; then
    log "terraform validate skipped: neither terraform nor tofu is on PATH (not packaged for Debian; PyPI and npm have no trustworthy package of it). checkov passed."
    exit 0
fi

export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
# A TF_CLI_CONFIG_FILE naming a missing file only adds a warning to every
# command.
if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -e "$TF_CLI_CONFIG_FILE" ]]; then
    unset TF_CLI_CONFIG_FILE
fi

version="$("$tf" version 2>/dev/null | sed -n 1p)"
log "$version: fmt -check"
"$tf" fmt -check -recursive -diff "$INFRA" >&2 ||
    die "$tf fmt: $INFRA is not formatted (run: $tf fmt -recursive $INFRA)"

work="$(mktemp -d "${TMPDIR:-/tmp}/logseal-check-infra.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp -r "$INFRA/." "$work/"
rm -rf "$work/.terraform" "$work/.terraform.lock.hcl"
log "$tf init -backend=false (in a temporary copy)"
if ! (cd "$work" && "$tf" init -backend=false -input=false -no-color >"$work/init.log" 2>&1); then
    # Only a registry that cannot be reached skips; any other init error
    # (a misspelt provider, a bad module) fails.
    unreachable='could not connect|no such host|connection refused|i/o timeout|dial tcp|network is unreachable'
    if grep -qE 'provider' "$work/init.log" && grep -qE "$unreachable" "$work/init.log"; then
        reason="$(grep -m1 -E "$unreachable" "$work/init.log" | sed 's/^[[:space:]│]*//; s/[[:space:]]*$//')"
        log "$tf validate skipped: init cannot download the AWS provider plugin (\"$reason\"): the provider registry is not reachable from here and no plugin cache or mirror has the provider. fmt and checkov passed."
        exit 0
    fi
    cat "$work/init.log" >&2
    die "$tf init -backend=false failed (above)"
fi
log "$tf validate"
(cd "$work" && "$tf" validate -no-color) >&2 || die "$tf validate failed (above)"
log "checkov, $tf fmt and $tf validate passed"
