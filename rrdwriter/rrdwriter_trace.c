/*  rrdwriter_trace.c - the rrdwriter's job trace stamps (see rrdwriter_trace.h)
    Producers append to a vector under the mutex; the thread swaps it with its own every
    RRDWRITER_TRACE_FLUSH_MS (or at once past a full EVAL's worth) and sends it as dp_trace
    batches, so the lock is held for a pointer swap only.
    SPDX-License-Identifier: MIT */
#include "rrdwriter_trace.h"

#include "dp_log.h"
#include "dp_trace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SPOOLED 0
#define S_WRITTEN 1

typedef struct {
    uint64_t device_id;
    uint64_t job_id;
    int64_t at_ms;
    int what; /* S_SPOOLED or S_WRITTEN */
} s_stamp_t;

struct rrdwriter_trace {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards q, n, cap, stop */
    pthread_cond_t wake;  /* stop, or a full EVAL's worth queued */
    s_stamp_t *q;         /* queued by producers */
    size_t n, cap;
    bool stop;
    /* thread-owned */
    dp_redis_t *redis;
    dp_trace_batch_t *batch;
    char *node;
    dp_stats_t *stats;
    bool down;                /* the last flush failed (logged once) */
    _Atomic uint64_t dropped; /* stamps refused because the queue was full */
    dp_counter_t *g_marks, *g_failures, *g_dropped;
};

//  Sends the batch; logs state changes once; refreshes the gauges.
static void s_flush(rrdwriter_trace_t *t)
{
    if (dp_trace_batch_pending(t->batch) > 0) {
        dp_err_t err = {0};
        bool down = dp_trace_batch_flush(t->batch, t->redis, &err) < 0;
        if (down != t->down)
            dp_log_warn(down ? "job trace stamps failing; dropped and counted"
                             : "job trace stamps written again",
                        "err=\"%s\"", down ? err.text : "");
        t->down = down;
    }
    uint64_t dropped = atomic_load(&t->dropped);
    if (t->g_marks)
        *t->g_marks = dp_trace_marks();
    if (t->g_failures)
        *t->g_failures = dp_trace_failures() + dropped;
    if (t->g_dropped)
        *t->g_dropped = dropped;
}

static void s_queue(rrdwriter_trace_t *t, const s_stamp_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const s_stamp_t *s = &v[i];
        if (s->what == S_SPOOLED) {
            dp_trace_batch_mark_job(t->batch, s->device_id, s->job_id, "spooled_ms", "%lld",
                                    (long long)s->at_ms);
        } else {
            dp_trace_batch_mark_job(t->batch, s->device_id, s->job_id, "rrd_written_ms", "%lld",
                                    (long long)s->at_ms);
            dp_trace_batch_mark_job(t->batch, s->device_id, s->job_id, "rrd_by", "%s", t->node);
        }
        if (dp_trace_batch_pending(t->batch) >= DP_TRACE_BATCH_EVAL)
            s_flush(t);
    }
}

static void s_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    while (ts->tv_nsec >= 1000000000L)
        ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

static void *s_thread(void *arg)
{
    rrdwriter_trace_t *t = arg;
    s_stamp_t *work = NULL;
    size_t work_cap = 0;
    for (;;) {
        struct timespec ts;
        s_deadline(&ts, RRDWRITER_TRACE_FLUSH_MS);
        pthread_mutex_lock(&t->lock);
        if (!t->stop && t->n < DP_TRACE_BATCH_EVAL)
            pthread_cond_timedwait(&t->wake, &t->lock, &ts);
        bool stop = t->stop;
        s_stamp_t *got = t->q;
        size_t n = t->n, cap = t->cap;
        t->q = work, t->cap = work_cap, t->n = 0; /* swap: producers fill the other vector */
        pthread_mutex_unlock(&t->lock);
        work = got, work_cap = cap;
        if (stop && t->down) { /* Redis failing: do not hold up the exit on it */
            atomic_fetch_add(&t->dropped, n);
            break;
        }
        s_queue(t, work, n);
        s_flush(t);
        if (stop)
            break;
    }
    free(work);
    return NULL;
}

static void s_push(rrdwriter_trace_t *t, uint64_t device_id, uint64_t job_id, int64_t at_ms,
                   int what)
{
    if (!t || !device_id)
        return;
    pthread_mutex_lock(&t->lock);
    if (t->n == t->cap && t->cap < RRDWRITER_TRACE_QUEUE_MAX) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        s_stamp_t *q = realloc(t->q, cap * sizeof *q);
        if (!q)
            abort();
        t->q = q, t->cap = cap;
    }
    if (t->n < t->cap) {
        t->q[t->n++] = (s_stamp_t){device_id, job_id, at_ms, what};
        if (t->n == DP_TRACE_BATCH_EVAL)
            pthread_cond_signal(&t->wake);
    } else {
        atomic_fetch_add(&t->dropped, 1);
    }
    pthread_mutex_unlock(&t->lock);
}

static void s_free(rrdwriter_trace_t *t)
{
    dp_trace_batch_destroy(&t->batch);
    dp_redis_destroy(&t->redis);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t->q);
    free(t->node);
    free(t);
}

//  --------------------------------------------------------------------------
rrdwriter_trace_t *rrdwriter_trace_start(const dp_redis_opts_t *opts, const char *node,
                                         dp_stats_t *stats, dp_err_t *err)
{
    rrdwriter_trace_t *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    t->stats = stats;
    t->node = strdup(node ? node : "");
    t->batch = dp_trace_batch_new();
    t->redis = opts ? dp_redis_new(opts) : NULL;
    if (!t->node || !t->batch) {
        s_free(t);
        dp_err_set(err, DP_ERR_INTERNAL, "trace: out of memory");
        return NULL;
    }
    if (!t->redis) {
        s_free(t);
        dp_err_set(err, DP_ERR_CONFIG, "trace: no Redis address (REDIS_HOST or REDIS_SENTINEL)");
        return NULL;
    }
    if (stats) {
        t->g_marks = dp_stats_counter(stats, "trace_marks");
        t->g_failures = dp_stats_counter(stats, "trace_failures");
        t->g_dropped = dp_stats_counter(stats, "trace_dropped");
    }
    if (pthread_create(&t->thread, NULL, s_thread, t) != 0) {
        s_free(t);
        dp_err_set(err, DP_ERR_INTERNAL, "trace: cannot start the thread");
        return NULL;
    }
    t->started = true;
    return t;
}

//  --------------------------------------------------------------------------
void rrdwriter_trace_stop(rrdwriter_trace_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_trace_t *t = *p;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    if (t->started)
        pthread_join(t->thread, NULL);
    s_free(t);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void rrdwriter_trace_spooled(rrdwriter_trace_t *t, uint64_t device_id, uint64_t job_id,
                             int64_t at_ms)
{
    s_push(t, device_id, job_id, at_ms, S_SPOOLED);
}

//  --------------------------------------------------------------------------
void rrdwriter_trace_written(rrdwriter_trace_t *t, uint64_t device_id, uint64_t job_id,
                             int64_t at_ms)
{
    s_push(t, device_id, job_id, at_ms, S_WRITTEN);
}

//  --------------------------------------------------------------------------
size_t rrdwriter_trace_queued(rrdwriter_trace_t *t)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->lock);
    size_t n = t->n;
    pthread_mutex_unlock(&t->lock);
    return n;
}
