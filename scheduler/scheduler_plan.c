/*  scheduler_plan.c - what is due: target table, stable phases, release and due heaps
    Heaps hold (key, id, index, gen) entries; an entry whose gen no longer matches its target
    is stale and skipped when it reaches the top (lazy deletion). A heap grown far beyond the
    live targets is rebuilt.
    SPDX-License-Identifier: MIT */
#include "scheduler_plan.h"

#include <stdlib.h>
#include <string.h>

#define S_INITIAL_CAP  1024
#define S_COMPACT_MULT 3    /* rebuild a heap with more than this many entries per target */
#define S_COMPACT_MIN  4096 /* ... and at least this many entries */

typedef struct {
    int64_t key;  /* release_s or due_s */
    uint64_t id;  /* tie-break: lower id first */
    uint32_t idx; /* target index */
    uint32_t gen; /* target gen when pushed */
} s_entry_t;

typedef struct {
    s_entry_t *v; /* binary min-heap */
    size_t n;     /* entries */
    size_t cap;   /* allocated */
} s_heap_t;

typedef struct {
    int group;    /* poller group */
    s_heap_t due; /* READY targets of the group */
} s_group_t;

struct scheduler_plan {
    dp_msg_kind_t kind;          /* poll | discover | bill */
    int64_t interval_s;          /* slot length */
    scheduler_target_t *targets; /* table; indices are stable */
    int n;                       /* targets used */
    int cap;                     /* targets allocated */
    uint32_t *hash;              /* open addressing: index + 1, 0 = empty */
    size_t hash_cap;             /* power of two */
    s_heap_t waiting;            /* WAITING targets by release_s */
    s_group_t *groups;           /* due heaps, sorted by group number */
    int ngroups;                 /* entries in groups */
};

static uint64_t s_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void *s_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        abort();
    return q;
}

// ---------------------------------------------------------------------------- heap

