/*  main.c - poller: polls devices over SNMP for the jobs the scheduler hands out
    arguments -> config -> log -> net-snmp -> daemon -> service -> run -> exit code.
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_db.h"
#include "dp_http.h"
#include "dp_log.h"
#include "dp_snmp.h"
#include "dp_zmq.h"
#include "poller.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sysexits.h>

#define S_NAME "poller"

static int s_fail(int code, const char *what, const dp_err_t *err)
{
    fprintf(stderr, "poller: %s: %s\n", what, err->text);
    return code;
}

//  One UDP socket per device in flight: allow as many as the hard limit does.
static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "poller: cannot block signals\n");
        return EX_OSERR;
    }
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    if (dp_cfg_load(cfg, argc, argv, &err) != 0) {
        dp_cfg_destroy(&cfg);
        return s_fail(EX_CONFIG, "configuration", &err);
    }
    if (cfg->help_requested) {
        printf("usage: poller [--env-file PATH] [--set KEY=VALUE]... [--node-id ID] [-v]\n\n");
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
    s_raise_nofile();
    dp_db_library_init();
    if (dp_snmp_init("distpoll") != 0) {
        fprintf(stderr, "poller: cannot initialise net-snmp\n");
        dp_cfg_destroy(&cfg);
        return EX_SOFTWARE;
    }

    int rc = EX_CONFIG;
    dp_zmq_keys_t keys;
    dp_daemon_t *daemon = NULL;
    poller_t *poller = NULL;
    dp_http_t *http = NULL;
    char ctl[512];
    if (cfg->curve && dp_zmq_keys_derive(cfg->app_key, &keys, &err) != 0) {
        s_fail(EX_CONFIG, "CURVE keys", &err);
        goto done;
    }
    if (dp_conn_control_endpoint(cfg, S_NAME, cfg->node_id, ctl, sizeof ctl) != 0) {
        fprintf(stderr, "poller: DP_CONTROL_DIR is too long\n");
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
    poller = poller_new(daemon, cfg, cfg->curve ? &keys : NULL, argc, argv, &err);
    if (!poller) {
        rc = s_fail(EX_CONFIG, "cannot start", &err);
        goto done;
    }
    rc = dp_daemon_run(daemon) == 0 ? 0 : 1;
done:
    poller_destroy(&poller);
    dp_http_destroy(&http);
    dp_daemon_destroy(&daemon);
    if (cfg->curve)
        dp_zmq_keys_wipe(&keys);
    dp_cfg_destroy(&cfg);
    snmp_shutdown("distpoll");
    dp_db_library_end();
    return rc;
}
