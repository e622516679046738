#!/usr/bin/env bash
# biller_common.sh - shared set-up of the biller integration tests (sourced after dp_test_init):
# MariaDB + Redis + dpsim, an env file, devices/ports/bills whose counters advance at rates that
# `dpsim expect --rate` tells, and helpers to start billers and read their STATS.
#   bl_setup              servers, schema, inventory; sets BL_* variables
#   bl_start NODE         starts build/biller as NODE; sets BL_PID_<NODE>
#   bl_stat NODE NAME     prints one STATS value
#   bl_sql SQL            runs SQL in the test database (tab-separated, no headers)
#   bl_rate ADDR COLUMN INDEX   counter rate in octets/s from dpsim expect
BL_INTERVAL=${BL_INTERVAL:-2}
BL_TTL_MS=${BL_TTL_MS:-3000}

bl_sql() { mariadb --no-defaults -S "$DB_SOCK" -uroot distpoll -N -B -e "$1"; }

# the simulated world: HC devices at 1G everywhere, a 32-bit device whose counters move fast
# enough (80G profile: out 450 MB/s) to wrap every ~10 s, yet
# at most once across a failover gap (a 32-bit counter cannot tell two wraps from one)
BL_PROFILES=(--profile "synthetic:ports=4,hc=1,speed=1G"
    --profile "127.0.2.0/24=synthetic:ports=4,hc=0,speed=80G")

bl_rate() { "$B/dpsim" expect "${BL_PROFILES[@]}" --fault-file "$BL_FAULTS" --device "$1" \
    --column "$2" --index "$3" --rate; }

bl_setup()
{
    dp_start_mariadb DB || fail "mariadb did not start"
    dp_start_redis REDIS || fail "redis did not start"
    BL_FAULTS=$DP_TMP/faults.txt
    : >"$BL_FAULTS"
    dp_start_dpsim BL_SIM 127.0.1.1 "${BL_PROFILES[@]}" --fault-file "$BL_FAULTS" ||
        fail "dpsim did not answer"
    BL_ENV=$DP_TMP/distpoll.env
    BL_SCHED_PORT=$(dp_free_port)
    dp_node_env "$BL_ENV" NODE_ID=bl-cli DP_CONTROL_DIR="$DP_TMP" \
        DP_SCHEDULERS="tcp://127.0.0.1:$BL_SCHED_PORT" \
        DP_SCHEDULER_BIND="tcp://127.0.0.1:$BL_SCHED_PORT" DP_POLLER_INTERVAL=60s \
        DP_JOB_TIMEOUT=2s DP_BILLING_INTERVAL="${BL_INTERVAL}s" DP_LOCK_TTL="${BL_TTL_MS}ms" \
        DP_SNMP_TIMEOUT=500ms DP_SNMP_RETRIES=0 DP_LOG_LEVEL=info
    env -i PATH="$PATH" "$B/distpoll" --env-file "$BL_ENV" db migrate >/dev/null ||
        fail "db migrate"
    # devices 1, 2 (HC) and 3 (32-bit); ports; three bills
    bl_sql "
      INSERT INTO devices (device_id, hostname, port, community, snmpver) VALUES
        (1, '127.0.1.1', $BL_SIM_PORT, 'public', 'v2c'),
        (2, '127.0.1.2', $BL_SIM_PORT, 'public', 'v2c'),
        (3, '127.0.2.1', $BL_SIM_PORT, 'public', 'v2c');
      INSERT INTO ports (port_id, device_id, ifIndex, ifSpeed) VALUES
        (11, 1, 1, 1000000000), (12, 1, 2, 1000000000), (21, 2, 1, 1000000000),
        (31, 3, 1, 80000000000);
      INSERT INTO bills (bill_id, bill_name, bill_type, bill_cdr, bill_quota, bill_day, dir_95th)
        VALUES (1, 'two devices', 'cdr', 50000000, NULL, 1, 'in'),
               (2, 'wrapping 32-bit', 'quota', NULL, 1000000000000, 1, 'in'),
               (3, 'rebooting', 'cdr', 10000000, NULL, 1, 'agg');
      INSERT INTO bill_ports (bill_id, port_id) VALUES (1, 11), (1, 12), (1, 21), (2, 31),
        (3, 21);" || fail "inventory"
}

bl_start()  # NODE
{
    local node=$1 log=$DP_TMP/biller-$1.log
    env -i PATH="$PATH" "$B/biller" --env-file "$BL_ENV" --node-id "$node" >"$log" 2>&1 &
    local pid=$!
    dp_register $pid "$log"
    eval "BL_PID_${node//-/_}=$pid"
    dp_wait_until 10 bl_ctl "$node" PING || fail "biller $node did not answer PING"
}

bl_ctl() { env -i PATH="$PATH" "$B/distpoll" --env-file "$BL_ENV" --node-id "$1" ctl biller "$2"; }

