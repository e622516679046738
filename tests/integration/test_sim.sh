#!/usr/bin/env bash
# test_sim.sh - dpsim against net-snmp's own CLI tools: per-address devices, profile
# row counts, counters equal to `dpsim expect`, v1, faults (timeout, tooBig, malformed,
# reload on SIGHUP: timeout, port-vanish, reboot), stats on SIGUSR1, simload, SIGTERM.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
DPSIM=$B/dpsim

FAULTS=$DP_TMP/faults.txt
echo "# reloaded on SIGHUP" >"$FAULTS"
SIMARGS=(--seed 7 --profile "synthetic:ports=24,hc=1,speed=1G"
    --profile "127.0.9.0/24=snmprec:router" --snmprec-dir tests/data/snmprec)
dp_start_dpsim SIM 127.0.1.7 "${SIMARGS[@]}" --fault 127.0.5.0/24=timeout \
    --fault 127.0.6.1=toobig:10 --fault 127.0.7.1=malformed --fault 127.0.8.1=slow:1500ms \
    --fault-file "$FAULTS" || fail "dpsim did not answer"
PORT=$SIM_PORT SIMPID=$SIM_PID LOG=$SIM_LOG

SNMP=(-On -Oqv -t 1 -r 1)
get() { snmpget -v2c -c public "${SNMP[@]}" "$1:$PORT" "$2"; }
ok "dpsim answers on port $PORT"

# each address is a device
n7=$(get 127.0.1.7 1.3.6.1.2.1.1.5.0)
n8=$(get 127.0.1.8 1.3.6.1.2.1.1.5.0)
[ "$n7" = '"dev-127-0-1-7"' ] || fail "sysName of 127.0.1.7 is $n7"
[ "$n8" = '"dev-127-0-1-8"' ] || fail "sysName of 127.0.1.8 is $n8"
ok "sysName differs per address"

# the ifTable has the profile's 24 rows, and ifXTable HC columns exist
rows=$(snmpbulkwalk -v2c -c public -On -Cr25 "127.0.1.7:$PORT" 1.3.6.1.2.1.2.2.1.1 | grep -c INTEGER)
[ "$rows" = 24 ] || fail "ifIndex rows: $rows"
hc=$(snmpbulkwalk -v2c -c public -On "127.0.3.3:$PORT" 1.3.6.1.2.1.31.1.1.1.6 | grep -c Counter64)
[ "$hc" = 24 ] || fail "ifHCInOctets rows: $hc"
ok "ifTable and ifHCInOctets have 24 rows"

# counters equal dpsim expect's prediction at the time of the request
expect() { "$DPSIM" expect "${SIMARGS[@]}" --device "$1" --column "$2" --index "$3" "${@:4}"; }
for col in ifHCInOctets ifInOctets ifHCOutUcastPkts; do
    t0=$(date +%s%3N)
    case $col in
    ifHCInOctets) oid=1.3.6.1.2.1.31.1.1.1.6.5 ;;
    ifInOctets) oid=1.3.6.1.2.1.2.2.1.10.5 ;;
    ifHCOutUcastPkts) oid=1.3.6.1.2.1.31.1.1.1.11.5 ;;
    esac
    v=$(get 127.0.2.3 $oid)
    t1=$(date +%s%3N)
    e0=$(expect 127.0.2.3 $col 5 --at "$t0")
    e1=$(expect 127.0.2.3 $col 5 --at "$t1")
    rate=$(expect 127.0.2.3 $col 5 --rate)
    bits=64
    [ $col = ifInOctets ] && bits=32
    python3 - "$v" "$e0" "$e1" "$rate" "$t0" "$t1" "$bits" <<'PY' || fail "$col: got $v, expected $e0..$e1 (rate $rate)"
import sys
v, e0, e1, rate, t0, t1, bits = map(int, sys.argv[1:])
m = 1 << bits
span = (e1 - e0) % m
assert (v - e0) % m <= span, "value outside the window"
assert abs(span - rate * (t1 - t0) / 1000) <= rate + 1, "window does not match the rate"
assert rate > 0
PY
    ok "$col = $v within [$e0, $e1] (rate $rate/s)"
done

# v1 GET works
v1=$(snmpget -v1 -c public "${SNMP[@]}" "127.0.1.7:$PORT" 1.3.6.1.2.1.1.5.0) || fail "v1 get"
[ "$v1" = '"dev-127-0-1-7"' ] || fail "v1 sysName $v1"
ok "v1 GET"

# snmprec profile by prefix
rn=$(get 127.0.9.1 1.3.6.1.2.1.1.5.0)
[ "$rn" = '"rec-router"' ] || fail "snmprec sysName $rn"
rd=$(get 127.0.9.1 1.3.6.1.2.1.1.1.0)
[ "$rd" = '"Cisco IOS"' ] || fail "snmprec hex sysDescr $rd"
ok "snmprec profile on 127.0.9.0/24"

# timeout fault
out=$(snmpget -v2c -c public -On -t 0.5 -r 0 "127.0.5.1:$PORT" 1.3.6.1.2.1.1.5.0 2>&1) &&
    fail "timeout fault answered: $out"
echo "$out" | grep -qi timeout || fail "timeout fault: $out"
ok "timeout fault gives a timeout"

