#!/usr/bin/env bash
# test_biller_failover.sh - two billers, one runner: kill -9 the runner and the standby takes
# over within the lock TTL (+1 s); the bill_data rows have no missing and no double-counted
# interval (each bill contiguous, totals = rate x time within one sample, no row above the rate:
# the intervals missed during the takeover are spread evenly, flagged interpolated); the new
# runner's epoch is higher; the restarted node stays standby.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/biller_common.sh
bl_setup
bl_expected_rates

bl_start n1
dp_wait_until 5 bl_is_runner n1 || fail "n1 did not become the runner"
bl_start n2
sleep 1 # n2 has tried the lease at least once by now; it must not have it
bl_is_runner n2 && fail "two runners"
dp_wait_until 30 bl_rows_at_least 1 4 || fail "no billing"

t0=$(date +%s%N)
kill -KILL "$BL_PID_n1"
wait "$BL_PID_n1" 2>/dev/null
dp_wait_until 10 bl_is_runner n2 || fail "n2 did not take over"
took_ms=$((($(date +%s%N) - t0) / 1000000))
[ $took_ms -le $((BL_TTL_MS + 1000)) ] || fail "takeover took $took_ms ms (TTL $BL_TTL_MS ms)"
echo "ok: n2 runner $took_ms ms after kill -9 of n1 (TTL $BL_TTL_MS ms)"
[ "$(bl_sql "SELECT epoch FROM leadership WHERE name = 'biller'")" = 2 ] || fail "epoch not 2"

killed_at=$(bl_sql "SELECT UNIX_TIMESTAMP(MAX(timestamp)) FROM bill_data WHERE bill_id = 1")
killed_at=${killed_at%.*}
after_kill() { [ "$(bl_sql "SELECT COUNT(*) FROM bill_data WHERE bill_id = 1
    AND timestamp > FROM_UNIXTIME($killed_at)")" -ge 5 ]; }
dp_wait_until 30 after_kill || fail "billing did not continue on n2"
filled=$(bl_sql "SELECT COUNT(*) FROM bill_data WHERE bill_id = 1 AND interpolated = 1")
[ "$filled" -ge 1 ] || fail "no interval was filled across the takeover"
echo "ok: $filled intervals filled across the takeover"

bl_check_series 1 "$BL_B1_IN" "$BL_B1_OUT"
bl_check_series 2 "$BL_B2_IN" "$BL_B2_OUT"
bl_check_series 3 "$BL_B3_IN" "$BL_B3_OUT"
bl_check_95th 1 $((BL_B1_IN * 8)) rate_95th_in

# the old node comes back as a standby
bl_start n1
sleep 1
bl_is_runner n1 && fail "restarted n1 took the lease from n2"
bl_is_runner n2 || fail "n2 lost the lease"
echo "ok: restarted n1 is standby"
echo PASS
