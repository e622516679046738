#!/usr/bin/env bash
# test_poller_metrics.sh - the poller's METRICS through a real rrdwriter into rrdcached: two polls
# of 3 simulated devices are accepted (none rejected) and acknowledged (nothing pending), the
# port, poller-perf, uptime, processor, storage and mempool files exist under the device's
# folder, and each port file's last update is the time the device answered the second poll
# (not the job's cycle_ts: the two jobs are for past cycles).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh
T=$B/tests
export APP_KEY=$RW_APP_KEY

dp_start_mariadb DB || fail "mariadb"
dp_start_redis REDIS || fail "redis"
dp_start_rrdcached RC || fail "rrdcached"
RW_STEP=300
rw_env "$DP_TMP/rw.env"
rw_start rrdwriter
SCHED_PORT=$(dp_free_port)
dp_start_dpsim SIM 127.3.0.1 --profile "127.3.0.0/24=synthetic:ports=4,cpus=2,storage=3" ||
    fail "dpsim does not answer"

ENV=$DP_TMP/poller.env
dp_node_env "$ENV" NODE_ID=poller-m1 APP_KEY="$RW_APP_KEY" \
    DP_SCHEDULERS="tcp://127.0.0.1:$SCHED_PORT" DP_RRDWRITER="tcp://127.0.0.1:$RW_PORT" \
    DP_CONTROL_DIR="$DP_TMP/ctl" DP_CURVE=true DP_RRD_STEP=300s
env -i PATH="$PATH" "$B/distpoll" --env-file "$ENV" db migrate >/dev/null || fail "migrate"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
sql "INSERT INTO devices (hostname, overwrite_ip, port) VALUES
     ('m1', '127.3.0.1', $SIM_PORT), ('m2', '127.3.0.2', $SIM_PORT), ('m3', '127.3.0.3', $SIM_PORT)"
sql "SELECT device_id, hostname FROM devices" >"$DP_TMP/devices"

"$B/poller" --env-file "$ENV" >"$DP_TMP/poller.log" 2>&1 &
dp_register $! "$DP_TMP/poller.log"
POLLER=$!
pctl() { "$T/testdaemon" ctl "ipc://$DP_TMP/ctl/poller-poller-m1.ctl" "$@"; }
pstat() { pctl STATS | awk -F': ' -v k="$1" '$1 == k { print $2 }'; }
dp_wait_until 10 pctl PING || fail "poller does not answer PING"

now=$(date +%s)
C1=$((now - now % 300 - 300))
C2=$((C1 + 300))
for c in $C1 $C2; do
    [ "$c" = "$C2" ] && sleep 1.1 # the RRD timestamps are in seconds: the second poll's must be later
    t_start=$(date +%s)
    "$T/fakesched" --bind "tcp://127.0.0.1:$SCHED_PORT" --curve --epoch 1 --cycle "$c" \
        --job-base "$c" --timeout 30 <"$DP_TMP/devices" >"$DP_TMP/r$c.json" || fail "poll $c"
    t_end=$(date +%s)
    [ "$(grep -c '"status":"ok"' "$DP_TMP/r$c.json")" -eq 3 ] || fail "poll $c: $(cat "$DP_TMP/r$c.json")"
done
acked() { [ "$(pstat metrics_acked)" = 6 ] && [ "$(pstat metrics_pending)" = 0 ]; }
dp_wait_until 20 acked || fail "metrics not acked: $(pctl STATS | grep metrics_)"
[ "$(rw_stat rejected)" = 0 ] || fail "rrdwriter rejected metrics: $(grep rejected "$RW_LOG" | head -3)"
dp_wait_until 20 rw_backlog_zero || fail "rrdwriter backlog not applied"
! grep -q 'update rejected' "$RW_LOG" || fail "rrdwriter rejected updates: $(grep 'update rejected' "$RW_LOG" | head -3)"
echo "ok: 6 METRICS accepted and acknowledged, none pending or rejected"

ids=$(sql "SELECT port_id FROM ports p JOIN devices d USING (device_id) WHERE d.hostname='m2'")
[ "$(wc -w <<<"$ids")" -eq 4 ] || fail "m2 ports: $ids"
for id in $ids; do
    [ -f "$RC_RRD_DIR/m2/port-id$id.rrd" ] || fail "missing m2/port-id$id.rrd: $(ls "$RC_RRD_DIR/m2")"
    dp_rrdcached_cmd "$RC_SOCK" "FLUSH m2/port-id$id.rrd" >/dev/null || fail "FLUSH"
    # the file's own last_update (rrdcached's LAST gives the step boundary before it)
    last=$(rrdtool info "$RC_RRD_DIR/m2/port-id$id.rrd" | sed -n 's/^last_update = //p')
    [ "$last" -ge "$t_start" ] && [ "$last" -le $((t_end + 1)) ] || # rounded to the second
        fail "m2/port-id$id.rrd last update $last, want the second poll's time ($t_start..$t_end; cycle $C2)"
done
for f in poller-perf.rrd uptime.rrd mempool-hrstorage-1.rrd storage-hrstorage-_.rrd; do
    [ -f "$RC_RRD_DIR/m2/$f" ] || fail "missing m2/$f: $(ls "$RC_RRD_DIR/m2")"
done
ls "$RC_RRD_DIR/m2" | grep -q '^processor-hr-[0-9]*\.rrd$' || fail "no processor file"
rrdtool info "$RC_RRD_DIR/m2/port-id$(head -n1 <<<"$ids").rrd" | grep -q 'ds\[OUTMULTICASTPKTS\].type = "DERIVE"' ||
    fail "port file lacks its DS"
echo "ok: port, poller-perf, uptime, processor, storage and mempool files written at the time of the answer"
kill -TERM $POLLER
wait $POLLER || fail "poller exit code"
echo PASS
