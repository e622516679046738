#!/usr/bin/env bash
# test_sim_v3.sh - dpsim's SNMPv3 (USM) against net-snmp's own CLI tools: authPriv
# (SHA/AES, SHA-256/AES, MD5/DES), authNoPriv (SHA-256), noAuthNoPriv; each device is
# its own engine (80001f8801 + address); bulkwalk rows and values equal v2c's; wrong
# auth passphrase, unknown user, wrong level and wrong engine id give the matching
# net-snmp errors; a wrong privacy passphrase gets no answer (like snmpd) and is
# counted; faults apply to v3; usm counters in the stats; bad --v3-user exits 78.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
DPSIM=$B/dpsim

dp_start_dpsim SIM 127.0.1.7 --seed 7 --profile "synthetic:ports=24,hc=1" \
    --v3-user alice:SHA:alicepass1:AES:alicepriv1 \
    --v3-user carol:SHA-256:carolpass1:AES:carolpriv1 \
    --v3-user dora:MD5:dorapass12:DES:dorapriv12 \
    --v3-user bob:SHA-256:bobpass123 \
    --v3-user nobody \
    --fault 127.0.5.0/24=timeout --fault 127.0.8.1=slow:1200ms || fail "dpsim did not answer"
PORT=$SIM_PORT SIMPID=$SIM_PID LOG=$SIM_LOG

ALICE=(-v3 -l authPriv -u alice -a SHA -A alicepass1 -x AES -X alicepriv1)
CAROL=(-v3 -l authPriv -u carol -a SHA-256 -A carolpass1 -x AES -X carolpriv1)
DORA=(-v3 -l authPriv -u dora -a MD5 -A dorapass12 -x DES -X dorapriv12)
BOB=(-v3 -l authNoPriv -u bob -a SHA-256 -A bobpass123)
NOBODY=(-v3 -l noAuthNoPriv -u nobody)
SNMP=(-On -Oqv -t 1 -r 1)
SYSNAME=1.3.6.1.2.1.1.5.0
v3get() { local dev=$1; shift; snmpget "${SNMP[@]}" "$@" "$dev:$PORT" $SYSNAME; }
dp_wait_until 10 v3get 127.0.1.7 "${ALICE[@]}" || fail "dpsim did not answer v3"
ok "dpsim answers v3 on port $PORT"

# every security level and protocol pair
for who in ALICE CAROL DORA BOB NOBODY; do
    declare -n creds=$who
    n=$(v3get 127.0.1.7 "${creds[@]}") || fail "$who: $n"
    [ "$n" = '"dev-127-0-1-7"' ] || fail "$who: sysName $n"
done
ok "authPriv SHA/AES, SHA-256/AES, MD5/DES; authNoPriv SHA-256; noAuthNoPriv"

# each device is its own engine: a known engine id works there and nowhere else
n=$(v3get 127.0.1.7 "${CAROL[@]}" -e 80001f88017f000107) || fail "own engine id: $n"
[ "$n" = '"dev-127-0-1-7"' ] || fail "own engine id: $n"
# (127.0.1.8 reports usmStatsUnknownEngineIDs under its own id, which snmpget ignores)
out=$(snmpget -On -t 0.5 -r 0 "${CAROL[@]}" -e 80001f88017f000107 "127.0.1.8:$PORT" $SYSNAME 2>&1) &&
    fail "foreign engine id accepted: $out"
ok "per-device engine ids"

# walks: the same rows and values as v2c
v3rows=$(snmpbulkwalk "${ALICE[@]}" -On -Cr25 "127.0.1.7:$PORT" 1.3.6.1.2.1.2.2.1.2)
v2rows=$(snmpbulkwalk -v2c -c public -On -Cr25 "127.0.1.7:$PORT" 1.3.6.1.2.1.2.2.1.2)
[ "$(echo "$v3rows" | grep -c STRING)" = 24 ] || fail "v3 ifDescr rows: $v3rows"
[ "$v3rows" = "$v2rows" ] || fail "v3 and v2c walks differ"
hc=$(snmpbulkwalk "${DORA[@]}" -On "127.0.2.3:$PORT" 1.3.6.1.2.1.31.1.1.1.6 | grep -c Counter64)
[ "$hc" = 24 ] || fail "ifHCInOctets rows over MD5/DES: $hc"
ok "bulkwalks: 24 ifDescr rows equal to v2c, 24 HC counters"

