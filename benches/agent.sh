#!/usr/bin/env bash
# logseal agent, end to end under load, next to rsyslog on the same frames.
#
#   benches/agent.sh            # full sizes: 2M frames, 20 s HTTPS loads (~7 min, ~2 GB in target/bench/agent)
#   benches/agent.sh --quick    # smoke run: 100k frames, 5 s loads (pass/fail not meaningful)
#   benches/agent.sh --runs N   # timed runs per measurement (default 3; medians reported)
#
# 1. syslog over TLS: gen-access-log lines wrapped as octet-counted RFC 5424
#    frames, sent by one socat connection with the development client
#    certificate to `logseal agent` (shards = 2, group_commit_ms = 2, files
#    of 1M records). Ingest = N / (send start -> /metrics shows N records
#    durable); end to end = N / (send start -> agent exited after SIGTERM,
#    which seals everything pending). Then `logseal verify --deep` must
#    report N records.
# 2. reference: rsyslogd (imtcp, ossl driver, TLS with client certificates)
#    receiving the same frames file and writing a plain file (omfile
#    defaults); N / (send start -> the file has N lines). Runs alternate
#    agent/rsyslog so that load changes hit both.
# 3. HTTPS: wrk POSTs 1000 combined lines per request (bearer token), 2
#    threads, 16 connections; then the same 16 connections paced by wrk's
#    Lua delay() to about half the acknowledged rate; latency p50/p99 from
#    wrk and from the agent's logseal_ack_seconds histogram.
# 4. peak RSS (VmHWM) of the agent in every run, read before stopping it.
#
# Prints machine, date, commit and load, every command as it runs, and the
# CPU seconds of agent (per thread), sender and rsyslog in each run, plus
# what the rest of the machine used meanwhile. Work files go to
# target/bench/agent/ (wiped at start). Every process it starts is stopped
# by PID on exit, also on failure. Installs socat and wrk with apt-get when
# missing. Nothing is written to benches/RESULTS.md.
set -euo pipefail
# shellcheck source=benches/agent-config.sh
source "$(dirname "${BASH_SOURCE[0]}")/agent-config.sh"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/target/release
WORK=$ROOT/target/bench/agent
LOGS=$WORK/logs
RUNS=3
SEED=42
TOKEN=logseal-bench-token