static bool s_less(const s_entry_t *a, const s_entry_t *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static void s_heap_push(s_heap_t *h, s_entry_t e)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = s_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!s_less(&e, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = e;
}

static void s_heap_pop(s_heap_t *h)
{
    s_entry_t last = h->v[--h->n];
    size_t i = 0;
    while (true) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && s_less(&h->v[c + 1], &h->v[c]))
            c++;
        if (!s_less(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
}

static void s_heap_free(s_heap_t *h)
{
    free(h->v);
    *h = (s_heap_t){0};
}

// ---------------------------------------------------------------------------- table

static size_t s_slot_of(const scheduler_plan_t *p, uint64_t id)
{
    return (size_t)s_mix(id) & (p->hash_cap - 1);
}

static void s_hash_insert(scheduler_plan_t *p, uint64_t id, uint32_t idx)
{
    size_t i = s_slot_of(p, id);
    while (p->hash[i])
        i = (i + 1) & (p->hash_cap - 1);
    p->hash[i] = idx + 1;
}

static void s_hash_grow(scheduler_plan_t *p)
{
    free(p->hash);
    p->hash_cap = p->hash_cap ? p->hash_cap * 2 : 2 * S_INITIAL_CAP;
    p->hash = calloc(p->hash_cap, sizeof *p->hash);
    if (!p->hash)
        abort();
    for (int i = 0; i < p->n; i++)
        s_hash_insert(p, p->targets[i].id, (uint32_t)i);
}

static s_group_t *s_group(scheduler_plan_t *p, int group)
{
    int lo = 0, hi = p->ngroups;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (p->groups[mid].group < group)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->ngroups && p->groups[lo].group == group)
        return &p->groups[lo];
    if (p->ngroups >= SCHEDULER_PLAN_MAX_GROUPS)
        return NULL;
    p->groups = s_xrealloc(p->groups, (size_t)(p->ngroups + 1) * sizeof *p->groups);
    memmove(&p->groups[lo + 1], &p->groups[lo], (size_t)(p->ngroups - lo) * sizeof *p->groups);
    p->groups[lo] = (s_group_t){.group = group};
    p->ngroups++;
    return &p->groups[lo];
}

static s_entry_t s_entry(const scheduler_plan_t *p, scheduler_target_t *t, int64_t key)
{
    return (s_entry_t){key, t->id, (uint32_t)(t - p->targets), t->gen};
}

//  Puts t in its group's due heap (oldest undone slot first).
static void s_make_ready(scheduler_plan_t *p, scheduler_target_t *t, int64_t due_s)
{
    s_group_t *g = s_group(p, t->group);
    t->gen++;
    if (!g) {
        t->state = SCHEDULER_TARGET_OFF; /* too many groups: cannot be queued */
        return;
    }
    t->state = SCHEDULER_TARGET_READY;
    t->due_s = due_s;
    s_heap_push(&g->due, s_entry(p, t, due_s));
}

static void s_make_waiting(scheduler_plan_t *p, scheduler_target_t *t, int64_t release_s)
{
    t->gen++;
    t->state = SCHEDULER_TARGET_WAITING;
    t->release_s = release_s;
    s_heap_push(&p->waiting, s_entry(p, t, release_s));
}

//  Queues a target that is not leased, from its done state (or its pending retry).
static void s_schedule(scheduler_plan_t *p, scheduler_target_t *t, int64_t now_s)
{
    if (!t->enabled) {
        t->gen++;
        t->state = SCHEDULER_TARGET_OFF;
        t->attempt = 0;
        t->cycle_s = 0;
        return;
    }
    if (t->attempt > 0) { /* a retry keeps its cycle */
        s_make_ready(p, t, t->cycle_s);
        return;
    }
    int64_t cur = scheduler_plan_slot(now_s, t->phase_s, p->interval_s);
    if (t->done_s >= cur) {
        s_make_waiting(p, t, cur + p->interval_s);
        return;
    }
    int64_t first = t->done_s == SCHEDULER_PLAN_NONE ? cur : t->done_s + p->interval_s;
    s_make_ready(p, t, first < cur ? first : cur);
}

//  Rebuilds every heap from the live targets (drops stale entries).
static void s_compact(scheduler_plan_t *p)
{
    p->waiting.n = 0;
    for (int g = 0; g < p->ngroups; g++)
        p->groups[g].due.n = 0;
    for (int i = 0; i < p->n; i++) {
        scheduler_target_t *t = &p->targets[i];
        if (t->state == SCHEDULER_TARGET_WAITING)
            s_heap_push(&p->waiting, s_entry(p, t, t->release_s));
        else if (t->state == SCHEDULER_TARGET_READY) {
            s_group_t *g = s_group(p, t->group);
            if (g)
                s_heap_push(&g->due, s_entry(p, t, t->due_s));
        }
    }
}

static void s_maybe_compact(scheduler_plan_t *p)
{
    size_t limit = (size_t)p->n * S_COMPACT_MULT;
    if (limit < S_COMPACT_MIN)
        limit = S_COMPACT_MIN;
    if (scheduler_plan_heap_entries(p) > limit)
        s_compact(p);
}

static bool s_valid(const scheduler_plan_t *p, const s_entry_t *e)
{
    return e->idx < (uint32_t)p->n && p->targets[e->idx].gen == e->gen;
}

static scheduler_target_t *s_add(scheduler_plan_t *p, uint64_t id)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : S_INITIAL_CAP;
        p->targets = s_xrealloc(p->targets, (size_t)p->cap * sizeof *p->targets);
    }
    if ((size_t)(p->n + 1) * 2 > p->hash_cap)
        s_hash_grow(p);
    scheduler_target_t *t = &p->targets[p->n];
    *t = (scheduler_target_t){.id = id, .ref = id, .done_s = SCHEDULER_PLAN_NONE};
    t->phase_s = scheduler_plan_phase(id, p->interval_s);
    s_hash_insert(p, id, (uint32_t)p->n);
    p->n++;
    return t;
}

// ---------------------------------------------------------------------------- public

