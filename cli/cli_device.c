/*  cli_device.c - distpoll device add/list/remove/set (show, poll, rediscover: cli_device_show.c)
    SPDX-License-Identifier: MIT */
#include "cli.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_GROUP_MAX       65535
#define CLI_PORT_MAX        65535
#define CLI_SNMP_PORT       161
#define S_SYSNAME_MAX       256
#define S_WHY_MAX           512
#define S_PATH_MAX          4096
#define S_NFTW_FDS          16
#define S_RELOAD_TIMEOUT_MS 1000 /* device add: RELOAD to a local scheduler, if any */

typedef struct {
    const char *hostname;   /* HOST */
    const char *address;    /* --address: poll this instead of resolving HOST */
    long port;              /* --port (-1 = not given, for set) */
    const char *snmpver;    /* v1, v2c or v3 */
    const char *community;  /* --community */
    const char *auth_user;  /* --auth-user (v3) */
    const char *auth_proto; /* --auth-proto (v3) */
    const char *auth_pass;  /* --auth-pass (v3) */
    const char *priv_proto; /* --priv-proto (v3) */
    const char *priv_pass;  /* --priv-pass (v3) */
    const char *group;      /* --group: number or poller group name */
    bool if_missing;        /* --if-missing: an existing device is not an error */
    bool force;             /* --force: do not check that the device answers */
    int disabled;           /* --disable 1, --enable 0, else -1 */
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

static int s_parse_version(const char *v, const char **out)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "v1") == 0)
        *out = "v1";
    else if (strcmp(v, "2c") == 0 || strcmp(v, "v2c") == 0)
        *out = "v2c";
    else if (strcmp(v, "3") == 0 || strcmp(v, "v3") == 0)
        *out = "v3";
    else
        return cli_error(CLI_USAGE, "--version \"%s\": expected 1, 2c or 3", v);
    return 0;
}

//  Parses options from argv[first..]; verb names the command in messages.
static int s_parse(const char *verb, int argc, char **argv, s_device_args_t *a)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--if-missing") == 0 || strcmp(opt, "--force") == 0 ||
            strcmp(opt, "--disable") == 0 || strcmp(opt, "--enable") == 0) {
            if (opt[2] == 'i')
                a->if_missing = true;
            else if (opt[2] == 'f')
                a->force = true;
            else
                a->disabled = opt[2] == 'd';
            continue;
        }
        if (opt[0] != '-') {
            if (a->hostname)
                return cli_error(CLI_USAGE, "device %s: unexpected argument \"%s\"", verb, opt);
            a->hostname = opt;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE, "device %s: %s needs a value", verb, opt);
        const char *v = argv[++i];
        int rc = 0;
        if (strcmp(opt, "--address") == 0)
            a->address = v;
        else if (strcmp(opt, "--port") == 0)
            rc = cli_parse_long("--port", v, 1, CLI_PORT_MAX, &a->port);
        else if (strcmp(opt, "--group") == 0)
            a->group = v;
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
        else if (strcmp(opt, "--version") == 0)
            rc = s_parse_version(v, &a->snmpver);
        else
            return cli_error(CLI_USAGE, "device %s: unknown option %s", verb, opt);
        if (rc)
            return rc;
    }
    if (!a->hostname)
        return cli_error(CLI_USAGE, "device %s: expected HOST", verb);
    if (!s_valid_host(a->hostname))
        return cli_error(CLI_USAGE,
                         "HOST \"%s\": expected a host name or address (letters, digits, . - _ :)",
                         a->hostname);
    if (a->address && *a->address && !s_valid_host(a->address))
        return cli_error(CLI_USAGE, "--address \"%s\": expected an IP address or host name",
                         a->address);
    if (a->snmpver && strcmp(a->snmpver, "v3") == 0 && !a->auth_user)
        return cli_error(CLI_USAGE, "--version 3 needs --auth-user");
    static const char *const auths = " MD5 SHA SHA-224 SHA-256 SHA-384 SHA-512 ";
    static const char *const privs = " DES AES AES-192 AES-256 ";
    char word[24];
    snprintf(word, sizeof word, " %s ", a->auth_proto ? a->auth_proto : "SHA");
    if (strlen(word) > 12 || !strstr(auths, word))
        return cli_error(CLI_USAGE,
                         "--auth-proto \"%s\": expected MD5, SHA, SHA-224, SHA-256, "
                         "SHA-384 or SHA-512",
                         a->auth_proto);
    snprintf(word, sizeof word, " %s ", a->priv_proto ? a->priv_proto : "AES");
    if (strlen(word) > 12 || !strstr(privs, word))
        return cli_error(CLI_USAGE, "--priv-proto \"%s\": expected DES, AES, AES-192 or AES-256",
                         a->priv_proto);
    if (a->priv_pass && !a->auth_pass)
        return cli_error(CLI_USAGE, "--priv-pass needs --auth-pass (authPriv)");
    return 0;
}

