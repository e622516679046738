/*  main.c - scheduler: elects one leader, computes what is due, emits jobs to the workers
    arguments -> config -> log -> daemon -> service -> run -> exit code.
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_db.h"
#include "dp_http.h"
#include "dp_log.h"
#include "dp_zmq.h"
#include "scheduler.h"

#include <signal.h>
#include <stdio.h>
#include <sysexits.h>

#define S_NAME "scheduler"

static int s_fail(int code, const char *what, const dp_err_t *err)
{
    fprintf(stderr, "scheduler: %s: %s\n", what, err->text);
    return code;
}

int main(int argc, char **argv)
{
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "scheduler: cannot block signals\n");
        return EX_OSERR;
    }
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    if (dp_cfg_load(cfg, argc, argv, &err) != 0) {
        dp_cfg_destroy(&cfg);
        return s_fail(EX_CONFIG, "configuration", &err);
    }
    if (cfg->help_requested) {
        printf("usage: scheduler [--env-file PATH] [--set KEY=VALUE]... [--node-id ID] [-v]\n\n");
        dp_cfg_print_help(stdout);
        dp_cfg_destroy(&cfg);
        return 0;
    }
    if (dp_cfg_require(cfg, dp_cfg_daemon_keys, &err) != 0) {
        dp_cfg_destroy(&cfg);
        return s_fail(EX_CONFIG, "configuration", &err);
    }
    dp_log_init(S_NAME, cfg->node_id, cfg->log_level);
    signal(SIGPIPE, SIG_IGN);
    dp_db_library_init();

    int rc = EX_CONFIG;
    dp_zmq_keys_t keys;
    dp_daemon_t *daemon = NULL;
    dp_http_t *http = NULL;
    scheduler_t *sched = NULL;
    char ctl[512];
    if (cfg->curve && (dp_zmq_keys_derive(cfg->app_key, &keys, &err) != 0 ||
                       dp_zmq_auth_start(&keys, &err) != 0)) {
        s_fail(EX_CONFIG, "CURVE keys", &err);
        goto done;
    }
    if (dp_conn_control_endpoint(cfg, S_NAME, cfg->node_id, ctl, sizeof ctl) != 0) {
        fprintf(stderr, "scheduler: DP_CONTROL_DIR is too long\n");
        goto done;
    }
    daemon = dp_daemon_new(S_NAME, cfg->node_id, ctl, &err);
    if (!daemon) {
        rc = s_fail(err.code == DP_ERR_BUSY ? EX_UNAVAILABLE : EX_CONFIG, "cannot start", &err);
        goto done;
    }
    if (cfg->metrics_port > 0 &&
        !(http = dp_http_new(cfg->metrics_port, S_NAME, cfg->node_id, ctl, &err)))
        dp_log_warn("no /metrics endpoint; carrying on without", "port=%d detail=\"%s\"",
                    cfg->metrics_port, err.text);
    dp_daemon_set_drain_timeout(daemon, cfg->drain_timeout_ms > 0 ? (int)cfg->drain_timeout_ms
                                                                  : DP_DAEMON_DRAIN_MS);
    sched = scheduler_new(daemon, cfg, cfg->curve ? &keys : NULL, argc, argv, &err);
    if (!sched) {
        rc = s_fail(EX_CONFIG, "cannot start", &err);
        goto done;
    }
    rc = dp_daemon_run(daemon) == 0 ? 0 : 1;
done:
    scheduler_destroy(&sched);
    dp_http_destroy(&http);
    dp_daemon_destroy(&daemon);
    dp_zmq_auth_stop();
    if (cfg->curve)
        dp_zmq_keys_wipe(&keys);
    dp_cfg_destroy(&cfg);
    dp_db_library_end();
    return rc;
}
