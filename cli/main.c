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

#define CLI_CTL_TIMEOUT_MS 3000

static const char *s_usage =
    "usage: distpoll [--env-file FILE] [--set KEY=VALUE]... [-v] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  config show [--json]          the configuration in force (secrets masked)\n"
    "  config check                  validate the configuration; exit 0 when good\n"
    "  config keys                   every key with its type, default and help\n"
    "  db migrate                    apply missing schema migrations\n"
    "  db version                    schema version applied and latest known\n"
    "  device add HOST [--address A] [--port P] [--version 1|2c|3] [--community C] [--group G]\n"
    "  device list [--json]          devices with status and last poll\n"
    "  device remove HOST            remove a device and its ports\n"
    "  ctl DAEMON COMMAND            send a control command (PING, STATS, CONFIG) to a\n"
    "                                daemon on this node (e.g. distpoll ctl scheduler STATS)\n"
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
    else
        rc = cli_error(CLI_USAGE, "unknown command \"%s\" (run distpoll help)", cmd);
    dp_db_destroy(&cli.db);
    dp_cfg_destroy(&cli.cfg);
    dp_db_library_end();
    return rc;
}
