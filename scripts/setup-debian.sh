#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests drive as real clients
# (curl; rsyslog with its TLS and RELP modules), only those missing. Never
# starts or touches the system's own daemons: the tests run their own
# rsyslog instances with their own configs.
set -euo pipefail

wanted=(curl rsyslog rsyslog-gnutls rsyslog-openssl rsyslog-relp)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-debian: missing packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "setup-debian: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# policy-rc.d keeps the package scripts from starting the system rsyslog.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod +x "$policy"
  created_policy=1
fi
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || status=$?
if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
exit "${status:-0}"
