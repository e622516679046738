/*  biller_calc.c - one bill, one billing interval: read, bill the deltas once, recalculate
    See biller_calc.h for the contract.
    SPDX-License-Identifier: MIT */
#include "biller_calc.h"
#include "biller_sample.h"
#include "dp_log.h"
#include "dp_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MS_PER_S   1000
#define S_NO_RETRIES (-1)

#define S_PORTS_SQL                                                                                \
    "SELECT bp.port_id, p.ifIndex, COALESCE(p.ifSpeed, 0), d.device_id, d.hostname,"               \
    " COALESCE(d.overwrite_ip, ''), d.port, d.transport, d.snmpver, COALESCE(d.community, ''),"    \
    " COALESCE(d.authlevel, ''), COALESCE(d.authname, ''), COALESCE(d.authpass, ''),"              \
    " COALESCE(d.authalgo, ''), COALESCE(d.cryptopass, ''), COALESCE(d.cryptoalgo, ''),"           \
    " COALESCE(d.timeout, 0), COALESCE(d.retries, -1), d.poller_group,"                            \
    " c.port_id IS NOT NULL, c.slot, c.`timestamp`, c.in_counter, c.out_counter, c.counter_bits,"  \
    " c.sys_uptime"                                                                                \
    " FROM bill_ports bp JOIN ports p ON p.port_id = bp.port_id"                                   \
    " JOIN devices d ON d.device_id = p.device_id"                                                 \
    " LEFT JOIN bill_port_counters c ON c.bill_id = bp.bill_id AND c.port_id = bp.port_id"         \
    " WHERE bp.bill_id = ? AND p.deleted = 0 AND d.disabled = 0"                                   \
    " ORDER BY d.device_id, p.ifIndex"

/* Compare-and-set of a baseline: matches only the baseline this runner read, and (when
   fenced) only while no newer biller epoch exists. */
#define S_CAS_SQL                                                                                  \
    "UPDATE bill_port_counters SET `timestamp` = ?, in_counter = ?, out_counter = ?,"              \
    " in_delta = ?, out_delta = ?, counter_bits = ?, sys_uptime = ?, slot = ?"                     \
    " WHERE bill_id = ? AND port_id = ? AND slot <=> ? AND `timestamp` = ?"                        \
    " AND (? = 0 OR COALESCE((SELECT epoch FROM leadership WHERE name = 'biller'), 0) <= ?)"

#define S_FIRST_SQL                                                                                \
    "INSERT IGNORE INTO bill_port_counters (port_id, bill_id, `timestamp`, in_counter,"            \
    " out_counter, in_delta, out_delta, counter_bits, sys_uptime, slot)"                           \
    " SELECT ?, ?, ?, ?, ?, 0, 0, ?, ?, ? FROM DUAL WHERE (? = 0 OR"                               \
    " COALESCE((SELECT epoch FROM leadership WHERE name = 'biller'), 0) <= ?)"

#define S_ROW_SQL                                                                                  \
    "INSERT INTO bill_data (bill_id, `timestamp`, period, delta, in_delta, out_delta,"             \
    " interpolated) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE"                          \
    " delta = delta + VALUES(delta), in_delta = in_delta + VALUES(in_delta),"                      \
    " out_delta = out_delta + VALUES(out_delta),"                                                  \
    " interpolated = GREATEST(interpolated, VALUES(interpolated))"

/* One billed port with its baseline. */
typedef struct {
    uint64_t port_id;      /* ports.port_id */
    uint64_t speed_bps;    /* ifSpeed, 0 = unknown */
    size_t dev;            /* index into the device array */
    bool has_base;         /* a bill_port_counters row exists */
    int64_t base_slot_s;   /* its slot, -1 when NULL */
    int64_t base_ms;       /* its timestamp (read time) */
    dp_bill_reading_t in;  /* baseline in counter */
    dp_bill_reading_t out; /* baseline out counter */
    biller_port_read_t rd; /* this round's read */
} s_port_t;

typedef struct {
    s_port_t *ports;
    size_t nports, cap_ports;
    biller_device_t *devs;
    size_t ndevs, cap_devs;
} s_bill_ports_t;

static void s_count(const biller_calc_ctx_t *c, const char *name, uint64_t n)
{
    if (c->stats && n)
        dp_stats_add(c->stats, name, n);
}

static bool s_group_ok(const biller_calc_ctx_t *c, int group)
{
    if (!c->groups)
        return true;
    for (int i = 0; i < c->ngroups; i++)
        if (c->groups[i] == group)
            return true;
    return false;
}

