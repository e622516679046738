#!/usr/bin/env bash
# servers.sh - start and stop real servers for tests and the local stack, privately:
# each in its own directory, on loopback, on a free port, never touching /etc or the
# system's services. Source it; call dp_harness_init first (makes $DP_TMP, sets traps).
#   dp_harness_init            temp dir + EXIT trap that stops everything and dumps logs on failure
#   dp_test_init               an integration test's start: dp_harness_init, B, fail, ok, expect_rc
#   dp_free_port               prints a free TCP+UDP port on 127.0.0.1
#   dp_wait_until SECS CMD...  polls CMD every 50 ms until it succeeds or the deadline passes
#   dp_start_redis NAME [ARGS] sets <NAME>_PORT, <NAME>_PID (e.g. REDIS_PORT)
#   dp_start_mariadb NAME      sets <NAME>_PORT, <NAME>_SOCK, <NAME>_PID; db "distpoll", user distpoll/distpoll
#   dp_stop PID                SIGTERM, then SIGKILL after 10 s
#   dp_start_rrdcached NAME    sets <NAME>_SOCK, <NAME>_PID, <NAME>_DIR, <NAME>_RRD_DIR (see below)
#   dp_start_snmpd NAME [ADDR] sets <NAME>_PORT, <NAME>_PID, <NAME>_DIR, v3 user (see below)
#   DP_SRV_DIR / DP_SRV_PORT   optional overrides of every starter's folder and port
set -o pipefail

DP_PIDS=()
DP_LOGS=()
DP_TEST_FAILED=${DP_TEST_FAILED:-0}

dp_harness_init()
{
    DP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dp-test.XXXXXX")
    export DP_TMP
    trap dp_harness_exit EXIT
}