# tooBig fault: 3 columns x 25 > 10 varbinds
out=$(snmpbulkget -v2c -c public -On -Cr25 "127.0.6.1:$PORT" 1.3.6.1.2.1.31.1.1.1.6 \
    1.3.6.1.2.1.31.1.1.1.10 1.3.6.1.2.1.2.2.1.8 2>&1)
echo "$out" | grep -qi toobig || fail "tooBig fault: $out"
small=$(snmpbulkget -v2c -c public -On -Cr3 "127.0.6.1:$PORT" 1.3.6.1.2.1.31.1.1.1.6 | grep -c Counter64)
[ "$small" = 3 ] || fail "small bulk under the toobig limit: $small"
ok "tooBig fault above 10 varbinds"

# malformed reply: the client reports an error or times out; the simulator lives on
out=$(snmpget -v2c -c public -On -t 0.5 -r 0 "127.0.7.1:$PORT" 1.3.6.1.2.1.1.5.0 2>&1) &&
    fail "malformed reply was accepted: $out"
kill -0 $SIMPID || fail "dpsim died after a malformed reply"
[ "$(get 127.0.7.2 1.3.6.1.2.1.1.5.0)" = '"dev-127-0-7-2"' ] || fail "dpsim stopped answering"
ok "malformed reply rejected by snmpget, dpsim still serving"

# slow fault: too slow for a 0.5 s timeout, answered within 3 s after >= 1.5 s
snmpget -v2c -c public -On -t 0.5 -r 0 "127.0.8.1:$PORT" 1.3.6.1.2.1.1.5.0 >/dev/null 2>&1 &&
    fail "slow fault answered within 0.5 s"
s0=$(date +%s%3N)
sl=$(snmpget -v2c -c public -On -Oqv -t 3 -r 0 "127.0.8.1:$PORT" 1.3.6.1.2.1.1.5.0) ||
    fail "slow fault never answered"
el=$(($(date +%s%3N) - s0))
[ "$sl" = '"dev-127-0-8-1"' ] && [ $el -ge 1450 ] || fail "slow: $sl after $el ms"
ok "slow fault answers after $el ms"

# SIGHUP reloads the fault file: timeout, port-vanish, reboot
uptime() { snmpget -v2c -c public -On -Oqvt -t 1 -r 1 "$1:$PORT" 1.3.6.1.2.1.1.3.0; }
up_before=$(uptime 127.0.1.11)
printf '127.0.1.9=timeout\n127.0.1.10=port-vanish:3\n127.0.1.11=reboot\n' >"$FAULTS"
kill -HUP $SIMPID
times_out() { ! snmpget -v2c -c public -On -t 0.3 -r 0 "127.0.1.9:$PORT" 1.3.6.1.2.1.1.5.0; }
dp_wait_until 10 times_out || fail "reloaded timeout fault not applied"
rows=$(snmpbulkwalk -v2c -c public -On "127.0.1.10:$PORT" 1.3.6.1.2.1.2.2.1.1 | grep -c INTEGER)
[ "$rows" = 23 ] || fail "port-vanish: $rows rows"
snmpget -v2c -c public -On "127.0.1.10:$PORT" 1.3.6.1.2.1.2.2.1.1.3 | grep -q noSuchInstance ||
    snmpget -v2c -c public -On "127.0.1.10:$PORT" 1.3.6.1.2.1.2.2.1.1.3 | grep -qi "no such instance" ||
    fail "vanished port still answers"
up_after=$(uptime 127.0.1.11)
[ "$up_after" -lt 3000 ] && [ "$up_after" -lt "$up_before" ] ||
    fail "reboot: uptime $up_before -> $up_after"
grep -q 'msg="faults reloaded" rules=7' "$LOG" || fail "reload not logged"
ok "SIGHUP reload: timeout, port-vanish:3 (23 rows), reboot (uptime $up_before -> $up_after)"

# a bad fault file keeps the old rules
echo "127.0.1.9=explode" >"$FAULTS"
kill -HUP $SIMPID
dp_wait_until 10 grep -q "fault reload failed" "$LOG" || fail "bad fault file not reported"
times_out || fail "old rules dropped after a bad reload"
ok "bad reload keeps the old rules"

# load client
load=$(taskset -c 1 "$B/tests/simload" --port "$PORT" --base 127.1.0.1 --devices 500 \
    --inflight 16 --seconds 1) || fail "simload: $load"
echo "$load"
echo "$load" | grep -q ' errors=0 bad=0' || fail "simload saw errors"
ok "simload"

# stats on SIGUSR1, clean stop on SIGTERM
kill -USR1 $SIMPID
dp_wait_until 5 grep -q "msg=stats" "$LOG" || fail "no stats on SIGUSR1"
kill -TERM $SIMPID
wait $SIMPID
rc=$?
[ $rc = 0 ] || fail "dpsim exit code $rc"
grep -q "msg=stopped" "$LOG" || fail "no stop line"
grep "msg=stats" "$LOG" | tail -1
ok "SIGTERM: clean exit"

# --help documents the commands; bad usage exits 64
"$DPSIM" --help | grep -q "dpsim expect" || fail "--help"
"$DPSIM" --threads 0 >/dev/null 2>&1
[ $? = 64 ] || fail "bad usage exit code"
"$DPSIM" --port 0 --profile "synthetic:ports=x" >/dev/null 2>&1
[ $? = 78 ] || fail "bad profile exit code"
ok "usage"
echo "test_sim: all passed"
