/*  poller_counter.c - counter maths: deltas and rates between two SNMP samples
    Pure functions; the rules are documented in poller_counter.h.
    SPDX-License-Identifier: MIT */
#include "poller_counter.h"

#include <stddef.h>

#define S_MS_PER_S          1000.0
#define S_CS_PER_MS_DIVISOR 10   /* TimeTicks are centiseconds */
#define S_UPTIME_SLACK_CS   3000 /* 30 s of poll jitter and retries */
#define S_UPTIME_SLACK_DIV  20   /* plus 5 % of the elapsed time */
#define S_HALF_32           (UINT64_C(1) << 31)
#define S_HALF_64           (UINT64_C(1) << 63)
#define S_BITS_PER_BYTE     8.0

//  --------------------------------------------------------------------------
//  Delta when the counter went backwards, modulo 2^bits.

static uint64_t s_wrap_delta(uint64_t prev, uint64_t cur, int bits)
{
    if (bits == 32)
        return (UINT64_C(1) << 32) - prev + cur;
    return cur - prev; /* unsigned arithmetic is modulo 2^64 */
}

//  --------------------------------------------------------------------------
//  True when a backwards step of wrap delta d over elapsed_s is a plausible wrap.

static bool s_wrap_plausible(uint64_t d, double elapsed_s, int bits, double max_rate)
{
    bool rate_ok = max_rate <= 0 || (double)d / elapsed_s <= max_rate;
    if (bits == 32)
        return max_rate > 0 ? rate_ok : d < S_HALF_32;
    return d < S_HALF_64 && rate_ok;
}

//  --------------------------------------------------------------------------

poller_counter_result_t poller_counter_delta(poller_counter_sample_t prev,
                                             poller_counter_sample_t cur, int bits, bool rebooted,
                                             double max_rate)
{
    poller_counter_result_t r = {POLLER_COUNTER_INVALID, 0, 0.0};
    if (!cur.valid || (bits != 32 && bits != 64))
        return r;
    if (bits == 32 && (cur.value > UINT32_MAX || (prev.valid && prev.value > UINT32_MAX)))
        return r;
    if (!prev.valid) {
        r.status = POLLER_COUNTER_FIRST;
        return r;
    }
    if (cur.at_ms <= prev.at_ms) {
        r.status = POLLER_COUNTER_BADTIME;
        return r;
    }
    if (rebooted) {
        r.status = POLLER_COUNTER_RESET;
        return r;
    }
    double elapsed_s = (double)(cur.at_ms - prev.at_ms) / S_MS_PER_S;
    uint64_t d;
    if (cur.value >= prev.value) {
        d = cur.value - prev.value;
        r.status = POLLER_COUNTER_OK;
    } else {
        d = s_wrap_delta(prev.value, cur.value, bits);
        if (!s_wrap_plausible(d, elapsed_s, bits, max_rate)) {
            r.status = POLLER_COUNTER_RESET;
            return r;
        }
        r.status = POLLER_COUNTER_WRAP;
    }
    r.delta = d;
    r.rate = (double)d / elapsed_s;
    if (max_rate > 0 && r.rate > max_rate)
        r.status = POLLER_COUNTER_OVERSPEED;
    return r;
}

//  --------------------------------------------------------------------------

double poller_counter_max_octet_rate(uint64_t if_speed_bps)
{
    if (if_speed_bps == 0)
        return 0.0;
    return (double)if_speed_bps / S_BITS_PER_BYTE * POLLER_COUNTER_SPEED_TOLERANCE;
}

//  --------------------------------------------------------------------------

bool poller_counter_rebooted(uint32_t prev_uptime_cs, int64_t prev_at_ms, uint32_t cur_uptime_cs,
                             int64_t cur_at_ms)
{
    if (cur_at_ms <= prev_at_ms)
        return cur_uptime_cs < prev_uptime_cs;
    int64_t elapsed_cs = (cur_at_ms - prev_at_ms) / S_CS_PER_MS_DIVISOR;
    int64_t slack_cs = S_UPTIME_SLACK_CS + elapsed_cs / S_UPTIME_SLACK_DIV;
    /* advance modulo 2^32: a wrap past 2^32 still gives the true advance */
    int64_t d = (int64_t)(uint32_t)(cur_uptime_cs - prev_uptime_cs);
    if (d < elapsed_cs - slack_cs)
        return true;
    return cur_uptime_cs < prev_uptime_cs && d > elapsed_cs + slack_cs;
}

//  --------------------------------------------------------------------------

const char *poller_counter_status_name(poller_counter_status_t status)
{
    switch (status) {
    case POLLER_COUNTER_OK:
        return "ok";
    case POLLER_COUNTER_FIRST:
        return "first";
    case POLLER_COUNTER_WRAP:
        return "wrap";
    case POLLER_COUNTER_RESET:
        return "reset";
    case POLLER_COUNTER_OVERSPEED:
        return "overspeed";
    case POLLER_COUNTER_BADTIME:
        return "badtime";
    case POLLER_COUNTER_INVALID:
        return "invalid";
    }
    return "unknown";
}
