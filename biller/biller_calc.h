/*  biller_calc.h - one bill, one billing interval: read, bill the deltas once, recalculate
    For each port of the bill whose baseline is older than the slot: SNMP-read its counters,
    compute the in/out deltas (dp_bill_counter_delta: wraps, reboots, impossible rates) and, in
    one transaction per port, move its baseline (compare-and-set on the old baseline slot, and
    on the biller epoch when fenced) and add the delta into the bill's bill_data rows. A port
    whose previous baseline is k slots old (missed intervals: failover, unreachable device)
    spreads its delta evenly over those k rows (interpolated = 1), so every interval has a row
    and no bytes land in one spike. Whoever runs it, a port's sample is counted once: a second
    runner finds the baseline already at the slot (skip) or loses the compare-and-set (rollback).
    Then the bill's current period (and the previous one until it is closed) is recalculated.
    Single-threaded: uses the caller's dp_db_t.
    SPDX-License-Identifier: MIT */
#ifndef BILLER_CALC_H
#define BILLER_CALC_H

#include "dp_bill.h"
#include "dp_db.h"
#include "dp_err.h"
#include "dp_stats.h"

#include <stdbool.h>
#include <stdint.h>

#define BILLER_CALC_MAX_FILL 288 /* longest gap spread over rows, in intervals (1 day at 300 s) */

/* Called between devices: keep leases alive; return false to abandon the bill (lock lost,
   draining). */
typedef bool(biller_calc_keepalive_fn)(void *arg);

typedef struct {
    dp_db_t *db;                         /* the caller's connection */
    dp_stats_t *stats;                   /* counters: samples_written, wraps, ... (may be NULL) */
    int64_t interval_s;                  /* billing interval (slot length) */
    uint64_t epoch;                      /* biller fencing epoch; 0 = not fenced */
    const int *groups;                   /* only ports of devices in these groups; NULL = all */
    int ngroups;                         /* entries in groups */
    int snmp_timeout_ms;                 /* default when the device row has none */
    int snmp_retries;                    /* default when the device row has none */
    dp_bill_pct_t method;                /* 95th definition */
    biller_calc_keepalive_fn *keepalive; /* may be NULL */
    void *keepalive_arg;
} biller_calc_ctx_t;

/* What one call did. */
typedef struct {
    int ports;       /* ports of the bill considered (after the group filter) */
    int written;     /* port samples committed */
    int skipped_dup; /* already counted for this slot by someone (pre-check or lost CAS) */
    int failed;      /* ports not read (SNMP) */
    int rows;        /* bill_data row upserts */
} biller_calc_result_t;

/* Bills slot_s (a multiple of interval_s, = the bill_data timestamp) for bill_id, then
   recalculates the bill. Returns 0 (res filled; some ports may have failed), or -1 with err
   (database trouble, or the keepalive said stop: DP_ERR_STALE). */
int biller_calc_bill(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t slot_s,
                     biller_calc_result_t *res, dp_err_t *err);

/* Recalculates the bill's current period (bills row + bill_history) and closes the previous
   period once after it ended. Returns 0 or -1 with err. */
int biller_calc_totals(const biller_calc_ctx_t *c, uint64_t bill_id, int64_t now_s, dp_err_t *err);

#endif
