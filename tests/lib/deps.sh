#!/usr/bin/env bash
# deps.sh - install the Debian packages distpoll needs, only those missing. Idempotent.
# Service start-up is suppressed while installing (policy-rc.d), so the system's own
# mariadb/redis/snmpd/rrdcached are never started or touched: distpoll runs private copies.
set -euo pipefail
PKGS=(build-essential pkg-config git clang-format valgrind
      libczmq-dev libzmq3-dev libhiredis-dev libmariadb-dev libsnmp-dev librrd-dev libmsgpack-dev libsodium-dev libmicrohttpd-dev zlib1g-dev
      mariadb-server redis-server redis-sentinel rrdcached rrdtool snmpd snmp iproute2 procps docker-compose jq curl)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created=1
fi
trap '[ $created -eq 1 ] && $SUDO rm -f "$policy"' EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
