#!/usr/bin/env bash
# test_db_schema.sh - dp_schema against a real mariadbd: empty db -> every table and the
# latest version; a second run applies nothing; two concurrent runs record each migration
# once; dbtool selftest covers the typed statement API (types, NULLs, long text, rollback).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
BIN=$B/tests/dbtool
dp_start_mariadb DB || exit 1

sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
export DB_HOST=127.0.0.1 DB_PORT DB_DATABASE=distpoll DB_USERNAME=distpoll DB_PASSWORD=distpoll

# 1. fresh database: everything applied, every table exists
out=$("$BIN" version) || fail "version on empty db: $out"
[ "$out" = 0 ] || fail "empty db version is '$out', want 0"
out=$("$BIN" migrate) || fail "migrate: $out"
echo "first migrate: $out"
latest=$(sed -n 's/.*latest=\([0-9]*\).*/\1/p' <<<"$out")
[ -n "$latest" ] && [ "$latest" -ge 3 ] || fail "latest not reported: $out"
[[ "$out" == "applied=$latest version=$latest latest=$latest" ]] || fail "first migrate: $out"
tables=$(sql 'SHOW TABLES')
for t in devices ports poller_groups processors storage settings nodes node_stats leadership \
    bills bill_ports bill_port_counters bill_data bill_history schema_migrations; do
    grep -qx "$t" <<<"$tables" || fail "table $t missing (have: $(echo $tables))"
done
# engine and charset as promised
bad=$(sql "SELECT table_name FROM information_schema.tables WHERE table_schema='distpoll'
           AND (engine <> 'InnoDB' OR table_collation NOT LIKE 'utf8mb4%')")
[ -z "$bad" ] || fail "tables not InnoDB/utf8mb4: $bad"
# unique keys that make writes idempotent
for idx in "devices hostname" "ports device_ifIndex" "bill_data bill_timestamp" \
    "node_stats node_stage"; do
    set -- $idx
    n=$(sql "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema='distpoll'
             AND table_name='$1' AND index_name='$2' AND non_unique=0")
    [ "$n" -ge 1 ] || fail "unique index $2 on $1 missing"
done
sql "INSERT INTO devices (hostname) VALUES ('r1')"
sql "INSERT INTO devices (hostname) VALUES ('r1')" 2>/dev/null && fail "duplicate hostname accepted"

# 2. again: nothing to do, no error, data kept
out=$("$BIN" migrate) || fail "second migrate: $out"
[[ "$out" == "applied=0 version=$latest latest=$latest" ]] || fail "second migrate: $out"
[ "$(sql 'SELECT COUNT(*) FROM devices')" = 1 ] || fail "second migrate lost data"

# 3. two nodes migrating one empty database at once
sql 'CREATE DATABASE distpoll2'
mariadb --no-defaults -S "$DB_SOCK" -uroot -e "GRANT ALL ON distpoll2.* TO 'distpoll'@'127.0.0.1'"
DB_DATABASE=distpoll2 "$BIN" migrate >"$DP_TMP/m1.out" 2>&1 &
p1=$!
DB_DATABASE=distpoll2 "$BIN" migrate >"$DP_TMP/m2.out" 2>&1 &
p2=$!
wait $p1 || fail "concurrent migrate 1: $(cat "$DP_TMP/m1.out")"
wait $p2 || fail "concurrent migrate 2: $(cat "$DP_TMP/m2.out")"
echo "concurrent: $(cat "$DP_TMP/m1.out") | $(cat "$DP_TMP/m2.out")"
a1=$(sed -n 's/^applied=\([0-9]*\).*/\1/p' "$DP_TMP/m1.out")
a2=$(sed -n 's/^applied=\([0-9]*\).*/\1/p' "$DP_TMP/m2.out")
[ $((a1 + a2)) -eq "$latest" ] || fail "concurrent runs applied $a1 + $a2, want $latest in total"
rows=$(mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll2 -e \
    'SELECT COUNT(*), COUNT(DISTINCT version), MIN(version), MAX(version) FROM schema_migrations')
[ "$rows" = "$(printf '%s\t%s\t1\t%s' "$latest" "$latest" "$latest")" ] ||
    fail "schema_migrations rows: $rows"

# 4. the typed statement API end to end
out=$("$BIN" selftest 2>&1) || fail "selftest: $out"
[ "$out" = "selftest ok" ] || fail "selftest: $out"
echo "test_db_schema: ok"
