/*  dp_bill.c - bandwidth bill maths: deltas, periods, 95th percentile, verdicts, bill tables
    The rules are documented in dp_bill.h; this file only implements them.
    SPDX-License-Identifier: MIT */
#include "dp_bill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_MS_PER_S          1000
#define S_CS_PER_MS_DIVISOR 10   /* TimeTicks are centiseconds */
#define S_UPTIME_SLACK_CS   3000 /* 30 s of jitter and retries */
#define S_UPTIME_SLACK_DIV  20   /* plus 5 % of the elapsed time */
#define S_HALF_32           (UINT64_C(1) << 31)
#define S_HALF_64           (UINT64_C(1) << 63)
#define S_BITS_PER_BYTE     8.0
#define S_PCT               95
#define S_MONTHS            12
#define S_EPOCH_YEAR        1900

// ---------------------------------------------------------------------------- counter deltas

//  Highest plausible octets per second for a port of if_speed_bps.
static double s_max_octet_rate(uint64_t if_speed_bps)
{
    if (if_speed_bps == 0)
        return DP_BILL_MAX_RATE_BPS / S_BITS_PER_BYTE;
    return (double)if_speed_bps / S_BITS_PER_BYTE * DP_BILL_SPEED_TOLERANCE;
}

static dp_bill_delta_t s_result(dp_bill_delta_status_t status, uint64_t octets)
{
    dp_bill_delta_t r = {status, octets};
    return r;
}

//  --------------------------------------------------------------------------
dp_bill_delta_t dp_bill_counter_delta(const dp_bill_reading_t *prev, const dp_bill_reading_t *cur,
                                      uint64_t if_speed_bps)
{
    if (!cur || !cur->valid || (cur->bits != 32 && cur->bits != 64) ||
        (cur->bits == 32 && cur->value > UINT32_MAX))
        return s_result(DP_BILL_DELTA_INVALID, 0);
    if (!prev || !prev->valid)
        return s_result(DP_BILL_DELTA_FIRST, 0);
    if (prev->bits != cur->bits || cur->at_ms <= prev->at_ms ||
        (prev->bits == 32 && prev->value > UINT32_MAX))
        return s_result(DP_BILL_DELTA_REBASE, 0);
    double elapsed_s = (double)(cur->at_ms - prev->at_ms) / S_MS_PER_S;
    double max_rate = s_max_octet_rate(if_speed_bps);
    dp_bill_delta_status_t status;
    uint64_t d;
    if (prev->has_uptime && cur->has_uptime &&
        dp_bill_rebooted(prev->uptime_cs, prev->at_ms, cur->uptime_cs, cur->at_ms)) {
        /* counters restarted: cur is what passed since the restart; an agent-only restart
           keeps counting, so cur - prev (the smaller) is the safe figure then */
        status = DP_BILL_DELTA_REBOOT;
        d = cur->value >= prev->value ? cur->value - prev->value : cur->value;
    } else if (cur->value >= prev->value) {
        status = DP_BILL_DELTA_OK;
        d = cur->value - prev->value;
    } else {
        d = cur->bits == 32 ? (UINT64_C(1) << 32) - prev->value + cur->value
                            : cur->value - prev->value; /* modulo 2^64 */
        bool rate_ok = (double)d / elapsed_s <= max_rate;
        bool plausible = cur->bits == 32 ? (if_speed_bps > 0 ? rate_ok : d < S_HALF_32 && rate_ok)
                                         : d < S_HALF_64 && rate_ok;
        if (!plausible)
            return s_result(DP_BILL_DELTA_RESET, 0);
        status = DP_BILL_DELTA_WRAP;
    }
    if ((double)d / elapsed_s > max_rate)
        return s_result(DP_BILL_DELTA_IMPOSSIBLE, 0);
    return s_result(status, d);
}

//  --------------------------------------------------------------------------
bool dp_bill_rebooted(uint32_t prev_cs, int64_t prev_ms, uint32_t cur_cs, int64_t cur_ms)
{
    if (cur_ms <= prev_ms)
        return cur_cs < prev_cs;
    int64_t elapsed_cs = (cur_ms - prev_ms) / S_CS_PER_MS_DIVISOR;
    int64_t slack_cs = S_UPTIME_SLACK_CS + elapsed_cs / S_UPTIME_SLACK_DIV;
    int64_t d = (int64_t)(uint32_t)(cur_cs - prev_cs); /* advance modulo 2^32 */
    if (d < elapsed_cs - slack_cs)
        return true;
    return cur_cs < prev_cs && d > elapsed_cs + slack_cs;
}

