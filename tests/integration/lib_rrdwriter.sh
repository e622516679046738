# lib_rrdwriter.sh - shared by test_rrdwriter_*.sh: start an rrdwriter against the harness's
# rrdcached, talk to its control socket, read RRD files back. Source after servers.sh and
# dp_test_init; needs RC_SOCK/RC_RRD_DIR from dp_start_rrdcached RC.
# shellcheck shell=bash
RW_APP_KEY=test-app-key-0123456789abcdef
RW_NODE=rw1

# rw_env FILE [KEY=VALUE...]: writes the rrdwriter's env file (RW_PORT chosen once)
rw_env()
{
    local f=$1
    shift
    RW_PORT=${RW_PORT:-$(dp_free_port)}
    mkdir -p "$DP_TMP/ctl" "$DP_TMP/spool"
    {
        echo "NODE_ID=$RW_NODE"
        echo "APP_KEY=$RW_APP_KEY"
        echo "DP_RRDWRITER_BIND=tcp://127.0.0.1:$RW_PORT"
        echo "DP_RRDCACHED=unix:$RC_SOCK"
        echo "DP_RRD_DIR=$RC_RRD_DIR"
        echo "DP_SPOOL_DIR=$DP_TMP/spool"
        echo "DP_CONTROL_DIR=$DP_TMP/ctl"
        echo "DP_RRD_STEP=${RW_STEP:-5}s"
        echo "DP_RRA=${RW_RRA:-small}"
        echo "DP_DRAIN_TIMEOUT=20s"
        for kv in "$@"; do echo "$kv"; done
    } >"$f"
    RW_ENV=$f
    RW_CTL=ipc://$DP_TMP/ctl/rrdwriter-$RW_NODE.ctl
}

rw_ctl() { "$B/distpoll" --env-file "$RW_ENV" ctl rrdwriter "$@" 2>/dev/null; }

# rw_stat NAME: prints one STATS value (empty when unreachable)
rw_stat() { rw_ctl STATS | awk -F': ' -v k="$1" '$1 == k { print $2 }'; }

# rw_start LOGNAME: starts the rrdwriter (sets RW_PID), waits for PING. RW_WRAP="heaptrack -o F"
# (or another launcher that runs it as its child): RW_PID is the rrdwriter itself, not the wrapper.
rw_start()
{
    local log=$DP_TMP/$1.log
    # shellcheck disable=SC2086 # RW_WRAP is a command line
    ${RW_WRAP:-} "$B/rrdwriter" --env-file "$RW_ENV" >>"$log" 2>&1 &
    RW_PID=$!
    dp_register $RW_PID "$log"
    if [ -n "${RW_WRAP:-}" ]; then
        local wrapper=$RW_PID
        dp_wait_until 20 pgrep -P "$wrapper" -x rrdwriter >/dev/null || fail "no rrdwriter under $RW_WRAP"
        RW_PID=$(pgrep -P "$wrapper" -x rrdwriter)
        dp_register "$RW_PID"
    fi
    RW_LOG=$log
    dp_wait_until 10 rw_ctl PING || fail "rrdwriter did not answer PING"
}

rw_gen() { "$B/tests/metricsgen" --endpoint "tcp://127.0.0.1:$RW_PORT" --app-key "$RW_APP_KEY" "$@"; }

# rw_backlog_zero: true when everything spooled was applied
rw_backlog_zero() { [ "$(rw_stat backlog)" = 0 ]; }

# rc_last FILE: rrdcached's LAST for a file relative to the RRD dir
rc_last() { dp_rrdcached_cmd "$RC_SOCK" "LAST $1" | awk 'NR == 1 { print $2 }'; }

# rw_check_file REL PORT START STEP LAST_ROUND: after FLUSH through rrdcached, rrdtool fetch
# must show, for every round 1..LAST_ROUND, the rate metricsgen's series gives:
# (PORT + 1) * (k + 1) * (1 + round % 2) for DS k. A missing or doubled update breaks it.
rw_check_file()
{
    local rel=$1 p=$2 s=$3 step=$4 last=$5
    dp_rrdcached_cmd "$RC_SOCK" "FLUSH $rel" >/dev/null || { echo "FLUSH $rel failed"; return 1; }
    rrdtool fetch "$RC_RRD_DIR/$rel" AVERAGE --start "$s" --end $((s + last * step)) |
        awk -v s="$s" -v p="$p" -v step="$step" -v last="$last" -v f="$rel" '
            /^[0-9]+:/ { t = $1 + 0; if (t <= s || t > s + last * step) next
                         r = (t - s) / step; rows++
                         for (k = 2; k <= NF; k++) {
                             want = (p + 1) * (k - 1) * (1 + r % 2)
                             if ($k + 0 != want || $k ~ /nan/) {
                                 if (bad < 5) print f " t=" t " round=" r " ds=" k - 2 " got " $k " want " want
                                 bad++ } } }
            END { if (rows != last) { print f ": rows=" rows " want " last; bad++ } exit bad > 0 }'
}

# rw_check_all DEVICES PORTS START STEP LAST_ROUND: rw_check_file for every file, plus LAST
rw_check_all()
{
    local d p bad=0 want=$(($3 + $5 * $4)) last
    for ((d = 0; d < $1; d++)); do
        for ((p = 0; p < $2; p++)); do
            rw_check_file "dev$d/port-id$p.rrd" $p "$3" "$4" "$5" || bad=$((bad + 1))
            last=$(rc_last "dev$d/port-id$p.rrd")
            [ "$last" = "$want" ] || { echo "dev$d/port-id$p.rrd: LAST $last want $want"; bad=$((bad + 1)); }
        done
    done
    [ $bad = 0 ]
}
