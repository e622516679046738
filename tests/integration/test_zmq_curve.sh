#!/usr/bin/env bash
# test_zmq_curve.sh - CURVE + ZAP between processes: only a peer holding the same APP_KEY gets
# a message through. A peer with another APP_KEY, a rogue client that knows the server key, a
# plaintext client and a client with the wrong server key all deliver nothing; the server
# sees each refusal (ZAP denial counter and rate-limited log, or a failed handshake), and a
# correct client still gets through afterwards.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
B=$B/tests

OUT=$DP_TMP/pull.out
ERR=$DP_TMP/pull.err
EP=tcp://127.0.0.1:$(dp_free_port)
KEY="base64:curve-test-$RANDOM$RANDOM"
"$B/zmqpeer" pull "$EP" "$KEY" 0 55000 >"$OUT" 2>"$ERR" &
PULL=$!
dp_register $PULL "$OUT"
DP_LOGS+=("$ERR")
dp_wait_until 10 grep -q '^listening' "$OUT" || fail "zmqpeer pull did not start"

push() # push ARGS... : runs a client, prints its output
{
    "$B/zmqpeer" push "$@" 2>&1
}
failures() { grep -c '^event handshake_failed' "$OUT"; }
denied() { sed -n 's/^zap allowed=[0-9]* denied=\([0-9]*\)$/\1/p' "$OUT" | tail -n 1; }
# predicates for dp_wait_until (re-evaluated on every poll)
failures_above() { [ "$(failures)" -gt "$1" ]; }
denied_above() { [ "$(denied)" -gt "$1" ] 2>/dev/null; }

# 1. same APP_KEY: delivered. The client exits right after zmq_send; the non-zero linger is
#    what gets the queued message out before the process ends.
push "$EP" "$KEY" good-1 | grep -qx 'sent good-1' || fail "good client could not send"
dp_wait_until 10 grep -qx 'msg good-1' "$OUT" || fail "good-1 not delivered"
echo "ok: same APP_KEY delivered"

# 2. different APP_KEY: the handshake fails (the server key differs, so it never reaches ZAP).
#    The client tries for 2 s (its send timeout); nothing may arrive, during or after.
before=$(failures)
res=$(push "$EP" "other-$KEY" wrong-app-key)
grep -q '^send failed wrong-app-key' <<<"$res" || fail "wrong-key client queued: $res"
dp_wait_until 5 failures_above "$before" || fail "server saw no failed handshake"
grep -q 'msg wrong-app-key' "$OUT" && fail "message from a different APP_KEY was delivered"
echo "ok: different APP_KEY refused ($(($(failures) - before)) failed handshakes)"

# 3. rogue client: right server key, unknown client key -> ZAP 400, counted and logged.
push --rogue-client "$EP" "$KEY" rogue-1 >/dev/null
dp_wait_until 5 denied_above 0 || fail "ZAP denial not counted"
dp_wait_until 5 grep -q 'msg="zap denied" peer=127.0.0.1 mechanism=CURVE reason="unknown client key"' \
    "$ERR" || fail "ZAP denial not logged"
first=$(denied)
push --rogue-client "$EP" "$KEY" rogue-2 >/dev/null
dp_wait_until 5 denied_above "$first" || fail "second ZAP denial not counted"
[ "$(grep -c 'msg="zap denied"' "$ERR")" -eq 1 ] || fail "denial log not rate-limited per peer"
grep -q 'msg rogue' "$OUT" && fail "rogue client message delivered"
echo "ok: rogue client key denied by ZAP ($(denied) denials, 1 log line)"

# 4. plaintext client -> mechanism mismatch; 5. wrong server key -> cryptographic error.
before=$(failures)
res=$(push --plain "$EP" "$KEY" plain-1)
grep -q '^send failed' <<<"$res" || fail "plain client queued: $res"
dp_wait_until 5 failures_above "$before" || fail "plain handshake not refused"
before=$(failures)
res=$(push --wrong-server-key "$EP" "$KEY" wsk-1)
grep -q '^send failed' <<<"$res" || fail "wrong-server-key client queued: $res"
dp_wait_until 5 failures_above "$before" || fail "wrong server key not refused"
grep -Eq 'msg (plain|wsk)' "$OUT" && fail "plain or wrong-server-key message delivered"
echo "ok: plaintext and wrong-server-key clients refused"

# 6. the correct client still gets through after the rogue ones.
push "$EP" "$KEY" good-2 | grep -qx 'sent good-2' || fail "good client could not send"
dp_wait_until 10 grep -qx 'msg good-2' "$OUT" || fail "good-2 not delivered after rogues"

kill -TERM $PULL
wait $PULL || fail "zmqpeer pull exited non-zero"
summary=$(tail -n 1 "$OUT")
echo "$summary"
[[ "$summary" == received=2\ * ]] || fail "expected exactly 2 messages: $summary"
[ "$(grep -c '^msg ' "$OUT")" -eq 2 ] || fail "unexpected messages: $(grep '^msg ' "$OUT")"
echo "PASS"