//  --------------------------------------------------------------------------
const char *dp_bill_delta_name(dp_bill_delta_status_t status)
{
    switch (status) {
    case DP_BILL_DELTA_OK:
        return "ok";
    case DP_BILL_DELTA_FIRST:
        return "first";
    case DP_BILL_DELTA_WRAP:
        return "wrap";
    case DP_BILL_DELTA_REBOOT:
        return "reboot";
    case DP_BILL_DELTA_RESET:
        return "reset";
    case DP_BILL_DELTA_IMPOSSIBLE:
        return "impossible";
    case DP_BILL_DELTA_REBASE:
        return "rebase";
    case DP_BILL_DELTA_INVALID:
        return "invalid";
    }
    return "unknown";
}

//  --------------------------------------------------------------------------
uint64_t dp_bill_split(uint64_t total, int parts, int i)
{
    if (parts <= 1)
        return total;
    uint64_t n = (uint64_t)parts, base = total / n, rem = total % n;
    /* the last rem shares get one byte more */
    return base + ((uint64_t)i >= n - rem ? 1 : 0);
}

// ---------------------------------------------------------------------------- periods

static int s_days_in_month(int year, int month0)
{
    static const int days[S_MONTHS] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month0 == 1 && leap ? 29 : days[month0];
}

//  Start of the period beginning in month (year, month0 may be out of 0..11).
static int64_t s_period_start(int year, int month0, int bill_day)
{
    year += month0 >= 0 ? month0 / S_MONTHS : -((S_MONTHS - 1 - month0) / S_MONTHS);
    month0 = ((month0 % S_MONTHS) + S_MONTHS) % S_MONTHS;
    int dim = s_days_in_month(year, month0);
    struct tm tm = {.tm_year = year - S_EPOCH_YEAR,
                    .tm_mon = month0,
                    .tm_mday = bill_day < dim ? bill_day : dim};
    return (int64_t)timegm(&tm);
}

//  --------------------------------------------------------------------------
int dp_bill_period(int bill_day, int64_t t_s, int offset, int64_t *from_s, int64_t *to_s)
{
    if (bill_day < 1 || bill_day > 31)
        return -1;
    time_t t = (time_t)t_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + S_EPOCH_YEAR, month0 = tm.tm_mon;
    if (t_s < s_period_start(year, month0, bill_day))
        month0--;
    month0 += offset;
    *from_s = s_period_start(year, month0, bill_day);
    *to_s = s_period_start(year, month0 + 1, bill_day);
    return 0;
}

// ---------------------------------------------------------------------------- usage

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

//  --------------------------------------------------------------------------
double dp_bill_percentile(double *values, size_t n, dp_bill_pct_t method)
{
    if (n == 0)
        return 0.0;
    qsort(values, n, sizeof *values, s_cmp_double);
    long idx;
    if (method == DP_BILL_PCT_NEAREST_RANK)
        idx = (long)((S_PCT * n + 99) / 100) - 1;
    else /* as PHP computes it: round(count / 100 * 95) - 2, half away from zero */
        idx = (long)round((double)n / 100.0 * S_PCT) - 2;
    if (idx < 0)
        idx = 0;
    if (idx > (long)n - 1)
        idx = (long)n - 1;
    return values[idx];
}

typedef struct {
    int64_t bucket; /* bucket start */
    int64_t period; /* SUM(period) */
    uint64_t in;    /* SUM(in_delta) */
    uint64_t out;   /* SUM(out_delta) */
} s_bucket_t;

static int s_cmp_bucket(const void *a, const void *b)
{
    int64_t x = ((const s_bucket_t *)a)->bucket, y = ((const s_bucket_t *)b)->bucket;
    return x < y ? -1 : x > y ? 1 : 0;
}

//  Merges rows into sorted distinct buckets (in place over b); returns the count.
static size_t s_bucketise(const dp_bill_sample_t *rows, size_t n, int64_t bucket_s, s_bucket_t *b)
{
    for (size_t i = 0; i < n; i++) {
        int64_t ts = rows[i].ts_s;
        int64_t q = ts >= 0 ? ts / bucket_s : -((-ts + bucket_s - 1) / bucket_s);
        b[i] = (s_bucket_t){q * bucket_s, rows[i].period_s, rows[i].in_octets, rows[i].out_octets};
    }
    qsort(b, n, sizeof *b, s_cmp_bucket);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && b[m - 1].bucket == b[i].bucket) {
            b[m - 1].period += b[i].period;
            b[m - 1].in += b[i].in;
            b[m - 1].out += b[i].out;
        } else
            b[m++] = b[i];
    }
    return m;
}