static void s_copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

//  Fills a device from the current row (columns 3..17).
static void s_device_from_row(const biller_calc_ctx_t *c, dp_db_stmt_t *s, biller_device_t *d)
{
    memset(d, 0, sizeof *d);
    d->device_id = dp_db_col_uint(s, 3);
    const char *ip = dp_db_col_str(s, 5);
    s_copy(d->host, sizeof d->host, ip && ip[0] ? ip : dp_db_col_str(s, 4));
    d->port = (int)dp_db_col_int(s, 6);
    s_copy(d->transport, sizeof d->transport, dp_db_col_str(s, 7));
    s_copy(d->snmpver, sizeof d->snmpver, dp_db_col_str(s, 8));
    s_copy(d->community, sizeof d->community, dp_db_col_str(s, 9));
    s_copy(d->authlevel, sizeof d->authlevel, dp_db_col_str(s, 10));
    s_copy(d->authname, sizeof d->authname, dp_db_col_str(s, 11));
    s_copy(d->authpass, sizeof d->authpass, dp_db_col_str(s, 12));
    s_copy(d->authalgo, sizeof d->authalgo, dp_db_col_str(s, 13));
    s_copy(d->cryptopass, sizeof d->cryptopass, dp_db_col_str(s, 14));
    s_copy(d->cryptoalgo, sizeof d->cryptoalgo, dp_db_col_str(s, 15));
    int64_t timeout_s = dp_db_col_int(s, 16), retries = dp_db_col_int(s, 17);
    d->timeout_ms = timeout_s > 0 ? (int)(timeout_s * S_MS_PER_S) : c->snmp_timeout_ms;
    d->retries = retries >= 0 ? (int)retries : c->snmp_retries;
}

//  Fills a port's baseline from the current row (columns 19..25).
static void s_port_from_row(dp_db_stmt_t *s, s_port_t *p)
{
    p->has_base = dp_db_col_int(s, 19) != 0;
    p->base_slot_s = dp_db_col_is_null(s, 20) ? -1 : dp_db_col_time_ms(s, 20) / S_MS_PER_S;
    p->base_ms = dp_db_col_time_ms(s, 21);
    int bits = (int)dp_db_col_int(s, 24);
    bool has_uptime = !dp_db_col_is_null(s, 25);
    uint32_t uptime = (uint32_t)dp_db_col_uint(s, 25);
    p->in = (dp_bill_reading_t){
        !dp_db_col_is_null(s, 22), dp_db_col_uint(s, 22), bits, p->base_ms, has_uptime, uptime};
    p->out = (dp_bill_reading_t){
        !dp_db_col_is_null(s, 23), dp_db_col_uint(s, 23), bits, p->base_ms, has_uptime, uptime};
}

static void *s_grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return arr;
    *cap = *cap ? *cap * 2 : 8;
    arr = realloc(arr, *cap * size);
    if (!arr)
        abort();
    return arr;
}

//  Loads the bill's ports (in the served groups), their devices and baselines.
static int s_load(const biller_calc_ctx_t *c, uint64_t bill_id, s_bill_ports_t *b, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(c->db, S_PORTS_SQL, DP_DB_IDEMPOTENT, err);
    if (!s || dp_db_query(s, err, "u", bill_id) != 0)
        return -1;
    int rc;
    while ((rc = dp_db_fetch(s)) == 1) {
        if (!s_group_ok(c, (int)dp_db_col_int(s, 18)))
            continue;
        uint64_t dev_id = dp_db_col_uint(s, 3);
        if (b->ndevs == 0 || b->devs[b->ndevs - 1].device_id != dev_id) {
            b->devs = s_grow(b->devs, &b->cap_devs, b->ndevs + 1, sizeof *b->devs);
            s_device_from_row(c, s, &b->devs[b->ndevs++]);
        }
        b->ports = s_grow(b->ports, &b->cap_ports, b->nports + 1, sizeof *b->ports);
        s_port_t *p = &b->ports[b->nports++];
        memset(p, 0, sizeof *p);
        p->port_id = dp_db_col_uint(s, 0);
        p->rd.if_index = (uint32_t)dp_db_col_uint(s, 1);
        p->speed_bps = dp_db_col_uint(s, 2);
        p->dev = b->ndevs - 1;
        s_port_from_row(s, p);
    }
    return rc < 0 ? dp_err_set(err, DP_ERR_DB, "reading the ports of bill %llu failed",
                               (unsigned long long)bill_id)
                  : 0;
}

