#!/usr/bin/env bash
# test_biller_single.sh - one biller against simulated devices whose counters advance at known
# rates (dpsim expect --rate): after N intervals every bill's rows are contiguous, its usage
# equals rate x time within one sample, its 95th percentile (in, and the agg variant) equals the
# rate; a 32-bit counter that wraps every few intervals and a device reboot mid-period bill no
# spike; the bill is recalculated into bills and bill_history; SIGTERM exits 0 and frees the lease.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/biller_common.sh
bl_setup
bl_expected_rates
echo "rates (octets/s): bill1 in $BL_B1_IN out $BL_B1_OUT; bill2 in $BL_B2_IN; bill3 in $BL_B3_IN"

bl_start n1
dp_wait_until 5 bl_is_runner n1 || fail "n1 did not become the runner"
[ "$(bl_sql "SELECT epoch FROM leadership WHERE name = 'biller'")" = 1 ] || fail "epoch not bumped"
dp_wait_until 30 bl_rows_at_least 1 6 || fail "bill 1 has $(bl_rows 1) rows after 30 s"

# device 2 (in bills 1 and 3) reboots mid-period: counters restart from zero
echo "127.0.1.2=reboot" >>"$BL_FAULTS"
kill -HUP "$BL_SIM_PID"
before=$(bl_rows 1)
dp_wait_until 30 bl_rows_at_least 1 $((before + 4)) || fail "billing stopped after the reboot"
[ "$(bl_stat n1 resets)" -ge 1 ] || fail "the reboot was not seen (resets = 0)"
[ "$(bl_stat n1 wraps)" -ge 1 ] || fail "the 32-bit counter never wrapped (wraps = 0)"
[ "$(bl_stat n1 impossible_rates)" -eq 0 ] || fail "impossible rates reported"
[ "$(bl_stat n1 samples_written)" -gt 0 ] || fail "samples_written = 0"
echo "ok: stats: $(bl_ctl n1 STATS | grep -E '^(wraps|resets|samples_written|samples_skipped_dup|snmp_failures|rounds):' | tr '\n' ' ')"

bl_check_series 1 "$BL_B1_IN" "$BL_B1_OUT" 1
bl_check_series 2 "$BL_B2_IN" "$BL_B2_OUT"
bl_check_series 3 "$BL_B3_IN" "$BL_B3_OUT" 1
bl_check_95th 1 $((BL_B1_IN * 8)) rate_95th_in
bl_check_95th 1 $((BL_B1_OUT * 8)) rate_95th_out
bl_check_95th 2 $((BL_B2_IN * 8)) rate_95th_in
bl_check_95th 3 $(((BL_B3_IN + BL_B3_OUT) * 8)) rate_95th
[ "$(bl_sql "SELECT dir_95th FROM bills WHERE bill_id = 3")" = agg ] || fail "bill 3 lost dir agg"

# totals written back: bills row and this period's bill_history row agree with bill_data
read -r total hist_total used allowed <<<"$(bl_sql "SELECT b.total_data, h.traf_total, h.bill_used,
    h.bill_allowed FROM bills b JOIN bill_history h ON h.bill_id = b.bill_id WHERE b.bill_id = 2")"
sum=$(bl_sql "SELECT SUM(delta) FROM bill_data WHERE bill_id = 2")
# the biller may have added a row between the queries: allow one interval
[ $((sum - total)) -le $(((BL_B2_IN + BL_B2_OUT) * BL_INTERVAL * 11 / 10)) ] ||
    fail "bills.total_data $total vs bill_data $sum"
[ "$used" = "$hist_total" ] && [ "$allowed" = 1000000000000 ] ||
    fail "quota history: used $used traf $hist_total allowed $allowed"
echo "ok: bill 2 quota: used $used of $allowed bytes"

# SIGTERM: clean exit and the lease handed back at once
kill -TERM "$BL_PID_n1"
wait "$BL_PID_n1"
rc=$?
[ $rc -eq 0 ] || fail "biller exit code $rc after SIGTERM"
[ -z "$(redis-cli -p "$REDIS_PORT" GET dp:leader:biller)" ] || fail "lease left behind"
echo "ok: SIGTERM exit 0, lease released"
echo PASS