# failures
out=$(v3get 127.0.1.7 -v3 -l authNoPriv -u bob -a SHA-256 -A wrongpass12 2>&1) &&
    fail "wrong auth passphrase accepted: $out"
echo "$out" | grep -qi "authentication failure" || fail "wrong auth passphrase: $out"
out=$(v3get 127.0.1.7 -v3 -l authNoPriv -u mallory -a SHA -A mallorypass 2>&1) &&
    fail "unknown user accepted: $out"
echo "$out" | grep -qi "unknown user" || fail "unknown user: $out"
out=$(v3get 127.0.1.7 -v3 -l authPriv -u bob -a SHA-256 -A bobpass123 -x AES -X bobpass123 2>&1) &&
    fail "unsupported level accepted: $out"
echo "$out" | grep -qi "unsupported security level" || fail "unsupported level: $out"
out=$(v3get 127.0.1.7 -v3 -l authNoPriv -u alice -a SHA -A alicepass1 2>&1) &&
    fail "level below alice's accepted: $out"
echo "$out" | grep -qi "authorizationError" || fail "below the user's level: $out"
out=$(snmpget -On -t 0.5 -r 0 "${ALICE[@]:0:11}" -X wrongpriv99 "127.0.1.7:$PORT" $SYSNAME 2>&1) &&
    fail "wrong privacy passphrase answered: $out"
echo "$out" | grep -qi timeout || fail "wrong privacy passphrase: $out"
kill -0 $SIMPID || fail "dpsim died"
ok "wrong auth (authentication failure), unknown user, unsupported level, authorizationError, wrong priv (no answer)"

# faults apply to v3
out=$(snmpget -On -t 0.5 -r 0 "${CAROL[@]}" "127.0.5.1:$PORT" $SYSNAME 2>&1) &&
    fail "timeout fault answered v3: $out"
s0=$(date +%s%3N)
n=$(snmpget "${SNMP[@]}" -t 4 -r 0 "${CAROL[@]}" "127.0.8.1:$PORT" $SYSNAME) || fail "slow v3: $n"
el=$(($(date +%s%3N) - s0))
[ "$n" = '"dev-127-0-8-1"' ] && [ $el -ge 1150 ] || fail "slow v3: $n after $el ms"
ok "timeout and slow faults apply to v3 ($el ms)"

# v2c still served beside v3
n=$(snmpget -v2c -c public "${SNMP[@]}" "127.0.1.9:$PORT" $SYSNAME) || fail "v2c: $n"
[ "$n" = '"dev-127-0-1-9"' ] || fail "v2c sysName $n"
ok "v2c beside v3"

# usm counters in the stats; clean stop
kill -USR1 $SIMPID
dp_wait_until 5 grep -q "msg=stats" "$LOG" || fail "no stats on SIGUSR1"
st=$(grep "msg=stats" "$LOG" | tail -1)
echo "$st"
val() { echo "$st" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(val usm_unknown_engine)" -ge 10 ] || fail "usm_unknown_engine: $st"
[ "$(val usm_wrong_digest)" -ge 1 ] || fail "usm_wrong_digest: $st"
[ "$(val usm_unknown_user)" -ge 1 ] || fail "usm_unknown_user: $st"
[ "$(val usm_unsupported_level)" -ge 1 ] || fail "usm_unsupported_level: $st"
[ "$(val usm_decrypt)" -ge 1 ] || fail "usm_decrypt: $st"
[ "$(val drop_usm)" -ge 1 ] || fail "drop_usm: $st"
[ "$(val reports)" -ge 14 ] || fail "reports: $st"
[ "$(val drop_parse)" = 0 ] || fail "drop_parse: $st"
kill -TERM $SIMPID
wait $SIMPID
rc=$?
[ $rc = 0 ] || fail "dpsim exit code $rc"
ok "usm counters counted; SIGTERM: clean exit"

# configuration errors
"$DPSIM" --port 0 --v3-user "x:SHA:short" >/dev/null 2>&1
[ $? = 78 ] || fail "short passphrase exit code"
"$DPSIM" --port 0 --v3-user "x:SHA:12345678:RC4:12345678" >/dev/null 2>&1
[ $? = 78 ] || fail "unknown privacy protocol exit code"
"$DPSIM" --port 0 --v3-user "x" --v3-engine-id 80zz >/dev/null 2>&1
[ $? = 78 ] || fail "bad engine id exit code"
"$DPSIM" --help | grep -q -- "--v3-user" || fail "--help lacks --v3-user"
ok "bad v3 configuration exits 78"
echo "test_sim_v3: all passed"
