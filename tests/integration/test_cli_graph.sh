#!/usr/bin/env bash
# test_cli_graph.sh - distpoll graph HOST [--port IFNAME] [--period] -o FILE.png renders a
# traffic graph with librrd from the port RRD files (found through the ports table), after
# rrdcached flushed them: a PNG of exactly the requested size (signature and IHDR checked);
# all ports summed without --port; clear errors for unknown ports, missing files, bad options;
# with rrdcached down it still draws from the files and says so.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
dp_start_mariadb DB || fail "mariadb did not start"
dp_start_rrdcached RRDC || fail "rrdcached did not start"
env=$DP_TMP/dp.env
dp_node_env "$env" NODE_ID=g1 DP_RRDCACHED="unix:$RRDC_SOCK" DP_RRD_DIR="$RRDC_RRD_DIR"
run() { env -i PATH="$PATH" "$B/distpoll" --env-file "$env" "$@"; }
sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -e "$1"; }
run db migrate >/dev/null || fail "db migrate"
run device add sw7.example.net --force >/dev/null || fail "device add"
ID=$(sql "SELECT device_id FROM devices")
sql "INSERT INTO ports (port_id, device_id, ifIndex, ifName) VALUES (11, $ID, 1, 'eth0'), (12, $ID, 2, 'eth1'), (13, $ID, 3, 'eth2')"

# a day of traffic in the port files; the last hour only in rrdcached's cache (flushed by graph)
mkdir -p "$RRDC_RRD_DIR/sw7.example.net"
now=$(date +%s)
start=$((now - 86400 - 600))
for p in 11 12; do
    f=$RRDC_RRD_DIR/sw7.example.net/port-id$p.rrd
    rrdtool create "$f" --step 300 --start "$start" DS:INOCTETS:DERIVE:600:0:12500000000 \
        DS:OUTOCTETS:DERIVE:600:0:12500000000 RRA:AVERAGE:0.5:1:600 RRA:MAX:0.5:1:600 || fail "create"
    ups=()
    for ((t = start + 300, i = 1; t <= now - 3600; t += 300, i++)); do ups+=("$t:$((i * 300000 * p)):$((i * 150000))"); done
    rrdtool update "$f" "${ups[@]}" || fail "update"
    c=$(((i - 1) * 300000 * p))
    for ((; t <= now; t += 300, i++)); do
        c=$((c + 600000 * p)) # twice the rate: only rrdcached knows it until flushed
        rrdtool update --daemon "unix:$RRDC_SOCK" "$f" "$t:$c:$((i * 150000))" || fail "cached update"
    done
done

png_size() { # FILE -> "WxH" when FILE is a PNG
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "not a PNG"; return; }
    [ "$(head -c 16 "$1" | tail -c 4)" = IHDR ] || { echo "no IHDR"; return; }
    echo "$((16#$(head -c 20 "$1" | tail -c 4 | od -An -tx1 | tr -d ' \n')))x$((16#$(head -c 24 "$1" | tail -c 4 | od -An -tx1 | tr -d ' \n')))"
}
expect_rc 0 run graph sw7.example.net --port eth0 --period 1d --width 640 --height 240 -o "$DP_TMP/eth0.png"
# eth0 (port 11) carried 11000 B/s = 88000 bit/s, then twice that in the last hour (cached)
grep -q "wrote $DP_TMP/eth0.png (640x240 PNG, 86400 s, 1 port; last in 176000 bit/s, out 4000 bit/s)" <<<"$out" ||
    fail "graph (the cached updates must be drawn): $out"
[ "$(png_size "$DP_TMP/eth0.png")" = 640x240 ] || fail "eth0.png: $(png_size "$DP_TMP/eth0.png")"
expect_rc 0 run graph sw7.example.net -o "$DP_TMP/all.png"
grep -q "(800x300 PNG, 86400 s, 2 ports; last in 368000 bit/s, out 8000 bit/s)" <<<"$out" || fail "graph of all ports: $out"
[ "$(png_size "$DP_TMP/all.png")" = 800x300 ] || fail "all.png: $(png_size "$DP_TMP/all.png")"
expect_rc 0 run graph sw7.example.net --port eth1 --period 6h --title "uplink" -o "$DP_TMP/eth1.png"
[ "$(png_size "$DP_TMP/eth1.png")" = 800x300 ] || fail "eth1.png"
echo "ok: PNGs of the requested size, rrdcached flushed"

expect_rc 1 run graph sw7.example.net --port eth9 -o "$DP_TMP/x.png"
grep -q -- '--port "eth9": no such port on sw7.example.net' <<<"$out" || fail "unknown port: $out"
expect_rc 1 run graph sw7.example.net --port eth2 -o "$DP_TMP/x.png"
grep -q "no RRD file for sw7.example.net port eth2: $RRDC_RRD_DIR/sw7.example.net/port-id13.rrd" <<<"$out" || fail "missing file: $out"
expect_rc 64 run graph sw7.example.net -o "$DP_TMP/x.jpg"
grep -q -- '-o ".*x.jpg": expected a file name ending in .png' <<<"$out" || fail "bad -o: $out"
expect_rc 64 run graph sw7.example.net --period soon -o "$DP_TMP/x.png"
grep -q -- '--period "soon": expected a duration' <<<"$out" || fail "bad period: $out"
expect_rc 64 run graph sw7.example.net
expect_rc 1 run graph nosuch -o "$DP_TMP/x.png"
[ -e "$DP_TMP/x.png" ] && fail "a failed graph wrote a file"

dp_stop "$RRDC_PID"
expect_rc 0 run graph sw7.example.net --port eth0 -o "$DP_TMP/nocache.png"
grep -q "rrdcached unix:$RRDC_SOCK: .*drawing from the files as they are" <<<"$out" || fail "rrdcached down: $out"
[ "$(png_size "$DP_TMP/nocache.png")" = 800x300 ] || fail "nocache.png"
echo "cli graph ok"
