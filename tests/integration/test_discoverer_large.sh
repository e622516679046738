#!/usr/bin/env bash
# test_discoverer_large.sh - a chassis with 2000 interfaces is discovered with GETBULK in
# bounded PDUs: the simulator truncates replies to 1400 bytes and answers tooBig to any request
# for more than 40 varbinds, so the walk must shrink its requests; all 2000 ports (all HC) are
# recorded within the time budget (DP_JOB_TIMEOUT). A device too slow to finish within the
# budget is cut at the deadline: the discovery is recorded as partial (discovery_error says why,
# RESULT timeout so it is not retried at once), and none of its ports is marked deleted.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
FAULTS=$DP_TMP/faults.txt
echo "127.0.6.1=toobig:40" >"$FAULTS"
dp_start_dpsim SIM 127.0.6.1 --max-msg 1400 --profile "127.0.6.0/24=synthetic:ports=2000,hc=1" \
    --fault-file "$FAULTS" || fail "dpsim did not answer"
# the fault is real: a GETBULK of 18 columns x 10 rows is refused with tooBig
out=$(snmpbulkget -v2c -c public -r0 -t1 -Cr10 127.0.6.1:"$SIM_PORT" 1.3.6.1.2.1.2.2.1.2 \
    1.3.6.1.2.1.2.2.1.3 1.3.6.1.2.1.2.2.1.4 1.3.6.1.2.1.2.2.1.5 1.3.6.1.2.1.2.2.1.6 2>&1)
[[ "$out" == *"tooBig"* || "$out" == *"Too Big"* || "$out" == *"too large"* ]] || fail "no tooBig from the simulator: $out"

P=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=disc-l DP_CONTROL_DIR="$DP_TMP" DP_SCHEDULER_BIND="tcp://127.0.0.1:$P" \
    DP_SCHEDULERS="tcp://127.0.0.1:$P" DP_POLLER_INTERVAL=8s DP_DISCOVERY_INTERVAL=15s \
    DP_JOB_TIMEOUT=8s DP_LOCK_TTL=3s DP_SNMP_TIMEOUT=1s DP_SNMP_RETRIES=1
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -B -e "$1"; }
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
sql "INSERT INTO devices (hostname, overwrite_ip, port) VALUES
     ('chassis.test', '127.0.6.1', $SIM_PORT), ('slow.test', '127.0.6.2', $SIM_PORT)"
BIG=$(sql "SELECT device_id FROM devices WHERE hostname = 'chassis.test'")
SLOW=$(sql "SELECT device_id FROM devices WHERE hostname = 'slow.test'")

"$B/scheduler" --env-file "$env" >"$DP_TMP/sched.log" 2>&1 &
dp_register $! "$DP_TMP/sched.log"
"$B/discoverer" --env-file "$env" >"$DP_TMP/disc.log" 2>&1 &
dp_register $! "$DP_TMP/disc.log"
ctl() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/discoverer-disc-l.ctl" "$1" 2000; }
stat() { ctl STATS | sed -n "s/^$1: //p"; }

done2() { [ "$(sql "SELECT COUNT(*) FROM devices WHERE last_discovered IS NOT NULL")" = 2 ]; }
dp_wait_until 30 done2 || fail "2000-port devices not discovered: $(tail -5 "$DP_TMP/disc.log")"
row=$(sql "SELECT (SELECT COUNT(*) FROM ports WHERE device_id = $BIG AND deleted = 0),
                  (SELECT COUNT(*) FROM ports WHERE device_id = $BIG AND ifHC = 7695),
                  discovery_error IS NULL, last_discovered_timetaken < 8
           FROM devices WHERE device_id = $BIG" | tr '\t' ' ')
[ "$row" = "2000 2000 1 1" ] || fail "chassis: ports/hc/ok/in-budget = $row"
took=$(sql "SELECT ROUND(last_discovered_timetaken, 3) FROM devices WHERE device_id = $BIG")
toobig=$(stat snmp_toobig)
[ "$toobig" -gt 0 ] || fail "no tooBig seen (snmp_toobig=$toobig)"
req=$(stat snmp_requests)
ok "2000 ports, all HC, in ${took} s (budget 8 s) with tooBig shrinking (snmp_toobig=$toobig, requests=$req for both devices)"

# --- too slow for the budget: partial, recorded, nothing deleted ------------------------
before=$(sql "SELECT last_discovered FROM devices WHERE device_id = $SLOW")
echo "127.0.6.2=slow:150ms" >"$FAULTS"
kill -HUP $SIM_PID
was_cut() { [ "$(stat budget_exceeded)" -ge 1 ] && [ "$(sql "SELECT last_discovered > '$before' FROM devices WHERE device_id = $SLOW")" = 1 ]; }
dp_wait_until 40 was_cut || fail "the slow device was not cut at the budget: $(tail -3 "$DP_TMP/disc.log")"
row=$(sql "SELECT status, discovery_error, ROUND(last_discovered_timetaken)
           FROM devices WHERE device_id = $SLOW")
[[ "$row" == "$(printf '1\tports walk: cancelled (time budget exceeded)')"* ]] || fail "slow device row: $row"
[[ "$row" == *"after 7"*" ms"* ]] || fail "discovery_error does not name the budget: $row"
[ "$(sql "SELECT COUNT(*) FROM ports WHERE device_id = $SLOW AND deleted = 0")" = 2000 ] ||
    fail "a partial walk deleted ports"
[ "$(stat discoveries_partial)" -ge 1 ] || fail "discoveries_partial"
grep -q "result.*status=timeout\|device discovered.*device_id=$SLOW .*error=" "$DP_TMP/disc.log" ||
    fail "partial discovery not logged"
n0=$(grep -c "budget exceeded\" device_id=$SLOW " "$DP_TMP/disc.log")
sleep 3 # a fixed window on purpose: counting retries
n1=$(grep -c "budget exceeded\" device_id=$SLOW " "$DP_TMP/disc.log")
[ "$n0" = "$n1" ] || fail "partial discovery re-run at once ($n0 -> $n1)"
ok "slow device cut at the budget: recorded as partial ($row), 2000 ports kept, not retried at once"
echo PASS