//  --------------------------------------------------------------------------
scheduler_plan_t *scheduler_plan_new(dp_msg_kind_t kind, int64_t interval_s)
{
    scheduler_plan_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->kind = kind;
    p->interval_s = interval_s < 1 ? 1 : interval_s;
    s_hash_grow(p);
    return p;
}

//  --------------------------------------------------------------------------
void scheduler_plan_destroy(scheduler_plan_t **pp)
{
    if (!pp || !*pp)
        return;
    scheduler_plan_t *p = *pp;
    for (int i = 0; i < p->n; i++)
        free(p->targets[i].hostname);
    free(p->targets);
    free(p->hash);
    s_heap_free(&p->waiting);
    for (int g = 0; g < p->ngroups; g++)
        s_heap_free(&p->groups[g].due);
    free(p->groups);
    free(p);
    *pp = NULL;
}

//  --------------------------------------------------------------------------
int64_t scheduler_plan_phase(uint64_t id, int64_t interval_s)
{
    if (interval_s < 1)
        return 0;
    return (int64_t)(s_mix(id ^ 0x64707068617365ULL) % (uint64_t)interval_s);
}

//  --------------------------------------------------------------------------
int64_t scheduler_plan_slot(int64_t now_s, int64_t phase_s, int64_t interval_s)
{
    if (interval_s < 1)
        return now_s;
    int64_t r = (now_s - phase_s) % interval_s;
    if (r < 0)
        r += interval_s;
    return now_s - r;
}

dp_msg_kind_t scheduler_plan_kind(const scheduler_plan_t *p)
{
    return p->kind;
}

int64_t scheduler_plan_interval(const scheduler_plan_t *p)
{
    return p->interval_s;
}

//  --------------------------------------------------------------------------
void scheduler_plan_set_interval(scheduler_plan_t *p, int64_t interval_s, int64_t now_s)
{
    if (interval_s < 1)
        interval_s = 1;
    if (interval_s == p->interval_s)
        return;
    p->interval_s = interval_s;
    for (int i = 0; i < p->n; i++) {
        scheduler_target_t *t = &p->targets[i];
        t->phase_s = scheduler_plan_phase(t->id, interval_s);
        if (t->state != SCHEDULER_TARGET_LEASED)
            s_schedule(p, t, now_s);
    }
    s_compact(p);
}

//  --------------------------------------------------------------------------
void scheduler_plan_begin_load(scheduler_plan_t *p)
{
    for (int i = 0; i < p->n; i++)
        p->targets[i].seen = false;
}

//  --------------------------------------------------------------------------
void scheduler_plan_upsert(scheduler_plan_t *p, uint64_t id, const char *hostname, int group,
                           bool enabled, int64_t last_done_s, int64_t now_s)
{
    scheduler_target_t *t = scheduler_plan_find(p, id);
    bool changed = false;
    if (!t) {
        t = s_add(p, id);
        changed = true;
    }
    t->seen = true;
    if (!t->hostname || strcmp(t->hostname, hostname ? hostname : "") != 0) {
        free(t->hostname);
        t->hostname = strdup(hostname ? hostname : "");
    }
    if (t->group != group) {
        t->group = group;
        changed |= t->state == SCHEDULER_TARGET_READY;
    }
    if (t->enabled != enabled) {
        t->enabled = enabled;
        changed = true;
    }
    if (last_done_s != SCHEDULER_PLAN_NONE) {
        if (t->state != SCHEDULER_TARGET_LEASED)
            t->force_s = 0; /* the database has a done time again: a forced request was served */
        int64_t d = scheduler_plan_slot(last_done_s, t->phase_s, p->interval_s);
        if (t->done_s == SCHEDULER_PLAN_NONE || d > t->done_s) {
            t->done_s = d;
            changed |= t->attempt == 0;
        }
    }
    if (changed && t->state != SCHEDULER_TARGET_LEASED)
        s_schedule(p, t, now_s);
    s_maybe_compact(p);
}

