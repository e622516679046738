/*  cli_bill.c - distpoll bill add/list/show (the maths is dp_bill's, shared with the biller)
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_bill.h"
#include "dp_time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_PORTS_MAX 256
#define S_NUM_MAX   32

//  Parses "100M", "1.5G", "500000" (k, M, G, T: powers of 1000) into *out (> 0).
static int s_parse_si(const char *name, const char *text, const char *unit, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    double mult = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1e3;
        end++;
        break;
    case 'M':
        mult = 1e6;
        end++;
        break;
    case 'G':
        mult = 1e9;
        end++;
        break;
    case 'T':
        mult = 1e12;
        end++;
        break;
    default:
        break;
    }
    if (errno || end == text || *end || !(v > 0) || v * mult > 1e18)
        return cli_error(CLI_USAGE, "%s \"%s\": expected %s like 100M, 1.5G or 10000000", name,
                         text, unit);
    *out = (uint64_t)llround(v * mult);
    return 0;
}

//  Finds the port_id of "HOST:IFNAME" (the last ':' splits: hosts may hold ':' too).
static int s_find_port(cli_t *cli, const char *spec, int64_t *port_id)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        return cli_error(CLI_USAGE, "--port \"%s\": expected HOST:IFNAME", spec);
    char host[CLI_HOST_MAX + 1];
    snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_cached(cli->db,
                                   "SELECT p.port_id FROM ports p JOIN devices d ON"
                                   " d.device_id = p.device_id WHERE d.hostname = ? AND"
                                   " (p.ifName = ? OR p.ifDescr = ?) AND p.deleted = 0"
                                   " ORDER BY p.ifName = ? DESC LIMIT 1",
                                   DP_DB_IDEMPOTENT, &err);
    if (!q || dp_db_query(q, &err, "ssss", host, colon + 1, colon + 1, colon + 1) != 0)
        return cli_error(CLI_FAIL, "MariaDB: %s", err.text);
    bool found = dp_db_fetch(q) == 1;
    if (found)
        *port_id = dp_db_col_int(q, 0);
    while (dp_db_fetch(q) == 1)
        ;
    return found ? 0
                 : cli_error(CLI_FAIL,
                             "--port \"%s\": no port %s on device %s (see distpoll "
                             "device show %s)",
                             spec, colon + 1, host, host);
}

static int s_add(cli_t *cli, int argc, char **argv)
{
    const char *name = NULL, *dir = "in", *ports[S_PORTS_MAX];
    int nports = 0;
    dp_bill_type_t type = DP_BILL_CDR;
    uint64_t cdr = 0, quota = 0;
    long day = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (o[0] != '-') {
            if (name)
                return cli_error(CLI_USAGE, "bill add: unexpected argument \"%s\"", o);
            name = o;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE, "bill add: %s needs a value", o);
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(o, "--cdr") == 0) {
            type = DP_BILL_CDR;
            rc = s_parse_si("--cdr", v, "a rate in bit/s", &cdr);
        } else if (strcmp(o, "--quota") == 0) {
            type = DP_BILL_QUOTA;
            rc = s_parse_si("--quota", v, "a volume in bytes", &quota);
        } else if (strcmp(o, "--day") == 0)
            rc = cli_parse_long("--day", v, 1, 31, &day);
        else if (strcmp(o, "--dir") == 0) {
            if (strcmp(v, "in") && strcmp(v, "out") && strcmp(v, "agg"))
                return cli_error(CLI_USAGE, "--dir \"%s\": expected in, out or agg", v);
            dir = strcmp(v, "agg") == 0 ? "agg" : "in"; /* in/out: max of both is billed */
        } else if (strcmp(o, "--port") == 0 && nports < S_PORTS_MAX)
            ports[nports++] = v;
        else
            return cli_error(CLI_USAGE, "bill add: unknown option %s", o);
        if (rc)
            return rc;
    }
    if (!name || strlen(name) >= DP_BILL_NAME_MAX)
        return cli_error(CLI_USAGE, "bill add: expected NAME (--cdr RATE | --quota BYTES) "
                                    "[--day D] [--dir in|agg] [--port HOST:IFNAME]...");
    if (!cdr && !quota)
        return cli_error(CLI_USAGE, "bill add: expected --cdr RATE (e.g. 100M) or --quota BYTES "
                                    "(e.g. 500G)");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    int64_t ids[S_PORTS_MAX];
    for (int i = 0; i < nports; i++) {
        int rc = s_find_port(cli, ports[i], &ids[i]);
        if (rc)
            return rc;
    }
    dp_err_t err = {0};
    if (dp_db_begin(db, &err) != 0)
        return cli_error(CLI_FAIL, "bill add: %s", err.text);
    dp_db_stmt_t *ins = dp_db_prepare(db,
                                      "INSERT INTO bills (bill_name, bill_type, bill_cdr, bill_day,"
                                      " bill_quota, dir_95th) VALUES (?, ?, ?, ?, ?, ?)",
                                      &err);
    int rc =
        ins ? dp_db_exec(ins, &err,
                         "ssuiu"
                         "s",
                         name, dp_bill_type_name(type), type == DP_BILL_CDR ? cdr : (uint64_t)0,
                         (int64_t)day, type == DP_BILL_QUOTA ? quota : (uint64_t)0, dir)
            : -1;
    uint64_t bill_id = rc == 0 ? dp_db_insert_id(ins) : 0;
    dp_db_stmt_t *bp = rc == 0 ? dp_db_prepare(db,
                                               "INSERT IGNORE INTO bill_ports (bill_id, port_id)"
                                               " VALUES (?, ?)",
                                               &err)
                               : NULL;
    for (int i = 0; rc == 0 && i < nports; i++)
        rc = bp ? dp_db_exec(bp, &err, "ui", bill_id, ids[i]) : -1;
    if (rc != 0 || dp_db_commit(db, &err) != 0) {
        dp_db_rollback(db, NULL);
        return cli_error(CLI_FAIL, "bill add: %s", err.text);
    }
    printf("added bill %s (bill_id %llu, %s, %d port%s)\n", name, (unsigned long long)bill_id,
           dp_bill_type_name(type), nports, nports == 1 ? "" : "s");
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
        "SELECT b.bill_id, b.bill_name, b.bill_type, COALESCE(b.bill_cdr, 0),"
        " COALESCE(b.bill_quota, 0), b.bill_day, b.rate_95th, b.total_data, b.bill_last_calc,"
        " (SELECT COUNT(*) FROM bill_ports bp WHERE bp.bill_id = b.bill_id)"
        " FROM bills b ORDER BY b.bill_id",
        &err);
    if (!q || dp_db_query(q, &err, NULL) != 0)
        return cli_error(CLI_FAIL, "bill list: %s", err.text);
    if (!cli->json)
        printf("%-6s %-24s %-6s %-14s %-4s %-6s %-14s %-14s %s\n", "ID", "NAME", "TYPE", "ALLOWED",
               "DAY", "PORTS", "95TH", "TOTAL", "CALCULATED");
    while (dp_db_fetch(q) == 1) {
        bool cdr = strcmp(dp_db_col_str(q, 2), "cdr") == 0;
        if (cli->json) {
            printf("{\"bill_id\":%lld,\"name\":", (long long)dp_db_col_int(q, 0));
            cli_json_str(stdout, dp_db_col_str(q, 1));
            printf(",\"type\":\"%s\",\"cdr_bps\":%llu,\"quota_bytes\":%llu,\"day\":%lld,"
                   "\"ports\":%lld,\"rate_95th_bps\":%.0f,\"total_bytes\":%llu,\"last_calc\":",
                   cdr ? "cdr" : "quota", (unsigned long long)dp_db_col_uint(q, 3),
                   (unsigned long long)dp_db_col_uint(q, 4), (long long)dp_db_col_int(q, 5),
                   (long long)dp_db_col_int(q, 9), dp_db_col_double(q, 6),
                   (unsigned long long)dp_db_col_uint(q, 7));
            cli_json_str(stdout, dp_db_col_is_null(q, 8) ? NULL : dp_db_col_str(q, 8));
            printf("}\n");
            continue;
        }
        char allowed[S_NUM_MAX], rate[S_NUM_MAX], total[S_NUM_MAX];
        if (cdr)
            cli_fmt_bps((double)dp_db_col_uint(q, 3), allowed, sizeof allowed);
        else
            snprintf(allowed, sizeof allowed, "%.2f GB", (double)dp_db_col_uint(q, 4) / 1e9);
        cli_fmt_bps(dp_db_col_double(q, 6), rate, sizeof rate);
        snprintf(total, sizeof total, "%.2f GB", (double)dp_db_col_uint(q, 7) / 1e9);
        printf("%-6lld %-24s %-6s %-14s %-4lld %-6lld %-14s %-14s %s\n",
               (long long)dp_db_col_int(q, 0), dp_db_col_str(q, 1), cdr ? "cdr" : "quota", allowed,
               (long long)dp_db_col_int(q, 5), (long long)dp_db_col_int(q, 9), rate, total,
               dp_db_col_is_null(q, 8) ? "never" : dp_db_col_str(q, 8));
    }
    return CLI_OK;
}

