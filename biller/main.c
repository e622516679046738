/*  main.c - biller: bandwidth bills (95th percentile and quota), one runner or distributed
    arguments -> config -> log -> daemon -> service -> run -> exit code (see dp_main.h).
    SPDX-License-Identifier: MIT */
#include "biller.h"
#include "biller_sample.h"
#include "dp_log.h"
#include "dp_main.h"

#include <sysexits.h>

int main(int argc, char **argv)
{
    dp_main_t m = {.name = "biller",
                   .usage = "usage: biller [--env-file PATH] [--set KEY=VALUE]... [--node-id ID]\n"
                            "              [--log-level L] [-v] [--help]\n\n",
                   .db = true};
    int rc = dp_main_config(&m, argc, argv);
    if (rc != DP_MAIN_GO)
        return rc;
    biller_sample_init();
    biller_t *biller = NULL;
    if ((rc = dp_main_start(&m)) == DP_MAIN_GO) {
        dp_err_t err = {0};
        biller = biller_new(m.cfg, m.daemon, argc, argv, &err);
        if (biller) {
            dp_log_notice("started", "interval_s=%lld lock_ttl_ms=%lld",
                          (long long)(m.cfg->billing_interval_ms / 1000),
                          (long long)m.cfg->lock_ttl_ms);
            rc = dp_main_run(&m);
            dp_log_notice("stopped", "rc=%d", rc);
        } else
            rc = dp_main_fail(&m, EX_CONFIG, "cannot start", &err);
    }
    biller_destroy(&biller);
    dp_main_end(&m);
    return rc;
}
