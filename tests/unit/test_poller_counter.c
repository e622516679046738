/*  test_poller_counter.c - poller_counter: deltas, rates over real elapsed time,
    32/64-bit wraps, resets, overspeed, bad time and sysUpTime reboot detection.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../poller/poller_counter.h"

#include <math.h>

#define T0_MS   INT64_C(1700000000000)
#define TOP32   UINT64_C(4294967295)
#define TOP64   UINT64_MAX
#define GIG_BPS UINT64_C(1000000000)
#define DAY_CS  UINT32_C(8640000)
#define WRAP32  (UINT64_C(1) << 32)

static poller_counter_sample_t s_at(uint64_t value, int64_t at_ms)
{
    poller_counter_sample_t s = {value, at_ms, true};
    return s;
}

static bool s_near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}

DP_TEST(poller_counter_normal)
{
    poller_counter_result_t r =
        poller_counter_delta(s_at(1000, T0_MS), s_at(31000, T0_MS + 300000), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OK);
    CHECK_EQ_INT(r.delta, 30000);
    CHECK(s_near(r.rate, 100.0));
    /* no change is a valid zero rate */
    r = poller_counter_delta(s_at(5, T0_MS), s_at(5, T0_MS + 300000), 32, false, 1000);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OK);
    CHECK_EQ_INT(r.delta, 0);
    CHECK(r.rate == 0.0);
}

DP_TEST(poller_counter_rate_uses_real_elapsed_time)
{
    /* 301.5 s, not the nominal 300 s */
    poller_counter_result_t r =
        poller_counter_delta(s_at(0, T0_MS), s_at(603000, T0_MS + 301500), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OK);
    CHECK_EQ_INT(r.delta, 603000);
    CHECK(s_near(r.rate, 2000.0));
    /* a late poll (599.9 s) of a 64-bit counter with big values stays exact */
    uint64_t base = UINT64_C(1) << 50;
    r = poller_counter_delta(s_at(base, T0_MS), s_at(base + 5999, T0_MS + 599900), 64, false, 0);
    CHECK_EQ_INT(r.delta, 5999);
    CHECK(s_near(r.rate, 10.0));
    /* 1 ms elapsed is still a real interval */
    r = poller_counter_delta(s_at(10, T0_MS), s_at(11, T0_MS + 1), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OK);
    CHECK(s_near(r.rate, 1000.0));
}

DP_TEST(poller_counter_first_sample)
{
    poller_counter_sample_t none = {0, 0, false};
    poller_counter_result_t r = poller_counter_delta(none, s_at(42, T0_MS), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_FIRST);
    CHECK_EQ_INT(r.delta, 0);
    CHECK(r.rate == 0.0);
    CHECK_EQ_STR(poller_counter_status_name(r.status), "first");
}

