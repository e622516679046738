/*  dp_conn.c - from a loaded dp_cfg_t to the options each server client takes
    SPDX-License-Identifier: MIT */
#include "dp_conn.h"

#include <stdio.h>
#include <string.h>

#define DP_CONN_MS_PER_S 1000

//  --------------------------------------------------------------------------
void dp_conn_redis_opts(const dp_cfg_t *cfg, dp_redis_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->host = cfg->redis_host;
    o->port = cfg->redis_port;
    o->db = cfg->redis_db;
    o->timeout_ms = cfg->redis_timeout_s * DP_CONN_MS_PER_S;
    o->username = cfg->redis_username && *cfg->redis_username ? cfg->redis_username : NULL;
    o->password = cfg->redis_password && *cfg->redis_password ? cfg->redis_password : NULL;
    o->sentinels = cfg->redis_sentinel && *cfg->redis_sentinel ? cfg->redis_sentinel : NULL;
    o->service = cfg->redis_sentinel_service;
    o->sentinel_username = cfg->redis_sentinel_username && *cfg->redis_sentinel_username
                               ? cfg->redis_sentinel_username
                               : NULL;
    o->sentinel_password = cfg->redis_sentinel_password && *cfg->redis_sentinel_password
                               ? cfg->redis_sentinel_password
                               : NULL;
    o->node_id = cfg->node_id;
}

//  --------------------------------------------------------------------------
void dp_conn_db_opts(const dp_cfg_t *cfg, dp_db_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->host = cfg->db_host;
    o->port = cfg->db_port;
    o->socket = cfg->db_socket && *cfg->db_socket ? cfg->db_socket : NULL;
    o->database = cfg->db_database;
    o->username = cfg->db_username;
    o->password = cfg->db_password;
}

//  --------------------------------------------------------------------------
dp_db_t *dp_conn_db_open(const dp_cfg_t *cfg, dp_err_t *err)
{
    dp_db_opts_t o;
    dp_conn_db_opts(cfg, &o);
    dp_db_t *db = dp_db_new(&o);
    if (!db) {
        dp_err_set(err, DP_ERR_CONFIG, "bad MariaDB options");
        return NULL;
    }
    if (dp_db_connect(db, err) != 0)
        dp_db_destroy(&db);
    return db;
}

//  --------------------------------------------------------------------------
int dp_conn_control_endpoint(const dp_cfg_t *cfg, const char *daemon, const char *node_id,
                             char *buf, size_t size)
{
    int n = snprintf(buf, size, "ipc://%s/%s-%s.ctl", cfg->control_dir ? cfg->control_dir : ".",
                     daemon, node_id && *node_id ? node_id : "local");
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