//  Resolves --group (a number, or a poller_groups name) into *out.
static int s_resolve_group(cli_t *cli, const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!errno && end != text && !*end)
        return cli_parse_long("--group", text, 0, CLI_GROUP_MAX, out);
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_cached(cli->db, "SELECT id FROM poller_groups WHERE group_name = ?",
                                   DP_DB_IDEMPOTENT, &err);
    if (!q || dp_db_query(q, &err, "s", text) != 0)
        return cli_error(CLI_FAIL, "MariaDB: %s", err.text);
    bool found = dp_db_fetch(q) == 1;
    if (found)
        v = (long)dp_db_col_int(q, 0);
    while (dp_db_fetch(q) == 1)
        ;
    if (!found)
        return cli_error(CLI_USAGE,
                         "--group \"%s\": expected a group number or the name of a poller group "
                         "(see distpoll group list)",
                         text);
    *out = v;
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

static int s_check_answers(cli_t *cli, const s_device_args_t *a, char *sysname, size_t size)
{
    cli_snmp_target_t t = {
        .address = a->address ? a->address : a->hostname,
        .port = a->port,
        .snmpver = a->snmpver,
        .community = a->community,
        .auth_user = a->auth_user,
        .auth_proto = a->auth_proto,
        .auth_pass = a->auth_pass,
        .priv_proto = a->priv_proto,
        .priv_pass = a->priv_pass,
        .timeout_ms = cli->cfg->snmp_timeout_ms,
        .retries = cli->cfg->snmp_retries,
    };
    char why[S_WHY_MAX];
    if (cli_snmp_check(&t, sysname, size, why, sizeof why) != 0)
        return cli_error(CLI_UNAVAILABLE, "device add %s: %s; not added (--force adds it anyway)",
                         a->hostname, why);
    return 0;
}

//  A scheduler on this node reloads the devices at once, so the new one is discovered within
//  seconds; none here (or no answer) is fine: the leader's periodic reload finds it.
static void s_tell_scheduler(cli_t *cli)
{
    dp_err_t err = {0};
    char *reply = cli_ctl(cli, "scheduler", "RELOAD", S_RELOAD_TIMEOUT_MS, &err);
    if (reply && strncmp(reply, "OK", 2) == 0)
        printf("scheduler on this node reloaded (%s)\n", reply);
    free(reply);
}

