#!/usr/bin/env bash
# test_db_bulk.sh - dp_db bulk (array) execution against a real MariaDB: every column type and
# NULLs round-trip through one bulk INSERT and one bulk upsert (ON DUPLICATE KEY UPDATE with
# VALUES() per row), misuse and server errors name the statement and the row count and write
# nothing, a killed connection is reconnected and the statement re-prepared, a connection lost
# inside a transaction fails the bulk (see tests/integration/dbbulk.c for each check).
# Then the poller's batch writes (bench_db --vanish): ports, processors and storage rows
# deleted behind the writer's back and its connection killed before each warm pass are
# recreated (stage tables made again on the new connection), and device 1's rates are right.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
BIN=$B/tests/dbbulk
dp_start_mariadb DB || exit 1

sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
export DB_SOCKET="$DB_SOCK" DB_DATABASE=distpoll DB_USERNAME=distpoll DB_PASSWORD=distpoll
ROWS=3000 # > 2 initial allocations, strings up to 500 bytes: about 0.8 MB in one bulk
out=$("$BIN" "$ROWS" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || fail "dbbulk exit $rc"
grep -q "^ok all$" <<<"$out" || fail "dbbulk did not finish"
# the same rows seen through the mariadb client (round 3 of dbbulk.c's values)
got=$(sql "SELECT COUNT(*), SUM(d IS NULL), SUM(s IS NULL), SUM(b), SUM(i = -CAST(id AS SIGNED) * 1000000007 * 3),
           SUM(old_i IS NOT NULL), MAX(LENGTH(s)) FROM bulk_t")
want=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$ROWS" $((ROWS / 7)) $((ROWS / 7)) $((ROWS / 2)) "$ROWS" "$ROWS" 499)
[ "$got" = "$want" ] || fail "table: got '$got' want '$want'"
[ "$(sql "SELECT s FROM bulk_t WHERE id = 11")" = "naïve 'quote' \"dq\" \\\\ 11" ] ||
    fail "text row 11: $(sql "SELECT s FROM bulk_t WHERE id = 11")"
[ "$(sql "SELECT t FROM bulk_t WHERE id = 4")" = "2023-11-14 22:13:21.003" ] ||
    fail "time row 4: $(sql "SELECT t FROM bulk_t WHERE id = 4")"
out=$("$B/tests/bench_db" --mariadb-pid "$DB_PID" --devices 40 --ports 6 --batch 16 \
    --passes 2 --vanish --settle-s 0 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || fail "bench_db --vanish exit $rc"
[ "$(grep -c 'connections_killed=1$' <<<"$out")" = 2 ] || fail "the writer's connection was not killed twice"
grep -q "^check ok" <<<"$out" || fail "bench_db --vanish: rows not recreated"
echo "test_db_bulk: ok"
