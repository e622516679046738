#!/usr/bin/env bash
# test_stack.sh - the local stack (tests/lib/stack.sh, behind `make run` / `make stop`) in a temp
# run folder on free ports: every server answers, a second start starts no duplicates and keeps
# APP_KEY, stop leaves no process behind, and a start after stop reuses the data.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
export BUILD=$B # tests/lib/stack.sh reads it
export DP_RUN_DIR=$DP_TMP/run DP_STACK_PORTS=free
STACK=(bash tests/lib/stack.sh)
RUN=$DP_RUN_DIR
fails=0

check()  # DESCRIPTION CMD...
{
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        fails=$((fails + 1))
        DP_TEST_FAILED=1
    fi
}

s_cleanup()
{
    local rc=$?
    "${STACK[@]}" stop >/dev/null 2>&1
    DP_LOGS+=("$RUN"/mariadb/mariadb.log "$RUN"/redis/redis.log "$RUN"/rrdcached/rrdcached.out
        "$RUN"/snmpd/snmpd.log "$RUN"/logs/*.log)
    (exit $rc)
    dp_harness_exit
}
trap s_cleanup EXIT

pids()  # prints "name=pid" for every recorded process, sorted
{
    local f
    for f in "$RUN"/pids/*.pid; do
        [ -e "$f" ] && echo "$(basename "$f" .pid)=$(cat "$f")"
    done | sort
}

no_procs()  # no live process has the run folder in its command line
{
    ! pgrep -f "$RUN/" >/dev/null
}

gone()  # PID: not running, or a zombie waiting for its (foreign) parent, within 10 s (a process
{       # whose threads still exit after stop saw its main thread a zombie)
    dp_wait_gone "$1" 10
}

echo "== start"
out=$("${STACK[@]}" start 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || {
    echo "FAIL stack.sh start exited $rc"
    exit 1
}
source "$RUN/stack.state"
first=$(pids)
echo "$first"

check "env file is 0600" test "$(stat -c %a "$RUN/distpoll.env")" = 600
check "env file has APP_KEY and NODE_ID" grep -q "^APP_KEY=$ST_APP_KEY\$" "$RUN/distpoll.env"
check "env file DB_SOCKET is absolute" grep -q "^DB_SOCKET=$RUN/mariadb/mysql.sock\$" "$RUN/distpoll.env"
check "env file DP_RRDCACHED" grep -q "^DP_RRDCACHED=unix:$RUN/rrdcached/rrdcached.sock\$" "$RUN/distpoll.env"
for n in mariadb redis rrdcached snmpd; do
    check "$n pid recorded" test -s "$RUN/pids/$n.pid"
done
check "mariadb answers select 1 as distpoll" \
    bash -c "mariadb --defaults-file='$RUN/mariadb/client.cnf' -N -e 'select 1' | grep -qx 1"
check "mariadb listens on its TCP port" \
    mariadb --no-defaults -h 127.0.0.1 -P "$ST_MARIADB_PORT" -udistpoll -pdistpoll distpoll -e 'select 1'
check "redis answers PING" bash -c "redis-cli -p $ST_REDIS_PORT ping | grep -qx PONG"
check "rrdcached answers STATS" \
    bash -c "source tests/lib/servers.sh; dp_rrdcached_cmd '$RUN/rrdcached/rrdcached.sock' STATS | grep -q '^QueueLength:'"
check "snmpd answers v2c on 127.0.0.1" \
    snmpget -v2c -c public -r1 -t1 "127.0.0.1:$ST_SNMP_PORT" 1.3.6.1.2.1.1.3.0
check "snmpd answers v2c on 127.0.0.2" \
    snmpget -v2c -c public -r1 -t1 "127.0.0.2:$ST_SNMP_PORT" 1.3.6.1.2.1.1.3.0
check "snmpd answers v3 authPriv SHA-256/AES" \
    snmpget -v3 -l authPriv -u dpv3 -a SHA-256 -A distpoll-auth-pass -x AES -X distpoll-priv-pass \
    -r1 -t1 "127.0.0.1:$ST_SNMP_PORT" 1.3.6.1.2.1.1.5.0
check "snmpd refuses a wrong community" \
    bash -c "! snmpget -v2c -c wrong -r0 -t0.3 127.0.0.1:$ST_SNMP_PORT 1.3.6.1.2.1.1.3.0"
check "summary names the log files" grep -q "$RUN/mariadb/mariadb.log" <<<"$out"
if [ -x "$BUILD/distpoll" ]; then
    devices=$("$BUILD/distpoll" --env-file "$RUN/distpoll.env" device list 2>&1)
    echo "$devices"
    for h in 127.0.0.1 127.0.0.2 local-v3; do
        check "device $h added" grep -q "^[0-9]* *$h " <<<"$devices"
    done
fi

echo "== start again"
out=$("${STACK[@]}" start 2>&1)
rc=$?
echo "$out" | head -n 12
check "second start exits 0" test $rc -eq 0
check "second start says already running" grep -q "mariadb: already running" <<<"$out"
check "second start: same processes" test "$(pids)" = "$first"
if [ -x "$BUILD/distpoll" ]; then
    # compare id and hostname only: status and last-poll columns move as the daemons poll
    check "second start adds no duplicate device" test \
        "$("$BUILD/distpoll" --env-file "$RUN/distpoll.env" device list 2>&1 | awk '{ print $1, $2 }')" = \
        "$(awk '{ print $1, $2 }' <<<"$devices")"
fi
check "second start keeps APP_KEY" grep -q "^APP_KEY=$ST_APP_KEY\$" "$RUN/distpoll.env"
check "status exits 0 while running" "${STACK[@]}" status

echo "== stop"
"${STACK[@]}" stop
check "stop exits 0" test $? -eq 0
for p in $(echo "$first" | cut -d= -f2); do
    check "pid $p is gone" gone "$p"
done
check "no pid files left" bash -c "! ls '$RUN'/pids/*.pid 2>/dev/null | grep -q ."
check "no process mentions the run folder" no_procs
check "status exits non-zero when stopped" bash -c "! bash tests/lib/stack.sh status"
check "stop again is harmless" "${STACK[@]}" stop

echo "== start after stop (datadir reused, same ports)"
echo marker >>"$RUN/mariadb/install.log" # dp_start_mariadb truncates it when it installs
out=$("${STACK[@]}" start 2>&1)
check "restart exits 0" test $? -eq 0
check "mariadb datadir not initialised twice" grep -qx marker "$RUN/mariadb/install.log"
check "restart reuses the mariadb port" grep -q "127.0.0.1:$ST_MARIADB_PORT" <<<"$out"
check "redis answers after restart" bash -c "redis-cli -p $ST_REDIS_PORT ping | grep -qx PONG"
second=$(pids)
"${STACK[@]}" stop >/dev/null
for p in $(echo "$second" | cut -d= -f2); do
    check "pid $p is gone after the second stop" gone "$p"
done

[ $fails -eq 0 ] || {
    echo "$fails check(s) failed"
    exit 1
}
echo "all stack checks passed"
