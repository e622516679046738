#!/usr/bin/env bash
# upgrade_rrdwriter.sh - an rrdwriter upgrade and downgrade across the spool's checksum change
# (SipHash-2-4 frames before, tagged CRC-32C frames since), with a real rrdcached. Not a
# test_*.sh: it needs git history and a second build (run it with `make upgrade-test`).
#   OLD_REV   the old version (default: the parent of the commit that brought CRC-32C sums to
#             rrdwriter/rrdwriter_spool.c, i.e. the last rrdwriter that wrote SipHash frames)
#   BUILD     the current tree's build (default build)
# The old tree comes from `git archive OLD_REV` into $DP_TMP (the work tree is never touched);
# only its rrdwriter and metricsgen are built. Phases:
#   1. old rrdwriter, rrdcached stopped: N rounds ACKed into an old-format spool; SIGTERM
#   2. upgrade: the new rrdwriter on that spool with rrdcached up; N more rounds; everything
#      lands exactly once, backlog 0, no corrupt segment, no repair, no checksum complaint
#   3. downgrade after a drain (README's rule): the old rrdwriter on the drained spool; N more
#      rounds from the old metricsgen; everything lands
#   4. downgrade without a drain: the new rrdwriter spools 2 x N rounds in two segments with
#      rrdcached stopped; the old rrdwriter starts on that spool; what it does is asserted
#   5. a: the new rrdwriter again on what the old one left: the skipped sealed segment lands,
#         the truncated last one is lost; b: the spool copied before the downgrade, given to
#         the new rrdwriter: everything lands
# Prints ok:/FAIL: lines and a WARNING: line for the data an undrained downgrade loses.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/integration/lib_rrdwriter.sh
DEV=${DP_UPGRADE_DEVICES:-8} PORTS=3 STEP=1 N=${DP_UPGRADE_ROUNDS:-20}
NEW_B=$B

git rev-parse --git-dir >/dev/null 2>&1 || fail "not a git checkout: this script needs the history"
if [ -z "${OLD_REV:-}" ]; then
    crc=$(git log --reverse --format=%H -S S_SUM_TAG -- rrdwriter/rrdwriter_spool.c | head -1)
    [ -n "$crc" ] || fail "no commit brings CRC-32C sums to rrdwriter_spool.c; set OLD_REV"
    OLD_REV=$crc^
fi
old_sha=$(git rev-parse --verify --quiet "$OLD_REV^{commit}") || fail "OLD_REV $OLD_REV: no such commit"
git show "$old_sha:rrdwriter/rrdwriter_spool.c" | grep -q S_SUM_TAG &&
    fail "OLD_REV $OLD_REV already writes CRC-32C frames"
ok "old version $(git log -1 --format='%h %s' "$old_sha" | cut -c1-90)"

