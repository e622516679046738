#!/usr/bin/env bash
# test_poller_backpressure.sh - a poller's memory for unacknowledged METRICS is bounded and
# nothing is lost: with DP_METRICS_BUFFER_MB=1 and the rrdwriter frozen (SIGSTOP), the poller
# stops taking jobs once 1 MiB of METRICS waits (logged, metrics_pending_bytes past the cap but
# no further than the jobs it already held), the scheduler's remaining jobs stay unanswered;
# after SIGCONT it resumes below half the cap, every job ends ok (or was refused "paused",
# which the scheduler requeues) and every METRICS is acknowledged and accepted by the
# rrdwriter, none rejected.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh
T=$B/tests
export APP_KEY=$RW_APP_KEY
NDEV=300
CONC=10

dp_start_mariadb DB || fail "mariadb"
dp_start_redis REDIS || fail "redis"
dp_start_rrdcached RC || fail "rrdcached"
RW_STEP=300
rw_env "$DP_TMP/rw.env"
rw_start rrdwriter
SCHED_PORT=$(dp_free_port)
dp_start_dpsim SIM 127.4.0.1 --profile "127.4.0.0/16=synthetic:ports=24,hc=1" ||
    fail "dpsim does not answer"

ENV=$DP_TMP/poller.env
dp_node_env "$ENV" NODE_ID=poller-b1 APP_KEY="$RW_APP_KEY" \
    DP_SCHEDULERS="tcp://127.0.0.1:$SCHED_PORT" DP_RRDWRITER="tcp://127.0.0.1:$RW_PORT" \
    DP_CONTROL_DIR="$DP_TMP/ctl" DP_CURVE=true DP_RRD_STEP=300s DP_CONCURRENCY=$CONC \
    DP_METRICS_BUFFER_MB=1
env -i PATH="$PATH" "$B/distpoll" --env-file "$ENV" db migrate >/dev/null || fail "migrate"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
{
    echo "INSERT INTO devices (hostname, overwrite_ip, port) VALUES"
    for i in $(seq 1 $NDEV); do
        sep=","
        [ "$i" -eq $NDEV ] && sep=";"
        echo "('bp$i','127.4.$((i / 250)).$((i % 250 + 1))',$SIM_PORT)$sep"
    done
} | mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll || fail "insert devices"
sql "SELECT device_id, hostname FROM devices" >"$DP_TMP/devices"

"$B/poller" --env-file "$ENV" >"$DP_TMP/poller.log" 2>&1 &
POLLER=$!
dp_register $POLLER "$DP_TMP/poller.log"
pctl() { "$T/testdaemon" ctl "ipc://$DP_TMP/ctl/poller-poller-b1.ctl" "$@"; }
pstat() { pctl STATS | awk -F': ' -v k="$1" '$1 == k { print $2 }'; }
dp_wait_until 10 pctl PING || fail "poller does not answer PING"

kill -STOP "$RW_PID"
failc() { kill -CONT "$RW_PID" 2>/dev/null; fail "$@"; }
now=$(date +%s)
C=$((now - now % 300))
OUT=$DP_TMP/results.json
"$T/fakesched" --bind "tcp://127.0.0.1:$SCHED_PORT" --curve --epoch 1 --cycle "$C" \
    --job-base 1000 --timeout 120 <"$DP_TMP/devices" >"$OUT" &
SCHED=$!
dp_wait_until 60 grep -q "metrics backlog full" "$DP_TMP/poller.log" ||
    failc "no pause with the rrdwriter frozen: $(pctl STATS | grep -E 'metrics_|jobs_')"
sleep 3 # what the poller held at the pause finishes; then nothing more
r1=$(wc -l <"$OUT")
b1=$(pstat metrics_pending_bytes)
sleep 3
r2=$(wc -l <"$OUT")
b2=$(pstat metrics_pending_bytes)
cap=$((1 << 20))
[ "$r1" = "$r2" ] || failc "jobs still answered while paused: $r1 then $r2 results"
[ "$r2" -lt $NDEV ] || failc "all $NDEV jobs answered although paused"
[ "$b2" -ge $cap ] || failc "paused at $b2 pending bytes, below the cap $cap"
# past the cap by at most the jobs held when it paused (CONC) and one worker batch (64)
per=$((b2 / r2))
[ "$b2" -le $((cap + (CONC + 64) * per)) ] ||
    failc "pending bytes $b2 far past the cap $cap (${per} B per METRICS, $r2 jobs answered)"
echo "ok: paused with the rrdwriter frozen: $r2 of $NDEV jobs answered, $b2 bytes pending (cap $cap), stable for 3 s"

kill -CONT "$RW_PID"
wait $SCHED || fail "fakesched: not every job answered after the rrdwriter came back ($(wc -l <"$OUT") of $NDEV)"
# jobs already on their way when the credit went to 0 are refused ("paused"): the scheduler
# requeues those (fakesched only reports them); every other job is polled
nok=$(grep -c '"status":"ok"' "$OUT")
nref=$(grep -c '"status":"error","reason":"paused"' "$OUT")
[ $((nok + nref)) -eq $NDEV ] || fail "neither ok nor refused: $(grep -v '"status":"ok"' "$OUT" | grep -v '"paused"' | head -3)"
[ "$nok" -gt "$r2" ] || fail "no job polled after the resume ($nok ok)"
grep -q "resuming jobs" "$DP_TMP/poller.log" || fail "no resume logged"
acked() { [ "$(pstat metrics_acked)" = "$nok" ] && [ "$(pstat metrics_pending)" = 0 ] &&
    [ "$(pstat metrics_pending_bytes)" = 0 ]; }
dp_wait_until 30 acked || fail "metrics not all acked ($nok jobs ok): $(pctl STATS | grep metrics_)"
[ "$(rw_stat accepted)" -ge "$nok" ] || fail "rrdwriter accepted $(rw_stat accepted) of $nok"
[ "$(rw_stat rejected)" = 0 ] || fail "rrdwriter rejected metrics: $(grep rejected "$RW_LOG" | head -3)"
echo "ok: resumed after SIGCONT: $nok jobs ok ($nref refused while paused), $nok METRICS acknowledged, none pending or rejected"
kill -TERM $POLLER
wait $POLLER || fail "poller exit code"
echo PASS
