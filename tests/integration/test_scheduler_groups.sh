#!/usr/bin/env bash
# test_scheduler_groups.sh - poller groups: devices of group 2 are never sent to a worker that
# serves only group 0 and, with nobody serving group 2, show as overdue (STATS
# overdue_group_2, QUEUE, node_stats); once a worker serving group 2 connects they are done
# and overdue falls to 0. Also: RELOAD picks up a new device at once, nodes.master = 1.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
P=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=sched-g DP_CONTROL_DIR="$DP_TMP" DP_SCHEDULER_BIND="tcp://127.0.0.1:$P" \
    DP_SCHEDULERS="tcp://127.0.0.1:$P" DP_POLLER_INTERVAL=6s DP_JOB_TIMEOUT=2s DP_LOCK_TTL=3s
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "$1"; }
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
sql "INSERT INTO devices (hostname, poller_group) SELECT CONCAT('g0-', seq), 0 FROM seq_1_to_10;
     INSERT INTO devices (hostname, poller_group) SELECT CONCAT('g2-', seq), 2 FROM seq_1_to_10"
G2_IDS=" $(sql "SELECT device_id FROM devices WHERE poller_group = 2" | tr '\n' ' ')"

ctl() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/scheduler-sched-g.ctl" "$1" 1000; }
stat() { ctl STATS | sed -n "s/^$1: //p"; }
"$B/scheduler" --env-file "$env" >"$DP_TMP/sched.log" 2>&1 &
dp_register $! "$DP_TMP/sched.log"
leads() { [ "$(stat is_leader)" = 1 ]; }
dp_wait_until 10 leads || fail "scheduler did not lead"
start_worker() # NODE GROUPS
{
    "$B/tests/fakeworker" --env-file "$env" --node-id "$1" --groups "$2" --work-ms 100 \
        >"$DP_TMP/$1.out" 2>"$DP_TMP/$1.log" &
    eval "PID_$1=$!"
    dp_register $! "$DP_TMP/$1.log"
}
worked() { grep -h '^job' "$@" | sed 's/.*device=\([0-9]*\) .*/\1/' | sort -un; }

# --- only a group-0 worker: group 2 waits and is overdue ---------------------------------
start_worker w0 0
overdue2() { [ "$(stat overdue_group_2)" -gt 0 ]; }
dp_wait_until 10 overdue2 || fail "group 2 not overdue: $(ctl QUEUE)"
g0_done() { [ "$(worked "$DP_TMP/w0.out" | wc -l)" -eq 10 ]; }
dp_wait_until 10 g0_done || fail "group-0 devices not all worked"
queue=$(ctl QUEUE)
grep -Eq '^kind=poll group=2 devices=10 due=10 leased=0 overdue=[1-9]' <<<"$queue" ||
    fail "QUEUE does not show group 2 due and overdue: $queue"
grep -Eq '^kind=poll group=0 devices=10 .* overdue=0$' <<<"$queue" ||
    fail "QUEUE shows group 0 overdue: $queue"
[ "$(stat overdue_group_0)" = 0 ] || fail "group 0 overdue"
row() { sql "SELECT depth FROM node_stats WHERE node_id = 'sched-g' AND stage = 'overdue_group_2'"; }
db_overdue() { [ "$(row)" -gt 0 ]; }
dp_wait_until 15 db_overdue || fail "node_stats has no overdue_group_2 row > 0"
[ "$(sql "SELECT master FROM nodes WHERE node_id = 'sched-g'")" = 1 ] || fail "nodes.master"
for id in $(worked "$DP_TMP/w0.out"); do
    [[ "$G2_IDS" == *" $id "* ]] && fail "group-2 device $id was sent to w0"
done
echo "ok: group 2 never sent to a group-0 worker; overdue_group_2=$(stat overdue_group_2), node_stats depth=$(row)"

# --- a worker serving group 2 arrives: done, overdue back to 0 ---------------------------
start_worker w2 2
g2_done() { [ "$(worked "$DP_TMP/w2.out" | wc -l)" -eq 10 ]; }
dp_wait_until 10 g2_done || fail "group-2 devices not all worked by w2"
no_overdue() { [ "$(stat overdue_group_2)" = 0 ] && [ "$(stat overdue_total)" = 0 ]; }
dp_wait_until 10 no_overdue || fail "overdue did not fall to 0: $(ctl QUEUE)"
for id in $(worked "$DP_TMP/w2.out"); do
    [[ "$G2_IDS" == *" $id "* ]] || fail "group-0 device $id was sent to w2 (serves only 2)"
done
for id in $(worked "$DP_TMP/w0.out"); do
    [[ "$G2_IDS" == *" $id "* ]] && fail "group-2 device $id was sent to w0"
done
db_clear() { [ "$(row)" = 0 ]; }
dp_wait_until 15 db_clear || fail "node_stats overdue_group_2 stayed $(row)"
echo "ok: group 2 done by w2 only; overdue_group_2=0 in STATS and node_stats"

# --- RELOAD: a new device is scheduled at once ------------------------------------------
out=$("$B/distpoll" --env-file "$env" device add new-g2.example.net --group 2 --force 2>&1) || fail "device add: $out"
NEW=$(sql "SELECT device_id FROM devices WHERE hostname = 'new-g2.example.net'")
ctl RELOAD | grep -qx "OK devices=21" || fail "RELOAD"
new_done() { grep -q "^job device=$NEW " "$DP_TMP/w2.out"; }
dp_wait_until 3 new_done || fail "new device not polled within 3 s of RELOAD"
ctl WORKERS | grep -q '^node=w2 stage=poller groups=2 ' || fail "WORKERS: $(ctl WORKERS)"
echo "ok: RELOAD schedules a new device at once; WORKERS lists groups"
echo PASS
