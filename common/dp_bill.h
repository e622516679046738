/*  dp_bill.h - bandwidth bill maths shared by the biller and `distpoll bill show`
    Pure functions (counter deltas, gap splitting, billing periods, 95th percentile, quota
    and CDR verdicts) plus a few calls that read and write the billing tables over a dp_db_t.
    Pure functions are thread-safe; DB calls follow dp_db rules (one dp_db_t per thread).
    Units: octets (bytes) for volumes, bits per second for rates, unix seconds (UTC) for times.

    Definitions used everywhere (and by the tests):
    - A bill_data row at timestamp T with period P covers the billing interval (T-P, T]; the
      biller writes one row per bill per interval slot (T a multiple of the interval), summing
      the deltas of the bill's ports.
    - Billing period of a bill with billing day D: from D 00:00:00 UTC of a month (inclusive) to
      D 00:00:00 of the next month (exclusive); a day past the end of a short month means its
      last day (D=31 in February starts on the 28th/29th). Rows belong to the period when
      from < T <= to (the row stamped exactly at the period start closes the previous one).
      (LibreNMS's getDates moves to the new period only the day after the billing day; we
      start it on the billing day itself.)
    - 95th percentile (LibreNMS's billing-calculate.php since PR #18481): rows are grouped in
      buckets floor(T / bucket_s) * bucket_s (bucket_s = the billing interval, 300 s by
      default); a bucket's rate = SUM(delta) * 8 / SUM(period); the n bucket rates are sorted
      ascending and the value at 0-based index max(0, round(0.95 n) - 2) is taken
      (DP_BILL_PCT_LIBRENMS, round half away from zero, clamped to n - 1). DP_BILL_PCT_NEAREST_RANK
      takes index ceil(0.95 n) - 1 instead (the textbook nearest rank). Missing samples are
      not samples: n counts only buckets that have rows, so an interval with no row neither
      counts as zero nor shifts the rank. The biller avoids such holes: a gap in one port's
      readings is spread evenly over the intervals it covers (rows flagged interpolated).
    - Directions: in, out, agg (in + out per bucket). rate_95th = agg when the bill's dir_95th
      is "agg", else max(in, out) and dir_95th says which ("in" on a tie).
    - CDR: used = rate_95th (bit/s), allowed = bill_cdr; quota: used = total bytes, allowed =
      bill_quota. overuse = max(used - allowed, 0); percent = used * 100 / allowed (0 when
      allowed is 0).
    SPDX-License-Identifier: MIT */
#ifndef DP_BILL_H
#define DP_BILL_H

#include "dp_db.h"
#include "dp_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_BILL_NAME_MAX        256    /* bill_name bytes incl. NUL */
#define DP_BILL_SPEED_TOLERANCE 1.1    /* rate above ifSpeed * this is impossible */
#define DP_BILL_MAX_RATE_BPS    1.0e12 /* ceiling when ifSpeed is unknown: 1 Tbit/s */
#define DP_BILL_BUCKET_DEFAULT  300    /* LibreNMS's 95th bucket, seconds */

typedef enum { DP_BILL_CDR = 0, DP_BILL_QUOTA } dp_bill_type_t;

typedef enum {
    DP_BILL_PCT_LIBRENMS = 0, /* index max(0, round(0.95 n) - 2): matches LibreNMS */
    DP_BILL_PCT_NEAREST_RANK, /* index ceil(0.95 n) - 1 */
} dp_bill_pct_t;

// ---------------------------------------------------------------------------- counter deltas

/* One reading of an octet counter. */
typedef struct {
    bool valid;         /* false: no reading (no baseline yet, or the GET failed) */
    uint64_t value;     /* raw counter */
    int bits;           /* 32 (ifInOctets) or 64 (ifHCInOctets) */
    int64_t at_ms;      /* wall-clock ms of the read */
    bool has_uptime;    /* uptime_cs is known */
    uint32_t uptime_cs; /* sysUpTime read with it, centiseconds */
} dp_bill_reading_t;

