/*  poller_counter.h - counter maths: deltas and rates between two SNMP samples
    Pure functions, no state, thread-safe. Rates are per second over the real
    elapsed time between the two samples (not the nominal poll interval).
    SPDX-License-Identifier: MIT */
#ifndef POLLER_COUNTER_H
#define POLLER_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

/* Tolerance on ifSpeed before a rate counts as overspeed (1.1 = 10 % above). */
#define POLLER_COUNTER_SPEED_TOLERANCE 1.1

/* One reading of a counter. */
typedef struct {
    uint64_t value; /* raw counter value as read (Counter32 or Counter64) */
    int64_t at_ms;  /* when it was read, ms (same clock for every sample) */
    bool valid;     /* false: no reading (first poll, or the OID was missing) */
} poller_counter_sample_t;

typedef enum {
    POLLER_COUNTER_OK = 0,    /* cur >= prev: delta and rate are good */
    POLLER_COUNTER_FIRST,     /* no valid previous sample: nothing to compare */
    POLLER_COUNTER_WRAP,      /* wrapped once past 2^bits: delta and rate are good */
    POLLER_COUNTER_RESET,     /* reboot, or went backwards and a wrap is implausible */
    POLLER_COUNTER_OVERSPEED, /* rate above max_rate: discard (delta/rate show why) */
    POLLER_COUNTER_BADTIME,   /* elapsed time <= 0 */
    POLLER_COUNTER_INVALID,   /* cur missing, bits not 32/64, or value > 2^bits - 1 */
} poller_counter_status_t;

typedef struct {
    poller_counter_status_t status;
    uint64_t delta; /* counter increase; set for OK, WRAP and OVERSPEED, else 0 */
    double rate;    /* delta per second; set for OK, WRAP and OVERSPEED, else 0 */
} poller_counter_result_t;

/* Delta and rate from prev to cur for a counter of `bits` (32 or 64) bits.
   Rules, in order:
   1. cur not valid, bits not 32/64, or a value that does not fit in `bits` -> INVALID.
   2. prev not valid -> FIRST.
   3. cur.at_ms <= prev.at_ms -> BADTIME.
   4. rebooted (see poller_counter_rebooted) -> RESET: counters restarted from 0,
      so no delta (no spike), and cur becomes the next prev.
   5. cur >= prev: delta = cur - prev; rate = delta / elapsed_s.
      rate > max_rate (when max_rate > 0) -> OVERSPEED, else OK.
   6. cur < prev: the only possible delta is a wrap, d = 2^bits - prev + cur.
      - 32 bits with max_rate > 0: a wrap if d / elapsed_s <= max_rate.
      - 32 bits without a limit: a wrap if d < 2^31 (prev was in the top half of
        the range and cur is just past zero); otherwise a reset.
      - 64 bits: a wrap only if d < 2^63 (prev within 2^63 of the top, which no
        real counter reaches except by wrapping) and, when max_rate > 0,
        d / elapsed_s <= max_rate; any other backwards step is a reset.
      A plausible wrap -> WRAP; otherwise RESET (no delta, no spike).
   max_rate is per second; <= 0 means no limit. */
poller_counter_result_t poller_counter_delta(poller_counter_sample_t prev,
                                             poller_counter_sample_t cur, int bits, bool rebooted,
                                             double max_rate);

/* Upper bound for an octet counter's rate in bytes/s from ifSpeed in bits/s:
   if_speed_bps / 8 * POLLER_COUNTER_SPEED_TOLERANCE. Returns 0 (no limit) when
   ifSpeed is 0 (unknown). */
double poller_counter_max_octet_rate(uint64_t if_speed_bps);

/* True when sysUpTime (TimeTicks, centiseconds, wraps at 2^32 ~ 497 days) shows
   the device (strictly: its SNMP agent) restarted between the two samples.
   The uptime advance d = cur - prev (mod 2^32) is compared with the real elapsed
   time E: a reboot when d < E - slack (the device counted less time than passed:
   it restarted, or uptime went backwards), or when cur < prev and d > E + slack
   (a "wrap" that would need more time than passed). A smaller value after
   prev + E crossed 2^32 is therefore a wrap, not a reboot.
   slack = 30 s + 5 % of E, for poll jitter and SNMP retries.
   If cur_at_ms <= prev_at_ms the elapsed time is unknown: reboot iff cur < prev. */
bool poller_counter_rebooted(uint32_t prev_uptime_cs, int64_t prev_at_ms, uint32_t cur_uptime_cs,
                             int64_t cur_at_ms);

/* Short lower-case name of a status ("ok", "wrap", ...). Static string. */
const char *poller_counter_status_name(poller_counter_status_t status);

#endif
