/*  main.c - rrdwriter: metrics from every stage -> durable spool -> rrdcached
    arguments -> config -> log -> daemon -> service -> run -> exit code.
    SPDX-License-Identifier: MIT */
#include "rrdwriter.h"

#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_http.h"
#include "dp_log.h"
#include "dp_zmq.h"

#include <signal.h>
#include <stdio.h>
#include <sysexits.h>

#define S_NAME         "rrdwriter"
#define S_ENDPOINT_MAX 512

static const char *const s_keys[] = {"DP_RRDWRITER_BIND", "DP_RRDCACHED", "DP_SPOOL_DIR", NULL};

static void s_usage(void)
{
    fprintf(stderr, "usage: rrdwriter [--env-file PATH] [--set KEY=VALUE]... [--node-id ID]\n"
                    "                 [--log-level L] [-v] [--help]\n\n");
    dp_cfg_print_help(stderr);
}

static int s_fail(int rc, const char *what, const dp_err_t *err)
{
    fprintf(stderr, "rrdwriter: %s: %s\n", what, err->text);
    return rc;
}

int main(int argc, char **argv)
{
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "rrdwriter: cannot block signals\n");
        return EX_OSERR;
    }
    dp_cfg_t *cfg = dp_cfg_new();
    dp_err_t err = {0};
    int rc = EX_CONFIG;
    if (dp_cfg_load(cfg, argc, argv, &err) != 0) {
        dp_cfg_destroy(&cfg);
        return s_fail(EX_CONFIG, "configuration error", &err);
    }
    if (cfg->help_requested) {
        s_usage();
        dp_cfg_destroy(&cfg);
        return 0;
    }
    if (dp_cfg_require(cfg, dp_cfg_daemon_keys, &err) != 0 ||
        dp_cfg_require(cfg, s_keys, &err) != 0) {
        dp_cfg_destroy(&cfg);
        return s_fail(EX_CONFIG, "configuration error", &err);
    }
    dp_log_init(S_NAME, cfg->node_id, cfg->log_level);
    signal(SIGPIPE, SIG_IGN);

    dp_zmq_keys_t keys;
    dp_daemon_t *daemon = NULL;
    rrdwriter_t *writer = NULL;
    dp_http_t *http = NULL;
    char ctl[S_ENDPOINT_MAX];
    if (cfg->curve && (dp_zmq_keys_derive(cfg->app_key, &keys, &err) != 0 ||
                       dp_zmq_auth_start(&keys, &err) != 0)) {
        s_fail(EX_CONFIG, "CURVE keys", &err);
        goto done;
    }
    if (dp_conn_control_endpoint(cfg, S_NAME, cfg->node_id, ctl, sizeof ctl) != 0) {
        fprintf(stderr, "rrdwriter: configuration error: DP_CONTROL_DIR is too long\n");
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
    writer = rrdwriter_new(daemon, cfg, cfg->curve ? &keys : NULL, argc, argv, &err);
    if (!writer) {
        rc = s_fail(err.code == DP_ERR_CONFIG ? EX_CONFIG : EX_UNAVAILABLE, "cannot start", &err);
        goto done;
    }
    rc = dp_daemon_run(daemon) == 0 ? 0 : 1;
    dp_log_notice("stopped", "rc=%d", rc);
done:
    rrdwriter_destroy(&writer);
    dp_http_destroy(&http);
    dp_daemon_destroy(&daemon);
    dp_zmq_auth_stop();
    if (cfg->curve)
        dp_zmq_keys_wipe(&keys);
    dp_cfg_destroy(&cfg);
    return rc;
}
