#!/usr/bin/env bash
# test_rrdwriter_restart.sh - kill -9 of the rrdwriter mid-stream, then a restart on the same
# spool: metricsgen's sink resends what was not ACKed, the spool replays what was ACKed and not
# yet applied; every (file, ts) ends up in the files exactly once (exact alternating rates:
# an update applied twice or missing would change them) and the duplicates are counted.
# Also: a torn frame at the spool's tail is cut at restart.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh
DEV=10 PORTS=3 STEP=1 ROUNDS=40

dp_start_rrdcached RC || fail "rrdcached did not start"
RW_RRA=librenms RW_STEP=$STEP rw_env "$DP_TMP/rw.env"
rw_start rw1
START=$(($(date +%s) - ROUNDS - 5))

rw_gen --devices $DEV --ports $PORTS --rounds $ROUNDS --step $STEP --start-ts $START \
    --round-ms 250 --resend-ms 1500 --wait-ms 60000 >"$DP_TMP/gen.out" 2>&1 &
GEN=$!
some() { [ "$(rw_stat acked)" -ge $((DEV * 8)) ] 2>/dev/null; }
dp_wait_until 20 some || fail "nothing acked before the kill"
kill -KILL $RW_PID
dp_wait_gone $RW_PID 10 || fail "rrdwriter survived kill -9"
echo "ok: rrdwriter killed mid-stream"
# a torn frame, as a crash during a write leaves it (never ACKed: the commit did not finish)
last=$(ls "$DP_TMP"/spool/seg-*.spool | tail -1)
printf '\x40\x00\x00\x00torn' >>"$last"
sleep 2 # the writer stays away a while (not a readiness wait)
rw_start rw2
grep -q 'spool_repaired: 1' <<<"$(rw_ctl STATS)" || fail "torn tail not repaired: $(rw_ctl STATS)"
wait $GEN || fail "metricsgen: $(cat "$DP_TMP/gen.out")"
cat "$DP_TMP/gen.out"
grep -q "pending=0" "$DP_TMP/gen.out" || fail "metricsgen has unacked messages"
drained() { rw_backlog_zero && [ "$(rw_stat rrdcached_up)" = 1 ]; }
dp_wait_until 30 drained || fail "backlog did not drain: $(rw_ctl BACKLOG)"
sleep 1
rw_check_all $DEV $PORTS "$START" $STEP $((ROUNDS - 1)) || fail "updates missing or doubled"
stats=$(rw_ctl STATS)
dups=$(awk -F': ' '$1 == "illegal_old" || $1 == "replay_already_applied" { n += $2 } END { print n + 0 }' <<<"$stats")
[ "$dups" -gt 0 ] || fail "no duplicate was counted after the restart: $stats"
grep -qx "update_errors: 0" <<<"$stats" || fail "rrdcached refused updates: $stats"
echo "ok: every (file, ts) present exactly once; $dups duplicates counted, not applied" \
    "($(grep -E '^(replay_already_applied|illegal_old|received):' <<<"$stats" | tr '\n' ' '))"
