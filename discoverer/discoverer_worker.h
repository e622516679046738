/*  discoverer_worker.h - one discovery thread: claims, async SNMP walks, inventory writes
    A zactor. The main thread hands it JOBs (it owns them from then on) and gets back one DONE
    per job. Inside, one dp_snmp engine runs every discovery the thread holds at once (at most
    DP_CONCURRENCY requests in flight), its own dp_redis claims each device ("discover" claim:
    never two nodes on one device), its own MariaDB connection writes each finished discovery.
    A discovery: system walk (identity; no answer = unreachable, recorded and not retried
    before the next interval), then the ports and host walks together, bounded by a time budget
    (the job's deadline, at most DP_JOB_TIMEOUT): past it the session is closed and what did
    not complete is not written (a partial port walk never marks ports deleted).
    Results: ok; down (unreachable) and timeout (partial) are recorded and count as done for the
    cycle; error ("busy", "stale epoch", "redis unavailable", "db unavailable", ...) leaves
    the device to be re-issued.
    Pipe protocol (zsock pictures):
      main -> worker  "sp"    "JOB", dp_msg_t *job
                      "siii"  "CFG", snmp_timeout_ms, snmp_retries, concurrency
      worker -> main  "sb"    "DONE", discoverer_done_t
    SPDX-License-Identifier: MIT */
#ifndef DISCOVERER_WORKER_H
#define DISCOVERER_WORKER_H

#include "discoverer_os.h"
#include "dp_cfg.h"
#include "dp_stats.h"

#include <czmq.h>
#include <pthread.h>
#include <stdint.h>

#define DISCOVERER_REASON_TEXT 200

/* One finished job, worker -> main. */
typedef struct {
    uint64_t job_id;
    int status; /* dp_msg_status_t */
    char reason[DISCOVERER_REASON_TEXT];
    int64_t took_ms;
} discoverer_done_t;

/* State the workers share with the main thread: counters (atomic) and the OS rules in force. */
typedef struct {
    dp_counter_t *jobs_done, *jobs_failed, *devices_discovered, *devices_unreachable;
    dp_counter_t *ports_new, *ports_deleted, *ports_undeleted, *os_unknown, *partial;
    dp_counter_t *budget_exceeded, *claims_busy, *claims_done, *stale_epoch, *db_errors;
    dp_counter_t *snmp_requests, *snmp_timeouts, *snmp_toobig, *snmp_parse_errors, *inflight;
    pthread_mutex_t lock;         /* guards rules */
    discoverer_os_rules_t *rules; /* current set (one reference held here) */
} discoverer_shared_t;

/* Registers the counters in stats and sets up the lock. */
void discoverer_shared_init(discoverer_shared_t *sh, dp_stats_t *stats);

/* Drops the rules reference and the lock (after every worker is gone). */
void discoverer_shared_destroy(discoverer_shared_t *sh);

/* Puts *rules in force (takes the caller's reference; sets *rules to NULL). Discoveries
   already running keep the set they started with. */
void discoverer_shared_set_rules(discoverer_shared_t *sh, discoverer_os_rules_t **rules);

/* The rules in force with a new reference (release with discoverer_os_unref), or NULL. */
discoverer_os_rules_t *discoverer_shared_rules(discoverer_shared_t *sh);

/* Starts worker id with a copy of cfg. NULL on failure. Destroy with zactor_destroy (jobs
   still running are dropped: drain first). */
zactor_t *discoverer_worker_new(int id, const dp_cfg_t *cfg, discoverer_shared_t *shared);

#endif
