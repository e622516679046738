#!/usr/bin/env bash
# test_daemon_lifecycle.sh - dp_daemon: control socket (PING, STATS, CONFIG, custom and unknown
# verbs), SIGHUP reload, SIGTERM drain that lets in-flight jobs finish and exits 0, the drain
# deadline, refusal of a second daemon on a live control endpoint, restart after kill -9.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
B=$B/tests

SOCK=$DP_TMP/td-n1.ctl
CTL=ipc://$SOCK
ctl() { "$B/testdaemon" ctl "$CTL" "$@"; }
start() # start LOGNAME ARGS... : sets TD
{
    local log=$DP_TMP/$1.log
    shift
    "$B/testdaemon" run --name td --node n1 --ctl "$CTL" "$@" >"$log" 2>&1 &
    TD=$!
    dp_register $TD "$log"
    dp_wait_until 10 ctl PING 500 || fail "daemon did not answer PING"
}

# control socket
start td1 --job-ms 1500
LOG=$DP_TMP/td1.log
[ "$(ctl PING)" = PONG ] || fail "PING"
stats=$(ctl STATS)
for want in "daemon: td" "node: n1" "state: running" "pid: $TD" "reloads: 0" "jobs_done: 0"; do
    grep -qx "$want" <<<"$stats" || fail "STATS lacks '$want': $stats"
done
grep -q '^uptime_s: [0-9]' <<<"$stats" || fail "STATS lacks uptime_s"
[ "$(ctl "BOGUS arg")" = "ERR unknown command: BOGUS" ] || fail "unknown verb"
ctl CONFIG | grep -qx 'APP_KEY=\*\*\*\*\*\*\*\*' || fail "CONFIG"
echo "ok: PING, STATS, CONFIG, unknown verb"

# SIGHUP reloads
kill -HUP $TD
reloaded() { ctl STATS | grep -qx 'reloads: 1'; }
dp_wait_until 5 reloaded ||
    fail "reload counter did not increment"
grep -q 'msg=reload signal=SIGHUP' "$LOG" || fail "no reload log line"
grep -q 'msg="reloaded settings"' "$LOG" || fail "reload callback not called"
echo "ok: SIGHUP reload"

# a second daemon on the same live control endpoint refuses to start
"$B/testdaemon" run --name td --node n1 --ctl "$CTL" >"$DP_TMP/td-dup.log" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "second daemon started on a live control endpoint"
grep -q 'another daemon is running on control endpoint' "$DP_TMP/td-dup.log" ||
    fail "second daemon gave no clear message: $(cat "$DP_TMP/td-dup.log")"
[ "$(ctl PING)" = PONG ] || fail "first daemon lost its control socket"
echo "ok: second daemon refused (rc=$rc)"

# SIGTERM with 3 jobs in flight: no new work, the 3 finish, exit 0 within the deadline
[ "$(ctl 'JOBS 3')" = "OK started 3" ] || fail "JOBS 3"
t0=$(date +%s%N)
kill -TERM $TD
draining() { ctl STATS | grep -qx 'state: draining'; }
dp_wait_until 5 draining || fail "state not draining after SIGTERM"
[ "$(ctl 'JOBS 1')" = "ERR draining: not taking new jobs" ] || fail "took new work while draining"
wait $TD
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 0 ] || fail "exit code $rc after clean drain"
[ $ms -lt 10000 ] || fail "drain took ${ms} ms"
after=$(sed -n '/msg=draining signal=SIGTERM/,$p' "$LOG")
[ "$(grep -c 'msg="job done"' <<<"$after")" -eq 3 ] || fail "expected 3 jobs done after drain"
grep -q 'msg=stopped rc=0' <<<"$after" || fail "no clean stop line"
[ ! -e "$SOCK" ] || fail "control socket file left after clean exit"
echo "ok: SIGTERM drained 3 in-flight jobs, exit 0 in ${ms} ms"

# kill -9 leaves a stale ipc file that must not block a restart
start td2
kill -KILL $TD
wait $TD 2>/dev/null
[ -S "$SOCK" ] || fail "expected a stale socket file after kill -9"
start td3
grep -q 'msg="removed stale control socket"' "$DP_TMP/td3.log" || fail "stale file not reported"
[ "$(ctl PING)" = PONG ] || fail "restarted daemon does not answer"
kill -TERM $TD
wait $TD || fail "idle daemon did not exit 0 on SIGTERM"
echo "ok: restart after kill -9"

# drain deadline: a job longer than the deadline -> exit non-zero, logged
start td4 --job-ms 20000 --drain-ms 300
[ "$(ctl 'JOBS 1')" = "OK started 1" ] || fail "JOBS 1"
kill -TERM $TD
wait $TD
rc=$?
[ $rc -eq 1 ] || fail "expected exit 1 when the drain deadline passes, got $rc"
grep -q 'msg="drain deadline passed with work in flight"' "$DP_TMP/td4.log" ||
    fail "deadline not logged"
echo "ok: drain deadline enforced"
echo "PASS"
