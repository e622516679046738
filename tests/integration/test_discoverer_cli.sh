#!/usr/bin/env bash
# test_discoverer_cli.sh - adding a device with the CLI gets it discovered within seconds, then
# polled: scheduler, discoverer and poller running, `distpoll device add` of a simulated
# Arista-like device -> devices.last_discovered (os, ports) and then devices.last_polled are set,
# each within a few seconds (device add sends RELOAD to the local scheduler). `distpoll device
# rediscover` later gets it discovered again within seconds, once.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
[ -x "$B/poller" ] && [ -x "$B/scheduler" ] || fail "needs $B/scheduler and $B/poller"

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
dp_start_dpsim SIM 127.0.9.1 --profile "synthetic:ports=32,hc=1,cpus=4,storage=3" ||
    fail "dpsim did not answer"

P=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=node-c DP_CONTROL_DIR="$DP_TMP" DP_SCHEDULER_BIND="tcp://127.0.0.1:$P" \
    DP_SCHEDULERS="tcp://127.0.0.1:$P" DP_POLLER_INTERVAL=8s DP_DISCOVERY_INTERVAL=6h \
    DP_JOB_TIMEOUT=10s DP_LOCK_TTL=3s DP_SNMP_TIMEOUT=500ms
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -B -e "$1"; }
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
for d in scheduler discoverer poller; do
    "$B/$d" --env-file "$env" >"$DP_TMP/$d.log" 2>&1 &
    dp_register $! "$DP_TMP/$d.log"
done
leads() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/scheduler-node-c.ctl" STATS 1000 | grep -qx 'is_leader: 1'; }
dp_wait_until 15 leads || fail "scheduler did not lead"
joined() { [ "$(grep -c 'msg="worker joined"' "$DP_TMP/scheduler.log")" -ge 2 ]; }
dp_wait_until 10 joined || fail "discoverer and poller did not join: $(grep worker "$DP_TMP/scheduler.log")"

t0=$(date +%s%3N)
out=$("$B/distpoll" --env-file "$env" device add arista.test --address 127.0.9.1 \
    --port "$SIM_PORT" 2>&1) || fail "device add: $out"
ID=$(sql "SELECT device_id FROM devices WHERE hostname = 'arista.test'")
[ -n "$ID" ] || fail "device not added: $out"
discovered() { [ "$(sql "SELECT last_discovered IS NOT NULL FROM devices WHERE device_id = $ID")" = 1 ]; }
dp_wait_until 15 discovered || fail "not discovered within 15 s of device add"
t1=$(date +%s%3N)
polled() { [ "$(sql "SELECT last_polled IS NOT NULL FROM devices WHERE device_id = $ID")" = 1 ]; }
dp_wait_until 20 polled || fail "discovered but not polled within 20 s"
t2=$(date +%s%3N)
row=$(sql "SELECT os, status, (SELECT COUNT(*) FROM ports WHERE device_id = $ID AND deleted = 0),
                  (SELECT COUNT(*) FROM storage WHERE device_id = $ID AND deleted = 0),
                  (SELECT COUNT(*) FROM processors WHERE device_id = $ID AND deleted = 0)
           FROM devices WHERE device_id = $ID" | tr '\t' ' ')
[ "$row" = "linux 1 32 3 4" ] || fail "os/status/ports/storage/processors: $row"
order=$(sql "SELECT IF(last_discovered <= last_polled, 'discovered-first', 'polled-first')
             FROM devices WHERE device_id = $ID")
ok "device add -> discovered in $((t1 - t0)) ms, polled by $((t2 - t0)) ms ($order); $row"

grep -q "^scheduler on this node reloaded (OK devices=1)" <<<"$out" || fail "device add did not tell the scheduler: $out"

# --- rediscover on demand: the scheduler forgets its done state and discovers it at once ------
first=$(sql "SELECT last_discovered FROM devices WHERE device_id = $ID")
t0=$(date +%s%3N)
out=$("$B/distpoll" --env-file "$env" device rediscover arista.test 2>&1) || fail "device rediscover: $out"
grep -q "^scheduler: OK devices=1" <<<"$out" || fail "rediscover did not reload the scheduler: $out"
again() { [ "$(sql "SELECT last_discovered > '$first' FROM devices WHERE device_id = $ID")" = 1 ]; }
dp_wait_until 10 again || fail "device rediscover did not trigger a new discovery within 10 s"
t1=$(date +%s%3N)
grep -q "msg=\"discovery requested\" device_id=$ID " "$DP_TMP/scheduler.log" || fail "scheduler did not log the request"
ok "device rediscover -> discovered again in $((t1 - t0)) ms"
# ... once: later reloads (every 2 s here) do not discover it again
second=$(sql "SELECT last_discovered FROM devices WHERE device_id = $ID")
"$B/tests/testdaemon" ctl "ipc://$DP_TMP/scheduler-node-c.ctl" RELOAD 2000 | grep -q '^OK' || fail "RELOAD"
sleep 3 # a negative check: nothing may happen within the next reloads
[ "$(sql "SELECT last_discovered = '$second' FROM devices WHERE device_id = $ID")" = 1 ] ||
    fail "discovered again without a request"
[ "$(grep -c "msg=\"discovery requested\" device_id=$ID " "$DP_TMP/scheduler.log")" = 1 ] || fail "requested twice"
ok "one request, one discovery"
echo PASS
