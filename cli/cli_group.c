/*  cli_group.c - distpoll group add/list/remove and node list
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_settings.h"

#include <stdlib.h>
#include <string.h>

#define S_GROUPS_TEXT 256
#define S_STAGES_TEXT 256
#define S_NODES_MAX   256
#define S_LEADER_KEY  "dp:leader:scheduler"
#define S_NODE_MAX    129

static int s_group_add(cli_t *cli, int argc, char **argv)
{
    const char *name = NULL, *descr = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--descr") == 0 && i + 1 < argc)
            descr = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else
            return cli_error(CLI_USAGE, "group add: unexpected \"%s\" (expected NAME [--descr D])",
                             argv[i]);
    }
    if (!name || !*name || strlen(name) > 255 || strspn(name, "0123456789") == strlen(name))
        return cli_error(CLI_USAGE, "group add: NAME: expected a name of 1-255 characters, not "
                                    "only digits");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *s =
        dp_db_prepare(db, "INSERT INTO poller_groups (group_name, descr) VALUES (?, ?)", &err);
    if (!s || dp_db_exec(s, &err, "ss", name, descr) != 0) {
        if (dp_db_last_errno(db) == 1062) /* ER_DUP_ENTRY */
            return cli_error(CLI_FAIL, "group %s already exists", name);
        return cli_error(CLI_FAIL, "group add: %s", err.text);
    }
    printf("added group %s (id %llu)\n", name, (unsigned long long)dp_db_insert_id(s));
    return CLI_OK;
}

//  Writes the groups node serves ("1,2") into buf; "?" when they cannot be read.
static void s_node_groups(dp_db_t *db, const char *node, char *buf, size_t size)
{
    dp_settings_t st;
    dp_err_t err = {0};
    if (dp_settings_load(db, node, &st, &err) != 0) {
        snprintf(buf, size, "?");
        return;
    }
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < st.ngroups && n + 12 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%d", i ? "," : "", st.groups[i]);
}

static bool s_serves(const char *groups, long id)
{
    char copy[S_GROUPS_TEXT];
    snprintf(copy, sizeof copy, "%s", groups);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (atol(t) == id)
            return true;
    return false;
}

static int s_group_list(cli_t *cli)
{
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    char *nodes[S_NODES_MAX], *groups[S_NODES_MAX];
    int nn = 0;
    dp_db_stmt_t *n = dp_db_prepare(db, "SELECT node_id FROM nodes ORDER BY node_id", &err);
    if (!n || dp_db_query(n, &err, NULL) != 0)
        return cli_error(CLI_FAIL, "group list: %s", err.text);
    while (dp_db_fetch(n) == 1 && nn < S_NODES_MAX)
        nodes[nn++] = strdup(dp_db_col_str(n, 0));
    for (int i = 0; i < nn; i++) {
        groups[i] = malloc(S_GROUPS_TEXT);
        s_node_groups(db, nodes[i], groups[i], S_GROUPS_TEXT);
    }
    dp_db_stmt_t *q = dp_db_prepare(
        db,
        "SELECT g.id, g.group_name, g.descr, COUNT(d.device_id) FROM poller_groups g"
        " LEFT JOIN devices d ON d.poller_group = g.id GROUP BY g.id, g.group_name, g.descr"
        " UNION ALL SELECT 0, '(default)', 'devices without a group', COUNT(*) FROM devices"
        " WHERE poller_group = 0 ORDER BY 1",
        &err);
    if (!q || dp_db_query(q, &err, NULL) != 0)
        return cli_error(CLI_FAIL, "group list: %s", err.text);
    if (!cli->json)
        printf("%-5s %-24s %-8s %-30s %s\n", "ID", "NAME", "DEVICES", "NODES", "DESCRIPTION");
    while (dp_db_fetch(q) == 1) {
        long id = (long)dp_db_col_int(q, 0);
        char served[S_GROUPS_TEXT * 2] = "";
        size_t len = 0;
        for (int i = 0; i < nn; i++)
            if (s_serves(groups[i], id) && len + strlen(nodes[i]) + 2 < sizeof served)
                len += (size_t)snprintf(served + len, sizeof served - len, "%s%s", len ? "," : "",
                                        nodes[i]);
        if (cli->json) {
            printf("{\"id\":%ld,\"name\":", id);
            cli_json_str(stdout, dp_db_col_str(q, 1));
            printf(",\"descr\":");
            cli_json_str(stdout, dp_db_col_str(q, 2));
            printf(",\"devices\":%lld,\"nodes\":[", (long long)dp_db_col_int(q, 3));
            for (int i = 0, k = 0; i < nn; i++)
                if (s_serves(groups[i], id)) {
                    printf("%s", k++ ? "," : "");
                    cli_json_str(stdout, nodes[i]);
                }
            printf("]}\n");
        } else
            printf("%-5ld %-24s %-8lld %-30s %s\n", id, dp_db_col_str(q, 1),
                   (long long)dp_db_col_int(q, 3), *served ? served : "-", dp_db_col_str(q, 2));
    }
    for (int i = 0; i < nn; i++) {
        free(nodes[i]);
        free(groups[i]);
    }
    return CLI_OK;
}

