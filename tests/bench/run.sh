#!/usr/bin/env bash
# run.sh - `make bench`: the real pipeline on this one machine (private MariaDB, Redis,
# rrdcached, dpsim, 2 schedulers, DP_BENCH_POLLERS pollers, 1 rrdwriter) for N devices x 24
# ports with HC counters, N in DP_BENCH_SIZES (default "1000 10000 100000"). Prints a table and
# writes it as JSON to .bench/bench-<time>.json. Per size:
#   cold  every device is due at once (never polled): one full cycle with RRD files and port
#         rows created; time-boxed to DP_BENCH_SECONDS (default 300 = the interval).
#   warm  the same again with files and rows in place (last_polled and the claims cleared,
#         schedulers restarted). Below 100,000 devices the warm interval is the cold cycle's
#         length; at 100,000 it is the real 300 s interval, so the warm cycle shows whether
#         100,000 devices fit in it. The 100,000 cold cycle (3.1 M RRD files and 2.4 M port
#         rows created) is time-boxed to DP_BENCH_COLD_SECONDS (3600) instead.
# Beside each size, the peers (tests/bench/peers.sh) on the same dpsim and IF-MIB columns.
# Once per run: dpsim PDUs/s on one thread (simload) and the rrdwriter alone
# (tests/integration/bench_rrdwriter.sh). RRD files use DP_RRA=small (about 12 KB per port
# file: LibreNMS's layout, 2.5 MB per port, does not fit 2.4M ports on this disk).
# Knobs: DP_BENCH_SIZES, DP_BENCH_SECONDS, DP_BENCH_COLD_SECONDS (3600, the 100,000 cold cycle),
# DP_BENCH_POLLERS (2), DP_BENCH_WORKERS (1 thread each), DP_BENCH_PEER_SECONDS (15),
# DP_BENCH_WALK_DEVICES (100), DP_BENCH_PVE=0 skips the interleaved poller-vs-snmp_exporter
# rounds (tests/bench/poller_vs_exporter.sh, ~5 min), DP_BENCH_MARIADB_ARGS (extra mariadbd options),
# DP_BENCH_DB_DIGEST=1 (prints MariaDB's time per statement; add --performance-schema=ON to the
# options), DP_BENCH_RW=0 skips the rrdwriter-alone run, DP_BENCH_MIN_FREE_GB (40, for the
# 100,000 run), DP_BENCH_DRAIN_SECONDS (120: how long the rrdwriter may catch up after the
# 100,000 warm cycle before the figures are taken; smaller sizes and cold cycles wait up to
# 900 s for every update).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_harness_init
source tests/bench/peers.sh
source tests/bench/lib_bench.sh
B=${BUILD:-build}
SIZES=${DP_BENCH_SIZES:-1000 10000 100000}
SECS=${DP_BENCH_SECONDS:-300}
COLD_SECS=${DP_BENCH_COLD_SECONDS:-3600}
POLLERS=${DP_BENCH_POLLERS:-2}
WORKERS=${DP_BENCH_WORKERS:-1}
PEER_S=${DP_BENCH_PEER_SECONDS:-15}
WALK_N=${DP_BENCH_WALK_DEVICES:-100}
MIN_FREE_GB=${DP_BENCH_MIN_FREE_GB:-40}
DRAIN_S=${DP_BENCH_DRAIN_SECONDS:-120}
INTERVAL=300
PORTS=24
APP_KEY=bench-app-key-0123456789abcdef
PROFILE="127.8.0.0/13=synthetic:ports=$PORTS,hc=1,speed=1G"
mkdir -p .bench
OUT=.bench/bench-$(date +%Y%m%d-%H%M%S).json
RES=$DP_TMP/results
mkdir -p "$RES"
fail() { echo "bench: FAIL: $*"; DP_TEST_FAILED=1; exit 1; }
say() { echo "bench: $*" >&2; }
# The EXIT trap: also stop the sampler, whose PID is not a server's.
SAMPLER=""
trap 'rc=$?; if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null; fi; (exit $rc); dp_harness_exit' EXIT

