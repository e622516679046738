/*  main.c - rrdwriter: metrics from every stage -> durable spool -> rrdcached
    arguments -> config -> log -> daemon -> service -> run -> exit code (see dp_main.h).
    SPDX-License-Identifier: MIT */
#include "dp_log.h"
#include "dp_main.h"
#include "rrdwriter.h"

#include <sysexits.h>

static const char *const s_keys[] = {"DP_RRDWRITER_BIND", "DP_RRDCACHED", "DP_SPOOL_DIR", NULL};

int main(int argc, char **argv)
{
    dp_main_t m = {.name = "rrdwriter",
                   .usage =
                       "usage: rrdwriter [--env-file PATH] [--set KEY=VALUE]... [--node-id ID]\n"
                       "                 [--log-level L] [-v] [--help]\n\n",
                   .require = s_keys,
                   .curve = DP_MAIN_CURVE_SERVER};
    int rc = dp_main_config(&m, argc, argv);
    if (rc != DP_MAIN_GO)
        return rc;
    rrdwriter_t *writer = NULL;
    if ((rc = dp_main_start(&m)) == DP_MAIN_GO) {
        dp_err_t err = {0};
        writer = rrdwriter_new(m.daemon, m.cfg, dp_main_keys(&m), argc, argv, &err);
        if (writer) {
            rc = dp_main_run(&m);
            dp_log_notice("stopped", "rc=%d", rc);
        } else
            rc = dp_main_fail(&m, err.code == DP_ERR_CONFIG ? EX_CONFIG : EX_UNAVAILABLE,
                              "cannot start", &err);
    }
    rrdwriter_destroy(&writer);
    dp_main_end(&m);
    return rc;
}