static int s_add(cli_t *cli, int argc, char **argv)
{
    s_device_args_t a = {
        .port = CLI_SNMP_PORT, .snmpver = "v2c", .community = "public", .disabled = -1};
    int rc = s_parse("add", argc, argv, &a);
    if (rc)
        return rc;
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    long group = 0;
    if (a.group && (rc = s_resolve_group(cli, a.group, &group)) != 0)
        return rc;
    int64_t id;
    dp_err_t err = {0};
    dp_db_stmt_t *find =
        dp_db_prepare(db, "SELECT device_id FROM devices WHERE hostname = ?", &err);
    if (!find || dp_db_query(find, &err, "s", a.hostname) != 0)
        return cli_error(CLI_FAIL, "device add: %s", err.text);
    if (dp_db_fetch(find) == 1) {
        id = dp_db_col_int(find, 0);
        if (a.if_missing)
            return CLI_OK;
        return cli_error(CLI_FAIL, "device %s already exists (device_id %lld)", a.hostname,
                         (long long)id);
    }
    char sysname[S_SYSNAME_MAX] = "";
    if (!a.force && (rc = s_check_answers(cli, &a, sysname, sizeof sysname)) != 0)
        return rc;
    bool v3 = strcmp(a.snmpver, "v3") == 0;
    dp_db_stmt_t *ins = dp_db_prepare(
        db,
        "INSERT INTO devices (hostname, overwrite_ip, port, snmpver, community, authlevel, "
        "authname, authpass, authalgo, cryptopass, cryptoalgo, poller_group, sysName) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &err);
    if (!ins ||
        dp_db_exec(ins, &err, "ssissssssssis", a.hostname, a.address, (int64_t)a.port, a.snmpver,
                   v3 ? NULL : a.community, s_authlevel(&a), a.auth_user, a.auth_pass,
                   v3 && a.auth_pass ? (a.auth_proto ? a.auth_proto : "SHA") : NULL, a.priv_pass,
                   v3 && a.priv_pass ? (a.priv_proto ? a.priv_proto : "AES") : NULL, (int64_t)group,
                   *sysname ? sysname : NULL) != 0)
        return cli_error(CLI_FAIL, "device add: %s", err.text);
    printf("added %s (device_id %llu, %s, group %ld)%s%s%s\n", a.hostname,
           (unsigned long long)dp_db_insert_id(ins), a.snmpver, group,
           a.force ? " without checking it answers" : "", *sysname ? ", sysName " : "", sysname);
    s_tell_scheduler(cli);
    return CLI_OK;
}

static void s_list_json(dp_db_stmt_t *q, const char *status)
{
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
    printf(",\"os\":");
    cli_json_str(stdout, dp_db_col_is_null(q, 11) ? NULL : dp_db_col_str(q, 11));
    printf("}\n");
}

static int s_list(cli_t *cli, int argc, char **argv)
{
    long group = -1;
    const char *status = "", *pattern = "*";
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE, "device list: %s needs a value (or unknown option)",
                             argv[i]);
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--group") == 0) {
            if (cli_parse_long("--group", v, 0, CLI_GROUP_MAX, &group))
                return CLI_USAGE;
        } else if (strcmp(argv[i - 1], "--status") == 0) {
            if (strcmp(v, "up") && strcmp(v, "down") && strcmp(v, "disabled"))
                return cli_error(CLI_USAGE, "--status \"%s\": expected up, down or disabled", v);
            status = v;
        } else if (strcmp(argv[i - 1], "--host") == 0)
            pattern = v;
        else
            return cli_error(CLI_USAGE,
                             "device list: unknown option %s (expected --group G, --status "
                             "up|down|disabled, --host PATTERN, --json)",
                             argv[i - 1]);
    }
    char like[2 * CLI_HOST_MAX + 1];
    size_t n = 0;
    for (const char *p = pattern; *p && n + 2 < sizeof like; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            like[n++] = '\\';
        like[n++] = *p == '*' ? '%' : *p == '?' ? '_' : *p;
    }
    like[n] = '\0';
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_prepare(
        db,
        "SELECT device_id, hostname, overwrite_ip, port, snmpver, poller_group, disabled, status, "
        "status_reason, last_polled, last_polled_timetaken, os FROM devices"
        " WHERE (? < 0 OR poller_group = ?) AND hostname LIKE ?"
        " AND (? = '' OR (? = 'disabled' AND disabled = 1)"
        "  OR (disabled = 0 AND ((? = 'up' AND status = 1) OR (? = 'down' AND status = 0))))"
        " ORDER BY hostname",
        &err);
    if (!q || dp_db_query(q, &err, "iisssss", (int64_t)group, (int64_t)group, like, status, status,
                          status, status) != 0)
        return cli_error(CLI_FAIL, "device list: %s", err.text);
    if (!cli->json)
        printf("%-6s %-28s %-16s %-5s %-4s %-5s %-8s %-24s %s\n", "ID", "HOSTNAME", "ADDRESS",
               "PORT", "VER", "GROUP", "STATUS", "LAST POLLED", "TOOK");
    int rc;
    while ((rc = dp_db_fetch(q)) == 1) {
        bool disabled = dp_db_col_int(q, 6) != 0;
        bool up = dp_db_col_int(q, 7) != 0;
        const char *st = disabled ? "disabled" : up ? "up" : "down";
        if (cli->json) {
            s_list_json(q, st);
            continue;
        }
        char took[32] = "-";
        if (!dp_db_col_is_null(q, 10))
            snprintf(took, sizeof took, "%.2fs", dp_db_col_double(q, 10));
        printf("%-6lld %-28s %-16s %-5lld %-4s %-5lld %-8s %-24s %s\n",
               (long long)dp_db_col_int(q, 0), dp_db_col_str(q, 1),
               dp_db_col_is_null(q, 2) ? "-" : dp_db_col_str(q, 2), (long long)dp_db_col_int(q, 3),
               dp_db_col_str(q, 4), (long long)dp_db_col_int(q, 5), st,
               dp_db_col_is_null(q, 9) ? "never" : dp_db_col_str(q, 9), took);
    }
    return rc < 0 ? cli_error(CLI_FAIL, "device list: fetch failed") : CLI_OK;
}

