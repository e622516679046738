#!/usr/bin/env bash
# test_inspect_pipeline.sh - the inspection tools on the REAL polling pipeline: scheduler,
# poller and rrdwriter with MariaDB, Redis, rrdcached and dpsim devices. Asserts:
#   - `distpoll trace HOST` of a real device shows every stage of one job, in order:
#     scheduled (by the leader), taken by the poller's node, snmp_ms, polled, metrics_sent,
#     spooled and rrd_written by the rrdwriter's node, and result;
#   - `distpoll tap poller` shows the METRICS it sends and the ACKs it gets, `distpoll tap
#     rrdwriter` the METRICS it receives and the ACKs it sends, for the same msg_ids;
#   - /metrics of the poller and of the rrdwriter answer (DP_METRICS_PORT per process);
#   - an rrdwriter whose Redis is down keeps spooling, ACKing and writing RRDs: its trace stamps
#     are dropped and counted (trace_failures), nothing else.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
dp_start_rrdcached RC || fail "rrdcached did not start"
dp_start_dpsim SIM 127.22.0.1 --profile "127.22.0.0/16=synthetic:ports=4,hc=1,speed=1G" ||
    fail "dpsim does not answer"

SP=$(dp_free_port)
RW_PORT=$(dp_free_port)
MP_P=$(dp_free_port)
MP_RW=$(dp_free_port)
mkdir -p "$DP_TMP/ctl" "$DP_TMP/spool"
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=cli APP_KEY=inspect-app-key-0123456789abcdef \
    DP_SCHEDULER_BIND="tcp://127.0.0.1:$SP" DP_SCHEDULERS="tcp://127.0.0.1:$SP" \
    DP_RRDWRITER_BIND="tcp://127.0.0.1:$RW_PORT" DP_RRDWRITER="tcp://127.0.0.1:$RW_PORT" \
    DP_RRDCACHED="unix:$RC_SOCK" DP_RRD_DIR="$RC_RRD_DIR" DP_SPOOL_DIR="$DP_TMP/spool" \
    DP_CONTROL_DIR="$DP_TMP/ctl" DP_POLLER_INTERVAL=10s DP_DISCOVERY_INTERVAL=6h DP_RRD_STEP=10s \
    DP_RRA=small DP_LOCK_TTL=3s DP_JOB_TIMEOUT=10s DP_SNMP_TIMEOUT=1s DP_SNMP_RETRIES=1
run() { env -i PATH="$PATH" "$B/distpoll" --env-file "$env" "$@"; }
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
run db migrate >/dev/null || fail "db migrate"
sql "INSERT INTO devices (hostname, overwrite_ip, port, community) VALUES
     ('sw1.test', '127.22.0.1', $SIM_PORT, 'public'), ('sw2.test', '127.22.0.2', $SIM_PORT, 'public'),
     ('sw3.test', '127.22.0.3', $SIM_PORT, 'public')" || fail "insert devices"
ID1=$(sql "SELECT device_id FROM devices WHERE hostname = 'sw1.test'")

start()  # DAEMON NODE [--set ...]
{
    "$B/$1" --env-file "$env" --node-id "$2" "${@:3}" >"$DP_TMP/$2.log" 2>&1 &
    dp_register $! "$DP_TMP/$2.log"
    eval "PID_$2=$!"
    dp_wait_until 10 "$B/tests/testdaemon" ctl "ipc://$DP_TMP/ctl/$1-$2.ctl" PING 500 ||
        fail "$1 $2 does not answer PING: $(cat "$DP_TMP/$2.log")"
}
start rrdwriter rw1 --set "DP_METRICS_PORT=$MP_RW"
start poller p1 --set "DP_METRICS_PORT=$MP_P"
T0=$(date +%s%3N)

# Taps listen before the scheduler starts, so they hear the first cycle.
run tap poller --timeout 40 >"$DP_TMP/tap_p.json" 2>"$DP_TMP/tap_p.err" &
TAP_P=$!
run tap rrdwriter --timeout 40 >"$DP_TMP/tap_rw.json" 2>"$DP_TMP/tap_rw.err" &
TAP_RW=$!
listening() { grep -q "listening to" "$DP_TMP/tap_p.err" && grep -q "listening to" "$DP_TMP/tap_rw.err"; }
dp_wait_until 5 listening || fail "taps: $(cat "$DP_TMP/tap_p.err" "$DP_TMP/tap_rw.err")"
start scheduler s1

