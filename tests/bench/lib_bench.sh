# lib_bench.sh - helpers of tests/bench/run.sh: process figures from /proc, MariaDB
# counters, the rrdwriter sampler and the latency estimate. Source after servers.sh and
# peers.sh (proc_cpu_s). Needs B (build dir).
# shellcheck shell=bash

bench_now_ms() { date +%s%3N; }

# Peak RSS (VmHWM) of a process in MB, "" when gone.
bench_hwm_mb() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# Installs prometheus-snmp-exporter and wrk when missing, like tests/lib/deps.sh: service
# start-up suppressed (policy-rc.d), so the exporter's system service never starts.
bench_install_peers()
{
    local missing=() p
    for p in prometheus-snmp-exporter wrk; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "bench: installing ${missing[*]}"
    local sudo="" policy=/usr/sbin/policy-rc.d created=0
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq || return 1
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
        created=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" </dev/null
    local rc=$?
    [ $created -eq 1 ] && $sudo rm -f "$policy"
    return $rc
}

# Rows written by the MariaDB at socket $1: Innodb_rows_inserted + Innodb_rows_updated, or
# where those are gone (MariaDB >= 10.6) Handler_write + Handler_update (temp tables excluded).
bench_db_rows()
{
    mariadb --no-defaults -S "$1" -uroot -N -B -e "SHOW GLOBAL STATUS WHERE Variable_name IN
        ('Innodb_rows_inserted', 'Innodb_rows_updated', 'Handler_write', 'Handler_update')" |
        awk '/^Innodb_rows/ { i += $2; hi = 1 } /^Handler/ { h += $2 } END { print (hi ? i : h) + 0 }'
}

# bench_stat ENVFILE DAEMON KEY...: the values of KEYs in the daemon's STATS, space separated
# ("-" for a missing one).
bench_stat()
{
    local env=$1 daemon=$2
    shift 2
    env -i PATH="$PATH" "$B/distpoll" --env-file "$env" ctl "$daemon" STATS 2>/dev/null |
        awk -F': ' -v keys="$*" 'BEGIN { n = split(keys, k, " ") } { v[$1] = $2 }
            END { for (i = 1; i <= n; i++) printf "%s%s", (k[i] in v ? v[k[i]] : "-"), (i < n ? " " : "\n") }'
}

# bench_sampler ENVFILE OUTFILE: every 0.2 s appends "t_ms updates_applied backlog creates",
# t_ms taken after the reply (so the count was reached by then). Run in the background.
bench_sampler()
{
    local line
    while :; do
        line=$(bench_stat "$1" rrdwriter updates_applied backlog creates)
        echo "$(bench_now_ms) $line" >>"$2"
        sleep 0.2
    done
}

# bench_polls LOG...: "start_ms end_ms status device_id" of every poll job done, by end_ms.
bench_polls()
{
    grep -h 'msg="job done"' "$@" | grep 'kind=poll' |
        sed -E 's/.*device_id=([0-9]+) .* start_ms=([0-9]+) end_ms=([0-9]+) status=([a-z]+).*/\2 \3 \4 \1/' |
        sort -k2,2n
}

# bench_pct: reads numbers, prints "p50 p99" ("- -" when fewer than 10).
bench_pct()
{
    sort -n | awk '{ v[++n] = $1 } END { if (n < 10) { print "- -"; exit }
        i = int(n * 0.5 + 0.5); j = int(n * 0.99 + 0.5); printf "%d %d\n", v[i], v[j] }'
}

# bench_latency POLLS SAMPLES APPLIED0: FIFO estimate of "SNMP reply -> rrdcached accepted"
# latency. The k-th poll to finish (end_ms) is taken as applied when the rrdwriter's
# updates_applied first reaches APPLIED0 + k * U (U = updates per poll over the run). Prints
# "p50_ms p99_ms" (resolution: the 0.2 s sampling period plus one STATS round trip).
bench_latency()
{
    awk -v a0="$3" 'FNR == NR { if ($2 ~ /^[0-9]+$/) { t[++ns] = $1; a[ns] = $2 } next }
        { e[++np] = $2 }
        END {
            if (np == 0 || ns == 0) exit
            u = (a[ns] - a0) / np; j = 1
            for (k = 1; k <= np; k++) {
                need = a0 + k * u - 0.5
                while (j <= ns && a[j] < need) j++
                if (j > ns) break
                l = t[j] - e[k]; print (l < 0 ? 0 : l)
            }
        }' "$2" "$1" | bench_pct
}

# bench_trace_latency REDIS_PORT N: p50/p99 of rrd_written_ms - polled_ms from the job traces
# (dp:trace:<id>) of up to 2,000 devices, when the daemons stamp both; prints "- -" otherwise.
bench_trace_latency()
{
    local port=$1 n=$2 step
    step=$(((n + 1999) / 2000))
    seq 1 "$step" "$n" | awk '{ print "HMGET dp:trace:" $1 " polled_ms rrd_written_ms" }' |
        redis-cli -h 127.0.0.1 -p "$port" 2>/dev/null | paste - - |
        awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { print $2 - $1 }' | bench_pct
}
