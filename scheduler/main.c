/*  main.c - scheduler: elects one leader, computes what is due, emits jobs to the workers
    arguments -> config -> log -> daemon -> service -> run -> exit code (see dp_main.h).
    SPDX-License-Identifier: MIT */
#include "dp_main.h"
#include "scheduler.h"

#include <sysexits.h>

int main(int argc, char **argv)
{
    dp_main_t m = {.name = "scheduler",
                   .usage = "usage: scheduler [--env-file PATH] [--set KEY=VALUE]... "
                            "[--node-id ID] [-v]\n\n",
                   .curve = DP_MAIN_CURVE_SERVER,
                   .db = true};
    int rc = dp_main_config(&m, argc, argv);
    if (rc != DP_MAIN_GO)
        return rc;
    scheduler_t *sched = NULL;
    if ((rc = dp_main_start(&m)) == DP_MAIN_GO) {
        dp_err_t err = {0};
        sched = scheduler_new(m.daemon, m.cfg, dp_main_keys(&m), argc, argv, &err);
        rc = sched ? dp_main_run(&m) : dp_main_fail(&m, EX_CONFIG, "cannot start", &err);
    }
    scheduler_destroy(&sched);
    dp_main_end(&m);
    return rc;
}
