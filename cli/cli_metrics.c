/*  cli_metrics.c - distpoll metrics [DAEMON]: this node's daemons' STATS in Prometheus format
    (the same text their /metrics endpoint serves: dp_http_prometheus)
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_http.h"

#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
int cli_metrics(cli_t *cli, int argc, char **argv)
{
    if (argc > 1)
        return cli_error(CLI_USAGE, "metrics: expected [DAEMON]");
    bool known = argc == 0;
    for (int i = 0; argc == 1 && cli_daemons[i]; i++)
        known = known || strcmp(argv[0], cli_daemons[i]) == 0;
    if (!known)
        return cli_error(CLI_USAGE,
                         "metrics: DAEMON \"%s\": expected scheduler, poller, discoverer, biller "
                         "or rrdwriter",
                         argv[0]);
    int reached = 0;
    for (int i = 0; cli_daemons[i]; i++) {
        if (argc == 1 && strcmp(argv[0], cli_daemons[i]) != 0)
            continue;
        dp_err_t err = {0};
        char *stats = cli_ctl(cli, cli_daemons[i], "STATS", CLI_CTL_TIMEOUT_MS, &err);
        if (!stats) {
            printf("# %s: %s\n", cli_daemons[i], err.text);
            continue;
        }
        char *text = dp_http_prometheus(cli_daemons[i], cli->cfg->node_id, stats);
        fputs(text, stdout);
        free(text);
        free(stats);
        reached++;
    }
    if (!reached)
        return cli_error(CLI_UNAVAILABLE, "metrics: no %s daemon reachable on this node",
                         argc ? argv[0] : "distpoll");
    return CLI_OK;
}
