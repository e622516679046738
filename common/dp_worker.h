/*  dp_worker.h - the pieces of an SNMP worker thread (poller, discoverer) that do not depend on
    the work: the main -> worker pipe commands, the poll loop over the pipe and the dp_snmp
    engine, the claim end and its "job done" debug line, the engine counters. The worker
    keeps its own state and job handling; these helpers take what they need as arguments.
    Pipe protocol (zsock pictures), main -> worker:
      "sp"    "JOB", dp_msg_t *job          (the worker owns the job from then on)
      "sb"    "JOBS", dp_msg_t *jobs[n]     (dp_worker_send_jobs: many jobs, one wake-up)
      "siii"  "CFG", snmp_timeout_ms, snmp_retries, concurrency
      other   "NAME", ...                   (returned to the worker as DP_WORKER_OTHER)
    SPDX-License-Identifier: MIT */
#ifndef DP_WORKER_H
#define DP_WORKER_H

#include "dp_cfg.h"
#include "dp_msg.h"
#include "dp_redis.h"
#include "dp_snmp.h"
#include "dp_stats.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DP_WORKER_TERM,  /* $TERM, or the pipe is gone: leave the loop */
    DP_WORKER_JOB,   /* job set */
    DP_WORKER_JOBS,  /* jobs and njobs set */
    DP_WORKER_CFG,   /* snmp_timeout_ms, snmp_retries, concurrency set */
    DP_WORKER_OTHER, /* name and rest set */
    DP_WORKER_NONE   /* malformed JOB or CFG: ignored */
} dp_worker_cmd_t;

/* One command from the pipe. */
typedef struct {
    dp_worker_cmd_t cmd;
    dp_msg_t *job;                                  /* JOB: now the caller's */
    dp_msg_t **jobs;                                /* JOBS: array and jobs the caller's */
    int njobs;                                      /* JOBS: entries in jobs (>= 1) */
    int snmp_timeout_ms, snmp_retries, concurrency; /* CFG (concurrency >= 1) */
    char *name;                                     /* OTHER: the command; caller frees */
    zmsg_t *rest;                                   /* OTHER: what follows it; caller destroys */
} dp_worker_in_t;

/* Reads one command from pipe (blocks: call when it is readable) into *in. */
void dp_worker_recv(zsock_t *pipe, dp_worker_in_t *in);

/* Main side: hands n (>= 1) jobs to worker w (its zactor, or a zsock) in one message. Returns 0
   (the worker owns them now) or -1 (not sent: the caller still owns them). */
int dp_worker_send_jobs(void *w, dp_msg_t *const *jobs, int n);

/* What dp_worker_loop calls; self is the worker. NULL hooks are skipped. */
typedef struct {
    long (*next_ms)(void *self);               /* ms to the worker's next deadline, -1 none */
    void (*on_job)(void *self, dp_msg_t *job); /* JOB: the job is the worker's now */
    void (*on_cfg)(void *self);                /* CFG: after it is applied to cfg and engine */
    void (*on_other)(void *self, const char *name, zmsg_t *rest); /* other commands */
    void (*before)(void *self); /* every wake-up, before the engine runs its timers and replies */
    void (*after)(void *self);  /* every wake-up, after the engine */
} dp_worker_hooks_t;

/* Runs the worker thread until $TERM (sets *terminated) or the context ends: polls the pipe
   and the engine's socket (timeout: the engine's next timer or next_ms, the sooner), reads
   every waiting command (JOBS calls on_job per job; CFG sets cfg's snmp_timeout_ms, snmp_retries
   and concurrency and the engine's in-flight limit), then before, dp_snmp_process, after. */
void dp_worker_loop(zsock_t *pipe, dp_snmp_t *snmp, dp_cfg_t *cfg, bool *terminated,
                    const dp_worker_hooks_t *hooks, void *self);

/* What a worker thread gets from dp_worker_start (its fn frees it). */
typedef struct {
    int id;
    const dp_cfg_t *cfg; /* the caller's: fn copies what it keeps */
    void *shared;        /* the daemon's shared counters */
} dp_worker_args_t;

/* Starts fn as a zactor with a dp_worker_args_t. NULL on failure. */
zactor_t *dp_worker_start(zactor_fn *fn, int id, const dp_cfg_t *cfg, void *shared);

/* Ends the thread's start-up: signals the pipe 0 when rc == 0, else logs err and signals 1.
   Returns rc == 0. */
bool dp_worker_started(zsock_t *pipe, int id, int rc, const dp_err_t *err);

/* The thread's Redis handle (lazily connected; node_id from cfg). NULL on bad options. */
dp_redis_t *dp_worker_redis_new(const dp_cfg_t *cfg);

/* Ends the claim on job's device: done marks the cycle done for keep_ms (dp_claim_finish),
   else releases the lock so the job can be re-issued. A failure is logged, not returned. */
void dp_worker_claim_end(dp_redis_t *redis, const char *kind, const char *token,
                         const dp_msg_job_t *job, bool done, int64_t keep_ms);

/* The debug line an end-to-end test reads: one per claimed job, its claim window in wall ms
   ("job done" device_id kind cycle start_ms end_ms status). */
void dp_worker_log_done(const char *kind, const dp_msg_job_t *job, int64_t start_ms,
                        dp_msg_status_t st);

/* Shared counters fed from a thread's engine; NULL ones are not fed. */
typedef struct {
    dp_counter_t *requests, *timeouts, *toobig, *parse_errors, *bad_reqids;
} dp_worker_snmp_counters_t;

/* Adds what the engine counted since the last call (*published) to the shared counters. */
void dp_worker_publish_snmp(const dp_snmp_t *snmp, dp_snmp_stats_t *published,
                            const dp_worker_snmp_counters_t *c);

#endif
