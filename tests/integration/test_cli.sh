#!/usr/bin/env bash
# test_cli.sh - distpoll management commands against real MariaDB, Redis and snmpd: config
# errors name the problem (exit 78); db migrate; device add checks that the device answers SNMP
# (v2c and v3) and says why not (exit 69) unless --force; device list filters, show (ports with
# rates), set, rediscover, poll, remove --rrd; group add/list/remove; node list with the leader;
# bill add/list/show (95th percentile, overusage); a dead MariaDB is exit 69 naming it.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
DP=$B/distpoll

dp_start_mariadb DB || fail "mariadb did not start"
dp_start_redis REDIS || fail "redis did not start"
dp_start_snmpd SNMPD 127.0.0.1 || fail "snmpd did not start"
mariadb --no-defaults -S "$DB_SOCK" -uroot -e "ALTER USER 'distpoll'@'127.0.0.1' IDENTIFIED BY 's3cret-db-pass'"
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "$1"; }
SILENT=$(dp_free_port)
mkdir -p "$DP_TMP/ctl" "$DP_TMP/rrd"
env="$DP_TMP/distpoll.env"
dp_node_env "$env" "# a test node" NODE_ID=test-1 DB_PASSWORD=s3cret-db-pass \
    DP_CONTROL_DIR="$DP_TMP/ctl" DP_RRD_DIR="$DP_TMP/rrd" DP_SNMP_TIMEOUT=300ms DP_SNMP_RETRIES=1
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
expect_rc 64 run frobnicate
grep -q 'unknown command "frobnicate"' <<<"$out" || fail "unknown command: $out"

# --- secrets are masked
expect_rc 0 run config show
grep -q "s3cret-db-pass" <<<"$out" && fail "config show printed the DB password"
grep -q "0123456789abcdef" <<<"$out" && fail "config show printed APP_KEY"
grep -q "^NODE_ID=test-1" <<<"$out" || fail "config show lacks NODE_ID: $out"
expect_rc 0 run config show --json
jq -e '.DB_PASSWORD != "s3cret-db-pass"' <<<"$out" >/dev/null || fail "config show --json: $out"

# --- schema
expect_rc 0 run db migrate
grep -q "applied" <<<"$out" || fail "db migrate: $out"
expect_rc 0 run db migrate
grep -q "(0 migrations applied)" <<<"$out" || fail "second migrate applied something: $out"
echo "ok: config and schema"

# --- device add checks the device answers, and says why not
expect_rc 69 run device add sw1.example.net --address 127.0.0.2 --port "$SILENT" --community public
grep -q "no answer from 127.0.0.2:$SILENT with v2c community 'public' (timeout 0.3s x 1 retries)" <<<"$out" ||
    fail "silent device: $out"
grep -q -- "--force" <<<"$out" || fail "silent device: --force not suggested: $out"
[ "$(sql "SELECT COUNT(*) FROM devices")" = 0 ] || fail "a silent device was added"
expect_rc 0 run device add sw1.example.net --address 127.0.0.2 --port "$SILENT" --community public --group 2 --force
grep -q "without checking" <<<"$out" || fail "--force: $out"
expect_rc 1 run device add sw1.example.net --force
grep -q "already exists" <<<"$out" || fail "duplicate add: $out"
expect_rc 0 run device add sw1.example.net --if-missing
expect_rc 64 run device add sw2 --port 70000
grep -q -- "--port \"70000\": expected a number 1..65535" <<<"$out" || fail "bad port not named: $out"
expect_rc 64 run device add sw2 --version 4
grep -q -- "--version \"4\": expected 1, 2c or 3" <<<"$out" || fail "bad version: $out"
expect_rc 64 run device add 'bad/host'
grep -q 'HOST "bad/host": expected' <<<"$out" || fail "bad host: $out"
expect_rc 64 run device add sw3 --version 3
grep -q -- "--version 3 needs --auth-user" <<<"$out" || fail "v3 without user: $out"
# a real agent: v2c, a wrong community (snmpd stays silent), v3 authPriv, a wrong v3 password
expect_rc 0 run device add agent-v2 --address 127.0.0.1 --port "$SNMPD_PORT" --community public --version 2c
grep -q "sysName SNMPD" <<<"$out" || fail "agent-v2: sysName not read: $out"
expect_rc 69 run device add agent-bad --address 127.0.0.1 --port "$SNMPD_PORT" --community wrong
grep -q "community 'wrong'" <<<"$out" || fail "wrong community: $out"
expect_rc 0 run device add agent-v3 --address 127.0.0.1 --port "$SNMPD_PORT" --version 3 \
    --auth-user "$SNMPD_V3_USER" --auth-proto SHA-256 --auth-pass "$SNMPD_V3_AUTH" \
    --priv-proto AES --priv-pass "$SNMPD_V3_PRIV"
