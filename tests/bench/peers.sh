#!/usr/bin/env bash
# peers.sh - the pollers a user might pick instead of distpoll, run on the same simulated
# devices and the same IF-MIB columns, measured the same way (PEERS.md "Running the peers
# fairly"). Source it; each function prints one JSON object:
#   peer_snmp_exporter PORT FIRST_ADDR_INDEX N_DEVICES CONCURRENCY SECONDS
#   peer_snmpbulkwalk PORT N_DEVICES PARALLEL
# Devices are 127.10.x.y addresses served by dpsim on udp PORT (see bench_addr).

# The columns distpoll's ports module polls: ifXTable HC counters + ifTable errors,
# discards, statuses and ifHighSpeed.
PEER_COLUMNS=(
    1.3.6.1.2.1.31.1.1.1.6 1.3.6.1.2.1.31.1.1.1.10 1.3.6.1.2.1.31.1.1.1.7 1.3.6.1.2.1.31.1.1.1.11
    1.3.6.1.2.1.31.1.1.1.8 1.3.6.1.2.1.31.1.1.1.12 1.3.6.1.2.1.31.1.1.1.9 1.3.6.1.2.1.31.1.1.1.13
    1.3.6.1.2.1.31.1.1.1.15 1.3.6.1.2.1.2.2.1.14 1.3.6.1.2.1.2.2.1.20 1.3.6.1.2.1.2.2.1.13
    1.3.6.1.2.1.2.2.1.19 1.3.6.1.2.1.2.2.1.7 1.3.6.1.2.1.2.2.1.8
)

bench_addr()  # INDEX -> 127.10.x.y (index 0.. 65535*?)
{
    local i=$1
    echo "127.$((10 + i / 65536)).$(((i / 256) % 256)).$((i % 256 + 0))"
}

# CPU seconds (user+sys) a process has used, from /proc/PID/stat.
proc_cpu_s()
{
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}

peer_snmp_exporter()  # PORT FIRST N CONCURRENCY SECONDS
{
    local port=$1 first=$2 n=$3 conc=$4 secs=$5 dir
    dir=$(mktemp -d /tmp/dp-peer.XXXXXX)
    {
        echo "dp_ifmib:"
        echo "  version: 2"
        echo "  auth:"
        echo "    community: public"
        echo "  max_repetitions: 25"
        echo "  retries: 1"
        echo "  timeout: 5s"
        echo "  walk:"
        for c in "${PEER_COLUMNS[@]}"; do echo "  - $c"; done
        echo "  metrics:"
        local i=0
        for c in "${PEER_COLUMNS[@]}"; do
            echo "  - name: col$i"
            echo "    oid: $c"
            echo "    type: gauge"
            echo "    indexes:"
            echo "    - labelname: ifIndex"
            echo "      type: gauge"
            i=$((i + 1))
        done
    } >"$dir/snmp.yml"
    local web
    web=$(dp_free_port)
    prometheus-snmp-exporter --config.file="$dir/snmp.yml" --web.listen-address="127.0.0.1:$web" \
        --log.level=error >"$dir/exporter.log" 2>&1 &
    local pid=$!
    dp_wait_until 10 curl -sf "http://127.0.0.1:$web/" || { echo '{"peer":"snmp_exporter","error":"no start"}'; return 1; }
    # wrk cycles through the targets.
    {
        echo "local targets = {}"
        local i
        for ((i = first; i < first + n; i++)); do echo "targets[#targets+1] = \"$(bench_addr "$i"):$port\""; done
        echo 'local k = 0'
        echo 'request = function() k = k % #targets + 1; return wrk.format("GET", "/snmp?module=dp_ifmib&target=" .. targets[k]) end'
    } >"$dir/targets.lua"
    local before after
    before=$(proc_cpu_s $pid)
    wrk -t 1 -c "$conc" -d "${secs}s" --timeout 10s -s "$dir/targets.lua" "http://127.0.0.1:$web" >"$dir/wrk.out" 2>&1
    after=$(proc_cpu_s $pid)
    kill $pid 2>/dev/null
    wait $pid 2>/dev/null
    local reqs errs
    reqs=$(awk '/requests in/ {print $1}' "$dir/wrk.out")
    errs=$(awk '/Non-2xx/ {print $NF}' "$dir/wrk.out")
    awk -v r="${reqs:-0}" -v e="${errs:-0}" -v s="$secs" -v c0="$before" -v c1="$after" -v n="$n" 'BEGIN {
        ok = r - e; cpu = c1 - c0;
        printf "{\"peer\":\"snmp_exporter\",\"devices\":%d,\"polls\":%d,\"errors\":%d,\"polls_per_s\":%.1f,\"cpu_s_per_1000\":%.3f}\n",
            n, ok, e, ok / s, (ok > 0 ? cpu * 1000 / ok : 0) }'
    rm -rf "$dir"
}

peer_snmpbulkwalk()  # PORT N PARALLEL: one process per column per device (it walks one OID)
{
    local port=$1 n=$2 par=$3 dir
    dir=$(mktemp -d /tmp/dp-peer.XXXXXX)
    local i c
    for ((i = 0; i < n; i++)); do
        for c in "${PEER_COLUMNS[@]}"; do echo "$(bench_addr "$i"):$port $c"; done
    done >"$dir/jobs"
    local t0 t1
    t0=$(date +%s.%N)
    # `times` in the same subshell as xargs reports the CPU of all its children.
    (
        xargs -P "$par" -L 1 sh -c 'snmpbulkwalk -v2c -c public -Cr25 -On -Oq "$0" "$1" >/dev/null 2>&1' <"$dir/jobs"
        times >"$dir/times"
    )
    local cpu
    cpu=$(tail -1 "$dir/times" | awk '{ split($1,u,"m"); split($2,s,"m"); gsub("s","",u[2]); gsub("s","",s[2]);
            printf "%.3f", u[1]*60+u[2]+s[1]*60+s[2] }')
    t1=$(date +%s.%N)
    awk -v n="$n" -v t0="$t0" -v t1="$t1" -v cpu="$cpu" 'BEGIN {
        printf "{\"peer\":\"snmpbulkwalk\",\"devices\":%d,\"polls\":%d,\"polls_per_s\":%.1f,\"cpu_s_per_1000\":%.3f}\n",
            n, n, n / (t1 - t0), cpu * 1000 / n }'
    rm -rf "$dir"
}
