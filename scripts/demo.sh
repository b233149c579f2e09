#!/usr/bin/env bash
# logseal on its embedded default: a local data directory (./logseal-data,
# or $LOGSEAL_DATA_DIR) with local keys. Seals 100,000 generated access-log
# lines, verifies the store with the public key only and then with the keys,
# and proves one record to a third party.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet -p logseal-cli -p logseal-benches
bin=target/release
data=${LOGSEAL_DATA_DIR:-./logseal-data}
export LOGSEAL_DATA_DIR=$data

if [ ! -f "$data/logseal.toml" ]; then
  "$bin/logseal" init
fi

log=$(mktemp --suffix=.log)
trap 'rm -f "$log" "$log.proof"' EXIT
"$bin/gen-access-log" --format combined --lines 100000 --seed "$RANDOM" > "$log"

echo "== import"
"$bin/logseal" import --stream demo "$log"
echo
echo "== verify (public key only)"
"$bin/logseal" verify --pubkey "$data/checkpoint.vkey" --stream demo
echo
echo "== verify --deep (decrypt and recompute everything)"
"$bin/logseal" verify --deep --stream demo
echo
echo "== prove one record, verify the proof offline"
"$bin/logseal" prove --stream demo --seq 42 > "$log.proof"
"$bin/logseal" verify-proof "$log.proof" --pubkey "$data/checkpoint.vkey"
