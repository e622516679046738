#!/usr/bin/env bash
# test_poller_basic.sh - the poller against dpsim, real MariaDB and Redis, jobs from a fake
# scheduler: 50 devices (24 ports; 40 with HC counters, 10 without) polled twice; the ports
# table rates match the simulator's (dpsim expect --rate) within 1 % for HC and 32-bit ports;
# statuses up; a device with the timeout fault is down with a reason, malformed replies and
# tooBig affect only their device; a stale-epoch job is refused (in memory and by the DB fence);
# STATS and the POLL verb answer; SIGTERM exits 0.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
T=$B/tests

dp_start_mariadb DB || fail "mariadb"
dp_start_redis REDIS || fail "redis"
SCHED_PORT=$(dp_free_port)
SINK_PORT=$(dp_free_port)
dp_start_dpsim SIM 127.1.0.1 --threads 1 --seed 7 \
    --profile "127.1.0.0/24=synthetic:ports=24,hc=1" \
    --profile "127.1.1.0/24=synthetic:ports=24,hc=0,speed=100M" \
    --profile "127.1.2.0/24=synthetic:ports=24,hc=1" \
    --fault 127.1.2.1=timeout --fault 127.1.2.2=malformed --fault 127.1.2.3=toobig:40 ||
    fail "dpsim does not answer"

ENV=$DP_TMP/poller.env
dp_node_env "$ENV" NODE_ID=poller-t1 APP_KEY=test-app-key-0123456789abcdef \
    DP_SCHEDULERS="tcp://127.0.0.1:$SCHED_PORT" DP_RRDWRITER="tcp://127.0.0.1:$SINK_PORT" \
    DP_CONTROL_DIR="$DP_TMP" DP_CURVE=true DP_WORKERS=2 DP_CONCURRENCY=200 DP_SNMP_TIMEOUT=400ms \
    DP_SNMP_RETRIES=1 DP_POLLER_INTERVAL=300s DP_LOG_LEVEL=info
export APP_KEY=test-app-key-0123456789abcdef
env -i PATH="$PATH" "$B/distpoll" --env-file "$ENV" db migrate >/dev/null || fail "migrate"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }

# devices 1-40: HC; 41-50: 32-bit only; 51 timeout, 52 malformed, 53 tooBig for > 40 varbinds
values=""
for i in $(seq 1 40); do values+="${values:+,}('d$i','127.1.0.$i',$SIM_PORT,'v2c','public')"; done
for i in $(seq 1 10); do values+=",('d$((40 + i))','127.1.1.$i',$SIM_PORT,'v2c','public')"; done
for i in 1 2 3; do values+=",('d$((50 + i))','127.1.2.$i',$SIM_PORT,'v2c','public')"; done
sql "INSERT INTO devices (hostname, overwrite_ip, port, snmpver, community) VALUES $values"
DEVICES=$DP_TMP/devices
sql "SELECT device_id, hostname FROM devices ORDER BY device_id" >"$DEVICES"
[ "$(wc -l <"$DEVICES")" -eq 53 ] || fail "device rows"

"$B/poller" --env-file "$ENV" >"$DP_TMP/poller.log" 2>&1 &
POLLER=$!
dp_register $POLLER "$DP_TMP/poller.log"
CTL="ipc://$DP_TMP/poller-poller-t1.ctl"
ctl() { "$T/testdaemon" ctl "$CTL" "$@"; }
dp_wait_until 10 ctl PING || fail "poller does not answer PING"

# poll 1 and poll 2, a few seconds apart (the rate window)
sched() # EPOCH CYCLE OUT [DEVICES]
{
    "$T/fakesched" --bind "tcp://127.0.0.1:$SCHED_PORT" --curve --epoch "$1" --cycle "$2" \
        --job-base "$2" --timeout 60 <"${4:-$DEVICES}" >"$3"
}
C1=$(($(date +%s) - 10))
t0=$(date +%s%N)
sched 5 "$C1" "$DP_TMP/r1.json" || fail "first poll: $(tail -3 "$DP_TMP/r1.json")"
echo "ok: first poll of 53 devices in $((($(date +%s%N) - t0) / 1000000)) ms"
sleep 6
sched 5 $((C1 + 1)) "$DP_TMP/r2.json" || fail "second poll"
R2=$DP_TMP/r2.json
[ "$(grep -c '"status":"ok"' "$R2")" -eq 51 ] || fail "expected 51 ok results: $(grep -v '"ok"' "$R2")"
grep '"device_id":51,' "$R2" | grep -q '"status":"down".*no response' || fail "timeout device: $(grep '"device_id":51,' "$R2")"
grep '"device_id":52,' "$R2" | grep -q '"status":"down".*malformed' || fail "malformed device: $(grep '"device_id":52,' "$R2")"
echo "ok: 51 devices up, timeout and malformed devices down with reasons"

[ "$(sql "SELECT COUNT(*) FROM devices WHERE status=1 AND poll_epoch=5")" -eq 51 ] || fail "status up"
[ "$(sql "SELECT CONCAT(status, ':', status_reason) FROM devices WHERE device_id IN (51,52) ORDER BY device_id" | tr '\n' ' ')" = "0:snmp 0:snmp " ] ||
    fail "down devices: $(sql "SELECT device_id,status,status_reason FROM devices WHERE device_id>50")"