ARGS="$*"
QUICK=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --runs)
            RUNS=${2:-}
            [[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs takes a positive number" >&2; exit 2; }
            shift
            ;;
        -h | --help)
            sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
    N=100000
    HTTP_SECS=5
else
    N=2000000
    HTTP_SECS=20
fi
HTTP_THREADS=2
HTTP_CONNS=16
BODY_LINES=1000
POLL=0.05 # seconds between polls of /metrics or of the rsyslog output

# ---------------------------------------------------------------- helpers

say() { printf '%s\n' "$*"; }
# Prints a command as it is run (words quoted only where the shell needs it).
show() {
    local w
    printf '  +'
    for w in "$@"; do
        if [[ $w =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then printf ' %s' "$w"; else printf ' %q' "$w"; fi
    done
    printf '\n'
}
# hist_quantile NAME Q FILE: upper bound (ms) of the first bucket of
# histogram NAME whose cumulative count reaches Q of its total.
hist_quantile() {
    awk -v name="$1" -v q="$2" '
        index($0, name "_bucket{") == 1 {
            match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5)
            n++; les[n] = le; cum[n] = $2
        }
        index($0, name "_count") == 1 { total = $2 }
        END {
            if (!total) { print 0; exit }
            for (i = 1; i <= n; i++) if (cum[i] >= q * total) { if (les[i] == "+Inf") print "inf"; else printf "%.1f", les[i] * 1000; exit }
        }' "$3"
}

calc() {
    if [[ $# == 2 ]]; then awk "BEGIN { printf \"$1\", $2 }"; else awk "BEGIN { printf \"%.6g\", $1 }"; fi
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }
loads() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
die() {
    say "FAILED: $*" >&2
    exit 1
}
verdict() { if awk "BEGIN { exit !($1) }"; then echo pass; else echo FAIL; fi; }
# 1234567.8 -> 1,234,568
thousands() { printf '%.0f' "$1" | sed ':a; s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/; ta'; }

# Processes this script started, stopped by PID on exit.
PIDS=()
track() { PIDS+=("$1"); }
untrack() {
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            say "cleanup: stopping PID $p ($(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | cut -c1-80))" >&2
            kill -TERM "$p" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CLK_TCK=$(getconf CLK_TCK)
# CPU seconds (user + system) a process has used, threads that ended included.
proc_cpu() { awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
# Per-thread CPU ticks of a process: "tid name ticks" lines.
thread_ticks() {
    local t
    for t in /proc/"$1"/task/*; do
        [[ -r $t/stat ]] || continue
        awk -v tid="${t##*/}" '{ s = $0; a = index(s, "("); b = index(s, ") ");
            name = substr(s, a + 1, b - a - 1); gsub(/ /, "_", name);
            split(substr(s, b + 2), f, " "); print tid, name, f[12] + f[13] }' "$t/stat" 2>/dev/null || true
    done
}
# thread_report BEFORE AFTER SECONDS: CPU seconds per thread name between
# two thread_ticks snapshots (a name's threads added up), busiest first.
thread_report() {
    awk -v hz="$CLK_TCK" -v secs="$3" '
        FNR == NR { before[$1] = $3; next }
        { used[$2] += ($3 - before[$1]) / hz; n[$2]++ }
        END { for (k in used) if (used[k] >= 0.005) printf "%s %.2f %d\n", k, used[k], n[k] }' "$1" "$2" |
        sort -k2,2gr | awk -v secs="$3" '{ printf "%s%s x%d %.2f s (%.0f%%)", (NR > 1 ? ", " : ""), $1, $3, $2, 100 * $2 / secs } END { print "" }'
}
# Machine-wide busy CPU seconds (all processes), from /proc/stat.
# others BUSY0 BUSY1 CPU...: machine busy seconds not used by the given CPU seconds (>= 0).
others() {
    local b0=$1 b1=$2 sum=0 c
    shift 2
    for c in "$@"; do sum=$(calc '%.2f' "$sum + $c"); done
    calc '%.2f' "(($b1 - $b0 - $sum) > 0 ? ($b1 - $b0 - $sum) : 0)"
}
machine_busy() { awk -v hz="$CLK_TCK" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat; }
vm_hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
mib() { calc '%.0f' "$1 / 1024"; }

# ------------------------------------------------------------ the agent

AGENT_PID='' SYSLOG_PORT='' HTTPS_PORT='' OPS=''
# new_agent_dir DIR: a fresh data directory with the benchmark's [agent].
new_agent_dir() {
    local dir=$1
    rm -rf "$dir"
    "$BIN/logseal" init --data-dir "$dir" --deployment bench.example/agent >/dev/null
    append_agent_config "$dir" "$PKI" "$TOKEN_SHA"
}

# start_agent NAME DIR: starts the agent, waits for its `listening` line.
start_agent() {
    local name=$1 dir=$2 i line
    show "$BIN/logseal" agent --data-dir "$dir"
    "$BIN/logseal" agent --data-dir "$dir" >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
    AGENT_PID=$!
    track "$AGENT_PID"
    for ((i = 0; i < 300; i++)); do
        line=$(grep -m 1 '^listening ' "$LOGS/$name.out" 2>/dev/null || true)
        [[ -n $line ]] && break
        kill -0 "$AGENT_PID" 2>/dev/null || { cat "$LOGS/$name.err" >&2; die "the agent exited at start"; }
        sleep 0.1
    done
    [[ -n $line ]] || die "the agent printed no listening line within 30 s"
    field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
    SYSLOG_PORT=$(field syslog | sed 's/.*://')
    HTTPS_PORT=$(field https | sed 's/.*://')
    OPS=$(field ops)
    say "    $line (PID $AGENT_PID)"
}

# stop_agent: SIGTERM, wait for the exit; sets T_EXIT and checks the status.
stop_agent() {
    local rc=0
    kill -TERM "$AGENT_PID"
    wait "$AGENT_PID" || rc=$?
    T_EXIT=$(now)
    untrack "$AGENT_PID"
    [[ $rc == 0 ]] || die "the agent exited with status $rc (see $LOGS)"
}

metrics() { curl -s --max-time 5 "http://$OPS/metrics"; }
# per_stream NAME FILE: "bench-0=… bench-1=…" from a /metrics dump.
per_stream() { sed -n "s/^$1{stream=\"\([^\"]*\)\"} \(.*\)/\1=\2/p" "$2" | sort | paste -sd ' ' -; }
durable() { metrics | awk '/^logseal_records_durable[{ ]/ { s += $2 } END { printf "%.0f", s }'; }
# wait_durable N: polls /metrics until N records are durable; sets T_DURABLE.
wait_durable() {
    local want=$1 deadline n
    deadline=$(calc %.3f "$(now) + 600")
    while :; do
        n=$(durable)
        if [[ ${n:-0} -ge $want ]]; then T_DURABLE=$(now); return; fi
        kill -0 "$AGENT_PID" 2>/dev/null || die "the agent died ($n of $want records durable)"
        awk "BEGIN { exit !($(now) > $deadline) }" && die "only $n of $want records durable after 600 s"
        sleep "$POLL"
    done
}
# verify_records DIR NAME: verify --deep; sets VERIFIED (records) and VERIFY_OK.
verify_records() {
    local dir=$1 name=$2 rc=0
    show "$BIN/logseal" verify --data-dir "$dir" --deep --json
    "$BIN/logseal" verify --data-dir "$dir" --deep --json >"$LOGS/$name.json" 2>"$LOGS/$name.err" || rc=$?
    VERIFIED=$(sed -n 's/^ *"records": \([0-9]*\),\{0,1\}$/\1/p' "$LOGS/$name.json" | awk '{ s += $1 } END { print s + 0 }')
    if [[ $rc == 0 ]] && grep -q '"result": "intact"' "$LOGS/$name.json"; then VERIFY_OK=intact; else VERIFY_OK="NOT intact (exit $rc)"; fi
}

# ------------------------------------------------------------------- socat

# send_frames PORT NAME: one TLS connection with the development client
# certificate, the server certificate checked against the development CA.
SEND_CMD=()
send_frames() {
    local port=$1 name=$2
    SEND_CMD=(socat -u -b 1048576 "FILE:$FRAMES"
        "OPENSSL:127.0.0.1:$port,cafile=$PKI/ca.pem,cert=$PKI/client.pem,key=$PKI/client-key.pem,verify=1")
    /usr/bin/time -f '%e %U %S' -o "$LOGS/$name.socat-time" timeout 900 "${SEND_CMD[@]}" 2>"$LOGS/$name.socat-err" ||
        { cat "$LOGS/$name.socat-err" >&2; die "socat failed"; }
    T_SENT=$(now)
    SOCAT_CPU=$(awk '{ printf "%.2f", $2 + $3 }' "$LOGS/$name.socat-time")
}

# --------------------------------------------------------- 1. syslog/TLS

SYS_INGEST=() SYS_E2E=() SYS_RSS=() SYS_LOAD=() SYS_VERIFY=()
syslog_run() {
    local i=$1
    local dir=$WORK/syslog-$i name=syslog-$i t0 load busy0 busy1 cpu0 cpu1
    say "  -- agent run $i/$RUNS (load $(loads))"
    new_agent_dir "$dir"
    start_agent "$name" "$dir"
    if [[ $i == 1 ]]; then
        show "${SEND_CMD_SHOWN[@]/PORT/$SYSLOG_PORT}"
    fi
    load=$(load1)
    thread_ticks "$AGENT_PID" >"$LOGS/$name.threads0"
    busy0=$(machine_busy) cpu0=$(proc_cpu "$AGENT_PID")
    t0=$(now)
    send_frames "$SYSLOG_PORT" "$name"
    wait_durable "$N"
    busy1=$(machine_busy) cpu1=$(proc_cpu "$AGENT_PID")
    thread_ticks "$AGENT_PID" >"$LOGS/$name.threads1"
    local hwm
    hwm=$(vm_hwm_kb "$AGENT_PID")
    metrics >"$LOGS/$name.metrics"
    local t_sigterm
    t_sigterm=$(now)
    stop_agent
    local ingest e2e span agent_cpu others
    span=$(calc "$T_DURABLE - $t0")
    ingest=$(calc '%.0f' "$N / $span")
    e2e=$(calc '%.0f' "$N / ($T_EXIT - $t0)")
    agent_cpu=$(calc '%.2f' "$cpu1 - $cpu0")
    others=$(others "$busy0" "$busy1" "$agent_cpu" "$SOCAT_CPU")
    say "    sent in $(calc '%.2f' "$T_SENT - $t0") s; $N durable at $(calc '%.2f' "$span") s = $(thousands "$ingest") lines/s;" \
        "SIGTERM -> exit $(calc '%.2f' "$T_EXIT - $t_sigterm") s; sealed at $(calc '%.2f' "$T_EXIT - $t0") s = $(thousands "$e2e") lines/s"
    say "    CPU until durable: agent $agent_cpu s ($(calc '%.2f' "$agent_cpu / $span") cores), socat $SOCAT_CPU s," \
        "rest of the machine $others s; peak RSS $(mib "$hwm") MiB"
    say "    agent threads: $(thread_report "$LOGS/$name.threads0" "$LOGS/$name.threads1" "$span")"
    say "    at that moment: records durable per stream $(per_stream logseal_records_durable "$LOGS/$name.metrics"); files sealed" \
        "$(per_stream logseal_files_sealed "$LOGS/$name.metrics"); WAL bytes $(per_stream logseal_wal_bytes "$LOGS/$name.metrics")"
    verify_records "$dir" "$name-verify"
    say "    verify --deep: $VERIFY_OK, $VERIFIED records (want $N): $(verdict "$VERIFIED == $N")"
    SYS_INGEST+=("$ingest") SYS_E2E+=("$e2e") SYS_RSS+=("$hwm") SYS_LOAD+=("$load")
    SYS_VERIFY+=("$([[ $VERIFY_OK == intact && $VERIFIED == "$N" ]] && echo pass || echo FAIL)")
    rm -rf "$dir/wal"
}

# ------------------------------------------------------------ 2. rsyslog

RS_RATE=() RS_LOAD=() RS_RSS=()
rsyslog_run() {
    local i=$1
    local dir=$WORK/rsyslog-$i name=rsyslog-$i
    say "  -- rsyslog run $i/$RUNS (load $(loads))"
    rm -rf "$dir"
    mkdir -p "$dir/work"
    cat >"$dir/rsyslog.conf" <<EOF
global(workDirectory="$dir/work" maxMessageSize="64k"
       defaultNetstreamDriver="ossl"
       defaultNetstreamDriverCAFile="$PKI/ca.pem"
       defaultNetstreamDriverCertFile="$PKI/server.pem"
       defaultNetstreamDriverKeyFile="$PKI/server-key.pem")
module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
input(type="imtcp" port="0" listenPortFileName="$dir/port" ruleset="bench")
ruleset(name="bench") { action(type="omfile" file="$dir/out.log") }
EOF
    if [[ $i == 1 ]]; then
        show rsyslogd -N1 -f "$dir/rsyslog.conf"
        rsyslogd -N1 -f "$dir/rsyslog.conf" >"$LOGS/$name.check" 2>&1 || { cat "$LOGS/$name.check" >&2; die "rsyslog config"; }
        sed 's/^/    | /' "$dir/rsyslog.conf"
    fi
    show rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid"
    rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$LOGS/$name.out" 2>&1 &
    local pid=$! k
    track "$pid"
    for ((k = 0; k < 300; k++)); do
        [[ -s $dir/port ]] && break
        kill -0 "$pid" 2>/dev/null || { cat "$LOGS/$name.out" >&2; die "rsyslogd exited at start"; }
        sleep 0.1
    done
    [[ -s $dir/port ]] || die "rsyslogd wrote no port file within 30 s"
    local port
    port=$(tr -dc 0-9 <"$dir/port")
    say "    rsyslogd PID $pid listening on 127.0.0.1:$port"
    [[ $i == 1 ]] && show "${SEND_CMD_SHOWN[@]/PORT/$port}"
    local load busy0 busy1 cpu0 cpu1 t0 t_done
    load=$(load1)
    thread_ticks "$pid" >"$LOGS/$name.threads0"
    busy0=$(machine_busy) cpu0=$(proc_cpu "$pid")
    t0=$(now)
    send_frames "$port" "$name"
    # Count the file's lines as it grows (only bytes added since the last poll are read).
    local out=$dir/out.log off=0 lines=0 size deadline
    deadline=$(calc %.3f "$(now) + 600")
    while :; do
        size=$(stat -c %s "$out" 2>/dev/null || echo 0)
        if ((size > off)); then
            lines=$((lines + $(dd if="$out" iflag=skip_bytes,count_bytes skip="$off" count=$((size - off)) bs=1M status=none | wc -l)))
            off=$size
        fi
        if ((lines >= N)); then t_done=$(now); break; fi
        awk "BEGIN { exit !($(now) > $deadline) }" && die "rsyslog wrote only $lines of $N lines after 600 s"
        sleep "$POLL"
    done
    busy1=$(machine_busy) cpu1=$(proc_cpu "$pid")
    thread_ticks "$pid" >"$LOGS/$name.threads1"
    local hwm
    hwm=$(vm_hwm_kb "$pid")
    kill -TERM "$pid"
    wait "$pid" || true
    untrack "$pid"
    local span rate rs_cpu others
    span=$(calc "$t_done - $t0")
    rate=$(calc '%.0f' "$N / $span")
    rs_cpu=$(calc '%.2f' "$cpu1 - $cpu0")
    others=$(others "$busy0" "$busy1" "$rs_cpu" "$SOCAT_CPU")
    say "    sent in $(calc '%.2f' "$T_SENT - $t0") s; $lines lines in the file at $(calc '%.2f' "$span") s = $(thousands "$rate") lines/s"
    say "    CPU: rsyslogd $rs_cpu s ($(calc '%.2f' "$rs_cpu / $span") cores), socat $SOCAT_CPU s, rest of the machine $others s;" \
        "rsyslogd peak RSS $(mib "$hwm") MiB"
    say "    rsyslogd threads: $(thread_report "$LOGS/$name.threads0" "$LOGS/$name.threads1" "$span")"
    RS_RATE+=("$rate") RS_LOAD+=("$load") RS_RSS+=("$hwm")
    rm -f "$out"
}

# ------------------------------------------------------------- 3. HTTPS

write_lua() {
    cat >"$WORK/post.lua" <<EOF
-- POST /v1/logs with $BODY_LINES combined lines; counts answers by status.
-- DELAY_MS (environment) > 0: each connection waits a random 0.5-1.5 x
-- DELAY_MS between its requests (wrk's delay(), not part of the latency).
local f = assert(io.open("$BODY", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local mean = tonumber(os.getenv("DELAY_MS") or "0")
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0; codes = "" end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1; if #codes < 200 then codes = codes .. status .. "," end end
end
if mean > 0 then
  function delay() return math.floor(mean * (0.5 + math.random())) end
end
function done(summary, latency, requests)
  local o, x, c = 0, 0, ""
  for _, t in ipairs(threads) do o = o + t:get("ok"); x = x + t:get("other"); c = c .. t:get("codes") end
  local e = summary.errors
  io.write(string.format("bench: ok %d other %d duration_us %d requests %d p50_us %d p90_us %d p99_us %d max_us %d errors %d codes [%s]\n",
    o, x, summary.duration, summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, c))
end
EOF
}

# http_run NAME DELAY_MS: one wrk run against a fresh agent; sets H_* figures.
H_LINES=() H_REQ=() H_WP50=() H_WP99=() H_AP50=() H_AP99=() H_RSS=() H_LOAD=() H_BAD=()
http_run() {
    local name=$1 delay=$2 dir=$WORK/$1
    say "  -- $name (load $(loads))"
    new_agent_dir "$dir"
    start_agent "$name" "$dir"
    local cmd=(wrk -t"$HTTP_THREADS" -c"$HTTP_CONNS" -d"${HTTP_SECS}s" --timeout 10s --latency -s "$WORK/post.lua"
        "https://127.0.0.1:$HTTPS_PORT/v1/logs")
    if [[ $delay != 0 ]]; then printf '  + DELAY_MS=%s' "$delay"; show "${cmd[@]}" | sed 's/^  +//'; else show "${cmd[@]}"; fi
    local load cpu0 cpu1 busy0 busy1
    load=$(load1)
    thread_ticks "$AGENT_PID" >"$LOGS/$name.threads0"
    busy0=$(machine_busy) cpu0=$(proc_cpu "$AGENT_PID")
    # Scrape /metrics every 0.1 s during the load: the exporter's summary
    # keeps only the samples of the newest 64-sample block of each scrape
    # (see the notes printed at the end), so a single scrape at the end
    # would describe the last few requests only.
    (while :; do curl -s -o /dev/null --max-time 2 "http://$OPS/metrics" || true; sleep 0.1; done) &
    local scraper=$!
    track "$scraper"
    DELAY_MS=$delay /usr/bin/time -f '%e %U %S' -o "$LOGS/$name.wrk-time" "${cmd[@]}" >"$LOGS/$name.wrk" 2>&1 ||
        { cat "$LOGS/$name.wrk" >&2; die "wrk failed"; }
    busy1=$(machine_busy) cpu1=$(proc_cpu "$AGENT_PID")
    thread_ticks "$AGENT_PID" >"$LOGS/$name.threads1"
    kill "$scraper" 2>/dev/null || true
    wait "$scraper" 2>/dev/null || true
    untrack "$scraper"
    # Requests wrk had sent when it stopped are still made durable (not
    # acknowledged): wait until the count settles before reading it.
    local before after k
    before=$(durable)
    for ((k = 0; k < 50; k++)); do
        sleep 0.2
        after=$(durable)
        [[ $after == "$before" ]] && break
        before=$after
    done
    sed -n '/Latency Distribution/,/requests in/p' "$LOGS/$name.wrk" | sed 's/^/    wrk|/'
    grep -E 'Non-2xx|Socket errors' "$LOGS/$name.wrk" | sed 's/^/    wrk|/' || true
    local b ok other dur p50 p99 errs codes
    b=$(grep '^bench: ' "$LOGS/$name.wrk") || die "no summary from the wrk script"
    read -r ok other dur p50 p99 errs codes < <(awk '{ for (i = 2; i < NF; i += 2) v[$i] = $(i + 1) }
        END { print v["ok"], v["other"], v["duration_us"], v["p50_us"], v["p99_us"], v["errors"], v["codes"] }' <<<"$b")
    local hwm
    hwm=$(vm_hwm_kb "$AGENT_PID")
    metrics >"$LOGS/$name.metrics"
    local n_durable ap50 ap99
    n_durable=$(awk '/^logseal_records_durable[{ ]/ { s += $2 } END { printf "%.0f", s }' "$LOGS/$name.metrics")
    # logseal_ack_seconds is a histogram: a quantile is the upper bound of
    # the first bucket whose cumulative count reaches it.
    ap50=$(hist_quantile logseal_ack_seconds 0.5 "$LOGS/$name.metrics")
    ap99=$(hist_quantile logseal_ack_seconds 0.99 "$LOGS/$name.metrics")
    local amean amin amax
    amean=$(awk '/^logseal_ack_seconds_sum/ { s = $2 } /^logseal_ack_seconds_count/ { n = $2 } END { if (n) printf "%.1f", 1000 * s / n }' "$LOGS/$name.metrics")
    amin="n/a"
    amax="<= $(hist_quantile logseal_ack_seconds 1 "$LOGS/$name.metrics")"
    local t_sigterm
    t_sigterm=$(now)
    stop_agent
    local secs lines reqs agent_cpu wrk_cpu others
    secs=$(calc "$dur / 1e6")
    lines=$(calc '%.0f' "$ok * $BODY_LINES / $secs")
    reqs=$(calc '%.1f' "$ok / $secs")
    agent_cpu=$(calc '%.2f' "$cpu1 - $cpu0")
    wrk_cpu=$(awk '{ printf "%.2f", $2 + $3 }' "$LOGS/$name.wrk-time")
    others=$(others "$busy0" "$busy1" "$agent_cpu" "$wrk_cpu")
    say "    200: $ok, other answers: $other${codes:+ ($codes)}, socket errors: $errs; $reqs requests/s = $(thousands "$lines") lines/s acknowledged"
    say "    latency wrk p50 $(calc '%.1f' "$p50 / 1000") ms, p99 $(calc '%.1f' "$p99 / 1000") ms;" \
        "agent logseal_ack_seconds p50 $(calc '%.1f' "${ap50:-0}") ms, p99 $(calc '%.1f' "${ap99:-0}") ms" \
        "(min $amin, max $amax, mean of all from _sum/_count $amean ms)"
    say "    records durable $n_durable once settled (>= 200 answers x $BODY_LINES = $((ok * BODY_LINES)): $(verdict "$n_durable >= $ok * $BODY_LINES"));" \
        "SIGTERM -> exit $(calc '%.2f' "$T_EXIT - $t_sigterm") s; peak RSS $(mib "$hwm") MiB"
    say "    at the end of the load: files sealed $(per_stream logseal_files_sealed "$LOGS/$name.metrics"); WAL bytes" \
        "$(per_stream logseal_wal_bytes "$LOGS/$name.metrics")"
    say "    CPU: agent $agent_cpu s ($(calc '%.2f' "$agent_cpu / $secs") cores), wrk $wrk_cpu s, rest of the machine $others s"
    say "    agent threads: $(thread_report "$LOGS/$name.threads0" "$LOGS/$name.threads1" "$secs")"
    H_LINES+=("$lines") H_REQ+=("$reqs") H_WP50+=("$(calc '%.1f' "$p50 / 1000")") H_WP99+=("$(calc '%.1f' "$p99 / 1000")")
    H_AP50+=("$(calc '%.1f' "${ap50:-0}")") H_AP99+=("$(calc '%.1f' "${ap99:-0}")") H_RSS+=("$hwm") H_LOAD+=("$load")
    H_BAD+=("$((other + errs))")
    H_DURABLE=$n_durable
    rm -rf "$dir/wal"
}

# ------------------------------------------------------------------- main

say "logseal agent benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "command:  benches/agent.sh${ARGS:+ $ARGS}   (from $ROOT)"
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
changes=$(git status --porcelain 2>/dev/null | awk '{ print $2 }' | paste -sd ' ' -)
say "commit:   $commit${changes:+ + uncommitted: $changes}"
say "cpu:      $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); nproc: $(nproc)"
say "memory:   $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
say "load:     $(loads) (1/5/15 min)"
say "sizes:    syslog $N frames; HTTPS ${HTTP_SECS} s per load, $HTTP_THREADS threads, $HTTP_CONNS connections," \
    "$BODY_LINES lines per request; $RUNS runs each, medians"

say ""
say "== tools"
missing=()
command -v socat >/dev/null || missing+=(socat)
command -v wrk >/dev/null || missing+=(wrk)
if [[ ${#missing[@]} -gt 0 ]]; then
    show apt-get update
    apt-get update -qq
    show apt-get install -y "${missing[@]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v rsyslogd >/dev/null || die "rsyslogd is not installed (apt-get install rsyslog rsyslog-openssl)"
for m in imtcp lmnsd_ossl omfile; do
    [[ $m == omfile ]] && continue # built in
    ls /usr/lib/*/rsyslog/$m.so >/dev/null 2>&1 || die "rsyslog module $m missing (apt-get install rsyslog-openssl)"
done
say "    $(socat -V | sed -n 's/^socat version \([^ ]*\).*/socat \1/p'); $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2);" \
    "$(rsyslogd -v | head -n 1 | cut -d' ' -f1-3); $(openssl version | cut -d' ' -f1-2); $(rustc --version 2>/dev/null || echo 'rustc ?')"

say ""
say "== build"
show cargo build --release -p logseal-cli -p logseal-benches
cargo build --release -p logseal-cli -p logseal-benches 2>&1 | tail -n 1 | sed 's/^ */    /'

rm -rf "$WORK"
mkdir -p "$LOGS" "$WORK/input"
say "work dir: $WORK"

say ""
say "== setup"
# The development PKI (logseal_ingest::tls::DevPki) as `logseal up` makes
# it on first start: started once on free ports, stopped at once.
show "$BIN/logseal" up --data-dir "$WORK/pki-up" --any-port
"$BIN/logseal" up --data-dir "$WORK/pki-up" --any-port >"$LOGS/pki-up.out" 2>"$LOGS/pki-up.err" &
up_pid=$!
track "$up_pid"
for ((k = 0; k < 300; k++)); do
    grep -q '^logseal is running' "$LOGS/pki-up.out" 2>/dev/null && break
    kill -0 "$up_pid" 2>/dev/null || { cat "$LOGS/pki-up.err" >&2; die "logseal up exited"; }
    sleep 0.1
done
kill -TERM "$up_pid"
wait "$up_pid" || die "logseal up did not stop cleanly"
untrack "$up_pid"
PKI=$WORK/pki-up/tls
TOKEN_SHA=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
say "    PKI: $PKI (ca.pem, server.pem for localhost/127.0.0.1, client.pem = client-1.logseal.local)"

LINES_FILE=$WORK/input/combined-$N.log
FRAMES=$WORK/input/frames-$N
show "$BIN/gen-access-log" --format combined --seed "$SEED" --lines "$N" --malformed-percent 0
"$BIN/gen-access-log" --format combined --seed "$SEED" --lines "$N" --malformed-percent 0 >"$LINES_FILE" 2>"$LOGS/gen.err"
say "    $(cat "$LOGS/gen.err")"
# RFC 5424 octet-counted frames: "<LEN> <190>1 TIMESTAMP HOST APP - - - LINE",
# LEN counting bytes (C locale), no trailing LF.
# shellcheck disable=SC2016  # awk's $0, not the shell's
awk_prog='{ m = "<190>1 2026-11-28T00:00:00Z web nginx - - - " $0; printf "%d %s", length(m), m }'
say "  + LC_ALL=C awk '$awk_prog' $LINES_FILE > $FRAMES"
LC_ALL=C awk "$awk_prog" "$LINES_FILE" >"$FRAMES"
say "    $FRAMES: $(stat -c %s "$FRAMES") bytes, $(calc '%.1f' "$(stat -c %s "$FRAMES") / $N") bytes/frame"
BODY=$WORK/input/body-$BODY_LINES.txt
head -n "$BODY_LINES" "$LINES_FILE" >"$BODY"
say "    HTTPS body: first $BODY_LINES lines, $(stat -c %s "$BODY") bytes"
write_lua
sync
cat "$FRAMES" >/dev/null
SEND_CMD_SHOWN=(socat -u -b 1048576 "FILE:$FRAMES"
    "OPENSSL:127.0.0.1:PORT,cafile=$PKI/ca.pem,cert=$PKI/client.pem,key=$PKI/client-key.pem,verify=1")

say ""
say "== 1+2. syslog over TLS: $N frames, one socat connection; agent and rsyslog runs alternate"
say "    (ingest = until /metrics shows $N durable; end to end = until the agent has exited after SIGTERM,"
say "     sent as soon as the last record is durable: it seals everything pending before it exits)"
for ((r = 1; r <= RUNS; r++)); do
    syslog_run "$r"
    rsyslog_run "$r"
done
SYS_INGEST_MED=$(median "${SYS_INGEST[@]}")
SYS_E2E_MED=$(median "${SYS_E2E[@]}")
RS_MED=$(median "${RS_RATE[@]}")
say "  agent ingest: ${SYS_INGEST[*]} lines/s (median $SYS_INGEST_MED); end to end: ${SYS_E2E[*]} (median $SYS_E2E_MED)"
say "  rsyslog: ${RS_RATE[*]} lines/s (median $RS_MED); loads before runs: agent ${SYS_LOAD[*]}, rsyslog ${RS_LOAD[*]}"

say ""
say "== 3. HTTPS: POST $BODY_LINES lines per request, bearer token, $HTTP_THREADS threads x $HTTP_CONNS connections, ${HTTP_SECS} s"
for ((r = 1; r <= RUNS; r++)); do
    http_run "https-full-$r" 0
    if [[ $r == 1 ]]; then
        verify_records "$WORK/https-full-1" https-full-1-verify
        say "    verify --deep: $VERIFY_OK, $VERIFIED records (durable before stop: $H_DURABLE): $(verdict "$VERIFIED == $H_DURABLE")"
        HTTP_VERIFY=$([[ $VERIFY_OK == intact && $VERIFIED == "$H_DURABLE" ]] && echo pass || echo FAIL)
    fi
    rm -rf "$WORK/https-full-$r"
done
F_LINES=$(median "${H_LINES[@]}") F_REQ=$(median "${H_REQ[@]}") F_WP50=$(median "${H_WP50[@]}") F_WP99=$(median "${H_WP99[@]}")
F_AP50=$(median "${H_AP50[@]}") F_AP99=$(median "${H_AP99[@]}") F_RSS=$(median "${H_RSS[@]}") F_LOAD="${H_LOAD[*]}"
F_BAD=$(printf '%s\n' "${H_BAD[@]}" | awk '{ s += $1 } END { print s }')
F_RSS_MAX=$(printf '%s\n' "${H_RSS[@]}" | sort -g | tail -n 1)
F_RSS_ALL=("${H_RSS[@]}")
F_WP99_ALL="${H_WP99[*]}"
# Half load: the same connections, each waiting 0.5-1.5 x DELAY_MS between
# requests, DELAY_MS = connections / (half the full-load request rate).
DELAY=$(calc '%.0f' "$HTTP_CONNS * 1000 / ($F_REQ / 2)")
say ""
say "== 3b. HTTPS at about half load: $HTTP_CONNS connections paced by delay() (mean $DELAY ms between a connection's requests;"
say "       full load was $F_REQ requests/s, so about $(calc '%.0f' "$F_REQ / 2") requests/s is asked for)"
H_LINES=() H_REQ=() H_WP50=() H_WP99=() H_AP50=() H_AP99=() H_RSS=() H_LOAD=() H_BAD=()
for ((r = 1; r <= RUNS; r++)); do
    http_run "https-half-$r" "$DELAY"
    rm -rf "$WORK/https-half-$r"
done
S_LINES=$(median "${H_LINES[@]}") S_REQ=$(median "${H_REQ[@]}") S_WP50=$(median "${H_WP50[@]}") S_WP99=$(median "${H_WP99[@]}")
S_AP50=$(median "${H_AP50[@]}") S_AP99=$(median "${H_AP99[@]}") S_RSS=$(median "${H_RSS[@]}") S_LOAD="${H_LOAD[*]}"
S_BAD=$(printf '%s\n' "${H_BAD[@]}" | awk '{ s += $1 } END { print s }')
S_RSS_MAX=$(printf '%s\n' "${H_RSS[@]}" | sort -g | tail -n 1)

# ----------------------------------------------------------------- table

ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5|$6|$7"); }
k() { thousands "$1"; }
# rss_verdict KB...: pass when every run stayed <= 300 MiB, else how many did not.
rss_verdict() {
    local over=0 v
    for v in "$@"; do ((v <= 300 * 1024)) || over=$((over + 1)); done
    if ((over == 0)); then echo pass; else echo "FAIL ($over of $# runs over)"; fi
}
SYS_RSS_MED=$(median "${SYS_RSS[@]}") SYS_RSS_MAX=$(printf '%s\n' "${SYS_RSS[@]}" | sort -g | tail -n 1)
row "syslog/TLS ingest (durable)" "$(k "$SYS_INGEST_MED") lines/s" "rsyslog: $(k "$RS_MED") lines/s" \
    "$(calc '%.2f' "$SYS_INGEST_MED / $RS_MED")x" ">= 250k/s; >= 1.0x" \
    "$(verdict "$SYS_INGEST_MED >= 250000"); $(verdict "$SYS_INGEST_MED >= $RS_MED")" "${SYS_LOAD[*]}"
row "syslog/TLS end to end (sealed)" "$(k "$SYS_E2E_MED") lines/s" "rsyslog: $(k "$RS_MED") lines/s" \
    "$(calc '%.2f' "$SYS_E2E_MED / $RS_MED")x" ">= 250k/s; >= 1.0x" \
    "$(verdict "$SYS_E2E_MED >= 250000"); $(verdict "$SYS_E2E_MED >= $RS_MED")" "${RS_LOAD[*]}"
verify_all=pass
for v in "${SYS_VERIFY[@]}"; do [[ $v == pass ]] || verify_all=FAIL; done
row "verify --deep = $N records" "${SYS_VERIFY[*]}" "-" "-" "all runs intact, N" "$verify_all" "-"
row "peak RSS, syslog runs" "$(mib "$SYS_RSS_MED") MiB (max $(mib "$SYS_RSS_MAX"))" "rsyslogd: $(mib "$(median "${RS_RSS[@]}")") MiB" "-" \
    "<= 300 MiB" "$(rss_verdict "${SYS_RSS[@]}")" "-"
row "HTTPS full load, acked" "$(k "$F_LINES") lines/s ($F_REQ req/s)" "-" "-" "-" \
    "info; non-2xx+errors: $F_BAD" "$F_LOAD"
row "HTTPS full load, latency" "wrk p50 $F_WP50 / p99 $F_WP99 ms" "agent ack p50 $F_AP50 / p99 $F_AP99 ms" "-" "-" "info" "$F_LOAD"
row "HTTPS verify --deep (run 1)" "${HTTP_VERIFY:-FAIL}" "-" "-" "records = durable" "${HTTP_VERIFY:-FAIL}" "-"
row "HTTPS ~half load, acked" "$(k "$S_LINES") lines/s ($S_REQ req/s)" "full: $(k "$F_LINES") lines/s" \
    "$(calc '%.2f' "$S_LINES / $F_LINES")x" "-" "info; non-2xx+errors: $S_BAD" "$S_LOAD"
row "HTTPS ~half load, p99 (wrk)" "p99 $S_WP99 ms (p50 $S_WP50)" "-" "-" "p99 <= 50 ms" "$(verdict "$S_WP99 <= 50")" "$S_LOAD"
row "HTTPS ~half load, p99 (agent)" "p99 $S_AP99 ms (p50 $S_AP50)" "logseal_ack_seconds" "-" "p99 <= 50 ms" \
    "$(verdict "$S_AP99 <= 50")" "$S_LOAD"
row "peak RSS, HTTPS full load" "$(mib "$F_RSS") MiB (max $(mib "$F_RSS_MAX"))" "-" "-" "<= 300 MiB" \
    "$(rss_verdict "${F_RSS_ALL[@]}")" "-"
row "peak RSS, HTTPS ~half load" "$(mib "$S_RSS") MiB (max $(mib "$S_RSS_MAX"))" "-" "-" "<= 300 MiB" \
    "$(rss_verdict "${H_RSS[@]}")" "-"

say ""
say "== results ($(date -u +%Y-%m-%d), load at end: $(loads); medians of $RUNS runs)"
fmt='%-30s %-32s %-36s %-7s %-20s %-30s %s\n'
# shellcheck disable=SC2059
printf "$fmt" figure value reference ratio target result "load(1m) before runs"
for r in "${ROWS[@]}"; do
    IFS='|' read -r a b c d e f g <<<"$r"
    # shellcheck disable=SC2059
    printf "$fmt" "$a" "$b" "$c" "$d" "$e" "$f" "$g"
done
[[ $QUICK == 1 ]] && say "(quick run: sizes are smaller than the targets assume; pass/fail is indicative only)"
say "ratios: figure / reference. Peak RSS: VmHWM of the agent read before SIGTERM (pass needs every run <= 300 MiB)."
say "syslog runs, agent: ingest ${SYS_INGEST[*]}; end to end ${SYS_E2E[*]}; rsyslog ${RS_RATE[*]} lines/s"
say "HTTPS wrk p99 per run: full ${F_WP99_ALL}; ~half ${H_WP99[*]} ms; agent ack p99 ~half ${H_AP99[*]} ms"
say "peak RSS per run (MiB): syslog $(for v in "${SYS_RSS[@]}"; do printf '%s ' "$(mib "$v")"; done)| HTTPS full $(for v in "${F_RSS_ALL[@]}"; do printf '%s ' "$(mib "$v")"; done)| ~half $(for v in "${H_RSS[@]}"; do printf '%s ' "$(mib "$v")"; done)"
say "notes: the 1-min load average before a run includes this script's own previous run; \"rest of the machine\""
say "       (busy CPU seconds from /proc/stat minus the agent's or rsyslogd's and the client's) is the outside load"
say "       plus this script's polling (in the HTTPS runs mostly the 10 Hz curl of /metrics, ~0.09 core)."
say "       Per-thread lists miss threads that ended during the window (each sealed file's seal-digest thread);"
say "       the process totals include them. Every HTTPS request carries the same $BODY_LINES lines, so its sealed"
say "       files compress far better than real traffic would (sealing is cheaper than for the syslog input)."
say "       logseal_ack_seconds is a histogram (buckets 1, 2, 5, 10, 20, 50, 100, 200, 500 ms, ...): the agent-side"
say "       p50/p99 are bucket upper bounds, so they over-state latency by up to one bucket."
exit 0
