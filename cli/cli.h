/*  cli.h - the distpoll command: shared context for subcommands
    SPDX-License-Identifier: MIT */
#ifndef CLI_H
#define CLI_H

#include "dp_cfg.h"
#include "dp_db.h"

#include <stdbool.h>

/* Exit codes (sysexits): scripts can tell usage errors from unreachable servers. */
#define CLI_OK          0
#define CLI_FAIL        1  /* the operation failed (e.g. device not found) */
#define CLI_USAGE       64 /* EX_USAGE: bad arguments */
#define CLI_UNAVAILABLE 69 /* EX_UNAVAILABLE: a server could not be reached */
#define CLI_CONFIG      78 /* EX_CONFIG: bad configuration */

typedef struct {
    dp_cfg_t *cfg; /* loaded configuration */
    dp_db_t *db;   /* MariaDB, opened on first use by cli_db */
    bool json;     /* --json given */
} cli_t;

/* Returns the MariaDB connection, connecting on first use; NULL after printing why. */
dp_db_t *cli_db(cli_t *cli);

/* Prints "distpoll: <fmt>" to stderr; returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes s as a JSON string literal (quoted, escaped) to out; NULL as null. */
void cli_json_str(FILE *out, const char *s);

/* Subcommands: argv[0] is the verb after the group ("add", "list", ...). */
int cli_device(cli_t *cli, int argc, char **argv);
int cli_db_cmd(cli_t *cli, int argc, char **argv);

#endif
