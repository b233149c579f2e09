#!/usr/bin/env bash
# logseal benchmarks: each figure is printed next to a reference measured in
# the same run on the same data, so that a busy machine slows both.
#
#   benches/run.sh                 # everything, full sizes (~7 min, ~3.5 GB in target/bench/)
#   benches/run.sh --quick         # smaller sizes, a smoke run (pass/fail not meaningful)
#   benches/run.sh --only verify   # one of: import bytes verify deep state json
#
# Every timed command runs RUNS (3) times and the median is reported, with
# the 1-minute load average taken just before the first run. Wall time comes
# from `date +%s.%N` (better than 10 ms), peak memory from `/usr/bin/time -f %M`.
# Work files go to target/bench/work/ (wiped at start); nothing is appended
# to benches/RESULTS.md: copy the table by hand.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=target/release
WORK=target/bench/work
LOGS=$WORK/logs
RUNS=3
SEED=42

ARGS="$*"
QUICK=0
ONLY=all
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --only)
            ONLY=${2:-}
            case $ONLY in import | bytes | verify | deep | state | json) ;; *)
                echo "--only takes one of: import bytes verify deep state json" >&2
                exit 2
                ;;
            esac
            shift
            ;;
        -h | --help)
            sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $1 (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

if [[ $QUICK == 1 ]]; then
    IMPORT_LINES=100000  # import, bytes
    STORE_LINES=1000000  # verify, deep, state
    JSON_LINES=100000
else
    IMPORT_LINES=1000000
    STORE_LINES=10000000
    JSON_LINES=1000000
fi

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*"; }
# Prints a command exactly as it is run (shell-quoted).
show() {
    printf '  +'
    printf ' %q' "$@"
    printf '\n'
}
# awk arithmetic: calc '1/3' -> 0.333333; calc '%.1f' '1/3' -> 0.3
calc() {
    if [[ $# == 2 ]]; then awk "BEGIN { printf \"$1\", $2 }"; else awk "BEGIN { printf \"%.6g\", $1 }"; fi
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
sum_sizes() { if [[ $# == 0 ]]; then echo 0; else stat -c %s "$@" | awk '{ s += $1 } END { print s + 0 }'; fi; }

# time_cmd NAME STDOUT_FILE CMD...: runs CMD once, stdout to STDOUT_FILE and
# stderr to $LOGS/NAME.err; sets T_SEC (wall seconds) and T_RSS (peak KB).
time_cmd() {
    local name=$1 out=$2 t0 t1
    shift 2
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f '%M' -o "$LOGS/$name.rss" "$@" >"$out" 2>"$LOGS/$name.err"; then
        say "FAILED: $*" >&2
        cat "$LOGS/$name.err" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    T_SEC=$(calc '%.4f' "$t1 - $t0")
    T_RSS=$(tail -n 1 "$LOGS/$name.rss")
}

# repeat NAME STDOUT_FILE CMD...: RUNS timed runs; sets SECS=(...) RSSS=(...)
# and MED_SEC / MED_RSS, LOAD (1-min load average before the first run).
repeat() {
    local name=$1 out=$2 i
    shift 2
    show "$@"
    LOAD=$(load1)
    SECS=() RSSS=()
    for ((i = 1; i <= RUNS; i++)); do
        time_cmd "$name-$i" "$out" "$@"
        SECS+=("$T_SEC") RSSS+=("$T_RSS")
    done
    MED_SEC=$(median "${SECS[@]}")
    MED_RSS=$(median "${RSSS[@]}")
    say "    runs: ${SECS[*]} s (median $MED_SEC s), peak RSS median $((MED_RSS / 1024)) MB, load before: $LOAD"
}

# Results table rows: name|figure|reference|ratio|target|result|load|peak RSS
ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5|$6|$7|${8:--}"); }
mb() { echo "$(($1 / 1024)) MB"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo pass; else echo FAIL; fi; }

want() { [[ $ONLY == all || $ONLY == "$1" ]]; }

# ------------------------------------------------------------ inputs/stores

# input FORMAT LINES: sets INPUT to the generated log text (generated once
# per run; the generator is seeded, so the bytes are the same every run).
input() {
    INPUT="$WORK/input/$1-$2.log"
    if [[ ! -f $INPUT ]]; then
        mkdir -p "$WORK/input"
        show "$BIN/gen-access-log" --format "$1" --seed "$SEED" --lines "$2"
        "$BIN/gen-access-log" --format "$1" --seed "$SEED" --lines "$2" >"$INPUT" 2>"$LOGS/gen-$1-$2.err"
        say "    $(cat "$LOGS/gen-$1-$2.err")"
        # Write the text back now, not during the first timed run.
        sync
    fi
}

# new_datadir DIR: a fresh data directory (init is not timed).
new_datadir() {
    rm -rf "$1"
    "$BIN/logseal" init --data-dir "$1" --deployment bench.example/bench >/dev/null
}

data_files() { ls "$1"/store/v1/*/data/*.parquet; }
all_objects() { find "$1/store" -type f | sort; }
# json_field FILE KEY: a top-level number from the import's --json summary.
json_field() { sed -n "s/^  \"$2\": \([0-9.]*\),\{0,1\}$/\1/p" "$1"; }

# The 10M-record store shared by verify, deep and state; its import is timed
# once (informative: the rate and peak memory of a 10-file import).
STORE10=$WORK/store-$STORE_LINES
store10() {
    [[ -f $STORE10/.done ]] && return
    local text
    input combined "$STORE_LINES"
    text=$INPUT
    say "  building the $STORE_LINES-record store (timed once, informative):"
    new_datadir "$STORE10"
    show "$BIN/logseal" import --data-dir "$STORE10" --json "$text"
    LOAD=$(load1)
    time_cmd store-import "$LOGS/store-import.json" "$BIN/logseal" import --data-dir "$STORE10" --json "$text"
    local rate
    rate=$(calc '%.0f' "$STORE_LINES / $T_SEC")
    say "    $T_SEC s = $rate records/s, peak RSS $((T_RSS / 1024)) MB, load before: $LOAD"
    row "import $STORE_LINES (1 run)" "$rate rec/s" "-" "-" "-" "info" "$LOAD" "$(mb "$T_RSS")"
    touch "$STORE10/.done"
    sync
}

# gzip -6 of the same text: size (deterministic) and time of RUNS runs.
# -n keeps the file name and time out of the header (a few bytes).
gzip_ref() {
    local text=$1 name=$2
    repeat "gzip-$name" "$WORK/ref/$name.gz" gzip -6 -n -c "$text"
    GZ_SEC=$MED_SEC GZ_LOAD=$LOAD
    GZ_BYTES=$(stat -c %s "$WORK/ref/$name.gz")
}

# ------------------------------------------------------------- benchmarks

# 1. import: records/s of `logseal import` of IMPORT_LINES combined lines
#    into a fresh local store, wall time of the whole process (start-up,
#    keys, parsing, Parquet encoding, encryption, commitments, fsync'd
#    writes, checkpoint signing). The input is in the page cache.
#    Reference: `gzip -6` of the same file, a single-threaded pass over the
#    same bytes; it is there to show how fast this machine was during the
#    run (a loaded machine slows both). The target itself is absolute.
IMPORT_DIRS=()
bench_import() {
    say ""
    say "== import: $IMPORT_LINES combined lines into the local store"
    local text i dirs=() secs=() rss=() inner=()
    input combined "$IMPORT_LINES"
    text=$INPUT
    cat "$text" >/dev/null
    show "$BIN/logseal" import --data-dir "$WORK/import-N" --json "$text"
    local load
    load=$(load1)
    for ((i = 1; i <= RUNS; i++)); do
        new_datadir "$WORK/import-$i"
        time_cmd "import-$i" "$LOGS/import-$i.json" "$BIN/logseal" import --data-dir "$WORK/import-$i" --json "$text"
        secs+=("$T_SEC") rss+=("$T_RSS") inner+=("$(json_field "$LOGS/import-$i.json" seconds)")
        dirs+=("$WORK/import-$i")
    done
    IMPORT_DIRS=("${dirs[@]}")
    local sec rate
    sec=$(median "${secs[@]}")
    rate=$(calc '%.0f' "$IMPORT_LINES / $sec")
    say "    runs: ${secs[*]} s (median $sec s = $rate records/s; the import's own clock: ${inner[*]} s)"
    say "    peak RSS median $(($(median "${rss[@]}") / 1024)) MB, load before: $load"

    gzip_ref "$text" "combined-$IMPORT_LINES"
    local gz_rate
    gz_rate=$(calc '%.0f' "$IMPORT_LINES / $GZ_SEC")
    row "import $IMPORT_LINES combined" "$rate rec/s" "gzip -6: $gz_rate rec/s" "$(calc '%.2f' "$rate / $gz_rate")x" \
        ">= 300000 rec/s" "$(verdict "$rate >= 300000")" "$load" "$(mb "$(median "${rss[@]}")")"

    # Where the bytes go, per column (informative).
    say "  per-column storage (sealed-stats, run 1):"
    # shellcheck disable=SC2046
    show "$BIN/sealed-stats" --keys "$WORK/import-1/keys" $(data_files "$WORK/import-1")
    # shellcheck disable=SC2046
    "$BIN/sealed-stats" --keys "$WORK/import-1/keys" $(data_files "$WORK/import-1") | sed 's/^/    /'
}

# 2. bytes: everything the import wrote to the store (data objects,
#    manifests, checkpoints; not the key files) per record, against
#    `gzip -6` and `zstd -19` (single-threaded) of the same log text. Both
#    references are lossless copies of the same lines, as the store is (a
#    verified store renders every line back byte for byte).
bench_bytes() {
    say ""
    say "== bytes: on-disk bytes per record vs gzip -6 and zstd -19 of the same text"
    local text
    input combined "$IMPORT_LINES"
    text=$INPUT
    if [[ ${#IMPORT_DIRS[@]} == 0 ]]; then # --only bytes: one untimed import
        new_datadir "$WORK/import-1"
        show "$BIN/logseal" import --data-dir "$WORK/import-1" --json "$text"
        "$BIN/logseal" import --data-dir "$WORK/import-1" --json "$text" >"$LOGS/import-1.json"
        IMPORT_DIRS=("$WORK/import-1")
    fi
    local d totals=() data man ckpt total
    for d in "${IMPORT_DIRS[@]}"; do
        data=$(sum_sizes $(data_files "$d"))
        man=$(sum_sizes $(find "$d/store" -path '*/manifests/*' -type f))
        ckpt=$(sum_sizes $(find "$d/store" -path '*/checkpoints/*' -type f))
        total=$(sum_sizes $(all_objects "$d"))
        say "    $d: total $total bytes = data $data + manifests $man + checkpoints $ckpt + other $((total - data - man - ckpt))"
        totals+=("$total")
    done
    total=$(median "${totals[@]}")
    local text_bytes
    text_bytes=$(stat -c %s "$text")
    say "    log text: $text_bytes bytes = $(calc '%.1f' "$text_bytes / $IMPORT_LINES") bytes/line"

    if [[ -z ${GZ_BYTES:-} ]]; then gzip_ref "$text" "combined-$IMPORT_LINES"; fi
    # zstd -19 is slow (~3 min per 1M lines here) and its size is
    # deterministic: one run, timed for information only.
    show zstd -19 -T1 -q -c "$text"
    local zload
    zload=$(load1)
    time_cmd "zstd-$IMPORT_LINES" "$WORK/ref/combined-$IMPORT_LINES.zst" zstd -19 -T1 -q -c "$text"
    local zst_bytes
    zst_bytes=$(stat -c %s "$WORK/ref/combined-$IMPORT_LINES.zst")
    say "    gzip -6: $GZ_BYTES bytes; zstd -19: $zst_bytes bytes ($T_SEC s, one run)"

    local bpr gz_bpr zst_bpr
    bpr=$(calc '%.2f' "$total / $IMPORT_LINES")
    gz_bpr=$(calc '%.2f' "$GZ_BYTES / $IMPORT_LINES")
    zst_bpr=$(calc '%.2f' "$zst_bytes / $IMPORT_LINES")
    row "bytes/record vs gzip" "$bpr B/rec" "gzip -6: $gz_bpr B/rec" "$(calc '%.3f' "$total / $GZ_BYTES")x" \
        "<= 0.5x gzip -6" "$(verdict "$total <= 0.5 * $GZ_BYTES")" "$GZ_LOAD"
    row "bytes/record vs zstd" "$bpr B/rec" "zstd -19: $zst_bpr B/rec" "$(calc '%.3f' "$total / $zst_bytes")x" \
        "-" "info" "$zload"
}

# 3. verify: structural verification with the public key only
#    (`--store DIR --pubkey FILE`, no data directory, no keys): every
#    checkpoint signature, every manifest, and a SHA-256 of every data
#    object. Reference: `sha256sum` of exactly the same data objects, which
#    is the floor of any check that reads them. Both run with the page cache
#    warm (the files are read once and each command runs once, untimed,
#    before the timed runs), so this compares hashing, not the disk.
#    MB/s counts data-object bytes only (1 MB = 10^6 bytes), for both.
#    Caveat: sha256sum (coreutils) is single-threaded software SHA-256; the
#    verifier uses SHA-NI on all CPUs. `openssl dgst -sha256` (SHA-NI, one
#    thread) is printed too, as the fairer per-core reference.
VERIFY_SEC=
bench_verify() {
    say ""
    say "== verify: structural verify (public key only) of $STORE_LINES records vs sha256sum"
    store10
    local files bytes
    mapfile -t files < <(data_files "$STORE10")
    bytes=$(sum_sizes "${files[@]}")
    say "    ${#files[@]} data objects, $bytes bytes ($(calc '%.1f' "$bytes / 1e6") MB); verifier threads: $(nproc)"
    cat "${files[@]}" >/dev/null
    local vcmd=("$BIN/logseal" verify --store "$STORE10/store" --pubkey "$STORE10/checkpoint.vkey")
    sha256sum "${files[@]}" >/dev/null
    "${vcmd[@]}" >/dev/null 2>&1

    repeat sha256sum "$LOGS/sha256sum.out" sha256sum "${files[@]}"
    local sha_sec=$MED_SEC sha_load=$LOAD
    repeat verify "$LOGS/verify.out" "${vcmd[@]}"
    grep -q '^result: intact' "$LOGS/verify.out" || { say "verify did not report intact" >&2; exit 1; }
    VERIFY_SEC=$MED_SEC
    local v_rss=$MED_RSS v_load=$LOAD

    local v_mbs sha_mbs
    v_mbs=$(calc '%.0f' "$bytes / $VERIFY_SEC / 1e6")
    sha_mbs=$(calc '%.0f' "$bytes / $sha_sec / 1e6")
    row "verify (structural)" "$v_mbs MB/s" "sha256sum: $sha_mbs MB/s" "$(calc '%.2f' "$sha_sec / $VERIFY_SEC")x" \
        ">= 3x sha256sum" "$(verdict "$sha_sec >= 3 * $VERIFY_SEC")" "$sha_load/$v_load" "$(mb "$v_rss")"
    say "    verify: $(calc '%.0f' "$STORE_LINES / $VERIFY_SEC") records/s, peak RSS $((v_rss / 1024)) MB"

    if command -v openssl >/dev/null; then
        openssl dgst -sha256 "${files[@]}" >/dev/null
        repeat openssl "$LOGS/openssl.out" openssl dgst -sha256 "${files[@]}"
        local o_mbs
        o_mbs=$(calc '%.0f' "$bytes / $MED_SEC / 1e6")
        row "verify vs openssl" "$v_mbs MB/s" "openssl: $o_mbs MB/s" "$(calc '%.2f' "$MED_SEC / $VERIFY_SEC")x" \
            "-" "info" "$LOAD"
    fi
}

# 4. deep: `verify --deep` decrypts every data object and recomputes every
#    record's commitment and every Merkle root (needs the keys). No target.
#    Reference: the structural verify of the same store, same run, so the
#    ratio says how much more a deep check costs. Cache warm as above.
bench_deep() {
    say ""
    say "== deep: verify --deep of $STORE_LINES records"
    store10
    local files bytes text_bytes
    mapfile -t files < <(data_files "$STORE10")
    bytes=$(sum_sizes "${files[@]}")
    text_bytes=$(json_field "$LOGS/store-import.json" bytes_read)
    cat "${files[@]}" >/dev/null
    if [[ -z $VERIFY_SEC ]]; then
        repeat verify "$LOGS/verify.out" "$BIN/logseal" verify --store "$STORE10/store" --pubkey "$STORE10/checkpoint.vkey"
        VERIFY_SEC=$MED_SEC
    fi
    repeat deep "$LOGS/deep.out" "$BIN/logseal" verify --data-dir "$STORE10" --pubkey "$STORE10/checkpoint.vkey" --deep
    grep -q '^result: intact' "$LOGS/deep.out" || { say "deep verify did not report intact" >&2; exit 1; }
    local rate v_rate
    rate=$(calc '%.0f' "$STORE_LINES / $MED_SEC")
    v_rate=$(calc '%.0f' "$STORE_LINES / $VERIFY_SEC")
    say "    deep: $rate records/s = $(calc '%.1f' "$bytes / $MED_SEC / 1e6") MB/s of data objects" \
        "= $(calc '%.1f' "$text_bytes / $MED_SEC / 1e6") MB/s of original log text; peak RSS $((MED_RSS / 1024)) MB"
    row "verify --deep" "$rate rec/s" "structural: $v_rate rec/s" "$(calc '%.3f' "$rate / $v_rate")x" \
        "-" "info" "$LOAD" "$(mb "$MED_RSS")"
    row "verify --deep (MB/s)" "$(calc '%.1f' "$bytes / $MED_SEC / 1e6") MB/s" "-" "-" "-" "info" "$LOAD"
}

# 5. state: `verify --state FILE` on an unchanged store. The first run
#    (no state file) verifies everything and saves the state; the runs
#    after it check only what is new (here: nothing but the newest
#    checkpoint). Reference: the first, full run, same store, same run.
bench_state() {
    say ""
    say "== state: verify --state on an unchanged $STORE_LINES-record store"
    store10
    local st=$WORK/verify.state i firsts=() first_load
    local vcmd=("$BIN/logseal" verify --store "$STORE10/store" --pubkey "$STORE10/checkpoint.vkey" --state "$st")
    local files
    mapfile -t files < <(data_files "$STORE10")
    cat "${files[@]}" >/dev/null
    show "${vcmd[@]}"
    say "    (first runs: the state file is removed before each)"
    first_load=$(load1)
    for ((i = 1; i <= RUNS; i++)); do
        rm -f "$st"
        time_cmd "state-first-$i" "$LOGS/state-first.out" "${vcmd[@]}"
        firsts+=("$T_SEC")
    done
    local first
    first=$(median "${firsts[@]}")
    say "    first runs: ${firsts[*]} s (median $first s)"
    repeat state "$LOGS/state.out" "${vcmd[@]}"
    grep -q 'new since the saved state' "$LOGS/state.out" || { say "the state run was not incremental" >&2; exit 1; }
    row "verify --state (unchanged)" "$MED_SEC s" "first run: $first s" "$(calc '%.1f' "$first / $MED_SEC")x faster" \
        "< 1 s" "$(verdict "$MED_SEC < 1")" "$first_load/$LOAD" "$(mb "$MED_RSS")"
}

# 6. json (informative, no target): import of JSON lines. JSON lines are
#    always stored raw (the line itself is kept, besides the parsed
#    fields), so bytes/record is expected to be far worse than for combined
#    lines. Reference: gzip -6 of the same text.
bench_json() {
    say ""
    say "== json: import of $JSON_LINES JSON lines (informative)"
    local text i secs=() rss=() load
    input json "$JSON_LINES"
    text=$INPUT
    cat "$text" >/dev/null
    show "$BIN/logseal" import --data-dir "$WORK/json-N" --format json --json "$text"
    load=$(load1)
    for ((i = 1; i <= RUNS; i++)); do
        new_datadir "$WORK/json-$i"
        time_cmd "json-$i" "$LOGS/json-$i.json" "$BIN/logseal" import --data-dir "$WORK/json-$i" --format json --json "$text"
        secs+=("$T_SEC") rss+=("$T_RSS")
    done
    local sec rate total
    sec=$(median "${secs[@]}")
    rate=$(calc '%.0f' "$JSON_LINES / $sec")
    total=$(sum_sizes $(all_objects "$WORK/json-1"))
    say "    runs: ${secs[*]} s (median $sec s = $rate records/s); raw lines stored: $(json_field "$LOGS/json-1.json" raw_stored)"
    gzip_ref "$text" "json-$JSON_LINES"
    row "import $JSON_LINES json" "$rate rec/s" "gzip -6: $(calc '%.0f' "$JSON_LINES / $GZ_SEC") rec/s" \
        "$(calc '%.2f' "$rate * $GZ_SEC / $JSON_LINES")x" "-" "info" "$load" "$(mb "$(median "${rss[@]}")")"
    row "json bytes/record" "$(calc '%.2f' "$total / $JSON_LINES") B/rec" \
        "gzip -6: $(calc '%.2f' "$GZ_BYTES / $JSON_LINES") B/rec" "$(calc '%.3f' "$total / $GZ_BYTES")x" "-" "info" "$GZ_LOAD"
    say "  per-column storage (sealed-stats, run 1):"
    # shellcheck disable=SC2046
    "$BIN/sealed-stats" --keys "$WORK/json-1/keys" $(data_files "$WORK/json-1") | sed 's/^/    /'
}

# ------------------------------------------------------------------- main

say "logseal benchmarks  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "command:  benches/run.sh${ARGS:+ $ARGS}   (from $ROOT)"
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# The build uses the working tree: name what differs from the commit.
changes=$(git status --porcelain 2>/dev/null | awk '{ print $2 }' | paste -sd ' ' -)
say "commit:   $commit${changes:+ + uncommitted: $changes}"
say "cpu:      $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
say "cores:    $(lscpu 2>/dev/null | sed -n 's/^Core(s) per socket:[[:space:]]*/per socket: /p') x $(lscpu 2>/dev/null | sed -n 's/^Socket(s):[[:space:]]*//p') sockets, $(lscpu 2>/dev/null | sed -n 's/^Thread(s) per core:[[:space:]]*//p') threads/core; nproc: $(nproc)"
say "sha_ni:   $(grep -o -m 1 sha_ni /proc/cpuinfo || echo absent)"
say "memory:   $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
say "tools:    $(rustc --version 2>/dev/null || echo 'rustc ?'); $(gzip --version | head -n 1); $(zstd --version | sed 's/^\*\*\* //; s/ \*\*\*$//; s/, by.*//'); $(sha256sum --version | head -n 1)"
say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
say "sizes:    import/bytes $IMPORT_LINES lines, verify/deep/state $STORE_LINES records, json $JSON_LINES lines; $RUNS runs each, median"
say ""
say "== build"
show cargo build --release -p logseal-cli -p logseal-benches
cargo build --release -p logseal-cli -p logseal-benches 2>&1 | tail -n 1 | sed 's/^ */    /'

rm -rf "$WORK"
mkdir -p "$LOGS" "$WORK/ref"
say "work dir: $WORK"

want import && bench_import
want bytes && bench_bytes
want verify && bench_verify
want deep && bench_deep
want state && bench_state
want json && bench_json

say ""
say "== results ($(date -u +%Y-%m-%d), load at end: $(cut -d' ' -f1-3 /proc/loadavg))"
fmt='%-27s %-14s %-26s %-12s %-16s %-6s %-10s %s\n'
# shellcheck disable=SC2059
printf "$fmt" benchmark figure reference ratio target result "load(1m)" "peak RSS"
for r in "${ROWS[@]}"; do
    IFS='|' read -r a b c d e f g h <<<"$r"
    # shellcheck disable=SC2059
    printf "$fmt" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
done
[[ $QUICK == 1 ]] && say "(quick run: sizes are smaller than the targets assume; pass/fail is indicative only)"
say "ratios: import = figure/reference; bytes = store/reference (lower is better);"
say "        verify = reference time/verify time; state = first run/incremental run."
exit 0
