/*  dp_conn.h - from a loaded dp_cfg_t to the options each server client takes
    The one place that maps configuration keys onto dp_redis, dp_db and control-socket
    settings, so daemons and the CLI never repeat it.
    SPDX-License-Identifier: MIT */
#ifndef DP_CONN_H
#define DP_CONN_H

#include "dp_cfg.h"
#include "dp_db.h"
#include "dp_redis.h"

#include <stddef.h>

/* Fills o from cfg; strings are borrowed from cfg (valid while cfg lives). */
void dp_conn_redis_opts(const dp_cfg_t *cfg, dp_redis_opts_t *o);

/* Fills o from cfg; strings are borrowed from cfg (valid while cfg lives). */
void dp_conn_db_opts(const dp_cfg_t *cfg, dp_db_opts_t *o);

/* Creates and connects a MariaDB handle for the calling thread. Returns it (caller
   destroys with dp_db_destroy) or NULL with err naming the server it tried. */
dp_db_t *dp_conn_db_open(const dp_cfg_t *cfg, dp_err_t *err);

/* Writes the control endpoint of a daemon on this node,
   "ipc://<DP_CONTROL_DIR>/<daemon>-<NODE_ID>.ctl", into buf. Returns 0, or -1 when it does not fit.
 */
int dp_conn_control_endpoint(const dp_cfg_t *cfg, const char *daemon, const char *node_id,
                             char *buf, size_t size);

#endif