//  Number of slots a baseline at base_slot_s leaves open before slot_s (0: not contiguous).
static int s_gap_slots(const biller_calc_ctx_t *c, const s_port_t *p, int64_t slot_s)
{
    if (!p->has_base || p->base_slot_s < 0 || p->base_slot_s >= slot_s)
        return 0;
    int64_t k = (slot_s - p->base_slot_s + c->interval_s - 1) / c->interval_s;
    if (k > BILLER_CALC_MAX_FILL) {
        s_count(c, "gaps_dropped", 1);
        return 0;
    }
    return (int)k;
}

static void s_count_delta(const biller_calc_ctx_t *c, dp_bill_delta_status_t st)
{
    if (st == DP_BILL_DELTA_WRAP)
        s_count(c, "wraps", 1);
    else if (st == DP_BILL_DELTA_RESET || st == DP_BILL_DELTA_REBOOT)
        s_count(c, "resets", 1);
    else if (st == DP_BILL_DELTA_IMPOSSIBLE)
        s_count(c, "impossible_rates", 1);
}

//  Moves the baseline (CAS) or creates it; 1 done, 0 lost the race, -1 error.
static int s_move_baseline(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t slot_s,
                           const s_port_t *p, const dp_bill_reading_t *in,
                           const dp_bill_reading_t *out, uint64_t din, uint64_t dout, dp_err_t *err)
{
    char uptime[24];
    snprintf(uptime, sizeof uptime, "%u", in->uptime_cs);
    const char *up = in->has_uptime ? uptime : NULL;
    dp_db_stmt_t *s;
    if (p->has_base) {
        s = dp_db_cached(c->db, S_CAS_SQL, 0, err);
        if (!s || dp_db_exec(s, err, "tuuuuistuuttuu", in->at_ms, in->value, out->value, din, dout,
                             (int64_t)in->bits, up, slot_s * S_MS_PER_S, bill_id, p->port_id,
                             p->base_slot_s >= 0 ? p->base_slot_s * S_MS_PER_S : (int64_t)-1,
                             p->base_ms, c->epoch, c->epoch) != 0)
            return -1;
    } else {
        s = dp_db_cached(c->db, S_FIRST_SQL, 0, err);
        if (!s ||
            dp_db_exec(s, err, "uutuuistuu", p->port_id, bill_id, in->at_ms, in->value, out->value,
                       (int64_t)in->bits, up, slot_s * S_MS_PER_S, c->epoch, c->epoch) != 0)
            return -1;
    }
    return dp_db_affected(s) == 1 ? 1 : 0;
}

//  Adds din/dout spread over k slots ending at slot_s into the bill's rows.
static int s_add_rows(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t slot_s, int k,
                      uint64_t din, uint64_t dout, biller_calc_result_t *res, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(c->db, S_ROW_SQL, 0, err);
    if (!s)
        return -1;
    for (int i = 0; i < k; i++) {
        uint64_t in = dp_bill_split(din, k, i), out = dp_bill_split(dout, k, i);
        int64_t ts = slot_s - (int64_t)(k - 1 - i) * c->interval_s;
        if (dp_db_exec(s, err, "utiuuui", bill_id, ts * S_MS_PER_S, c->interval_s, in + out, in,
                       out, (int64_t)(k > 1)) != 0)
            return -1;
        res->rows++;
    }
    return 0;
}

//  Bills one read port in its own transaction. Returns 0 or -1 (database error).
static int s_commit_port(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t slot_s,
                         const s_port_t *p, uint32_t uptime_cs, bool has_uptime, int64_t at_ms,
                         biller_calc_result_t *res, dp_err_t *err)
{
    dp_bill_reading_t in = {true, p->rd.in, p->rd.bits, at_ms, has_uptime, uptime_cs};
    dp_bill_reading_t out = {true, p->rd.out, p->rd.bits, at_ms, has_uptime, uptime_cs};
    int k = s_gap_slots(c, p, slot_s);
    dp_bill_delta_t din = dp_bill_counter_delta(k ? &p->in : NULL, &in, p->speed_bps);
    dp_bill_delta_t dout = dp_bill_counter_delta(k ? &p->out : NULL, &out, p->speed_bps);
    if (dp_db_begin(c->db, err) != 0)
        return -1;
    int moved = s_move_baseline(c, bill_id, slot_s, p, &in, &out, din.octets, dout.octets, err);
    if (moved == 1 && k > 0 && s_add_rows(c, bill_id, slot_s, k, din.octets, dout.octets, res, err))
        moved = -1;
    if (moved != 1) {
        dp_db_rollback(c->db, NULL);
        if (moved == 0) {
            res->skipped_dup++;
            s_count(c, "samples_skipped_dup", 1);
        }
        return moved == 0 ? 0 : -1;
    }
    if (dp_db_commit(c->db, err) != 0)
        return -1;
    res->written++;
    s_count(c, "samples_written", 1);
    s_count_delta(c, din.status);
    s_count_delta(c, dout.status);
    if (din.status > DP_BILL_DELTA_WRAP || dout.status > DP_BILL_DELTA_WRAP)
        dp_log_info("counter not billed as read", "bill=%llu port=%llu slot=%lld in=%s out=%s",
                    (unsigned long long)bill_id, (unsigned long long)p->port_id, (long long)slot_s,
                    dp_bill_delta_name(din.status), dp_bill_delta_name(dout.status));
    return 0;
}

