#!/usr/bin/env bash
# test_cli_trace.sh - distpoll trace HOST reads the job trace the stages stamp with dp_trace
# (hash dp:trace:<device_id>, TTL 2 days): every step with its time, offset from scheduling and
# node; a late stamp of an older job is ignored; no trace and Redis down are clear errors.
# clitool stamps the trace the way scheduler, worker and rrdwriter do.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=t1
run() { env -i PATH="$PATH" "$B/distpoll" --env-file "$env" "$@"; }
run db migrate >/dev/null || fail "db migrate"
run device add sw7.example.net --force >/dev/null || fail "device add"
ID=$(mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "SELECT device_id FROM devices")

expect_rc 1 run trace sw7.example.net
grep -q "no job traced for sw7.example.net (device_id $ID)" <<<"$out" || fail "no trace: $out"
expect_rc 1 run trace nosuch
grep -q "device nosuch not found" <<<"$out" || fail "unknown device: $out"
expect_rc 64 run trace

"$B/tests/clitool" trace "$env" "$ID" >"$DP_TMP/stamp.out" 2>&1 || fail "stamping: $(cat "$DP_TMP/stamp.out")"
grep -q "trace rc=0 marks=10 failures=0" "$DP_TMP/stamp.out" || fail "stamps: $(cat "$DP_TMP/stamp.out")"
expect_rc 0 run trace sw7.example.net
grep -q "job 77, poll, epoch 3, status ok" <<<"$out" || fail "trace header: $out"
for re in "^  scheduled +20[0-9-]+ [0-9:.]+ +\+0 ms  by sched-a$" "^  taken .* \+ *1[0-2] ms  by w1$" \
    "^  snmp time +85 ms$" "^  polled .* \+ *1[01][0-9] ms$" "^  metrics sent .* \+ *1[01][0-9] ms$" \
    "^  result .* \+ *1[01][0-9] ms$" "^  spooled +-$" "^  rrd updated .* \+ *1[12][0-9][0-9] ms  by rrd-1$"; do
    grep -Eq "$re" <<<"$out" || fail "trace lacks /$re/: $out"
done
expect_rc 0 run trace sw7.example.net --json
jq -e ".device_id == $ID and .job_id == 77 and .kind == \"poll\" and .taken_by == \"w1\" and .snmp_ms == 85 and
       .rrd_written_ms > .scheduled_ms and .spooled_ms == null and .status == \"ok\"" <<<"$out" >/dev/null ||
    fail "trace --json (the stale stamp of job 76 must not win): $out"
ttl=$(redis-cli -p "$REDIS_PORT" PTTL "dp:trace:$ID")
[ "$ttl" -gt 172000000 ] && [ "$ttl" -le 172800000 ] || fail "trace TTL $ttl"
echo "ok: trace shows every stamped step"

# stamps commute (a worker's stamp may reach Redis before the scheduler's begin) and batches
# send many stamps in one round trip with the same effect
"$B/tests/clitool" traceorder "$env" "$ID" >"$DP_TMP/order.out" 2>&1 || fail "traceorder: $(cat "$DP_TMP/order.out")"
grep -q "traceorder rc=0 written=601 marks=[0-9]* failures=0" "$DP_TMP/order.out" || fail "batch: $(cat "$DP_TMP/order.out")"
expect_rc 0 run trace sw7.example.net --json
jq -e '.job_id == 300 and .kind == "discover" and .epoch == 5 and .scheduled_by == "sched-c" and
       .taken_by == "w3" and .status == "ok" and .reason == null and .scheduled_ms > 0' <<<"$out" >/dev/null ||
    fail "batched trace (job 299's late stamp must not win): $out"
[ "$(redis-cli -p "$REDIS_PORT" HGET "dp:trace:$((ID + 1000600))" result_ms)" = 600 ] || fail "600th batched stamp missing"
echo "ok: stamps commute; a batch of 602 stamps is written in 3 EVALs"

dp_stop "$REDIS_PID"
expect_rc 69 run trace sw7.example.net
grep -q "trace: Redis: " <<<"$out" || fail "Redis down: $out"
"$B/tests/clitool" trace "$env" "$ID" >"$DP_TMP/stamp2.out" 2>&1
grep -q "failures=[1-9]" "$DP_TMP/stamp2.out" || fail "failed stamps not counted: $(cat "$DP_TMP/stamp2.out")"
echo "cli trace ok"
