#!/usr/bin/env bash
# test_scheduler_failover.sh - two schedulers, two fake workers, 50 devices, real MariaDB and
# Redis: exactly one leader; every device worked once per cycle (no (device, cycle) twice, no
# overlapping work on a device, no cycle skipped); kill -9 the leader: jobs flow again from
# the standby with a higher epoch within DP_LOCK_TTL + 2 s; kill -9 a worker mid-job: its
# jobs are done by the other worker in the same cycle within 2x DP_JOB_TIMEOUT; SIGTERM on the
# leader releases the lock and a standby leads at once.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
now_ms() { echo $(($(date +%s%N) / 1000000)); }

INTERVAL_S=10 TIMEOUT_S=4 TTL_S=5 WORK_MS=800 NDEV=50
dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
PA=$(dp_free_port)
PB=$(dp_free_port)
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=unset REDIS_TIMEOUT=1 DP_CONTROL_DIR="$DP_TMP" \
    DP_SCHEDULERS="tcp://127.0.0.1:$PA,tcp://127.0.0.1:$PB" DP_POLLER_INTERVAL="${INTERVAL_S}s" \
    DP_JOB_TIMEOUT="${TIMEOUT_S}s" DP_LOCK_TTL="${TTL_S}s"
"$B/distpoll" --env-file "$env" db migrate >/dev/null || fail "db migrate"
mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -e "INSERT INTO devices (hostname, overwrite_ip)
    SELECT CONCAT('dev', seq, '.example.net'), CONCAT('127.0.1.', seq) FROM seq_1_to_$NDEV" ||
    fail "insert devices"

ctl() { "$B/tests/testdaemon" ctl "ipc://$DP_TMP/scheduler-$1.ctl" "$2" 1000; }
stat() { ctl "$1" STATS | sed -n "s/^$2: //p"; }
start_sched() # NODE PORT
{
    "$B/scheduler" --env-file "$env" --node-id "$1" --set "DP_SCHEDULER_BIND=tcp://127.0.0.1:$2" \
        >"$DP_TMP/$1.log" 2>&1 &
    eval "PID_$1=$!"
    dp_register $! "$DP_TMP/$1.log"
}
start_worker() # NODE
{
    "$B/tests/fakeworker" --env-file "$env" --node-id "$1" --work-ms $WORK_MS --slots 4 \
        >"$DP_TMP/$1.out" 2>"$DP_TMP/$1.log" &
    eval "PID_$1=$!"
    dp_register $! "$DP_TMP/$1.log"
}
is_leader() { [ "$(stat "$1" is_leader)" = 1 ]; }

# --- one leader ------------------------------------------------------------------------
start_sched sa "$PA"
dp_wait_until 10 is_leader sa || fail "sa did not lead"
start_sched sb "$PB"
dp_wait_until 10 ctl sb PING || fail "sb did not start"
start_worker w1
start_worker w2
two_workers() { [ "$(stat sa workers)" = 2 ] && [ "$(stat sb workers)" = 2 ]; }
dp_wait_until 10 two_workers || fail "workers did not reach both schedulers"
sleep 1
[ "$(stat sa is_leader)" = 1 ] && [ "$(stat sb is_leader)" = 0 ] || fail "expected sa alone to lead"
la=$(ctl sa LEADER)
lb=$(ctl sb LEADER)
tok=$(sed -n 's/^token: //p' <<<"$la")
grep -qx "holder: $tok" <<<"$lb" || fail "standby does not see sa as holder: $lb"
grep -qx "leading: 0" <<<"$lb" || fail "sb claims to lead: $lb"
EPOCH1=$(stat sa epoch)
echo "ok: exactly one leader (sa, epoch $EPOCH1); both schedulers see both workers"

