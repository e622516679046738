/*  cli_device.c - distpoll device add/list/remove
    SPDX-License-Identifier: MIT */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLI_HOST_MAX   128
#define CLI_GROUP_MAX  65535
#define CLI_PORT_MAX   65535
#define CLI_SNMP_PORT  161
#define CLI_TIME_WIDTH 24

typedef struct {
    const char *hostname;   /* HOST */
    const char *address;    /* --address: poll this instead of resolving HOST */
    long port;              /* --port */
    const char *snmpver;    /* v1, v2c or v3 */
    const char *community;  /* --community */
    const char *auth_user;  /* --auth-user (v3) */
    const char *auth_proto; /* --auth-proto (v3) */
    const char *auth_pass;  /* --auth-pass (v3) */
    const char *priv_proto; /* --priv-proto (v3) */
    const char *priv_pass;  /* --priv-pass (v3) */
    long group;             /* --group */
    bool if_missing;        /* --if-missing: an existing device is not an error */
} s_device_args_t;

static bool s_valid_host(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > CLI_HOST_MAX || h[0] == '-' || h[0] == '.')
        return false;
    for (; *h; h++)
        if (!isalnum((unsigned char)*h) && !strchr(".-_:", *h))
            return false;
    return true;
}

static int s_parse_long(const char *name, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return cli_error(CLI_USAGE, "%s \"%s\": expected a number %ld..%ld", name, text, lo, hi);
    *out = v;
    return 0;
}

static int s_parse_add(int argc, char **argv, s_device_args_t *a)
{
    *a = (s_device_args_t){.port = CLI_SNMP_PORT, .snmpver = "v2c", .community = "public"};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--if-missing") == 0) {
            a->if_missing = true;
            continue;
        }
        if (opt[0] != '-') {
            if (a->hostname)
                return cli_error(CLI_USAGE, "device add: unexpected argument \"%s\"", opt);
            a->hostname = opt;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE, "device add: %s needs a value", opt);
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(opt, "--address") == 0)
            a->address = v;
        else if (strcmp(opt, "--port") == 0)
            rc = s_parse_long("--port", v, 1, CLI_PORT_MAX, &a->port);
        else if (strcmp(opt, "--group") == 0)
            rc = s_parse_long("--group", v, 0, CLI_GROUP_MAX, &a->group);
        else if (strcmp(opt, "--community") == 0)
            a->community = v;
        else if (strcmp(opt, "--auth-user") == 0)
            a->auth_user = v;
        else if (strcmp(opt, "--auth-proto") == 0)
            a->auth_proto = v;
        else if (strcmp(opt, "--auth-pass") == 0)
            a->auth_pass = v;
        else if (strcmp(opt, "--priv-proto") == 0)
            a->priv_proto = v;
        else if (strcmp(opt, "--priv-pass") == 0)
            a->priv_pass = v;
        else if (strcmp(opt, "--version") == 0) {
            if (strcmp(v, "1") == 0 || strcmp(v, "v1") == 0)
                a->snmpver = "v1";
            else if (strcmp(v, "2c") == 0 || strcmp(v, "v2c") == 0)
                a->snmpver = "v2c";
            else if (strcmp(v, "3") == 0 || strcmp(v, "v3") == 0)
                a->snmpver = "v3";
            else
                return cli_error(CLI_USAGE, "--version \"%s\": expected 1, 2c or 3", v);
        } else
            return cli_error(CLI_USAGE, "device add: unknown option %s", opt);
        if (rc)
            return rc;
    }
    if (!a->hostname)
        return cli_error(CLI_USAGE, "device add: expected HOST");
    if (!s_valid_host(a->hostname))
        return cli_error(CLI_USAGE,
                         "HOST \"%s\": expected a host name or address (letters, digits, . - _ :)",
                         a->hostname);
    if (a->address && !s_valid_host(a->address))
        return cli_error(CLI_USAGE, "--address \"%s\": expected an IP address or host name",
                         a->address);
    if (strcmp(a->snmpver, "v3") == 0 && !a->auth_user)
        return cli_error(CLI_USAGE, "--version 3 needs --auth-user");
    return 0;
}

static const char *s_authlevel(const s_device_args_t *a)
{
    if (strcmp(a->snmpver, "v3") != 0)
        return NULL;
    if (a->priv_pass)
        return "authPriv";
    return a->auth_pass ? "authNoPriv" : "noAuthNoPriv";
}