# --- trace of a real device through every stage ----------------------------------------------
traced() {
    out=$(run trace sw1.test --json 2>&1) &&
        jq -e '.rrd_written_ms > 0 and .result_ms > 0 and .metrics_sent_ms > 0' <<<"$out" >/dev/null
}
dp_wait_until 20 traced || fail "trace of sw1.test incomplete: $out"
T1=$(date +%s%3N)
jq -e --argjson id "$ID1" '.device_id == $id and .kind == "poll" and .status == "ok" and
      .scheduled_by == "s1" and .taken_by == "p1" and .rrd_by == "rw1" and
      .snmp_ms >= 0 and .snmp_ms < 2000 and
      .scheduled_ms <= .taken_ms and .taken_ms <= .metrics_sent_ms and
      .metrics_sent_ms <= .spooled_ms and .spooled_ms <= .rrd_written_ms and
      .taken_ms <= .polled_ms and .polled_ms <= .result_ms and
      .rrd_written_ms - .scheduled_ms < 5000' <<<"$out" >/dev/null || fail "trace of sw1.test: $out"
job=$(jq -r .job_id <<<"$out")
text=$(run trace sw1.test) || fail "trace text: $text"
for re in "job $job, poll, epoch [0-9]+, status ok" "^  taken .* by p1$" "^  snmp time +[0-9]+ ms$"; do
    grep -Eq "$re" <<<"$text" || fail "trace text lacks /$re/: $text"
done
ok "trace sw1.test: job $job scheduled by s1, taken by p1 (snmp $(jq .snmp_ms <<<"$out") ms)," \
    "rrd written by rw1 $(jq '.rrd_written_ms - .scheduled_ms' <<<"$out") ms after scheduling;" \
    "complete $((T1 - T0)) ms after start"

# --- taps: METRICS and ACKs on both sides ---------------------------------------------------
# Every METRICS the poller sent (the first cycle: one per device) was received and ACKed.
ids() { jq -s "[.[] | select(.tap == \"$2\" and .type == \"$3\") | $4] | sort" "$DP_TMP/$1"; }
all_acked() {
    sent=$(ids tap_p.json poller.out METRICS .msg_id) recv=$(ids tap_rw.json rrdwriter.in METRICS .msg_id)
    acked=$(ids tap_rw.json rrdwriter.out ACK '.body.ids[]') || return 1
    [ "$(jq -n --argjson a "$sent" --argjson b "$recv" --argjson c "$acked" \
        '($a | length) >= 3 and ($a - $b | length) == 0 and ($b - $c | length) == 0')" = true ] &&
        grep -q '"tap":"poller.in","at_ms":[0-9]*,"type":"ACK"' "$DP_TMP/tap_p.json"
}
dp_wait_until 15 all_acked || fail "msg_ids: poller sent $sent, rrdwriter got $recv, acked $acked"
kill "$TAP_P" "$TAP_RW"
tp=$(cat "$DP_TMP/tap_p.json")
trw=$(cat "$DP_TMP/tap_rw.json")
jq -se 'any(.[]; .tap == "poller.out" and .type == "METRICS" and .sender_node == "p1" and
        (.body.device_id > 0) and (.body.job_id > 0))' <<<"$tp" >/dev/null || fail "poller tap lacks METRICS out: $tp"
jq -se 'any(.[]; .tap == "poller.in" and .type == "ACK" and .sender_node == "rw1")' <<<"$tp" >/dev/null ||
    fail "poller tap lacks ACK in: $tp"
jq -se 'any(.[]; .tap == "rrdwriter.in" and .type == "METRICS" and .sender_node == "p1")' <<<"$trw" >/dev/null ||
    fail "rrdwriter tap lacks METRICS in: $trw"
jq -se 'any(.[]; .tap == "rrdwriter.out" and .type == "ACK" and .sender_node == "rw1")' <<<"$trw" >/dev/null ||
    fail "rrdwriter tap lacks ACK out: $trw"
ok "tap poller: $(jq length <<<"$sent") METRICS out, ACK in; tap rrdwriter: the same METRICS in, ACKed"

