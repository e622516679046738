/*  rrdwriter_apply.h - the rrdwriter's apply thread: spool -> validated updates -> rrdcached
    One thread reads committed METRICS in spool order (handed over in memory while it keeps up,
    else read back from the spool), validates every update against its file (DS names and
    types from our own CREATE or from rrdcached's INFO; value kinds; timestamps), creates
    missing files and sends the rest with BATCH. It publishes how far the spool is applied.
    After a reconnect it replays the spool from its oldest retained frame: rrdcached answers
    "illegal attempt ... last update time is" for what it already has (counted, not retried).
    Counters go to the dp_stats_t given (atomic). push/commit/applied are thread-safe.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_APPLY_H
#define RRDWRITER_APPLY_H

#include "dp_err.h"
#include "dp_msg.h"
#include "dp_stats.h"
#include "rrdwriter_def.h"
#include "rrdwriter_trace.h"

#include <stdbool.h>
#include <stdint.h>

#define RRDWRITER_APPLY_BATCH_MAX   20000       /* updates per BATCH (soft: whole messages) */
#define RRDWRITER_APPLY_QUEUE_MAX   4096        /* decoded messages handed over in memory ... */
#define RRDWRITER_APPLY_QUEUE_BYTES (64u << 20) /* ... and their spooled (encoded) bytes */
#define RRDWRITER_APPLY_TIMEOUT_MS  10000       /* rrdcached I/O timeout */

typedef struct rrdwriter_apply rrdwriter_apply_t;

typedef struct {
    const char *spool_dir;     /* where the spool segments are */
    const char *rrdcached;     /* "unix:/path" or "host:port" */
    const char *rrd_dir;       /* RRD directory here (copied); files are created in it directly
                                  when rrdcached shares it, else NULL: CREATE through rrdcached */
    int step_s;                /* step of created files (heartbeat 2 x step) */
    rrdwriter_def_rras_t rras; /* RRAs of created files */
    int batch_max;             /* 0 = RRDWRITER_APPLY_BATCH_MAX */
    int timeout_ms;            /* 0 = RRDWRITER_APPLY_TIMEOUT_MS */
    uint64_t start_lsn;        /* oldest frame in the spool */
    uint64_t replay_end_lsn;   /* frames before this were spooled by an earlier run */
    uint64_t committed_lsn;    /* durable end of the spool */
    dp_stats_t *stats;         /* borrowed; outlives the thread */
    rrdwriter_trace_t *trace;  /* borrowed, outlives the thread; NULL: no rrd_written_ms */
} rrdwriter_apply_cfg_t;

/* Starts the thread (it connects to rrdcached by itself, with backoff).
   Caller owns result; stop with rrdwriter_apply_stop. NULL on error (err set). */
rrdwriter_apply_t *rrdwriter_apply_start(const rrdwriter_apply_cfg_t *cfg, dp_err_t *err);

/* Stops the thread after the BATCH in progress (if any) and frees. NULL-safe; sets *p NULL. */
void rrdwriter_apply_stop(rrdwriter_apply_t **p);

/* Hands over a committed message spooled at [start_lsn, end_lsn). Takes ownership of *msg
   (sets it NULL); it is freed at once when the in-memory queue is full (the thread then
   reads the frame back from the spool): full is RRDWRITER_APPLY_QUEUE_MAX messages or, with
   this one, more than RRDWRITER_APPLY_QUEUE_BYTES of spooled frames (a decoded message takes
   about twice its frame), so the memory a slow rrdcached can pile up is bounded. */
void rrdwriter_apply_push(rrdwriter_apply_t *a, dp_msg_t **msg, uint64_t start_lsn,
                          uint64_t end_lsn);

/* Tells the thread the spool is durable up to committed_lsn and the oldest frame on disk is at
   first_lsn (for replays); wakes it. */
void rrdwriter_apply_commit(rrdwriter_apply_t *a, uint64_t committed_lsn, uint64_t first_lsn);

/* Position before which every frame was applied (answered by rrdcached or rejected). */
uint64_t rrdwriter_apply_applied(rrdwriter_apply_t *a);

/* Spooled bytes of the messages waiting in the in-memory queue. */
uint64_t rrdwriter_apply_queued_bytes(rrdwriter_apply_t *a);

/* True while connected to rrdcached. */
bool rrdwriter_apply_is_up(rrdwriter_apply_t *a);

#endif
