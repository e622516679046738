#!/usr/bin/env bash
# table.sh FILE.json - prints the table of a tests/bench/run.sh result (make bench).
set -u
F=$1
jq -r '"distpoll bench: \(.machine), every server and binary on this machine; \(.ports_per_device) ports per device, HC counters;",
  "DP_RRA=\(.rra) (about 12 KB per port file); interval \(.interval_s) s; \(.pollers) pollers x \(.threads_per_poller) thread(s);",
  "2 schedulers (leader + standby); a cycle is time-boxed to \(.time_box_s) s.",
  "cold = first cycle, every device due at once (RRD files and port rows created); warm = the same burst again with",
  "them in place (schedulers restarted with a short interval so the RRD timestamps are new).",
  "cycle_s = first poll start -> every device polled once; polls/s = all polls / their span (polls also counts",
  "devices polled again because their next slot came during the burst). MariaDB rows: Handler_write + Handler_update",
  "(10.11 has no Innodb_rows_*). RRD updates/s: updates accepted by rrdcached / (first poll -> last update)."' "$F"
echo
printf '%-8s %-5s %7s %8s %9s %10s %10s %11s %10s\n' devices phase polls cycle_s polls/s rrd_upd/s db_rows/s lat_p50_ms lat_p99_ms
jq -r '.runs[] | select(.skipped == null) | [.devices, .phase, .polls,
    ((.cycle_s | tostring) + (if .cycle_projected then "*" else "" end)), .polls_per_s,
    .rrd_updates_per_s, .db_rows_per_s, (.latency_p50_ms // "-"), (.latency_p99_ms // "-")] | @tsv' "$F" |
    awk -F'\t' '{ printf "%-8s %-5s %7s %8s %9s %10s %10s %11s %10s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
jq -r '.runs[] | select(.skipped) | "\(.devices): SKIPPED (\(.skipped))"' "$F"
jq -r '.runs[] | select(.cycle_projected == true) |
    "* \(.devices) \(.phase): time-boxed, \(.devices_polled) of \(.devices) devices polled; cycle_s projected = devices / polls per s"' "$F"
jq -r '.runs[] | select((.rrdwriter_backlog_left_bytes // 0) > 0) |
    "! \(.devices) \(.phase): \(.rrdwriter_backlog_left_bytes / 1048576 | floor) MB of METRICS still spooled (not yet in rrdcached) when the figures were taken"' "$F"
jq -r '[.runs[] | .latency_method // empty | select(startswith("not") | not)][0] // empty | if . == "trace" then
    "latency: SNMP reply (polled_ms) -> RRD update accepted by rrdcached (rrd_written_ms), from the job traces"
    else "latency: estimated: poll end (poller \"job done\" end_ms, after the SNMP replies and the DB write) ->",
    "  rrdwriter updates_applied reaching that poll'"'"'s share (FIFO), sampled every 0.2 s; no per-update stamp exists" end' "$F"
echo
echo "CPU-seconds per 1,000 device-polls (all copies of a binary summed):"
printf '%-8s %-5s %9s %7s %9s %7s %8s %6s %9s %7s\n' devices phase scheduler poller rrdwriter dpsim mariadb redis rrdcached total
jq -r '.runs[] | select(.skipped == null) | .cpu_s_per_1000_polls as $c | [.devices, .phase, $c.scheduler,
    $c.poller, $c.rrdwriter, $c.dpsim, $c.mariadb, $c.redis, $c.rrdcached, $c.total] | @tsv' "$F" |
    awk -F'\t' '{ printf "%-8s %-5s %9s %7s %9s %7s %8s %6s %9s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
echo
echo "Peak RSS, MB (VmHWM; the largest copy):"
printf '%-8s %-5s %9s %7s %9s %7s %8s %6s %9s\n' devices phase scheduler poller rrdwriter dpsim mariadb redis rrdcached
jq -r '.runs[] | select(.skipped == null) | .rss_peak_mb as $c | [.devices, .phase, $c.scheduler,
    $c.poller, $c.rrdwriter, $c.dpsim, $c.mariadb, $c.redis, $c.rrdcached] | @tsv' "$F" |
    awk -F'\t' '{ printf "%-8s %-5s %9s %7s %9s %7s %8s %6s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
echo
echo "Peers on the same dpsim and IF-MIB columns (tests/bench/peers.sh) vs distpoll's poller:"
printf '%-8s %-14s %8s %8s %9s %12s\n' devices peer polled polls/s cpu/1000 poller_ratio
jq -r '(.runs | map(select(.phase == "warm" or .phase == "cold")) | map({key: "\(.devices)-\(.phase)",
        value: .cpu_s_per_1000_polls.poller}) | from_entries) as $d |
    .peers[] | .devices as $n | .peers[] | [$n, .peer, .devices, .polls_per_s, .cpu_s_per_1000,
    ((($d["\($n)-warm"] // $d["\($n)-cold"]) // 0) as $p | if $p > 0 then "\(.cpu_s_per_1000 / $p * 10 | floor / 10)x" else "-" end)] | @tsv' "$F" |
    awk -F'\t' '{ printf "%-8s %-14s %8s %8s %9s %12s\n", $1, $2, $3, $4, $5, $6 }'
echo "  (poller_ratio = the peer's CPU per poll / distpoll poller's, warm cycle where measured; target >= 10x;"
echo "   the peer ran alone, the poller beside a saturating MariaDB and rrdcached: see the interleaved rounds)"
jq -r '.poller_vs_exporter // {} | select(.ratio != null) |
    "Interleaved, same conditions (poller_vs_exporter.sh, medians of \(.rounds | length) rounds): snmp_exporter \(.exporter_median), poller \(.poller_median) CPU-s per 1000 polls = \(.ratio)x (target >= 10x)",
    "  rounds (exporter/poller): \([.rounds[] | "\(.exporter)/\(.poller)"] | join("  "))"' "$F"
echo
jq -r '"dpsim alone, 1 thread: \(.dpsim_alone.pdus_per_s) PDUs/s at \(.dpsim_alone.dpsim_cpu_share) of a core = \(.dpsim_alone.pdus_per_cpu_s) PDUs per CPU-second (target >= 30,000 on one core)",
  "rrdwriter alone (bench_rrdwriter.sh): \(.rrdwriter_alone.live_updates_per_s // "-") updates/s live end to end, \(.rrdwriter_alone.drain_updates_per_s // "-") updates/s draining its spool (target >= 200,000)"' "$F"
jq -r '[.runs[] | select(.devices == 100000 and .skipped == null)] | (map(select(.phase == "warm"))[0] // .[0]) // empty |
    "100,000 devices, \(.phase) cycle: \(.cycle_s) s\(if .cycle_projected then " (projected)" else "" end) (target <= 300), \(.polls_per_s) polls/s, \(.rrd_updates_per_s) RRD updates/s, poller RSS \(.rss_peak_mb.poller) MB (target < 200)"' "$F"