static int s_find_bill(cli_t *cli, const char *text, uint64_t *id)
{
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_cached(cli->db,
                                   "SELECT bill_id FROM bills WHERE bill_name = ? OR"
                                   " CAST(bill_id AS CHAR) = ? ORDER BY bill_name = ? DESC",
                                   DP_DB_IDEMPOTENT, &err);
    if (!q || dp_db_query(q, &err, "sss", text, text, text) != 0)
        return cli_error(CLI_FAIL, "MariaDB: %s", err.text);
    bool found = dp_db_fetch(q) == 1;
    if (found)
        *id = dp_db_col_uint(q, 0);
    while (dp_db_fetch(q) == 1)
        ;
    return found ? 0 : cli_error(CLI_FAIL, "bill %s not found (see distpoll bill list)", text);
}

static void s_show_text(const dp_bill_t *b, int64_t from_s, int64_t to_s, const dp_bill_usage_t *u,
                        const dp_bill_verdict_t *v)
{
    char f[CLI_TIME_MAX], t[CLI_TIME_MAX], r[5][S_NUM_MAX];
    printf("bill        %s (bill_id %llu, %s, day %d)\n", b->name, (unsigned long long)b->bill_id,
           dp_bill_type_name(b->type), b->day);
    printf("period      %s .. %s UTC\n", cli_fmt_time(from_s * 1000, f, sizeof f),
           cli_fmt_time(to_s * 1000, t, sizeof t));
    printf("traffic     in %.3f GB, out %.3f GB, total %.3f GB (%zu samples)\n",
           (double)u->total_in / 1e9, (double)u->total_out / 1e9, (double)u->total / 1e9, u->rows);
    printf("average     %s (in %s, out %s)\n", cli_fmt_bps(u->avg_bps, r[0], S_NUM_MAX),
           cli_fmt_bps(u->avg_in_bps, r[1], S_NUM_MAX),
           cli_fmt_bps(u->avg_out_bps, r[2], S_NUM_MAX));
    printf(
        "95th        %s (%s; in %s, out %s, agg %s)\n", cli_fmt_bps(v->rate_95th, r[0], S_NUM_MAX),
        v->dir_95th, cli_fmt_bps(u->p95_in_bps, r[1], S_NUM_MAX),
        cli_fmt_bps(u->p95_out_bps, r[2], S_NUM_MAX), cli_fmt_bps(u->p95_agg_bps, r[3], S_NUM_MAX));
    if (b->type == DP_BILL_CDR)
        printf("allowed     %s\nused        %s (%.2f%%)\noverusage   %s\n",
               cli_fmt_bps((double)v->allowed, r[0], S_NUM_MAX),
               cli_fmt_bps((double)v->used, r[1], S_NUM_MAX), v->percent,
               cli_fmt_bps((double)v->overuse, r[2], S_NUM_MAX));
    else
        printf("allowed     %.3f GB\nused        %.3f GB (%.2f%%)\noverusage   %.3f GB\n",
               (double)v->allowed / 1e9, (double)v->used / 1e9, v->percent,
               (double)v->overuse / 1e9);
}