typedef enum {
    DP_BILL_DELTA_OK = 0,     /* cur >= prev: delta = cur - prev */
    DP_BILL_DELTA_FIRST,      /* no baseline: nothing to bill, cur becomes the baseline */
    DP_BILL_DELTA_WRAP,       /* wrapped once past 2^bits: delta = 2^bits - prev + cur */
    DP_BILL_DELTA_REBOOT,     /* sysUpTime shows a restart: delta = traffic since it (<= real) */
    DP_BILL_DELTA_RESET,      /* went backwards, no plausible wrap, no uptime proof: 0 */
    DP_BILL_DELTA_IMPOSSIBLE, /* rate above the port's speed: discarded, 0 */
    DP_BILL_DELTA_REBASE,     /* counter width changed or time went backwards: 0 */
    DP_BILL_DELTA_INVALID,    /* cur missing or out of range: keep the old baseline */
} dp_bill_delta_status_t;

typedef struct {
    dp_bill_delta_status_t status;
    uint64_t octets; /* bytes to bill (0 unless OK, WRAP or REBOOT) */
} dp_bill_delta_t;

/* Octets to bill between two readings of one counter; never more than the port could carry.
   Rules in order: cur invalid / value too wide -> INVALID; prev invalid -> FIRST; other width
   or cur.at_ms <= prev.at_ms -> REBASE; both uptimes known and dp_bill_rebooted -> REBOOT with
   min(cur, cur - prev when cur >= prev); cur >= prev -> OK; else the wrap delta d: plausible
   when d / elapsed <= max rate (32 bits: and without a speed, d < 2^31; 64 bits: d < 2^63)
   -> WRAP, else RESET. Finally a rate (octets * 8 / elapsed) above if_speed_bps * 1.1
   (DP_BILL_MAX_RATE_BPS when if_speed_bps is 0) -> IMPOSSIBLE with 0 octets. */
dp_bill_delta_t dp_bill_counter_delta(const dp_bill_reading_t *prev, const dp_bill_reading_t *cur,
                                      uint64_t if_speed_bps);

/* True when sysUpTime shows a restart between two reads (same rule as the poller): the
   uptime advance (mod 2^32) falls short of the elapsed time by more than 30 s + 5 %, or a
   smaller value would need a wrap longer than the elapsed time. */
bool dp_bill_rebooted(uint32_t prev_cs, int64_t prev_ms, uint32_t cur_cs, int64_t cur_ms);

/* Static lower-case name of a delta status ("ok", "wrap", ...). */
const char *dp_bill_delta_name(dp_bill_delta_status_t status);

/* Share i (0-based) of total split into parts near-equal integers that sum exactly to total
   (the remainder goes to the last shares). parts >= 1, 0 <= i < parts. */
uint64_t dp_bill_split(uint64_t total, int parts, int i);

// ---------------------------------------------------------------------------- periods

/* The billing period containing t_s (UTC) shifted by offset periods (0 current, -1 previous,
   ...): [*from_s, *to_s) as defined above. bill_day 1..31. Returns 0 or -1 (bad day). */
int dp_bill_period(int bill_day, int64_t t_s, int offset, int64_t *from_s, int64_t *to_s);

// ---------------------------------------------------------------------------- usage

/* One bill_data row. */
typedef struct {
    int64_t ts_s;        /* timestamp (end of the interval covered) */
    int64_t period_s;    /* length of the interval, s */
    uint64_t in_octets;  /* in_delta */
    uint64_t out_octets; /* out_delta */
} dp_bill_sample_t;

