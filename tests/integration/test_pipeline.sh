#!/usr/bin/env bash
# test_pipeline.sh - the whole polling pipeline, end to end, with real servers:
# 2 schedulers, 2 pollers on different NODE_IDs, 1 rrdwriter, rrdcached, MariaDB, Redis and
# 200 simulated devices on distinct 127.x addresses (150 with 64-bit HC counters, 50 with only
# 32-bit ones), polled every DP_E2E_INTERVAL seconds (default 60) for 3 cycles. Mid-run the
# leading scheduler is killed with -9 (a standby must lead within TTL + 2 s), later one poller
# is killed with -9 (its devices must be polled by the other in the same cycle). Then:
#   - every device polled exactly once per cycle, never by two nodes at once (poller logs);
#   - the rates read back from the RRDs through rrdcached match the simulator's counters;
#   - MariaDB holds every device as up with fresh last_polled and per-port rates.
# The bench-size layout (DP_RRA=small) keeps 1,600 port files small; the standard LibreNMS
# layout is checked by test_rrd_defs and test_poller_metrics.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
INTERVAL=${DP_E2E_INTERVAL:-60}
TTL_S=5
APP_KEY=e2e-app-key-0123456789abcdef
now_ms() { echo $(($(date +%s%N) / 1000000)); }

dp_start_mariadb DB || fail "mariadb"
dp_start_redis REDIS || fail "redis"
dp_start_rrdcached RC || fail "rrdcached"
dp_start_dpsim SIM 127.21.0.1 --listen 0.0.0.0 \
    --profile "127.20.0.0/16=synthetic:ports=8,hc=1,speed=1G" \
    --profile "127.21.0.0/16=synthetic:ports=8,hc=0,speed=100M" || fail "dpsim does not answer"

S1_PORT=$(dp_free_port)
S2_PORT=$(dp_free_port)
RW_PORT=$(dp_free_port)
mkdir -p "$DP_TMP/ctl" "$DP_TMP/spool"
node_env()  # NODE FILE
{
    dp_node_env "$2" NODE_ID="$1" APP_KEY="$APP_KEY" \
        DP_SCHEDULERS="tcp://127.0.0.1:$S1_PORT,tcp://127.0.0.1:$S2_PORT" \
        DP_RRDWRITER_BIND="tcp://127.0.0.1:$RW_PORT" DP_RRDWRITER="tcp://127.0.0.1:$RW_PORT" \
        DP_RRDCACHED="unix:$RC_SOCK" DP_RRD_DIR="$RC_RRD_DIR" DP_SPOOL_DIR="$DP_TMP/spool" \
        DP_CONTROL_DIR="$DP_TMP/ctl" DP_POLLER_INTERVAL="${INTERVAL}s" DP_RRD_STEP="${INTERVAL}s" \
        DP_RRA=small DP_LOCK_TTL="${TTL_S}s" DP_JOB_TIMEOUT=10s DP_SNMP_TIMEOUT=1s \
        DP_SNMP_RETRIES=1 DP_LOG_LEVEL=debug
}
for n in s1 s2 p1 p2 rw; do node_env "$n" "$DP_TMP/$n.env"; done
echo "DP_SCHEDULER_BIND=tcp://127.0.0.1:$S1_PORT" >>"$DP_TMP/s1.env"
echo "DP_SCHEDULER_BIND=tcp://127.0.0.1:$S2_PORT" >>"$DP_TMP/s2.env"
DP() { env -i PATH="$PATH" "$B/distpoll" --env-file "$DP_TMP/$1.env" "${@:2}"; }
DP rw db migrate >/dev/null || fail "migrate"

# 200 devices: 150 HC at 127.20.0.1-150, 50 32-bit-only at 127.21.0.1-50.
{
    echo "INSERT INTO devices (hostname, overwrite_ip, port, community) VALUES"
    for i in $(seq 1 150); do echo "('hc$i', '127.20.0.$i', $SIM_PORT, 'public'),"; done
    for i in $(seq 1 49); do echo "('lo$i', '127.21.0.$i', $SIM_PORT, 'public'),"; done
    echo "('lo50', '127.21.0.50', $SIM_PORT, 'public');"
} | mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll || fail "insert devices"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }

