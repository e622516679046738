#!/usr/bin/env bash
# servers.sh - start and stop real servers for tests and the local stack, privately:
# each in its own directory, on loopback, on a free port, never touching /etc or the
# system's services. Source it; call dp_harness_init first (makes $DP_TMP, sets traps).
#   dp_harness_init            temp dir + EXIT trap that stops everything and dumps logs on failure
#   dp_free_port               prints a free TCP+UDP port on 127.0.0.1
#   dp_wait_until SECS CMD...  polls CMD every 50 ms until it succeeds or the deadline passes
#   dp_start_redis NAME [ARGS] sets <NAME>_PORT, <NAME>_PID (e.g. REDIS_PORT)
#   dp_start_mariadb NAME      sets <NAME>_PORT, <NAME>_SOCK, <NAME>_PID; db "distpoll", user distpoll/distpoll
#   dp_stop PID                SIGTERM, then SIGKILL after 10 s
set -o pipefail

DP_PIDS=()
DP_LOGS=()
DP_TEST_FAILED=${DP_TEST_FAILED:-0}

dp_harness_init()
{
    DP_TMP=$(mktemp -d /tmp/dp-test.XXXXXX)
    export DP_TMP
    trap dp_harness_exit EXIT
}

dp_harness_exit()
{
    local rc=$?
    if [ $rc -ne 0 ] || [ "$DP_TEST_FAILED" != 0 ]; then
        dp_dump_logs
    fi
    local p
    for p in "${DP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${DP_PIDS[@]}"; do dp_wait_gone "$p" 10 || kill -KILL "$p" 2>/dev/null; done
    [ -n "${DP_KEEP_TMP:-}" ] || rm -rf "$DP_TMP"
    exit $rc
}

dp_dump_logs()
{
    local f
    for f in "${DP_LOGS[@]}"; do
        [ -f "$f" ] || continue
        echo "----- log: $f (last 60 lines) -----"
        tail -n 60 "$f"
    done
}

dp_register()  # PID LOGFILE
{
    DP_PIDS+=("$1")
    [ -n "${2:-}" ] && DP_LOGS+=("$2")
}

dp_wait_gone()  # PID SECS
{
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        # a zombie child counts as gone
        [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ] && return 0
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.05
    done
    return 0
}

dp_stop()  # PID
{
    kill -TERM "$1" 2>/dev/null || return 0
    dp_wait_gone "$1" 10 || kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

dp_free_port()
{
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if ! ss -Hltun "sport = :$p" 2>/dev/null | grep -q .; then
            echo "$p"
            return
        fi
    done
}

dp_wait_until()  # SECS CMD...
{
    local secs=$1
    shift
    local deadline=$(($(date +%s%N) + secs * 1000000000))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s%N)" -ge $deadline ]; then
            echo "timed out after ${secs}s waiting for: $*" >&2
            return 1
        fi
        sleep 0.05
    done
}

dp_start_redis()  # NAME [extra redis-server args...]
{
    local name=$1
    shift
    local dir="$DP_TMP/$name" port
    port=$(dp_free_port)
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
        --daemonize no --logfile "$dir/redis.log" "$@" >/dev/null 2>&1 &
    local pid=$!
    dp_register $pid "$dir/redis.log"
    eval "${name}_PORT=$port ${name}_PID=$pid ${name}_DIR=$dir"
    local auth=()
    [ -n "${DP_REDIS_AUTH:-}" ] && auth=(--no-auth-warning -a "$DP_REDIS_AUTH")
    dp_wait_until 10 redis-cli -h 127.0.0.1 -p "$port" "${auth[@]}" ping
}

dp_start_mariadb()  # NAME
{
    local name=$1 dir="$DP_TMP/$1" port
    port=$(dp_free_port)
    mkdir -p "$dir/data"
    mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 || {
        cat "$dir/install.log"
        return 1
    }
    mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" --socket="$dir/mysql.sock" \
        --bind-address=127.0.0.1 --port="$port" --pid-file="$dir/mariadbd.pid" \
        --log-error="$dir/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=64M \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
        --max-connections=400 >/dev/null 2>&1 &
    local pid=$!
    dp_register $pid "$dir/mariadb.log"
    eval "${name}_PORT=$port ${name}_PID=$pid ${name}_SOCK=$dir/mysql.sock ${name}_DIR=$dir"
    dp_wait_until 60 mariadb --no-defaults -S "$dir/mysql.sock" -uroot -e 'select 1' || return 1
    mariadb --no-defaults -S "$dir/mysql.sock" -uroot -e "
        CREATE DATABASE IF NOT EXISTS distpoll;
        CREATE USER IF NOT EXISTS 'distpoll'@'localhost' IDENTIFIED BY 'distpoll';
        CREATE USER IF NOT EXISTS 'distpoll'@'127.0.0.1' IDENTIFIED BY 'distpoll';
        GRANT ALL ON distpoll.* TO 'distpoll'@'localhost';
        GRANT ALL ON distpoll.* TO 'distpoll'@'127.0.0.1';"
}
