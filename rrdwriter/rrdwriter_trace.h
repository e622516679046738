/*  rrdwriter_trace.h - the rrdwriter's job trace stamps (`distpoll trace`), off the data path
    The loop thread stamps "spooled_ms" when a METRICS is durable and ACKed, the apply thread
    "rrd_written_ms" and "rrd_by" when rrdcached accepted its updates. Both only queue (a
    mutex, no I/O); one small thread of this module owns the Redis connection and sends what is
    queued as dp_trace batches every RRDWRITER_TRACE_FLUSH_MS. So Redis down or slow never
    delays spooling, ACKs or rrdcached: stamps are best effort, those that fail are dropped and
    counted (gauges trace_marks, trace_failures; trace_dropped when the queue overflowed).
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_TRACE_H
#define RRDWRITER_TRACE_H

#include "dp_err.h"
#include "dp_redis.h"
#include "dp_stats.h"

#include <stdint.h>

#define RRDWRITER_TRACE_FLUSH_MS  100   /* queued stamps are sent this often */
#define RRDWRITER_TRACE_QUEUE_MAX 65536 /* queued stamps; more are dropped (counted) */

typedef struct rrdwriter_trace rrdwriter_trace_t;

/* Starts the stamping thread with its own Redis connection (opts copied; it connects on
   first use, with dp_redis' backoff). node: NODE_ID stamped as rrd_by. stats: borrowed, gets
   the gauges. Returns NULL with err when the options or the thread fail (the caller carries
   on without traces). Stop with rrdwriter_trace_stop. */
rrdwriter_trace_t *rrdwriter_trace_start(const dp_redis_opts_t *opts, const char *node,
                                         dp_stats_t *stats, dp_err_t *err);

/* Sends what is queued (unless Redis is failing: then it is dropped and counted), stops the
   thread and frees. NULL-safe; sets *p to NULL. */
void rrdwriter_trace_stop(rrdwriter_trace_t **p);

/* Queues "spooled_ms" = at_ms (wall) for the job of a METRICS. Thread-safe; t may be NULL and
   device_id 0 is not traced (no-ops). */
void rrdwriter_trace_spooled(rrdwriter_trace_t *t, uint64_t device_id, uint64_t job_id,
                             int64_t at_ms);

/* Queues "rrd_written_ms" = at_ms and "rrd_by" = node. Thread-safe; as above. */
void rrdwriter_trace_written(rrdwriter_trace_t *t, uint64_t device_id, uint64_t job_id,
                             int64_t at_ms);

/* Stamps queued and not yet handed to Redis (tests). Thread-safe. */
size_t rrdwriter_trace_queued(rrdwriter_trace_t *t);

#endif
