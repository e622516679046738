#!/usr/bin/env bash
# test_cli.sh - the distpoll command against a real MariaDB: config errors name the problem
# (bad line, unknown key, missing NODE_ID) with exit code 78; db migrate; device add/list/remove.
set -u
source tests/lib/servers.sh
dp_harness_init
DP=${BUILD:-build}/distpoll
fail() { echo "FAIL: $*"; DP_TEST_FAILED=1; exit 1; }
expect_rc() { # RC CMD... : runs CMD, checks its exit code, leaves output in $out
    local want=$1; shift
    out=$("$@" 2>&1); local rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want from '$*', got $rc: $out"
}

dp_start_mariadb DB || fail "mariadb did not start"
mariadb --no-defaults -S "$DB_SOCK" -uroot -e "ALTER USER 'distpoll'@'127.0.0.1' IDENTIFIED BY 's3cret-db-pass'"
env="$DP_TMP/distpoll.env"
cat >"$env" <<ENV
# a test node
NODE_ID=test-1
APP_KEY=base64:0123456789abcdefghijklmnopqrstuv
DB_HOST=127.0.0.1
DB_PORT=$DB_PORT
DB_DATABASE=distpoll
DB_USERNAME=distpoll
DB_PASSWORD=s3cret-db-pass
ENV
# Start from a clean environment so the caller's variables cannot leak in.
run() { env -i PATH="$PATH" "$DP" --env-file "$env" "$@"; }

# --- configuration errors name the file, line, key and what was expected
bad="$DP_TMP/bad.env"
printf 'NODE_ID=n1\nDP_WORKERS=abc\n' >"$bad"
expect_rc 78 env -i PATH="$PATH" "$DP" --env-file "$bad" config show
grep -q "bad.env:2" <<<"$out" || fail "bad value: no file:line in: $out"
grep -q "DP_WORKERS" <<<"$out" || fail "bad value: key not named: $out"
printf 'NODE_ID=n1\nNO_SUCH_KEY=1\n' >"$bad"
expect_rc 78 env -i PATH="$PATH" "$DP" --env-file "$bad" config show
grep -q "NO_SUCH_KEY" <<<"$out" || fail "unknown key not named: $out"
printf 'NODE_ID=n1\nthis line has no equals sign\n' >"$bad"
expect_rc 78 env -i PATH="$PATH" "$DP" --env-file "$bad" config show
grep -q "bad.env:2" <<<"$out" || fail "malformed line not located: $out"
printf 'APP_KEY=base64:0123456789abcdefghijklmnop\n' >"$bad"
expect_rc 78 env -i PATH="$PATH" "$DP" --env-file "$bad" config check
grep -q "NODE_ID" <<<"$out" || fail "missing NODE_ID not named: $out"
expect_rc 78 env -i PATH="$PATH" "$DP" --env-file "$DP_TMP/missing.env" config show

# --- secrets are masked
expect_rc 0 run config show
grep -q "s3cret-db-pass" <<<"$out" && fail "config show printed the DB password"
grep -q "0123456789abcdef" <<<"$out" && fail "config show printed APP_KEY"
grep -q "^NODE_ID=test-1" <<<"$out" || fail "config show lacks NODE_ID: $out"

# --- schema
expect_rc 0 run db migrate
grep -q "applied" <<<"$out" || fail "db migrate: $out"
expect_rc 0 run db migrate
grep -q "(0 migrations applied)" <<<"$out" || fail "second migrate applied something: $out"

# --- devices
expect_rc 0 run device add sw1.example.net --address 127.0.0.2 --community public --group 2
expect_rc 1 run device add sw1.example.net
grep -q "already exists" <<<"$out" || fail "duplicate add: $out"
expect_rc 0 run device add sw1.example.net --if-missing
expect_rc 64 run device add sw2 --port 70000
grep -q -- "--port" <<<"$out" || fail "bad port not named: $out"
expect_rc 64 run device add sw2 --version 4
expect_rc 64 run device add 'bad/host'
expect_rc 0 run device add sw2.example.net --version 1 --community private
expect_rc 0 run device list
[ "$(grep -c example.net <<<"$out")" -eq 2 ] || fail "device list: $out"
expect_rc 0 run device list --json
grep -q '"hostname":"sw1.example.net","address":"127.0.0.2","port":161,"snmpver":"v2c","poller_group":2' <<<"$out" ||
    fail "device list --json: $out"
expect_rc 0 run device remove sw2.example.net
expect_rc 1 run device remove sw2.example.net
expect_rc 0 run device list --json
[ "$(grep -c hostname <<<"$out")" -eq 1 ] || fail "remove left: $out"

# --- a dead server is reported as unreachable (69), naming MariaDB
dp_stop "$DB_PID"
expect_rc 69 run device list
grep -qi "mariadb" <<<"$out" || fail "unreachable DB not named: $out"
echo "cli ok"