static int s_add(cli_t *cli, int argc, char **argv)
{
    s_device_args_t a;
    int rc = s_parse_add(argc, argv, &a);
    if (rc)
        return rc;
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *find =
        dp_db_prepare(db, "SELECT device_id FROM devices WHERE hostname = ?", &err);
    if (!find || dp_db_query(find, &err, "s", a.hostname) != 0)
        return cli_error(CLI_FAIL, "device add: %s", err.text);
    if (dp_db_fetch(find) == 1) {
        if (a.if_missing)
            return CLI_OK;
        return cli_error(CLI_FAIL, "device %s already exists (device_id %lld)", a.hostname,
                         (long long)dp_db_col_int(find, 0));
    }
    bool v3 = strcmp(a.snmpver, "v3") == 0;
    dp_db_stmt_t *ins = dp_db_prepare(
        db,
        "INSERT INTO devices (hostname, overwrite_ip, port, snmpver, community, authlevel, "
        "authname, authpass, authalgo, cryptopass, cryptoalgo, poller_group) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &err);
    if (!ins ||
        dp_db_exec(ins, &err, "ssissssssssi", a.hostname, a.address, (int64_t)a.port, a.snmpver,
                   v3 ? NULL : a.community, s_authlevel(&a), a.auth_user, a.auth_pass,
                   v3 ? (a.auth_proto ? a.auth_proto : "SHA") : NULL, a.priv_pass,
                   v3 && a.priv_pass ? (a.priv_proto ? a.priv_proto : "AES") : NULL,
                   (int64_t)a.group) != 0)
        return cli_error(CLI_FAIL, "device add: %s", err.text);
    printf("added %s (device_id %llu, %s, group %ld)\n", a.hostname,
           (unsigned long long)dp_db_insert_id(ins), a.snmpver, a.group);
    return CLI_OK;
}

static int s_list(cli_t *cli)
{
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_prepare(
        db,
        "SELECT device_id, hostname, overwrite_ip, port, snmpver, poller_group, disabled, status, "
        "status_reason, last_polled, last_polled_timetaken, os FROM devices ORDER BY hostname",
        &err);
    if (!q || dp_db_query(q, &err, NULL) != 0)
        return cli_error(CLI_FAIL, "device list: %s", err.text);
    if (!cli->json)
        printf("%-6s %-28s %-16s %-5s %-4s %-5s %-8s %-24s %s\n", "ID", "HOSTNAME", "ADDRESS",
               "PORT", "VER", "GROUP", "STATUS", "LAST POLLED", "TOOK");
    int rc;
    while ((rc = dp_db_fetch(q)) == 1) {
        bool disabled = dp_db_col_int(q, 6) != 0;
        bool up = dp_db_col_int(q, 7) != 0;
        const char *status = disabled ? "disabled" : up ? "up" : "down";
        char polled[CLI_TIME_WIDTH + 8] = "never";
        if (!dp_db_col_is_null(q, 9))
            snprintf(polled, sizeof polled, "%s", dp_db_col_str(q, 9));
        if (cli->json) {
            printf("{\"device_id\":%lld,\"hostname\":", (long long)dp_db_col_int(q, 0));
            cli_json_str(stdout, dp_db_col_str(q, 1));
            printf(",\"address\":");
            cli_json_str(stdout, dp_db_col_is_null(q, 2) ? NULL : dp_db_col_str(q, 2));
            printf(",\"port\":%lld,\"snmpver\":", (long long)dp_db_col_int(q, 3));
            cli_json_str(stdout, dp_db_col_str(q, 4));
            printf(",\"poller_group\":%lld,\"status\":\"%s\",\"status_reason\":",
                   (long long)dp_db_col_int(q, 5), status);
            cli_json_str(stdout, dp_db_col_str(q, 8));
            printf(",\"last_polled\":");
            cli_json_str(stdout, dp_db_col_is_null(q, 9) ? NULL : dp_db_col_str(q, 9));
            printf(",\"last_polled_timetaken\":");
            if (dp_db_col_is_null(q, 10))
                printf("null");
            else
                printf("%.3f", dp_db_col_double(q, 10));
            printf("}\n");
        } else {
            char took[32] = "-";
            if (!dp_db_col_is_null(q, 10))
                snprintf(took, sizeof took, "%.2fs", dp_db_col_double(q, 10));
            printf("%-6lld %-28s %-16s %-5lld %-4s %-5lld %-8s %-24s %s\n",
                   (long long)dp_db_col_int(q, 0), dp_db_col_str(q, 1),
                   dp_db_col_is_null(q, 2) ? "-" : dp_db_col_str(q, 2),
                   (long long)dp_db_col_int(q, 3), dp_db_col_str(q, 4),
                   (long long)dp_db_col_int(q, 5), status, polled, took);
        }
    }
    return rc < 0 ? cli_error(CLI_FAIL, "device list: fetch failed") : CLI_OK;
}

static int s_remove(cli_t *cli, int argc, char **argv)
{
    if (argc != 2)
        return cli_error(CLI_USAGE, "device remove: expected HOST");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *find =
        dp_db_prepare(db, "SELECT device_id FROM devices WHERE hostname = ?", &err);
    if (!find || dp_db_query(find, &err, "s", argv[1]) != 0)
        return cli_error(CLI_FAIL, "device remove: %s", err.text);
    if (dp_db_fetch(find) != 1)
        return cli_error(CLI_FAIL, "device %s not found", argv[1]);
    int64_t id = dp_db_col_int(find, 0);
    static const char *const tables[] = {"ports", "processors", "storage", "devices"};
    if (dp_db_begin(db, &err) != 0)
        return cli_error(CLI_FAIL, "device remove: %s", err.text);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE device_id = ?", tables[i]);
        dp_db_stmt_t *del = dp_db_prepare(db, sql, &err);
        if (!del || dp_db_exec(del, &err, "i", id) != 0) {
            dp_db_rollback(db, NULL);
            return cli_error(CLI_FAIL, "device remove: %s", err.text);
        }
        dp_db_stmt_destroy(&del);
    }
    if (dp_db_commit(db, &err) != 0)
        return cli_error(CLI_FAIL, "device remove: %s", err.text);
    printf("removed %s (device_id %lld)\n", argv[1], (long long)id);
    return CLI_OK;
}

//  --------------------------------------------------------------------------
int cli_device(cli_t *cli, int argc, char **argv)
{
    if (argc < 1)
        return cli_error(CLI_USAGE, "device: expected add, list or remove");
    if (strcmp(argv[0], "add") == 0)
        return s_add(cli, argc, argv);
    if (strcmp(argv[0], "list") == 0)
        return s_list(cli);
    if (strcmp(argv[0], "remove") == 0)
        return s_remove(cli, argc, argv);
    return cli_error(CLI_USAGE, "device: unknown subcommand \"%s\" (expected add, list or remove)",
                     argv[0]);
}