[ "$(sql "SELECT COUNT(*) FROM ports WHERE deleted=0")" -eq $((51 * 24)) ] || fail "port rows: $(sql "SELECT COUNT(*) FROM ports")"
[ "$(sql "SELECT COUNT(*) FROM ports WHERE ifInOctets_rate IS NOT NULL AND ifOutUcastPkts_rate IS NOT NULL")" -eq $((51 * 24)) ] ||
    fail "ports without rates: $(sql "SELECT COUNT(*) FROM ports WHERE ifInOctets_rate IS NULL")"
sql "SELECT d.sysName, d.uptime, p.ifName FROM devices d JOIN ports p USING (device_id) WHERE d.device_id=1 AND p.ifIndex=1" | grep -q . ||
    fail "sysName/ifName missing"
echo "ok: $(sql "SELECT COUNT(*) FROM ports") ports with rates, sysName and ifName stored"

# rates against the simulator: HC device 7 and 32-bit device 45, a few ports and counters
check_rate() # DEVICE_ID ADDR IFINDEX DBCOLUMN SIMCOLUMN
{
    local got want
    got=$(sql "SELECT $4_rate FROM ports WHERE device_id=$1 AND ifIndex=$3")
    want=$("$B/dpsim" expect --seed 7 --profile "127.1.0.0/24=synthetic:ports=24,hc=1" \
        --profile "127.1.1.0/24=synthetic:ports=24,hc=0,speed=100M" --device "$2" \
        --column "$5" --index "$3" --rate)
    awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w > 0 && d <= w * 0.01) }' ||
        fail "device $1 ifIndex $3 $4 rate $got, simulator says $want"
    echo "  device $1 ifIndex $3 $4: $got (simulator $want)"
}
check_rate 7 127.1.0.7 3 ifInOctets ifHCInOctets
check_rate 7 127.1.0.7 24 ifOutOctets ifHCOutOctets
check_rate 7 127.1.0.7 5 ifInUcastPkts ifHCInUcastPkts
check_rate 7 127.1.0.7 5 ifInMulticastPkts ifHCInMulticastPkts
check_rate 45 127.1.1.5 2 ifInOctets ifInOctets
check_rate 45 127.1.1.5 11 ifOutOctets ifOutOctets
check_rate 45 127.1.1.5 11 ifOutUcastPkts ifOutUcastPkts
[ "$(sql "SELECT ifHC & 3 FROM ports WHERE device_id=7 AND ifIndex=3")" -eq 3 ] || fail "HC mask of an HC port"
[ "$(sql "SELECT ifHC FROM ports WHERE device_id=45 AND ifIndex=2")" -eq 0 ] || fail "HC mask of a 32-bit port"
[ "$(sql "SELECT COUNT(*) FROM processors WHERE device_id=7")" -eq 2 ] || fail "processors"
[ "$(sql "SELECT COUNT(*) FROM storage WHERE device_id=7 AND storage_size > 0")" -eq 3 ] || fail "storage"
echo "ok: HC and 32-bit rates match the simulator within 1 %, processors and storage stored"

# stale epochs: below the highest seen (refused in memory), and fenced by devices.poll_epoch
head -n 1 "$DEVICES" >"$DP_TMP/one"
sched 4 $((C1 + 2)) "$DP_TMP/r3.json" "$DP_TMP/one" || fail "stale job got no result"
grep -q '"status":"error".*stale epoch' "$DP_TMP/r3.json" || fail "epoch 4 not refused: $(cat "$DP_TMP/r3.json")"
sql "UPDATE devices SET poll_epoch=100 WHERE device_id=1"
before=$(sql "SELECT last_polled FROM devices WHERE device_id=1")
sched 6 $((C1 + 3)) "$DP_TMP/r4.json" "$DP_TMP/one" || fail "fenced job got no result"
grep -q '"status":"error".*stale epoch' "$DP_TMP/r4.json" || fail "DB fence: $(cat "$DP_TMP/r4.json")"
[ "$(sql "SELECT last_polled FROM devices WHERE device_id=1")" = "$before" ] || fail "fenced poll was written"
echo "ok: stale epochs refused (in memory and by the DB fence)"

# control socket: STATS and POLL
stats=$(ctl STATS)
for k in jobs_done snmp_requests snmp_timeouts snmp_parse_errors inflight db_batches poll_ms_p95 devices_up; do
    grep -q "^$k: " <<<"$stats" || fail "STATS lacks $k: $stats"
done
grep -q '^devices_up: 51$' <<<"$stats" || fail "devices_up: $(grep devices_ <<<"$stats")"
grep -q '^devices_down: 2$' <<<"$stats" || fail "devices_down"
grep -Eq '^snmp_parse_errors: [1-9]' <<<"$stats" || fail "parse errors not counted"
out=$(ctl "POLL d3" 20000)
grep -q "^status: up" <<<"$out" || fail "POLL d3: $out"
[ "$(grep -c '^port ' <<<"$out")" -eq 24 ] || fail "POLL d3 ports: $out"
out=$(ctl "POLL 51" 20000)
grep -q "^status: down" <<<"$out" || fail "POLL 51: $out"
echo "ok: STATS and POLL verbs"
[ "$(grep -c 'msg="device down"' "$DP_TMP/poller.log")" -eq 2 ] || fail "state changes not logged once"

kill -TERM $POLLER
wait $POLLER
rc=$?
[ $rc -eq 0 ] || fail "poller exit code $rc after SIGTERM"
echo "ok: SIGTERM exit 0"
echo PASS