DP_TEST(poller_counter_invalid_input)
{
    poller_counter_sample_t none = {0, 0, false};
    poller_counter_result_t r = poller_counter_delta(s_at(1, T0_MS), none, 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_INVALID);
    r = poller_counter_delta(s_at(1, T0_MS), s_at(2, T0_MS + 1000), 16, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_INVALID);
    /* a Counter32 cannot hold 2^32 */
    r = poller_counter_delta(s_at(1, T0_MS), s_at(WRAP32, T0_MS + 1000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_INVALID);
    r = poller_counter_delta(s_at(WRAP32, T0_MS), s_at(1, T0_MS + 1000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_INVALID);
    CHECK_EQ_STR(poller_counter_status_name(r.status), "invalid");
}

DP_TEST(poller_counter_wrap_32)
{
    /* 1000 below the top, then 2000 past zero: 3000 in 300 s */
    poller_counter_result_t r =
        poller_counter_delta(s_at(TOP32 - 999, T0_MS), s_at(2000, T0_MS + 300000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_WRAP);
    CHECK_EQ_INT(r.delta, 3000);
    CHECK(s_near(r.rate, 10.0));
    /* exactly at the top to zero is a delta of one */
    r = poller_counter_delta(s_at(TOP32, T0_MS), s_at(0, T0_MS + 1000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_WRAP);
    CHECK_EQ_INT(r.delta, 1);
    /* with a limit, a large wrap that fits the link speed is still a wrap:
       100 Mbit/s, 2.5e9 bytes in 300 s = 8.3 MB/s < 13.75 MB/s */
    double max = poller_counter_max_octet_rate(100000000);
    r = poller_counter_delta(s_at(3000000000u, T0_MS), s_at(1205032704u, T0_MS + 300000), 32, false,
                             max);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_WRAP);
    CHECK_EQ_INT(r.delta, WRAP32 - 3000000000u + 1205032704u);
    CHECK(r.rate <= max);
}

DP_TEST(poller_counter_wrap_64)
{
    poller_counter_result_t r =
        poller_counter_delta(s_at(TOP64 - 99, T0_MS), s_at(400, T0_MS + 300000), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_WRAP);
    CHECK_EQ_INT(r.delta, 500);
    CHECK(s_near(r.rate, 500.0 / 300.0));
    /* also with a plausible rate limit */
    r = poller_counter_delta(s_at(TOP64 - 99, T0_MS), s_at(400, T0_MS + 300000), 64, false,
                             poller_counter_max_octet_rate(GIG_BPS));
    CHECK_EQ_INT(r.status, POLLER_COUNTER_WRAP);
    CHECK_EQ_INT(r.delta, 500);
}

DP_TEST(poller_counter_reset_on_reboot)
{
    /* after a reboot the counter restarted: no delta, no spike, even if it
       happens to be higher than before */
    poller_counter_result_t r =
        poller_counter_delta(s_at(900000, T0_MS), s_at(100, T0_MS + 300000), 64, true, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    CHECK_EQ_INT(r.delta, 0);
    CHECK(r.rate == 0.0);
    r = poller_counter_delta(s_at(100, T0_MS), s_at(900000, T0_MS + 300000), 32, true, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    CHECK_EQ_INT(r.delta, 0);
    /* a 32-bit value near the top that would look like a wrap is a reset on reboot */
    r = poller_counter_delta(s_at(TOP32 - 10, T0_MS), s_at(5, T0_MS + 300000), 32, true, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    CHECK_EQ_STR(poller_counter_status_name(r.status), "reset");
}

DP_TEST(poller_counter_backwards_without_reboot_32)
{
    /* no limit: from the bottom half backwards is not a wrap (d >= 2^31) */
    poller_counter_result_t r =
        poller_counter_delta(s_at(1000000, T0_MS), s_at(10, T0_MS + 300000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    CHECK_EQ_INT(r.delta, 0);
    /* boundary: d == 2^31 is a reset, d == 2^31 - 1 a wrap */
    r = poller_counter_delta(s_at(UINT64_C(1) << 31, T0_MS), s_at(0, T0_MS + 300000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    r = poller_counter_delta(s_at((UINT64_C(1) << 31) + 1, T0_MS), s_at(0, T0_MS + 300000), 32,
                             false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_WRAP);
    CHECK_EQ_INT(r.delta, (UINT64_C(1) << 31) - 1);
    /* with a limit: 10 Mbit/s link, wrap would need 4.29e9 - 1e6 bytes in 300 s
       (14 MB/s) > 1.375 MB/s: a reset, not a wrap and not an overspeed */
    r = poller_counter_delta(s_at(1000000, T0_MS), s_at(10, T0_MS + 300000), 32, false,
                             poller_counter_max_octet_rate(10000000));
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    CHECK_EQ_INT(r.delta, 0);
}

DP_TEST(poller_counter_backwards_without_reboot_64)
{
    /* an ordinary 64-bit counter going back is a reset, with or without a limit */
    poller_counter_result_t r = poller_counter_delta(s_at(UINT64_C(123456789012345), T0_MS),
                                                     s_at(77, T0_MS + 300000), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    CHECK_EQ_INT(r.delta, 0);
    r = poller_counter_delta(s_at(UINT64_C(123456789012345), T0_MS), s_at(77, T0_MS + 300000), 64,
                             false, poller_counter_max_octet_rate(GIG_BPS));
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    /* one less is still a reset */
    r = poller_counter_delta(s_at(5000, T0_MS), s_at(4999, T0_MS + 300000), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
    /* near the top but the wrap rate is above the link speed: reset */
    r = poller_counter_delta(s_at(TOP64 - UINT64_C(999999999999), T0_MS), s_at(0, T0_MS + 300000),
                             64, false, poller_counter_max_octet_rate(GIG_BPS));
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
}

DP_TEST(poller_counter_overspeed_discarded)
{
    /* 1 Gbit/s = 125 MB/s, +10 %: 137.5 MB/s allowed */
    double max = poller_counter_max_octet_rate(GIG_BPS);
    CHECK(s_near(max, 137500000.0));
    uint64_t ok_delta = UINT64_C(137500000) * 300;
    poller_counter_result_t r =
        poller_counter_delta(s_at(0, T0_MS), s_at(ok_delta, T0_MS + 300000), 64, false, max);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OK);
    r = poller_counter_delta(s_at(0, T0_MS), s_at(ok_delta + 300, T0_MS + 300000), 64, false, max);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OVERSPEED);
    CHECK_EQ_INT(r.delta, ok_delta + 300);
    CHECK(r.rate > max);
    CHECK_EQ_STR(poller_counter_status_name(r.status), "overspeed");
    /* the same jump without a limit is accepted */
    r = poller_counter_delta(s_at(0, T0_MS), s_at(ok_delta + 300, T0_MS + 300000), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_OK);
    /* a 64-bit wrap whose rate is above the limit is a reset, not a spike */
    r = poller_counter_delta(s_at(TOP64 - 10, T0_MS), s_at(ok_delta * 2, T0_MS + 300000), 64, false,
                             max);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_RESET);
}

DP_TEST(poller_counter_max_octet_rate_unknown_speed)
{
    CHECK(poller_counter_max_octet_rate(0) == 0.0);
    CHECK(s_near(poller_counter_max_octet_rate(UINT64_C(100000000000)), 13750000000.0));
}

DP_TEST(poller_counter_bad_elapsed_time)
{
    poller_counter_result_t r = poller_counter_delta(s_at(1, T0_MS), s_at(2, T0_MS), 64, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_BADTIME);
    CHECK_EQ_INT(r.delta, 0);
    CHECK(r.rate == 0.0);
    r = poller_counter_delta(s_at(1, T0_MS), s_at(2, T0_MS - 5000), 32, false, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_BADTIME);
    CHECK_EQ_STR(poller_counter_status_name(r.status), "badtime");
    /* bad time wins over a reboot flag: nothing can be said about the interval */
    r = poller_counter_delta(s_at(1, T0_MS), s_at(2, T0_MS), 64, true, 0);
    CHECK_EQ_INT(r.status, POLLER_COUNTER_BADTIME);
}

DP_TEST(poller_counter_uptime_normal)
{
    /* 10 days up, polled 300 s later: 30000 cs more */
    uint32_t up = 10 * DAY_CS;
    CHECK(!poller_counter_rebooted(up, T0_MS, up + 30000, T0_MS + 300000));
    /* jitter: 280 s or 320 s of uptime for 300 s of wall time is fine */
    CHECK(!poller_counter_rebooted(up, T0_MS, up + 28000, T0_MS + 300000));
    CHECK(!poller_counter_rebooted(up, T0_MS, up + 32000, T0_MS + 300000));
    /* a poll missed for an hour */
    CHECK(!poller_counter_rebooted(up, T0_MS, up + 360000, T0_MS + 3600000));
}

DP_TEST(poller_counter_uptime_reboot)
{
    uint32_t up = 10 * DAY_CS;
    /* back to 2 minutes */
    CHECK(poller_counter_rebooted(up, T0_MS, 12000, T0_MS + 300000));
    /* back by one tick */
    CHECK(poller_counter_rebooted(up, T0_MS, up - 1, T0_MS + 300000));
    /* was up 10 s, an hour later up only 5 min: rebooted although uptime grew */
    CHECK(poller_counter_rebooted(1000, T0_MS, 30000, T0_MS + 3600000));
    /* elapsed unknown: only going back counts */
    CHECK(poller_counter_rebooted(up, T0_MS, 100, T0_MS));
    CHECK(!poller_counter_rebooted(up, T0_MS, up + 100, T0_MS));
}

DP_TEST(poller_counter_uptime_wrap_vs_reboot)
{
    /* ~497 days: 100 s before the 2^32 wrap, 300 s later uptime reads 200 s */
    uint32_t near_top = (uint32_t)(WRAP32 - 10000);
    CHECK(!poller_counter_rebooted(near_top, T0_MS, 20000, T0_MS + 300000));
    /* same start, but the device came back up only 1 s ago: a reboot */
    CHECK(poller_counter_rebooted(near_top, T0_MS, 100, T0_MS + 300000));
    /* far from the top, a small value is a reboot, not a wrap */
    CHECK(poller_counter_rebooted(3000000000u, T0_MS, 20000, T0_MS + 300000));
    /* exactly at the top, one tick later */
    CHECK(!poller_counter_rebooted(UINT32_MAX, T0_MS, 0, T0_MS + 10));
}
