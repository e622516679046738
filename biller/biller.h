/*  biller.h - the biller service: who bills, when, and the daemon glue
    distributed_billing off (default): one biller in the cluster is the runner, elected by the
    Redis lease "dp:leader:biller" (TTL DP_LOCK_TTL, renewed every TTL/4) and fenced by the
    MariaDB epoch "biller"; at every interval boundary (DP_BILLING_INTERVAL) it bills every bill
    (biller_calc_bill), one bill per loop turn so signals and the control socket stay live. A
    standby tries the lease every 500 ms and, on winning, starts at the next boundary (the
    missed intervals are filled by the per-port gap spreading). distributed_billing on: bills
    arrive as scheduler jobs (common/dp_jobs, kind bill), one per (bill, poller group of its
    ports), and a job bills exactly the bill's ports on devices of the job's group. Both modes are
   safe together: counting is idempotent per port and interval. Single-threaded: everything runs in
   the daemon's zloop. SPDX-License-Identifier: MIT */
#ifndef BILLER_H
#define BILLER_H

#include "dp_cfg.h"
#include "dp_daemon.h"
#include "dp_err.h"

typedef struct biller biller_t;

/* Creates the service on daemon's loop: opens MariaDB and Redis handles (connections are
   made lazily and retried; a dead server never stops the daemon), registers timers, drain,
   reload, CONFIG and STATS counters. cfg is borrowed and must outlive the service; argc/argv
   are kept to re-read the configuration on SIGHUP. Returns NULL with err on bad setup.
   Caller owns the result; free with biller_destroy before the daemon. */
biller_t *biller_new(dp_cfg_t *cfg, dp_daemon_t *daemon, int argc, char **argv, dp_err_t *err);

/* Releases the lease (if held), closes connections and frees the service. NULL-safe; sets *p to
   NULL. */
void biller_destroy(biller_t **p);

#endif
