/*  dp_main.c - the start-up and shut-down sequence every daemon's main.c shares (see dp_main.h)
    SPDX-License-Identifier: MIT */
#include "dp_main.h"
#include "dp_conn.h"
#include "dp_db.h"
#include "dp_log.h"

#include <signal.h>
#include <stdio.h>
#include <sysexits.h>

//  A configuration problem: prints it, frees the configuration, returns EX_CONFIG.
static int s_config_fail(dp_main_t *m, const dp_err_t *err)
{
    dp_main_fail(m, EX_CONFIG, "configuration error", err);
    dp_cfg_destroy(&m->cfg);
    return EX_CONFIG;
}

static int s_help(dp_main_t *m)
{
    FILE *out = stdout; /* asked for: not an error */
    fputs(m->usage ? m->usage : "", out);
    dp_cfg_print_help(out);
    dp_cfg_destroy(&m->cfg);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_main_config(dp_main_t *m, int argc, char **argv)
{
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "%s: cannot block signals\n", m->name);
        return EX_OSERR;
    }
    dp_err_t err = {0};
    m->cfg = dp_cfg_new();
    if (dp_cfg_load(m->cfg, argc, argv, &err) != 0)
        return s_config_fail(m, &err);
    if (m->cfg->help_requested)
        return s_help(m);
    if (dp_cfg_require(m->cfg, dp_cfg_daemon_keys, &err) != 0 ||
        dp_cfg_require(m->cfg, m->require, &err) != 0)
        return s_config_fail(m, &err);
    dp_log_init(m->name, m->cfg->node_id, m->cfg->log_level);
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(2) */
    if (m->db)
        dp_db_library_init();
    return DP_MAIN_GO;
}

//  --------------------------------------------------------------------------
int dp_main_start(dp_main_t *m)
{
    dp_err_t err = {0};
    const dp_cfg_t *cfg = m->cfg;
    if (m->curve != DP_MAIN_CURVE_NONE && cfg->curve) {
        m->have_keys = true; /* wiped by dp_main_end also when the derivation failed */
        if (dp_zmq_keys_derive(cfg->app_key, &m->curve_keys, &err) != 0)
            return dp_main_fail(m, EX_CONFIG, "CURVE keys", &err);
        if (m->curve == DP_MAIN_CURVE_SERVER) {
            m->zap = true; /* stopped by dp_main_end also when the start failed */
            if (dp_zmq_auth_start(&m->curve_keys, &err) != 0)
                return dp_main_fail(m, EX_CONFIG, "CURVE keys", &err);
        }
    }
    if (dp_conn_control_endpoint(cfg, m->name, cfg->node_id, m->ctl, sizeof m->ctl) != 0) {
        fprintf(stderr, "%s: configuration error: DP_CONTROL_DIR is too long\n", m->name);
        return EX_CONFIG;
    }
    m->daemon = dp_daemon_new(m->name, cfg->node_id, m->ctl, &err);
    if (!m->daemon)
        return dp_main_fail(m, err.code == DP_ERR_BUSY ? EX_UNAVAILABLE : EX_CONFIG, "cannot start",
                            &err);
    if (cfg->metrics_port > 0 &&
        !(m->http = dp_http_new(cfg->metrics_port, m->name, cfg->node_id, m->ctl, &err)))
        dp_log_warn("no /metrics endpoint; carrying on without", "port=%d detail=\"%s\"",
                    cfg->metrics_port, err.text);
    if (cfg->drain_timeout_ms > 0) /* else dp_daemon's DP_DAEMON_DRAIN_MS */
        dp_daemon_set_drain_timeout(m->daemon, (int)cfg->drain_timeout_ms);
    return DP_MAIN_GO;
}

//  --------------------------------------------------------------------------
const dp_zmq_keys_t *dp_main_keys(const dp_main_t *m)
{
    return m->have_keys && m->daemon ? &m->curve_keys : NULL;
}

//  --------------------------------------------------------------------------
int dp_main_fail(const dp_main_t *m, int code, const char *what, const dp_err_t *err)
{
    fprintf(stderr, "%s: %s: %s\n", m->name, what, err->text);
    return code;
}

//  --------------------------------------------------------------------------
int dp_main_run(dp_main_t *m)
{
    return dp_daemon_run(m->daemon) == 0 ? 0 : 1;
}

//  --------------------------------------------------------------------------
void dp_main_end(dp_main_t *m)
{
    dp_http_destroy(&m->http);
    dp_daemon_destroy(&m->daemon);
    if (m->zap)
        dp_zmq_auth_stop();
    m->zap = false;
    if (m->have_keys)
        dp_zmq_keys_wipe(&m->curve_keys);
    m->have_keys = false;
    bool had_cfg = m->cfg != NULL;
    dp_cfg_destroy(&m->cfg);
    if (m->db && had_cfg)
        dp_db_library_end();
}
