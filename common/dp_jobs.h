/*  dp_jobs.h - worker side of the job protocol (poller, discoverer, biller)
    A worker opens one DEALER per scheduler endpoint (DP_SCHEDULERS), announces CREDIT {node,
    stage, credit, groups} every second and whenever a slot frees up, receives JOBs from
    whichever scheduler leads, refuses jobs whose epoch is below the highest seen (RESULT error
    "stale epoch"), and answers each job with one RESULT on the DEALER it came from.
    Inspection, shared by every worker: with dp_jobs_set_tap each frame received and message
    sent is copied to the daemon's tap (`distpoll tap`); with dp_jobs_set_trace the job trace
    (`distpoll trace`) gets taken_by/taken_ms when a job is handed over and polled_ms/status/
    reason when it finishes, queued and sent in one Redis round trip per DP_JOBS_TRACE_FLUSH_MS;
    with dp_jobs_set_stats, finished jobs feed the job_ms histogram and jobs_done/jobs_failed
    counters read by `distpoll status/top` and /metrics.
    Intake (dp_jobs_set_intake): by default a JOB is handed over as soon as it arrives; at a
    steady job rate that wakes the thread (and whatever it forwards the job to) once per job.
    With an intake period the DEALERs are read on a timer instead: every tick hands over all
    the JOBs waiting, then calls the burst hook (dp_jobs_on_burst) so the daemon can pass them
    on together, the CREDITs owed for jobs finished since the last tick go out as one, and the
    trace stamps are flushed on the tick too (at most every DP_JOBS_TRACE_FLUSH_MS).
    Single-threaded: use from the thread that runs loop.
    SPDX-License-Identifier: MIT */
#ifndef DP_JOBS_H
#define DP_JOBS_H

#include "dp_cfg.h"
#include "dp_err.h"
#include "dp_msg.h"
#include "dp_redis.h"
#include "dp_stats.h"
#include "dp_tap.h"
#include "dp_zmq.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define DP_JOBS_CREDIT_IVL_MS  1000 /* CREDIT heartbeat period */
#define DP_JOBS_TRACE_FLUSH_MS 100  /* trace stamps are sent this often */

typedef struct dp_jobs dp_jobs_t;

/* Called with a received, decoded, epoch-checked JOB; the callee owns *job and must eventually
   call dp_jobs_finish(j, job_id, ...) exactly once for it. */
typedef void(dp_jobs_fn)(dp_jobs_t *j, dp_msg_t *job, void *arg);

/* Connects one DEALER per endpoint of cfg->schedulers (CURVE with keys; keys NULL only for
   local endpoints) and registers them, plus a 1 s CREDIT timer, with loop. stage: "poller" |
   "discoverer" | "biller". slots: max jobs in flight (>= 1). Returns NULL with err on failure.
   Caller owns result; free with dp_jobs_destroy (before the loop is destroyed). */
dp_jobs_t *dp_jobs_new(zloop_t *loop, const dp_cfg_t *cfg, const dp_zmq_keys_t *keys,
                       const char *stage, int slots, dp_err_t *err);

/* Unregisters from the loop and closes the sockets. Jobs still in flight are forgotten (the
   schedulers re-issue them after the worker's silence). NULL-safe; sets *p to NULL. */
void dp_jobs_destroy(dp_jobs_t **p);

/* Sets the job handler (without one, jobs are answered error "no handler"). */
void dp_jobs_on_job(dp_jobs_t *j, dp_jobs_fn *fn, void *arg);

/* Called after the JOBs read in one go (one readable turn, or one intake tick) were handed to
   the job handler, when at least one was. */
typedef void(dp_jobs_burst_fn)(dp_jobs_t *j, void *arg);

/* Sets the burst hook (NULL: none). */
void dp_jobs_on_burst(dp_jobs_t *j, dp_jobs_burst_fn *fn, void *arg);

/* Reads JOBs every intake_ms (> 0) instead of as they arrive (0, the default), and sends the
   CREDIT owed after dp_jobs_finish on that tick rather than at once. A job then waits up to
   intake_ms before it is handed over (the CREDIT heartbeat and the other CREDITs are not
   delayed). */
void dp_jobs_set_intake(dp_jobs_t *j, int intake_ms);

/* Sets the poller groups served (from dp_settings_load); copied; announced at once. */
void dp_jobs_set_groups(dp_jobs_t *j, const int *groups, int n);

/* Sets the max jobs in flight; announced at once. */
void dp_jobs_set_slots(dp_jobs_t *j, int slots);

/* Stops (true) or resumes taking jobs: advertises credit 0 (drain on SIGTERM, backpressure
   when the metrics sink is full). Jobs arriving while paused are answered error "paused". */
void dp_jobs_pause(dp_jobs_t *j, bool paused);

/* Sends RESULT for job_id to the scheduler it came from and frees its slot (a CREDIT follows:
   at once, or on the next intake tick with dp_jobs_set_intake). reason may be NULL. Returns 0 or -1
   (unknown id). */
int dp_jobs_finish(dp_jobs_t *j, uint64_t job_id, dp_msg_status_t status, const char *reason,
                   int64_t took_ms);

/* Jobs handed to the handler and not yet finished. */
int dp_jobs_inflight(const dp_jobs_t *j);

/* Highest epoch seen in any JOB (0 before the first). */
uint64_t dp_jobs_max_epoch(const dp_jobs_t *j);

/* Counters go into stats (borrowed; must outlive j): jobs_received, jobs_stale, results_sent,
   jobs_refused, jobs_bad; per dp_jobs_finish the job_ms histogram of took_ms
   (as dp_http_observe_ms keeps it; its counters are registered here, at 0) and jobs_done (status ok
   or down) / jobs_failed (error, timeout) -- unless stats already has jobs_done when this is called
   (the daemon counts them itself, as poller and discoverer do); gauges jobs_queued
   (dp_jobs_set_queued), jobs_in_flight (handed over, not queued, not finished), trace_marks and
   trace_failures (dp_trace, process-wide). */
void dp_jobs_set_stats(dp_jobs_t *j, dp_stats_t *stats);

/* Copies every frame received (DP_TAP_IN) and message sent (DP_TAP_OUT) to tap (borrowed;
   the daemon's tap, must outlive j; NULL: off). */
void dp_jobs_set_tap(dp_jobs_t *j, dp_tap_t *tap);

/* Stamps job traces (dp_trace) over r (borrowed: a connection of the loop's thread, e.g. the
   one used for device claims; must outlive j; NULL: off). Jobs with device_id 0 (bills) are
   not traced. Stamps are queued and flushed by a DP_JOBS_TRACE_FLUSH_MS timer (and by
   dp_jobs_destroy); failures are counted, never fatal. */
void dp_jobs_set_trace(dp_jobs_t *j, dp_redis_t *r);

/* Queues one more trace stamp for a job (e.g. the poller's snmp_ms, metrics_sent_ms), sent
   with the others. value_fmt: printf. No-op without dp_jobs_set_trace or for device_id 0. */
void dp_jobs_trace(dp_jobs_t *j, uint64_t device_id, uint64_t job_id, const char *field,
                   const char *value_fmt, ...) __attribute__((format(printf, 5, 6)));

/* Tells how many of the jobs handed over wait in the daemon's own queue (not started):
   gauge jobs_queued; jobs_in_flight = in flight - queued. */
void dp_jobs_set_queued(dp_jobs_t *j, int queued);

#endif
