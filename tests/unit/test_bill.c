/*  test_bill.c - dp_bill: counter deltas (wraps, reboots, impossible rates), gap splits,
    billing periods, the 95th percentile definitions and quota/CDR verdicts, all on hand-made
    series whose answers are worked out in the comments.
    SPDX-License-Identifier: MIT */
#include "dp_bill.h"
#include "dp_test.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#define GBIT       UINT64_C(1000000000)
#define MBIT       UINT64_C(1000000)
#define NEAR(a, b) (fabs((a) - (b)) < 1e-6)

static dp_bill_reading_t s_rd(uint64_t v, int bits, int64_t at_ms)
{
    dp_bill_reading_t r = {true, v, bits, at_ms, false, 0};
    return r;
}

static dp_bill_reading_t s_rdu(uint64_t v, int bits, int64_t at_ms, uint32_t uptime_cs)
{
    dp_bill_reading_t r = {true, v, bits, at_ms, true, uptime_cs};
    return r;
}

static int64_t s_utc(int y, int mon, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm);
}

DP_TEST(bill_delta_plain_first_and_rebase)
{
    dp_bill_reading_t a = s_rd(1000, 64, 0), b = s_rd(2000, 64, 10000);
    dp_bill_delta_t d = dp_bill_counter_delta(&a, &b, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_OK);
    CHECK_EQ_INT(d.octets, 1000);
    d = dp_bill_counter_delta(NULL, &b, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_FIRST);
    CHECK_EQ_INT(d.octets, 0);
    dp_bill_reading_t c32 = s_rd(3000, 32, 20000); /* HC vanished: no cross-width delta */
    d = dp_bill_counter_delta(&b, &c32, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_REBASE);
    CHECK_EQ_INT(d.octets, 0);
    dp_bill_reading_t same_time = s_rd(3000, 64, 10000);
    CHECK_EQ_INT(dp_bill_counter_delta(&b, &same_time, GBIT).status, DP_BILL_DELTA_REBASE);
    dp_bill_reading_t too_wide = s_rd(UINT64_C(1) << 33, 32, 30000);
    CHECK_EQ_INT(dp_bill_counter_delta(&b, &too_wide, GBIT).status, DP_BILL_DELTA_INVALID);
}

DP_TEST(bill_delta_wraps_32_and_64)
{
    /* 32 bits: 2^32 - 4294967000 + 704 = 296 + 704 = 1000 */
    dp_bill_reading_t a = s_rd(4294967000u, 32, 0), b = s_rd(704, 32, 300000);
    dp_bill_delta_t d = dp_bill_counter_delta(&a, &b, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_WRAP);
    CHECK_EQ_INT(d.octets, 1000);
    /* same without a known speed: 1000 < 2^31, still a wrap */
    d = dp_bill_counter_delta(&a, &b, 0);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_WRAP);
    CHECK_EQ_INT(d.octets, 1000);
    /* 64 bits: (2^64 - 500) -> 500 is 1000 octets */
    dp_bill_reading_t c = s_rd(UINT64_MAX - 499, 64, 0), e = s_rd(500, 64, 300000);
    d = dp_bill_counter_delta(&c, &e, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_WRAP);
    CHECK_EQ_INT(d.octets, 1000);
    /* 64-bit counter going back from a low value: not a wrap, a reset: nothing billed */
    dp_bill_reading_t f = s_rd(5000000000ull, 64, 0), g = s_rd(100, 64, 300000);
    d = dp_bill_counter_delta(&f, &g, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_RESET);
    CHECK_EQ_INT(d.octets, 0);
    /* 32 bits, no speed, 100 -> 50: a "wrap" of 2^32 - 50 bytes is not plausible */
    dp_bill_reading_t h = s_rd(100, 32, 0), i = s_rd(50, 32, 300000);
    CHECK_EQ_INT(dp_bill_counter_delta(&h, &i, 0).status, DP_BILL_DELTA_RESET);
    /* 32 bits on a 10 Mbit/s port: a wrap of ~2^32 in 300 s would be 114 Mbit/s: reset */
    dp_bill_reading_t j = s_rd(3000000000u, 32, 0), k = s_rd(2000000000u, 32, 300000);
    CHECK_EQ_INT(dp_bill_counter_delta(&j, &k, 10 * MBIT).status, DP_BILL_DELTA_RESET);
}

