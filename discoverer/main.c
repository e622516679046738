/*  main.c - discoverer: OS detection, port and host inventory, on scheduler jobs
    arguments -> config -> log -> net-snmp -> daemon -> service -> run -> exit code (dp_main.h).
    SPDX-License-Identifier: MIT */
#include "discoverer.h"
#include "dp_log.h"
#include "dp_main.h"
#include "dp_snmp.h"

#include <stdio.h>
#include <sysexits.h>

static const char *const s_keys[] = {"DP_SCHEDULERS", NULL};

int main(int argc, char **argv)
{
    dp_main_t m = {
        .name = "discoverer",
        .usage = "usage: discoverer [--env-file PATH] [--set KEY=VALUE]... [--node-id ID]\n"
                 "                  [--log-level L] [-v] [--help]\n\n"
                 "environment: DP_OS_RULES=PATH  OS detection rules (default\n"
                 "             ./discoverer/os-rules.conf or /etc/distpoll/os-rules.conf)\n\n",
        .require = s_keys,
        .db = true};
    int rc = dp_main_config(&m, argc, argv);
    if (rc != DP_MAIN_GO)
        return rc;
    if (dp_snmp_init("distpoll") != 0) {
        fprintf(stderr, "discoverer: cannot initialise net-snmp\n");
        dp_main_end(&m);
        return EX_SOFTWARE;
    }
    discoverer_t *disc = NULL;
    if ((rc = dp_main_start(&m)) == DP_MAIN_GO) {
        dp_err_t err = {0};
        disc = discoverer_new(m.cfg, m.daemon, argc, argv, &err);
        if (disc) {
            dp_log_notice("started", "workers=%d concurrency=%d job_timeout_ms=%lld",
                          m.cfg->workers, m.cfg->concurrency, (long long)m.cfg->job_timeout_ms);
            rc = dp_main_run(&m);
            dp_log_notice("stopped", "rc=%d", rc);
        } else
            rc = dp_main_fail(
                &m,
                err.code == DP_ERR_CONFIG || err.code == DP_ERR_NOTFOUND ? EX_CONFIG : EX_SOFTWARE,
                "cannot start", &err);
    }
    discoverer_destroy(&disc);
    dp_main_end(&m);
    return rc;
}