//  Reads and bills the due ports of device d. Returns 0 or -1 (database error).
static int s_bill_device(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t slot_s,
                         s_bill_ports_t *b, size_t d, biller_calc_result_t *res, dp_err_t *err)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nports; i++)
        if (b->ports[i].dev == d)
            n++;
    biller_port_read_t *rd = calloc(n ? n : 1, sizeof *rd);
    size_t *idx = calloc(n ? n : 1, sizeof *idx);
    if (!rd || !idx)
        abort();
    size_t m = 0;
    for (size_t i = 0; i < b->nports; i++) {
        s_port_t *p = &b->ports[i];
        if (p->dev != d)
            continue;
        if (p->has_base && p->base_slot_s >= slot_s) {
            res->skipped_dup++;
            s_count(c, "samples_skipped_dup", 1);
            continue;
        }
        rd[m].if_index = p->rd.if_index;
        idx[m++] = i;
    }
    int rc = 0;
    uint32_t uptime = 0;
    bool has_uptime = false;
    int64_t at_ms = 0;
    dp_err_t e = {0};
    if (m > 0 && biller_sample_read(&b->devs[d], rd, m, &uptime, &has_uptime, &at_ms, &e) != 0) {
        s_count(c, "snmp_failures", 1);
        dp_log_warn("snmp read failed", "bill=%llu device=%llu err=%s detail=\"%s\"",
                    (unsigned long long)bill_id, (unsigned long long)b->devs[d].device_id,
                    dp_err_name(e.code), e.text);
    }
    for (size_t j = 0; rc == 0 && j < m; j++) {
        s_port_t *p = &b->ports[idx[j]];
        p->rd = rd[j];
        if (!rd[j].ok) {
            res->failed++;
            continue;
        }
        rc = s_commit_port(c, bill_id, slot_s, p, uptime, has_uptime, at_ms, res, err);
    }
    free(idx);
    free(rd);
    return rc;
}

//  --------------------------------------------------------------------------
int biller_calc_bill(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t slot_s,
                     biller_calc_result_t *res, dp_err_t *err)
{
    memset(res, 0, sizeof *res);
    s_bill_ports_t b = {0};
    int rc = s_load(c, bill_id, &b, err);
    res->ports = (int)b.nports;
    for (size_t d = 0; rc == 0 && d < b.ndevs; d++) {
        if (c->keepalive && !c->keepalive(c->keepalive_arg)) {
            rc = dp_err_set(err, DP_ERR_STALE, "bill %llu abandoned: no longer the runner",
                            (unsigned long long)bill_id);
            break;
        }
        rc = s_bill_device(c, bill_id, slot_s, &b, d, res, err);
    }
    free(b.ports);
    free(b.devs);
    if (rc == 0)
        rc = biller_calc_totals(c, bill_id, slot_s, err);
    return rc;
}

//  --------------------------------------------------------------------------
int biller_calc_totals(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t now_s, dp_err_t *err)
{
    dp_bill_t bill;
    bool close = false;
    if (dp_bill_load(c->db, bill_id, &bill, err) != 0)
        return -1;
    if (dp_bill_calculate(c->db, &bill, now_s, 0, c->interval_s, c->method, NULL, NULL, err) != 0)
        return -1;
    if (dp_bill_needs_close(c->db, &bill, now_s, &close, err) != 0)
        return -1;
    if (close &&
        dp_bill_calculate(c->db, &bill, now_s, -1, c->interval_s, c->method, NULL, NULL, err) != 0)
        return -1;
    if (close)
        dp_log_notice("bill period closed", "bill=%llu", (unsigned long long)bill_id);
    return 0;
}
