#!/usr/bin/env bash
# bench_inspect.sh - cost of the inspection hooks (tap, trace stamps, /metrics) in the
# scheduler and in a dp_jobs worker: one scheduler, 4 fakeworkers (32 slots, 1 ms of "work"),
# NDEV devices every INTERVAL_S (NDEV / INTERVAL_S jobs/s; 3000 / 10 s = 300 jobs/s, the rate
# of 100k devices at 300 s), real MariaDB and Redis. Prints CPU ms per 1000 jobs of the
# scheduler, of the workers and of redis-server over SECS seconds of steady state.
#   BUILD=build bash tests/integration/bench_inspect.sh [SCHEDULER_BIN] [FAKEWORKER_BIN] [tap]
# (other binaries to compare a build without the hooks; "tap": a `distpoll tap scheduler`
# reader attached during the measurement).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
SCHED=${1:-$B/scheduler}
FW=${2:-$B/tests/fakeworker}
TAP=${3:-}
NDEV=${NDEV:-3000} INTERVAL_S=${INTERVAL_S:-10} SECS=${SECS:-30}
dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
SP=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=bench DP_CONTROL_DIR="$DP_TMP" DP_SCHEDULER_BIND="tcp://127.0.0.1:$SP" \
    DP_SCHEDULERS="tcp://127.0.0.1:$SP" DP_POLLER_INTERVAL="${INTERVAL_S}s" DP_JOB_TIMEOUT=5s \
    DP_LOG_LEVEL=warn
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -e "INSERT INTO devices (hostname, overwrite_ip)
    SELECT CONCAT('dev', seq, '.example.net'), '127.0.0.1' FROM seq_1_to_$NDEV" || fail "insert devices"
"$SCHED" --env-file "$env" --node-id s1 >"$DP_TMP/s1.log" 2>&1 &
SPID=$!
dp_register $SPID "$DP_TMP/s1.log"
WPIDS=()
for w in 1 2 3 4; do
    "$FW" --env-file "$env" --node-id "w$w" --work-ms 1 --slots 32 >/dev/null 2>"$DP_TMP/w$w.log" &
    WPIDS+=($!)
    dp_register $! "$DP_TMP/w$w.log"
done
ctl() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/scheduler-s1.ctl" "$1" 1000; }
stat() { # NAME (retried: a loaded machine may miss the 1 s control timeout)
    local v i
    for i in 1 2 3 4 5; do v=$(ctl STATS) && break; done
    sed -n "s/^$1: //p" <<<"$v"
}
leading() { [ "$(stat is_leader)" = 1 ]; }
dp_wait_until 20 leading || fail "scheduler did not lead"
sleep $((INTERVAL_S + 2)) # the first burst (every device due at once) is over: steady state
if [ "$TAP" = tap ]; then
    "$B/distpoll" --env-file "$env" tap scheduler --timeout $((SECS + 30)) --count 100000000 >/dev/null 2>&1 &
    dp_register $! ""
    sleep 1
fi
cpu_ms() { awk '{ print ($14 + $15) * 10 }' "/proc/$1/stat"; } # USER_HZ 100
wcpu() { local t=0 p; for p in "${WPIDS[@]}"; do t=$((t + $(cpu_ms "$p"))); done; echo $t; }
j0=$(stat jobs_emitted) s0=$(cpu_ms $SPID) w0=$(wcpu) r0=$(cpu_ms "$REDIS_PID")
sleep "$SECS"
j1=$(stat jobs_emitted) s1=$(cpu_ms $SPID) w1=$(wcpu) r1=$(cpu_ms "$REDIS_PID")
jobs=$((j1 - j0))
[ "$jobs" -gt 0 ] || fail "no jobs"
echo "jobs=$jobs in ${SECS}s ($((jobs / SECS))/s) overdue=$(stat overdue_total) trace_marks=$(stat trace_marks) trace_failures=$(stat trace_failures) tap_published=$(stat tap_published)"
awk -v j="$jobs" -v s=$((s1 - s0)) -v w=$((w1 - w0)) -v r=$((r1 - r0)) 'BEGIN {
    printf "cpu ms per 1000 jobs: scheduler %.1f  workers %.1f  redis-server %.1f\n", s * 1000 / j, w * 1000 / j, r * 1000 / j }'
