#!/usr/bin/env bash
# A/B of two agent binaries under the loads of benches/agent.sh, runs
# interleaved (A, B, A, B, ...) so that a change of machine load hits both.
#
#   benches/agent-ab.sh BIN_A BIN_B [ROUNDS]     # default 3 rounds
#
# Per run: syslog over TLS (the 2M-frame file, one socat connection):
# ingest and end-to-end lines/s as in agent.sh, the agent's peak RSS and
# its CPU time per line (user + system over the whole process life,
# including sealing after SIGTERM) — the steadiest figure on a noisy
# machine. Then HTTPS full load (wrk -t2 -c16, 10 s, 1000 lines per
# request): acknowledged lines/s and peak RSS.
#
# Needs the inputs of a full `benches/agent.sh` run (target/bench/agent/
# input and pki-up). Work files go to target/bench/ab/. Every process it
# starts is stopped by PID on exit, also on failure.
set -euo pipefail
# shellcheck source=benches/agent-config.sh
source "$(dirname "${BASH_SOURCE[0]}")/agent-config.sh"

[[ $# -ge 2 ]] || { echo "usage: $0 BIN_A BIN_B [ROUNDS]" >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2") ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IN=$ROOT/target/bench/agent/input PKI=$ROOT/target/bench/agent/pki-up/tls
WORK=$ROOT/target/bench/ab
FRAMES=$IN/frames-2000000 N=2000000 TOKEN=logseal-bench-token
for f in "$FRAMES" "$IN/body-1000.txt" "$PKI/client.pem" "$A" "$B"; do
    [[ -e $f ]] || { echo "missing $f (run benches/agent.sh once first)" >&2; exit 2; }
done
for tool in socat wrk curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (benches/agent.sh installs it)" >&2; exit 2; }
done
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cat >"$WORK/post.lua" <<EOF
local f = assert(io.open("$IN/body-1000.txt", "rb"))
wrk.method = "POST"; wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Authorization"] = "Bearer $TOKEN"
function done(summary) io.write(string.format("requests %d\n", summary.requests)) end
EOF

# start BIN DIR: a fresh data dir with the benchmark's [agent], agent started.
start() {
    local bin=$1 dir=$2
    "$bin" init --data-dir "$dir" --deployment bench.example/ab >/dev/null
    append_agent_config "$dir" "$PKI" "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
    /usr/bin/time -f '%U %S' -o "$dir/cpu" "$bin" agent --data-dir "$dir" >"$dir/out" 2>"$dir/err" &
    TIME_PID=$!
    PIDS+=("$TIME_PID")
    for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
    AGENT_PID=$(pgrep -P "$TIME_PID")
    PIDS+=("$AGENT_PID")
    SYSLOG=$(grep -o 'syslog=[0-9.:]*' "$dir/out" | cut -d= -f2)
    HTTPS=$(grep -o 'https=[0-9.:]*' "$dir/out" | cut -d= -f2)
    OPS=$(grep -o 'ops=[0-9.:]*' "$dir/out" | cut -d= -f2)
}
stop() { kill -TERM "$AGENT_PID"; wait "$TIME_PID" || true; }
hwm_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$AGENT_PID/status"; }
durable() { curl -s "http://$OPS/metrics" | awk '/^logseal_records_durable[{ ]/ { s += $2 } END { printf "%.0f", s }'; }

say() { echo "$*" | tee -a "$WORK/runs.txt"; }

syslog_run() {
    local side=$1 bin=$2 dir=$3 t0 t1 t2 hwm
    start "$bin" "$dir"
    t0=$(date +%s.%N)
    socat -u -b 1048576 "FILE:$FRAMES" \
        "OPENSSL:$SYSLOG,cafile=$PKI/ca.pem,cert=$PKI/client.pem,key=$PKI/client-key.pem,verify=1,commonname=localhost"
    until [[ $(durable) -ge $N ]]; do sleep 0.05; done
    t1=$(date +%s.%N) hwm=$(hwm_mib)
    stop
    t2=$(date +%s.%N)
    say "$side" "$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v h="$hwm" -v n=$N '{
        printf "syslog: ingest %.0f/s, end to end %.0f/s, peak RSS %d MiB, CPU %.2f us/line\n",
            n / (b - a), n / (c - a), h, ($1 + $2) * 1e6 / n }' "$dir/cpu")"
}

https_run() {
    local side=$1 bin=$2 dir=$3 requests hwm
    start "$bin" "$dir"
    requests=$(wrk -t2 -c16 -d10s --timeout 10s -s "$WORK/post.lua" "https://$HTTPS/v1/logs" | awk '/^requests/ { print $2 }')
    hwm=$(hwm_mib)
    stop
    say "$side" "https: $((requests * 100)) lines/s acknowledged (full load), peak RSS $hwm MiB"
}

echo "A = $A"
echo "B = $B"
echo "$(nproc) cores, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
    for side in A B; do
        bin=$A; [[ $side == B ]] && bin=$B
        syslog_run "$side" "$bin" "$WORK/$side-$round-syslog"
        https_run "$side" "$bin" "$WORK/$side-$round-https"
        rm -rf "$WORK/$side-$round-syslog/wal" "$WORK/$side-$round-https/wal"
    done
done
echo "medians:"
for side in A B; do
    grep "^$side syslog" "$WORK/runs.txt" | awk '{ print $14 }' | sort -n | awk -v s=$side '{ v[NR] = $1 } END { printf "%s CPU us/line %s;", s, v[int((NR + 1) / 2)] }'
    grep "^$side syslog" "$WORK/runs.txt" | awk '{ print $8 }' | tr -d '/s,' | sort -n | awk '{ v[NR] = $1 } END { printf " end to end %s/s;", v[int((NR + 1) / 2)] }'
    grep "^$side https" "$WORK/runs.txt" | awk '{ print $3 }' | sort -n | awk '{ v[NR] = $1 } END { printf " https %s lines/s;", v[int((NR + 1) / 2)] }'
    grep "^$side" "$WORK/runs.txt" | grep -o 'peak RSS [0-9]*' | awk '{ print $3 }' | sort -n | tail -1 | awk '{ printf " max peak RSS %s MiB\n", $1 }'
done
