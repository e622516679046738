#!/usr/bin/env bash
# test_rrd_defs.sh - rrdwriter_def against real rrdtool: files created from our
# create args have LibreNMS's step/heartbeat/min/max/RRAs, our formatted updates are
# accepted and give the expected DERIVE rates (also for 64-bit counters above 2^63),
# the "small" RRA set stays small, hostile hostnames stay inside the RRD dir, and
# invalid updates (wrong value count, non-integer counter) are refused before rrdtool.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init

RRDDEF=$B/tests/rrddef
[ -x "$RRDDEF" ] || { echo "missing $RRDDEF (build first)"; exit 1; }
command -v rrdtool >/dev/null || { echo "rrdtool not installed"; exit 1; }

RRD_DIR=$DP_TMP/rrd
mkdir -p "$RRD_DIR"
fails=0
# this test counts failures and goes on
fail() { echo "FAIL: $*"; fails=$((fails + 1)); DP_TEST_FAILED=1; }

# expect_info FILE KEY VALUE: `rrdtool info` has the line "KEY = VALUE"
expect_info()
{
    local got
    got=$(rrdtool info "$1" | grep -F "$2 = " | head -1)
    [ "$got" = "$2 = $3" ] || fail "$(basename "$1"): want '$2 = $3', got '${got:-nothing}'"
}