//  --------------------------------------------------------------------------
int scheduler_plan_end_load(scheduler_plan_t *p, int64_t now_s)
{
    int removed = 0;
    for (int i = 0; i < p->n; i++) {
        scheduler_target_t *t = &p->targets[i];
        if (t->seen || !t->enabled)
            continue;
        t->enabled = false;
        removed++;
        if (t->state != SCHEDULER_TARGET_LEASED)
            s_schedule(p, t, now_s);
    }
    return removed;
}

//  --------------------------------------------------------------------------
int scheduler_plan_advance(scheduler_plan_t *p, int64_t now_s)
{
    int moved = 0;
    while (p->waiting.n && p->waiting.v[0].key <= now_s) {
        s_entry_t e = p->waiting.v[0];
        s_heap_pop(&p->waiting);
        if (!s_valid(p, &e) || p->targets[e.idx].state != SCHEDULER_TARGET_WAITING)
            continue;
        s_schedule(p, &p->targets[e.idx], now_s);
        moved++;
    }
    return moved;
}

int scheduler_plan_ngroups(const scheduler_plan_t *p)
{
    return p->ngroups;
}

int scheduler_plan_group_at(const scheduler_plan_t *p, int i)
{
    return i >= 0 && i < p->ngroups ? p->groups[i].group : -1;
}

//  --------------------------------------------------------------------------
scheduler_target_t *scheduler_plan_next(scheduler_plan_t *p, int group)
{
    s_group_t *g = NULL;
    for (int i = 0; i < p->ngroups && !g; i++)
        if (p->groups[i].group == group)
            g = &p->groups[i];
    if (!g)
        return NULL;
    while (g->due.n) {
        s_entry_t *e = &g->due.v[0];
        if (s_valid(p, e) && p->targets[e->idx].state == SCHEDULER_TARGET_READY)
            return &p->targets[e->idx];
        s_heap_pop(&g->due);
    }
    return NULL;
}

//  --------------------------------------------------------------------------
int64_t scheduler_plan_lease(scheduler_plan_t *p, scheduler_target_t *t, uint64_t job_id,
                             int64_t now_s)
{
    t->gen++; /* its due heap entry becomes stale */
    t->state = SCHEDULER_TARGET_LEASED;
    t->job_id = job_id;
    if (t->attempt == 0)
        t->cycle_s = scheduler_plan_cycle(p, t, now_s);
    t->attempt++;
    return t->cycle_s;
}

//  --------------------------------------------------------------------------
void scheduler_plan_done(scheduler_plan_t *p, scheduler_target_t *t, int64_t now_s)
{
    if (t->done_s == SCHEDULER_PLAN_NONE || t->cycle_s > t->done_s)
        t->done_s = t->cycle_s;
    t->attempt = 0;
    t->cycle_s = 0;
    t->force_s = 0;
    t->job_id = 0;
    s_schedule(p, t, now_s);
}

//  --------------------------------------------------------------------------
bool scheduler_plan_force(scheduler_plan_t *p, uint64_t id, int64_t now_s)
{
    scheduler_target_t *t = scheduler_plan_find(p, id);
    if (!t || !t->enabled || t->state == SCHEDULER_TARGET_LEASED || t->force_s ||
        t->done_s == SCHEDULER_PLAN_NONE)
        return false;
    t->force_s = now_s > t->done_s ? now_s : t->done_s + 1;
    t->done_s = SCHEDULER_PLAN_NONE;
    t->attempt = 0; /* a pending retry of an older cycle is superseded */
    t->cycle_s = 0;
    s_schedule(p, t, now_s);
    return true;
}

//  --------------------------------------------------------------------------
int64_t scheduler_plan_cycle(const scheduler_plan_t *p, const scheduler_target_t *t, int64_t now_s)
{
    if (t->attempt)
        return t->cycle_s;
    int64_t slot = scheduler_plan_slot(now_s, t->phase_s, p->interval_s);
    return t->force_s > slot ? t->force_s : slot;
}