bench_install_peers || fail "cannot install prometheus-snmp-exporter and wrk"
for f in dpsim scheduler poller rrdwriter distpoll tests/simload tests/metricsgen; do
    [ -x "$B/$f" ] || fail "$B/$f missing (run make first)"
done

# ---- dpsim: one thread serves every size and every peer ----------------------------------------
SIM_PORT=$(dp_free_port)
"$B/dpsim" --listen 0.0.0.0 --port "$SIM_PORT" --threads 1 --profile "$PROFILE" \
    >"$DP_TMP/dpsim.log" 2>&1 &
SIM_PID=$!
dp_register $SIM_PID "$DP_TMP/dpsim.log"
dp_wait_until 10 snmpget -v2c -c public -r0 -t0.3 "127.10.0.1:$SIM_PORT" 1.3.6.1.2.1.1.3.0 ||
    fail "dpsim does not answer"

s_simload()  # dpsim PDUs/s on one thread and its CPU share, ifXTable GETBULKs of 25
{
    local c0 c1 out
    c0=$(proc_cpu_s $SIM_PID)
    out=$("$B/tests/simload" --port "$SIM_PORT" --base 127.10.0.1 --devices 1000 --inflight 64 \
        --seconds 5 --light) || fail "simload: $out"
    c1=$(proc_cpu_s $SIM_PID)
    awk -v c0="$c0" -v c1="$c1" -v o="$out" 'BEGIN {
        match(o, /pdus_per_s=[0-9.]+/); p = substr(o, RSTART + 11, RLENGTH - 11)
        match(o, /seconds=[0-9.]+/); s = substr(o, RSTART + 8, RLENGTH - 8)
        cpu = (c1 - c0) / s
        printf "{\"pdus_per_s\":%.0f,\"dpsim_cpu_share\":%.2f,\"pdus_per_cpu_s\":%.0f}\n",
            p, cpu, (cpu > 0 ? p / cpu : 0) }'
}

s_rrdwriter_alone()  # tests/integration/bench_rrdwriter.sh figures
{
    local out
    out=$(BUILD=$B DEV=${DP_BENCH_RW_DEV:-1000} bash tests/integration/bench_rrdwriter.sh 2>&1) || {
        echo '{"error":"bench_rrdwriter.sh failed"}'
        return
    }
    echo "$out" | sed 's/^/  rrdwriter alone: /' >&2
    awk '/^live: .* end to end/ { for (i = 1; i <= NF; i++) if ($i == "=>") live = $(i + 1) }
        /^drain: / { for (i = 1; i <= NF; i++) if ($i == "=>") drain = $(i + 1) }
        END { printf "{\"live_updates_per_s\":%d,\"drain_updates_per_s\":%d}\n", live, drain }' <<<"$out"
}

# ---- one size -----------------------------------------------------------------------------------
node_env()  # NODE FILE [KEY=VALUE...]
{
    local node=$1 f=$2
    shift 2
    dp_node_env "$f" NODE_ID="$node" APP_KEY="$APP_KEY" \
        DP_SCHEDULERS="tcp://127.0.0.1:$S1_PORT,tcp://127.0.0.1:$S2_PORT" \
        DP_RRDWRITER_BIND="tcp://127.0.0.1:$RW_PORT" DP_RRDWRITER="tcp://127.0.0.1:$RW_PORT" \
        DP_RRDCACHED="unix:$RC_SOCK" DP_RRD_DIR="$RC_RRD_DIR" DP_SPOOL_DIR="$DP_TMP/spool" \
        DP_SPOOL_MAX_MB=8192 DP_CONTROL_DIR="$DP_TMP/ctl" DP_POLLER_INTERVAL="${INTERVAL}s" \
        DP_RRD_STEP="${INTERVAL}s" DP_RRA=small DP_LOCK_TTL=10s DP_JOB_TIMEOUT=60s \
        DP_SNMP_TIMEOUT=2s DP_SNMP_RETRIES=1 DP_WORKERS="$WORKERS" DP_CONCURRENCY=500 \
        DP_LOG_LEVEL=info "$@"
}

