/*  main.c - distpoll: the operator's command (devices, database, daemons)
    Global options come before the command; they are the daemons' configuration flags.
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_conn.h"
#include "dp_daemon.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *s_usage =
    "usage: distpoll [--env-file FILE] [--set KEY=VALUE]... [-v] COMMAND [ARGS] [--json]\n"
    "\n"
    "management:\n"
    "  device add HOST [--address A] [--port P] [--version 1|2c|3] [--community C]\n"
    "             [--auth-user U --auth-proto SHA-256 --auth-pass P --priv-proto AES --priv-pass "
    "P]\n"
    "             [--group G] [--force] [--if-missing]   checks the device answers SNMP first\n"
    "  device list [--group G] [--status up|down|disabled] [--host PATTERN]\n"
    "  device show HOST                status, last poll and discovery, ports with rates\n"
    "  device set HOST [--group G] [--port P] [--community C] [--address A] [--enable|--disable]\n"
    "  device remove HOST [--rrd]      remove a device (and its RRD files with --rrd)\n"
    "  device rediscover HOST          discover again now (tells the scheduler)\n"
    "  device poll HOST                poll now on this node's poller and print what it got\n"
    "  group add NAME [--descr D] | group list | group remove NAME\n"
    "  node list                       nodes, groups, stages, last report, leader\n"
    "  bill add NAME (--cdr 100M | --quota 500G) [--day D] [--dir in|agg] [--port HOST:IFNAME]...\n"
    "  bill list | bill show BILL [--previous]   usage, 95th percentile, overusage\n"
    "  config show | config check | config keys  (secrets masked)\n"
    "  db migrate | db version\n"
    "\n"
    "inspection:\n"
    "  status                          leader, nodes, jobs per stage, overdue devices, rrdcached\n"
    "  top [--interval MS] [--iterations N | --once]   status refreshed with rates (q quits)\n"
    "  tap STAGE [--dir in|out] [--endpoint E]... [--count N] [--timeout S]\n"
    "                                  every message of a stage, one JSON object a line\n"
    "  trace HOST                      the device's last job through every stage\n"
    "  graph HOST [--port IFNAME] [--period 1d] [--width W] [--height H] -o FILE.png\n"
    "  metrics [DAEMON]                this node's daemons' counters, Prometheus format\n"
    "  ctl DAEMON COMMAND              a control command (PING, STATS, CONFIG, ...) to a daemon\n"
    "                                  on this node (e.g. distpoll ctl scheduler QUEUE)\n"
    "\n"
    "exit codes: 0 ok, 1 failed, 64 usage, 69 server unreachable, 78 bad configuration\n";

static int s_config(cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_error(CLI_USAGE, "config: expected show, check or keys");
    if (strcmp(argv[0], "show") == 0) {
        dp_cfg_print(cli->cfg, stdout, cli->json);
        return CLI_OK;
    }
    if (strcmp(argv[0], "check") == 0) {
        dp_err_t err = {0};
        if (dp_cfg_require(cli->cfg, dp_cfg_daemon_keys, &err) != 0)
            return cli_error(CLI_CONFIG, "%s", err.text);
        printf("configuration ok\n");
        return CLI_OK;
    }
    if (strcmp(argv[0], "keys") == 0) {
        dp_cfg_print_help(stdout);
        return CLI_OK;
    }
    return cli_error(CLI_USAGE, "config: unknown subcommand \"%s\" (expected show, check or keys)",
                     argv[0]);
}

static int s_ctl(cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_error(CLI_USAGE, "ctl: expected DAEMON COMMAND (e.g. ctl poller STATS)");
    char endpoint[512];
    if (dp_conn_control_endpoint(cli->cfg, argv[0], cli->cfg->node_id, endpoint, sizeof endpoint))
        return cli_error(CLI_CONFIG, "ctl: control endpoint too long");
    char command[1024] = "";
    for (int i = 1; i < argc; i++) {
        if (i > 1)
            strncat(command, " ", sizeof command - strlen(command) - 1);
        strncat(command, argv[i], sizeof command - strlen(command) - 1);
    }
    dp_err_t err = {0};
    char *reply = dp_daemon_ctl(endpoint, command, CLI_CTL_TIMEOUT_MS, &err);
    if (!reply)
        return cli_error(CLI_UNAVAILABLE, "ctl %s (%s): %s", argv[0], endpoint, err.text);
    fputs(reply, stdout);
    if (*reply && reply[strlen(reply) - 1] != '\n')
        fputc('\n', stdout);
    int rc = strncmp(reply, "ERR", 3) == 0 ? CLI_FAIL : CLI_OK;
    free(reply);
    return rc;
}

/* Splits argv into configuration flags (before the command) and the command. */
static int s_split_global(int argc, char **argv, int *cmd_at)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        bool takes_value = strcmp(a, "--env-file") == 0 || strcmp(a, "--set") == 0 ||
                           strcmp(a, "--node-id") == 0 || strcmp(a, "--log-level") == 0;
        i += takes_value ? 2 : 1;
    }
    *cmd_at = i;
    return i <= argc ? 0 : -1;
}

/* Removes "--json" from argv in place; returns the new argc. */
static int s_take_json(cli_t *cli, int argc, char **argv)
{
    int out = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            cli->json = true;
        else
            argv[out++] = argv[i];
    }
    return out;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int cmd_at;
    if (s_split_global(argc, argv, &cmd_at) != 0)
        return cli_error(CLI_USAGE, "option %s needs a value", argv[argc - 1]);
    cli_t cli = {.cfg = dp_cfg_new()};
    dp_err_t err = {0};
    if (dp_cfg_load(cli.cfg, cmd_at, argv, &err) != 0) {
        dp_cfg_destroy(&cli.cfg);
        return cli_error(CLI_CONFIG, "%s", err.text);
    }
    dp_log_init("distpoll", cli.cfg->node_id, cli.cfg->log_level);
    if (cli.cfg->help_requested || (cmd_at < argc && strcmp(argv[cmd_at], "help") == 0)) {
        fputs(s_usage, stdout);
        dp_cfg_destroy(&cli.cfg);
        return CLI_OK;
    }
    if (cmd_at >= argc) {
        fputs(s_usage, stderr);
        dp_cfg_destroy(&cli.cfg);
        return CLI_USAGE;
    }
    const char *cmd = argv[cmd_at];
    int sub_argc = s_take_json(&cli, argc - cmd_at - 1, argv + cmd_at + 1);
    char **sub_argv = argv + cmd_at + 1;
    dp_db_library_init();
    int rc;
    if (strcmp(cmd, "config") == 0)
        rc = s_config(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "db") == 0)
        rc = cli_db_cmd(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "device") == 0)
        rc = cli_device(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "ctl") == 0)
        rc = s_ctl(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "group") == 0)
        rc = cli_group(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "node") == 0)
        rc = cli_node(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "bill") == 0)
        rc = cli_bill(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "status") == 0)
        rc = cli_status(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "top") == 0)
        rc = cli_top(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "tap") == 0)
        rc = cli_tap(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "trace") == 0)
        rc = cli_trace(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "graph") == 0)
        rc = cli_graph(&cli, sub_argc, sub_argv);
    else if (strcmp(cmd, "metrics") == 0)
        rc = cli_metrics(&cli, sub_argc, sub_argv);
    else
        rc = cli_error(CLI_USAGE, "unknown command \"%s\" (run distpoll help)", cmd);
    dp_db_destroy(&cli.db);
    dp_redis_destroy(&cli.redis);
    dp_cfg_destroy(&cli.cfg);
    dp_db_library_end();
    return rc;
}