/* What a set of rows adds up to. Rates in bit/s. */
typedef struct {
    uint64_t total_in;   /* bytes */
    uint64_t total_out;  /* bytes */
    uint64_t total;      /* total_in + total_out */
    int64_t seconds;     /* SUM(period) */
    double avg_in_bps;   /* total_in * 8 / seconds (0 without data) */
    double avg_out_bps;  /* total_out * 8 / seconds */
    double avg_bps;      /* total * 8 / seconds */
    double p95_in_bps;   /* 95th of the bucket rates, in */
    double p95_out_bps;  /* 95th, out */
    double p95_agg_bps;  /* 95th of (in + out) */
    double peak_in_bps;  /* highest bucket rate, in */
    double peak_out_bps; /* highest bucket rate, out */
    size_t rows;         /* rows summed */
    size_t buckets;      /* n of the percentile */
} dp_bill_usage_t;

/* The percentile of n values by method (sorts values in place); 0 when n is 0. */
double dp_bill_percentile(double *values, size_t n, dp_bill_pct_t method);

/* Sums rows (any order) into *out; bucket_s > 0 groups them for the percentile. Returns 0 or
   -1 (bad bucket_s; *out zeroed). Allocates a scratch array (OOM aborts). */
int dp_bill_summarise(const dp_bill_sample_t *rows, size_t n, int64_t bucket_s,
                      dp_bill_pct_t method, dp_bill_usage_t *out);

// ---------------------------------------------------------------------------- verdicts

/* A bill's plan (bills row). */
typedef struct {
    uint64_t bill_id;
    char name[DP_BILL_NAME_MAX];
    dp_bill_type_t type; /* bill_type cdr | quota */
    uint64_t cdr_bps;    /* bill_cdr */
    uint64_t quota;      /* bill_quota, bytes */
    int day;             /* bill_day 1..31 */
    bool agg;            /* dir_95th = 'agg': 95th of in+out */
} dp_bill_t;

typedef struct {
    double rate_95th; /* bit/s: agg, or max(in, out) */
    char dir_95th[4]; /* "in", "out" or "agg" */
    uint64_t allowed; /* bit/s (cdr) or bytes (quota) */
    uint64_t used;    /* same unit as allowed */
    uint64_t overuse; /* max(used - allowed, 0) */
    double percent;   /* used * 100 / allowed, 0 when allowed is 0 */
} dp_bill_verdict_t;

/* Applies the plan to a usage. */
void dp_bill_judge(const dp_bill_t *bill, const dp_bill_usage_t *u, dp_bill_verdict_t *out);

/* Parses "cdr" / "quota" (any case). Returns 0 or -1. */
int dp_bill_type_parse(const char *text, dp_bill_type_t *out);

/* "cdr" or "quota". Static string. */
const char *dp_bill_type_name(dp_bill_type_t type);

// ---------------------------------------------------------------------------- database

/* Loads the bills row. Returns 0, or -1 with err (DP_ERR_NOTFOUND when there is no such bill). */
int dp_bill_load(dp_db_t *db, uint64_t bill_id, dp_bill_t *out, dp_err_t *err);

/* Sums bill_data rows with from_s < timestamp <= to_s (see dp_bill_summarise). Returns 0 or -1. */
int dp_bill_usage(dp_db_t *db, uint64_t bill_id, int64_t from_s, int64_t to_s, int64_t bucket_s,
                  dp_bill_pct_t method, dp_bill_usage_t *out, dp_err_t *err);

/* Computes the bill's period at offset (0 current, -1 previous) around now_s, upserts its
   bill_history row (bill_datefrom = from, bill_dateto = to - 1 s as LibreNMS shows it) and,
   for offset 0, the bills row's rates and totals (bill_last_calc = now). Fills u and v when
   not NULL. Returns 0 or -1 with err. */
int dp_bill_calculate(dp_db_t *db, const dp_bill_t *bill, int64_t now_s, int offset,
                      int64_t bucket_s, dp_bill_pct_t method, dp_bill_usage_t *u,
                      dp_bill_verdict_t *v, dp_err_t *err);

/* True when the period before the current one still needs its final calculation: it has no
   bill_history row, or the row was last updated before the period ended. Returns 0 or -1. */
int dp_bill_needs_close(dp_db_t *db, const dp_bill_t *bill, int64_t now_s, bool *out,
                        dp_err_t *err);

#endif