//  --------------------------------------------------------------------------
void scheduler_plan_retry(scheduler_plan_t *p, scheduler_target_t *t, int64_t delay_s,
                          int64_t now_s)
{
    t->job_id = 0;
    if (!t->enabled || delay_s <= 0) {
        s_schedule(p, t, now_s);
        return;
    }
    s_make_waiting(p, t, now_s + delay_s);
}

//  --------------------------------------------------------------------------
void scheduler_plan_reset_leases(scheduler_plan_t *p, int64_t now_s)
{
    for (int i = 0; i < p->n; i++) {
        scheduler_target_t *t = &p->targets[i];
        if (t->state == SCHEDULER_TARGET_OFF && !t->attempt)
            continue;
        t->attempt = 0;
        t->cycle_s = 0;
        t->job_id = 0;
        s_schedule(p, t, now_s);
    }
    s_compact(p);
}

//  --------------------------------------------------------------------------
scheduler_target_t *scheduler_plan_find(scheduler_plan_t *p, uint64_t id)
{
    size_t i = s_slot_of(p, id);
    while (p->hash[i]) {
        scheduler_target_t *t = &p->targets[p->hash[i] - 1];
        if (t->id == id)
            return t;
        i = (i + 1) & (p->hash_cap - 1);
    }
    return NULL;
}

int scheduler_plan_size(const scheduler_plan_t *p)
{
    return p->n;
}

scheduler_target_t *scheduler_plan_at(scheduler_plan_t *p, int i)
{
    return i >= 0 && i < p->n ? &p->targets[i] : NULL;
}

//  Finds or adds the stats row of group (rows kept sorted; the first 64 groups only).
static scheduler_plan_group_stats_t *s_stats_group(scheduler_plan_stats_t *out, int group)
{
    int i = 0;
    while (i < out->ngroups && out->groups[i].group < group)
        i++;
    if (i < out->ngroups && out->groups[i].group == group)
        return &out->groups[i];
    int max = (int)(sizeof out->groups / sizeof out->groups[0]);
    if (out->ngroups >= max)
        return NULL;
    memmove(&out->groups[i + 1], &out->groups[i], (size_t)(out->ngroups - i) * sizeof *out->groups);
    out->groups[i] = (scheduler_plan_group_stats_t){.group = group};
    out->ngroups++;
    return &out->groups[i];
}

//  --------------------------------------------------------------------------
void scheduler_plan_stats(const scheduler_plan_t *p, int64_t now_s, int64_t grace_s,
                          scheduler_plan_stats_t *out)
{
    memset(out, 0, sizeof *out);
    scheduler_plan_group_stats_t *last = NULL;
    for (int i = 0; i < p->n; i++) {
        const scheduler_target_t *t = &p->targets[i];
        if (!t->enabled)
            continue;
        if (!last || last->group != t->group)
            last = s_stats_group(out, t->group);
        out->devices++;
        int64_t cur = scheduler_plan_slot(now_s, t->phase_s, p->interval_s);
        bool retrying = t->state == SCHEDULER_TARGET_WAITING && t->attempt > 0;
        bool due = t->state == SCHEDULER_TARGET_READY || retrying;
        bool leased = t->state == SCHEDULER_TARGET_LEASED;
        if (t->done_s != SCHEDULER_PLAN_NONE && t->done_s >= cur)
            out->done_cycle++;
        int64_t since = due && t->state == SCHEDULER_TARGET_READY ? t->due_s
                        : (due || leased)                         ? t->cycle_s
                                                                  : now_s;
        bool overdue = (due || leased) && now_s - since > grace_s;
        out->due += due;
        out->leased += leased;
        out->overdue += overdue;
        if (due && now_s - since > out->oldest_s)
            out->oldest_s = now_s - since;
        if (last) {
            last->devices++;
            last->due += due;
            last->leased += leased;
            last->overdue += overdue;
        }
    }
}

//  --------------------------------------------------------------------------
size_t scheduler_plan_heap_entries(const scheduler_plan_t *p)
{
    size_t n = p->waiting.n;
    for (int g = 0; g < p->ngroups; g++)
        n += p->groups[g].due.n;
    return n;
}