grep -q "sysName SNMPD" <<<"$out" || fail "agent-v3: $out"
expect_rc 69 run device add agent-v3bad --address 127.0.0.1 --port "$SNMPD_PORT" --version 3 \
    --auth-user "$SNMPD_V3_USER" --auth-proto SHA-256 --auth-pass wrong-password-here \
    --priv-proto AES --priv-pass "$SNMPD_V3_PRIV"
grep -q "as SNMPv3 user '$SNMPD_V3_USER' (SHA-256/AES)" <<<"$out" || fail "v3 wrong password: $out"
grep -qi "authentication\|no answer" <<<"$out" || fail "v3 wrong password, no reason: $out"
expect_rc 64 run device add agent-v3x --version 3 --auth-user u --auth-proto SHA-999 --auth-pass 12345678
grep -q -- '--auth-proto "SHA-999": expected' <<<"$out" || fail "bad auth proto: $out"
sql "SELECT authlevel, authalgo, cryptoalgo FROM devices WHERE hostname='agent-v3'" | grep -q "authPriv.SHA-256.AES" ||
    fail "v3 columns: $(sql "SELECT * FROM devices WHERE hostname='agent-v3'")"
echo "ok: device add checks SNMP v2c/v3 and explains failures"

# --- groups
expect_rc 0 run group add core --descr "core switches"
expect_rc 1 run group add core
grep -q "already exists" <<<"$out" || fail "duplicate group: $out"
expect_rc 64 run group add 42
CORE=$(sql "SELECT id FROM poller_groups WHERE group_name='core'")
expect_rc 0 run device add sw2.example.net --version 1 --community private --group core --force
expect_rc 64 run device add sw4 --group nosuch --force
grep -q -- '--group "nosuch": expected a group number or the name of a poller group' <<<"$out" || fail "bad group: $out"

# --- list, filters, json
expect_rc 0 run device list
[ "$(grep -c example.net <<<"$out")" -eq 2 ] || fail "device list: $out"
expect_rc 0 run device list --json
grep -q '"hostname":"sw1.example.net","address":"127.0.0.2","port":'"$SILENT"',"snmpver":"v2c","poller_group":2' <<<"$out" ||
    fail "device list --json: $out"
[ "$(jq -s length <<<"$out")" = 4 ] || fail "device list --json is not 4 objects: $out"
expect_rc 0 run device list --group "$CORE" --json
[ "$(jq -r .hostname <<<"$out")" = sw2.example.net ] || fail "list --group: $out"
expect_rc 0 run device list --host 'agent-*' --json
[ "$(jq -r .hostname <<<"$out" | tr '\n' ' ')" = "agent-v2 agent-v3 " ] || fail "list --host: $out"
sql "UPDATE devices SET status = 1 WHERE hostname = 'agent-v2'"
expect_rc 0 run device list --status up --json
[ "$(jq -r .hostname <<<"$out")" = agent-v2 ] || fail "list --status up: $out"
expect_rc 64 run device list --status sideways
grep -q -- '--status "sideways": expected up, down or disabled' <<<"$out" || fail "bad status: $out"

# --- set
expect_rc 0 run device set sw1.example.net --group core --community n3w-secret --disable
grep -q "poller_group = $CORE" <<<"$out" || fail "set group: $out"
grep -q "n3w-secret" <<<"$out" && fail "set printed the community"
[ "$(sql "SELECT poller_group, community, disabled FROM devices WHERE hostname='sw1.example.net'" | tr '\t' ' ')" = "$CORE n3w-secret 1" ] ||
    fail "set did not store"
expect_rc 0 run device list --status disabled --json
[ "$(jq -r .hostname <<<"$out")" = sw1.example.net ] || fail "list --status disabled: $out"
expect_rc 64 run device set sw1.example.net
grep -q "nothing to change" <<<"$out" || fail "empty set: $out"
expect_rc 1 run device set nosuch --group 0
grep -q "device nosuch not found" <<<"$out" || fail "set unknown: $out"
echo "ok: groups, list filters, set"

