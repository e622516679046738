#!/usr/bin/env bash
# bench_db.sh - MariaDB CPU per poll of the poller's batch writes (not part of make test).
#   BUILD=build bash tests/integration/bench_db.sh   [DEV=10000 PASSES=2 WARM=0 SEED=0 BATCH=128]
#   DP_MARIADB_ARGS="$(cat tests/bench/mariadb.args)"  the server options to measure
#   BASE_S=T (fixed synthetic clock), VANISH=1 (rows deleted before each warm pass), IDENTITY=1
#   (warm polls write port names too), DUMP=FILE
#   (the devices, ports, processors and storage rows afterwards, for diffing two builds:
#   everything but storage_id/processor_id and updated_at)
# A private MariaDB, DEV devices x 24 ports, a cold pass (rows created; SEED=1 creates them with
# SQL instead) and PASSES warm passes of WARM polls (0 = every device) through
# poller_db_write_batch in batches of 128 (see tests/integration/bench_db.c for the output).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
BUILD=$B
DEV=${DEV:-10000} PASSES=${PASSES:-2} WARM=${WARM:-0} SEED=${SEED:-0} BATCH=${BATCH:-128}
BASE_S=${BASE_S:-0} VANISH=${VANISH:-0} IDENTITY=${IDENTITY:-0} DUMP=${DUMP:-}
BIN=${BENCH_BIN:-$BUILD/tests/bench_db}
[ -x "$BIN" ] || fail "$BIN missing (make BUILD=$BUILD)"
dp_start_mariadb DB || fail "mariadb"
echo "mariadbd pid=$DB_PID options: ${DP_MARIADB_ARGS:-(harness defaults)}"
export DB_SOCKET=$DB_SOCK DB_DATABASE=distpoll DB_USERNAME=distpoll DB_PASSWORD=distpoll
args=(--mariadb-pid "$DB_PID" --batch "$BATCH" --devices "$DEV" --passes "$PASSES" --warm-polls "$WARM")
[ "$SEED" = 1 ] && args+=(--seed)
[ "$VANISH" = 1 ] && args+=(--vanish)
[ "$IDENTITY" = 1 ] && args+=(--identity)
[ "$BASE_S" != 0 ] && args+=(--base-s "$BASE_S")
"$BIN" "${args[@]}" || fail "bench_db"
if [ -n "$DUMP" ]; then
    q() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
    {
        q "SELECT device_id, hostname, status, status_reason, last_polled, last_polled_timetaken,
           sysName, uptime, poll_epoch FROM devices ORDER BY device_id"
        q "SELECT * FROM ports ORDER BY port_id"
        q "SELECT device_id, hrDeviceIndex, processor_index, processor_type, processor_descr,
           processor_usage, updated_at IS NOT NULL, deleted FROM processors
           ORDER BY device_id, processor_type, processor_index"
        q "SELECT device_id, storage_mib, storage_index, storage_type, storage_descr, storage_units,
           storage_size, storage_used, storage_free, storage_perc, updated_at IS NOT NULL, deleted
           FROM storage ORDER BY device_id, storage_mib, storage_index"
    } >"$DUMP" || fail "dump"
    q "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'distpoll'
       AND TABLE_NAME IN ('processors', 'storage')" | tr '\t\n' '= '
    echo
fi
