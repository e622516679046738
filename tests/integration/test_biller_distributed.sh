#!/usr/bin/env bash
# test_biller_distributed.sh - distributed_billing on: the scheduler sends bill jobs, each
# biller bills only the ports of the poller groups it serves (n1: group 0, n2: group 1), no node
# holds the single-runner lease, and every bill's rows are contiguous with usage = rate x time
# within one sample (no sample counted twice whichever node takes it). Bill 4 spans both groups
# (port 11 on device 1, group 0; port 31 on device 3, group 1): the scheduler sends one job per
# (bill, group), so each node bills its part and the bill's usage is the sum of both ports.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/biller_common.sh
bl_setup
bl_expected_rates
BL_B4_IN=$(($(bl_rate 127.0.1.1 ifHCInOctets 1) + $(bl_rate 127.0.2.1 ifInOctets 1)))
BL_B4_OUT=$(($(bl_rate 127.0.1.1 ifHCOutOctets 1) + $(bl_rate 127.0.2.1 ifOutOctets 1)))
bl_sql "UPDATE devices SET poller_group = 1 WHERE device_id = 3;
    INSERT INTO bills (bill_id, bill_name, bill_type, bill_cdr, bill_quota, bill_day, dir_95th)
        VALUES (4, 'two groups', 'cdr', 50000000, NULL, 1, 'in');
    INSERT INTO bill_ports (bill_id, port_id) VALUES (4, 11), (4, 31);
    INSERT INTO settings (name, value) VALUES ('distributed_billing', '1'),
        ('distributed_poller', '1');
    INSERT INTO nodes (node_id, poller_groups) VALUES ('n1', '0'), ('n2', '1')" ||
    fail "settings"
"$BUILD/scheduler" --env-file "$BL_ENV" --node-id sched >"$DP_TMP/sched.log" 2>&1 &
dp_register $! "$DP_TMP/sched.log"
bl_start n1
bl_start n2
both_wrote() { [ "$(bl_rows 1)" -ge 6 ] && [ "$(bl_rows 2)" -ge 6 ] && [ "$(bl_rows 4)" -ge 6 ]; }
dp_wait_until 40 both_wrote || fail "rows: bill 1 $(bl_rows 1), bill 2 $(bl_rows 2), bill 4 $(bl_rows 4)"
[ "$(bl_stat n1 distributed)" = 1 ] && [ "$(bl_stat n2 distributed)" = 1 ] ||
    fail "not in distributed mode"
[ "$(bl_stat n1 is_runner)" = 0 ] && [ "$(bl_stat n2 is_runner)" = 0 ] || fail "a runner exists"
[ -z "$(redis-cli -p "$REDIS_PORT" GET dp:leader:biller)" ] || fail "lease taken in distributed mode"
# n2 serves only group 1: it billed port 31 (bills 2 and 4) and nothing else; n1 never touched
# it (one sample per port and row, + the first baseline); nobody met a sample already counted
w1=$(bl_stat n1 samples_written) w2=$(bl_stat n2 samples_written)
[ "$w2" -ge 10 ] || fail "n2 wrote $w2 samples"
[ "$w1" -ge 20 ] || fail "n1 wrote $w1 samples"
bill2_rows=$(bl_rows 2) bill4_rows=$(bl_rows 4)
[ "$w2" -le $((bill2_rows + bill4_rows + 2)) ] ||
    fail "n2 wrote $w2 samples for $bill2_rows + $bill4_rows rows of bills 2 and 4"
d1=$(bl_stat n1 samples_skipped_dup) d2=$(bl_stat n2 samples_skipped_dup)
[ "$d1" = 0 ] && [ "$d2" = 0 ] || fail "samples billed twice: n1 $d1, n2 $d2 duplicates"
# both parts of bill 4 keep a baseline of their own port, each within the last few intervals
fresh=$(bl_sql "SELECT COUNT(*) FROM bill_port_counters WHERE bill_id = 4
    AND UNIX_TIMESTAMP(slot) >= UNIX_TIMESTAMP() - 3 * $BL_INTERVAL")
[ "$fresh" = 2 ] || fail "bill 4: $fresh of 2 ports with a recent baseline"
echo "ok: n1 wrote $w1 samples (group 0), n2 wrote $w2 (group 1), no duplicates"
# reads follow the scheduler's dispatch times, not slot boundaries: the first baseline may be
# taken late in its slot, so the first row of a bill may cover less than an interval (bytes are
# exact; only that row's rate is low): one low row allowed
bl_check_series 1 "$BL_B1_IN" "$BL_B1_OUT" 1
bl_check_series 2 "$BL_B2_IN" "$BL_B2_OUT" 1
bl_check_series 3 "$BL_B3_IN" "$BL_B3_OUT" 1
bl_check_series 4 "$BL_B4_IN" "$BL_B4_OUT" 1
echo PASS
