/*  dp_time.c - clocks: monotonic for deadlines, wall for timestamps
    SPDX-License-Identifier: MIT */
#include "dp_time.h"

#include <stdio.h>
#include <time.h>

static int64_t s_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  --------------------------------------------------------------------------
int64_t dp_time_mono_ms(void)
{
    return s_clock_ms(CLOCK_MONOTONIC);
}

int64_t dp_time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  --------------------------------------------------------------------------
int64_t dp_time_wall_ms(void)
{
    return s_clock_ms(CLOCK_REALTIME);
}

//  --------------------------------------------------------------------------
char *dp_time_iso(int64_t wall_ms, char *buf, size_t size)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
    return buf;
}