start()  # NAME DAEMON -> PID in <NAME>_PID
{
    "$B/$2" --env-file "$DP_TMP/$1.env" >"$DP_TMP/$1.log" 2>&1 &
    local pid=$!
    dp_register $pid "$DP_TMP/$1.log"
    eval "${1}_PID=$pid"
    dp_wait_until 15 DP "$1" ctl "$2" PING || fail "$1 ($2) does not answer PING"
}
stat_of()  # NAME DAEMON KEY
{
    DP "$1" ctl "$2" STATS 2>/dev/null | awk -F': ' -v k="$3" '$1 == k { print $2 }'
}
start rw rrdwriter
start s1 scheduler
start s2 scheduler
start p1 poller
start p2 poller
T0=$(date +%s)
echo "pipeline up: interval ${INTERVAL}s, lock TTL ${TTL_S}s"

leader() { for s in s1 s2; do [ "$(stat_of $s scheduler is_leader)" = 1 ] && echo $s; done; }
one_leader() { [ "$(leader | wc -l)" -eq 1 ]; }
dp_wait_until $((TTL_S + 5)) one_leader || fail "no single leader: $(leader)"
L=$(leader)
echo "leader: $L"

# --- kill -9 the leader in the middle of cycle 2; the standby must lead within TTL + 2 s.
sleep_until() { while [ "$(date +%s)" -lt "$1" ]; do sleep 0.2; done; }
sleep_until $((T0 + INTERVAL + INTERVAL / 2))
STANDBY=$([ "$L" = s1 ] && echo s2 || echo s1)
emitted0=$(stat_of "$STANDBY" scheduler jobs_emitted)
kill_ms=$(now_ms)
kill -9 "$(eval echo "\$${L}_PID")"
flows() { [ "$(stat_of "$STANDBY" scheduler is_leader)" = 1 ] &&
    [ "$(stat_of "$STANDBY" scheduler jobs_emitted)" -gt "${emitted0:-0}" ]; }
dp_wait_until $((TTL_S + 10)) flows || fail "standby $STANDBY did not take over"
gap_ms=$(($(now_ms) - kill_ms))
echo "leader $L killed: $STANDBY emitting again after ${gap_ms} ms (limit $(((TTL_S + 2) * 1000)) ms)"
[ "$gap_ms" -le $(((TTL_S + 2) * 1000)) ] || fail "failover took ${gap_ms} ms"

# --- kill -9 poller p2 in the middle of cycle 3, while it holds jobs.
sleep_until $((T0 + 2 * INTERVAL + INTERVAL / 2))
kill2_ms=$(now_ms)
kill -9 "$p2_PID"
echo "poller p2 killed at $kill2_ms"

# --- run to the end of cycle 3, plus a job timeout for the last re-issues.
sleep_until $((T0 + 3 * INTERVAL + 15))

# Every (device, cycle) polled exactly once, no two polls of one device overlapping.
grep -h 'msg="job done"' "$DP_TMP/p1.log" "$DP_TMP/p2.log" | grep 'kind=poll' |
    sed -E 's/.* node=([^ ]+) .*device_id=([0-9]+).* cycle=([0-9]+).* start_ms=([0-9]+) end_ms=([0-9]+).*/\1 \2 \3 \4 \5/' \
        >"$DP_TMP/polls"
[ -s "$DP_TMP/polls" ] || fail "no 'job done' lines in the poller logs"
dups=$(awk '{ k = $2 " " $3; n[k]++ } END { for (k in n) if (n[k] > 1) print k " x" n[k] }' "$DP_TMP/polls")
[ -z "$dups" ] || fail "devices polled twice in one cycle: $(head -5 <<<"$dups")"
overlap=$(sort -k2,2n -k4,4n "$DP_TMP/polls" |
    awk '$2 == d && $4 < e { print "device " $2 " overlaps (" n " and " $1 ")" } { if ($2 != d || $5 > e) e = $5; d = $2; n = $1 }')
[ -z "$overlap" ] || fail "overlapping polls: $(head -3 <<<"$overlap")"
# Each device: its cycles in the run window are contiguous and at least 3.
short=$(awk '{ c[$2]++ } END { for (d in c) if (c[d] < 3) print d " polled " c[d] " times" }' "$DP_TMP/polls")
[ -z "$short" ] || fail "devices polled fewer than 3 cycles: $(head -5 <<<"$short")"
[ "$(awk '{ print $2 }' "$DP_TMP/polls" | sort -u | wc -l)" -eq 200 ] || fail "not all 200 devices polled"
gaps=$(sort -k2,2n -k3,3n "$DP_TMP/polls" |
    awk -v i="$INTERVAL" '$2 == d && $3 != c + i { print "device " $2 " skipped after cycle " c } { d = $2; c = $3 }')