# ---- build the old rrdwriter and metricsgen (only what they link) ----------------------------
OLD_SRC=$DP_TMP/old-src OLD_B=$DP_TMP/old-src/build
mkdir -p "$OLD_SRC"
git archive "$old_sha" | tar -x -C "$OLD_SRC" || fail "git archive $old_sha"
mods=
for f in "$OLD_SRC"/rrdwriter/*.c; do [ "${f##*/}" = main.c ] || mods+="rrdwriter/${f##*/} "; done
make -C "$OLD_SRC" BUILD="$OLD_B" BIN_MODULES="$mods" -j2 "$OLD_B/rrdwriter" \
    "$OLD_B/tests/metricsgen" >"$DP_TMP/old-build.log" 2>&1 ||
    fail "old build failed: $(tail -20 "$DP_TMP/old-build.log")"
for f in rrdwriter distpoll tests/metricsgen; do
    [ -x "$NEW_B/$f" ] || fail "$NEW_B/$f missing: run make BUILD=$NEW_B first"
done
# B=$OLD_BIN makes lib_rrdwriter's helpers run the old rrdwriter and metricsgen (the CLI is new)
OLD_BIN=$DP_TMP/oldbin
mkdir -p "$OLD_BIN/tests"
ln -s "$OLD_B/rrdwriter" "$OLD_BIN/rrdwriter"
ln -s "$OLD_B/tests/metricsgen" "$OLD_BIN/tests/metricsgen"
ln -s "$(realpath "$NEW_B/distpoll")" "$OLD_BIN/distpoll"
ok "built the old rrdwriter and metricsgen in $DP_TMP"

# ---- helpers -----------------------------------------------------------------------------------
# gen_rounds BIN PREFIX FIRST END: rounds FIRST..END-1 of PREFIX's files through BIN's metricsgen;
# every message must be ACKed
gen_rounds()
{
    local out=$DP_TMP/gen-$2-$3.out
    B=$1 rw_gen --devices "$DEV" --ports $PORTS --step $STEP --start-ts "$START" --prefix "$2" \
        --first-round "$3" --rounds $(($4 - $3)) --wait-ms 30000 >"$out" 2>&1 ||
        fail "metricsgen $2 rounds $3..$4: $(cat "$out")"
    grep -q "pending=0" "$out" || fail "metricsgen $2 rounds $3..$4 not all ACKed: $(cat "$out")"
}
# stop_rw: SIGTERM, must exit 0; the current rrdwriter must not wait for its drain deadline
# when nothing is left to apply (older ones did after a run that only replayed their spool: the
# applied LSN ended at the last replayed frame, before the new segment's start LSN)
stop_rw()
{
    local exe
    exe=$(readlink -f "/proc/$RW_PID/exe")
    kill -TERM "$RW_PID"
    dp_wait_gone "$RW_PID" 30 || fail "rrdwriter $RW_PID did not stop on SIGTERM"
    wait "$RW_PID"
    local rc=$?
    [ $rc = 0 ] || fail "rrdwriter exited $rc on SIGTERM: $(tail -5 "$RW_LOG")"
    if grep 'msg=drained' "$RW_LOG" | tail -1 | grep -q 'applied=0 backlog=0'; then
        [ "$exe" != "$(readlink -f "$B/rrdwriter")" ] ||
            fail "$(basename "$RW_LOG" .log): SIGTERM waited for the drain deadline with backlog 0"
        echo "NOTE: $(basename "$RW_LOG" .log) (old rrdwriter): SIGTERM waited for the drain deadline with backlog 0"
    fi
}
# check_prefix PREFIX LAST_ROUND: every file of PREFIX holds rounds 1..LAST_ROUND exactly once
check_prefix()
{
    local d p bad=0 last want=$((START + $2 * STEP))
    for ((d = 0; d < DEV; d++)); do
        for ((p = 0; p < PORTS; p++)); do
            rw_check_file "$1$d/port-id$p.rrd" $p "$START" $STEP "$2" || bad=$((bad + 1))
            last=$(rc_last "$1$d/port-id$p.rrd")
            [ "$last" = "$want" ] || { echo "$1$d/port-id$p.rrd: LAST $last want $want"; bad=$((bad + 1)); }
        done
    done
    [ $bad = 0 ]
}
stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' <<<"$1"; }
drained() { rw_backlog_zero && [ "$(rw_stat rrdcached_up)" = 1 ]; }
complaints() { grep -iE 'corrupt|checksum|crc|siphash' "$1"; }

dp_start_rrdcached RC || fail "rrdcached did not start"
RW_RRA=librenms RW_STEP=$STEP rw_env "$DP_TMP/rw.env"
START=$(($(date +%s) - 3 * N - 10))
dp_stop "$RC_PID"

# ---- 1. old rrdwriter, rrdcached stopped: an old-format spool -----------------------------------
B=$OLD_BIN rw_start old1
gen_rounds "$OLD_BIN" dev 0 "$N"
[ "$(rw_stat rrdcached_up)" = 0 ] || fail "rrdcached is not down for the old rrdwriter"
backlogged() { [ "$(rw_stat backlog)" -gt 0 ] 2>/dev/null; } # a gauge: set on the next tick
dp_wait_until 10 backlogged || fail "the old rrdwriter has no backlog: $(rw_ctl STATS)"
stop_rw
segs=$(ls "$DP_TMP"/spool/seg-*.spool 2>/dev/null | wc -l)
[ "$segs" -gt 0 ] || fail "the old rrdwriter left no spool segment"
ok "1. old rrdwriter: $((DEV * N)) messages ACKed into its spool only ($(du -cb "$DP_TMP"/spool/seg-*.spool | tail -1 | cut -f1) bytes, $segs segment(s)); SIGTERM, exit 0"

# ---- 2. upgrade: the new rrdwriter replays the old frames -------------------------------------
dp_start_rrdcached RC || fail "rrdcached did not restart"
B=$NEW_B rw_start new2
s=$(rw_ctl STATS)
[ "$(stat_of "$s" spool_repaired)" = 0 ] || fail "the new rrdwriter cut old frames at open: $s"
gen_rounds "$NEW_B" dev "$N" $((2 * N))
dp_wait_until 60 drained || fail "the new rrdwriter did not drain: $(rw_ctl BACKLOG)"
check_prefix dev $((2 * N - 1)) || fail "updates missing or doubled after the upgrade"
s=$(rw_ctl STATS)
for k in spool_corrupt spool_repaired update_errors updates_rejected; do
    [ "$(stat_of "$s" $k)" = 0 ] || fail "new rrdwriter: $k is $(stat_of "$s" $k): $s"
done
[ "$(stat_of "$s" messages_applied)" -ge $((2 * DEV * N)) ] || fail "not every message applied: $s"
! complaints "$DP_TMP/new2.log" || fail "the new rrdwriter complains about the old spool"
ok "2. upgrade: the new rrdwriter replayed the SipHash spool: all $((DEV * PORTS)) files hold" \
    "rounds 1..$((2 * N - 1)) exactly once, backlog 0, spool_corrupt 0, spool_repaired 0," \
    "no checksum complaint in its log"

# ---- 3. downgrade after a drain: the documented way ---------------------------------------------
stop_rw
B=$OLD_BIN rw_start old3
gen_rounds "$OLD_BIN" dev $((2 * N)) $((3 * N))
dp_wait_until 60 drained || fail "the old rrdwriter did not drain: $(rw_ctl BACKLOG)"
check_prefix dev $((3 * N - 1)) || fail "updates missing or doubled after a drained downgrade"
s=$(rw_ctl STATS)
for k in update_errors updates_rejected; do
    [ "$(stat_of "$s" $k)" = 0 ] || fail "old rrdwriter after a drain: $k is $(stat_of "$s" $k): $s"
done
stop_rw
ok "3. downgrade after a drain: the old rrdwriter ran on the drained spool, all files hold" \
    "rounds 1..$((3 * N - 1)) exactly once (spool_repaired $(stat_of "$s" spool_repaired): the" \
    "new version's last segment, already applied, cut at open; spool_corrupt $(stat_of "$s" spool_corrupt))"

# ---- 4. downgrade without a drain --------------------------------------------------------------
mv "$DP_TMP/spool" "$DP_TMP/spool-phase3"
dp_stop "$RC_PID"
B=$NEW_B rw_start new4a
gen_rounds "$NEW_B" up 0 "$N"
stop_rw
B=$NEW_B rw_start new4b # a second run: a second segment, so one sealed and one last segment
gen_rounds "$NEW_B" up "$N" $((2 * N))
stop_rw
cp -a "$DP_TMP/spool" "$DP_TMP/spool-copy"
before=$(cd "$DP_TMP/spool" && ls -l seg-*.spool | awk '{ printf "%s=%s ", $NF, $5 }')
[ "$(ls "$DP_TMP"/spool/seg-*.spool | wc -l)" -ge 2 ] || fail "expected 2 segments: $before"
ok "4. the new rrdwriter ACKed $((2 * DEV * N)) messages into its spool (rrdcached down): $before"

dp_start_rrdcached RC || fail "rrdcached did not restart"
B=$OLD_BIN rw_start old4
up() { [ "$(rw_stat rrdcached_up)" = 1 ]; }
dp_wait_until 15 up || fail "the old rrdwriter did not connect to rrdcached"
# a marker through the old rrdwriter: applied in spool order, so once it is in the files the
# old rrdwriter has been through everything the new one left
MK=2
DEV=1 gen_rounds "$OLD_BIN" mk 0 $MK
marked() { [ "$(rw_stat messages_applied)" -ge $MK ] 2>/dev/null; }
dp_wait_until 30 marked || fail "the old rrdwriter did not apply the marker: $(rw_ctl STATS)"
DEV=1 check_prefix mk $((MK - 1)) || fail "the old rrdwriter's marker updates are wrong"
kill -0 "$RW_PID" 2>/dev/null || fail "the old rrdwriter died on the new spool"
s=$(rw_ctl STATS)
after=$(cd "$DP_TMP/spool" && ls -l seg-*.spool 2>/dev/null | awk '{ printf "%s=%s ", $NF, $5 }')
present=0
for ((d = 0; d < DEV; d++)); do
    for ((p = 0; p < PORTS; p++)); do [ -f "$RC_RRD_DIR/up$d/port-id$p.rrd" ] && present=$((present + 1)); done
done
echo "   old rrdwriter on the undrained new spool: spool_repaired=$(stat_of "$s" spool_repaired)" \
    "spool_corrupt=$(stat_of "$s" spool_corrupt) messages_applied=$(stat_of "$s" messages_applied)" \
    "(the marker: $MK) backlog=$(stat_of "$s" backlog) files=$present/$((DEV * PORTS)); spool after: $after"
echo "   its log:"
complaints "$RW_LOG" | sed 's/^/     /'
# What the old version does (observed): the sealed segment fails its SipHash check in the reader
# ("spool segment corrupt, skipped", logged at error, counted); the last segment fails it at
# open and is cut to its valid prefix, 0 bytes, and deleted: counted in spool_repaired, not
# logged. Nothing is applied and the backlog reads 0: the ACKed data is gone.
[ "$(stat_of "$s" spool_corrupt)" -ge 1 ] || fail "old rrdwriter: the sealed CRC-32C segment was not reported corrupt: $s"
grep -q 'spool segment corrupt, skipped' "$RW_LOG" || fail "old rrdwriter: no corrupt-segment error in its log"
[ "$(stat_of "$s" spool_repaired)" = 1 ] || fail "old rrdwriter: the last CRC-32C segment was not cut: $s"
[ "$(stat_of "$s" messages_applied)" = $MK ] || fail "old rrdwriter applied CRC-32C frames: $s (README needs updating)"
[ $present = 0 ] || fail "old rrdwriter: $present files appeared from CRC-32C frames (README needs updating)"
echo "WARNING: the old rrdwriter DISCARDS an undrained CRC-32C spool: of $((2 * DEV * N)) ACKed" \
    "messages it applied none; the sealed segment ($((DEV * N))) is skipped with an error and" \
    "left on disk (its backlog gauge then reads $(stat_of "$s" backlog) bytes), the last segment ($((DEV * N)))" \
    "is truncated and deleted at start with only spool_repaired=1 to show for it (README: drain first)"
ok "4. downgrade without a drain: the old rrdwriter stays up, reports the sealed segment corrupt," \
    "cuts the last one (spool_repaired 1), applies nothing: data loss, as README warns"

# ---- 5. recovery -------------------------------------------------------------------------------
# a. upgrade again on the spool the old rrdwriter left: the sealed segment it skipped is still
#    there (rounds 0..N-1), the last one (rounds N..2N-1) is gone
stop_rw
B=$NEW_B rw_start new5a
dp_wait_until 60 drained || fail "the new rrdwriter did not drain what the old one left: $(rw_ctl BACKLOG)"
check_prefix up $((N - 1)) || fail "re-upgrade: the skipped sealed segment was not replayed"
last=$(rc_last up0/port-id0.rrd)
[ "$last" = $((START + (N - 1) * STEP)) ] ||
    fail "re-upgrade: LAST $last: rounds past $((N - 1)) were expected lost"
ok "5a. upgrading again on what the old rrdwriter left recovers the skipped sealed segment" \
    "(rounds 1..$((N - 1))); rounds $N..$((2 * N - 1)), the truncated last segment, are lost"
# b. the copy taken before the downgrade holds everything
stop_rw
rm -rf "$DP_TMP/spool"
mv "$DP_TMP/spool-copy" "$DP_TMP/spool"
B=$NEW_B rw_start new5b
dp_wait_until 60 drained || fail "the new rrdwriter did not drain the copy: $(rw_ctl BACKLOG)"
check_prefix up $((2 * N - 1)) || fail "updates missing or doubled from the copied spool"
s=$(rw_ctl STATS)
for k in spool_corrupt spool_repaired update_errors; do
    [ "$(stat_of "$s" $k)" = 0 ] || fail "new rrdwriter on the copy: $k is $(stat_of "$s" $k): $s"
done
stop_rw
ok "5b. the copy taken before the downgrade, given to the new rrdwriter: all $((DEV * PORTS))" \
    "files hold rounds 1..$((2 * N - 1)) exactly once"
