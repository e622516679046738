/*  rrdwriter.h - the rrdwriter service: METRICS in, durable spool, ACKs, updates to rrdcached
    Receives METRICS on a ROUTER (DP_RRDWRITER_BIND), appends each decoded message to the spool
    with group commit (fdatasync at most S_COMMIT_MS after the first uncommitted one), then
    ACKs its msg_id; rejected messages are ACKed too (so they are not resent) and counted.
    The apply thread (rrdwriter_apply) feeds rrdcached from the spool. When the unapplied spool
    reaches DP_SPOOL_MAX_MB the ROUTER is not read (backpressure: senders keep their messages).
    Inspection: every METRICS frame received and ACK sent is copied to the tap
    (`distpoll tap rrdwriter`); the job trace gets spooled_ms (durable, ACKed) and
    rrd_written_ms/rrd_by (rrdcached accepted) through rrdwriter_trace, which owns the Redis
    connection (REDIS_*) in its own thread: Redis down costs stamps (counted), never metrics.
    Lives in the daemon's loop thread; control verbs STATS (counters) and BACKLOG.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_H
#define RRDWRITER_H

#include "dp_cfg.h"
#include "dp_daemon.h"
#include "dp_err.h"
#include "dp_zmq.h"

typedef struct rrdwriter rrdwriter_t;

/* Opens the spool, starts the apply thread, binds the ROUTER and registers with d's loop.
   cfg, keys, argv are borrowed (cfg is updated in place on SIGHUP). keys NULL: plain
   (local endpoints only). Caller owns result; free with rrdwriter_destroy. NULL on error. */
rrdwriter_t *rrdwriter_new(dp_daemon_t *d, dp_cfg_t *cfg, const dp_zmq_keys_t *keys, int argc,
                           char **argv, dp_err_t *err);

/* Stops the apply thread, closes the socket and spool. NULL-safe; sets *p to NULL. */
void rrdwriter_destroy(rrdwriter_t **p);

#endif