# --- /metrics ------------------------------------------------------------------------------
m=$(curl -fsS "http://127.0.0.1:$MP_P/metrics") || fail "poller /metrics did not answer"
grep -Eq '^distpoll_poller_up\{node="p1"\} 1$' <<<"$m" || fail "poller_up: $m"
v=$(sed -n 's/^distpoll_poller_metrics_sent{node="p1"} //p' <<<"$m")
[ "${v:-0}" -ge 3 ] || fail "poller metrics_sent: $m"
v=$(sed -n 's/^distpoll_poller_trace_marks{node="p1"} //p' <<<"$m")
[ "${v:-0}" -gt 0 ] || fail "poller trace_marks: $m"
grep -Eq '^distpoll_poller_trace_failures\{node="p1"\} 0$' <<<"$m" || fail "poller trace_failures: $m"
grep -Eq '^distpoll_poller_job_ms_count\{node="p1"\} [1-9]' <<<"$m" || fail "poller job_ms: $m"
m=$(curl -fsS "http://127.0.0.1:$MP_RW/metrics") || fail "rrdwriter /metrics did not answer"
grep -Eq '^distpoll_rrdwriter_up\{node="rw1"\} 1$' <<<"$m" || fail "rrdwriter_up: $m"
v=$(sed -n 's/^distpoll_rrdwriter_accepted{node="rw1"} //p' <<<"$m")
[ "${v:-0}" -ge 3 ] || fail "rrdwriter accepted: $m"
v=$(sed -n 's/^distpoll_rrdwriter_trace_marks{node="rw1"} //p' <<<"$m")
[ "${v:-0}" -gt 0 ] || fail "rrdwriter trace_marks: $m"
grep -Eq '^distpoll_rrdwriter_trace_failures\{node="rw1"\} 0$' <<<"$m" || fail "rrdwriter trace_failures: $m"
ok "/metrics: poller (metrics_sent, trace_marks, job_ms) and rrdwriter (accepted, trace_marks)"

# --- an rrdwriter whose Redis is down works on; only its stamps fail --------------------------
RW2_PORT=$(dp_free_port)
DEAD=$(dp_free_port)
mkdir -p "$DP_TMP/spool2"
"$B/rrdwriter" --env-file "$env" --node-id rw2 --set "DP_RRDWRITER_BIND=tcp://127.0.0.1:$RW2_PORT" \
    --set "DP_SPOOL_DIR=$DP_TMP/spool2" --set "REDIS_PORT=$DEAD" >"$DP_TMP/rw2.log" 2>&1 &
dp_register $! "$DP_TMP/rw2.log"
RW2_CTL=ipc://$DP_TMP/ctl/rrdwriter-rw2.ctl
dp_wait_until 10 "$B/tests/testdaemon" ctl "$RW2_CTL" PING 500 || fail "rw2 did not start: $(cat "$DP_TMP/rw2.log")"
t0=$(date +%s%3N)
out=$("$B/tests/metricsgen" --endpoint "tcp://127.0.0.1:$RW2_PORT" --app-key inspect-app-key-0123456789abcdef \
    --devices 20 --ports 2 --rounds 3 --step 10 --prefix nored --wait-ms 10000) || fail "metricsgen: $out"
t1=$(date +%s%3N)
grep -q "pending=0" <<<"$out" || fail "rw2 did not ACK everything: $out"
st() { "$B/tests/testdaemon" ctl "$RW2_CTL" STATS 1000 | sed -n "s/^$1: //p"; }
applied() { [ "$(st backlog)" = 0 ] && [ "$(st messages_applied)" -ge 60 ]; }
dp_wait_until 10 applied || fail "rw2 did not apply: $("$B/tests/testdaemon" ctl "$RW2_CTL" STATS 1000)"
[ -f "$RC_RRD_DIR/nored19/port-id1.rrd" ] || fail "rw2 wrote no RRD file"
failed() { [ "$(st trace_failures)" -ge 60 ]; }
dp_wait_until 5 failed || fail "rw2 trace_failures: $(st trace_failures)"
[ "$(st trace_marks)" = 0 ] || fail "rw2 trace_marks: $(st trace_marks)"
grep -q 'msg="job trace stamps failing; dropped and counted"' "$DP_TMP/rw2.log" || fail "rw2 did not log the failing stamps"
ok "rrdwriter with Redis down: 60 METRICS ACKed in $((t1 - t0)) ms and applied; $(st trace_failures) stamps failed, counted"

kill -TERM "$PID_p1" "$PID_rw1"
for p in "$PID_p1" "$PID_rw1"; do wait "$p" || fail "daemon $p did not exit 0 on SIGTERM"; done
echo PASS
