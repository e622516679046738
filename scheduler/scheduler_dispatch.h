/*  scheduler_dispatch.h - workers, credit, leases: turning due targets into JOBs
    Keeps the worker table (from CREDIT, keyed by ROUTER routing id), hands the oldest due
    target of each kind to the worker of the matching stage that serves its group and has the
    most free credit (never more jobs than credit), records a lease per job and settles it on
    RESULT. A lease that outlives the job timeout, or whose worker falls silent for
    SCHEDULER_WORKER_DEAD_MS, is re-queued at once for the same cycle. Sending goes through a
    callback so the logic runs without sockets in unit tests. Single-threaded.
    SPDX-License-Identifier: MIT */
#ifndef SCHEDULER_DISPATCH_H
#define SCHEDULER_DISPATCH_H

#include "dp_msg.h"
#include "dp_stats.h"
#include "dp_trace.h"
#include "scheduler_plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHEDULER_WORKER_DEAD_MS 3500 /* a worker silent this long is dead */
#define SCHEDULER_BUSY_DELAY_MS  5000 /* retry delay after "busy" (capped at job timeout / 2) */
#define SCHEDULER_ERROR_DELAY_MS 1000 /* retry delay after other errors */
#define SCHEDULER_RID_MAX        256  /* routing id bytes */
#define SCHEDULER_DISPATCH_BURST 2000 /* jobs sent per scheduler_dispatch_run */

/* Sends one encoded message to the peer with routing id rid. Returns 0, or -1 when the peer
   is gone or its pipe is full (the job stays queued). */
typedef int(scheduler_send_fn)(void *arg, const void *rid, size_t rid_len, const void *data,
                               size_t size);

typedef struct scheduler_dispatch scheduler_dispatch_t;

/* Creates a dispatcher for node (the sender of JOBs), counting into stats (borrowed, must
   outlive it). Caller owns result; free with scheduler_dispatch_destroy. */
scheduler_dispatch_t *scheduler_dispatch_new(const char *node, dp_stats_t *stats,
                                             scheduler_send_fn *send, void *send_arg);

/* Frees the dispatcher (not the plans). NULL-safe; sets *p to NULL. */
void scheduler_dispatch_destroy(scheduler_dispatch_t **p);

/* Attaches the plan of its kind (borrowed; must outlive the dispatcher or be detached with
   NULL). */
void scheduler_dispatch_set_plan(scheduler_dispatch_t *d, dp_msg_kind_t kind,
                                 scheduler_plan_t *plan);

/* Queues job trace stamps into batch (borrowed; NULL: off; the caller flushes it): begin for
   every poll/discover JOB sent, result_ms for every RESULT of a device. */
void scheduler_dispatch_set_trace(scheduler_dispatch_t *d, dp_trace_batch_t *batch);

/* Job timeout (lease length and the job's deadline), default 60 s. */
void scheduler_dispatch_set_job_timeout(scheduler_dispatch_t *d, int64_t timeout_ms);

/* Handles one CREDIT or RESULT received from the peer rid. now_ms: monotonic; now_s: wall
   unix seconds. Returns 0, or -1 for an undecodable or unexpected message (counted). */
int scheduler_dispatch_on_message(scheduler_dispatch_t *d, const void *rid, size_t rid_len,
                                  const void *data, size_t size, int64_t now_ms, int64_t now_s);

/* Leader only: releases due targets and sends up to SCHEDULER_DISPATCH_BURST jobs stamped
   with epoch. Returns the number of jobs sent. */
int scheduler_dispatch_run(scheduler_dispatch_t *d, uint64_t epoch, int64_t now_ms, int64_t now_s);

/* Removes silent workers and re-queues their leases and every expired lease. Returns the
   number of leases re-queued. */
int scheduler_dispatch_expire(scheduler_dispatch_t *d, int64_t now_ms, int64_t now_s);

/* Forgets every lease (leadership lost or given up); targets are re-queued as fresh. */
void scheduler_dispatch_drop_leases(scheduler_dispatch_t *d, int64_t now_s);

/* Live workers (all stages) and those of the stage that works kind. */
int scheduler_dispatch_workers(const scheduler_dispatch_t *d);
int scheduler_dispatch_workers_for(const scheduler_dispatch_t *d, dp_msg_kind_t kind);

/* Leases outstanding for kind (DP_MSG_KIND_NONE: all). */
int scheduler_dispatch_leases(const scheduler_dispatch_t *d, dp_msg_kind_t kind);

/* Jobs of kind settled since the last call, and their summed took_ms; resets both. */
void scheduler_dispatch_take_done(scheduler_dispatch_t *d, dp_msg_kind_t kind, int *jobs,
                                  int64_t *took_ms);

/* One line per worker: "node=N stage=S groups=0,2 credit=C slots=S last_seen_ms=A
   leased=L". Caller frees. "" when none. */
char *scheduler_dispatch_workers_text(const scheduler_dispatch_t *d, int64_t now_ms);

/* Stage name that works kind ("poller", "discoverer", "biller"), or NULL. */
const char *scheduler_dispatch_stage(dp_msg_kind_t kind);

#endif
