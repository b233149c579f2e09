#!/usr/bin/env bash
# The `logseal search` benchmark (issue 5): logseal's query server against
# DuckDB over the same rows as plain zstd Parquet, and against
# `zstdcat logs.zst | rg -F` over the same lines kept as zstd text, in one
# run on this machine.
#
#   benches/search.sh [N]         # N records, default 10000000 (~15 min here)
#   benches/search.sh 200000      # a smoke run (pass/miss not meaningful)
#
# Environment (all optional):
#   N            records (the argument wins)           RUNS       timed runs per figure (5)
#   IP           the address to look up (default: an IPv4 address with about IP_HITS rows)
#   IP_HITS      rows the picked address should have (default N/50000, at least 10)
#   URL          the --url-contains substring (default: wp-login)
#   BROAD_FILTER filters of the broad query (default: --status 200)
#   BROAD_LIMIT  --limit of the broad query (default 1000000; 0: no limit)
#   WORK_BASE    where the work directory is made (default: target/bench)
#   KEEP=1       keep the work directory          SKIP_BUILD=1  use target/release as it is
#   BIN_DIR      take logseal and gen-access-log from here (implies SKIP_BUILD=1)
#
# Every figure is the median of RUNS timed runs after one untimed warm-up
# (page cache warm for every tool). DuckDB's time is measured inside its
# process (after connect and CREATE VIEW) around `execute(sql).fetchall()`;
# logseal's is the server's (`--timing`: request authorized -> last row
# sent, audit write included), with the whole `logseal search` command's
# wall time beside it; zstdcat | rg is the pipeline's wall time. Results go
# to stdout, progress to stderr. Exits 0 when a target is missed (a
# benchmark, not a test): see the result column.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HERE=$ROOT/benches/search
BIN=${BIN_DIR:-$ROOT/target/release}
[[ -z ${BIN_DIR:-} ]] || SKIP_BUILD=1
ARGS="$*"
# The settings given in the environment, for the report (before defaults).
ENV_SET=$(for v in N RUNS IP IP_HITS URL BROAD_FILTER BROAD_LIMIT WORK_BASE KEEP SKIP_BUILD BIN_DIR; do
    if [[ -n ${!v+x} ]]; then printf '%s=%q ' "$v" "${!v}"; fi
done)
case ${1:-} in
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
esac
N=${1:-${N:-10000000}}
[[ $N =~ ^[0-9]+$ && $N -ge 1000 ]] || { echo "search.sh: N must be a number >= 1000, not '$N'" >&2; exit 2; }
[[ $# -le 1 ]] || { echo "search.sh: one argument at most (N); see --help" >&2; exit 2; }
RUNS=${RUNS:-5}
SEED=42
STREAM=web
IP_HITS=${IP_HITS:-$((N / 50000 > 10 ? N / 50000 : 10))}
URL=${URL:-wp-login}
BROAD_LIMIT=${BROAD_LIMIT:-1000000}
read -r -a BROAD_FILTER <<<"${BROAD_FILTER:---status 200}"
WORK_BASE=${WORK_BASE:-$ROOT/target/bench}
REASON=benchmark
TICKET=BENCH-1

# ---------------------------------------------------------------- helpers

log() { printf '%s\n' "$*" >&2; }
die() { log "search.sh: error: $*"; exit 1; }
# Prints a command exactly as it is run (shell-quoted), to stderr.
show() {
    {
        printf '  +'
        printf ' %q' "$@"
        printf '\n'
    } >&2
}
quoted() { printf '%q ' "$@"; }
# awk arithmetic: calc '1/3' -> 0.333333; calc '%.1f' '1/3' -> 0.3
calc() {
    if [[ $# == 2 ]]; then awk "BEGIN { printf \"$1\", $2 }"; else awk "BEGIN { printf \"%.6g\", $1 }"; fi
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
sum_sizes() { if [[ $# == 0 ]]; then echo 0; else stat -c %s "$@" | awk '{ s += $1 } END { print s + 0 }'; fi; }
# json FILE KEY: a top-level value of the (first) JSON object in FILE.
json() { python3 -c 'import json,sys; v=json.loads(open(sys.argv[1]).readline()).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }
# dq NAME KEY: a value of DuckDB query NAME's record.
dq() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["name"] == sys.argv[2]:
        v = r.get(sys.argv[3]); print("" if v is None else v); break
' "$W/duckdb.jsonl" "$1" "$2"
}
# timing FILE FIELD: FIELD of the last `timing: k=v ...` line in FILE.
timing() { { grep '^timing:' "$1" 2>/dev/null || true; } | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Results table rows: name, figure, reference, ratio, target, result, load
# (separated by US, \x1f).
ROWS=()
row() { ROWS+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5"$'\x1f'"$6"$'\x1f'"${7:--}"); }

# ------------------------------------------------------- setup and cleanup

UP_PID=
W=
stop_up() {
    [[ -n $UP_PID ]] || return 0
    if kill -0 "$UP_PID" 2>/dev/null; then
        kill -TERM "$UP_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 300; i++)); do
            kill -0 "$UP_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$UP_PID" 2>/dev/null; then
            log "  logseal up (pid $UP_PID) did not stop in 30 s after SIGTERM: SIGKILL"
            kill -KILL "$UP_PID" 2>/dev/null || true
        fi
    fi
    wait "$UP_PID" 2>/dev/null || true
    UP_PID=
}
# shellcheck disable=SC2317 # (called by the EXIT trap)
cleanup() {
    local rc=$?
    trap - EXIT
    stop_up
    if [[ -n $W && -d $W ]]; then
        if [[ ${KEEP:-0} == 1 ]]; then log "kept the work directory $W"; else rm -rf "$W"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_up LABEL PATTERN: starts `logseal up` on the data directory in the
# background and waits (up to 120 s) for a stdout line matching PATTERN
# (ERE); sets UP_PID and UP_LINE.
start_up() {
    local label=$1 pattern=$2 i
    show "$BIN/logseal" up --data-dir "$D" --any-port
    "$BIN/logseal" up --data-dir "$D" --any-port >"$W/logs/up-$label.out" 2>"$W/logs/up-$label.err" &
    UP_PID=$!
    UP_LINE=
    for ((i = 0; i < 1200; i++)); do
        UP_LINE=$(grep -E -m 1 "$pattern" "$W/logs/up-$label.out" || true)
        [[ -n $UP_LINE ]] && return 0
        if ! kill -0 "$UP_PID" 2>/dev/null; then
            wait "$UP_PID" 2>/dev/null || true
            UP_PID=
            cat "$W/logs/up-$label.err" >&2
            die "logseal up exited before printing a line matching /$pattern/"
        fi
        sleep 0.1
    done
    die "logseal up printed no line matching /$pattern/ in 120 s (stdout: $W/logs/up-$label.out)"
}

# ------------------------------------------------------------------- build

log "== build"
if [[ ${SKIP_BUILD:-0} == 1 ]]; then
    log "  SKIP_BUILD=1: using $BIN as it is"
else
    show cargo build --release -p logseal-cli -p logseal-benches
    build_out=$(cargo build --release -p logseal-cli -p logseal-benches 2>&1) ||
        { printf '%s\n' "$build_out" | tail -n 30 >&2; die "the build failed (SKIP_BUILD=1 uses target/release as it is)"; }
    printf '%s\n' "$build_out" | tail -n 1 | sed 's/^ */    /' >&2
fi
[[ -x $BIN/logseal && -x $BIN/gen-access-log ]] || die "no $BIN/logseal or $BIN/gen-access-log (build first)"
BIN_DATE=$(date -u -r "$BIN/logseal" +%Y-%m-%dT%H:%M:%SZ)
for tool in zstd zstdcat rg script python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install ripgrep zstd)"
done
scripts/setup-python.sh
scripts/setup-python.sh --duckdb
PY=$ROOT/.venv/bin/python
DUCK=$ROOT/.venv-duckdb/bin/python

if "$BIN/logseal" search --help >/dev/null 2>&1; then HAVE_SEARCH=1; else HAVE_SEARCH=0; fi
[[ $HAVE_SEARCH == 1 ]] || log "  note: this logseal has no 'search' command: only the references (DuckDB, zstdcat | rg) are measured"

mkdir -p "$WORK_BASE"
W=$(mktemp -d "$WORK_BASE/search.XXXXXX")
mkdir -p "$W/logs"
D=$W/data
LOGS_ZST=$W/logs.zst
PLAIN=$W/plain
log "work dir: $W"

# ---------------------------------------------------------------- the data

log ""
log "== $N generated lines, kept as zstd text (zstd -3)"
show "$BIN/gen-access-log" --format combined --seed "$SEED" --lines "$N" "|" zstd -3 -q -o "$LOGS_ZST"
"$BIN/gen-access-log" --format combined --seed "$SEED" --lines "$N" 2>"$W/logs/gen.err" | zstd -3 -q -o "$LOGS_ZST"
log "    $(cat "$W/logs/gen.err")"
ZST_BYTES=$(stat -c %s "$LOGS_ZST")

log ""
log "== data directory (logseal up --any-port, stopped after it listens), import"
start_up init '^(listening|logseal is running)'
stop_up
show "$BIN/logseal" import --data-dir "$D" --stream "$STREAM" --json "$LOGS_ZST"
t0=$(now)
"$BIN/logseal" import --data-dir "$D" --stream "$STREAM" --json "$LOGS_ZST" >"$W/logs/import.json" 2>"$W/logs/import.err" ||
    { cat "$W/logs/import.err" >&2; die "the import failed"; }
t1=$(now)
IMPORT_SEC=$(calc '%.1f' "$t1 - $t0")
mapfile -t DATA_FILES < <(find "$D/store/v1/$STREAM/data" -name '*.parquet' | sort)
SEALED_BYTES=$(sum_sizes "${DATA_FILES[@]}")
log "    ${#DATA_FILES[@]} data objects, $SEALED_BYTES bytes, in $IMPORT_SEC s ($(calc '%.0f' "$N / $IMPORT_SEC") records/s)"

log ""
log "== export to plain zstd Parquet (pyarrow, local keys), for DuckDB"
show "$PY" "$HERE/export_plain.py" --data-dir "$D" --stream "$STREAM" --out "$PLAIN"
"$PY" "$HERE/export_plain.py" --data-dir "$D" --stream "$STREAM" --out "$PLAIN" >"$W/logs/export.json"
PLAIN_BYTES=$(json "$W/logs/export.json" bytes_out)
[[ $(json "$W/logs/export.json" rows) == "$N" ]] || die "the export has $(json "$W/logs/export.json" rows) rows, not $N"
log "    $(json "$W/logs/export.json" files) files, $N rows, $PLAIN_BYTES bytes, in $(json "$W/logs/export.json" seconds) s"
GLOB="$PLAIN/*.parquet"
"$DUCK" "$HERE/duckdb_bench.py" info --parquet "$GLOB" >"$W/logs/info.json"
FROM=$(json "$W/logs/info.json" from)
TO=$(json "$W/logs/info.json" to)
DUCK_VERSION=$(json "$W/logs/info.json" duckdb)
DUCK_THREADS=$(json "$W/logs/info.json" threads)
log "    whole range (event time, else receive time): --from $FROM --to $TO"

# The columns of a full-view search result (query/src/protocol.rs), so that
# DuckDB returns what logseal sends; every column if they cannot be read.
COLUMNS=$(sed -n '/pub const FULL_COLUMNS/,/\];/p' query/src/protocol.rs 2>/dev/null | grep -o '"[a-z_]*"' | tr -d '"' | paste -sd, - || true)
log "    row queries return: ${COLUMNS:-every column}"

# ------------------------------------------------------------- the address

log ""
log "== the address to look up"
# rg_count ADDR: lines of logs.zst that `rg -a -F "ADDR "` matches. -a
# (--text): some generated lines hold NUL bytes, as real logs do, and
# without it rg takes the stream for binary and stops at the first NUL.
rg_count() { zstdcat "$LOGS_ZST" | rg -a -F -c -- "$1 " || true; }
# The address: one that zstdcat | rg -F finds on exactly the lines that
# hold it as client_ip, so that every tool returns the same rows. rg also
# finds an address inside a longer one (11.2.3.4, ::ffff:1.2.3.4) and at
# the start of a line that did not parse (~1% of an address's lines here:
# truncated, bad month, invalid UTF-8), which logseal keeps with its raw
# bytes but without a client_ip, so an --ip look-up does not return it.
# Around 1000 rows an address practically always has such lines; around
# N/50000 (200 in 10M) most candidates have none. Candidates (IPv4, rows
# nearest IP_HITS, from DuckDB) are counted in one rg pass (match by line,
# deduplicated); the first exact one wins, else the nearest, with the
# difference reported.
if [[ -n ${IP:-} ]]; then
    IP_COUNT_RG=$(rg_count "$IP")
    log "    IP=$IP given: zstdcat | rg -F counts ${IP_COUNT_RG:-0} lines"
else
    "$DUCK" "$HERE/duckdb_bench.py" pick-ip --parquet "$GLOB" --target "$IP_HITS" --candidates 50 >"$W/logs/ip-candidates.txt"
    awk '{ print $1 " " }' "$W/logs/ip-candidates.txt" >"$W/logs/ip-patterns.txt"
    zstdcat "$LOGS_ZST" | { rg -a -F -n -o -f "$W/logs/ip-patterns.txt" || true; } |
        sort -u | sed 's/^[0-9]*://' | sort | uniq -c | awk '{ print $2, $1 }' >"$W/logs/ip-rg-counts.txt"
    best='' best_diff=''
    while read -r cand n; do
        c=$(awk -v a="$cand" '$1 == a { print $2 }' "$W/logs/ip-rg-counts.txt")
        diff=$((${c:-0} - n))
        diff=${diff#-}
        if [[ -z $best || $diff -lt $best_diff ]]; then best=$cand best_diff=$diff; fi
        if [[ $diff == 0 ]]; then break; fi
    done <"$W/logs/ip-candidates.txt"
    IP=$best
    IP_COUNT_RG=$(rg_count "$IP")
    log "    $(wc -l <"$W/logs/ip-candidates.txt") candidates near $IP_HITS rows (DuckDB vs rg -F, $W/logs/ip-rg-counts.txt): $IP"
fi
log "    looking up $IP ($IP_COUNT_RG lines; target was ~$IP_HITS)"

# ------------------------------------------------------------------ DuckDB

log ""
log "== DuckDB $DUCK_VERSION ($DUCK_THREADS threads), median of $RUNS after a warm-up, timed in-process"
show "$DUCK" "$HERE/duckdb_bench.py" bench --parquet "$GLOB" --ip "$IP" --url-contains "$URL" \
    --from "$FROM" --to "$TO" --columns "$COLUMNS" --runs "$RUNS"
DUCK_LOAD=$(load1)
"$DUCK" "$HERE/duckdb_bench.py" bench --parquet "$GLOB" --ip "$IP" --url-contains "$URL" \
    --from "$FROM" --to "$TO" --columns "$COLUMNS" --runs "$RUNS" >"$W/duckdb.jsonl"
while read -r line; do
    log "    $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["name"], "count" if "count" in r else "rows", r.get("count", r.get("rows")), "median", r["median_ms"], "ms; runs", r["runs_ms"])' "$line")"
done <"$W/duckdb.jsonl"
D_IP_COUNT=$(dq ip_count count)
D_URL_COUNT=$(dq url_count count)
RG_NOTE=
if [[ $D_IP_COUNT != "$IP_COUNT_RG" ]]; then
    RG_NOTE="rg -F finds $IP_COUNT_RG lines for $IP, DuckDB (client_ip) $D_IP_COUNT rows: the difference are lines that did not parse or longer addresses"
    log "    NOTE: $RG_NOTE"
fi
[[ $(dq ip_rows rows) == "$D_IP_COUNT" && $(dq url_rows rows) == "$D_URL_COUNT" ]] || die "DuckDB's row and count queries disagree"

# ------------------------------------------------------------ zstdcat | rg

log ""
log "== zstdcat logs.zst | rg -F '$IP ' (zstd text: $ZST_BYTES bytes), median of $RUNS after a warm-up"
RG_LOAD=$(load1)
# rg_time MODE: MODE count (rg -c) or rows (the matching lines to a file);
# sets RG_SEC (median wall seconds) and RG_N (count / lines of the last run).
rg_time() {
    local mode=$1 i t0 t1 secs=()
    for ((i = 0; i <= RUNS; i++)); do
        t0=$(now)
        if [[ $mode == count ]]; then
            zstdcat "$LOGS_ZST" | rg -a -F -c -- "$IP " >"$W/rg.out"
        else
            zstdcat "$LOGS_ZST" | rg -a -F -- "$IP " >"$W/rg.out"
        fi
        t1=$(now)
        ((i == 0)) || secs+=("$(calc '%.4f' "$t1 - $t0")")
    done
    if [[ $mode == count ]]; then RG_N=$(cat "$W/rg.out"); else RG_N=$(wc -l <"$W/rg.out"); fi
    RG_SEC=$(median "${secs[@]}")
    log "    $mode: $RG_N; runs ${secs[*]} s, median $RG_SEC s"
}
show zstdcat "$LOGS_ZST" "|" rg -a -F -c -- "$IP "
rg_time count
RG_COUNT_SEC=$RG_SEC
show zstdcat "$LOGS_ZST" "|" rg -a -F -- "$IP " ">" "$W/rg.out"
rg_time rows
RG_ROWS_SEC=$RG_SEC
[[ $RG_N == "$IP_COUNT_RG" ]] || die "rg printed $RG_N lines, rg -c counted $IP_COUNT_RG"

# ----------------------------------------------------------------- logseal

LS_LOAD=-
if [[ $HAVE_SEARCH == 1 ]]; then
    log ""
    log "== logseal (server: logseal up --any-port), median of $RUNS after a warm-up"
    start_up serve '^listening'
    SERVE_ADDR=$(tr ' ' '\n' <<<"$UP_LINE" | sed -n 's/^serve=//p')
    CLIENT=$D/clients/investigator.toml
    [[ -n $SERVE_ADDR ]] || die "logseal up's listening line names no serve= address: $UP_LINE"
    [[ -f $CLIENT ]] || die "logseal up wrote no $CLIENT"
    log "    server at $SERVE_ADDR (pid $UP_PID); client config $CLIENT"
    COMMON=(--client-config "$CLIENT" --from "$FROM" --to "$TO" --reason "$REASON" --ticket "$TICKET")
    LS_LOAD=$(load1)

    # ls_time NAME OUT CMD...: one warm-up and RUNS timed runs of a logseal
    # command, stdout to OUT, stderr to $W/logs/NAME.err, its --timing line
    # read from $LS_TIMING if set (else that file); sets LS_WALL (s),
    # LS_SERVER (ms), LS_FIRST (server first row, ms), LS_ROWS (rows= of
    # --timing), LS_OK (1, or 0 when a run failed).
    ls_time() {
        local name=$1 out=$2 i t0 t1 walls=() servers=() firsts=() tfile
        shift 2
        tfile=${LS_TIMING:-$W/logs/$name.err}
        show "$@"
        LS_OK=1 LS_WALL='' LS_SERVER='' LS_FIRST='' LS_ROWS=''
        for ((i = 0; i <= RUNS; i++)); do
            t0=$(now)
            if ! "$@" >"$out" 2>"$W/logs/$name.err"; then
                log "    FAILED (run $i): $(tail -n 3 "$W/logs/$name.err")"
                LS_OK=0
                return 0
            fi
            t1=$(now)
            ((i == 0)) && continue
            walls+=("$(calc '%.4f' "$t1 - $t0")")
            servers+=("$(timing "$tfile" server_ms)")
            firsts+=("$(timing "$tfile" first_row_ms)")
        done
        LS_ROWS=$(timing "$tfile" rows)
        LS_WALL=$(median "${walls[@]}")
        # first_row_ms is "-" when no row was sent (stats).
        if [[ ${servers[0]} =~ ^[0-9.]+$ ]]; then LS_SERVER=$(median "${servers[@]}"); fi
        if [[ ${firsts[0]} =~ ^[0-9.]+$ ]]; then LS_FIRST=$(median "${firsts[@]}"); fi
        [[ -n $LS_SERVER ]] || { log "    no 'timing: ... server_ms=' line on stderr ($tfile)"; LS_OK=0; }
        log "    rows=${LS_ROWS:-?}; command ${walls[*]} s (median $LS_WALL s); server ${servers[*]} ms (median ${LS_SERVER:-?} ms)${LS_FIRST:+; server first row median $LS_FIRST ms}"
    }
    # The count `logseal stats --count` prints (the last number on stdout).
    ls_count() { { grep -Eo '[0-9]+' "$W/$1.out" || true; } | tail -n 1; }

    # vs_duckdb LABEL DUCKDB_QUERY ROWS_SHOULD_BE: a row against DuckDB's median.
    vs_duckdb() {
        local label=$1 query=$2 expect=$3 got=$4 d result
        d=$(dq "$query" median_ms)
        if [[ $LS_OK != 1 ]]; then
            row "$label" "FAILED (see log)" "DuckDB $d ms" "-" "<= 1.5x DuckDB" "FAILED" "$LS_LOAD"
            return
        fi
        result=$(verdict "$LS_SERVER <= 1.5 * $d")
        [[ $got == "$expect" ]] || result="$result, COUNT $got != $expect"
        row "$label" "server $(calc '%.1f' "$LS_SERVER") ms (cmd $(calc '%.0f' "$LS_WALL * 1000") ms)" \
            "DuckDB $(calc '%.1f' "$d") ms" "$(calc '%.2f' "$LS_SERVER / $d")x" "<= 1.5x DuckDB" "$result" "$LS_LOAD"
    }
    # vs_rg LABEL RG_SEC: the whole command against zstdcat | rg.
    vs_rg() {
        local label=$1 rg=$2
        [[ $LS_OK == 1 ]] || { row "$label" "FAILED" "zstdcat|rg $rg s" "-" ">= 10x faster" "FAILED" "$LS_LOAD"; return; }
        row "$label" "cmd $(calc '%.3f' "$LS_WALL") s (server $(calc '%.3f' "$LS_SERVER / 1000") s)" \
            "zstdcat|rg $(calc '%.3f' "$rg") s" "$(calc '%.1f' "$rg / $LS_WALL")x faster" ">= 10x faster" \
            "$(verdict "$rg >= 10 * $LS_WALL")" "$LS_LOAD/$RG_LOAD"
    }

    log "  IP look-up, count"
    ls_time ip-count "$W/ip-count.out" "$BIN/logseal" stats "${COMMON[@]}" --ip "$IP" --count --timing
    LS_IP_COUNT=$( ((LS_OK)) && ls_count ip-count || echo '?')
    vs_duckdb "IP count ($IP)" ip_count "$D_IP_COUNT" "$LS_IP_COUNT"
    vs_rg "IP count vs rg -c" "$RG_COUNT_SEC"

    log "  IP look-up, all matching rows (NDJSON to a file)"
    ls_time ip-rows "$W/ip-rows.out" "$BIN/logseal" search "${COMMON[@]}" --ip "$IP" -o ndjson --timing
    LS_IP_ROWS=$( ((LS_OK)) && wc -l <"$W/ip-rows.out" || echo '?')
    vs_duckdb "IP rows ($D_IP_COUNT)" ip_rows "$D_IP_COUNT" "$LS_IP_ROWS"
    vs_rg "IP rows vs rg" "$RG_ROWS_SEC"

    log "  URL substring, count"
    ls_time url-count "$W/url-count.out" "$BIN/logseal" stats "${COMMON[@]}" --url-contains "$URL" --count --timing
    LS_URL_COUNT=$( ((LS_OK)) && ls_count url-count || echo '?')
    vs_duckdb "URL count ('$URL')" url_count "$D_URL_COUNT" "$LS_URL_COUNT"

    log "  URL substring, all matching rows (NDJSON to a file)"
    ls_time url-rows "$W/url-rows.out" "$BIN/logseal" search "${COMMON[@]}" --url-contains "$URL" -o ndjson --timing
    LS_URL_ROWS=$( ((LS_OK)) && wc -l <"$W/url-rows.out" || echo '?')
    vs_duckdb "URL rows ($D_URL_COUNT)" url_rows "$D_URL_COUNT" "$LS_URL_ROWS"

    # Broad query: the whole range, BROAD_FILTER, BROAD_LIMIT.
    BROAD=("$BIN/logseal" search "${COMMON[@]}" "${BROAD_FILTER[@]}" -o ndjson --timing)
    [[ $BROAD_LIMIT == 0 ]] || BROAD+=(--limit "$BROAD_LIMIT")

    # first_rows NAME CMD...: time to first row as a reader of the command's
    # stdout (a pipe, drained to nowhere) sees it; median of RUNS after a
    # warm-up. Sets FR_CLIENT (ms), FR_SERVER (ms), FR_ROWS, FR_WALL (s).
    first_rows() {
        local name=$1 i clients=() servers=() walls=()
        shift
        show "$PY" "$HERE/first_row.py" --err "$W/logs/$name.err" -- "$@"
        FR_OK=1
        for ((i = 0; i <= RUNS; i++)); do
            "$PY" "$HERE/first_row.py" --err "$W/logs/$name.err" -- "$@" >"$W/logs/$name.json"
            if [[ $(json "$W/logs/$name.json" rc) != 0 || -z $(json "$W/logs/$name.json" first_byte_s) ]]; then
                log "    FAILED: $(cat "$W/logs/$name.json"); $(tail -n 3 "$W/logs/$name.err")"
                FR_OK=0
                return 0
            fi
            ((i == 0)) && continue
            clients+=("$(calc "$(json "$W/logs/$name.json" first_byte_s) * 1000")")
            walls+=("$(json "$W/logs/$name.json" wall_s)")
            servers+=("$(timing "$W/logs/$name.err" first_row_ms)")
        done
        FR_CLIENT=$(median "${clients[@]}")
        FR_WALL=$(median "${walls[@]}")
        FR_SERVER=$(median "${servers[@]}")
        FR_ROWS=$(json "$W/logs/$name.json" lines)
        log "    first byte on stdout ${clients[*]} ms (median $FR_CLIENT); server first row ${servers[*]} ms; $FR_ROWS rows in $FR_WALL s"
    }

    log "  time to first row: broad query, stdout a pipe"
    first_rows first-broad "${BROAD[@]}"
    if [[ $FR_OK == 1 ]]; then
        row "first row, broad query" "client $(calc '%.0f' "$FR_CLIENT") ms (server ${FR_SERVER:-?} ms)" "-" "-" \
            "<= 0.5 s" "$(verdict "$FR_CLIENT <= 500")" "$LS_LOAD"
    else
        row "first row, broad query" "FAILED" "-" "-" "<= 0.5 s" "FAILED" "$LS_LOAD"
    fi
    log "  time to first row: IP look-up, stdout a pipe (informative)"
    first_rows first-ip "$BIN/logseal" search "${COMMON[@]}" --ip "$IP" -o ndjson --timing
    [[ $FR_OK == 1 ]] && row "first row, IP look-up" "client $(calc '%.0f' "$FR_CLIENT") ms (server ${FR_SERVER:-?} ms)" \
        "-" "-" "-" "info" "$LS_LOAD"

    log "  broad query to a file"
    ls_time broad-file "$W/broad-file.out" "${BROAD[@]}"
    if [[ $LS_OK == 1 ]]; then
        BROAD_ROWS=$(wc -l <"$W/broad-file.out")
        BROAD_BYTES=$(stat -c %s "$W/broad-file.out")
        row "broad query -> file" "$(calc '%.0f' "$BROAD_ROWS / $LS_WALL") rows/s (cmd)" \
            "server: $(calc '%.0f' "$BROAD_ROWS / $LS_SERVER * 1000") rows/s" "-" "-" "info" "$LS_LOAD"
        log "    $BROAD_ROWS rows, $BROAD_BYTES bytes of NDJSON ($(calc '%.0f' "$BROAD_BYTES / $LS_WALL / 1e6") MB/s)"
    else
        row "broad query -> file" "FAILED" "-" "-" "-" "FAILED" "$LS_LOAD"
    fi
    rm -f "$W/broad-file.out"

    # To a terminal: `script` gives the command a pseudo-terminal as its
    # stdout (and runs it through the tty line discipline) and copies what
    # comes out of it to its own stdout, here /dev/null; its typescript
    # file is /dev/null too. stderr (the timing line) goes to a file.
    log "  broad query to a terminal (a pty from script(1), copied to /dev/null)"
    term_cmd="$(quoted "${BROAD[@]}") 2>$(printf '%q' "$W/logs/broad-tty.timing")"
    LS_TIMING=$W/logs/broad-tty.timing ls_time broad-tty /dev/null script -q -e -c "$term_cmd" /dev/null </dev/null
    if [[ $LS_OK == 1 ]]; then
        TTY_ROWS=$(timing "$W/logs/broad-tty.timing" rows)
        row "broad query -> terminal" "$(calc '%.0f' "${TTY_ROWS:-0} / $LS_WALL") rows/s (cmd)" \
            "server: $(calc '%.0f' "${TTY_ROWS:-0} / $LS_SERVER * 1000") rows/s" "-" "-" "info" "$LS_LOAD"
    else
        row "broad query -> terminal" "FAILED" "-" "-" "-" "FAILED" "$LS_LOAD"
    fi
    stop_up
else
    for what in "IP count" "IP rows" "URL count" "URL rows"; do
        case $what in
            "IP count") q=ip_count ;; "IP rows") q=ip_rows ;; "URL count") q=url_count ;; "URL rows") q=url_rows ;;
        esac
        row "$what" "n/a" "DuckDB $(calc '%.1f' "$(dq "$q" median_ms)") ms" "-" "<= 1.5x DuckDB" "SKIP"
    done
    row "IP count vs rg -c" "n/a" "zstdcat|rg $(calc '%.3f' "$RG_COUNT_SEC") s" "-" ">= 10x faster" "SKIP"
    row "IP rows vs rg" "n/a" "zstdcat|rg $(calc '%.3f' "$RG_ROWS_SEC") s" "-" ">= 10x faster" "SKIP"
    row "first row, broad query" "n/a" "-" "-" "<= 0.5 s" "SKIP"
fi
row "DuckDB IP rows, no range" "$(calc '%.1f' "$(dq ip_rows_notime median_ms)") ms" "with range: $(calc '%.1f' "$(dq ip_rows median_ms)") ms" \
    "-" "-" "info" "$DUCK_LOAD"
row "DuckDB URL rows, no range" "$(calc '%.1f' "$(dq url_rows_notime median_ms)") ms" "with range: $(calc '%.1f' "$(dq url_rows median_ms)") ms" \
    "-" "-" "info" "$DUCK_LOAD"

# ----------------------------------------------------------------- results

say() { printf '%s\n' "$*"; }
say "logseal search benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "command:  benches/search.sh${ARGS:+ $ARGS}   (from $ROOT)"
[[ -z $ENV_SET ]] || say "env:      $ENV_SET"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
changes=$(git status --porcelain 2>/dev/null | awk '{ print $2 }' | paste -sd ' ' -)
say "commit:   $commit${changes:+ + uncommitted: $changes}"
say "binary:   $BIN/logseal built $BIN_DATE$([[ ${SKIP_BUILD:-0} == 1 ]] && echo ' (not rebuilt: SKIP_BUILD=1)')"
say "cpu:      $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); nproc: $(nproc)"
say "memory:   $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
say "tools:    DuckDB $DUCK_VERSION (Python, $DUCK_THREADS threads); $(rg --version | sed -n 1p); $(zstd --version | sed 's/^\*\*\* //; s/ \*\*\*$//; s/, by.*//')"
say "data:     $N records (gen-access-log --seed $SEED), whole range --from $FROM --to $TO"
say "          sealed: ${#DATA_FILES[@]} files, $SEALED_BYTES bytes; plain zstd Parquet: $PLAIN_BYTES bytes; logs.zst (zstd -3): $ZST_BYTES bytes"
say "queries:  IP $IP ($D_IP_COUNT rows; zstdcat | rg -a -F '$IP ': $IP_COUNT_RG lines); --url-contains '$URL' ($D_URL_COUNT rows, in url_path or url_query);"
[[ -z $RG_NOTE ]] || say "NOTE:     $RG_NOTE"
say "          broad: ${BROAD_FILTER[*]}$([[ $BROAD_LIMIT == 0 ]] || echo " --limit $BROAD_LIMIT"), -o ndjson"
[[ $HAVE_SEARCH == 1 ]] || say "logseal:  this binary has no 'search' command: logseal figures skipped (SKIP)"
say "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end"
say ""
fmt='%-26s %-36s %-24s %-12s %-15s %-8s %s\n'
# shellcheck disable=SC2059
printf "$fmt" benchmark figure reference ratio target result "load(1m)"
for r in "${ROWS[@]}"; do
    IFS=$'\x1f' read -r a b c d e f g <<<"$r"
    # shellcheck disable=SC2059
    printf "$fmt" "$a" "$b" "$c" "$d" "$e" "$f" "$g"
done
say ""
say "Each figure: median of $RUNS runs after a warm-up. logseal: server = --timing server_ms (request"
say "authorized -> last row sent, audit write included), cmd = the whole command's wall time; ratios to"
say "DuckDB use the server time, ratios to zstdcat | rg (pipeline wall time) the command's. DuckDB: time"
say "inside its process around execute(sql).fetchall(), same filters (time range on coalesce(time,"
say "received_at)), same columns. First row: from process start to the first byte on the command's stdout."
say "zstdcat | rg: rg -a (the text holds NUL bytes: without -a rg stops at the first one as binary input)."
say "Terminal: stdout is a pty (script -q -e -c CMD /dev/null), its output copied to /dev/null."
[[ $N -ge 10000000 ]] || say "(N < 10M: smaller than the issue asks for; PASS/MISS indicative only)"
exit 0