static int s_unlink_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int s_remove_rrds(cli_t *cli, const char *host)
{
    if (!cli->cfg->rrd_dir)
        return cli_error(CLI_CONFIG, "--rrd: DP_RRD_DIR is not set");
    char dir[CLI_HOST_MAX + 1], path[S_PATH_MAX];
    cli_rrd_host_dir(host, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", cli->cfg->rrd_dir, dir);
    if (access(path, F_OK) != 0) {
        printf("no RRD folder %s\n", path);
        return CLI_OK;
    }
    if (nftw(path, s_unlink_cb, S_NFTW_FDS, FTW_DEPTH | FTW_PHYS) != 0)
        return cli_error(CLI_FAIL, "--rrd: cannot remove %s: %s", path, strerror(errno));
    printf("removed RRD folder %s\n", path);
    return CLI_OK;
}

static int s_remove(cli_t *cli, int argc, char **argv)
{
    bool rrd = false;
    const char *host = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rrd") == 0)
            rrd = true;
        else if (argv[i][0] != '-' && !host)
            host = argv[i];
        else
            return cli_error(CLI_USAGE, "device remove: unexpected \"%s\" (expected HOST [--rrd])",
                             argv[i]);
    }
    if (!host)
        return cli_error(CLI_USAGE, "device remove: expected HOST [--rrd]");
    int64_t id;
    int found = cli_find_device(cli, host, &id);
    if (found != 1)
        return found < 0 && !cli->db ? CLI_UNAVAILABLE : CLI_FAIL;
    static const char *const sqls[] = {
        "DELETE bp FROM bill_ports bp JOIN ports p ON p.port_id = bp.port_id WHERE p.device_id = ?",
        "DELETE FROM ports WHERE device_id = ?",
        "DELETE FROM processors WHERE device_id = ?",
        "DELETE FROM storage WHERE device_id = ?",
        "DELETE FROM devices WHERE device_id = ?",
    };
    dp_err_t err = {0};
    if (dp_db_begin(cli->db, &err) != 0)
        return cli_error(CLI_FAIL, "device remove: %s", err.text);
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        dp_db_stmt_t *del = dp_db_prepare(cli->db, sqls[i], &err);
        if (!del || dp_db_exec(del, &err, "i", id) != 0) {
            dp_db_rollback(cli->db, NULL);
            return cli_error(CLI_FAIL, "device remove: %s", err.text);
        }
        dp_db_stmt_destroy(&del);
    }
    if (dp_db_commit(cli->db, &err) != 0)
        return cli_error(CLI_FAIL, "device remove: %s", err.text);
    printf("removed %s (device_id %lld)\n", host, (long long)id);
    return rrd ? s_remove_rrds(cli, host) : CLI_OK;
}

