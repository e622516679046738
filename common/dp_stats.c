/*  dp_stats.c - named uint64 counters and gauges for STATS
    Entries are appended under a mutex and published with a release store of the
    count, so lookups and updates of existing names take no lock.
    SPDX-License-Identifier: MIT */
#include "dp_stats.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DP_STATS_LINE_MAX (DP_STATS_NAME_MAX + 32) /* "name: 18446744073709551615\n" */

typedef struct {
    char name[DP_STATS_NAME_MAX]; /* written once before publication */
    dp_counter_t value;           /* the counter or gauge */
} s_entry_t;

struct dp_stats {
    s_entry_t entries[DP_STATS_MAX]; /* append-only */
    atomic_int count;                /* published entries */
    pthread_mutex_t lock;            /* serialises registration */
};

typedef struct {
    const char *name; /* borrowed from the table */
    uint64_t value;   /* snapshot */
} s_row_t;

static bool s_name_valid(const char *name)
{
    if (!name || !*name || strlen(name) >= DP_STATS_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static s_entry_t *s_find(const dp_stats_t *s, const char *name, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(s->entries[i].name, name) == 0)
            return (s_entry_t *)&s->entries[i];
    return NULL;
}

static int s_row_cmp(const void *a, const void *b)
{
    return strcmp(((const s_row_t *)a)->name, ((const s_row_t *)b)->name);
}

//  --------------------------------------------------------------------------
dp_stats_t *dp_stats_new(void)
{
    dp_stats_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    atomic_init(&s->count, 0);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

//  --------------------------------------------------------------------------
void dp_stats_destroy(dp_stats_t **p)
{
    if (!p || !*p)
        return;
    pthread_mutex_destroy(&(*p)->lock);
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
dp_counter_t *dp_stats_counter(dp_stats_t *s, const char *name)
{
    if (!s || !s_name_valid(name))
        return NULL;
    s_entry_t *e = s_find(s, name, atomic_load_explicit(&s->count, memory_order_acquire));
    if (e)
        return &e->value;
    pthread_mutex_lock(&s->lock);
    int count = atomic_load_explicit(&s->count, memory_order_relaxed);
    e = s_find(s, name, count);
    if (!e && count < DP_STATS_MAX) {
        e = &s->entries[count];
        snprintf(e->name, sizeof e->name, "%s", name);
        atomic_init(&e->value, 0);
        atomic_store_explicit(&s->count, count + 1, memory_order_release);
    }
    pthread_mutex_unlock(&s->lock);
    return e ? &e->value : NULL;
}

//  --------------------------------------------------------------------------
void dp_stats_add(dp_stats_t *s, const char *name, uint64_t n)
{
    dp_counter_t *c = dp_stats_counter(s, name);
    if (c)
        atomic_fetch_add(c, n);
}

//  --------------------------------------------------------------------------
void dp_stats_set(dp_stats_t *s, const char *name, uint64_t value)
{
    dp_counter_t *c = dp_stats_counter(s, name);
    if (c)
        atomic_store(c, value);
}

//  --------------------------------------------------------------------------
uint64_t dp_stats_get(const dp_stats_t *s, const char *name)
{
    if (!s || !name)
        return 0;
    s_entry_t *e = s_find(s, name, atomic_load_explicit(&s->count, memory_order_acquire));
    return e ? atomic_load(&e->value) : 0;
}

//  --------------------------------------------------------------------------
int dp_stats_size(const dp_stats_t *s)
{
    return s ? atomic_load_explicit(&s->count, memory_order_acquire) : 0;
}

//  --------------------------------------------------------------------------
char *dp_stats_format(const dp_stats_t *s)
{
    int count = dp_stats_size(s);
    s_row_t *rows = calloc(count ? (size_t)count : 1, sizeof *rows);
    char *out = malloc((size_t)count * DP_STATS_LINE_MAX + 1);
    if (!rows || !out)
        abort();
    for (int i = 0; i < count; i++) {
        rows[i].name = s->entries[i].name;
        rows[i].value = atomic_load(&s->entries[i].value);
    }
    qsort(rows, (size_t)count, sizeof *rows, s_row_cmp);
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < count; i++)
        len += (size_t)snprintf(out + len, DP_STATS_LINE_MAX, "%s: %llu\n", rows[i].name,
                                (unsigned long long)rows[i].value);
    free(rows);
    return out;
}
