#!/usr/bin/env bash
# test_cli_status.sh - distpoll status / top / metrics against a running cluster: the real
# scheduler (leader sched-1, standby sched-2), a worker (fakeworker) doing the jobs, a stand-in
# poller (testdaemon) on the control socket, rrdcached, Redis and MariaDB. Checks the text and
# --json output (leader, standby, nodes, jobs, overdue, rrdcached STATS), top's rates over its
# interval, Prometheus text from `distpoll metrics` and from the /metrics endpoint (dp_http),
# then takes parts away one by one: a hung daemon, Redis, rrdcached, MariaDB; status names
# each part it could not reach and still prints the rest.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
dp_start_rrdcached RRDC || fail "rrdcached did not start"
P=$(dp_free_port)
mkdir -p "$DP_TMP/ctl"
mkenv() { # NODE FILE
    dp_node_env "$2" NODE_ID="$1" DP_CONTROL_DIR="$DP_TMP/ctl" \
        DP_SCHEDULER_BIND="tcp://127.0.0.1:$P" DP_SCHEDULERS="tcp://127.0.0.1:$P" \
        DP_RRDCACHED="unix:$RRDC_SOCK" DP_POLLER_INTERVAL=6s DP_JOB_TIMEOUT=2s DP_LOCK_TTL=3s
}
mkenv sched-1 "$DP_TMP/s1.env"
mkenv sched-2 "$DP_TMP/s2.env"
sed -i "s|^DP_SCHEDULER_BIND=.*|DP_SCHEDULER_BIND=tcp://127.0.0.1:$(dp_free_port)|" "$DP_TMP/s2.env"
run() { env -i PATH="$PATH" "$B/distpoll" --env-file "$DP_TMP/s1.env" "$@"; }
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "$1"; }
run db migrate >/dev/null || fail "db migrate"
sql "INSERT INTO devices (hostname, poller_group) SELECT CONCAT('d', seq), 0 FROM seq_1_to_8;
     INSERT INTO devices (hostname, poller_group, last_polled) VALUES ('late', 3, NOW() - INTERVAL 1 HOUR)"

"$B/scheduler" --env-file "$DP_TMP/s1.env" >"$DP_TMP/s1.log" 2>&1 &
S1=$!
dp_register $S1 "$DP_TMP/s1.log"
leads() { run ctl scheduler STATS | grep -qx 'is_leader: 1'; }
dp_wait_until 15 leads || fail "sched-1 did not lead"
"$B/scheduler" --env-file "$DP_TMP/s2.env" >"$DP_TMP/s2.log" 2>&1 &
dp_register $! "$DP_TMP/s2.log"
"$B/tests/fakeworker" --env-file "$DP_TMP/s1.env" --node-id w1 --groups 0 --work-ms 50 \
    >"$DP_TMP/w1.out" 2>"$DP_TMP/w1.log" &
dp_register $! "$DP_TMP/w1.log"
"$B/tests/testdaemon" run --name poller --node sched-1 --ctl "ipc://$DP_TMP/ctl/poller-sched-1.ctl" \
    --job-ms 100 >"$DP_TMP/poller.log" 2>&1 &
POLLER=$!
dp_register $POLLER "$DP_TMP/poller.log"
dp_wait_until 10 run ctl poller PING || fail "stand-in poller did not start"
worked() { [ "$(grep -c '^job' "$DP_TMP/w1.out")" -ge 8 ]; }
dp_wait_until 15 worked || fail "the worker did not work the devices"
standby() { [ "$(sql "SELECT COUNT(*) FROM node_stats WHERE node_id='sched-2' AND stage='scheduler'")" = 1 ]; }
dp_wait_until 15 standby || fail "sched-2 never reported: $(sql 'SELECT node_id, stage FROM node_stats')"

# --- everything up
expect_rc 0 run status
for want in "leader      sched-1 (lease" "standbys    sched-2" "sched-1 " "[leader]" "this node (sched-1)" \
    "scheduler   running" "poller      running" "discoverer  not running here" "rrdcached (unix:$RRDC_SOCK)" \
    "QueueLength: 0" "group 3    1 overdue of 1"; do
    grep -qF -- "$want" <<<"$out" || fail "status lacks '$want': $out"
done
grep -q "unreachable" <<<"$out" && fail "status says something is unreachable: $out"
grep -Eq "^  poller +[0-9-]+ +[0-9-]+ " <<<"$out" || fail "status: no poller job row: $out"
expect_rc 0 run status --json
[ "$(wc -l <<<"$out")" = 1 ] || fail "status --json is not one line"
jq -e '.leader.node == "sched-1" and .leader.ttl_ms > 0 and .standbys == ["sched-2"] and
       (.nodes | map(.node_id) | index("sched-1")) != null and
       (.daemons[0].name == "scheduler" and .daemons[0].up and .daemons[0].leader.leading == 1) and
       (.daemons[2].up | not) and (.daemons[2].running_here | not) and
       .rrdcached.QueueLength == 0 and .unreachable == {} and
       (.overdue | map(select(.group == 3))[0].overdue) == 1 and
       (.jobs[0].stage == "poller")' <<<"$out" >/dev/null || fail "status --json: $out"