bl_stat() { bl_ctl "$1" STATS | sed -n "s/^$2: //p"; }

bl_is_runner() { [ "$(bl_stat "$1" is_runner)" = 1 ]; }

# rows of a bill
bl_rows() { bl_sql "SELECT COUNT(*) FROM bill_data WHERE bill_id = $1"; }
bl_rows_at_least() { [ "$(bl_rows "$1")" -ge "$2" ]; }

# in octets/s of bill 1 (ports 11, 12, 21), its out, and bill 2's (port 31)
bl_expected_rates()
{
    local a b c
    a=$(bl_rate 127.0.1.1 ifHCInOctets 1) b=$(bl_rate 127.0.1.1 ifHCInOctets 2)
    c=$(bl_rate 127.0.1.2 ifHCInOctets 1)
    BL_B1_IN=$((a + b + c))
    a=$(bl_rate 127.0.1.1 ifHCOutOctets 1) b=$(bl_rate 127.0.1.1 ifHCOutOctets 2)
    c=$(bl_rate 127.0.1.2 ifHCOutOctets 1)
    BL_B1_OUT=$((a + b + c))
    BL_B2_IN=$(bl_rate 127.0.2.1 ifInOctets 1)
    BL_B2_OUT=$(bl_rate 127.0.2.1 ifOutOctets 1)
    BL_B3_IN=$(bl_rate 127.0.1.2 ifHCInOctets 1)
    BL_B3_OUT=$(bl_rate 127.0.1.2 ifHCOutOctets 1)
}

# bl_check_series BILL IN_RATE OUT_RATE: the rows are contiguous (one per interval, none
# missing), the totals match rate x covered time within one sample, and every row's rate is
# within 10 % of the expected rate (no spike, no hole billed twice) unless ALLOW_LOW rows may be
# low (a reboot loses the traffic between the last read and the reboot).
bl_check_series()
{
    local bill=$1 rin=$2 rout=$3 allow_low=${4:-0}
    local stats
    stats=$(bl_sql "SELECT COUNT(*), UNIX_TIMESTAMP(MIN(timestamp)), UNIX_TIMESTAMP(MAX(timestamp)),
        SUM(in_delta), SUM(out_delta), SUM(period), SUM(delta <> in_delta + out_delta)
        FROM bill_data WHERE bill_id = $bill")
    local n tmin tmax sin sout secs bad
    read -r n tmin tmax sin sout secs bad <<<"$stats"
    tmin=${tmin%.*} tmax=${tmax%.*}
    [ "$n" -ge 3 ] || fail "bill $bill: only $n rows"
    local want_n=$(((tmax - tmin) / BL_INTERVAL + 1))
    [ "$n" -eq "$want_n" ] || fail "bill $bill: $n rows between $tmin and $tmax, want $want_n (missing intervals)"
    [ "$secs" -eq $((n * BL_INTERVAL)) ] || fail "bill $bill: periods sum to $secs"
    [ "$bad" -eq 0 ] || fail "bill $bill: delta != in + out in $bad rows"
    local exp_in=$((rin * secs)) exp_out=$((rout * secs))
    local tol_in=$((rin * BL_INTERVAL + rin / 10)) tol_out=$((rout * BL_INTERVAL + rout / 10))
    local din=$((sin - exp_in)) dout=$((sout - exp_out))
    [ "${din#-}" -le $((tol_in * (1 + allow_low))) ] ||
        fail "bill $bill: in total $sin, want $exp_in +- $tol_in"
    [ "${dout#-}" -le $((tol_out * (1 + allow_low))) ] ||
        fail "bill $bill: out total $sout, want $exp_out +- $tol_out"
    local hi lo
    read -r hi lo <<<"$(bl_sql "SELECT COUNT(*) FROM bill_data WHERE bill_id = $bill
        AND in_delta > $rin * period * 1.1;
        SELECT COUNT(*) FROM bill_data WHERE bill_id = $bill AND in_delta < $rin * period * 0.9" |
        tr '\n' ' ')"
    [ "$hi" -eq 0 ] || fail "bill $bill: $hi rows above 110 % of the rate (spike)"
    [ "$lo" -le "$allow_low" ] || fail "bill $bill: $lo rows below 90 % of the rate"
    echo "ok: bill $bill: $n contiguous rows, in $sin (want $exp_in), out $sout (want $exp_out)"
}

# bl_check_95th BILL WANT_BPS COLUMN: bills.COLUMN within 2 % of WANT_BPS
bl_check_95th()
{
    local got
    got=$(bl_sql "SELECT ROUND($3) FROM bills WHERE bill_id = $1")
    local diff=$((got - $2))
    [ "${diff#-}" -le $(($2 / 50)) ] || fail "bill $1: $3 = $got, want $2 +- 2 %"
    echo "ok: bill $1: $3 = $got bit/s (want $2)"
}