# --- two full cycles -------------------------------------------------------------------
sleep $((2 * INTERVAL_S + 2))
[ "$(stat sb jobs_emitted)" = 0 ] || fail "the standby emitted jobs"
echo "ok: two cycles; $(grep -c '^job' "$DP_TMP"/w1.out) + $(grep -c '^job' "$DP_TMP"/w2.out) jobs"

# --- kill -9 the leader ----------------------------------------------------------------
kill_ms=$(now_ms)
kill -KILL "$PID_sa"
new_epoch_seen() { grep -h "epoch=" "$DP_TMP"/w1.out "$DP_TMP"/w2.out |
    awk -v e="$EPOCH1" '{ for (i = 1; i <= NF; i++) if ($i ~ /^epoch=/) { split($i, a, "="); if (a[2] + 0 > e) f = 1 } } END { exit !f }'; }
dp_wait_until $((TTL_S + 4)) new_epoch_seen || fail "no job from a new leader"
gap_ms=$(grep -h "epoch=" "$DP_TMP"/w1.out "$DP_TMP"/w2.out | python3 -c '
import sys, re
e1 = int(sys.argv[1]); kill = int(sys.argv[2]); first = None
for line in sys.stdin:
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if int(kv["epoch"]) > e1:
        t = int(kv.get("start_ms") or kv.get("at_ms"))
        first = t if first is None else min(first, t)
print(first - kill)' "$EPOCH1" "$kill_ms")
[ "$(stat sb is_leader)" = 1 ] || fail "sb does not lead after the kill"
EPOCH2=$(stat sb epoch)
[ "$EPOCH2" -gt "$EPOCH1" ] || fail "epoch did not grow: $EPOCH1 -> $EPOCH2"
echo "failover: first job from the new leader (epoch $EPOCH2) ${gap_ms} ms after kill -9 (limit $((TTL_S * 1000 + 2000)) ms)"
[ "$gap_ms" -le $((TTL_S * 1000 + 2000)) ] || fail "failover took ${gap_ms} ms"
echo "ok: failover within TTL + 2 s"
sleep 1
ndone=$(cat "$DP_TMP"/w1.out "$DP_TMP"/w2.out | grep -c "^skip .* epoch=$EPOCH2 reason=done")
[ "$ndone" -gt 0 ] || fail "no re-issued job was answered 'already done' by the device claim"
echo "ok: $ndone jobs the new leader re-issued for devices already done this cycle were skipped (claim DONE)"

# --- kill -9 a worker mid-job ----------------------------------------------------------
sleep 3
mid_job() { python3 - "$DP_TMP/w1.out" <<'PY'
import sys, re
begun, done = set(), set()
for line in open(sys.argv[1]):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    key = (kv.get("device"), kv.get("cycle"))
    if line.startswith("begin"): begun.add(key)
    if line.startswith("job"): done.add(key)
sys.exit(0 if begun - done else 1)
PY
}
# Freeze w1 before looking, so the job seen in flight cannot finish between the look and the
# kill (under load, the check alone takes longer than a job).
frozen_mid_job() {
    kill -STOP "$PID_w1"
    mid_job && return 0
    kill -CONT "$PID_w1"
    sleep 0.1
    return 1
}
dp_wait_until 10 frozen_mid_job || fail "w1 never mid-job"
wkill_ms=$(now_ms)
kill -KILL "$PID_w1"
wait "$PID_w1" 2>/dev/null
sleep $((2 * TIMEOUT_S + 1))
python3 - "$DP_TMP/w1.out" "$DP_TMP/w2.out" "$wkill_ms" $((2 * TIMEOUT_S * 1000)) <<'PY' || fail "lost jobs not re-done in time"
import sys, re
def parse(path):
    out = []
    for line in open(path):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        out.append((line.split()[0], kv))
    return out
w1, w2 = parse(sys.argv[1]), parse(sys.argv[2])
kill, limit = int(sys.argv[3]), int(sys.argv[4])
begun = {(k["device"], k["cycle"]) for t, k in w1 if t == "begin"}
done = {(k["device"], k["cycle"]) for t, k in w1 if t == "job"}
lost = begun - done
if not lost:
    print("no job was in flight at w1 when it was killed"); sys.exit(1)
for dev, cyc in sorted(lost):
    redo = [k for t, k in w2 if t == "job" and k["device"] == dev and k["cycle"] == cyc]
    if not redo:
        print(f"device {dev} cycle {cyc}: never re-done by w2"); sys.exit(1)
    took = int(redo[0]["end_ms"]) - kill
    print(f"re-issued: device {dev} cycle {cyc} done by w2 {took} ms after kill -9 (attempt {redo[0]['attempt']}, limit {limit} ms)")
    if took > limit: sys.exit(1)
PY
echo "ok: a dead worker's jobs are re-done by the other in the same cycle within 2x job timeout"

# --- SIGTERM hands leadership over at once -----------------------------------------------
start_sched sa "$PA"
dp_wait_until 10 ctl sa PING || fail "sa did not restart"
[ "$(stat sa is_leader)" = 0 ] || fail "restarted sa leads while sb holds the lock"
t0=$(now_ms)
kill -TERM "$PID_sb"
wait "$PID_sb"
rc=$?
[ $rc -eq 0 ] || fail "sb exit code $rc after SIGTERM"
dp_wait_until 3 is_leader sa || fail "sa did not take over after sb's SIGTERM"
handover_ms=$(($(now_ms) - t0))
grep -q 'msg="leadership released"' "$DP_TMP/sb.log" || fail "sb did not release the lock"
[ "$(stat sa epoch)" -gt "$EPOCH2" ] || fail "epoch did not grow on handover"
echo "ok: SIGTERM releases the lock: sb exit 0, sa leads after ${handover_ms} ms (TTL ${TTL_S} s)"
sleep 2

# --- whole-run invariants --------------------------------------------------------------
kill -TERM "$PID_w2" "$PID_sa"
wait "$PID_w2" "$PID_sa" 2>/dev/null
python3 - "$DP_TMP/w1.out" "$DP_TMP/w2.out" $INTERVAL_S $NDEV <<'PY' || fail "cycle invariants"
import sys, re, collections
interval, ndev = int(sys.argv[3]), int(sys.argv[4])
jobs = collections.defaultdict(list)
for path in sys.argv[1:3]:
    for line in open(path):
        if line.startswith("job"):
            kv = dict(re.findall(r"(\w+)=(\S+)", line))
            jobs[int(kv["device"])].append((int(kv["cycle"]), int(kv["start_ms"]), int(kv["end_ms"]), kv["node"]))
bad = 0
if len(jobs) != ndev:
    print(f"only {len(jobs)} of {ndev} devices worked"); bad = 1
for dev, js in sorted(jobs.items()):
    cycles = sorted(c for c, _, _, _ in js)
    if len(cycles) != len(set(cycles)):
        print(f"device {dev}: a cycle worked twice: {cycles}"); bad = 1
    gaps = [b - a for a, b in zip(cycles, cycles[1:])]
    if any(g != interval for g in gaps):
        print(f"device {dev}: cycles not contiguous: {cycles}"); bad = 1
    if len(cycles) < 4:
        print(f"device {dev}: only {len(cycles)} cycles worked"); bad = 1
    spans = sorted((s, e, n) for _, s, e, n in js)
    for (s1, e1, n1), (s2, e2, n2) in zip(spans, spans[1:]):
        if s2 < e1:
            print(f"device {dev}: overlapping work {n1} [{s1},{e1}] and {n2} [{s2},{e2}]"); bad = 1
total = sum(len(v) for v in jobs.values())
print(f"{total} jobs over {len(jobs)} devices: one per (device, cycle), contiguous cycles, no overlap")
sys.exit(bad)
PY
echo "ok: every device worked exactly once per cycle across failover and worker loss"
echo PASS
