#!/usr/bin/env bash
# bench_poller.sh - the poller alone: poller CPU-s per 1000 polls (from /proc/PID/stat), on
# dpsim (synthetic ports=24,hc=1) with its real MariaDB, Redis, rrdwriter and rrdcached, jobs
# from tests/integration/fakesched. One cold cycle (port rows and RRD files created), then
# DP_BENCH_CYCLES (3) warm cycles; the warm figure is what counts. Not a test (no pass/fail
# on numbers); prints one line per cycle and a summary line:
#   poller: devices=N warm_polls=P cpu_s=C cpu_s_per_1000=X mariadb_cpu_s_per_1000=Y poller_rss_peak_mb=R
# (mariadbd's CPU over the same warm cycles: what the poller's DB writes cost the server).
# Knobs: DEV (2000), DP_BENCH_CYCLES (3), DP_BENCH_WORKERS (1), DP_BENCH_CONCURRENCY (500),
# DP_BENCH_RATE (jobs/s, 0 = as fast as credit allows; e.g. 170 = one of two pollers of a
# 100k-device cluster: polls then finish one by one, as at steady state),
# DP_BENCH_PERF=FILE: perf record -g the poller over the warm cycles into FILE
# (DP_BENCH_PERF_OPTS replaces -g, e.g. "--call-graph dwarf -F 400").
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
T=$B/tests
DEV=${DEV:-2000}
CYCLES=${DP_BENCH_CYCLES:-3}
WORKERS=${DP_BENCH_WORKERS:-1}
CONC=${DP_BENCH_CONCURRENCY:-500}
PERF_OUT=${DP_BENCH_PERF:-}
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

dp_start_mariadb DB || fail "mariadb"
dp_start_redis REDIS || fail "redis"
dp_start_rrdcached RC || fail "rrdcached"
SIM_PORT=$(dp_free_port)
SCHED_PORT=$(dp_free_port)
RW_PORT=$(dp_free_port)
"$B/dpsim" --port "$SIM_PORT" --threads 1 --profile "127.8.0.0/13=synthetic:ports=24,hc=1,speed=1G" \
    >"$DP_TMP/dpsim.log" 2>&1 &
SIM=$!
dp_register $SIM "$DP_TMP/dpsim.log"
dp_wait_until 10 snmpget -v2c -c public -r0 -t0.3 "127.8.0.1:$SIM_PORT" 1.3.6.1.2.1.1.3.0 ||
    fail "dpsim does not answer"

mkdir -p "$DP_TMP/ctl" "$DP_TMP/spool"
export APP_KEY=bench-app-key-0123456789abcdef
ENV=$DP_TMP/bench.env
dp_node_env "$ENV" "NODE_ID=bench-p1" "APP_KEY=$APP_KEY" "DP_SCHEDULERS=tcp://127.0.0.1:$SCHED_PORT" \
    "DP_RRDWRITER_BIND=tcp://127.0.0.1:$RW_PORT" "DP_RRDWRITER=tcp://127.0.0.1:$RW_PORT" \
    "DP_RRDCACHED=unix:$RC_SOCK" "DP_RRD_DIR=$RC_RRD_DIR" "DP_SPOOL_DIR=$DP_TMP/spool" \
    "DP_CONTROL_DIR=$DP_TMP/ctl" "DP_CURVE=true" "DP_POLLER_INTERVAL=300s" "DP_RRD_STEP=300s" \
    "DP_RRA=small" "DP_JOB_TIMEOUT=60s" "DP_SNMP_TIMEOUT=2s" "DP_SNMP_RETRIES=1" \
    "DP_WORKERS=$WORKERS" "DP_CONCURRENCY=$CONC" "DP_LOG_LEVEL=info"
DP() { env -i PATH="$PATH" "$B/distpoll" --env-file "$ENV" "$@"; }
DP db migrate >/dev/null || fail "migrate"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
{
    echo "INSERT INTO devices (hostname, overwrite_ip, port, community) VALUES"
    for i in $(seq 1 "$DEV"); do
        sep=","
        [ "$i" -eq "$DEV" ] && sep=";"
        echo "('b$i','127.8.$((i / 250)).$((i % 250 + 1))',$SIM_PORT,'public')$sep"
    done
} | mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll || fail "insert devices"
DEVICES=$DP_TMP/devices
sql "SELECT device_id, hostname FROM devices ORDER BY device_id" >"$DEVICES"