DP_TEST(bill_delta_reboot_mid_period_bills_no_spike)
{
    /* 64-bit port at 5e9 octets, agent up 10 days; 300 s later the device has been up 100 s
       and the counter restarted at 0 and reads 1.5e6: bill 1.5e6 (traffic since boot), not
       the 2^64-sized "wrap", and not 5e9 of history */
    dp_bill_reading_t a = s_rdu(5000000000ull, 64, 0, 86400000u);
    dp_bill_reading_t b = s_rdu(1500000, 64, 300000, 10000u);
    dp_bill_delta_t d = dp_bill_counter_delta(&a, &b, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_REBOOT);
    CHECK_EQ_INT(d.octets, 1500000);
    /* a 32-bit counter where a wrap would look plausible (296 MB): the uptime says reboot */
    dp_bill_reading_t c = s_rdu(4000000000u, 32, 0, 86400000u);
    dp_bill_reading_t e = s_rdu(1000000, 32, 300000, 10000u);
    d = dp_bill_counter_delta(&c, &e, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_REBOOT);
    CHECK_EQ_INT(d.octets, 1000000);
    /* agent restart only (counters kept counting): cur - prev, the smaller figure */
    dp_bill_reading_t f = s_rdu(1000, 64, 0, 86400000u), g = s_rdu(5000, 64, 300000, 500u);
    d = dp_bill_counter_delta(&f, &g, GBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_REBOOT);
    CHECK_EQ_INT(d.octets, 4000);
    /* uptime that advanced normally is no reboot, also across its 2^32 wrap */
    CHECK(!dp_bill_rebooted(4294967000u, 0, 29704u, 300000));
    CHECK(dp_bill_rebooted(86400000u, 0, 10000u, 300000));
}

DP_TEST(bill_delta_impossible_rate_discarded)
{
    /* 100 Mbit/s port: at most 100e6 / 8 * 1.1 = 13.75e6 octets/s, 4.125e9 in 300 s */
    dp_bill_reading_t a = s_rd(0, 64, 0), b = s_rd(4125000000ull, 64, 300000);
    CHECK_EQ_INT(dp_bill_counter_delta(&a, &b, 100 * MBIT).status, DP_BILL_DELTA_OK);
    b.value = 5000000000ull;
    dp_bill_delta_t d = dp_bill_counter_delta(&a, &b, 100 * MBIT);
    CHECK_EQ_INT(d.status, DP_BILL_DELTA_IMPOSSIBLE);
    CHECK_EQ_INT(d.octets, 0);
    /* unknown speed: the 1 Tbit/s ceiling still catches a garbage jump */
    b.value = UINT64_C(1) << 62;
    CHECK_EQ_INT(dp_bill_counter_delta(&a, &b, 0).status, DP_BILL_DELTA_IMPOSSIBLE);
}

DP_TEST(bill_split_sums_exactly)
{
    CHECK_EQ_INT(dp_bill_split(10, 3, 0), 3);
    CHECK_EQ_INT(dp_bill_split(10, 3, 1), 3);
    CHECK_EQ_INT(dp_bill_split(10, 3, 2), 4);
    CHECK_EQ_INT(dp_bill_split(7, 1, 0), 7);
    uint64_t sum = 0;
    for (int i = 0; i < 288; i++)
        sum += dp_bill_split(1000003, 288, i);
    CHECK_EQ_INT(sum, 1000003);
}

