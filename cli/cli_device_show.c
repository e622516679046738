/*  cli_device_show.c - distpoll device show / poll / rediscover
    SPDX-License-Identifier: MIT */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define S_POLL_EXTRA_MS 10000 /* device poll: wait for the SNMP work plus this */
#define S_CMD_MAX       300

static const char *s_device_sql =
    "SELECT device_id, hostname, overwrite_ip, port, snmpver, poller_group, disabled, status,"
    " status_reason, sysName, sysDescr, os, uptime, last_polled, last_polled_timetaken,"
    " last_discovered, last_discovered_timetaken, community, authname, authlevel"
    " FROM devices WHERE hostname = ?";

static const char *s_ports_sql =
    "SELECT port_id, ifIndex, ifName, ifDescr, ifAlias, ifOperStatus, ifAdminStatus, ifSpeed,"
    " ifInOctets_rate, ifOutOctets_rate, ifInErrors_rate, ifOutErrors_rate, poll_time"
    " FROM ports WHERE device_id = ? AND deleted = 0 ORDER BY ifIndex";

static const char *s_col(dp_db_stmt_t *q, int i)
{
    return dp_db_col_is_null(q, i) ? NULL : dp_db_col_str(q, i);
}

static void s_json_field(const char *key, const char *value, bool number)
{
    printf(",\"%s\":", key);
    if (number && value)
        fputs(value, stdout);
    else
        cli_json_str(stdout, value);
}

static void s_show_device_json(dp_db_stmt_t *q)
{
    static const char *const keys[] = {"device_id",
                                       "hostname",
                                       "address",
                                       "port",
                                       "snmpver",
                                       "poller_group",
                                       "disabled",
                                       "status",
                                       "status_reason",
                                       "sysName",
                                       "sysDescr",
                                       "os",
                                       "uptime",
                                       "last_polled",
                                       "last_polled_timetaken",
                                       "last_discovered",
                                       "last_discovered_timetaken"};
    static const bool numeric[] = {1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1};
    printf("{\"device_id\":%lld", (long long)dp_db_col_int(q, 0));
    for (int i = 1; i < (int)(sizeof keys / sizeof keys[0]); i++)
        s_json_field(keys[i], s_col(q, i), numeric[i]);
}

static void s_show_device_text(dp_db_stmt_t *q)
{
    char when[CLI_TIME_MAX], ago[CLI_TIME_MAX];
    bool disabled = dp_db_col_int(q, 6) != 0, up = dp_db_col_int(q, 7) != 0;
    printf("device      %s (device_id %lld)\n", dp_db_col_str(q, 1),
           (long long)dp_db_col_int(q, 0));
    printf("address     %s:%lld  snmp %s", s_col(q, 2) ? s_col(q, 2) : dp_db_col_str(q, 1),
           (long long)dp_db_col_int(q, 3), dp_db_col_str(q, 4));
    if (strcmp(dp_db_col_str(q, 4), "v3") == 0)
        printf(" user %s (%s)\n", s_col(q, 18) ? s_col(q, 18) : "?",
               s_col(q, 19) ? s_col(q, 19) : "?");
    else
        printf(" community %s\n", s_col(q, 17) ? "********" : "(none)");
    printf("group       %lld\n", (long long)dp_db_col_int(q, 5));
    printf("status      %s%s%s\n",
           disabled ? "disabled"
           : up     ? "up"
                    : "down",
           *dp_db_col_str(q, 8) ? ", reason " : "", dp_db_col_str(q, 8));
    printf("sysName     %s\nos          %s\n", s_col(q, 9) ? s_col(q, 9) : "-",
           s_col(q, 11) ? s_col(q, 11) : "-");
    if (s_col(q, 12))
        printf("uptime      %lld s\n", (long long)dp_db_col_int(q, 12));
    int64_t polled = dp_db_col_is_null(q, 13) ? 0 : dp_db_col_time_ms(q, 13);
    printf("last poll   %s (%s)", cli_fmt_time(polled, when, sizeof when),
           cli_fmt_ago(polled, ago, sizeof ago));
    if (s_col(q, 14))
        printf(", took %.3f s", dp_db_col_double(q, 14));
    int64_t disc = dp_db_col_is_null(q, 15) ? 0 : dp_db_col_time_ms(q, 15);
    printf("\nlast discovery %s (%s)", cli_fmt_time(disc, when, sizeof when),
           disc ? cli_fmt_ago(disc, ago, sizeof ago) : "due now");
    if (s_col(q, 16))
        printf(", took %.3f s", dp_db_col_double(q, 16));
    printf("\n");
}

