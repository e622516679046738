/*  dp_time.h - clocks: monotonic for deadlines, wall for timestamps
    SPDX-License-Identifier: MIT */
#ifndef DP_TIME_H
#define DP_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds; use for timeouts, leases and lock validity. */
int64_t dp_time_mono_ms(void);

/* Monotonic microseconds; for durations that may be shorter than a millisecond. */
int64_t dp_time_mono_us(void);

/* Wall-clock milliseconds since the epoch; use for timestamps that leave the process. */
int64_t dp_time_wall_ms(void);

/* Formats wall_ms as 2025-05-01T12:00:00.123Z into buf; returns buf. */
char *dp_time_iso(int64_t wall_ms, char *buf, size_t size);

#endif