# --- show: status, last poll and discovery, ports with rates
ID=$(sql "SELECT device_id FROM devices WHERE hostname='agent-v2'")
sql "UPDATE devices SET last_polled = NOW(3) - INTERVAL 42 SECOND, last_polled_timetaken = 1.25,
       last_discovered = NOW(3) - INTERVAL 2 HOUR, last_discovered_timetaken = 7.5, os = 'linux' WHERE device_id = $ID;
     INSERT INTO ports (device_id, ifIndex, ifName, ifOperStatus, ifSpeed, ifInOctets_rate, ifOutOctets_rate, ifInErrors_rate)
       VALUES ($ID, 1, 'eth0', 'up', 1000000000, 200000, 12500, 0.5), ($ID, 2, 'eth1', 'down', 100000000, 0, 0, 0)"
expect_rc 0 run device show agent-v2
for want in "device      agent-v2 (device_id $ID)" "status      up" "took 1.250 s" "took 7.500 s" \
    "eth0" "1.00 Gbps" "1.60 Mbps" "100.00 kbps" "eth1"; do
    grep -qF "$want" <<<"$out" || fail "device show lacks '$want': $out"
done
grep -Eq "last poll .*\(4[0-9]s ago\)" <<<"$out" || fail "device show: last poll age: $out"
grep -q public <<<"$out" && fail "device show printed the community"
expect_rc 0 run device show agent-v2 --json
jq -e '.hostname == "agent-v2" and .status == 1 and (.ports | length) == 2 and .ports[0].in_bps == 1600000 and .ports[0].ifName == "eth0" and .last_polled_timetaken == 1.25' <<<"$out" >/dev/null ||
    fail "device show --json: $out"
expect_rc 1 run device show nosuch
grep -q "device nosuch not found" <<<"$out" || fail "show unknown: $out"

# --- rediscover and poll (no daemons on this node, then a stand-in answering the control socket)
expect_rc 0 run device rediscover agent-v2
grep -q "marked for discovery" <<<"$out" || fail "rediscover: $out"
grep -q "scheduler on this node not told (not running on this node" <<<"$out" || fail "rediscover without scheduler: $out"
[ "$(sql "SELECT last_discovered IS NULL FROM devices WHERE device_id = $ID")" = 1 ] || fail "rediscover did not clear last_discovered"
expect_rc 69 run device poll agent-v2
grep -q "no poller reachable on this node" <<<"$out" || fail "poll without poller: $out"
"$B/tests/testdaemon" run --name scheduler --node test-1 --ctl "ipc://$DP_TMP/ctl/scheduler-test-1.ctl" >"$DP_TMP/sched.log" 2>&1 &
dp_register $! "$DP_TMP/sched.log"
dp_wait_until 10 run ctl scheduler PING || fail "stand-in scheduler did not start"
expect_rc 0 run device rediscover agent-v2
grep -q "^scheduler: " <<<"$out" || fail "rediscover did not reach the scheduler: $out"
grep -q "control_requests: [1-9]" <<<"$(run ctl scheduler STATS)" || fail "scheduler got no request"
# the real poller polls the agent now and answers with what it collected
env -i PATH="$PATH" "$B/poller" --env-file "$env" >"$DP_TMP/poller.log" 2>&1 &
dp_register $! "$DP_TMP/poller.log"
dp_wait_until 10 run ctl poller PING || fail "poller did not start"
expect_rc 0 run device poll agent-v2
for want in "hostname: agent-v2" "status: up" "sysName: SNMPD" "port ifIndex=1 "; do
    grep -qF "$want" <<<"$out" || fail "device poll lacks '$want': $out"
done
expect_rc 1 run device poll sw2.example.net   # does not answer: the poller's reason, exit 1
grep -q "^status: down" <<<"$out" && grep -q "^reason: " <<<"$out" || fail "device poll of a silent device: $out"
echo "ok: show, rediscover, poll"

# --- node list with the leader from Redis
sql "INSERT INTO nodes (node_id, poller_name, poller_groups, last_report) VALUES
       ('node-a', 'host-a', '0,$CORE', NOW(3)), ('node-b', 'host-b', NULL, NOW(3) - INTERVAL 5 MINUTE);
     INSERT INTO node_stats (node_id, stage, workers, last_report) VALUES
       ('node-a', 'scheduler', 1, NOW(3)), ('node-a', 'poller', 8, NOW(3)), ('node-b', 'scheduler', 1, NOW(3))"