static int s_show_ports(cli_t *cli, int64_t id)
{
    dp_err_t err = {0};
    dp_db_stmt_t *p = dp_db_prepare(cli->db, s_ports_sql, &err);
    if (!p || dp_db_query(p, &err, "i", id) != 0)
        return cli_error(CLI_FAIL, "device show: ports: %s", err.text);
    if (cli->json)
        printf(",\"ports\":[");
    else
        printf("\n%-8s %-7s %-20s %-6s %-10s %-14s %-14s %s\n", "PORT_ID", "IFINDEX", "IFNAME",
               "OPER", "SPEED", "IN", "OUT", "ERRORS IN/OUT");
    int rc, n = 0;
    while ((rc = dp_db_fetch(p)) == 1) {
        double in_bps = dp_db_col_double(p, 8) * 8, out_bps = dp_db_col_double(p, 9) * 8;
        if (cli->json) {
            printf("%s{\"port_id\":%lld,\"ifIndex\":%lld", n ? "," : "",
                   (long long)dp_db_col_int(p, 0), (long long)dp_db_col_int(p, 1));
            s_json_field("ifName", s_col(p, 2), false);
            s_json_field("ifDescr", s_col(p, 3), false);
            s_json_field("ifAlias", s_col(p, 4), false);
            s_json_field("ifOperStatus", s_col(p, 5), false);
            s_json_field("ifAdminStatus", s_col(p, 6), false);
            s_json_field("ifSpeed", s_col(p, 7), true);
            printf(",\"in_bps\":%.0f,\"out_bps\":%.0f", in_bps, out_bps);
            s_json_field("in_errors_rate", s_col(p, 10), true);
            s_json_field("out_errors_rate", s_col(p, 11), true);
            s_json_field("poll_time", s_col(p, 12), false);
            printf("}");
        } else {
            char speed[24] = "-", in[24] = "-", out[24] = "-";
            if (s_col(p, 7))
                cli_fmt_bps(dp_db_col_double(p, 7), speed, sizeof speed);
            if (s_col(p, 8))
                cli_fmt_bps(in_bps, in, sizeof in);
            if (s_col(p, 9))
                cli_fmt_bps(out_bps, out, sizeof out);
            printf("%-8lld %-7lld %-20s %-6s %-10s %-14s %-14s %.2f/%.2f\n",
                   (long long)dp_db_col_int(p, 0), (long long)dp_db_col_int(p, 1),
                   s_col(p, 2) ? s_col(p, 2) : "-", s_col(p, 5) ? s_col(p, 5) : "-", speed, in, out,
                   dp_db_col_double(p, 10), dp_db_col_double(p, 11));
        }
        n++;
    }
    if (cli->json)
        printf("]}\n");
    else if (n == 0)
        printf("(no ports: not discovered yet)\n");
    dp_db_stmt_destroy(&p);
    return rc < 0 ? cli_error(CLI_FAIL, "device show: ports: fetch failed") : CLI_OK;
}

//  --------------------------------------------------------------------------
int cli_device_show(cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_error(CLI_USAGE, "device show: expected HOST [--json]");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_prepare(db, s_device_sql, &err);
    if (!q || dp_db_query(q, &err, "s", argv[1]) != 0)
        return cli_error(CLI_FAIL, "device show: %s", err.text);
    if (dp_db_fetch(q) != 1)
        return cli_error(CLI_FAIL, "device %s not found", argv[1]);
    int64_t id = dp_db_col_int(q, 0);
    if (cli->json)
        s_show_device_json(q);
    else
        s_show_device_text(q);
    dp_db_stmt_destroy(&q);
    return s_show_ports(cli, id);
}

//  --------------------------------------------------------------------------
int cli_device_poll(cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_error(CLI_USAGE, "device poll: expected HOST");
    int64_t id;
    int found = cli_find_device(cli, argv[1], &id);
    if (found != 1)
        return found < 0 && !cli->db ? CLI_UNAVAILABLE : CLI_FAIL;
    char cmd[S_CMD_MAX];
    snprintf(cmd, sizeof cmd, "POLL %s", argv[1]);
    int timeout_ms =
        (int)(cli->cfg->snmp_timeout_ms * (cli->cfg->snmp_retries + 1) * 4) + S_POLL_EXTRA_MS;
    dp_err_t err = {0};
    char *reply = cli_ctl(cli, "poller", cmd, timeout_ms, &err);
    if (!reply)
        return cli_error(CLI_UNAVAILABLE, "device poll: no poller reachable on this node: %s",
                         err.text);
    fputs(reply, stdout);
    if (*reply && reply[strlen(reply) - 1] != '\n')
        fputc('\n', stdout);
    char status[32] = "";
    bool failed = strncmp(reply, "ERR", 3) == 0 ||
                  (cli_stats_get(reply, "status", status, sizeof status) && strcmp(status, "up"));
    free(reply);
    return failed ? CLI_FAIL : CLI_OK; /* a device that did not answer is a failed poll */
}

//  --------------------------------------------------------------------------
int cli_device_rediscover(cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return cli_error(CLI_USAGE, "device rediscover: expected HOST");
    int64_t id;
    int found = cli_find_device(cli, argv[1], &id);
    if (found != 1)
        return found < 0 && !cli->db ? CLI_UNAVAILABLE : CLI_FAIL;
    dp_err_t err = {0};
    dp_db_stmt_t *s = dp_db_prepare(
        cli->db, "UPDATE devices SET last_discovered = NULL WHERE device_id = ?", &err);
    if (!s || dp_db_exec(s, &err, "i", id) != 0)
        return cli_error(CLI_FAIL, "device rediscover: %s", err.text);
    printf("%s (device_id %lld) marked for discovery\n", argv[1], (long long)id);
    char *reply = cli_ctl(cli, "scheduler", "RELOAD", CLI_CTL_TIMEOUT_MS, &err);
    if (!reply)
        printf("scheduler on this node not told (%s); the leader picks it up at its next "
               "reload\n",
               err.text);
    else
        printf("scheduler: %s\n", reply);
    free(reply);
    return CLI_OK;
}
