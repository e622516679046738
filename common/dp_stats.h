/*  dp_stats.h - named uint64 counters and gauges for STATS
    A fixed-capacity table. Thread rules: registering a new name takes a mutex;
    the pointer returned by dp_stats_counter stays valid until dp_stats_destroy,
    and updates through it are C11 atomic, so worker threads may add freely.
    SPDX-License-Identifier: MIT */
#ifndef DP_STATS_H
#define DP_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define DP_STATS_MAX      256 /* distinct names per table */
#define DP_STATS_NAME_MAX 64  /* including the NUL */

typedef struct dp_stats dp_stats_t;

/* An atomic counter: `(*c)++`, `*c += n` and atomic_fetch_add(c, n) are all atomic. */
typedef _Atomic uint64_t dp_counter_t;

/* Creates an empty table. Caller owns result; free with dp_stats_destroy. */
dp_stats_t *dp_stats_new(void);

/* Destroys the table and every counter pointer handed out. NULL-safe; sets *p to NULL. */
void dp_stats_destroy(dp_stats_t **p);

/* Returns the counter called name, registering it at 0 on first use. Borrowed pointer,
   stable for the table's life. NULL when the table is full or name is not 1-63 chars of
   [A-Za-z0-9_.-]. */
dp_counter_t *dp_stats_counter(dp_stats_t *s, const char *name);

/* Adds n to the counter name (registered on first use). Ignored if the name is invalid
   or the table is full. Thread-safe. */
void dp_stats_add(dp_stats_t *s, const char *name, uint64_t n);

/* Sets the gauge name to value (registered on first use). Thread-safe. */
void dp_stats_set(dp_stats_t *s, const char *name, uint64_t value);

/* Current value of name; 0 when it was never registered. Thread-safe. */
uint64_t dp_stats_get(const dp_stats_t *s, const char *name);

/* Number of registered names. */
int dp_stats_size(const dp_stats_t *s);

/* Formats every entry as "name: value\n" lines sorted by name (rrdcached STATS style).
   Caller owns result; free with free(). Empty table gives "". */
char *dp_stats_format(const dp_stats_t *s);

#endif
