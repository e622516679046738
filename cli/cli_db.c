/*  cli_db.c - distpoll db: schema migrations
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_schema.h"

#include <string.h>

//  --------------------------------------------------------------------------
int cli_db_cmd(cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_error(CLI_USAGE, "db: expected migrate or version");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    if (strcmp(argv[0], "migrate") == 0) {
        int applied = 0;
        if (dp_schema_migrate(db, &applied, &err) != 0)
            return cli_error(CLI_FAIL, "db migrate: %s", err.text);
        printf("schema at version %d (%d migration%s applied)\n", dp_schema_latest(), applied,
               applied == 1 ? "" : "s");
        return CLI_OK;
    }
    if (strcmp(argv[0], "version") == 0) {
        int v = dp_schema_version(db, &err);
        if (v < 0)
            return cli_error(CLI_FAIL, "db version: %s", err.text);
        if (cli->json)
            printf("{\"version\":%d,\"latest\":%d}\n", v, dp_schema_latest());
        else
            printf("schema version %d, latest %d%s\n", v, dp_schema_latest(),
                   v < dp_schema_latest() ? " (run: distpoll db migrate)" : "");
        return CLI_OK;
    }
    return cli_error(CLI_USAGE, "db: unknown subcommand \"%s\" (expected migrate or version)",
                     argv[0]);
}
