/*  main.c - discoverer: OS detection, port and host inventory, on scheduler jobs
    arguments -> config -> log -> daemon -> service -> run -> exit code.
    SPDX-License-Identifier: MIT */
#include "discoverer.h"
#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_db.h"
#include "dp_http.h"
#include "dp_log.h"
#include "dp_snmp.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#define S_NAME         "discoverer"
#define S_ENDPOINT_MAX 512

static const char *const s_keys[] = {"DP_SCHEDULERS", NULL};

static void s_usage(void)
{
    fprintf(stderr, "usage: discoverer [--env-file PATH] [--set KEY=VALUE]... [--node-id ID]\n"
                    "                  [--log-level L] [-v] [--help]\n\n"
                    "environment: DP_OS_RULES=PATH  OS detection rules (default\n"
                    "             ./discoverer/os-rules.conf or /etc/distpoll/os-rules.conf)\n\n");
    dp_cfg_print_help(stderr);
}

static int s_config_error(dp_cfg_t **cfg, const char *text)
{
    fprintf(stderr, "discoverer: configuration error: %s\n", text);
    dp_cfg_destroy(cfg);
    return EX_CONFIG;
}

int main(int argc, char **argv)
{
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "discoverer: cannot block signals\n");
        return EX_OSERR;
    }
    dp_cfg_t *cfg = dp_cfg_new();
    dp_err_t err = {0};
    if (dp_cfg_load(cfg, argc, argv, &err) != 0)
        return s_config_error(&cfg, err.text);
    if (cfg->help_requested) {
        s_usage();
        dp_cfg_destroy(&cfg);
        return 0;
    }
    if (dp_cfg_require(cfg, dp_cfg_daemon_keys, &err) != 0 ||
        dp_cfg_require(cfg, s_keys, &err) != 0)
        return s_config_error(&cfg, err.text);
    dp_log_init(S_NAME, cfg->node_id, cfg->log_level);
    signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(2) */
    dp_db_library_init();
    if (dp_snmp_init("distpoll") != 0) {
        fprintf(stderr, "discoverer: cannot initialise net-snmp\n");
        dp_cfg_destroy(&cfg);
        return EX_SOFTWARE;
    }

    int rc = EX_CONFIG;
    char endpoint[S_ENDPOINT_MAX];
    discoverer_t *disc = NULL;
    dp_daemon_t *daemon = NULL;
    dp_http_t *http = NULL;
    if (dp_conn_control_endpoint(cfg, S_NAME, cfg->node_id, endpoint, sizeof endpoint) != 0) {
        fprintf(stderr, "discoverer: configuration error: DP_CONTROL_DIR is too long\n");
        goto out;
    }
    daemon = dp_daemon_new(S_NAME, cfg->node_id, endpoint, &err);
    if (!daemon) {
        fprintf(stderr, "discoverer: cannot start: %s\n", err.text);
        rc = err.code == DP_ERR_BUSY ? EX_UNAVAILABLE : EX_CONFIG;
        goto out;
    }
    if (cfg->metrics_port > 0 &&
        !(http = dp_http_new(cfg->metrics_port, S_NAME, cfg->node_id, endpoint, &err)))
        dp_log_warn("no /metrics endpoint; carrying on without", "port=%d detail=\"%s\"",
                    cfg->metrics_port, err.text);
    if (cfg->drain_timeout_ms > 0)
        dp_daemon_set_drain_timeout(daemon, (int)cfg->drain_timeout_ms);
    disc = discoverer_new(cfg, daemon, argc, argv, &err);
    if (!disc) {
        fprintf(stderr, "discoverer: cannot start: %s\n", err.text);
        rc = err.code == DP_ERR_CONFIG || err.code == DP_ERR_NOTFOUND ? EX_CONFIG : EX_SOFTWARE;
        goto out;
    }
    dp_log_notice("started", "workers=%d concurrency=%d job_timeout_ms=%lld", cfg->workers,
                  cfg->concurrency, (long long)cfg->job_timeout_ms);
    rc = dp_daemon_run(daemon) == 0 ? 0 : 1;
    dp_log_notice("stopped", "rc=%d", rc);
out:
    discoverer_destroy(&disc);
    dp_http_destroy(&http);
    dp_daemon_destroy(&daemon);
    dp_cfg_destroy(&cfg);
    dp_db_library_end();
    return rc;
}