static void s_show_json(const dp_bill_t *b, int64_t from_s, int64_t to_s, const dp_bill_usage_t *u,
                        const dp_bill_verdict_t *v)
{
    printf("{\"bill_id\":%llu,\"name\":", (unsigned long long)b->bill_id);
    cli_json_str(stdout, b->name);
    printf(",\"type\":\"%s\",\"day\":%d,\"from_s\":%lld,\"to_s\":%lld,\"samples\":%zu,"
           "\"total_in\":%llu,\"total_out\":%llu,\"total\":%llu,\"avg_bps\":%.0f,"
           "\"p95_in_bps\":%.0f,\"p95_out_bps\":%.0f,\"p95_agg_bps\":%.0f,\"rate_95th\":%.0f,"
           "\"dir_95th\":\"%s\",\"allowed\":%llu,\"used\":%llu,\"overuse\":%llu,"
           "\"percent\":%.2f}\n",
           dp_bill_type_name(b->type), b->day, (long long)from_s, (long long)to_s, u->rows,
           (unsigned long long)u->total_in, (unsigned long long)u->total_out,
           (unsigned long long)u->total, u->avg_bps, u->p95_in_bps, u->p95_out_bps, u->p95_agg_bps,
           v->rate_95th, v->dir_95th, (unsigned long long)v->allowed, (unsigned long long)v->used,
           (unsigned long long)v->overuse, v->percent);
}

