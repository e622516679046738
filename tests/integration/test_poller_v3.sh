#!/usr/bin/env bash
# test_poller_v3.sh - SNMPv3 through the poller against a real net-snmp snmpd: authPriv
# (SHA-256/AES) works (engine id discovered without blocking, then cached for the next poll),
# a wrong privacy passphrase is reported as "no response (v3 priv mismatch?)", a wrong auth
# passphrase as an authentication failure, and v2c to the same agent still works.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
T=$B/tests

dp_start_mariadb DB || fail "mariadb"
dp_start_redis REDIS || fail "redis"
# one agent per v3 device: net-snmp keeps USM keys per (engine id, user), so one agent
# reached with two different passphrases at once would mix them up
dp_start_snmpd SNMPD || fail "snmpd"
dp_start_snmpd SNMPD2 || fail "snmpd 2"
dp_start_snmpd SNMPD3 || fail "snmpd 3"
SCHED_PORT=$(dp_free_port)
ENV=$DP_TMP/poller.env
dp_node_env "$ENV" NODE_ID=poller-v3 APP_KEY=test-app-key-0123456789abcdef \
    DP_SCHEDULERS="tcp://127.0.0.1:$SCHED_PORT" DP_RRDWRITER="tcp://127.0.0.1:$(dp_free_port)" \
    DP_CONTROL_DIR="$DP_TMP" DP_CURVE=false DP_SNMP_TIMEOUT=500ms DP_SNMP_RETRIES=1
env -i PATH="$PATH" "$B/distpoll" --env-file "$ENV" db migrate >/dev/null || fail "migrate"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
P=$SNMPD_PORT
sql "INSERT INTO devices (device_id, hostname, overwrite_ip, port, snmpver, community, authlevel,
       authname, authpass, authalgo, cryptopass, cryptoalgo) VALUES
     (1, 'v3ok', '127.0.0.1', $P, 'v3', NULL, 'authPriv', '$SNMPD_V3_USER', '$SNMPD_V3_AUTH',
      'SHA-256', '$SNMPD_V3_PRIV', 'AES'),
     (2, 'v3badpriv', '127.0.0.1', $SNMPD2_PORT, 'v3', NULL, 'authPriv', '$SNMPD_V3_USER', '$SNMPD_V3_AUTH',
      'SHA-256', 'wrong-priv-passphrase', 'AES'),
     (3, 'v3badauth', '127.0.0.1', $SNMPD3_PORT, 'v3', NULL, 'authPriv', '$SNMPD_V3_USER',
      'wrong-auth-passphrase', 'SHA-256', '$SNMPD_V3_PRIV', 'AES'),
     (4, 'v2c', '127.0.0.1', $P, 'v2c', 'public', NULL, NULL, NULL, NULL, NULL, NULL)"
sql "SELECT device_id, hostname FROM devices ORDER BY device_id" >"$DP_TMP/devices"

"$B/poller" --env-file "$ENV" -v >"$DP_TMP/poller.log" 2>&1 &
POLLER=$!
dp_register $POLLER "$DP_TMP/poller.log"
CTL="ipc://$DP_TMP/poller-poller-v3.ctl"
dp_wait_until 10 "$T/testdaemon" ctl "$CTL" PING || fail "poller does not answer PING"
sched() { "$T/fakesched" --bind "tcp://127.0.0.1:$SCHED_PORT" --epoch 1 --cycle "$1" \
    --job-base "$1" --timeout 30 <"$DP_TMP/devices" >"$2"; }

C=$(date +%s)
sched "$C" "$DP_TMP/r1.json" || fail "no results: $(cat "$DP_TMP/r1.json")"
r() { grep "\"device_id\":$1," "$2"; }
r 1 "$DP_TMP/r1.json" | grep -q '"status":"ok"' || fail "v3 authPriv: $(r 1 "$DP_TMP/r1.json")"
r 2 "$DP_TMP/r1.json" | grep -q '"status":"down".*v3 priv mismatch' ||
    fail "wrong priv: $(r 2 "$DP_TMP/r1.json")"
r 3 "$DP_TMP/r1.json" | grep -qi '"status":"down".*authentication' ||
    fail "wrong auth: $(r 3 "$DP_TMP/r1.json")"
r 4 "$DP_TMP/r1.json" | grep -q '"status":"ok"' || fail "v2c: $(r 4 "$DP_TMP/r1.json")"
[ "$(sql "SELECT sysName FROM devices WHERE device_id=1")" = SNMPD ] || fail "v3 sysName not stored"
n=$(sql "SELECT COUNT(*) FROM ports WHERE device_id=1")
[ "$n" -ge 1 ] || fail "v3 device has no ports"
[ "$n" -eq "$(sql "SELECT COUNT(*) FROM ports WHERE device_id=4")" ] || fail "v3 and v2c see different ports"
echo "ok: v3 authPriv SHA-256/AES polled ($n ports), wrong priv and wrong auth named, v2c ok"

sleep 1
sched $((C + 1)) "$DP_TMP/r2.json" || fail "second poll"
r 1 "$DP_TMP/r2.json" | grep -q '"status":"ok"' || fail "second v3 poll: $(r 1 "$DP_TMP/r2.json")"
[ "$(sql "SELECT COUNT(*) FROM ports WHERE device_id=1 AND ifInOctets_rate IS NOT NULL")" -ge 1 ] ||
    fail "no v3 rates after two polls"
echo "ok: second v3 poll with the cached engine id, rates stored"
kill -TERM $POLLER
wait $POLLER || fail "poller exit code"
echo PASS
