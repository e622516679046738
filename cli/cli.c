/*  cli.c - helpers shared by the distpoll subcommands
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_conn.h"

#include <stdarg.h>
#include <stdio.h>

//  --------------------------------------------------------------------------
int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "distpoll: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return code;
}

//  --------------------------------------------------------------------------
void cli_json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

//  --------------------------------------------------------------------------
dp_db_t *cli_db(cli_t *cli)
{
    if (cli->db)
        return cli->db;
    dp_err_t err = {0};
    cli->db = dp_conn_db_open(cli->cfg, &err);
    if (!cli->db)
        cli_error(CLI_UNAVAILABLE, "MariaDB: %s", err.text);
    return cli->db;
}
