#!/usr/bin/env bash
# test_redis_sentinel.sh - dp_redis through real redis-sentinel: a master and a replica (both with
# requirepass), 3 sentinels (quorum 2, down-after 1000 ms, failover-timeout 5000 ms, ACL user for
# sentinel auth). A client resolves the master through the sentinels and writes; after SENTINEL
# FAILOVER its next commands reach the new master (its port, ROLE master), within a deadline.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
RL=$B/tests/redislock
SERVICE=dpmaster
DATA_PW='d4ta-pw'
SENT_USER=dpsentinel
SENT_PW='s3nt-pw'

fail()
{
    echo "FAIL: $*"
    [ -f "$DP_TMP/loop.out" ] && tail -n 40 "$DP_TMP/loop.out"
    DP_TEST_FAILED=1
    exit 1
}

[ -x "$RL" ] || fail "missing $RL (build with make BUILD=$B)"
export DP_REDIS_AUTH=$DATA_PW
REPL_ARGS=(--requirepass "$DATA_PW" --masterauth "$DATA_PW" --repl-diskless-sync-delay 0)
dp_start_redis M "${REPL_ARGS[@]}" || fail "master did not start"
dp_start_redis_replica R "$M_PORT" "${REPL_ARGS[@]}" ||
    fail "replica did not start"
data() { local p=$1; shift; redis-cli --no-auth-warning -a "$DATA_PW" -h 127.0.0.1 -p "$p" "$@"; }
link_up() { data "$R_PORT" INFO replication | grep -q 'master_link_status:up'; }
dp_wait_until 15 link_up || fail "replica never synced"

SENT_CONF=("sentinel auth-pass $SERVICE $DATA_PW"
    "user default off"
    "user $SENT_USER on >$SENT_PW allchannels +@all"
    "sentinel sentinel-user $SENT_USER"
    "sentinel sentinel-pass $SENT_PW")
for s in S1 S2 S3; do
    dp_start_sentinel $s "$M_PORT" $SERVICE "${SENT_CONF[@]}" || fail "sentinel $s did not start"
done
sent() { local p=$1; shift; redis-cli --no-auth-warning --user $SENT_USER --pass "$SENT_PW" \
    -h 127.0.0.1 -p "$p" "$@"; }
knows_all() { sent "$1" SENTINEL master $SERVICE | grep -A1 -x 'num-other-sentinels' | tail -n 1 |
    grep -qx 2 && sent "$1" SENTINEL replicas $SERVICE | grep -qx "$R_PORT"; }
for p in "$S1_PORT" "$S2_PORT" "$S3_PORT"; do
    dp_wait_until 20 knows_all "$p" || fail "sentinel :$p did not discover the replica and peers"
done
SENTINELS="127.0.0.1:$S1_PORT,127.0.0.1:$S2_PORT,127.0.0.1:$S3_PORT"
# env execs the binary, so a backgrounded "${RL_CMD[@]}" has $! = the client's own pid
RL_CMD=(env REDIS_PASSWORD="$DATA_PW" REDIS_SENTINEL_PASSWORD="$SENT_PW" "$RL" -S "$SENTINELS"
    -s $SERVICE -U $SENT_USER -t 300)
rl() { "${RL_CMD[@]}" "$@"; }

# Wrong sentinel password: an AUTH error, no password in the text.
out=$(REDIS_PASSWORD=$DATA_PW "$RL" -S "$SENTINELS" -s $SERVICE -U $SENT_USER -P wrong-Sx ping)
[[ "$out" == "error auth "*WRONGPASS* && "$out" != *wrong-Sx* ]] || fail "bad sentinel pw: '$out'"
# Unknown service name: not found through any sentinel.
out=$(REDIS_PASSWORD=$DATA_PW REDIS_SENTINEL_PASSWORD=$SENT_PW "$RL" -S "$SENTINELS" \
    -s nosuch -U $SENT_USER ping)
[[ "$out" == "error notfound "*nosuch* ]] || fail "unknown service: '$out'"

[ "$(rl role)" = "master 127.0.0.1:$M_PORT" ] || fail "resolved '$(rl role)', want :$M_PORT"

# Lock with a replica: acquire WAITs for 1 ack. With the replica frozen (SIGSTOP) WAIT gets 0
# acks, so the acquire is refused and our unreplicated key is deleted again.
out=$(rl acquire lock:a 5000)
[[ $? -eq 0 && "$out" == held* ]] || fail "acquire with a live replica: '$out'"
kill -STOP "$R_PID"
out=$(rl acquire lock:b 5000)
rc=$?
kill -CONT "$R_PID"
echo "acquire with a frozen replica -> rc=$rc $out"
[[ $rc -eq 1 && "$out" == "busy lock lock:b not acknowledged by replicas (0 of 1)" ]] ||
    fail "acquire with a frozen replica: '$out'"
[ "$(data "$M_PORT" EXISTS lock:b)" = 0 ] || fail "unreplicated lock key was left behind"
"${RL_CMD[@]}" cmdloop dp:ctr 100 >"$DP_TMP/loop.out" 2>&1 &
dp_register $! "$DP_TMP/loop.out"
dp_wait_until 10 grep -q " ok .* 127.0.0.1:$M_PORT " "$DP_TMP/loop.out" ||
    fail "client did not write to the master through the sentinels"

T0=$("$RL" now)
failover() { sent "$S1_PORT" SENTINEL FAILOVER $SERVICE | grep -qx OK; }
dp_wait_until 10 failover || fail "SENTINEL FAILOVER refused: $(sent "$S1_PORT" SENTINEL FAILOVER $SERVICE)"
dp_wait_until 30 grep -q " ok .* 127.0.0.1:$R_PORT " "$DP_TMP/loop.out" ||
    fail "client did not follow the failover to :$R_PORT"
T1=$(awk -v a="127.0.0.1:$R_PORT" '$2 == "ok" && $4 == a {print $1; exit}' "$DP_TMP/loop.out")
echo "client writes reached the new master $((T1 - T0)) ms after SENTINEL FAILOVER"
# Sentinel demotes the old master only ~10 s later; the client must not wait for that.
[ $((T1 - T0)) -le 6000 ] || fail "client took $((T1 - T0)) ms to follow the failover"
[ "$(data "$R_PORT" ROLE | head -n 1)" = master ] || fail "the new master's ROLE is not master"
[ "$(rl role)" = "master 127.0.0.1:$R_PORT" ] || fail "fresh client resolved '$(rl role)'"
[ -n "$(data "$R_PORT" GET dp:ctr)" ] || fail "no counter on the new master"
# After the switch, no write went to the old master (the client never went back).
last=$(awk '$2 == "ok" {a = $4} END {print a}' "$DP_TMP/loop.out")
[ "$last" = "127.0.0.1:$R_PORT" ] || fail "client's last write went to $last"
old_is_replica() { [ "$(data "$M_PORT" ROLE | head -n 1)" = slave ]; }
dp_wait_until 15 old_is_replica || fail "old master was not turned into a replica"
grep -v " ok " "$DP_TMP/loop.out" | head -n 20
echo "PASS test_redis_sentinel"
