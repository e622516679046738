#!/usr/bin/env bash
# test_cli_tap.sh - distpoll tap STAGE: subscribes to the taps (dp_tap) of the local daemons of
# a stage and prints each message decoded by dp_msg_print_json, one JSON object a line with the
# topic ("poller.in"/"poller.out") in front; --dir filters, --endpoint picks a tap, two local
# daemons of one stage are both heard, a garbled message is a line with "error", and a missing
# tap or stage is a clear error. clitool plays the daemons' side (dp_tap_new + dp_tap_publish).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
expect_rc() { # RC CMD...
    local want=$1; shift
    out=$("$@" 2>/dev/null); local rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want from '$*', got $rc: $out $("$@" 2>&1 >/dev/null)"
}
CTL=$DP_TMP/ctl
mkdir -p "$CTL"
run() { env -i PATH="$PATH" "$B/distpoll" --set NODE_ID=n1 --set "DP_CONTROL_DIR=$CTL" "$@"; }
publisher() { # NODE N : a daemon "poller" on NODE publishing N messages + 1 garbled once heard
    "$B/tests/clitool" tap "$CTL" poller "$1" "$2" >"$DP_TMP/pub-$1.out" 2>&1 &
    dp_register $! "$DP_TMP/pub-$1.out"
    dp_wait_until 5 test -S "$CTL/poller-$1.tap" || fail "tap of $1 not bound"
}

err=$(run tap poller 2>&1); rc=$?
[ $rc -eq 69 ] && grep -q "no poller tap in $CTL" <<<"$err" || fail "no tap: rc=$rc $err"
err=$(run tap pollster 2>&1); rc=$?
[ $rc -eq 64 ] && grep -q 'STAGE "pollster": expected scheduler, poller' <<<"$err" || fail "bad stage: rc=$rc $err"
err=$(run tap poller --dir sideways 2>&1); rc=$?
[ $rc -eq 64 ] && grep -q -- '--dir "sideways": expected in or out' <<<"$err" || fail "bad dir: $err"

# --- every message, both directions, decoded
publisher n1 10
expect_rc 0 run tap poller --count 11 --timeout 15
[ "$(wc -l <<<"$out")" = 11 ] || fail "expected 11 lines: $out"
jq -e . <<<"$out" >/dev/null || fail "not one JSON object a line: $out"
[ "$(jq -s 'map(select(.tap == "poller.out" and .type == "JOB")) | length' <<<"$out")" = 5 ] || fail "JOB out: $out"
[ "$(jq -s 'map(select(.tap == "poller.in" and .type == "RESULT")) | length' <<<"$out")" = 5 ] || fail "RESULT in: $out"
jq -se 'map(select(.type == "JOB"))[0] | .body.hostname == "sw\"7.example.net" and .body.kind == "poll" and .sender_node == "sched-a" and .at_ms > 0' <<<"$out" >/dev/null ||
    fail "JOB fields: $out"
jq -se 'map(select(.error))[0] | .tap == "poller.in" and .bytes == 8' <<<"$out" >/dev/null || fail "garbled message: $out"
dp_wait_until 5 grep -q "published 11" "$DP_TMP/pub-n1.out" || fail "publisher: $(cat "$DP_TMP/pub-n1.out")"
echo "ok: tap prints every message, decoded"

# --- --dir in, through an explicit --endpoint
dp_wait_until 5 test ! -e "$CTL/poller-n1.tap" || fail "old tap still bound"
publisher n1 10
expect_rc 0 run tap poller --dir in --endpoint "ipc://$CTL/poller-n1.tap" --count 6 --timeout 15
[ "$(jq -s 'map(select(.tap == "poller.in")) | length' <<<"$out")" = 6 ] || fail "--dir in: $out"
echo "ok: --dir and --endpoint"

# --- two local daemons of the stage are both heard
dp_wait_until 5 test ! -e "$CTL/poller-n1.tap" || fail "old tap still bound"
publisher n1 4
publisher n2 4
expect_rc 0 run tap poller --count 10 --timeout 15
[ "$(jq -s 'map(select(.type)) | length' <<<"$out")" = 8 ] || fail "two daemons: $out"
dp_wait_until 5 grep -q "published 5" "$DP_TMP/pub-n2.out" || fail "n2 not heard"
echo "ok: two local daemons"

# --- a count not reached within the timeout is exit 1, saying so
err=$(run tap scheduler --endpoint "ipc://$CTL/none.tap" --count 1 --timeout 1 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q "tap: 0 of 1 messages within 1 s" <<<"$err" || fail "timeout: rc=$rc $err"
echo "cli tap ok"