redis-cli -p "$REDIS_PORT" SET dp:leader:scheduler "node-a-0123456789abcdef0123456789abcdef01234567" >/dev/null
expect_rc 0 run node list
grep -Eq "^node-a +host-a +0,$CORE +poller,scheduler .* yes$" <<<"$out" || fail "node list node-a: $out"
grep -Eq "^node-b +host-b +0 +scheduler +5m0[0-9]s ago +no$" <<<"$out" || fail "node list node-b: $out"
expect_rc 0 run node list --json
jq -se '.[0].node_id == "node-a" and .[0].leader == true and .[0].groups == [0,'"$CORE"'] and .[1].leader == false and .[0].stages == ["poller","scheduler"]' <<<"$out" >/dev/null ||
    fail "node list --json: $out"
expect_rc 0 run group list
grep -Eq "^$CORE +core +2 +node-a +core switches" <<<"$out" || fail "group list: $out"
expect_rc 0 run group list --json
jq -se 'map(select(.name == "core"))[0].nodes == ["node-a"]' <<<"$out" >/dev/null || fail "group list --json: $out"
expect_rc 1 run group remove core
grep -q "still has 2 devices" <<<"$out" || fail "group remove with devices: $out"
echo "ok: node list, group list"

# --- bills: add by HOST:IFNAME, list, show with the 95th percentile and overusage
expect_rc 1 run bill add cust1 --cdr 5k --port agent-v2:eth9
grep -q 'no port eth9 on device agent-v2' <<<"$out" || fail "bill add bad port: $out"
expect_rc 64 run bill add cust1 --cdr lots
grep -q -- '--cdr "lots": expected a rate in bit/s' <<<"$out" || fail "bill add bad cdr: $out"
DAY=$(date -u -d '-2 days' +%-d)
expect_rc 0 run bill add cust1 --cdr 5k --day "$DAY" --port agent-v2:eth0 --port agent-v2:eth1
grep -q "added bill cust1 (bill_id 1, cdr, 2 ports)" <<<"$out" || fail "bill add: $out"
[ "$(sql "SELECT COUNT(*) FROM bill_ports WHERE bill_id = 1")" = 2 ] || fail "bill_ports"
# 100 samples, 300 s each, in rates 100..10000 bit/s: LibreNMS's 95th is the 94th value, 9400
sql "INSERT INTO bill_data (bill_id, timestamp, period, delta, in_delta, out_delta)
     SELECT 1, FROM_UNIXTIME((UNIX_TIMESTAMP() DIV 300 - seq) * 300), 300, seq * 3750, seq * 3750, 0 FROM seq_1_to_100"
expect_rc 0 run bill list
grep -Eq "^1 +cust1 +cdr +5.00 kbps +$DAY +2 " <<<"$out" || fail "bill list: $out"
expect_rc 0 run bill show cust1
grep -q "95th        9.40 kbps (in;" <<<"$out" || fail "bill show 95th: $out"
grep -q "overusage   4.40 kbps" <<<"$out" || fail "bill show overusage: $out"
grep -q "(188.00%)" <<<"$out" || fail "bill show percent: $out"
expect_rc 0 run bill show 1 --json
jq -e '.rate_95th == 9400 and .overuse == 4400 and .samples == 100 and .total_in == 18937500' <<<"$out" >/dev/null ||
    fail "bill show --json: $out"
expect_rc 1 run bill show nosuch
echo "ok: bill add/list/show"

# --- remove, with the RRD folder when asked
mkdir -p "$DP_TMP/rrd/agent-v2" && touch "$DP_TMP/rrd/agent-v2/port-id1.rrd"
expect_rc 0 run device remove agent-v2 --rrd
grep -q "removed RRD folder $DP_TMP/rrd/agent-v2" <<<"$out" || fail "remove --rrd: $out"
[ -e "$DP_TMP/rrd/agent-v2" ] && fail "RRD folder still there"
[ "$(sql "SELECT COUNT(*) FROM ports WHERE device_id = $ID")" = 0 ] || fail "ports left"
[ "$(sql "SELECT COUNT(*) FROM bill_ports")" = 0 ] || fail "bill_ports left"
expect_rc 1 run device remove agent-v2
expect_rc 0 run device list --json
[ "$(grep -c hostname <<<"$out")" -eq 3 ] || fail "remove left: $out"
expect_rc 0 run device remove sw2.example.net
expect_rc 0 run device set sw1.example.net --group 0
expect_rc 0 run group remove core
grep -q "removed group core" <<<"$out" || fail "group remove: $out"
expect_rc 1 run group remove core

# --- a dead server is reported as unreachable (69), naming MariaDB
dp_stop "$DB_PID"
expect_rc 69 run device list
grep -qi "mariadb" <<<"$out" || fail "unreachable DB not named: $out"
expect_rc 69 run node list
echo "cli ok"