static int s_group_remove(cli_t *cli, int argc, char **argv)
{
    if (argc != 2)
        return cli_error(CLI_USAGE, "group remove: expected NAME or ID");
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *q =
        dp_db_prepare(db,
                      "SELECT g.id, (SELECT COUNT(*) FROM devices d WHERE d.poller_group = g.id)"
                      " FROM poller_groups g WHERE g.group_name = ? OR CAST(g.id AS CHAR) = ?",
                      &err);
    if (!q || dp_db_query(q, &err, "ss", argv[1], argv[1]) != 0)
        return cli_error(CLI_FAIL, "group remove: %s", err.text);
    if (dp_db_fetch(q) != 1)
        return cli_error(CLI_FAIL, "group %s not found", argv[1]);
    int64_t id = dp_db_col_int(q, 0), devices = dp_db_col_int(q, 1);
    if (devices > 0)
        return cli_error(CLI_FAIL,
                         "group %s still has %lld device%s; move them first (distpoll device set "
                         "HOST --group G)",
                         argv[1], (long long)devices, devices == 1 ? "" : "s");
    dp_db_stmt_t *del = dp_db_prepare(db, "DELETE FROM poller_groups WHERE id = ?", &err);
    if (!del || dp_db_exec(del, &err, "i", id) != 0)
        return cli_error(CLI_FAIL, "group remove: %s", err.text);
    printf("removed group %s (id %lld)\n", argv[1], (long long)id);
    return CLI_OK;
}

//  --------------------------------------------------------------------------
int cli_group(cli_t *cli, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        return s_group_add(cli, argc, argv);
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return argc == 1 ? s_group_list(cli)
                         : cli_error(CLI_USAGE, "group list: unexpected \"%s\"", argv[1]);
    if (argc >= 1 && strcmp(argv[0], "remove") == 0)
        return s_group_remove(cli, argc, argv);
    return cli_error(CLI_USAGE, "group: expected add, list or remove");
}

//  Writes the leader's node id (the owner token without its "-<hex>" tail) into buf.
static int s_leader_node(cli_t *cli, char *buf, size_t size, dp_err_t *err)
{
    dp_redis_t *r = cli_redis(cli, err);
    if (!r)
        return -1;
    char *token = dp_lock_holder(r, S_LEADER_KEY, err);
    if (!token)
        return err->code == DP_ERR_NOTFOUND ? 0 : -1;
    char *dash = strrchr(token, '-');
    if (dash)
        *dash = '\0';
    snprintf(buf, size, "%s", token);
    free(token);
    return 0;
}

//  --------------------------------------------------------------------------
int cli_node(cli_t *cli, int argc, char **argv)
{
    if (argc != 1 || strcmp(argv[0], "list") != 0)
        return cli_error(CLI_USAGE, "node: expected list [--json]");
    char leader[S_NODE_MAX] = "";
    dp_err_t rerr = {0};
    bool leader_known = s_leader_node(cli, leader, sizeof leader, &rerr) == 0;
    if (!leader_known)
        fprintf(stderr, "distpoll: Redis unreachable, leader unknown: %s\n", rerr.text);
    dp_db_t *db = cli_db(cli);
    if (!db)
        return CLI_UNAVAILABLE;
    dp_err_t err = {0};
    dp_db_stmt_t *q =
        dp_db_prepare(db,
                      "SELECT n.node_id, n.poller_name, n.last_report,"
                      " (SELECT GROUP_CONCAT(s.stage ORDER BY s.stage) FROM node_stats s"
                      "  WHERE s.node_id = n.node_id AND s.stage IN"
                      "  ('scheduler', 'poller', 'discoverer', 'biller', 'rrdwriter'))"
                      " FROM nodes n ORDER BY n.node_id",
                      &err);
    if (!q || dp_db_query(q, &err, NULL) != 0)
        return cli_error(CLI_FAIL, "node list: %s", err.text);
    if (!cli->json)
        printf("%-20s %-20s %-10s %-34s %-22s %s\n", "NODE_ID", "HOST", "GROUPS", "STAGES",
               "LAST REPORT", "LEADER");
    char *rows[S_NODES_MAX][4];
    int64_t reports[S_NODES_MAX];
    int nr = 0;
    while (dp_db_fetch(q) == 1 && nr < S_NODES_MAX) {
        for (int c = 0; c < 4; c++)
            rows[nr][c] = strdup(dp_db_col_is_null(q, c) ? "" : dp_db_col_str(q, c));
        reports[nr++] = dp_db_col_is_null(q, 2) ? 0 : dp_db_col_time_ms(q, 2);
    }
    for (int i = 0; i < nr; i++) {
        char groups[S_GROUPS_TEXT], ago[CLI_TIME_MAX];
        s_node_groups(db, rows[i][0], groups, sizeof groups);
        const char *lead = !leader_known ? "?" : strcmp(leader, rows[i][0]) == 0 ? "yes" : "no";
        if (cli->json) {
            printf("{\"node_id\":");
            cli_json_str(stdout, rows[i][0]);
            printf(",\"host\":");
            cli_json_str(stdout, rows[i][1]);
            printf(",\"groups\":[%s],\"stages\":", groups[0] == '?' ? "" : groups);
            printf("[");
            char *save = NULL;
            int k = 0;
            for (char *t = strtok_r(rows[i][3], ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                printf("%s", k++ ? "," : "");
                cli_json_str(stdout, t);
            }
            printf("],\"last_report\":");
            cli_json_str(stdout, *rows[i][2] ? rows[i][2] : NULL);
            printf(",\"leader\":%s}\n", !leader_known              ? "null"
                                        : strcmp(lead, "yes") == 0 ? "true"
                                                                   : "false");
        } else
            printf("%-20s %-20s %-10s %-34s %-22s %s\n", rows[i][0], rows[i][1], groups,
                   *rows[i][3] ? rows[i][3] : "-", cli_fmt_ago(reports[i], ago, sizeof ago), lead);
        for (int c = 0; c < 4; c++)
            free(rows[i][c]);
    }
    if (!cli->json && leader_known && !*leader)
        printf("(no scheduler holds the leader lock)\n");
    return leader_known ? CLI_OK : CLI_UNAVAILABLE;
}