echo "ok: status with everything up"

# --- top: rates over the interval from counter deltas
expect_rc 0 run top --iterations 2 --interval 300
[ "$(grep -c '^distpoll status at' <<<"$out")" = 2 ] || fail "top did not print 2 frames: $out"
grep -q "rates and times: this node's daemons, over the last interval" <<<"$out" || fail "top: $out"
expect_rc 0 run top --once --interval 300 --json
[ "$(wc -l <<<"$out")" = 1 ] || fail "top --once --json: $out"
# jobs finish on the stand-in poller while top watches: the rate comes from counter deltas
( for _ in $(seq 25); do run ctl poller "JOBS 2" >/dev/null; sleep 0.1; done ) &
feeder=$!
expect_rc 0 run top --iterations 3 --interval 500 --json
wait $feeder
[ "$(wc -l <<<"$out")" = 3 ] || fail "top --iterations 3 --json: $out"
rate=$(jq -s 'map(.jobs[0].done_per_min) | max' <<<"$out")
awk "BEGIN { exit !($rate > 0) }" || fail "top: no poller rate over the interval: $out"
expect_rc 64 run top --interval 5
grep -q -- '--interval "5": expected a number 200..60000' <<<"$out" || fail "top bad interval: $out"
echo "ok: top (poller done/min over the interval: $rate)"

# --- metrics: Prometheus text from the control sockets and from /metrics (same formatter)
expect_rc 0 run metrics scheduler
grep -qx 'distpoll_scheduler_up{node="sched-1"} 1' <<<"$out" || fail "metrics scheduler: $out"
grep -qx 'distpoll_scheduler_is_leader{node="sched-1"} 1' <<<"$out" || fail "metrics is_leader: $out"
expect_rc 0 run metrics
grep -q '^distpoll_poller_jobs_done{node="sched-1"} [0-9]' <<<"$out" || fail "metrics all: $out"
grep -q '^# discoverer: not running on this node' <<<"$out" || fail "metrics absent daemon: $out"
expect_rc 69 run metrics discoverer
expect_rc 64 run metrics frobber
HP=$(dp_free_port)
"$B/tests/clitool" http "$DP_TMP/s1.env" poller "$HP" 60 >"$DP_TMP/http.out" 2>&1 &
dp_register $! "$DP_TMP/http.out"
dp_wait_until 10 curl -sf "http://127.0.0.1:$HP/metrics" || fail "no /metrics on $HP"
done_jobs() { ! run ctl poller STATS | grep -qx 'jobs_in_flight: [1-9][0-9]*'; }
dp_wait_until 10 done_jobs
web=$(curl -sf "http://127.0.0.1:$HP/metrics" | grep -v "uptime_s\|control_requests")
cli=$(run metrics poller | grep -v "uptime_s\|control_requests")
[ "$web" = "$cli" ] || fail "/metrics and distpoll metrics differ: $(diff <(echo "$web") <(echo "$cli"))"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/nope" | grep -q 404 || fail "/nope not 404"
ss -Hltn "sport = :$HP" | grep -q "127.0.0.1:$HP" || fail "/metrics not bound to 127.0.0.1 only"
echo "ok: metrics"

# --- parts go away: each is named, the rest still printed
kill -STOP $POLLER
expect_rc 0 run status
grep -Eq "^  poller on this node: .*ipc://$DP_TMP/ctl/poller-sched-1.ctl within 1500 ms" <<<"$out" ||
    fail "hung poller not named: $out"
grep -qF "scheduler   running" <<<"$out" || fail "status stopped printing with a hung poller: $out"
kill -CONT $POLLER
dp_stop "$REDIS_PID"
expect_rc 69 run status
for want in "leader      unknown (Redis unreachable)" "  Redis: " "this node (sched-1)" "scheduler   running" "nodes"; do
    grep -qF -- "$want" <<<"$out" || fail "status without Redis lacks '$want': $out"
done
expect_rc 69 run status --json
jq -e '.leader == null and (.unreachable.redis | length) > 0 and .daemons[0].up' <<<"$out" >/dev/null ||
    fail "status --json without Redis: $out"
dp_stop "$RRDC_PID"
expect_rc 69 run status
grep -q "^  rrdcached: cannot connect to $RRDC_SOCK" <<<"$out" || fail "rrdcached down not named: $out"
dp_stop "$DB_PID"
expect_rc 69 run status
for want in "  MariaDB: " "standbys    unknown (MariaDB unreachable)" "scheduler   running" "poller      running"; do
    grep -qF -- "$want" <<<"$out" || fail "status without MariaDB lacks '$want': $out"
done
expect_rc 69 run status --json
jq -e '(.unreachable | keys) == ["mariadb","redis","rrdcached"] and .daemons[1].up' <<<"$out" >/dev/null ||
    fail "status --json, all servers down: $out"
echo "ok: status names what it could not reach"
echo "cli status ok"
