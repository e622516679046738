#!/usr/bin/env bash
# test_db_epoch.sh - fencing epochs and cluster settings in MariaDB: bumps only grow,
# an old epoch is refused as stale (and a fenced SQL write changes nothing), settings are
# validated, a node's poller_groups overrides the global list, and no groups at all means
# the node serves default_poller_group.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
BIN=$B/tests/dbtool
dp_start_mariadb DB || exit 1

sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot -N -B distpoll -e "$1"; }
export DB_SOCKET="$DB_SOCK" DB_DATABASE=distpoll DB_USERNAME=distpoll DB_PASSWORD=distpoll
"$BIN" migrate >/dev/null || fail "migrate"

# epochs
[ "$("$BIN" epoch-current scheduler)" = 0 ] || fail "epoch before any bump is not 0"
e1=$("$BIN" epoch-bump scheduler node-a) || fail "bump 1: $e1"
e2=$("$BIN" epoch-bump scheduler node-b) || fail "bump 2: $e2"
echo "epochs: $e1 -> $e2"
[ "$e1" -ge 1 ] && [ "$e2" -gt "$e1" ] || fail "epochs do not increase: $e1 then $e2"
[ "$("$BIN" epoch-current scheduler)" = "$e2" ] || fail "current is not the last bump"
[ "$(sql "SELECT holder FROM leadership WHERE name='scheduler'")" = node-b ] || fail "holder"
[ "$("$BIN" epoch-bump biller node-a)" = 1 ] || fail "roles do not have separate epochs"
out=$("$BIN" epoch-check scheduler "$e2") || fail "current epoch refused: $out"
out=$("$BIN" epoch-check scheduler "$e1" 2>&1)
rc=$?
echo "old epoch: rc=$rc $out"
[ $rc = 3 ] || fail "stale epoch check exit $rc, want 3: $out"
grep -q "^error: stale: epoch $e1 of 'scheduler' is stale" <<<"$out" || fail "stale text: $out"
# concurrent bumps never hand out the same epoch
pids=()
for i in 1 2 3 4 5 6; do
    "$BIN" epoch-bump race "n$i" >"$DP_TMP/race.$i" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "concurrent bump failed: $(cat "$DP_TMP"/race.*)"; done
got=$(cat "$DP_TMP"/race.* | sort -n | paste -sd,)
[ "$got" = "1,2,3,4,5,6" ] || fail "concurrent bumps gave $got"
# a write fenced in SQL changes nothing for a stale epoch
"$BIN" settings-set default_poller_group 0 || fail "set default_poller_group"
[ "$("$BIN" fenced-write scheduler "$e2")" = "affected=1" ] || fail "current fenced write refused"
[ "$("$BIN" fenced-write scheduler "$e1")" = "affected=0" ] || fail "stale fenced write applied"

# settings: defaults, global list, node override, default group fallback
out=$("$BIN" settings-load node-a) || fail "load: $out"
[ "$out" = "distributed_poller=0 groups=0 default_poller_group=0 distributed_billing=0" ] ||
    fail "defaults: $out"
"$BIN" settings-set distributed_poller yes || fail "set distributed_poller"
"$BIN" settings-set distributed_poller_group " 1, 2,3" || fail "set groups"
[ "$(sql "SELECT value FROM settings WHERE name='distributed_poller_group'")" = "1,2,3" ] ||
    fail "groups not stored normalised"
[ "$(sql "SELECT value FROM settings WHERE name='distributed_poller'")" = true ] ||
    fail "bool not stored normalised"
out=$("$BIN" settings-load node-a)
[ "$out" = "distributed_poller=1 groups=1,2,3 default_poller_group=0 distributed_billing=0" ] ||
    fail "global groups: $out"
"$BIN" node-groups node-a 2 || fail "node override"
out=$("$BIN" settings-load node-a)
echo "node-a with override: $out"
[ "$out" = "distributed_poller=1 groups=2 default_poller_group=0 distributed_billing=0" ] ||
    fail "override: $out"
out=$("$BIN" settings-load node-b)
[ "$out" = "distributed_poller=1 groups=1,2,3 default_poller_group=0 distributed_billing=0" ] ||
    fail "node without override: $out"
"$BIN" node-groups node-a || fail "clear override"
"$BIN" settings-set distributed_poller_group "" || fail "clear groups"
"$BIN" settings-set default_poller_group 7 || fail "set default group"
"$BIN" settings-set distributed_billing on || fail "set billing"
out=$("$BIN" settings-load node-a)
[ "$out" = "distributed_poller=1 groups=7 default_poller_group=7 distributed_billing=1" ] ||
    fail "fallback to default group: $out"

# bad values are refused with the setting, the value and the expectation
out=$("$BIN" settings-set distributed_poller_group "1,x" 2>&1) && fail "1,x accepted"
echo "bad value: $out"
[ "$out" = 'error: config: settings.distributed_poller_group="1,x": expected comma-separated group numbers' ] ||
    fail "bad groups message: $out"
out=$("$BIN" settings-set distributed_poller maybe 2>&1) && fail "maybe accepted"
grep -q 'settings.distributed_poller="maybe": expected true or false' <<<"$out" || fail "$out"
out=$("$BIN" settings-set distributed_polle 1 2>&1) && fail "unknown name accepted"
grep -q 'unknown setting "distributed_polle"' <<<"$out" || fail "$out"
out=$("$BIN" node-groups node-a "2;3" 2>&1) && fail "bad override accepted"
grep -q 'nodes\[node-a\].poller_groups="2;3": expected comma-separated' <<<"$out" || fail "$out"
# a bad value written behind our back is reported on load, not silently used
sql "UPDATE nodes SET poller_groups='4,four' WHERE node_id='node-a'"
out=$("$BIN" settings-load node-a 2>&1) && fail "bad stored override loaded"
grep -q 'nodes\[node-a\].poller_groups="4,four"' <<<"$out" || fail "stored override: $out"

# node registration
"$BIN" node-report node-a host-a poller 1 || fail "node-report"
"$BIN" node-report node-a host-a rrdwriter || fail "node-report 2"
row=$(sql "SELECT poller_name, master, last_report IS NOT NULL FROM nodes WHERE node_id='node-a'")
[ "$row" = "$(printf 'host-a\t1\t1')" ] || fail "nodes row: $row"
[ "$(sql "SELECT COUNT(*) FROM node_stats WHERE node_id='node-a'")" = 2 ] || fail "node_stats"
echo "test_db_epoch: ok"