# dp_test_init: what every tests/integration script does after sourcing this file:
#   set -u; cd "$(dirname "$0")/../.." || exit 2; source tests/lib/servers.sh; dp_test_init
# Calls dp_harness_init and defines, in the script's shell:
#   B                 the build folder: $BUILD, else build
#   fail MSG...       prints "FAIL: MSG", marks the test failed (logs are dumped) and exits 1
#   ok MSG...         prints "ok: MSG"
#   expect_rc RC CMD...  runs CMD, fails unless it exits RC; its output (with stderr) is in $out
# A script that needs another meaning (e.g. a fail that goes on) redefines it after this call.
dp_test_init()
{
    dp_harness_init
    B=${BUILD:-build}
    fail() { echo "FAIL: $*"; DP_TEST_FAILED=1; exit 1; }
    ok() { echo "ok: $*"; }
    expect_rc() {
        local want=$1
        shift
        out=$("$@" 2>&1)
        local rc=$?
        [ "$rc" -eq "$want" ] || fail "expected exit $want from '$*', got $rc: $out"
    }
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
    local dir=${DP_SRV_DIR:-$DP_TMP/$name} port=${DP_SRV_PORT:-}
    [ -n "$port" ] || port=$(dp_free_port)
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

dp_start_mariadb()  # NAME   (DP_MARIADB_ARGS: extra mariadbd options, e.g. a bigger buffer pool)
{
    local name=$1 dir=${DP_SRV_DIR:-$DP_TMP/$1} port=${DP_SRV_PORT:-}
    [ -n "$port" ] || port=$(dp_free_port)
    # a private tmpdir: the servers' temporary tables never meet another test's cleanup of /tmp
    mkdir -p "$dir/data" "$dir/tmp"
    [ -d "$dir/data/mysql" ] || mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$dir/data" \
        --tmpdir="$dir/tmp" --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 || {
        cat "$dir/install.log"
        return 1
    }
    mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" --tmpdir="$dir/tmp" --socket="$dir/mysql.sock" \
        --bind-address=127.0.0.1 --port="$port" --pid-file="$dir/mariadbd.pid" \
        --log-error="$dir/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=64M \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
        --max-connections=400 ${DP_MARIADB_ARGS:-} >/dev/null 2>&1 &
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

# ---- rrdcached and snmpd ----------------------------------------------------------------------
# Like the starters above, these honour two optional overrides, so the local stack
# (tests/lib/stack.sh) can reuse them with persistent folders and fixed ports:
#   DP_SRV_DIR=DIR   the server's folder instead of $DP_TMP/NAME
#   DP_SRV_PORT=N    its port instead of a free one
# e.g. DP_SRV_DIR=$PWD/.run/redis DP_SRV_PORT=16379 dp_start_redis REDIS

# dp_start_rrdcached NAME [extra rrdcached args]
# Unix socket only (mode 0660), journal in NAME_DIR/journal, RRD files confined to NAME_RRD_DIR
# (-B -R, -O: CREATE never overwrites), -w 300 -z 30 -f 3600. No -F by default: on SIGTERM the
# journal keeps pending updates (pass -F to flush RRD files at shutdown instead).
# Sets NAME_SOCK, NAME_PID, NAME_DIR, NAME_RRD_DIR; returns once PING answers.
dp_start_rrdcached()
{
    local name=$1
    shift
    local dir=${DP_SRV_DIR:-$DP_TMP/$name}
    local sock="$dir/rrdcached.sock" pidf="$dir/rrdcached.pid"
    mkdir -p "$dir/journal" "$dir/rrd"
    if [ ${#sock} -gt 100 ]; then
        echo "dp_start_rrdcached: socket path too long for a unix socket: $sock" >&2
        return 1
    fi
    # leftovers of a killed instance make rrdcached refuse to start
    if [ -f "$pidf" ] && ! kill -0 "$(cat "$pidf" 2>/dev/null)" 2>/dev/null; then rm -f "$pidf"; fi
    [ -f "$pidf" ] || rm -f "$sock"
    rrdcached -g -o "$dir/rrdcached.log" -p "$pidf" -j "$dir/journal" -B -R -O -b "$dir/rrd" \
        -w 300 -z 30 -f 3600 "$@" -m 0660 -l "unix:$sock" >>"$dir/rrdcached.out" 2>&1 &
    local pid=$!
    dp_register $pid "$dir/rrdcached.out"
    DP_LOGS+=("$dir/rrdcached.log")
    eval "${name}_PID=$pid ${name}_SOCK=\$sock ${name}_DIR=\$dir ${name}_RRD_DIR=\$dir/rrd"
    dp_wait_until 10 dp_rrdcached_cmd "$sock" PING
}

# dp_rrdcached_cmd SOCK CMD   sends one command line (PING, STATS, FLUSH f, ...) over the unix
# socket and prints the reply (the status line and the lines it announces). Exit 0 on a status
# >= 0, 1 on an error reply, 2 if it cannot connect. Uses perl-base (always on Debian): bash's
# /dev/tcp does not do unix sockets and nc -U / socat are not installed by default.
dp_rrdcached_cmd()
{
    perl -MIO::Socket::UNIX -e '
        alarm 5;
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or exit 2;
        print $s "$ARGV[1]\n";
        my $l = <$s>;
        defined $l or exit 2;
        print $l;
        my ($n) = $l =~ /^(-?\d+)/;
        defined $n or exit 1;
        exit 1 if $n < 0;
        for (1 .. $n) { my $x = <$s>; last unless defined $x; print $x; }
        exit 0;' "$1" "$2"
}

# dp_start_snmpd NAME [ADDR...]
# net-snmp's snmpd with its own config (never /etc/snmp, persistent state under NAME_DIR, never
# /var/lib/snmp), listening on udp:ADDR:PORT for each ADDR (default 127.0.0.1; any 127.x.y.z
# works on Linux loopback, each address looks like its own device; 0.0.0.0 answers every
# 127.x.y.z from that address). Community "public" (read-only, 127.0.0.0/8) and an SNMPv3
# authPriv user (SHA-256/AES). Sets NAME_PORT, NAME_PID, NAME_DIR, NAME_ADDRS (space-separated),
# NAME_COMMUNITY, NAME_V3_USER, NAME_V3_AUTH (SHA-256 passphrase), NAME_V3_PRIV (AES passphrase);
# returns once an snmpget of sysUpTime.0 answers.
dp_start_snmpd()
{
    local name=$1
    shift
    local dir=${DP_SRV_DIR:-$DP_TMP/$name} port=${DP_SRV_PORT:-}
    [ -n "$port" ] || port=$(dp_free_port)
    local addrs=("$@")
    [ ${#addrs[@]} -gt 0 ] || addrs=(127.0.0.1)
    local listen="" a
    for a in "${addrs[@]}"; do listen+="${listen:+,}udp:$a:$port"; done
    local user=dpv3 authpass=distpoll-auth-pass privpass=distpoll-priv-pass
    mkdir -p "$dir/persist" "$dir/client"
    cat >"$dir/snmpd.conf" <<CONF
# generated by tests/lib/servers.sh dp_start_snmpd: a private agent, not the system's snmpd
agentaddress $listen
rocommunity public 127.0.0.0/8
createUser $user SHA-256 "$authpass" AES "$privpass"
rouser $user priv
sysName $name
sysLocation distpoll private agent ($dir)
sysContact nobody@localhost
CONF
    rm -f "$dir/snmpd.pid"
    SNMP_PERSISTENT_DIR="$dir/persist" SNMPCONFPATH="$dir" \
        snmpd -f -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid" -Lf "$dir/snmpd.log" -m '' \
        >>"$dir/snmpd.out" 2>&1 &
    local pid=$!
    dp_register $pid "$dir/snmpd.log"
    eval "${name}_PORT=$port ${name}_PID=$pid ${name}_DIR=\$dir ${name}_ADDRS=\"\${addrs[*]}\"
          ${name}_COMMUNITY=public ${name}_V3_USER=$user ${name}_V3_AUTH=$authpass ${name}_V3_PRIV=$privpass"
    a=${addrs[0]}
    [ "$a" = 0.0.0.0 ] && a=127.0.0.1
    # the client keeps its own state under NAME_DIR/client too (not /var/lib/snmp)
    dp_wait_until 10 env SNMP_PERSISTENT_DIR="$dir/client" \
        snmpget -v2c -c public -r0 -t0.3 "$a:$port" 1.3.6.1.2.1.1.3.0
}

# --- Redis replication and Sentinel (dp_redis tests) ---
#   dp_port_listening PORT                  true when something listens on 127.0.0.1:PORT
#   dp_start_redis_replica NAME MASTER_PORT [ARGS]   replica of 127.0.0.1:MASTER_PORT (as dp_start_redis)
#   dp_restart_redis NAME [ARGS]            kill -9 NAME, start it again on the same port and dir
#   dp_start_sentinel NAME MASTER_PORT SERVICE [CONF_LINE...]   sets <NAME>_PORT/_PID/_DIR; quorum
#       ${DP_SENTINEL_QUORUM:-2}, down-after 1000 ms, failover-timeout 5000 ms; CONF_LINEs are appended
#       after "sentinel monitor" (e.g. "requirepass x", "sentinel auth-pass SERVICE pw")
dp_port_listening()  # PORT
{
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

dp_start_redis_replica()  # NAME MASTER_PORT [extra redis-server args...]
{
    local name=$1 mport=$2
    shift 2
    dp_start_redis "$name" --replicaof 127.0.0.1 "$mport" "$@"
}

dp_restart_redis()  # NAME [extra redis-server args...]
{
    local name=$1
    shift
    local port dir pid
    eval "port=\$${name}_PORT dir=\$${name}_DIR pid=\$${name}_PID"
    kill -KILL "$pid" 2>/dev/null
    dp_wait_gone "$pid" 10
    wait "$pid" 2>/dev/null
    dp_wait_until 10 eval "! dp_port_listening $port" || return 1
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save '' --appendonly no \
        --daemonize no --logfile "$dir/redis.log" "$@" >/dev/null 2>&1 &
    pid=$!
    dp_register $pid
    eval "${name}_PID=$pid"
    dp_wait_until 10 dp_port_listening "$port"
}

dp_start_sentinel()  # NAME MASTER_PORT SERVICE [CONF_LINE...]
{
    local name=$1 mport=$2 service=$3
    shift 3
    local dir="$DP_TMP/$name" port line
    port=$(dp_free_port)
    mkdir -p "$dir"
    {
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "daemonize no"
        echo "dir $dir"
        echo "logfile $dir/sentinel.log"
        echo "sentinel monitor $service 127.0.0.1 $mport ${DP_SENTINEL_QUORUM:-2}"
        echo "sentinel down-after-milliseconds $service ${DP_SENTINEL_DOWN_MS:-1000}"
        echo "sentinel failover-timeout $service ${DP_SENTINEL_FAILOVER_MS:-5000}"
        for line in "$@"; do echo "$line"; done
    } >"$dir/sentinel.conf"
    redis-sentinel "$dir/sentinel.conf" >/dev/null 2>&1 &
    local pid=$!
    dp_register $pid "$dir/sentinel.log"
    eval "${name}_PORT=$port ${name}_PID=$pid ${name}_DIR=$dir"
    dp_wait_until 10 dp_port_listening "$port"
}

# --- env files and the SNMP simulator (integration tests) ---
#   dp_node_env FILE [LINE...]   writes a node's env file for the servers started above
#   dp_start_dpsim NAME ADDR [dpsim args...]   starts $BUILD/dpsim on a free port
DP_TEST_APP_KEY=base64:0123456789abcdefghijklmnopqrstuv

# dp_node_env FILE [KEY=VALUE | "# comment"]...
# Writes NODE_ID (when given), APP_KEY ($DP_TEST_APP_KEY unless given), the MariaDB keys when
# $DB_PORT is set (DB_HOST=127.0.0.1, DB_PORT, DB_DATABASE/DB_USERNAME/DB_PASSWORD=distpoll),
# the Redis keys when $REDIS_PORT is set (REDIS_HOST=127.0.0.1, REDIS_PORT), then the other
# KEY=VALUEs in order. A KEY=VALUE naming one of the keys above replaces its value in place
# (a DB_PORT= or REDIS_PORT= argument also writes that group); "# ..." lines go first.
# e.g. dp_node_env "$env" NODE_ID=n1 DP_CONTROL_DIR="$DP_TMP" DP_LOCK_TTL=3s
dp_node_env()
{
    local file=$1 arg key
    shift
    local -A given=() val=([APP_KEY]=$DP_TEST_APP_KEY)
    local -a keys=(NODE_ID APP_KEY)
    for arg in "$@"; do
        [[ $arg == \#* ]] && continue
        [[ $arg == ?*=* ]] || { echo "dp_node_env: not KEY=VALUE: $arg" >&2; return 1; }
        given[${arg%%=*}]=${arg#*=}
    done
    if [ -n "${given[DB_PORT]-${DB_PORT:-}}" ]; then
        keys+=(DB_HOST DB_PORT DB_DATABASE DB_USERNAME DB_PASSWORD)
        val+=([DB_HOST]=127.0.0.1 [DB_PORT]=${DB_PORT:-} [DB_DATABASE]=distpoll
            [DB_USERNAME]=distpoll [DB_PASSWORD]=distpoll)
    fi
    if [ -n "${given[REDIS_PORT]-${REDIS_PORT:-}}" ]; then
        keys+=(REDIS_HOST REDIS_PORT)
        val+=([REDIS_HOST]=127.0.0.1 [REDIS_PORT]=${REDIS_PORT:-})
    fi
    local -A common=()
    {
        for arg in "$@"; do [[ $arg == \#* ]] && echo "$arg"; done
        for key in "${keys[@]}"; do
            common[$key]=1
            if [[ -v given[$key] ]]; then
                echo "$key=${given[$key]}"
            elif [ -n "${val[$key]-}" ]; then
                echo "$key=${val[$key]}"
            fi
        done
        for arg in "$@"; do
            [[ $arg == \#* ]] || [[ -v common[${arg%%=*}] ]] || echo "$arg"
        done
    } >"$file"
}

# dp_start_dpsim NAME ADDR [dpsim args...]
# $BUILD/dpsim (BUILD defaults to build) on a free UDP port with the given arguments, log in
# $DP_TMP/NAME.log. Sets NAME_PORT, NAME_PID, NAME_LOG; returns once ADDR answers a v2c get of
# sysUpTime.0 (ADDR: a device address without a timeout fault).
dp_start_dpsim()
{
    local name=$1 addr=$2
    shift 2
    local port log=$DP_TMP/$name.log
    port=$(dp_free_port)
    "${BUILD:-build}/dpsim" --port "$port" "$@" >"$log" 2>&1 &
    local pid=$!
    dp_register $pid "$log"
    eval "${name}_PORT=$port ${name}_PID=$pid ${name}_LOG=\$log"
    dp_wait_until 10 snmpget -v2c -c public -r0 -t0.3 "$addr:$port" 1.3.6.1.2.1.1.3.0
}
