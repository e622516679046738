/*  discoverer.h - the discoverer service: scheduler link, worker threads, OS rules, daemon glue
    Takes "discover" JOBs from every scheduler (common/dp_jobs, stage "discoverer", the poller
    groups this node serves), hands each to the least loaded of DP_WORKERS worker threads
    (discoverer_worker) and answers with their RESULT. The OS rules file is loaded at start
    (a bad file refuses the start) and on SIGHUP (a bad file is refused, the rules in force
    stay). Rules path: $DP_OS_RULES, else the first readable of ./discoverer/os-rules.conf,
    <binary dir>/../discoverer/os-rules.conf, <binary dir>/../../discoverer/os-rules.conf (the
    source tree), /etc/distpoll/os-rules.conf, <binary dir>/os-rules.conf,
    <binary dir>/../share/distpoll/os-rules.conf. SIGTERM stops taking jobs and ends once the
    discoveries in flight are answered. Inspection: the job link's traffic goes to the tap
    `distpoll tap discoverer`; dp_jobs stamps the job trace over this thread's own Redis
    connection (the workers' claims use theirs). Control verbs besides PING/STATS/CONFIG:
      RULES                              "path=... rules=N"
      DETECT <sysObjectID|-> <sysDescr>  the OS the rules in force give
    Single-threaded: everything here runs in the daemon's zloop.
    SPDX-License-Identifier: MIT */
#ifndef DISCOVERER_H
#define DISCOVERER_H

#include "dp_cfg.h"
#include "dp_daemon.h"
#include "dp_err.h"

#include <stddef.h>

typedef struct discoverer discoverer_t;

/* Creates the service on daemon's loop: loads the OS rules, starts the worker threads, opens
   the scheduler link and a MariaDB handle (connected lazily; a dead server never stops the
   daemon), registers timers, drain, reload, CONFIG, commands and STATS counters. cfg is
   borrowed and must outlive the service; argc/argv are kept to re-read the configuration on
   SIGHUP. Returns NULL with err (DP_ERR_CONFIG: bad rules file or settings). Caller owns the
   result; free with discoverer_destroy before the daemon. */
discoverer_t *discoverer_new(dp_cfg_t *cfg, dp_daemon_t *daemon, int argc, char **argv,
                             dp_err_t *err);

/* Stops the workers, closes the links and frees the service. NULL-safe; sets *p to NULL. */
void discoverer_destroy(discoverer_t **p);

/* Finds the OS rules file (see above) and writes its path into out. Returns 0, or -1 with err
   (DP_ERR_NOTFOUND naming the places tried). */
int discoverer_rules_path(char *out, size_t size, dp_err_t *err);

#endif
