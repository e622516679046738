/*  scheduler.h - the scheduler service: leader election, due computation, job dispatch
    Any number of schedulers run; one leads (scheduler_leader) and only it emits jobs. Every
    scheduler binds DP_SCHEDULER_BIND (ROUTER), keeps the worker table from CREDIT and the
    device table from MariaDB, so a standby takes over with a warm table. Control verbs
    (besides PING/STATS/CONFIG): LEADER, QUEUE, WORKERS, RELOAD. Runs in the daemon's loop.
    SPDX-License-Identifier: MIT */
#ifndef SCHEDULER_H
#define SCHEDULER_H

#include "dp_cfg.h"
#include "dp_daemon.h"
#include "dp_err.h"
#include "dp_zmq.h"

typedef struct scheduler scheduler_t;

/* Creates the service on daemon d with config cfg (borrowed; must outlive it; SIGHUP updates
   its reloadable keys from argv, re-read like at start). keys: CURVE keys, or NULL for plain
   local endpoints. Connecting to Redis and MariaDB is attempted, not required (they are
   retried). Returns NULL with err when the job endpoint cannot be bound. Caller owns result;
   free with scheduler_destroy before the daemon. */
scheduler_t *scheduler_new(dp_daemon_t *d, dp_cfg_t *cfg, const dp_zmq_keys_t *keys, int argc,
                           char **argv, dp_err_t *err);

/* Stops the timers, closes the sockets and connections. NULL-safe; sets *p to NULL. */
void scheduler_destroy(scheduler_t **p);

#endif