start_daemon()  # NAME DAEMON
{
    "$B/$2" --env-file "$DP_TMP/$1.env" >>"$DP_TMP/$1.log" 2>&1 &
    local pid=$!
    dp_register $pid "$DP_TMP/$1.log"
    PID[$1]=$pid
    dp_wait_until 30 env -i PATH="$PATH" "$B/distpoll" --env-file "$DP_TMP/$1.env" ctl "$2" PING ||
        fail "$1 ($2) does not answer PING"
}

# Sum of a STATS key over the pollers.
pollers_sum() { local p s=0 v; for p in $PNAMES; do
    v=$(bench_stat "$DP_TMP/$p.env" poller "$1"); v=${v//-/0}; s=$((s + ${v:-0})); done; echo $s; }

pollers_idle() { [ "$(pollers_sum inflight)" = 0 ]; }
rw_drained() { [ "$(bench_stat "$DP_TMP/rw.env" rrdwriter backlog)" = 0 ]; }

declare -A PID
GROUPS_OF=(dpsim mariadb redis rrdcached scheduler poller rrdwriter)
group_pids()  # GROUP -> pids
{
    case $1 in
    dpsim) echo $SIM_PID ;; mariadb) echo "$DB_PID" ;; redis) echo "$REDIS_PID" ;;
    rrdcached) echo "$RC_PID" ;; scheduler) echo "${PID[s1]:-} ${PID[s2]:-}" ;;
    rrdwriter) echo "${PID[rw]:-}" ;; poller) local p; for p in $PNAMES; do echo "${PID[$p]:-}"; done ;;
    esac
}
# CPU-s and VmHWM of a process, the last values read once it is gone (0 if never read).
declare -A LAST_CPU LAST_HWM
pid_cpu() { local v; v=$(proc_cpu_s "$1" 2>/dev/null); [ -n "$v" ] && LAST_CPU[$1]=$v; echo "${LAST_CPU[$1]:-0}"; }
pid_hwm() { local v; v=$(bench_hwm_mb "$1"); [ -n "$v" ] && LAST_HWM[$1]=$v; echo "${LAST_HWM[$1]:-0}"; }
cpu_snapshot()  # -> "group=cpu_s" lines (CPU of every copy summed)
{
    local g p s
    for g in "${GROUPS_OF[@]}"; do
        s=0
        for p in $(group_pids "$g"); do
            pid_cpu "$p" >/dev/null # in this shell: refreshes the cache
            s=$(awk -v a="$s" -v b="${LAST_CPU[$p]:-0}" 'BEGIN { print a + b }')
        done
        echo "$g=$s"
    done
}

