#!/usr/bin/env bash
# test_db_reconnect.sh - dp_db survives mariadbd restarts: a dbtool loop runs a prepared
# idempotent upsert, a non-idempotent insert and a read-back every ~100 ms while the server
# is stopped (SIGTERM) and started again, then killed (-9) and started again. The loop must
# recover with reconnects counted, never surface 1243/2014, and never run an insert twice.
# Also: a wrong password fails as "auth" without echoing the password.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
BIN=$B/tests/dbtool
dp_start_mariadb DB || exit 1

fail() { echo "FAIL: $*"; echo "--- loop output (tail)"; tail -n 40 "$DP_TMP/loop.out" 2>/dev/null;
    DP_TEST_FAILED=1; exit 1; }
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
# the same command line as dp_start_mariadb, on the same datadir and port
start_db() {
    mariadbd --no-defaults --user="$(id -un)" --datadir="$DB_DIR/data" --socket="$DB_SOCK" \
        --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file="$DB_DIR/mariadbd.pid" \
        --log-error="$DB_DIR/mariadb.log" --skip-name-resolve --innodb-buffer-pool-size=64M \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
        --max-connections=400 >/dev/null 2>&1 &
    DB_PID=$!
    dp_register $DB_PID
    dp_wait_until 60 mariadb --no-defaults -S "$DB_SOCK" -uroot -e 'select 1' ||
        fail "mariadbd did not come back"
}
last_seq() { sed -n 's/^[a-z]* seq=\([0-9]*\).*/\1/p' "$DP_TMP/loop.out" | tail -n 1; }
ok_after() {  # SEQ RECONNECTS [N]: N ok lines with seq > SEQ and >= RECONNECTS reconnects
    awk -v s="$1" -v r="$2" -v n="${3:-5}" '$1 == "ok" { split($2, a, "="); split($3, b, "=");
        if (a[2] + 0 > s && b[2] + 0 >= r) found++ } END { exit found < n }' "$DP_TMP/loop.out"
}
# kills dbtool's connection while it runs SELECT SLEEP (mode idem: retried, once: not)
kill_mid_statement() {
    "$BIN" sleep 2 "$1" >"$DP_TMP/sleep.out" 2>&1 &
    local p=$!
    dp_wait_until 10 has_sleeper || fail "sleeping statement not seen"
    sql "KILL CONNECTION $(sql "SELECT id FROM information_schema.processlist
                                WHERE user = 'distpoll' AND info LIKE 'SELECT SLEEP%' LIMIT 1")"
    wait $p
    SLEEP_RC=$?
    SLEEP_OUT=$(cat "$DP_TMP/sleep.out")
}
has_sleeper() {
    [ -n "$(sql "SELECT id FROM information_schema.processlist WHERE user = 'distpoll'
                 AND info LIKE 'SELECT SLEEP%'")" ]
}
export DB_HOST=127.0.0.1 DB_PORT DB_DATABASE=distpoll DB_USERNAME=distpoll DB_PASSWORD=distpoll

# wrong password: category auth, text names authentication, password never echoed
out=$(DB_PASSWORD='Wr0ngPassw0rdXYZ' "$BIN" connect 2>&1) && fail "wrong password connected"
echo "wrong password: $out"
grep -q '^error: auth: authentication failed' <<<"$out" || fail "wrong password: $out"
grep -q 'Wr0ngPassw0rdXYZ' <<<"$out" && fail "password leaked: $out"
# unix socket path works too
out=$(DB_SOCKET="$DB_SOCK" "$BIN" connect 2>&1) || fail "socket connect: $out"
# a closed port is "unreachable"
out=$(DB_PORT=1 "$BIN" connect 2>&1) && fail "port 1 connected"
grep -q '^error: unreachable: ' <<<"$out" || fail "closed port: $out"

# a connection killed under a running idempotent statement: reconnect, re-prepare, retry once
kill_mid_statement idem
[ $SLEEP_RC = 0 ] || fail "idempotent statement not retried: $SLEEP_OUT"
[ "$SLEEP_OUT" = "ok reconnects=1 sleep=0" ] || fail "idempotent retry: $SLEEP_OUT"
# ... and under a non-idempotent one: the error says it was not retried
kill_mid_statement once
[ $SLEEP_RC = 1 ] || fail "non-idempotent statement succeeded after kill: $SLEEP_OUT"
grep -q 'error: db: connection lost; statement not retried' <<<"$SLEEP_OUT" ||
    fail "non-idempotent kill: $SLEEP_OUT"
echo "killed mid-statement: retried when idempotent, not otherwise ($SLEEP_OUT)"

"$BIN" loop --seconds 50 --interval-ms 100 >"$DP_TMP/loop.out" 2>&1 &
LOOP=$!
dp_register $LOOP "$DP_TMP/loop.out"
dp_wait_until 10 ok_after 0 0 5 || fail "loop never succeeded"

# 1. graceful restart
dp_stop "$DB_PID"
seq1=$(last_seq)
start_db
dp_wait_until 20 ok_after "$seq1" 1 || fail "no success after restart (seq > $seq1, reconnects >= 1)"
echo "recovered after SIGTERM restart (last seq before: $seq1)"

# 2. crash
kill -KILL "$DB_PID"
wait "$DB_PID" 2>/dev/null
seq2=$(last_seq)
start_db
dp_wait_until 30 ok_after "$seq2" 2 || fail "no success after kill -9 (seq > $seq2, reconnects >= 2)"
echo "recovered after kill -9 restart (last seq before: $seq2)"

kill -TERM $LOOP
wait $LOOP || fail "loop exited with status $?"
summary=$(grep '^summary' "$DP_TMP/loop.out") || fail "loop gave no summary"
echo "$summary"
echo "errors seen while the server was down:"
grep '^err' "$DP_TMP/loop.out" | sed 's/seq=[0-9]* //' | sort | uniq -c | head -n 10
if grep -Eq 'errno=(1243|2014) |out of sync|Unknown prepared' "$DP_TMP/loop.out"; then
    fail "stale statement errors surfaced"
fi
grep -q 'code=internal' "$DP_TMP/loop.out" && fail "read-back mismatch"
# every statement reported ok really is in the database, and no insert ran twice
dups=$(sql 'SELECT seq FROM dbtool_events GROUP BY seq HAVING COUNT(*) > 1')
[ -z "$dups" ] || fail "non-idempotent insert ran twice for seq: $dups"
for s in $(awk '$1 == "ok" { split($2, a, "="); print a[2] }' "$DP_TMP/loop.out"); do
    echo "$s"
done >"$DP_TMP/ok.seqs"
nok=$(wc -l <"$DP_TMP/ok.seqs")
have=$(sql "SELECT COUNT(*) FROM dbtool_loop WHERE seq IN ($(paste -sd, "$DP_TMP/ok.seqs"))")
[ "$have" = "$nok" ] || fail "$nok ok iterations but only $have rows in dbtool_loop"
echo "test_db_reconnect: ok ($nok ok iterations)"
