#!/usr/bin/env bash
# test_rrdwriter_outage.sh - rrdcached stops (kill -9 by default, DP_OUTAGE_SIG=TERM for a clean
# stop) for DP_OUTAGE_S seconds (default 20; the issue's figure is 60) while metricsgen keeps
# sending; rrdwriter keeps ACKing into its spool, reports rrdcached down, and after the restart
# replays in order: every (file, ts) is in the files (exact alternating rates, LAST), the
# backlog drains to 0, and a kill -9's lost journal tail is covered by the spool replay.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh
OUTAGE_S=${DP_OUTAGE_S:-20}
SIG=${DP_OUTAGE_SIG:-KILL}
DEV=10 PORTS=2 STEP=1
ROUNDS=$((OUTAGE_S * 2 + 20)) # one round per 500 ms: ~5 s before, the outage, ~5 s after

dp_start_rrdcached RC || fail "rrdcached did not start"
RW_RRA=librenms RW_STEP=$STEP rw_env "$DP_TMP/rw.env"
rw_start rw
START=$(($(date +%s) - ROUNDS - 5))

rw_gen --devices $DEV --ports $PORTS --rounds $ROUNDS --step $STEP --start-ts $START \
    --round-ms 500 --resend-ms 2000 --wait-ms 60000 >"$DP_TMP/gen.out" 2>&1 &
GEN=$!
got_some() { [ "$(rw_stat updates_sent)" -ge $((DEV * PORTS * 6)) ] 2>/dev/null; }
dp_wait_until 20 got_some || fail "no updates reached rrdcached before the outage"

kill -$SIG "$RC_PID"
dp_wait_gone "$RC_PID" 20 || fail "rrdcached did not stop"
down() { [ "$(rw_stat rrdcached_up)" = 0 ]; }
dp_wait_until 10 down || fail "rrdwriter did not notice rrdcached stopping"
sent_at_stop=$(rw_stat updates_sent)
acked_at_stop=$(rw_stat acked)
echo "ok: rrdcached stopped (SIG$SIG) after $sent_at_stop updates; outage ${OUTAGE_S}s"
sleep "$OUTAGE_S" # the outage itself (not a readiness wait)
acked_in_outage=$(($(rw_stat acked) - acked_at_stop))
backlog=$(rw_stat backlog)
[ "$acked_in_outage" -gt 0 ] || fail "nothing was ACKed while rrdcached was down"
[ "$backlog" -gt 0 ] || fail "no backlog while rrdcached was down"
echo "ok: during the outage $acked_in_outage messages were ACKed into the spool (backlog $backlog bytes)"

dp_start_rrdcached RC || fail "rrdcached did not restart"
up() { [ "$(rw_stat rrdcached_up)" = 1 ]; }
dp_wait_until 15 up || fail "rrdwriter did not reconnect"
wait $GEN || fail "metricsgen: $(cat "$DP_TMP/gen.out")"
cat "$DP_TMP/gen.out"
grep -q "pending=0" "$DP_TMP/gen.out" || fail "metricsgen has unacked messages"
drained() { rw_backlog_zero && [ "$(rw_stat messages_applied)" -ge $((DEV * ROUNDS)) ]; }
dp_wait_until 60 drained || fail "backlog did not drain: $(rw_ctl BACKLOG)"
echo "ok: reconnected and drained: $(rw_ctl BACKLOG | tr '\n' ' ')"

rw_check_all $DEV $PORTS "$START" $STEP $((ROUNDS - 1)) || fail "updates are missing after the outage"
stats=$(rw_ctl STATS)
grep -qx "updates_rejected: 0" <<<"$stats" || fail "updates were rejected: $stats"
grep -qx "update_errors: 0" <<<"$stats" || fail "rrdcached refused updates: $stats"
echo "ok: all $((DEV * PORTS)) files hold every one of the $ROUNDS timestamps" \
    "($(grep -E '^(replay_already_applied|illegal_old|rrdcached_connects):' <<<"$stats" | tr '\n' ' '))"