# s_phase SIZE PHASE: starts the schedulers, waits for one full cycle (or the time box),
# drains, and writes $RES/SIZE-PHASE.json.
s_phase()
{
    local n=$1 phase=$2 box=${3:-$SECS} p
    local -A off
    for p in $PNAMES; do off[$p]=$(stat -c %s "$DP_TMP/$p.log"); done
    local cpu0 rows0 a0 d0 t0 boxed=false
    unset "PID[s1]" "PID[s2]" # the last phase's schedulers are gone
    cpu0=$(cpu_snapshot)
    rows0=$(bench_db_rows "$DB_SOCK")
    a0=$(bench_stat "$DP_TMP/rw.env" rrdwriter updates_applied)
    d0=$(($(pollers_sum jobs_done) + $(pollers_sum jobs_failed)))
    : >"$DP_TMP/samples"
    bench_sampler "$DP_TMP/rw.env" "$DP_TMP/samples" &
    SAMPLER=$!
    t0=$(bench_now_ms)
    start_daemon s1 scheduler
    start_daemon s2 scheduler
    local deadline=$((t0 + box * 1000)) done=0 last=$SECONDS drain_s=$DRAIN_S
    while :; do
        done=$(($(pollers_sum jobs_done) + $(pollers_sum jobs_failed) - d0))
        [ "$done" -ge "$n" ] && break
        if [ "$(bench_now_ms)" -ge $deadline ]; then boxed=true; break; fi
        if [ $((SECONDS - last)) -ge 30 ]; then say "  $n $phase: $done/$n polls"; last=$SECONDS; fi
        sleep 0.5
    done
    # no new jobs; the pollers finish theirs; the rrdwriter applies everything spooled. The
    # schedulers' CPU and RSS are read just before they stop.
    cpu_snapshot >/dev/null
    pid_hwm "${PID[s1]}" >/dev/null
    pid_hwm "${PID[s2]}" >/dev/null
    dp_stop "${PID[s1]}"
    dp_stop "${PID[s2]}"
    dp_wait_until 120 pollers_idle || say "  pollers still busy after 120 s"
    sleep 1 # the pollers' last METRICS and DB batch
    # below 100,000 the figures wait for every RRD update; so does every cold cycle (the warm
    # one must not start with the cold one's backlog)
    { [ "$n" -lt 100000 ] || [ "$phase" = cold ]; } && drain_s=900
    dp_wait_until "$drain_s" rw_drained || say "  rrdwriter backlog not drained within ${drain_s} s"
    sleep 0.5
    local t1 cpu1 rows1 a1
    t1=$(bench_now_ms)
    cpu1=$(cpu_snapshot)
    rows1=$(bench_db_rows "$DB_SOCK")
    a1=$(bench_stat "$DP_TMP/rw.env" rrdwriter updates_applied)
    kill "$SAMPLER" 2>/dev/null
    wait "$SAMPLER" 2>/dev/null
    SAMPLER=""
    for p in $PNAMES; do tail -c +$((off[$p] + 1)) "$DP_TMP/$p.log"; done >"$DP_TMP/phase.log"
    bench_polls "$DP_TMP/phase.log" >"$DP_TMP/polls"
    local lat method=trace backlog
    backlog=$(bench_stat "$DP_TMP/rw.env" rrdwriter backlog)
    lat=$(bench_trace_latency "$REDIS_PORT" "$n")
    if [ "$backlog" != 0 ]; then
        lat="- -" method="not measured: rrdwriter backlog left"
    elif [ "$lat" = "- -" ]; then
        lat=$(bench_latency "$DP_TMP/polls" "$DP_TMP/samples" "$a0")
        method=fifo-counters
    fi
    local rss="" g q m
    for g in "${GROUPS_OF[@]}"; do
        m=0
        for q in $(group_pids "$g"); do
            m=$(awk -v a="$m" -v b="$(pid_hwm "$q")" 'BEGIN { print (b + 0 > a ? b + 0 : a) }')
        done
        rss="$rss $g=$m"
    done
    # the applied curve's end: first sample at the final count
    local t_applied
    t_applied=$(awk -v a="$a1" '$2 == a { print $1; exit }' "$DP_TMP/samples")
    awk -v n="$n" -v phase="$phase" -v boxed="$boxed" -v secs="$SECS" -v t0="$t0" -v t1="$t1" \
        -v t_applied="${t_applied:-$t1}" -v a0="$a0" -v a1="$a1" -v r0="$rows0" -v r1="$rows1" \
        -v cpu0="$cpu0" -v cpu1="$cpu1" -v rss="$rss" -v lat="$lat" -v method="$method" \
        -v creates="$(bench_stat "$DP_TMP/rw.env" rrdwriter creates)" -v backlog="$backlog" '
        { if (s == "" || $1 < s) s = $1; if ($2 > e) e = $2; np++; if ($3 != "ok") bad++
          if (!($4 in seen)) { seen[$4] = 1; nd++; ce = $2 } }
        END {
            span = (e - s) / 1000; if (span <= 0) span = 0.001
            cycle = (ce - s) / 1000
            rate = np / span
            aspan = (t_applied - s) / 1000; if (aspan <= 0) aspan = span
            split(lat, L, " ")
            printf "{\"devices\":%d,\"phase\":\"%s\",\"polls\":%d,\"devices_polled\":%d,\"not_ok\":%d,", n, phase, np, nd, bad
            printf "\"time_boxed\":%s,\"cycle_s\":%.1f,\"cycle_projected\":%s,", boxed,
                (nd < n ? n / rate : cycle), (nd < n ? "true" : "false")
            printf "\"rrdwriter_backlog_left_bytes\":%d,", backlog
            printf "\"polls_per_s\":%.1f,\"rrd_updates\":%d,\"rrd_updates_per_s\":%.0f,\"rrd_creates_total\":%s,",
                rate, a1 - a0, (a1 - a0) / aspan, creates
            printf "\"db_rows_per_s\":%.0f,\"latency_p50_ms\":%s,\"latency_p99_ms\":%s,\"latency_method\":\"%s\",",
                (r1 - r0) / span, (L[1] == "-" ? "null" : L[1]), (L[2] == "-" ? "null" : L[2]), method
            printf "\"window_s\":%.1f,\"cpu_s_per_1000_polls\":{", (t1 - t0) / 1000
            split(cpu0, c0, "\n"); k = split(cpu1, c1, "\n"); tot = 0
            for (i = 1; i <= k; i++) {
                split(c0[i], x, "="); split(c1[i], y, "="); d = (y[2] - x[2]) * 1000 / (np ? np : 1)
                tot += d; printf "\"%s\":%.3f,", y[1], d
            }
            printf "\"total\":%.3f},\"rss_peak_mb\":{", tot
            k = split(rss, R, " ")
            for (i = 1; i <= k; i++) { split(R[i], y, "="); printf "%s\"%s\":%s", (i > 1 ? "," : ""), y[1], y[2] }
            printf "}}\n"
        }' "$DP_TMP/polls" >"$RES/$n-$phase.json"
    say "  $n $phase: $(jq -c '{polls, cycle_s, polls_per_s, rrd_updates_per_s, time_boxed}' "$RES/$n-$phase.json")"
}

