/*  poller_worker.h - one polling thread: claims, async SNMP, batched DB writes, METRICS
    A zactor. The main thread hands it JOBs (it owns them from then on) and gets back one DONE
    per job. Inside, one dp_snmp engine keeps up to DP_CONCURRENCY requests in flight, its own
    dp_redis claims each device, its own MariaDB connection writes finished polls in batches,
    and per-device hints (port count, all-HC, v3 engine id, row cache) are kept by device_id.
    Pipe protocol (zsock pictures):
      main -> worker  "sb"   "JOBS", dp_msg_t *jobs[n] (dp_worker_send_jobs; "sp" "JOB" works too)
                      "ssss" "CFG", snmp_timeout_ms, snmp_retries, concurrency (decimal)
                      "ss"   "POLL", host-or-id  (poll now, no writes) -> "POLLED" text
      worker -> main  "sb"   "DONE", poller_done_t[n] (the METRICS bytes pass to main)
                      "ss"   "POLLED", text
    SPDX-License-Identifier: MIT */
#ifndef POLLER_WORKER_H
#define POLLER_WORKER_H

#include "dp_cfg.h"
#include "dp_sink.h"
#include "dp_stats.h"

#include <czmq.h>
#include <stdint.h>

#define POLLER_HIST_BUCKETS 64
#define POLLER_REASON_MAX   160

/* One finished job, worker -> main. */
typedef struct {
    uint64_t job_id;
    uint64_t device_id;
    int status; /* dp_msg_status_t */
    char reason[POLLER_REASON_MAX];
    dp_sink_bytes_t metrics; /* METRICS encoded by the worker (data NULL: none); main sends it */
    int64_t took_ms;
    int64_t snmp_ms; /* time spent in SNMP (the trace's snmp_ms); -1 when not polled */
} poller_done_t;

/* Counters the workers update and the main thread reports (all atomic). */
typedef struct {
    dp_counter_t *jobs_done, *jobs_failed, *devices_up, *devices_down;
    dp_counter_t *snmp_requests, *snmp_timeouts, *snmp_parse_errors, *snmp_bad_reqids;
    dp_counter_t *snmp_toobig, *inflight, *db_batches, *db_errors, *reboots, *claims_busy;
    dp_counter_t *claims_done, *stale_epoch, *db_ms;
    _Atomic uint64_t poll_hist[POLLER_HIST_BUCKETS]; /* poll durations, ~20 % wide buckets */
    dp_sink_t *sink; /* main's sink, for dp_sink_encode only; NULL: METRICS are dropped */
} poller_shared_t;

/* Registers the counters in stats. */
void poller_shared_init(poller_shared_t *sh, dp_stats_t *stats);

/* Percentile (0..100) of poll durations in ms from the histogram; 0 when empty. */
double poller_shared_percentile(const poller_shared_t *sh, double pct);

/* Histogram bucket of a duration (ms >= 0). */
int poller_hist_bucket(int64_t ms);

/* Starts worker id with a copy of cfg. NULL on failure. Destroy with zactor_destroy. */
zactor_t *poller_worker_new(int id, const dp_cfg_t *cfg, poller_shared_t *shared);

#endif