//  Runs "UPDATE devices SET <col> = ? WHERE device_id = ?" (col from a fixed list).
static int s_set_col(cli_t *cli, const char *col, char type, const void *value, int64_t id)
{
    char sql[128], types[3] = {type, 'i', '\0'};
    snprintf(sql, sizeof sql, "UPDATE devices SET %s = ? WHERE device_id = ?", col);
    dp_err_t err = {0};
    dp_db_stmt_t *s = dp_db_prepare(cli->db, sql, &err);
    int rc = !s            ? -1
             : type == 'i' ? dp_db_exec(s, &err, types, *(const int64_t *)value, id)
                           : dp_db_exec(s, &err, types, (const char *)value, id);
    dp_db_stmt_destroy(&s);
    if (rc != 0)
        return cli_error(CLI_FAIL, "device set %s: %s", col, err.text);
    bool secret = strstr(col, "pass") || strcmp(col, "community") == 0;
    if (type == 'i')
        printf("  %s = %lld\n", col, (long long)*(const int64_t *)value);
    else
        printf("  %s = %s\n", col, !value ? "NULL" : secret ? "********" : (const char *)value);
    return 0;
}

static int s_set(cli_t *cli, int argc, char **argv)
{
    s_device_args_t a = {.port = -1, .disabled = -1};
    int rc = s_parse("set", argc, argv, &a);
    if (rc)
        return rc;
    int64_t id;
    int found = cli_find_device(cli, a.hostname, &id);
    if (found != 1)
        return found < 0 && !cli->db ? CLI_UNAVAILABLE : CLI_FAIL;
    long group = -1;
    if (a.group && (rc = s_resolve_group(cli, a.group, &group)) != 0)
        return rc;
    struct {
        const char *col;
        const char *value;
    } strs[] = {{"overwrite_ip", a.address && *a.address ? a.address : NULL},
                {"snmpver", a.snmpver},
                {"community", a.community},
                {"authname", a.auth_user},
                {"authalgo", a.auth_proto},
                {"authpass", a.auth_pass},
                {"cryptoalgo", a.priv_proto},
                {"cryptopass", a.priv_pass}};
    int changed = 0;
    printf("device %s (device_id %lld):\n", a.hostname, (long long)id);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        bool clear_address = i == 0 && a.address && !*a.address;
        if (!strs[i].value && !clear_address)
            continue;
        if (s_set_col(cli, strs[i].col, 's', strs[i].value, id))
            return CLI_FAIL;
        changed++;
    }
    int64_t nums[3] = {group, a.port, a.disabled};
    const char *numcols[3] = {"poller_group", "port", "disabled"};
    for (int i = 0; i < 3; i++) {
        if (nums[i] < 0)
            continue;
        if (s_set_col(cli, numcols[i], 'i', &nums[i], id))
            return CLI_FAIL;
        changed++;
    }
    if (!changed)
        return cli_error(CLI_USAGE, "device set: nothing to change (expected --group, --port, "
                                    "--community, --version, --address, --enable, --disable or "
                                    "v3 options)");
    return CLI_OK;
}

//  --------------------------------------------------------------------------
int cli_device(cli_t *cli, int argc, char **argv)
{
    static const char *expected = "expected add, list, show, set, remove, rediscover or poll";
    if (argc < 1)
        return cli_error(CLI_USAGE, "device: %s", expected);
    if (strcmp(argv[0], "add") == 0)
        return s_add(cli, argc, argv);
    if (strcmp(argv[0], "list") == 0)
        return s_list(cli, argc, argv);
    if (strcmp(argv[0], "remove") == 0)
        return s_remove(cli, argc, argv);
    if (strcmp(argv[0], "set") == 0)
        return s_set(cli, argc, argv);
    if (strcmp(argv[0], "show") == 0)
        return cli_device_show(cli, argc, argv);
    if (strcmp(argv[0], "poll") == 0)
        return cli_device_poll(cli, argc, argv);
    if (strcmp(argv[0], "rediscover") == 0)
        return cli_device_rediscover(cli, argc, argv);
    return cli_error(CLI_USAGE, "device: unknown subcommand \"%s\" (%s)", argv[0], expected);
}
