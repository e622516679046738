#!/usr/bin/env bash
# bench_db.sh - MariaDB CPU per poll of the poller's batch writes (not part of make test).
#   BUILD=build bash tests/integration/bench_db.sh   [DEV=10000 PASSES=2 WARM=0 SEED=0 BATCH=128]
#   DP_MARIADB_ARGS="$(cat tests/bench/mariadb.args)"  the server options to measure
# A private MariaDB, DEV devices x 24 ports, a cold pass (rows created; SEED=1 creates them with
# SQL instead) and PASSES warm passes of WARM polls (0 = every device) through
# poller_db_write_batch in batches of 128 (see tests/integration/bench_db.c for the output).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_harness_init
BUILD=${BUILD:-build}
DEV=${DEV:-10000} PASSES=${PASSES:-2} WARM=${WARM:-0} SEED=${SEED:-0} BATCH=${BATCH:-128}
fail() { echo "FAIL: $*"; DP_TEST_FAILED=1; exit 1; }
BIN=${BENCH_BIN:-$BUILD/tests/bench_db}
[ -x "$BIN" ] || fail "$BIN missing (make BUILD=$BUILD)"
dp_start_mariadb DB || fail "mariadb"
echo "mariadbd pid=$DB_PID options: ${DP_MARIADB_ARGS:-(harness defaults)}"
export DB_SOCKET=$DB_SOCK DB_DATABASE=distpoll DB_USERNAME=distpoll DB_PASSWORD=distpoll
args=(--mariadb-pid "$DB_PID" --batch "$BATCH" --devices "$DEV" --passes "$PASSES" --warm-polls "$WARM")
[ "$SEED" = 1 ] && args+=(--seed)
"$BIN" "${args[@]}" || fail "bench_db"
