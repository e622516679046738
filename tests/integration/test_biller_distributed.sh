#!/usr/bin/env bash
# test_biller_distributed.sh - distributed_billing on: the scheduler sends bill jobs, each
# biller bills only the ports of the poller groups it serves (n1: group 0, n2: group 1), no node
# holds the single-runner lease, and every bill's rows are contiguous with usage = rate x time
# within one sample (no sample counted twice whichever node takes it).
source "$(dirname "$0")/biller_common.sh"
bl_setup
bl_expected_rates
bl_sql "UPDATE devices SET poller_group = 1 WHERE device_id = 3;
    INSERT INTO settings (name, value) VALUES ('distributed_billing', '1'),
        ('distributed_poller', '1');
    INSERT INTO nodes (node_id, poller_groups) VALUES ('n1', '0'), ('n2', '1')" ||
    fail "settings"
"$BUILD/scheduler" --env-file "$BL_ENV" --node-id sched >"$DP_TMP/sched.log" 2>&1 &
dp_register $! "$DP_TMP/sched.log"
bl_start n1
bl_start n2
both_wrote() { [ "$(bl_rows 1)" -ge 6 ] && [ "$(bl_rows 2)" -ge 6 ]; }
dp_wait_until 40 both_wrote || fail "rows: bill 1 $(bl_rows 1), bill 2 $(bl_rows 2)"
[ "$(bl_stat n1 distributed)" = 1 ] && [ "$(bl_stat n2 distributed)" = 1 ] ||
    fail "not in distributed mode"
[ "$(bl_stat n1 is_runner)" = 0 ] && [ "$(bl_stat n2 is_runner)" = 0 ] || fail "a runner exists"
[ -z "$(redis-cli -p "$REDIS_PORT" GET dp:leader:biller)" ] || fail "lease taken in distributed mode"
# n2 serves only group 1: it billed port 31 (bill 2) and nothing else; n1 never touched it
w1=$(bl_stat n1 samples_written) w2=$(bl_stat n2 samples_written)
[ "$w2" -ge 5 ] || fail "n2 wrote $w2 samples"
[ "$w1" -ge 10 ] || fail "n1 wrote $w1 samples"
bill2_rows=$(bl_rows 2)
[ "$w2" -le $((bill2_rows + 1)) ] || fail "n2 wrote $w2 samples for $bill2_rows rows of bill 2"
echo "ok: n1 wrote $w1 samples (groups 0), n2 wrote $w2 (group 1)"
# reads follow the scheduler's dispatch times, not slot boundaries: the first baseline may be
# taken late in its slot, so the first row of a bill may cover less than an interval (bytes are
# exact; only that row's rate is low): one low row allowed
bl_check_series 1 "$BL_B1_IN" "$BL_B1_OUT" 1
bl_check_series 2 "$BL_B2_IN" "$BL_B2_OUT" 1
bl_check_series 3 "$BL_B3_IN" "$BL_B3_OUT" 1
echo PASS
