#!/usr/bin/env bash
# test_redis_lock.sh - dp_lock against a real redis-server: two contenders, exactly one holds
# (GET key == its token, the other reports busy); kill -9 the holder and the other holds within
# TTL + 1 s (monotonic timestamps), never before the old lease could expire; a non-owner release
# leaves the key; SIGTERM makes the holder release.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
RL=$B/tests/redislock
TTL=2000
RENEW=600
KEY=lock:test

fail()
{
    echo "FAIL: $*"
    for f in "$DP_TMP"/*.out; do echo "--- $f"; cat "$f"; done
    DP_TEST_FAILED=1
    exit 1
}

[ -x "$RL" ] || fail "missing $RL (build with make BUILD=$B)"
dp_start_redis REDIS || fail "redis did not start"
cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

"$RL" -p "$REDIS_PORT" -N node-a contend $KEY $TTL $RENEW >"$DP_TMP/a.out" 2>&1 &
PID_a=$!
dp_register $PID_a
"$RL" -p "$REDIS_PORT" -N node-b contend $KEY $TTL $RENEW >"$DP_TMP/b.out" 2>&1 &
PID_b=$!
dp_register $PID_b

holds() { awk '$2 == "held" {f = 1} END {exit !f}' "$DP_TMP/$1.out"; }
busy() { awk '$2 == "busy" {f = 1} END {exit !f}' "$DP_TMP/$1.out"; }
settled() { { holds a && busy b; } || { holds b && busy a; }; }
dp_wait_until 10 settled || fail "contenders did not settle into one holder and one busy"

if holds a; then W=a L=b; else W=b L=a; fi
eval "PID_W=\$PID_$W PID_L=\$PID_$L"
TOKEN=$(awk '$2 == "held" {print $3; exit}' "$DP_TMP/$W.out")
[[ "$TOKEN" == node-$W-* ]] || fail "holder token '$TOKEN' lacks the node prefix node-$W-"
[ "$(cli GET $KEY)" = "$TOKEN" ] || fail "GET $KEY is '$(cli GET $KEY)', holder printed '$TOKEN'"
grep -q " busy lock $KEY held by $TOKEN" "$DP_TMP/$L.out" || fail "loser does not name the holder"
echo "holder $W ($TOKEN), $L busy"

# The holder keeps it across more than one TTL (renewal works) and the loser never holds.
end=$(($(date +%s%N) + (TTL + 500) * 1000000))
while [ "$(date +%s%N)" -lt $end ]; do
    [ "$(cli GET $KEY)" = "$TOKEN" ] || fail "lock changed hands while the holder was alive"
    sleep 0.1
done
holds $L && fail "both contenders held the lock"

# A one-shot acquire and a non-owner release are refused and leave the key alone.
out=$("$RL" -p "$REDIS_PORT" acquire $KEY $TTL)
[ $? -eq 1 ] && [[ "$out" == "busy lock $KEY held by $TOKEN" ]] || fail "third acquire: '$out'"
out=$("$RL" -p "$REDIS_PORT" release $KEY not-the-owner)
[ $? -eq 1 ] && [[ "$out" == not-owner* ]] || fail "non-owner release: '$out'"
[ "$(cli GET $KEY)" = "$TOKEN" ] || fail "non-owner release deleted the key"

# kill -9 the holder: the other takes over within TTL + 1 s.
T_KILL=$("$RL" now)
kill -KILL "$PID_W"
dp_wait_until $(((TTL + 3000) / 1000)) holds $L ||
    fail "the survivor never acquired the lock"
read -r T_ACQ _ TOKEN2 < <(awk '$2 == "held"' "$DP_TMP/$L.out" | head -n 1)
DELAY=$((T_ACQ - T_KILL))
echo "takeover after ${DELAY} ms (TTL ${TTL} ms)"
[ $DELAY -le $((TTL + 1000)) ] || fail "takeover took ${DELAY} ms > TTL + 1000"
[ $DELAY -ge $((TTL - RENEW - 200)) ] || fail "takeover after ${DELAY} ms: the lease was stolen early"
[ "$(cli GET $KEY)" = "$TOKEN2" ] || fail "GET $KEY is not the new holder's token"
[ "$TOKEN2" != "$TOKEN" ] || fail "new holder reused the old token"

# SIGTERM: the new holder releases, the key is gone.
kill -TERM "$PID_L"
dp_wait_gone "$PID_L" 5 || fail "contender did not stop on SIGTERM"
grep -q ' released' "$DP_TMP/$L.out" || fail "contender did not report the release"
[ "$(cli EXISTS $KEY)" = 0 ] || fail "key still exists after the owner released it"
echo "PASS test_redis_lock"