static double s_max(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > m)
            m = v[i];
    return m;
}

//  --------------------------------------------------------------------------
int dp_bill_summarise(const dp_bill_sample_t *rows, size_t n, int64_t bucket_s,
                      dp_bill_pct_t method, dp_bill_usage_t *out)
{
    memset(out, 0, sizeof *out);
    if (bucket_s <= 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        out->total_in += rows[i].in_octets;
        out->total_out += rows[i].out_octets;
        out->seconds += rows[i].period_s;
    }
    out->rows = n;
    out->total = out->total_in + out->total_out;
    if (out->seconds > 0) {
        out->avg_in_bps = (double)out->total_in * S_BITS_PER_BYTE / (double)out->seconds;
        out->avg_out_bps = (double)out->total_out * S_BITS_PER_BYTE / (double)out->seconds;
        out->avg_bps = (double)out->total * S_BITS_PER_BYTE / (double)out->seconds;
    }
    if (n == 0)
        return 0;
    s_bucket_t *b = malloc(n * sizeof *b);
    double *rate = malloc(3 * n * sizeof *rate);
    if (!b || !rate)
        abort();
    size_t m = s_bucketise(rows, n, bucket_s, b), k = 0;
    double *in = rate, *outr = rate + n, *agg = rate + 2 * n;
    for (size_t i = 0; i < m; i++) {
        if (b[i].period <= 0)
            continue; /* a rate needs a duration */
        double secs = (double)b[i].period;
        in[k] = (double)b[i].in * S_BITS_PER_BYTE / secs;
        outr[k] = (double)b[i].out * S_BITS_PER_BYTE / secs;
        agg[k] = (double)(b[i].in + b[i].out) * S_BITS_PER_BYTE / secs;
        k++;
    }
    out->buckets = k;
    out->peak_in_bps = s_max(in, k);
    out->peak_out_bps = s_max(outr, k);
    out->p95_in_bps = dp_bill_percentile(in, k, method);
    out->p95_out_bps = dp_bill_percentile(outr, k, method);
    out->p95_agg_bps = dp_bill_percentile(agg, k, method);
    free(rate);
    free(b);
    return 0;
}

// ---------------------------------------------------------------------------- verdicts

void dp_bill_judge(const dp_bill_t *bill, const dp_bill_usage_t *u, dp_bill_verdict_t *out)
{
    memset(out, 0, sizeof *out);
    if (bill->agg) {
        out->rate_95th = u->p95_agg_bps;
        strcpy(out->dir_95th, "agg");
    } else if (u->p95_out_bps > u->p95_in_bps) {
        out->rate_95th = u->p95_out_bps;
        strcpy(out->dir_95th, "out");
    } else {
        out->rate_95th = u->p95_in_bps;
        strcpy(out->dir_95th, "in");
    }
    if (bill->type == DP_BILL_CDR) {
        out->allowed = bill->cdr_bps;
        out->used = (uint64_t)llround(out->rate_95th);
    } else {
        out->allowed = bill->quota;
        out->used = u->total;
    }
    out->overuse = out->used > out->allowed ? out->used - out->allowed : 0;
    out->percent = out->allowed ? (double)out->used * 100.0 / (double)out->allowed : 0.0;
}

