#!/usr/bin/env bash
# test_redis_auth.sh - dp_redis AUTH with an ACL user and SELECT against a real redis-server:
# the right user/password lands writes in db 3; a wrong password is an AUTH error (WRONGPASS)
# whose text does not contain the password; NOPERM is an error reply and the connection stays
# usable; after a redis restart dp_redis_command reconnects, re-AUTHs and re-SELECTs.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
RL=$B/tests/redislock
ADMIN_PW='adm1n-pw'
USER_PW='us3r%s-Pw!x'  # % and ! check that the password is passed as one binary-safe arg
WRONG_PW='Wr0ngSecret%d99'
USER_ACL=(--user dpuser on ">$USER_PW" '~dp:*' '~lock:*' +@all -flushall)

[ -x "$RL" ] || fail "missing $RL (build with make BUILD=$B)"
DP_REDIS_AUTH=$ADMIN_PW dp_start_redis REDIS --requirepass "$ADMIN_PW" "${USER_ACL[@]}" ||
    fail "redis did not start"
admin() { redis-cli --no-auth-warning -a "$ADMIN_PW" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# env execs the binary, so a backgrounded "${RL_CMD[@]}" has $! = the client's own pid
RL_CMD=(env REDIS_PASSWORD="$USER_PW" "$RL" -p "$REDIS_PORT" -u dpuser -n 3)
rl() { "${RL_CMD[@]}" "$@"; }

# Right credentials: ACL user, db 3.
[ "$(rl whoami)" = dpuser ] || fail "whoami: '$(rl whoami)'"
[ "$(rl set dp:k v1)" = OK ] || fail "set failed: '$(rl set dp:k v1)'"
[ "$(admin -n 3 GET dp:k)" = v1 ] || fail "dp:k did not land in db 3"
[ "$(admin -n 0 EXISTS dp:k)" = 0 ] || fail "dp:k landed in db 0"

# Wrong password: AUTH error with the server's text and without the password.
out=$("$RL" -p "$REDIS_PORT" -u dpuser -a "$WRONG_PW" ping)
rc=$?
echo "wrong password -> rc=$rc $out"
[ $rc -eq 2 ] || fail "wrong password: rc $rc"
[[ "$out" == "error auth "*WRONGPASS* ]] || fail "wrong password: '$out'"
[[ "$out" != *"$WRONG_PW"* ]] || fail "the error text leaks the password"
out=$(REDIS_PASSWORD=$WRONG_PW "$RL" -p "$REDIS_PORT" ping)
[[ "$out" == "error auth "*WRONGPASS* && "$out" != *"$WRONG_PW"* ]] ||
    fail "wrong default-user password: '$out'"

# NOPERM is an error reply: reported with its text, and the connection stays usable.
mapfile -t lines < <(rl sets other:k v dp:k2 v2)
echo "NOPERM run: ${lines[*]}"
[[ "${lines[0]}" == "error auth NOPERM"* ]] || fail "key outside the ACL: '${lines[0]}'"
[ "${lines[1]}" = OK ] || fail "connection unusable after NOPERM: '${lines[1]}'"
[ "${lines[2]}" = "connects 1" ] || fail "NOPERM forced a reconnect: '${lines[2]}'"
[ "$(admin -n 3 GET dp:k2)" = v2 ] || fail "dp:k2 not written"

# A server that stops answering (CLIENT PAUSE) gives a TIMEOUT error after the 200 ms timeout.
admin CLIENT PAUSE 1500 ALL >/dev/null || fail "CLIENT PAUSE failed"
t0=$("$RL" now)
out=$(rl -t 200 get dp:k 2>&1)
t1=$("$RL" now)
echo "paused server -> $out ($((t1 - t0)) ms)"
[[ "$out" == "error timeout "* ]] || fail "paused server: '$out'"
[ $((t1 - t0)) -lt 1200 ] || fail "timeout took $((t1 - t0)) ms"
admin CLIENT UNPAUSE >/dev/null

# Restart: a long-running client reconnects, re-authenticates and re-selects db 3.
"${RL_CMD[@]}" cmdloop dp:counter 100 >"$DP_TMP/loop.out" 2>&1 &
LOOP=$!
dp_register $LOOP "$DP_TMP/loop.out"
dp_wait_until 10 grep -q ' ok ' "$DP_TMP/loop.out" || fail "cmdloop never succeeded"
before=$(wc -l <"$DP_TMP/loop.out")
dp_restart_redis REDIS --requirepass "$ADMIN_PW" "${USER_ACL[@]}" || fail "restart failed"
ok_after() { tail -n +"$((before + 1))" "$DP_TMP/loop.out" | grep -q ' ok .* connects=2'; }
dp_wait_until 10 ok_after || fail "client did not recover after the restart"
tail -n +"$((before + 1))" "$DP_TMP/loop.out" | grep -q ' err ' ||
    fail "client never saw the restart (no error line)"
[ -n "$(admin -n 3 GET dp:counter)" ] || fail "after reconnect the writes are not in db 3"
[ "$(admin -n 0 EXISTS dp:counter)" = 0 ] || fail "after reconnect the writes went to db 0"
grep -v ' ok ' "$DP_TMP/loop.out" | head -n 3
grep -qF -- "$USER_PW" "$DP_TMP/loop.out" && fail "cmdloop output leaks the password"
echo "PASS test_redis_auth"
