#!/usr/bin/env bash
# test_inspect_live.sh - the inspection tools against REAL daemons (no stand-ins): a scheduler
# and a fakeworker (dp_jobs, so a worker's tap and trace stamps) with real MariaDB and Redis,
# plus two billers. Asserts: `distpoll tap scheduler` shows JOBs out with real device ids and
# hostnames and CREDIT/RESULT in; `distpoll tap poller` hears the worker's side (dp_jobs);
# `distpoll tap biller` shows the biller's CREDITs; `distpoll trace HOST` shows scheduled,
# taken by, polled and result times of a real job in order, for a job the worker really did;
# /metrics of the scheduler and of a biller answer with their counters and the worker's STATS
# carry the job_ms histogram; a biller whose DP_METRICS_PORT is taken logs it and carries on.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
NDEV=20
dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
SP=$(dp_free_port)
MP_S=$(dp_free_port)
MP_B=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=cli DP_CONTROL_DIR="$DP_TMP" DP_SCHEDULER_BIND="tcp://127.0.0.1:$SP" \
    DP_SCHEDULERS="tcp://127.0.0.1:$SP" DP_POLLER_INTERVAL=10s DP_JOB_TIMEOUT=5s DP_LOCK_TTL=5s
run() { env -i PATH="$PATH" "$B/distpoll" --env-file "$env" "$@"; }
run db migrate >/dev/null || fail "db migrate"
mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -e "INSERT INTO devices (hostname, overwrite_ip)
    SELECT CONCAT('dev', seq, '.example.net'), CONCAT('127.0.1.', seq) FROM seq_1_to_$NDEV" ||
    fail "insert devices"
ID1=$(mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e \
    "SELECT device_id FROM devices WHERE hostname = 'dev1.example.net'")
IDS=$(mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "SELECT device_id FROM devices" | sort -n | tr '\n' ' ')

"$B/scheduler" --env-file "$env" --node-id s1 --set "DP_METRICS_PORT=$MP_S" >"$DP_TMP/s1.log" 2>&1 &
dp_register $! "$DP_TMP/s1.log"
"$B/tests/fakeworker" --env-file "$env" --node-id w1 --work-ms 200 --slots 4 \
    >"$DP_TMP/w1.out" 2>"$DP_TMP/w1.log" &
dp_register $! "$DP_TMP/w1.log"
ctl() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/$1.ctl" "$2" 1000; }
stat() { ctl "$1" STATS | sed -n "s/^$2: //p"; }
working() { [ "$(stat scheduler-s1 is_leader)" = 1 ] && [ "$(grep -c '^job' "$DP_TMP/w1.out")" -ge 3 ]; }
dp_wait_until 20 working || fail "no jobs flow: $(ctl scheduler-s1 STATS)"
echo "ok: scheduler leads, fakeworker works jobs"

# --- tap: the scheduler's real traffic -----------------------------------------------------
out=$(run tap scheduler --count 40 --timeout 20 2>"$DP_TMP/tap.err") || fail "tap scheduler: $(cat "$DP_TMP/tap.err")"
jq -e . <<<"$out" >/dev/null || fail "tap output is not JSON lines: $out"
jobs=$(jq -s 'map(select(.tap == "scheduler.out" and .type == "JOB"))' <<<"$out")
[ "$(jq length <<<"$jobs")" -ge 1 ] || fail "no JOB out in the scheduler tap: $out"
for id in $(jq -r '.[].body.device_id' <<<"$jobs"); do
    grep -qw "$id" <<<"$IDS" || fail "JOB for device $id, not a device of the database ($IDS)"
done
jq -e 'all(.[]; .sender_node == "s1" and (.body.hostname | test("^dev[0-9]+\\.example\\.net$")) and
       .body.kind == "poll" and .body.epoch > 0)' <<<"$jobs" >/dev/null || fail "JOB fields: $jobs"
jq -se 'any(.[]; .tap == "scheduler.in" and .type == "CREDIT" and .body.node == "w1")' <<<"$out" >/dev/null ||
    fail "no CREDIT in from w1: $out"
jq -se 'any(.[]; .tap == "scheduler.in" and .type == "RESULT" and .body.node == "w1")' <<<"$out" >/dev/null ||
    fail "no RESULT in from w1: $out"
echo "ok: tap scheduler: $(jq length <<<"$jobs") JOBs out for real devices, CREDIT and RESULT in"

# --- tap: the worker side, through dp_jobs -----------------------------------------------
out=$(run tap poller --count 20 --timeout 20 2>"$DP_TMP/tap.err") || fail "tap poller: $(cat "$DP_TMP/tap.err")"
jq -se 'any(.[]; .tap == "poller.in" and .type == "JOB" and .sender_node == "s1")' <<<"$out" >/dev/null ||
    fail "worker tap lacks JOB in: $out"
jq -se 'any(.[]; .tap == "poller.out" and .type == "RESULT" and .body.status == "ok")' <<<"$out" >/dev/null ||
    fail "worker tap lacks RESULT out: $out"
echo "ok: tap poller hears the worker's JOBs in and RESULTs out (dp_jobs)"

