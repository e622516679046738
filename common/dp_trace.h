/*  dp_trace.h - per-device job trace in Redis, read by `distpoll trace HOST`
    Each stage stamps its step of a device's current job into the hash dp:trace:<device_id>
    (kept DP_TRACE_TTL_MS after the last stamp). The scheduler starts a trace when it emits a
    job (dp_trace_begin); workers and the rrdwriter stamp it with dp_trace_mark_job. Job ids
    grow (epoch << 32 | sequence), so the trace always follows the newest job: a stamp of an
    older job is ignored (a late stage of an old job cannot pollute the new one), and a stamp
    of a newer job replaces the trace. So stamps commute: a worker's stamp that reaches Redis
    before the scheduler's begin of the same job is kept. Each call is one Redis round trip; a
    dp_trace_batch_t queues many stamps and sends them in one (the scheduler's and workers'
    way at hundreds of jobs per second). Failures are ignored by the caller's logic but counted
    (dp_trace_failures). Thread-safe as far as the given dp_redis_t is (one per thread).
    SPDX-License-Identifier: MIT */
#ifndef DP_TRACE_H
#define DP_TRACE_H

#include "dp_redis.h"

#include <stdint.h>

#define DP_TRACE_TTL_MS    (2LL * 24 * 3600 * 1000) /* a trace outlives its last stamp by 2 days */
#define DP_TRACE_KEY_MAX   64
#define DP_TRACE_VALUE_MAX 256

/* The fields, in pipeline order: X(CONST, "field", "what stamps it"). Times are wall ms. */
#define DP_TRACE_FIELDS(X)                                                                         \
    X(JOB_ID, "job_id", "scheduler: job id (dp_trace_begin)")                                      \
    X(KIND, "kind", "scheduler: poll, discover or bill")                                           \
    X(EPOCH, "epoch", "scheduler: leadership epoch stamped on the job")                            \
    X(SCHEDULED_BY, "scheduled_by", "scheduler: NODE_ID of the leader")                            \
    X(SCHEDULED_MS, "scheduled_ms", "scheduler: job sent to a worker")                             \
    X(TAKEN_BY, "taken_by", "worker: NODE_ID that took the job")                                   \
    X(TAKEN_MS, "taken_ms", "worker: job received and device claimed")                             \
    X(SNMP_MS, "snmp_ms", "worker: time spent in SNMP, ms (a duration)")                           \
    X(POLLED_MS, "polled_ms", "worker: work done")                                                 \
    X(METRICS_SENT_MS, "metrics_sent_ms", "worker: METRICS handed to the rrdwriter")               \
    X(STATUS, "status", "worker: ok, down, error or timeout")                                      \
    X(REASON, "reason", "worker: detail of a non-ok status")                                       \
    X(RESULT_MS, "result_ms", "scheduler: RESULT received")                                        \
    X(SPOOLED_MS, "spooled_ms", "rrdwriter: METRICS durable in the spool (ACK sent)")              \
    X(RRD_WRITTEN_MS, "rrd_written_ms", "rrdwriter: RRD updates accepted by rrdcached")            \
    X(RRD_BY, "rrd_by", "rrdwriter: NODE_ID of the rrdwriter")

#define DP_TRACE_ENUM_(c, f, h) DP_TRACE_##c,
typedef enum { DP_TRACE_FIELDS(DP_TRACE_ENUM_) DP_TRACE_FIELD_COUNT } dp_trace_field_t;
#undef DP_TRACE_ENUM_

/* Wire name of a field ("scheduled_ms"); NULL for a bad value. Static string. */
const char *dp_trace_field_name(dp_trace_field_t f);

/* What stamps the field (for --help and docs). Static string; NULL for a bad value. */
const char *dp_trace_field_help(dp_trace_field_t f);

/* Writes "dp:trace:<device_id>" into buf (DP_TRACE_KEY_MAX bytes suffice). */
void dp_trace_key(uint64_t device_id, char *buf, size_t size);

/* Starts the trace of a new job: stamps job_id, kind, epoch, scheduled_by = node and
   scheduled_ms = now into a hash emptied of any older job (stamps of this job already there
   are kept; a newer job's trace is left alone). Returns 0, or -1 (counted; err set when err
   is not NULL). */
int dp_trace_begin(dp_redis_t *r, uint64_t device_id, uint64_t job_id, const char *kind,
                   uint64_t epoch, const char *node, dp_err_t *err);

/* Sets one field (value printf-formatted, at most DP_TRACE_VALUE_MAX bytes) and renews the
   TTL, whatever job the trace belongs to. Returns 0, or -1 (counted). */
int dp_trace_mark(dp_redis_t *r, uint64_t device_id, const char *field, const char *value_fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets one field only when the trace belongs to job_id, to an older job (the hash is emptied
   first) or to none (job_id is stamped too). Returns 1 when written, 0 when the trace is a
   newer job's, -1 on a Redis error (counted). */
int dp_trace_mark_job(dp_redis_t *r, uint64_t device_id, uint64_t job_id, const char *field,
                      const char *value_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Stamps written and stamps that failed (Redis down, batch full, ...) in this process so far. */
uint64_t dp_trace_marks(void);
uint64_t dp_trace_failures(void);

// ---------------------------------------------------------------------------- batches

#define DP_TRACE_BATCH_MAX   4096 /* stamps a batch holds; more are dropped (counted as failures) */
#define DP_TRACE_BATCH_EVAL  256  /* stamps sent per EVAL */
#define DP_TRACE_BATCH_PAIRS 8    /* fields one stamp holds (merged stamps of a job) */

/* Stamps queued in memory and sent together: one EVAL (one round trip) per
   DP_TRACE_BATCH_EVAL stamps, with the same effect as the single calls in queue order. Values
   are formatted (and times taken) when queued, so a late flush does not skew the trace.
   Consecutive stamps of the same device and job merge into one. Single-threaded. */
typedef struct dp_trace_batch dp_trace_batch_t;

/* Creates an empty batch. Caller owns result; free with dp_trace_batch_destroy. */
dp_trace_batch_t *dp_trace_batch_new(void);

/* Frees the batch and drops what it holds (not counted). NULL-safe; sets *p to NULL. */
void dp_trace_batch_destroy(dp_trace_batch_t **p);

/* Queues dp_trace_begin with scheduled_ms = at_ms (wall ms; <= 0: now). Pass the time the
   JOB was built, before sending it: a fast worker stamps taken_ms within the same ms. Returns
   0, or -1 when the batch is full (the stamp is dropped and counted as a failure). */
int dp_trace_batch_begin(dp_trace_batch_t *b, uint64_t device_id, uint64_t job_id, const char *kind,
                         uint64_t epoch, const char *node, int64_t at_ms);

/* Queues dp_trace_mark_job (job_id 0: any job, like dp_trace_mark). Returns 0, or -1 when the
   batch is full (dropped, counted). */
int dp_trace_batch_mark_job(dp_trace_batch_t *b, uint64_t device_id, uint64_t job_id,
                            const char *field, const char *value_fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Stamps queued (after merging). */
size_t dp_trace_batch_pending(const dp_trace_batch_t *b);

/* Sends every queued stamp over r and empties the batch. Returns the stamps written (those of
   an older job than the trace's are not), or -1 when Redis failed (the stamps not sent are
   dropped and counted; err set when not NULL). An empty batch costs nothing. */
int dp_trace_batch_flush(dp_trace_batch_t *b, dp_redis_t *r, dp_err_t *err);

#endif
