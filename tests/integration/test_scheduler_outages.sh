#!/usr/bin/env bash
# test_scheduler_outages.sh - the scheduler under server outages: Redis killed -> the leader
# stops emitting before its lease TTL runs out (safety over liveness) and leads again with a
# higher epoch when Redis returns; MariaDB killed -> dispatch goes on from the in-memory table,
# node reports resume when it returns; SIGHUP applies a new DP_POLLER_INTERVAL.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
now_ms() { echo $(($(date +%s%N) / 1000000)); }

TTL_S=3
dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
P=$(dp_free_port)
env=$DP_TMP/dp.env
write_env() # INTERVAL
{
    dp_node_env "$env" NODE_ID=sched-o REDIS_TIMEOUT=1 DP_CONTROL_DIR="$DP_TMP" \
        DP_SCHEDULER_BIND="tcp://127.0.0.1:$P" DP_SCHEDULERS="tcp://127.0.0.1:$P" \
        DP_POLLER_INTERVAL="$1" DP_JOB_TIMEOUT=2s DP_LOCK_TTL="${TTL_S}s"
}
write_env 4s
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "$1"; }
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
sql "INSERT INTO devices (hostname) SELECT CONCAT('d', seq) FROM seq_1_to_10" || fail "devices"

ctl() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/scheduler-sched-o.ctl" "$1" 1000; }
stat() { ctl STATS | sed -n "s/^$1: //p"; }
"$B/scheduler" --env-file "$env" >"$DP_TMP/sched.log" 2>&1 &
SCHED=$!
dp_register $SCHED "$DP_TMP/sched.log"
"$B/tests/fakeworker" --env-file "$env" --node-id w1 --work-ms 50 >"$DP_TMP/w1.out" 2>"$DP_TMP/w1.log" &
dp_register $! "$DP_TMP/w1.log"
leads() { [ "$(stat is_leader)" = 1 ]; }
not_leading() { [ "$(stat is_leader)" = 0 ]; }
dp_wait_until 10 leads || fail "scheduler did not lead"
some_done() { [ "$(stat jobs_done)" -ge 10 ]; }
dp_wait_until 10 some_done || fail "no jobs done"
EPOCH1=$(stat epoch)

# --- Redis dies: stop emitting before the lease runs out ---------------------------------
t0=$(now_ms)
kill -KILL "$REDIS_PID"
dp_wait_until $((TTL_S + 2)) not_leading || fail "still leading without Redis"
stop_ms=$(($(now_ms) - t0))
lost_line=$(grep -m1 'msg="leadership lost"' "$DP_TMP/sched.log")
[ -n "$lost_line" ] || fail "no 'leadership lost' log line"
emitted=$(stat jobs_emitted)
sleep 2
[ "$(stat jobs_emitted)" = "$emitted" ] || fail "jobs emitted after leadership was lost"
echo "Redis killed: leader stopped after ${stop_ms} ms (TTL $((TTL_S * 1000)) ms; polled every 50 ms)"
[ "$stop_ms" -le $((TTL_S * 1000 + 100)) ] || fail "stopped emitting too late (${stop_ms} ms)"
echo "ok: no emission without a valid lease"

# --- Redis returns: lead again with a higher epoch ---------------------------------------
dp_restart_redis REDIS || fail "redis did not restart"
dp_wait_until 10 leads || fail "did not lead again after Redis returned"
EPOCH2=$(stat epoch)
[ "$EPOCH2" -gt "$EPOCH1" ] || fail "epoch did not grow: $EPOCH1 -> $EPOCH2"
more_done() { [ "$(stat jobs_done)" -ge $(($1 + 10)) ]; }
d0=$(stat jobs_done)
dp_wait_until 15 more_done "$d0" || fail "jobs did not flow again after Redis returned"
echo "ok: leads again with epoch $EPOCH2 > $EPOCH1; jobs flow"

# --- MariaDB dies: dispatch goes on from memory -------------------------------------------
kill -KILL "$DB_PID"
dp_wait_gone "$DB_PID" 10
d0=$(stat jobs_done)
dp_wait_until 12 more_done "$d0" || fail "dispatch stopped while MariaDB was down"
leads || fail "lost leadership because MariaDB is down"
grep -q 'msg="database unavailable; dispatching from memory"' "$DP_TMP/sched.log" ||
    fail "database outage not logged"
[ "$(stat devices)" = 10 ] || fail "device table lost: $(stat devices)"
echo "ok: MariaDB down: $(($(stat jobs_done) - d0)) jobs done from the in-memory table"
DP_SRV_DIR=$DB_DIR DP_SRV_PORT=$DB_PORT dp_start_mariadb DB >/dev/null 2>&1 || fail "mariadb restart"
reported() { [ "$(sql "SELECT last_report > NOW(3) - INTERVAL 3 SECOND FROM nodes WHERE node_id = 'sched-o'")" = 1 ]; }
dp_wait_until 20 reported || fail "node report did not resume"
dp_wait_until 5 grep -q 'msg="database available"' "$DP_TMP/sched.log" || fail "no recovery log"
echo "ok: MariaDB back: node reports resume"

# --- SIGHUP: new interval ---------------------------------------------------------------
write_env 7s
kill -HUP $SCHED
interval7() { ctl QUEUE | grep -q '^kind=poll .* interval_s=7$'; }
dp_wait_until 5 interval7 || fail "SIGHUP did not apply DP_POLLER_INTERVAL: $(ctl QUEUE)"
echo "ok: SIGHUP applied DP_POLLER_INTERVAL=7s"
kill -TERM $SCHED
wait $SCHED || fail "scheduler exit code $? after SIGTERM"
echo PASS