static int s_show(cli_t *cli, int argc, char **argv)
{
    long offset = 0;
    const char *which = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--previous") == 0)
            offset = -1;
        else if (argv[i][0] != '-' && !which)
            which = argv[i];
        else
            return cli_error(CLI_USAGE, "bill show: unexpected \"%s\" (expected BILL [--previous])",
                             argv[i]);
    }
    if (!which)
        return cli_error(CLI_USAGE, "bill show: expected BILL (name or id) [--previous]");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    uint64_t id = 0;
    int rc = s_find_bill(cli, which, &id);
    if (rc)
        return rc;
    dp_err_t err = {0};
    dp_bill_t b;
    int64_t from_s, to_s, now_s = dp_time_wall_ms() / 1000;
    int64_t bucket_s = cli->cfg->billing_interval_ms / 1000;
    if (dp_bill_load(db, id, &b, &err) != 0 ||
        dp_bill_period(b.day, now_s, (int)offset, &from_s, &to_s) != 0)
        return cli_error(CLI_FAIL, "bill show: %s", err.text[0] ? err.text : "bad billing day");
    dp_bill_usage_t u;
    dp_bill_verdict_t v;
    if (dp_bill_usage(db, id, from_s, to_s, bucket_s > 0 ? bucket_s : DP_BILL_BUCKET_DEFAULT,
                      DP_BILL_PCT_LIBRENMS, &u, &err) != 0)
        return cli_error(CLI_FAIL, "bill show: %s", err.text);
    dp_bill_judge(&b, &u, &v);
    if (cli->json)
        s_show_json(&b, from_s, to_s, &u, &v);
    else
        s_show_text(&b, from_s, to_s, &u, &v);
    return CLI_OK;
}

//  --------------------------------------------------------------------------
int cli_bill(cli_t *cli, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        return s_add(cli, argc, argv);
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return s_list(cli);
    if (argc >= 1 && strcmp(argv[0], "show") == 0)
        return s_show(cli, argc, argv);
    return cli_error(CLI_USAGE, "bill: expected add, list or show");
}
