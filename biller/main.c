/*  main.c - biller: bandwidth bills (95th percentile and quota), one runner or distributed
    arguments -> config -> log -> daemon -> service -> run -> exit code.
    SPDX-License-Identifier: MIT */
#include "biller.h"
#include "biller_sample.h"
#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_db.h"
#include "dp_http.h"
#include "dp_log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#define S_NAME         "biller"
#define S_ENDPOINT_MAX 512

static void s_usage(void)
{
    fprintf(stderr, "usage: biller [--env-file PATH] [--set KEY=VALUE]... [--node-id ID]\n"
                    "              [--log-level L] [-v] [--help]\n\n");
    dp_cfg_print_help(stderr);
}

int main(int argc, char **argv)
{
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "biller: cannot block signals\n");
        return EX_OSERR;
    }
    dp_cfg_t *cfg = dp_cfg_new();
    dp_err_t err = {0};
    if (dp_cfg_load(cfg, argc, argv, &err) != 0) {
        fprintf(stderr, "biller: configuration error: %s\n", err.text);
        dp_cfg_destroy(&cfg);
        return EX_CONFIG;
    }
    if (cfg->help_requested) {
        s_usage();
        dp_cfg_destroy(&cfg);
        return 0;
    }
    if (dp_cfg_require(cfg, dp_cfg_daemon_keys, &err) != 0) {
        fprintf(stderr, "biller: configuration error: %s\n", err.text);
        dp_cfg_destroy(&cfg);
        return EX_CONFIG;
    }
    dp_log_init(S_NAME, cfg->node_id, cfg->log_level);
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(2) */
    dp_db_library_init();
    biller_sample_init();

    int rc = EX_CONFIG;
    char endpoint[S_ENDPOINT_MAX];
    biller_t *biller = NULL;
    dp_daemon_t *daemon = NULL;
    dp_http_t *http = NULL;
    if (dp_conn_control_endpoint(cfg, S_NAME, cfg->node_id, endpoint, sizeof endpoint) != 0) {
        fprintf(stderr, "biller: configuration error: DP_CONTROL_DIR is too long\n");
        goto out;
    }
    daemon = dp_daemon_new(S_NAME, cfg->node_id, endpoint, &err);
    if (!daemon) {
        fprintf(stderr, "biller: cannot start: %s\n", err.text);
        rc = err.code == DP_ERR_BUSY ? EX_UNAVAILABLE : EX_CONFIG;
        goto out;
    }
    if (cfg->metrics_port > 0 &&
        !(http = dp_http_new(cfg->metrics_port, S_NAME, cfg->node_id, endpoint, &err)))
        dp_log_warn("no /metrics endpoint; carrying on without", "port=%d detail=\"%s\"",
                    cfg->metrics_port, err.text);
    if (cfg->drain_timeout_ms > 0)
        dp_daemon_set_drain_timeout(daemon, (int)cfg->drain_timeout_ms);
    biller = biller_new(cfg, daemon, argc, argv, &err);
    if (!biller) {
        fprintf(stderr, "biller: cannot start: %s\n", err.text);
        goto out;
    }
    dp_log_notice("started", "interval_s=%lld lock_ttl_ms=%lld",
                  (long long)(cfg->billing_interval_ms / 1000), (long long)cfg->lock_ttl_ms);
    rc = dp_daemon_run(daemon) == 0 ? 0 : 1;
    dp_log_notice("stopped", "rc=%d", rc);
out:
    biller_destroy(&biller);
    dp_http_destroy(&http);
    dp_daemon_destroy(&daemon);
    dp_cfg_destroy(&cfg);
    dp_db_library_end();
    return rc;
}
