#!/usr/bin/env bash
# bench_rrdwriter.sh - rrdwriter throughput with metricsgen (not part of make test).
#   BUILD=build bash tests/integration/bench_rrdwriter.sh   [DEV=1000 R=20 WINDOW=2000 OWN_DS=0
#                                                            PORTS=24 R_DRAIN=R CREATE_ONLY=0
#                                                            SAMPLE=FILE RW_WRAP=CMD PERF=FILE]
# Phase 1 creates DEV x PORTS files (DP_RRA=small; PORTS > 24 makes big messages). Phase 2
# "live": R rounds sent as fast as the ACKs allow; reports ACKed messages/s and applied
# updates/s end to end. Phase 3 "drain": rrdcached stopped, R_DRAIN rounds ACKed into the spool,
# rrdcached restarted; reports how fast the rrdwriter pushes the spooled updates into rrdcached (the apply path alone).
# Each phase also reports CPU-seconds per 100k updates of the rrdwriter, rrdcached and
# metricsgen (utime+stime from /proc: comparable on a busy box), and the rrdwriter's peak and
# current RSS (VmHWM, VmRSS) after it. PERF=FILE records
# `perf record -g` of the rrdwriter during the live and drain phases into FILE.live/FILE.drain.
# CREATE_ONLY=1 stops after phase 1 (the cold cycle); SAMPLE=FILE samples the rrdwriter's RSS
# every 0.5 s; RW_WRAP="heaptrack -o FILE" runs the rrdwriter under a heap profiler.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh
DEV=${DEV:-1000} R=${R:-20} WINDOW=${WINDOW:-2000} PORTS=${PORTS:-24} R_DRAIN=${R_DRAIN:-${R:-20}}
now() { date +%s.%N; }
TCK=$(getconf CLK_TCK)
# cpu PID: utime+stime in clock ticks (0 when gone)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# per100k TICKS UPDATES: CPU-seconds per 100k updates
per100k() { echo "scale=3; $1 / $TCK * 100000 / $2" | bc; }
# rss PHASE: the rrdwriter's peak and current resident set
# (now = anonymous + file-backed + shmem; file-backed pages are mapped files, e.g. librrd's mmap)
rss() { awk -v p="$1" '/^(Vm(HWM|RSS)|Rss(Anon|File|Shmem)):/ { v[$1] = $2 } END { printf "%s rrdwriter RSS: peak %.1f MB, now %.1f MB (anon %.1f, file %.1f, shmem %.1f)\n", p, v["VmHWM:"] / 1024, v["VmRSS:"] / 1024, v["RssAnon:"] / 1024, v["RssFile:"] / 1024, v["RssShmem:"] / 1024 }' "/proc/$RW_PID/status"; }
PERF=${PERF:-} PERF_PID=
perf_start() { [ -n "$PERF" ] || return 0; perf record -g -o "$PERF.$1" -p "$RW_PID" >/dev/null 2>&1 & PERF_PID=$!; }
perf_stop() { [ -n "$PERF_PID" ] || return 0; kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null; PERF_PID=; }
dp_start_rrdcached RC -t 4 || fail rrdcached
RW_RRA=small RW_STEP=5 rw_env "$DP_TMP/rw.env" DP_SPOOL_MAX_MB=8192
rw_start rw
# SAMPLE=FILE: the rrdwriter's VmRSS/RssAnon/RssFile (kB) every 0.5 s, one "unix_time rss anon file" line
SAMPLE=${SAMPLE:-}
if [ -n "$SAMPLE" ]; then
    while kill -0 "$RW_PID" 2>/dev/null; do
        awk -v t="$(date +%s.%N)" '/^(VmRSS|RssAnon|RssFile):/ { v[$1] = $2 }
            END { print t, v["VmRSS:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$RW_PID/status" 2>/dev/null
        sleep 0.5
    done >"$SAMPLE" &
    dp_register $!
fi
START=$((($(date +%s) / 5 - R - R_DRAIN - 3) * 5))
gen() { rw_gen --devices "$DEV" --ports "$PORTS" --step 5 --start-ts "$START" --window "$WINDOW" ${OWN_DS:+--own-ds "$OWN_DS"} "$@"; }
applied() { [ "$(rw_stat updates_applied)" = "$1" ] && rw_backlog_zero; }

t0=$(now)
gen --rounds 1 >/dev/null || fail "metricsgen (create)"
dp_wait_until 300 applied $((DEV * PORTS)) || fail "create phase: $(rw_stat updates_applied)"
t1=$(now)
echo "create: $((DEV * PORTS)) files in $(echo "$t1 - $t0" | bc) s"
rss create
[ "${CREATE_ONLY:-0}" = 1 ] && exit 0

rw0=$(cpu "$RW_PID") rc0=$(cpu "$RC_PID") self0=$(awk '{ print $16 + $17 }' /proc/$$/stat)
perf_start live
out=$(gen --rounds "$R" --first-round 1) || fail "metricsgen (live): $out"
t2=$(now)
dp_wait_until 300 applied $((DEV * PORTS * (R + 1))) || fail "live phase: $(rw_stat updates_applied)"
t3=$(now)
perf_stop
rw1=$(cpu "$RW_PID") rc1=$(cpu "$RC_PID") self1=$(awk '{ print $16 + $17 }' /proc/$$/stat)
echo "live: $out"
echo "live: $((DEV * PORTS * R)) updates ACKed in $(echo "$t2 - $t1" | bc) s, applied in" \
    "$(echo "$t3 - $t1" | bc) s => $(echo "$DEV * $PORTS * $R / ($t3 - $t1)" | bc) updates/s end to end"
echo "live CPU-s per 100k updates: rrdwriter $(per100k $((rw1 - rw0)) $((DEV * PORTS * R)))" \
    "rrdcached $(per100k $((rc1 - rc0)) $((DEV * PORTS * R)))" \
    "metricsgen+children $(per100k $((self1 - self0)) $((DEV * PORTS * R)))"
rss live

kill -TERM "$RC_PID" && dp_wait_gone "$RC_PID" 20
out=$(gen --rounds "$R_DRAIN" --first-round $((R + 1))) || fail "metricsgen (spool): $out"
echo "spooled: $out backlog=$(rw_stat backlog)"
rss spooled
before=$(rw_stat updates_applied) sent_before=$(rw_stat updates_sent)
t4=$(now)
rw0=$(cpu "$RW_PID")
# a big journal takes rrdcached a while to replay before it answers
dp_start_rrdcached RC -t 4 || dp_wait_until 300 dp_rrdcached_cmd "$RC_SOCK" PING || fail "rrdcached restart"
perf_start drain
dp_wait_until 300 applied $((before + DEV * PORTS * R_DRAIN)) || fail "drain: $(rw_stat updates_applied)"
t5=$(now)
perf_stop
rw1=$(cpu "$RW_PID") rc1=$(cpu "$RC_PID")
echo "drain: $((DEV * PORTS * R_DRAIN)) spooled updates applied in $(echo "$t5 - $t4" | bc) s (incl." \
    "rrdcached start) => $(echo "$DEV * $PORTS * $R_DRAIN / ($t5 - $t4)" | bc) updates/s applied;" \
    "$(echo "($(rw_stat updates_sent) - $sent_before) / ($t5 - $t4)" | bc) BATCH lines/s" \
    "(the replay of the retained spool included)"
echo "drain CPU-s per 100k updates: rrdwriter $(per100k $((rw1 - rw0)) $((DEV * PORTS * R_DRAIN)))" \
    "rrdcached $(per100k "$rc1" $((DEV * PORTS * R_DRAIN)))"
rss drain
rw_ctl STATS | grep -E '^(updates_sent|updates_applied|batches|batch_errors|illegal_old|replay_already_applied|update_errors|updates_rejected):'