[ -z "$gaps" ] || fail "cycles skipped: $(head -5 <<<"$gaps")"
by_node=$(awk '{ print $1 }' "$DP_TMP/polls" | sort | uniq -c | tr '\n' ' ')
echo "ok: $(wc -l <"$DP_TMP/polls") polls, each (device, cycle) once, no overlap; by node: $by_node"

# p2's devices in its last cycle were finished by p1 in the same cycle.
late=$(awk -v k="$kill2_ms" '$1 == "p1" && $4 > k' "$DP_TMP/polls" | wc -l)
[ "$late" -gt 0 ] || fail "no polls by p1 after p2 died"
echo "ok: after p2 died, p1 polled $late devices (same cycles, no duplicates)"

# MariaDB: every device up, polled within the last cycle, ports with rates.
down=$(sql "SELECT COUNT(*) FROM devices WHERE status <> 1")
[ "$down" = 0 ] || fail "$down devices not up: $(sql "SELECT hostname, status_reason FROM devices WHERE status <> 1 LIMIT 5")"
stale=$(sql "SELECT COUNT(*) FROM devices WHERE last_polled < UTC_TIMESTAMP(3) - INTERVAL $((INTERVAL + 20)) SECOND")
[ "$stale" = 0 ] || fail "$stale devices with a stale last_polled"
nports=$(sql "SELECT COUNT(*) FROM ports WHERE deleted = 0")
[ "$nports" = 1600 ] || fail "ports: $nports, want 1600"

# Rates through rrdcached: INOCTETS of a few ports equals the simulator's rate.
check_rate()  # HOST ADDR IFINDEX COLUMN
{
    local host=$1 addr=$2 idx=$3 col=$4 pid want got
    pid=$(sql "SELECT port_id FROM ports p JOIN devices d USING (device_id) WHERE d.hostname='$host' AND ifIndex=$idx")
    [ -n "$pid" ] || fail "$host ifIndex $idx has no port row"
    want=$("$B/dpsim" expect --profile "127.20.0.0/16=synthetic:ports=8,hc=1,speed=1G" \
        --profile "127.21.0.0/16=synthetic:ports=8,hc=0,speed=100M" --device "$addr" \
        --column "$col" --index "$idx" --rate)
    dp_rrdcached_cmd "$RC_SOCK" "FLUSH $host/port-id$pid.rrd" >/dev/null || fail "FLUSH $host/port-id$pid.rrd"
    got=$(rrdtool fetch "$RC_RRD_DIR/$host/port-id$pid.rrd" AVERAGE --start $((T0 + INTERVAL)) --end "$(date +%s)" |
        awk '/^[0-9]+:/ && $2 !~ /nan/ { v = $2 } END { print v }')
    [ -n "$got" ] || fail "$host port-id$pid.rrd has no INOCTETS value"
    awk -v g="$got" -v w="$want" 'BEGIN { d = g / w - 1; if (d < 0) d = -d; exit !(d < 0.05) }' ||
        fail "$host ifIndex $idx INOCTETS rate $got, simulator says $want"
    echo "ok: $host ifIndex $idx rate $got B/s (simulator $want)"
}
check_rate hc7 127.20.0.7 3 ifHCInOctets
check_rate hc150 127.20.0.150 8 ifHCInOctets
check_rate lo9 127.21.0.9 2 ifInOctets
check_rate lo50 127.21.0.50 5 ifInOctets

[ "$(stat_of rw rrdwriter rejected)" = 0 ] || fail "rrdwriter rejected metrics"
dp_wait_until 20 bash -c "[ \"\$(env -i PATH=\"$PATH\" \"$B/distpoll\" --env-file \"$DP_TMP/rw.env\" ctl rrdwriter STATS |
    awk -F': ' '\$1 == \"backlog\" { print \$2 }')\" = 0 ]" || fail "rrdwriter backlog not drained"
kill -TERM "$p1_PID" "$rw_PID" "$(eval echo "\$${STANDBY}_PID")"
for p in "$p1_PID" "$rw_PID"; do wait "$p" || fail "daemon $p did not exit 0 on SIGTERM"; done
echo PASS
