/*  main.c - poller: polls devices over SNMP for the jobs the scheduler hands out
    arguments -> config -> log -> net-snmp -> daemon -> service -> run -> exit code (dp_main.h).
    SPDX-License-Identifier: MIT */
#include "dp_main.h"
#include "dp_snmp.h"
#include "poller.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sysexits.h>

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
    dp_main_t m = {.name = "poller",
                   .usage = "usage: poller [--env-file PATH] [--set KEY=VALUE]... "
                            "[--node-id ID] [-v]\n\n",
                   .curve = DP_MAIN_CURVE_CLIENT,
                   .db = true};
    int rc = dp_main_config(&m, argc, argv);
    if (rc != DP_MAIN_GO)
        return rc;
    s_raise_nofile();
    if (dp_snmp_init("distpoll") != 0) {
        fprintf(stderr, "poller: cannot initialise net-snmp\n");
        dp_main_end(&m);
        return EX_SOFTWARE;
    }
    poller_t *poller = NULL;
    if ((rc = dp_main_start(&m)) == DP_MAIN_GO) {
        dp_err_t err = {0};
        poller = poller_new(m.daemon, m.cfg, dp_main_keys(&m), argc, argv, &err);
        rc = poller ? dp_main_run(&m) : dp_main_fail(&m, EX_CONFIG, "cannot start", &err);
    }
    poller_destroy(&poller);
    snmp_shutdown("distpoll"); /* before mysql_library_end, as always */
    dp_main_end(&m);
    return rc;
}