# --- trace of a real device ----------------------------------------------------------------
traced() {
    out=$(run trace dev1.example.net --json 2>&1) &&
        jq -e '.scheduled_ms > 0 and .taken_ms > 0 and .polled_ms > 0 and .result_ms > 0' <<<"$out" >/dev/null
}
dp_wait_until 15 traced || fail "trace of dev1 incomplete: $out"
jq -e --argjson id "$ID1" '.device_id == $id and .kind == "poll" and .scheduled_by == "s1" and
      .taken_by == "w1" and .status == "ok" and .epoch > 0 and
      .scheduled_ms <= .taken_ms and .taken_ms <= .polled_ms and .polled_ms <= .result_ms and
      .result_ms - .scheduled_ms < 5000' <<<"$out" >/dev/null || fail "trace of dev1: $out"
job=$(jq -r .job_id <<<"$out")
grep -q "^job device=$ID1 .* job_id=$job " "$DP_TMP/w1.out" || fail "traced job $job of device $ID1 not worked by w1"
text=$(run trace dev1.example.net) || fail "trace text: $text"
for re in "job $job, poll, epoch [0-9]+, status ok" "^  scheduled .* by s1$" "^  taken .* by w1$" "^  result "; do
    grep -Eq "$re" <<<"$text" || fail "trace text lacks /$re/: $text"
done
echo "ok: trace dev1: job $job scheduled by s1, taken by w1, polled and result in order"

# --- /metrics --------------------------------------------------------------------------------
m=$(curl -fsS "http://127.0.0.1:$MP_S/metrics") || fail "scheduler /metrics did not answer"
grep -Eq '^distpoll_scheduler_up\{node="s1"\} 1$' <<<"$m" || fail "scheduler_up: $m"
emitted=$(sed -n 's/^distpoll_scheduler_jobs_emitted{node="s1"} //p' <<<"$m")
[ "${emitted:-0}" -gt 0 ] || fail "jobs_emitted: $m"
marks=$(sed -n 's/^distpoll_scheduler_trace_marks{node="s1"} //p' <<<"$m")
[ "${marks:-0}" -gt 0 ] || fail "trace_marks: $m"
grep -Eq '^distpoll_scheduler_is_leader\{node="s1"\} 1$' <<<"$m" || fail "is_leader: $m"
[ "$(stat scheduler-s1 trace_failures)" = 0 ] || fail "scheduler trace failures: $(ctl scheduler-s1 STATS)"
echo "ok: scheduler /metrics: jobs_emitted $emitted, trace_marks $marks"
ws=$(ctl fakeworker-w1 STATS)
for k in job_ms_count jobs_done trace_marks; do
    v=$(sed -n "s/^$k: //p" <<<"$ws")
    [ "${v:-0}" -gt 0 ] || fail "worker $k: $ws"
done
grep -q "^jobs_in_flight: " <<<"$ws" && grep -q "^jobs_queued: 0$" <<<"$ws" && grep -q "^trace_failures: 0$" <<<"$ws" ||
    fail "worker gauges: $ws"
echo "ok: worker STATS: job_ms histogram ($(sed -n 's/^job_ms_count: //p' <<<"$ws") jobs), jobs_done, gauges"

# --- billers: /metrics, tap, and a taken port is not fatal --------------------------------
"$B/biller" --env-file "$env" --node-id b1 --set "DP_METRICS_PORT=$MP_B" >"$DP_TMP/b1.log" 2>&1 &
dp_register $! "$DP_TMP/b1.log"
"$B/biller" --env-file "$env" --node-id b2 --set "DP_METRICS_PORT=$MP_S" >"$DP_TMP/b2.log" 2>&1 &
dp_register $! "$DP_TMP/b2.log"
dp_wait_until 10 ctl biller-b1 PING || fail "biller b1 did not start: $(cat "$DP_TMP/b1.log")"
dp_wait_until 10 ctl biller-b2 PING || fail "biller b2 (metrics port taken) did not carry on: $(cat "$DP_TMP/b2.log")"
grep -q "no /metrics endpoint; carrying on without.*port=$MP_S" "$DP_TMP/b2.log" || fail "b2 log: $(cat "$DP_TMP/b2.log")"
m=$(curl -fsS "http://127.0.0.1:$MP_B/metrics") || fail "biller /metrics did not answer"
grep -Eq '^distpoll_biller_up\{node="b1"\} 1$' <<<"$m" && grep -q '^distpoll_biller_rounds{node="b1"} ' <<<"$m" ||
    fail "biller /metrics: $m"
curl -fsS "http://127.0.0.1:$MP_S/metrics" | grep -q '^distpoll_scheduler_up' || fail "port $MP_S no longer the scheduler's"
out=$(run tap biller --endpoint "ipc://$DP_TMP/biller-b1.tap" --count 2 --timeout 10 2>"$DP_TMP/tap.err") ||
    fail "tap biller: $(cat "$DP_TMP/tap.err")"
jq -se 'all(.[]; .tap == "biller.out" and .type == "CREDIT" and .body.stage == "biller" and .body.node == "b1")' <<<"$out" >/dev/null ||
    fail "biller tap: $out"
echo "ok: biller /metrics and tap; a biller whose metrics port is taken carries on"
echo "inspect live ok"
