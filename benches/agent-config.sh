#!/usr/bin/env bash
# Sourced by benches/agent.sh and benches/agent-ab.sh: the benchmark's
# [agent] section, one definition for both.
#
# append_agent_config DIR PKI TOKEN_SHA: appends it to DIR/logseal.toml
# (2 shards, 2 ms group commit, files of 1M records, a 16 GiB WAL budget,
# every listener on 127.0.0.1:0, the HTTPS bearer token's SHA-256).
append_agent_config() {
    local dir=$1 pki=$2 token_sha=$3
    cat >>"$dir/logseal.toml" <<EOF

[agent]
id = "bench"
shards = 2
wal_budget_bytes = 17179869184
group_commit_ms = 2

[agent.seal]
max_records = 1000000
max_age_secs = 30

[agent.tls]
cert = "$pki/server.pem"
key = "$pki/server-key.pem"
client_ca = "$pki/ca.pem"

[agent.http]
listen = "127.0.0.1:0"
tokens = [{ name = "bench", sha256 = "$token_sha" }]

[agent.syslog]
listen = "127.0.0.1:0"

[agent.ops]
listen = "127.0.0.1:0"
EOF
}