DP_TEST(bill_periods_from_billing_day)
{
    int64_t from, to;
    CHECK_EQ_INT(dp_bill_period(1, s_utc(2024, 3, 15, 12, 0, 0), 0, &from, &to), 0);
    CHECK_EQ_INT(from, s_utc(2024, 3, 1, 0, 0, 0));
    CHECK_EQ_INT(to, s_utc(2024, 4, 1, 0, 0, 0));
    /* the billing day itself starts the new period */
    dp_bill_period(15, s_utc(2024, 3, 15, 0, 0, 0), 0, &from, &to);
    CHECK_EQ_INT(from, s_utc(2024, 3, 15, 0, 0, 0));
    CHECK_EQ_INT(to, s_utc(2024, 4, 15, 0, 0, 0));
    dp_bill_period(15, s_utc(2024, 3, 15, 0, 0, 0), -1, &from, &to);
    CHECK_EQ_INT(from, s_utc(2024, 2, 15, 0, 0, 0));
    CHECK_EQ_INT(to, s_utc(2024, 3, 15, 0, 0, 0));
    dp_bill_period(15, s_utc(2024, 3, 14, 23, 59, 59), 0, &from, &to);
    CHECK_EQ_INT(from, s_utc(2024, 2, 15, 0, 0, 0));
    /* day 31 in February (leap year): the 29th */
    dp_bill_period(31, s_utc(2024, 2, 29, 12, 0, 0), 0, &from, &to);
    CHECK_EQ_INT(from, s_utc(2024, 2, 29, 0, 0, 0));
    CHECK_EQ_INT(to, s_utc(2024, 3, 31, 0, 0, 0));
    dp_bill_period(31, s_utc(2024, 2, 28, 12, 0, 0), 0, &from, &to);
    CHECK_EQ_INT(from, s_utc(2024, 1, 31, 0, 0, 0));
    CHECK_EQ_INT(to, s_utc(2024, 2, 29, 0, 0, 0));
    /* across the year */
    dp_bill_period(31, s_utc(2024, 1, 5, 0, 0, 0), 0, &from, &to);
    CHECK_EQ_INT(from, s_utc(2023, 12, 31, 0, 0, 0));
    dp_bill_period(1, s_utc(2024, 1, 5, 0, 0, 0), -1, &from, &to);
    CHECK_EQ_INT(from, s_utc(2023, 12, 1, 0, 0, 0));
    CHECK_EQ_INT(to, s_utc(2024, 1, 1, 0, 0, 0));
    CHECK_EQ_INT(dp_bill_period(0, 0, 0, &from, &to), -1);
}

DP_TEST(bill_percentile_definitions)
{
    double v[100];
    /* 1..20 shuffled: LibreNMS index round(19) - 2 = 17 -> 18; nearest rank ceil(19) - 1 = 18
       -> 19 */
    for (int i = 0; i < 20; i++)
        v[i] = (double)((i * 7) % 20 + 1);
    CHECK(NEAR(dp_bill_percentile(v, 20, DP_BILL_PCT_LIBRENMS), 18));
    CHECK(NEAR(dp_bill_percentile(v, 20, DP_BILL_PCT_NEAREST_RANK), 19));
    /* 10 values 10..100: round(9.5) = 10 (half away from zero) - 2 = 8 -> 90; ceil(9.5) - 1 = 9
       -> 100 */
    for (int i = 0; i < 10; i++)
        v[i] = 100.0 - 10.0 * i;
    CHECK(NEAR(dp_bill_percentile(v, 10, DP_BILL_PCT_LIBRENMS), 90));
    CHECK(NEAR(dp_bill_percentile(v, 10, DP_BILL_PCT_NEAREST_RANK), 100));
    /* 1..100: index 93 -> 94 and index 94 -> 95 */
    for (int i = 0; i < 100; i++)
        v[i] = (double)(100 - i);
    CHECK(NEAR(dp_bill_percentile(v, 100, DP_BILL_PCT_LIBRENMS), 94));
    CHECK(NEAR(dp_bill_percentile(v, 100, DP_BILL_PCT_NEAREST_RANK), 95));
    /* one sample: round(0.95) - 2 = -1, clamped to 0 */
    v[0] = 42;
    CHECK(NEAR(dp_bill_percentile(v, 1, DP_BILL_PCT_LIBRENMS), 42));
    CHECK(NEAR(dp_bill_percentile(v, 0, DP_BILL_PCT_LIBRENMS), 0));
}

DP_TEST(bill_summary_with_missing_samples)
{
    /* ten 300 s intervals ending at 300..3000; the ones ending at 1200 and 2400 are missing.
       in octets give 1000..8000 bit/s (37500 octets per 300 s = 1000 bit/s); out is zero.
       Present buckets n = 8 (missing ones are not samples): LibreNMS index round(7.6) - 2 = 6
       -> 7000; nearest rank ceil(7.6) - 1 = 7 -> 8000. total 37500 * 36 = 1350000 octets over
       2400 s -> average 4500 bit/s. */
    static const int64_t ts[] = {300, 600, 900, 1500, 1800, 2100, 2700, 3000};
    static const int kbps[] = {3, 8, 1, 5, 2, 7, 4, 6};
    dp_bill_sample_t rows[8];
    for (int i = 0; i < 8; i++)
        rows[i] = (dp_bill_sample_t){ts[i], 300, (uint64_t)kbps[i] * 37500, 0};
    dp_bill_usage_t u;
    CHECK_EQ_INT(dp_bill_summarise(rows, 8, 300, DP_BILL_PCT_LIBRENMS, &u), 0);
    CHECK_EQ_INT(u.buckets, 8);
    CHECK_EQ_INT(u.total_in, 1350000);
    CHECK_EQ_INT(u.total, 1350000);
    CHECK_EQ_INT(u.seconds, 2400);
    CHECK(NEAR(u.avg_in_bps, 4500));
    CHECK(NEAR(u.p95_in_bps, 7000));
    CHECK(NEAR(u.peak_in_bps, 8000));
    CHECK(NEAR(u.p95_out_bps, 0));
    CHECK_EQ_INT(dp_bill_summarise(rows, 8, 300, DP_BILL_PCT_NEAREST_RANK, &u), 0);
    CHECK(NEAR(u.p95_in_bps, 8000));
    CHECK_EQ_INT(dp_bill_summarise(rows, 8, 0, DP_BILL_PCT_LIBRENMS, &u), -1);
}