//  --------------------------------------------------------------------------
int dp_bill_type_parse(const char *text, dp_bill_type_t *out)
{
    if (text && strcasecmp(text, "cdr") == 0)
        *out = DP_BILL_CDR;
    else if (text && strcasecmp(text, "quota") == 0)
        *out = DP_BILL_QUOTA;
    else
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
const char *dp_bill_type_name(dp_bill_type_t type)
{
    return type == DP_BILL_QUOTA ? "quota" : "cdr";
}

// ---------------------------------------------------------------------------- database

#define S_HISTORY_UPSERT                                                                           \
    "INSERT INTO bill_history (bill_id, updated, bill_datefrom, bill_dateto, bill_type,"           \
    " bill_allowed, bill_used, bill_overuse, bill_percent, rate_95th_in, rate_95th_out,"           \
    " rate_95th, dir_95th, rate_average, rate_average_in, rate_average_out, traf_in, traf_out,"    \
    " traf_total, bill_peak_in, bill_peak_out)"                                                    \
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, LEAST(?, 99999999.99), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  \
    " ON DUPLICATE KEY UPDATE updated = VALUES(updated), bill_type = VALUES(bill_type),"           \
    " bill_allowed = VALUES(bill_allowed), bill_used = VALUES(bill_used),"                         \
    " bill_overuse = VALUES(bill_overuse), bill_percent = VALUES(bill_percent),"                   \
    " rate_95th_in = VALUES(rate_95th_in), rate_95th_out = VALUES(rate_95th_out),"                 \
    " rate_95th = VALUES(rate_95th), dir_95th = VALUES(dir_95th),"                                 \
    " rate_average = VALUES(rate_average), rate_average_in = VALUES(rate_average_in),"             \
    " rate_average_out = VALUES(rate_average_out), traf_in = VALUES(traf_in),"                     \
    " traf_out = VALUES(traf_out), traf_total = VALUES(traf_total),"                               \
    " bill_peak_in = VALUES(bill_peak_in), bill_peak_out = VALUES(bill_peak_out)"

#define S_BILL_UPDATE                                                                              \
    "UPDATE bills SET rate_95th_in = ?, rate_95th_out = ?, rate_95th = ?, dir_95th = ?,"           \
    " total_data = ?, total_data_in = ?, total_data_out = ?, rate_average_in = ?,"                 \
    " rate_average_out = ?, rate_average = ?, bill_last_calc = ? WHERE bill_id = ?"

//  --------------------------------------------------------------------------
int dp_bill_load(dp_db_t *db, uint64_t bill_id, dp_bill_t *out, dp_err_t *err)
{
    dp_db_stmt_t *s =
        dp_db_cached(db,
                     "SELECT bill_name, bill_type, COALESCE(bill_cdr, 0), bill_day,"
                     " COALESCE(bill_quota, 0), dir_95th FROM bills WHERE bill_id = ?",
                     DP_DB_IDEMPOTENT, err);
    if (!s || dp_db_query(s, err, "u", bill_id) != 0)
        return -1;
    int rc = dp_db_fetch(s);
    if (rc != 1) {
        while (rc == 1)
            rc = dp_db_fetch(s);
        return dp_err_set(err, rc < 0 ? DP_ERR_DB : DP_ERR_NOTFOUND,
                          rc < 0 ? "reading bill %llu failed" : "no bill with id %llu",
                          (unsigned long long)bill_id);
    }
    memset(out, 0, sizeof *out);
    out->bill_id = bill_id;
    const char *name = dp_db_col_str(s, 0);
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    if (dp_bill_type_parse(dp_db_col_str(s, 1), &out->type) != 0)
        out->type = DP_BILL_CDR;
    out->cdr_bps = dp_db_col_uint(s, 2);
    out->day = (int)dp_db_col_int(s, 3);
    if (out->day < 1 || out->day > 31)
        out->day = 1;
    out->quota = dp_db_col_uint(s, 4);
    const char *dir = dp_db_col_str(s, 5);
    out->agg = dir && strcasecmp(dir, "agg") == 0;
    while (dp_db_fetch(s) == 1)
        ;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_bill_usage(dp_db_t *db, uint64_t bill_id, int64_t from_s, int64_t to_s, int64_t bucket_s,
                  dp_bill_pct_t method, dp_bill_usage_t *out, dp_err_t *err)
{
    memset(out, 0, sizeof *out);
    dp_db_stmt_t *s = dp_db_cached(db,
                                   "SELECT `timestamp`, period, in_delta, out_delta FROM bill_data"
                                   " WHERE bill_id = ? AND `timestamp` > ? AND `timestamp` <= ?",
                                   DP_DB_IDEMPOTENT, err);
    if (!s || dp_db_query(s, err, "utt", bill_id, from_s * S_MS_PER_S, to_s * S_MS_PER_S) != 0)
        return -1;
    size_t n = 0, cap = 0;
    dp_bill_sample_t *rows = NULL;
    int rc;
    while ((rc = dp_db_fetch(s)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            rows = realloc(rows, cap * sizeof *rows);
            if (!rows)
                abort();
        }
        rows[n++] = (dp_bill_sample_t){dp_db_col_time_ms(s, 0) / S_MS_PER_S, dp_db_col_int(s, 1),
                                       dp_db_col_uint(s, 2), dp_db_col_uint(s, 3)};
    }
    if (rc < 0) {
        free(rows);
        return dp_err_set(err, DP_ERR_DB, "reading bill_data of bill %llu failed",
                          (unsigned long long)bill_id);
    }
    rc = dp_bill_summarise(rows, n, bucket_s, method, out);
    free(rows);
    return rc == 0 ? 0 : dp_err_set(err, DP_ERR_CONFIG, "bad bucket %lld s", (long long)bucket_s);
}

//  Upserts the bill_history row of [from_s, to_s).
static int s_store_history(dp_db_t *db, const dp_bill_t *bill, int64_t now_s, int64_t from_s,
                           int64_t to_s, const dp_bill_usage_t *u, const dp_bill_verdict_t *v,
                           dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(db, S_HISTORY_UPSERT, DP_DB_IDEMPOTENT, err);
    if (!s)
        return -1;
    return dp_db_exec(s, err, "utttsuuuddddsddduuudd", bill->bill_id, now_s * S_MS_PER_S,
                      from_s * S_MS_PER_S, (to_s - 1) * S_MS_PER_S, dp_bill_type_name(bill->type),
                      v->allowed, v->used, v->overuse, v->percent, u->p95_in_bps, u->p95_out_bps,
                      v->rate_95th, v->dir_95th, u->avg_bps, u->avg_in_bps, u->avg_out_bps,
                      u->total_in, u->total_out, u->total, u->peak_in_bps, u->peak_out_bps);
}

//  Writes the current figures into the bills row.
static int s_store_bill(dp_db_t *db, const dp_bill_t *bill, int64_t now_s, const dp_bill_usage_t *u,
                        const dp_bill_verdict_t *v, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(db, S_BILL_UPDATE, DP_DB_IDEMPOTENT, err);
    if (!s)
        return -1;
    return dp_db_exec(s, err, "dddsuuudddtu", u->p95_in_bps, u->p95_out_bps, v->rate_95th,
                      v->dir_95th, u->total, u->total_in, u->total_out, u->avg_in_bps,
                      u->avg_out_bps, u->avg_bps, now_s * S_MS_PER_S, bill->bill_id);
}

//  --------------------------------------------------------------------------
int dp_bill_calculate(dp_db_t *db, const dp_bill_t *bill, int64_t now_s, int offset,
                      int64_t bucket_s, dp_bill_pct_t method, dp_bill_usage_t *u,
                      dp_bill_verdict_t *v, dp_err_t *err)
{
    dp_bill_usage_t usage;
    dp_bill_verdict_t verdict;
    int64_t from_s, to_s;
    if (dp_bill_period(bill->day, now_s, offset, &from_s, &to_s) != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "bill %llu: bad bill_day %d",
                          (unsigned long long)bill->bill_id, bill->day);
    if (dp_bill_usage(db, bill->bill_id, from_s, to_s, bucket_s, method, &usage, err) != 0)
        return -1;
    dp_bill_judge(bill, &usage, &verdict);
    if (usage.rows > 0 &&
        s_store_history(db, bill, now_s, from_s, to_s, &usage, &verdict, err) != 0)
        return -1;
    if (offset == 0 && s_store_bill(db, bill, now_s, &usage, &verdict, err) != 0)
        return -1;
    if (u)
        *u = usage;
    if (v)
        *v = verdict;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_bill_needs_close(dp_db_t *db, const dp_bill_t *bill, int64_t now_s, bool *out, dp_err_t *err)
{
    int64_t from_s, to_s;
    *out = false;
    if (dp_bill_period(bill->day, now_s, -1, &from_s, &to_s) != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "bad bill_day %d", bill->day);
    dp_db_stmt_t *s = dp_db_cached(db,
                                   "SELECT (SELECT MAX(updated) FROM bill_history WHERE bill_id = ?"
                                   " AND bill_datefrom = ? AND bill_dateto = ?),"
                                   " EXISTS(SELECT 1 FROM bill_data WHERE bill_id = ?"
                                   " AND `timestamp` > ? AND `timestamp` <= ?)",
                                   DP_DB_IDEMPOTENT, err);
    if (!s ||
        dp_db_query(s, err, "uttutt", bill->bill_id, from_s * S_MS_PER_S, (to_s - 1) * S_MS_PER_S,
                    bill->bill_id, from_s * S_MS_PER_S, to_s * S_MS_PER_S) != 0)
        return -1;
    if (dp_db_fetch(s) == 1) {
        bool has_data = dp_db_col_int(s, 1) != 0;
        bool fresh = !dp_db_col_is_null(s, 0) && dp_db_col_time_ms(s, 0) >= to_s * S_MS_PER_S;
        *out = has_data && !fresh;
    }
    while (dp_db_fetch(s) == 1)
        ;
    return 0;
}