s_size()  # N
{
    local n=$1
    if [ "$n" -ge 100000 ]; then
        local free_gb
        free_gb=$(df -BG --output=avail "$DP_TMP" | tail -1 | tr -dc 0-9)
        if [ "$free_gb" -lt "$MIN_FREE_GB" ]; then
            say "SKIP $n devices: ${free_gb} GB free in $DP_TMP, the run needs $MIN_FREE_GB GB"
            echo "{\"devices\":$n,\"skipped\":\"${free_gb} GB free, needs $MIN_FREE_GB GB\"}" >"$RES/$n-skip.json"
            return
        fi
    fi
    say "== $n devices x $PORTS ports"
    # peers first, on the same dpsim, alone on the machine
    local en=$((n < 10000 ? n : 10000)) wn=$((n < WALK_N ? n : WALK_N))
    say "  peers: snmp_exporter on $en devices for ${PEER_S}s, snmpbulkwalk on $wn devices"
    { peer_snmp_exporter "$SIM_PORT" 0 "$en" 32 "$PEER_S"; peer_snmpbulkwalk "$SIM_PORT" "$wn" 4; } |
        jq -s -c --argjson n "$n" '{devices: $n, peers: .}' >"$RES/$n-peers.json"

    # sized as README.md's "MariaDB sizing" recommends (the harness default is a 64 MB toy)
    local pool=2G
    [ "$n" -ge 100000 ] && pool=8G
    DP_MARIADB_ARGS="--innodb-buffer-pool-size=$pool --innodb-log-file-size=512M
        --innodb-flush-neighbors=0 ${DP_BENCH_MARIADB_ARGS:-}" dp_start_mariadb DB || fail "mariadb"
    dp_start_redis REDIS || fail "redis"
    dp_start_rrdcached RC -t 4 || fail "rrdcached"
    S1_PORT=$(dp_free_port) S2_PORT=$(dp_free_port) RW_PORT=$(dp_free_port)
    rm -rf "$DP_TMP/spool" "$DP_TMP/ctl"
    mkdir -p "$DP_TMP/spool" "$DP_TMP/ctl"
    PNAMES=""
    local i
    for ((i = 1; i <= POLLERS; i++)); do PNAMES="$PNAMES p$i"; done
    node_env rw "$DP_TMP/rw.env"
    node_env s1 "$DP_TMP/s1.env" "DP_SCHEDULER_BIND=tcp://127.0.0.1:$S1_PORT"
    node_env s2 "$DP_TMP/s2.env" "DP_SCHEDULER_BIND=tcp://127.0.0.1:$S2_PORT"
    for p in $PNAMES; do node_env "$p" "$DP_TMP/$p.env" DP_LOG_LEVEL=debug; done
    env -i PATH="$PATH" "$B/distpoll" --env-file "$DP_TMP/rw.env" db migrate >/dev/null || fail "migrate"
    # devices in bulk: device i at bench_addr(i), as the peers poll them
    awk -v n="$n" -v port="$SIM_PORT" 'BEGIN {
        for (i = 0; i < n; i++) {
            if (i % 5000 == 0) printf "%sINSERT INTO devices (hostname, overwrite_ip, port, community) VALUES\n", (i ? ";\n" : "")
            else printf ",\n"
            printf "(\"b%d\", \"127.%d.%d.%d\", %d, \"public\")", i, 10 + int(i / 65536), int(i / 256) % 256, i % 256, port
        }
        print ";" }' | mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll || fail "insert devices"
    start_daemon rw rrdwriter
    for p in $PNAMES; do start_daemon "$p" poller; done

    if [ "$n" -ge 100000 ]; then s_phase "$n" cold "$COLD_SECS"; else s_phase "$n" cold; fi
    if [ "$(jq .time_boxed "$RES/$n-cold.json")" = false ]; then
        # Every device due again at once: last_polled and the claims' done marks forgotten, and
        # the schedulers restarted with a poll interval W no longer than the time since the
        # cold cycle's last poll, so every device's slot (its RRD timestamp) is newer than its
        # cold one. Below 100,000 devices W is the cold cycle's length, so the warm cycle fits
        # in it; at 100,000 W is the real interval (the target: the cycle fits in 300 s).
        local last_end w
        last_end=$(tail -1 "$DP_TMP/polls" | awk '{ print $2 }')
        w=$(jq '.cycle_s | ceil' "$RES/$n-cold.json")
        w=$((w < 10 ? 10 : w))
        [ "$n" -ge 100000 ] && w=$INTERVAL
        while [ "$(bench_now_ms)" -lt $((last_end + w * 1000 + 1000)) ]; do sleep 0.2; done
        sed -i "s/^DP_POLLER_INTERVAL=.*/DP_POLLER_INTERVAL=${w}s/" "$DP_TMP/s1.env" "$DP_TMP/s2.env"
        mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -e "UPDATE devices SET last_polled = NULL"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --scan --pattern 'dp:done:poll:*' |
            xargs -r -n 1000 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null
        say "  warm: schedulers restarted with a ${w} s poll interval"
        s_phase "$n" warm
    else
        say "  warm: skipped (the cold cycle did not finish in its time box)"
    fi

    if [ "${DP_BENCH_DB_DIGEST:-0}" = 1 ]; then # MariaDB's time per statement (needs performance_schema)
        mariadb --no-defaults -S "$DB_SOCK" -uroot -e "SELECT COUNT_STAR AS n,
            ROUND(SUM_TIMER_WAIT / 1e12, 2) AS total_s, ROUND(SUM_ROWS_EXAMINED / COUNT_STAR) AS rows_exam,
            LEFT(DIGEST_TEXT, 110) AS stmt FROM performance_schema.events_statements_summary_by_digest
            ORDER BY SUM_TIMER_WAIT DESC LIMIT 15" >"$RES/$n-db-digest.txt" 2>&1
        sed 's/^/  db: /' "$RES/$n-db-digest.txt" >&2
    fi
    # stop everything, delete the RRD files and the servers' folders
    for p in rw $PNAMES; do dp_stop "${PID[$p]}"; done
    dp_stop "$RC_PID"
    dp_stop "$REDIS_PID"
    dp_stop "$DB_PID"
    local t=$SECONDS files
    files=$(find "$RC_RRD_DIR" -name '*.rrd' | wc -l)
    rm -rf "$DP_TMP/RC" "$DP_TMP/DB" "$DP_TMP/REDIS" "$DP_TMP/spool"
    say "  cleanup: $files RRD files deleted in $((SECONDS - t)) s"
    for p in s1 s2 rw $PNAMES; do mv "$DP_TMP/$p.log" "$DP_TMP/$p-$n.log"; done
}

