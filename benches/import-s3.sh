#!/usr/bin/env bash
# `logseal import` into S3 (SeaweedFS on 127.0.0.1, from infra/dev/services)
# next to `logseal import` into the local store, same file, same run.
#
#   benches/import-s3.sh [ROUNDS]     # default 3; runs alternate local/S3
#
# Input: target/bench/work/input/combined-1000000.log (made by
# `benches/run.sh`). Figure: records/s of the whole process (wall time);
# target: S3 >= 0.8x local. Starts its own services instance in
# target/bench/import-s3/services and stops it on exit (also on failure).
set -euo pipefail

ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INPUT=$ROOT/target/bench/work/input/combined-1000000.log
WORK=$ROOT/target/bench/import-s3
BIN=$ROOT/target/release/logseal
[[ -f $INPUT ]] || { echo "missing $INPUT (run benches/run.sh once first)" >&2; exit 2; }
(cd "$ROOT" && cargo build --release -q -p logseal-cli)
rm -rf "$WORK" && mkdir -p "$WORK/services"
trap '"$ROOT/infra/dev/services" stop --dir "$WORK/services" >&2 || true' EXIT
"$ROOT/infra/dev/services" start --dir "$WORK/services" >/dev/null
S3_VARS=()
while read -r line; do
    [[ $line == "export LOGSEAL_"* ]] || S3_VARS+=("${line#export }")
done <"$WORK/services/env"
STORE=$(grep '^export LOGSEAL_STORE=' "$WORK/services/env" | cut -d= -f2)
N=$(wc -l <"$INPUT")

# run KIND ROUND: prints the wall seconds of one import.
run() {
    local kind=$1 round=$2 dir=$WORK/$1-$2 t0 t1
    "$BIN" init --data-dir "$dir" >/dev/null
    local args=(import --data-dir "$dir" "$INPUT")
    [[ $kind == s3 ]] && args+=(--store "$STORE/bench-$round")
    t0=$(date +%s.%N)
    env -u LOGSEAL_STORE "${S3_VARS[@]}" "$BIN" "${args[@]}" >/dev/null
    t1=$(date +%s.%N)
    rm -rf "$dir"
    echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

echo "$(nproc) cores, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), $N lines, commit $(git -C "$ROOT" rev-parse --short HEAD)"
LOCAL=() S3=()
for round in $(seq "$ROUNDS"); do
    l=$(run local "$round") s=$(run s3 "$round")
    LOCAL+=("$l") S3+=("$s")
    echo "round $round: local $l s ($(awk -v n="$N" -v t="$l" 'BEGIN { printf "%.0f", n / t }') rec/s), s3 $s s ($(awk -v n="$N" -v t="$s" 'BEGIN { printf "%.0f", n / t }') rec/s)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ml=$(median "${LOCAL[@]}") ms=$(median "${S3[@]}")
awk -v n="$N" -v l="$ml" -v s="$ms" 'BEGIN {
    printf "median: local %.0f rec/s, S3 %.0f rec/s: S3/local = %.2fx (target >= 0.8x: %s)\n",
        n / l, n / s, l / s, (l / s >= 0.8 ? "pass" : "FAIL") }'
