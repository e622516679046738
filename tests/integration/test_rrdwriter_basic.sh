#!/usr/bin/env bash
# test_rrdwriter_basic.sh - rrdwriter against a real rrdcached: metricsgen sends 4 rounds for
# 20 devices x 4 ports over CURVE; files are created LibreNMS-style (rrdtool info: step, DERIVE
# min 0, heartbeat 2 x step, the 13 RRAs), rrdtool fetch gives the exact rates, one update with
# a data source too few is rejected (counted, named) and the same file's other updates are
# all there; STATS/BACKLOG answer; SIGTERM exits 0. DP_RRD_DIR is rrdcached's: the files are
# made here and, being absent, are not asked about with INFO first (info_skipped).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh

dp_start_rrdcached RC || fail "rrdcached did not start"
RW_RRA=librenms RW_STEP=5 rw_env "$DP_TMP/rw.env"
rw_start rw

out=$(rw_gen --devices 20 --ports 4 --rounds 4 --step 5 --wrong 3:2:1 --resend-ms 2000) ||
    fail "metricsgen: $out"
echo "metricsgen: $out"
START=$(sed -n 's/.*start_ts=\([0-9]*\).*/\1/p' <<<"$out")
grep -q 'sent=80 acked=80 pending=0' <<<"$out" || fail "not every message acked: $out"
sent_all() { [ "$(rw_stat updates_sent)" = 319 ] && rw_backlog_zero; }
dp_wait_until 30 sent_all || fail "updates_sent=$(rw_stat updates_sent) (want 319): $(rw_ctl STATS)"
stats=$(rw_ctl STATS)
for want in "creates: 80" "rejected_ds_mismatch: 1" "updates_rejected: 1" "received: 80" \
    "accepted: 80" "acked: 80" "updates_applied: 319" "batch_errors: 0" "illegal_old: 0" "rrdcached_up: 1" \
    "creates_local: 80" "info_skipped: 80"; do
    grep -qx "$want" <<<"$stats" || fail "STATS lacks '$want': $stats"
done
grep -q 'msg="update rejected" rrd=dev3/port-id2.rrd reason="ds: 14 data sources' "$RW_LOG" ||
    fail "the rejected update is not logged with its reason"
rw_ctl BACKLOG | grep -qx 'backlog: 0' || fail "BACKLOG: $(rw_ctl BACKLOG)"
echo "ok: 80 messages acked, 319 updates sent, 80 files created, wrong update rejected"

F=$RC_RRD_DIR/dev5/port-id3.rrd
info=$(rrdtool info "$F") || fail "rrdtool info $F"
for want in "step = 5" 'ds[INOCTETS].type = "DERIVE"' "ds[INOCTETS].minimal_heartbeat = 10" \
    "ds[INOCTETS].min = 0.0000000000e+00" "ds[OUTMULTICASTPKTS].max = 1.2500000000e+10" \
    'rra[0].cf = "AVERAGE"' "rra[0].rows = 2016" "rra[3].pdp_per_row = 288" \
    'rra[4].cf = "MIN"' 'rra[8].cf = "MAX"' 'rra[12].cf = "LAST"' "rra[12].rows = 2016"; do
    grep -qF "$want" <<<"$info" || fail "rrdtool info lacks '$want'"
done
grep -q 'rra\[13\]' <<<"$info" && fail "more than 13 RRAs"
[ "$(grep -c '^ds\[.*\]\.index' <<<"$info")" = 15 ] || fail "not 15 data sources"
echo "ok: rrdtool info: step 5, DERIVE min 0 heartbeat 10, 13 LibreNMS RRAs"

# rate of DS k of port p in the step ending at round r is (p + 1) * (k + 1) * (1 + r % 2)
check_rates() # DEV PORT
{
    rw_check_file "dev$1/port-id$2.rrd" "$2" "$START" 5 3 || fail "rates of dev$1/port-id$2.rrd"
}
check_rates 0 0
check_rates 5 3
check_rates 19 1
# dev3/port-id2 lost its round-1 update (rejected): rounds 0, 2 and 3 must be there, so the
# steps ending at rounds 1 and 2 share the mean rate of rounds 0 -> 2 and round 3 is exact
dp_rrdcached_cmd "$RC_SOCK" "FLUSH dev3/port-id2.rrd" >/dev/null || fail "FLUSH"
rrdtool fetch "$RC_RRD_DIR/dev3/port-id2.rrd" AVERAGE --start "$START" --end $((START + 15)) |
    awk -v s="$START" '/^[0-9]+:/ { r = ($1 - s) / 5; if (r < 1 || r > 3) next; rows++
        for (k = 2; k <= NF; k++) { want = 3 * (k - 1) * (r == 3 ? 2 : 1.5)
            if ($k ~ /nan/ || $k + 0 != want) { print "r=" r " ds=" k - 2 " got " $k " want " want; bad++ } } }
        END { exit bad > 0 || rows != 3 }' || fail "dev3/port-id2.rrd lost a neighbour of the rejected update"
[ "$(rc_last dev3/port-id2.rrd)" = $((START + 15)) ] || fail "LAST of dev3/port-id2"
echo "ok: rrdtool fetch gives the exact rates; the rejected update's neighbours are present"

kill -TERM $RW_PID
dp_wait_gone $RW_PID 20 || fail "rrdwriter did not stop on SIGTERM"
wait $RW_PID
rc=$?
[ $rc = 0 ] || fail "rrdwriter exit code $rc after SIGTERM"
grep -q 'msg=drained' "$RW_LOG" || fail "no drain log line"
echo "ok: SIGTERM drains and exits 0"