# ---- the run --------------------------------------------------------------------------------
say "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GB RAM; DP_RRA=small;" \
    "interval ${INTERVAL}s; $POLLERS pollers x $WORKERS thread(s); time box ${SECS}s per cycle"
say "dpsim alone (simload, 1 thread)"
s_simload >"$RES/simload.json"
if [ "${DP_BENCH_RW:-1}" != 0 ]; then
    say "rrdwriter alone (tests/integration/bench_rrdwriter.sh)"
    s_rrdwriter_alone >"$RES/rrdwriter.json"
else
    echo '{}' >"$RES/rrdwriter.json"
fi
if [ "${DP_BENCH_PVE:-1}" != 0 ]; then
    say "poller vs snmp_exporter, interleaved (tests/bench/poller_vs_exporter.sh)"
    out=$(BUILD=$B bash tests/bench/poller_vs_exporter.sh 2>&1)
    echo "$out" | grep -E '^(round|medians)' | sed 's/^/  /' >&2
    tail -n1 <<<"$out" | jq -c . >"$RES/pve.json" 2>/dev/null || echo '{"error":"poller_vs_exporter.sh failed"}' >"$RES/pve.json"
else
    echo '{}' >"$RES/pve.json"
fi
for n in $SIZES; do s_size "$n"; done

# ---- JSON and the table ---------------------------------------------------------------------
jq -n --slurpfile sim "$RES/simload.json" --slurpfile rw "$RES/rrdwriter.json" \
    --slurpfile pve "$RES/pve.json" \
    --argjson ports $PORTS --argjson interval $INTERVAL --argjson pollers "$POLLERS" \
    --argjson workers "$WORKERS" --argjson box "$SECS" --arg host "$(nproc) cores" \
    --slurpfile runs <(cat "$RES"/*-cold.json "$RES"/*-warm.json "$RES"/*-skip.json 2>/dev/null) \
    --slurpfile peers <(cat "$RES"/*-peers.json 2>/dev/null) \
    '{machine: $host, ports_per_device: $ports, hc: true, rra: "small", interval_s: $interval,
      pollers: $pollers, threads_per_poller: $workers, time_box_s: $box,
      runs: ($runs | sort_by(.devices, .phase)), peers: ($peers | sort_by(.devices)),
      dpsim_alone: $sim[0], rrdwriter_alone: $rw[0], poller_vs_exporter: $pve[0]}' >"$OUT" ||
    fail "writing $OUT"
bash tests/bench/table.sh "$OUT"
echo "JSON: $OUT"
