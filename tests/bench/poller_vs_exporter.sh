#!/usr/bin/env bash
# poller_vs_exporter.sh - the poller's CPU per device-poll against snmp_exporter's, measured as
# PEERS.md asks: same machine state, interleaved rounds, medians (the machine drifts 15-25 %
# between runs minutes apart). The whole-pipeline bench measures the exporter alone on a quiet
# machine and the poller on a machine saturated by MariaDB and rrdcached, which is not a
# same-conditions ratio; this is. Each of DP_PVE_ROUNDS (3) rounds runs:
#   - snmp_exporter (peers.sh) on 10,000 dpsim devices (24 ports, HC), the same IF-MIB columns
#     the poller walks, wrk at concurrency 32 for DP_BENCH_PEER_SECONDS (15);
#   - tests/integration/bench_poller.sh: one poller, one thread, DEV (5,000) devices of the same
#     profile, jobs paced at DP_BENCH_RATE (170/s: what each of the 100,000-device bench's two
#     pollers gets) on a 100 ms tick like the scheduler's, with its real MariaDB, Redis,
#     rrdwriter and rrdcached; its warm cycle's CPU-s per 1,000 polls (the poller process only;
#     it also writes MariaDB and sends METRICS, which the exporter does not do).
# Prints a line per round, then one JSON object (last line):
#   {"rounds":[{"exporter":E,"poller":P},...],"exporter_median":E,"poller_median":P,"ratio":R}
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/servers.sh
dp_test_init
source tests/bench/peers.sh
source tests/bench/lib_bench.sh
bench_install_peers || fail "cannot install prometheus-snmp-exporter and wrk"
ROUNDS=${DP_PVE_ROUNDS:-3}
PEER_S=${DP_BENCH_PEER_SECONDS:-15}
DEV=${DEV:-5000}
RATE=${DP_BENCH_RATE:-170}

dp_start_dpsim SIM 127.10.0.1 --listen 0.0.0.0 --threads 1 \
    --profile "127.8.0.0/13=synthetic:ports=24,hc=1,speed=1G" || fail "dpsim does not answer"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
E_ALL="" P_ALL="" ROWS=""
for r in $(seq 1 "$ROUNDS"); do
    e=$(peer_snmp_exporter "$SIM_PORT" 0 10000 32 "$PEER_S" | jq -r '.cpu_s_per_1000 // empty')
    [ -n "$e" ] || fail "round $r: snmp_exporter gave no figure"
    out=$(BUILD=$B DEV=$DEV DP_BENCH_RATE=$RATE DP_BENCH_CYCLES=1 bash tests/integration/bench_poller.sh 2>&1)
    p=$(awk '/^poller: / { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "cpu_s_per_1000") print kv[2] } }' <<<"$out")
    [ -n "$p" ] || fail "round $r: bench_poller.sh gave no figure: $(tail -5 <<<"$out")"
    echo "round $r: snmp_exporter $e CPU-s per 1000 polls, poller $p ($(awk -v e="$e" -v p="$p" 'BEGIN { printf "%.1f", e / p }')x)"
    E_ALL="$E_ALL $e" P_ALL="$P_ALL $p"
    ROWS="$ROWS${ROWS:+,}{\"exporter\":$e,\"poller\":$p}"
done
em=$(median <<<"$E_ALL")
pm=$(median <<<"$P_ALL")
echo "medians: snmp_exporter $em, poller $pm: $(awk -v e="$em" -v p="$pm" 'BEGIN { printf "%.1f", e / p }')x"
awk -v e="$em" -v p="$pm" -v rows="$ROWS" -v dev="$DEV" -v rate="$RATE" 'BEGIN {
    printf "{\"rounds\":[%s],\"poller_devices\":%d,\"poller_rate\":%d,\"exporter_devices\":10000,\"exporter_median\":%s,\"poller_median\":%s,\"ratio\":%.2f}\n",
        rows, dev, rate, e, p, e / p }'
