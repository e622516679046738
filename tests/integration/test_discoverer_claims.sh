#!/usr/bin/env bash
# test_discoverer_claims.sh - two discoverers on two nodes never discover one device at once.
# A fake scheduler sends the SAME discover job to both at the same moment, round after round
# (a real scheduler never does; a re-issued job after a lost worker can). The device answers
# slowly, so both claims overlap in time: per round exactly one node discovers it, the other
# answers "busy" (or "already done" when it comes after the first finished), and the work
# intervals logged by the two nodes never overlap.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
ROUNDS=6

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
dp_start_dpsim SIM 127.0.7.1 --profile "synthetic:ports=48,hc=1" --fault 127.0.7.1=slow:80ms ||
    fail "dpsim did not answer"

P=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" DP_CONTROL_DIR="$DP_TMP" DP_SCHEDULERS="tcp://127.0.0.1:$P" DP_CURVE=false \
    DP_JOB_TIMEOUT=20s DP_SNMP_TIMEOUT=1s
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -B -e "$1"; }
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
sql "INSERT INTO devices (hostname, overwrite_ip, port) VALUES ('slow.test', '127.0.7.1', $SIM_PORT)"
DEV=$(sql "SELECT device_id FROM devices WHERE hostname = 'slow.test'")

"$B/tests/discoverer_fakesched" "tcp://127.0.0.1:$P" --workers 2 --rounds $ROUNDS \
    --device "$DEV:slow.test" --timeout-ms 120000 >"$DP_TMP/fake.out" 2>"$DP_TMP/fake.log" &
FAKE=$!
dp_register $FAKE "$DP_TMP/fake.log"
listening() { grep -q '^listening' "$DP_TMP/fake.out"; }
dp_wait_until 10 listening || fail "fake scheduler did not bind"
for n in node-1 node-2; do
    "$B/discoverer" --env-file "$env" --node-id $n >"$DP_TMP/$n.log" 2>&1 &
    dp_register $! "$DP_TMP/$n.log"
done
finished() { ! kill -0 $FAKE 2>/dev/null; }
dp_wait_until 120 finished || fail "fake scheduler still waiting: $(cat "$DP_TMP/fake.out")"
wait $FAKE || fail "not every job was answered: $(cat "$DP_TMP/fake.log")"
cat "$DP_TMP/fake.out"

# --- per round: exactly one node worked, the other was kept off by the claim --------------
busy=0
for r in $(seq 0 $((ROUNDS - 1))); do
    lines=$(grep "^result round=$r " "$DP_TMP/fake.out")
    [ "$(wc -l <<<"$lines")" = 2 ] || fail "round $r: $(wc -l <<<"$lines") results"
    worked=$(grep -c 'status=ok reason="" ' <<<"$lines")
    kept=$(grep -Ec 'status=error reason="busy"|status=ok reason="already done"' <<<"$lines")
    [ "$worked" = 1 ] && [ "$kept" = 1 ] || fail "round $r: $lines"
    busy=$((busy + $(grep -c 'reason="busy"' <<<"$lines")))
done
[ "$busy" -ge 1 ] || fail "the two claims never overlapped in time (no busy): the test proves nothing"
ok "$ROUNDS rounds: one discovery each, the other node kept off ($busy x busy)"

# --- the work intervals of the two nodes never overlap ------------------------------------
n=$(cat "$DP_TMP"/node-*.log | grep -c "msg=\"device discovered\" device_id=$DEV ")
[ "$n" = $ROUNDS ] || fail "$n discoveries logged, want $ROUNDS"
# interval of each: [end - took_ms, end]; sorted by start, each must end before the next starts
intervals=$(cat "$DP_TMP"/node-*.log | grep "msg=\"device discovered\" device_id=$DEV " |
    sed -E 's/^ts=([^ ]+) .*node=([^ ]+) .*took_ms=([0-9]+).*/\1 \3 \2/' |
    while read -r ts took node; do
        end=$(date -d "$ts" +%s%3N)
        echo "$((end - took)) $end $node"
    done | sort -n)
prev_end=0
while read -r start end node; do
    [ "$start" -ge "$prev_end" ] || fail "overlapping discoveries: $intervals"
    prev_end=$end
done <<<"$intervals"
nodes=$(awk '{print $3}' <<<"$intervals" | sort -u | wc -l)
took=$(awk '{s += $2 - $1} END {print int(s / NR)}' <<<"$intervals")
ok "work intervals never overlap (mean discovery ${took} ms; nodes that worked: $nodes)"
b1=$("$B/tests/testdaemon" ctl "ipc://$DP_TMP/discoverer-node-1.ctl" STATS 2000 | sed -n 's/^claims_busy: //p')
b2=$("$B/tests/testdaemon" ctl "ipc://$DP_TMP/discoverer-node-2.ctl" STATS 2000 | sed -n 's/^claims_busy: //p')
[ $((b1 + b2)) = "$busy" ] || fail "claims_busy $b1 + $b2 != $busy"
ok "claims_busy counted: node-1 $b1, node-2 $b2"
echo PASS
