/*  poller.h - the poller daemon: jobs in from the schedulers, results out, metrics to rrdwriter
    The main thread owns the dp_daemon loop, the job DEALERs (dp_jobs), the metrics sink
    (dp_sink) and DP_WORKERS polling threads (poller_worker). A JOB goes to the worker
    device_id % DP_WORKERS (so a device's cached hints stay on one thread). JOBs are read every
    50 ms (dp_jobs_set_intake) and each worker gets that tick's in one message: at a steady job
    rate a wake-up per job in each thread cost more than the polls themselves. The worker's DONE
    becomes the RESULT and its METRICS go through the sink. Backpressure: jobs pause while the
    sink is full. SIGTERM: stop taking jobs, finish in-flight ones, flush the sink, exit 0.
    SIGHUP: reload (log level, SNMP timeout/retries, concurrency, poller groups).
    Inspection: one tap (`distpoll tap poller`) gets the job link's and the sink's traffic; the
    job trace gets dp_jobs' stamps plus snmp_ms and metrics_sent_ms, all queued in this thread
    (the workers pass them back in their DONE) and sent over the main thread's own Redis link.
    Control verbs besides PING/STATS/CONFIG: "POLL <hostname|device_id>" polls one device now
    (no writes) and answers what was collected.
    SPDX-License-Identifier: MIT */
#ifndef POLLER_H
#define POLLER_H

#include "dp_cfg.h"
#include "dp_daemon.h"
#include "dp_err.h"
#include "dp_zmq.h"

typedef struct poller poller_t;

/* Builds the service on daemon d: cfg is borrowed (reloaded in place on SIGHUP, so it must
   outlive the poller), keys NULL when DP_CURVE is off, argc/argv kept for reloads.
   Returns NULL with err on failure. */
poller_t *poller_new(dp_daemon_t *d, dp_cfg_t *cfg, const dp_zmq_keys_t *keys, int argc,
                     char **argv, dp_err_t *err);

/* Stops the workers and frees everything. NULL-safe; sets *p to NULL. */
void poller_destroy(poller_t **p);

#endif