start() # NAME DAEMON
{
    "$B/$2" --env-file "$ENV" >"$DP_TMP/$1.log" 2>&1 &
    local pid=$!
    dp_register $pid "$DP_TMP/$1.log"
    eval "${1}_PID=$pid"
    dp_wait_until 15 DP ctl "$2" PING || fail "$1 ($2) does not answer PING"
}
start rw rrdwriter
start poller poller

C0=$(($(date +%s) - 1000))
RATE=${DP_BENCH_RATE:-0}
cycle() # N -> "polls ok cpu_s wall_ms db_cpu_s"
{
    local c0 c1 d0 d1 t0 t1 out=$DP_TMP/r$1.json
    c0=$(cpu_s "$poller_PID")
    d0=$(cpu_s "$DB_PID")
    t0=$(date +%s%3N)
    "$T/fakesched" --bind "tcp://127.0.0.1:$SCHED_PORT" --curve --epoch 5 --cycle $((C0 + $1)) \
        --job-base $(($1 * 1000000)) --timeout $((120 + DEV / (RATE > 0 ? RATE : 100))) \
        --rate "$RATE" <"$DEVICES" >"$out" || fail "cycle $1: $(tail -2 "$out")"
    t1=$(date +%s%3N)
    c1=$(cpu_s "$poller_PID")
    d1=$(cpu_s "$DB_PID")
    echo "$(wc -l <"$out") $(grep -c '"status":"ok"' "$out") $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }') $((t1 - t0)) $(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.3f", b - a }')"
}
read -r n ok c ms d <<<"$(cycle 0)"
echo "cold: polls=$n ok=$ok cpu_s=$c wall_ms=$ms mariadb_cpu_s=$d"
[ "$ok" -eq "$DEV" ] || fail "cold cycle: $ok of $DEV ok"
sleep 2
PERF=""
if [ -n "$PERF_OUT" ]; then
    perf record ${DP_BENCH_PERF_OPTS:--g} -o "$PERF_OUT" -p "$poller_PID" >"$DP_TMP/perf.log" 2>&1 &
    PERF=$!
    sleep 0.5
fi
tot_n=0 tot_c=0 tot_d=0
for k in $(seq 1 "$CYCLES"); do
    read -r n ok c ms d <<<"$(cycle "$k")"
    echo "warm $k: polls=$n ok=$ok cpu_s=$c wall_ms=$ms per_1000=$(awk -v c="$c" -v n="$n" 'BEGIN { printf "%.3f", c * 1000 / n }') mariadb_per_1000=$(awk -v c="$d" -v n="$n" 'BEGIN { printf "%.3f", c * 1000 / n }')"
    [ "$ok" -eq "$DEV" ] || fail "warm cycle $k: $ok of $DEV ok"
    tot_n=$((tot_n + n))
    tot_c=$(awk -v a="$tot_c" -v b="$c" 'BEGIN { printf "%.3f", a + b }')
    tot_d=$(awk -v a="$tot_d" -v b="$d" 'BEGIN { printf "%.3f", a + b }')
done
if [ -n "$PERF" ]; then
    kill -INT "$PERF"
    while kill -0 "$PERF" 2>/dev/null; do sleep 0.2; done
fi
DP ctl poller STATS | grep -E '^(snmp_requests|snmp_timeouts|snmp_parse_errors|jobs_done|jobs_failed|db_batches):' | tr '\n' ' '
echo
rss_mb=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$poller_PID/status")
echo "poller: devices=$DEV warm_polls=$tot_n cpu_s=$tot_c cpu_s_per_1000=$(awk -v c="$tot_c" -v n="$tot_n" 'BEGIN { printf "%.3f", c * 1000 / n }') mariadb_cpu_s_per_1000=$(awk -v c="$tot_d" -v n="$tot_n" 'BEGIN { printf "%.3f", c * 1000 / n }') poller_rss_peak_mb=$rss_mb"
kill -TERM "$poller_PID"
echo PASS