DP_TEST(bill_summary_buckets_merge_split_rows)
{
    /* two rows in one 300 s bucket (e.g. written by two groups' runners) are one sample:
       (30000 + 45000) * 8 / (150 + 150) = 2000 bit/s, not two samples of 1600 and 2400 */
    dp_bill_sample_t rows[] = {{310, 150, 30000, 0}, {320, 150, 45000, 0}, {600, 300, 0, 0}};
    dp_bill_usage_t u;
    dp_bill_summarise(rows, 3, 300, DP_BILL_PCT_NEAREST_RANK, &u);
    CHECK_EQ_INT(u.buckets, 2);
    CHECK(NEAR(u.p95_in_bps, 2000));
    CHECK(NEAR(u.peak_in_bps, 2000));
}

DP_TEST(bill_aggregate_and_direction)
{
    /* 1 s buckets: in 80 0 40 8, out 0 80 40 8 bit/s, agg 80 80 80 16.
       n = 4, LibreNMS index round(3.8) - 2 = 2: in 40, out 40, agg 80 (sorted 16 80 80 80) */
    dp_bill_sample_t rows[] = {{1, 1, 10, 0}, {2, 1, 0, 10}, {3, 1, 5, 5}, {4, 1, 1, 1}};
    dp_bill_usage_t u;
    dp_bill_summarise(rows, 4, 1, DP_BILL_PCT_LIBRENMS, &u);
    CHECK(NEAR(u.p95_in_bps, 40));
    CHECK(NEAR(u.p95_out_bps, 40));
    CHECK(NEAR(u.p95_agg_bps, 80));
    dp_bill_t bill = {.bill_id = 1, .type = DP_BILL_CDR, .cdr_bps = 50, .day = 1};
    dp_bill_verdict_t v;
    dp_bill_judge(&bill, &u, &v);
    CHECK_EQ_STR(v.dir_95th, "in"); /* tie -> in */
    CHECK(NEAR(v.rate_95th, 40));
    CHECK_EQ_INT(v.overuse, 0);
    CHECK(NEAR(v.percent, 80));
    bill.agg = true;
    dp_bill_judge(&bill, &u, &v);
    CHECK_EQ_STR(v.dir_95th, "agg");
    CHECK_EQ_INT(v.used, 80);
    CHECK_EQ_INT(v.overuse, 30);
    CHECK(NEAR(v.percent, 160));
}

DP_TEST(bill_quota_verdict)
{
    dp_bill_usage_t u = {.total_in = 150000000,
                         .total_out = 100000000,
                         .total = 250000000,
                         .p95_in_bps = 10,
                         .p95_out_bps = 20};
    dp_bill_t bill = {.bill_id = 2, .type = DP_BILL_QUOTA, .quota = 1000000000, .day = 1};
    dp_bill_verdict_t v;
    dp_bill_judge(&bill, &u, &v);
    CHECK_EQ_INT(v.allowed, 1000000000);
    CHECK_EQ_INT(v.used, 250000000);
    CHECK_EQ_INT(v.overuse, 0);
    CHECK(NEAR(v.percent, 25));
    CHECK_EQ_STR(v.dir_95th, "out");
    bill.quota = 200000000;
    dp_bill_judge(&bill, &u, &v);
    CHECK_EQ_INT(v.overuse, 50000000);
    CHECK(NEAR(v.percent, 125));
    bill.quota = 0;
    dp_bill_judge(&bill, &u, &v);
    CHECK(NEAR(v.percent, 0));
    dp_bill_type_t t;
    CHECK_EQ_INT(dp_bill_type_parse("QUOTA", &t), 0);
    CHECK_EQ_INT(t, DP_BILL_QUOTA);
    CHECK_EQ_INT(dp_bill_type_parse("95th", &t), -1);
}