# create KIND PRESET RELPATH START: rrdtool create from the helper's argv
create()
{
    local args
    mapfile -t args < <("$RRDDEF" create "$1" "$2") || return 1
    [ ${#args[@]} -gt 0 ] || return 1
    mkdir -p "$(dirname "$RRD_DIR/$3")"
    rrdtool create "$RRD_DIR/$3" --step 300 --start "$4" --no-overwrite "${args[@]}"
}

NOW=$(date +%s)
T0=$(( (NOW / 300) * 300 - 3600 ))     # step-aligned, in the past (updates must not be future)

# ---- 1. port RRD with the LibreNMS RRA set -------------------------------------------
PORT=$("$RRDDEF" path router1.example.com port "" 42) || fail "path"
[ "$PORT" = "router1.example.com/port-id42.rrd" ] || fail "port path is '$PORT'"
create port librenms "$PORT" $((T0 - 300)) || fail "rrdtool create port"
F=$RRD_DIR/$PORT
expect_info "$F" step 300
DS_NAMES=(INOCTETS OUTOCTETS INERRORS OUTERRORS INUCASTPKTS OUTUCASTPKTS INNUCASTPKTS
          OUTNUCASTPKTS INDISCARDS OUTDISCARDS INUNKNOWNPROTOS INBROADCASTPKTS
          OUTBROADCASTPKTS INMULTICASTPKTS OUTMULTICASTPKTS)
for ds in "${DS_NAMES[@]}"; do
    expect_info "$F" "ds[$ds].type" '"DERIVE"'
    expect_info "$F" "ds[$ds].minimal_heartbeat" 600
    expect_info "$F" "ds[$ds].min" 0.0000000000e+00
    expect_info "$F" "ds[$ds].max" 1.2500000000e+10
done
n_ds=$(rrdtool info "$F" | grep -c '^ds\[.*\]\.type = ')
[ "$n_ds" = 15 ] || fail "port has $n_ds data sources, want 15"
i=0
for cf in AVERAGE MIN MAX; do
    for pr in 1:2016 6:1440 24:1440 288:1440; do
        expect_info "$F" "rra[$i].cf" "\"$cf\""
        expect_info "$F" "rra[$i].pdp_per_row" "${pr%%:*}"
        expect_info "$F" "rra[$i].rows" "${pr##*:}"
        expect_info "$F" "rra[$i].xff" 5.0000000000e-01
        i=$((i + 1))
    done
done
expect_info "$F" "rra[12].cf" '"LAST"'
expect_info "$F" "rra[12].pdp_per_row" 1
expect_info "$F" "rra[12].rows" 2016
n_rra=$(rrdtool info "$F" | grep -c '^rra\[[0-9]*\]\.cf = ')
[ "$n_rra" = 13 ] || fail "port has $n_rra RRAs, want 13"
[ $fails -eq 0 ] && ok "port file: step 300, 15 DERIVE DS hb 600 min 0 max 12500000000, 13 RRAs"

# ---- 2. updates 300 s apart give the expected rates ----------------------------------
# INOCTETS +3703500 over 300 s = 12345 B/s; OUTOCTETS is a 64-bit counter above 2^63
# (+3e11 = 1e9 B/s); INERRORS unknown; INUCASTPKTS +90000 = 300 pkt/s; the rest 0.
values()  # IN OUT UCAST
{
    echo "$1 $2 U 0 $3 0 0 0 0 0 0 0 0 0 0"
}
BIG=(18000000000000000000 18000000300000000000 18000000600000000000)
last=0
k=0
for step in 0 1 2; do
    ts=$((T0 + step * 300))
    upd=$("$RRDDEF" update port $ts $last $((1000 + step * 3703500)) "${BIG[$step]}" U 0 \
          $((5000000000 + step * 90000)) 0 0 0 0 0 0 0 0 0 0 2>&1) || {
        fail "validate refused a good update: $upd"; break; }
    case "$upd" in *e+*|*E+*) fail "update not in integer form: $upd" ;; esac
    rrdtool update "$RRD_DIR/$PORT" "$upd" || fail "rrdtool update $upd"
    last=$ts
    k=$((k + 1))
done
if [ "$k" != 3 ] || [ "$upd" != "$last:7408000:18000000600000000000:U:0:5000180000:0:0:0:0:0:0:0:0:0:0" ]; then
    fail "last update was '$upd'"
fi
out=$(rrdtool fetch "$RRD_DIR/$PORT" AVERAGE -r 300 -s $T0 -e $((T0 + 600)))
echo "$out" | sed -n '1,6p'
check_row()  # TS: column expectations via awk
{
    echo "$out" | awk -v ts="$1:" '
        $1 == ts {
            found = 1
            if ($2 + 0 != 12345) { print "INOCTETS " $2; bad = 1 }
            if ($3 + 0 != 1e9) { print "OUTOCTETS " $3; bad = 1 }
            if ($4 !~ /nan/) { print "INERRORS " $4; bad = 1 }
            if ($5 + 0 != 0) { print "OUTERRORS " $5; bad = 1 }
            if ($6 + 0 != 300) { print "INUCASTPKTS " $6; bad = 1 }
        }
        END { exit !(found && !bad) }'
}
check_row $((T0 + 300)) || fail "rates at T0+300"
check_row $((T0 + 600)) || fail "rates at T0+600"
[ $fails -eq 0 ] && ok "fetch: INOCTETS 12345 B/s, OUTOCTETS 1e9 B/s above 2^63, U stays unknown"

# ---- 3. invalid updates stop before rrdtool ------------------------------------------
ts=$((T0 + 900))
if err=$("$RRDDEF" update port $ts $last 1 2 3 2>&1); then
    fail "3 values for a 15-DS file were accepted: $err"
else
    echo "$err" | grep -q "port: 3 values for 15 data sources" || fail "wrong-count error: $err"
fi
# a non-integer counter: ours refuses it, and rrdtool would too
# shellcheck disable=SC2046
if err=$("$RRDDEF" update port $ts $last 1.5 $(printf '0 %.0s' {1..14}) 2>&1); then
    fail "1.5 for a DERIVE was accepted"
else
    echo "$err" | grep -q "DERIVE needs an integer" || fail "non-integer error: $err"
fi
rrdtool update "$RRD_DIR/$PORT" "$ts:1.5$(printf ':0%.0s' {1..14})" 2>/dev/null &&
    fail "rrdtool accepted 1.5 for a DERIVE (rule no longer needed?)"
# same and older timestamps are refused (rrdcached would fail them at flush)
read -ra V <<<"$(values 1 1 1)"
err=$("$RRDDEF" update port $last $last "${V[@]}" 2>&1) && fail "same ts accepted"
echo "$err" | grep -q "is not after the last update $last" || fail "same-ts error: $err"
err=$("$RRDDEF" update port $((NOW + 3600)) $last "${V[@]}" 2>&1) && fail "future ts accepted"
echo "$err" | grep -q "s in the future" || fail "future-ts error: $err"
"$RRDDEF" update port $((last + 300)) $last "${V[@]}" >/dev/null || fail "next ts refused"
lastupd=$(rrdtool last "$RRD_DIR/$PORT")
[ "$lastupd" = "$last" ] || fail "rrdtool last is $lastupd, want $last (something slipped through)"
[ $fails -eq 0 ] && ok "wrong count, non-integer counter, stale and future ts refused by validate"

# ---- 4. gauges and the small RRA set -------------------------------------------------
CPU=$("$RRDDEF" path sw-1 processor hr 196608)
create processor small "$CPU" $((T0 - 300)) || fail "rrdtool create processor"
expect_info "$RRD_DIR/$CPU" "ds[usage].type" '"GAUGE"'
expect_info "$RRD_DIR/$CPU" "ds[usage].min" -2.7300000000e+02
expect_info "$RRD_DIR/$CPU" "ds[usage].max" 1.0000000000e+03
for s in 0 1 2; do
    u=$("$RRDDEF" update processor $((T0 + s * 300)) 0 42.5) || fail "processor update"
    rrdtool update "$RRD_DIR/$CPU" "$u" || fail "rrdtool update $u"
done
rrdtool fetch "$RRD_DIR/$CPU" AVERAGE -r 300 -s $T0 -e $((T0 + 600)) |
    awk -v ts="$((T0 + 600)):" '$1 == ts && $2 + 0 == 42.5 {f = 1} END {exit !f}' ||
    fail "processor gauge did not read back 42.5"
SMALL=$("$RRDDEF" path sw-1 port "" 7)
create port small "$SMALL" $((T0 - 300)) || fail "rrdtool create small port"
expect_info "$RRD_DIR/$SMALL" "rra[0].cf" '"AVERAGE"'
expect_info "$RRD_DIR/$SMALL" "rra[0].rows" 24
expect_info "$RRD_DIR/$SMALL" "rra[1].cf" '"MAX"'
expect_info "$RRD_DIR/$SMALL" "rra[1].pdp_per_row" 12
n_rra=$(rrdtool info "$RRD_DIR/$SMALL" | grep -c '^rra\[[0-9]*\]\.cf = ')
[ "$n_rra" = 2 ] || fail "small port has $n_rra RRAs"
size_small=$(stat -c %s "$RRD_DIR/$SMALL")
size_full=$(stat -c %s "$RRD_DIR/$PORT")
echo "port file size: librenms $size_full bytes, small $size_small bytes"
[ "$size_small" -lt 16384 ] || fail "small port file is $size_small bytes (want < 16 KB)"
# a custom rrd_rra list works the same way
CUSTOM=$("$RRDDEF" path sw-1 uptime)
mapfile -t cargs < <("$RRDDEF" create uptime "RRA:AVERAGE:0.5:1:10 RRA:LAST:0.5:1:5")
rrdtool create "$RRD_DIR/$CUSTOM" --step 300 --start $((T0 - 300)) "${cargs[@]}" ||
    fail "create with custom RRAs"
expect_info "$RRD_DIR/$CUSTOM" "rra[1].cf" '"LAST"'
expect_info "$RRD_DIR/$CUSTOM" "rra[1].rows" 5
"$RRDDEF" create uptime "RRA:AVERAGE:0.5:1" >/dev/null 2>&1 && fail "bad RRA list accepted"
[ $fails -eq 0 ] && ok "gauge DS bounds, small preset ($size_small B), custom RRA list"

# ---- 5. hostile hostnames stay inside the RRD dir -----------------------------------
for host in "../../escape" ".." "." "/etc" "a/../../b" ".hidden" "x y;z"; do
    p=$("$RRDDEF" path "$host" port "" 1) || { fail "path for '$host'"; continue; }
    case "$p" in */*/*|.*|*..*) fail "hostname '$host' gave unsafe path '$p'" ;; esac
    create port small "$p" $((T0 - 300)) 2>/dev/null || fail "create for '$host' ($p)"
done
outside=$(find "$DP_TMP" -name '*.rrd' ! -path "$RRD_DIR/*" | head -5)
[ -z "$outside" ] || fail "RRD files outside the RRD dir: $outside"
n_hosts=$(find "$RRD_DIR" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$n_hosts" = 9 ] || fail "want 9 host dirs under the RRD dir, got $n_hosts: $(ls -A "$RRD_DIR")"
"$RRDDEF" path "" port "" 1 >/dev/null 2>&1 && fail "empty hostname accepted"
[ $fails -eq 0 ] && ok "hostile hostnames map to one safe directory each"

echo "$fails failures"
[ $fails -eq 0 ]
