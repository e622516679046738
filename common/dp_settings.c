/*  dp_settings.c - cluster settings in MariaDB, node registration, fencing epochs
    Parsing and validation are pure functions (unit-tested); the rest are short
    prepared statements cached on the caller's dp_db_t.
    SPDX-License-Identifier: MIT */
#include "dp_settings.h"

#include <mysqld_error.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_SHOW           64 /* characters of a bad value quoted in errors */
#define S_VALUE_MAX      255
#define S_GROUPS_MSG     "expected comma-separated group numbers"
#define S_DEADLOCK_TRIES 3

#define S_SQL_SETTINGS  "SELECT name, value FROM settings"
#define S_SQL_NODE_GRPS "SELECT poller_groups FROM nodes WHERE node_id = ?"
#define S_SQL_SET                                                                                  \
    "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, NOW(3))"                         \
    " ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)"
#define S_SQL_SET_NODE_GRPS                                                                        \
    "INSERT INTO nodes (node_id, poller_groups) VALUES (?, ?)"                                     \
    " ON DUPLICATE KEY UPDATE poller_groups = VALUES(poller_groups)"
#define S_SQL_EPOCH_BUMP                                                                           \
    "INSERT INTO leadership (name, epoch, holder, updated_at) VALUES (?, 1, ?, NOW(3))"            \
    " ON DUPLICATE KEY UPDATE epoch = epoch + 1, holder = VALUES(holder),"                         \
    " updated_at = VALUES(updated_at)"
#define S_SQL_EPOCH_GET "SELECT epoch FROM leadership WHERE name = ?"
#define S_SQL_NODE_REPORT                                                                          \
    "INSERT INTO nodes (node_id, poller_name, poller_version, last_report, master)"                \
    " VALUES (?, ?, ?, NOW(3), COALESCE(?, 0))"                                                    \
    " ON DUPLICATE KEY UPDATE poller_name = VALUES(poller_name),"                                  \
    " poller_version = VALUES(poller_version), last_report = VALUES(last_report),"                 \
    " master = COALESCE(?, master)"
#define S_SQL_STAGE_REPORT                                                                         \
    "INSERT INTO node_stats (node_id, stage, last_report) VALUES (?, ?, NOW(3))"                   \
    " ON DUPLICATE KEY UPDATE last_report = VALUES(last_report)"

static const char *s_known[] = {
    DP_SETTING_DISTRIBUTED_POLLER,
    DP_SETTING_DISTRIBUTED_POLLER_GROUP,
    DP_SETTING_DEFAULT_POLLER_GROUP,
    DP_SETTING_DISTRIBUTED_BILLING,
};

static bool s_is_known(const char *name)
{
    for (size_t i = 0; i < sizeof s_known / sizeof s_known[0]; i++)
        if (strcmp(name, s_known[i]) == 0)
            return true;
    return false;
}

static const char *s_skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

//  Parses one non-negative int starting at p (digits only); returns end or NULL.
static const char *s_parse_uint(const char *p, int *out)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno || v > INT_MAX)
        return NULL;
    *out = (int)v;
    return end;
}

//  Formats groups as "1,2,3" into buf.
static void s_join_groups(const int *groups, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? "," : "", groups[i]);
}

//  Validates name=value and writes its stored form into norm.
static int s_normalise(const char *name, const char *value, char *norm, size_t size, dp_err_t *err)
{
    dp_settings_t tmp;
    dp_settings_defaults(&tmp);
    if (dp_settings_apply(&tmp, name, value, err) != 0)
        return -1;
    if (strcmp(name, DP_SETTING_DISTRIBUTED_POLLER) == 0)
        snprintf(norm, size, "%s", tmp.distributed_poller ? "true" : "false");
    else if (strcmp(name, DP_SETTING_DISTRIBUTED_BILLING) == 0)
        snprintf(norm, size, "%s", tmp.distributed_billing ? "true" : "false");
    else if (strcmp(name, DP_SETTING_DEFAULT_POLLER_GROUP) == 0)
        snprintf(norm, size, "%d", tmp.default_poller_group);
    else
        s_join_groups(tmp.groups, tmp.ngroups, norm, size);
    return 0;
}

//  --------------------------------------------------------------------------
void dp_settings_defaults(dp_settings_t *s)
{
    memset(s, 0, sizeof *s);
    s->default_poller_group = 0;
}

//  --------------------------------------------------------------------------
int dp_settings_parse_groups(const char *text, int *groups, int max, int *n, dp_err_t *err)
{
    int tmp[DP_SETTINGS_MAX_GROUPS];
    int count = 0;
    *n = 0;
    if (!text || !*s_skip_space(text))
        return 0;
    if (max > DP_SETTINGS_MAX_GROUPS)
        max = DP_SETTINGS_MAX_GROUPS;
    const char *p = text;
    while (true) {
        int v;
        p = s_parse_uint(s_skip_space(p), &v);
        if (!p)
            return dp_err_set(err, DP_ERR_CONFIG, "\"%.*s\": " S_GROUPS_MSG, S_SHOW, text);
        for (int i = 0; i < count; i++)
            if (tmp[i] == v)
                return dp_err_set(err, DP_ERR_CONFIG, "\"%.*s\": group %d listed twice", S_SHOW,
                                  text, v);
        if (count >= max)
            return dp_err_set(err, DP_ERR_CONFIG, "\"%.*s\": at most %d groups", S_SHOW, text, max);
        tmp[count++] = v;
        p = s_skip_space(p);
        if (*p == '\0')
            break;
        if (*p != ',')
            return dp_err_set(err, DP_ERR_CONFIG, "\"%.*s\": " S_GROUPS_MSG, S_SHOW, text);
        p++;
    }
    memcpy(groups, tmp, (size_t)count * sizeof tmp[0]);
    *n = count;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_settings_parse_bool(const char *text, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    if (!text)
        return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

//  --------------------------------------------------------------------------
int dp_settings_apply(dp_settings_t *s, const char *name, const char *value, dp_err_t *err)
{
    if (!name || !s_is_known(name))
        return dp_err_set(err, DP_ERR_CONFIG,
                          "unknown setting \"%.*s\" (known: distributed_poller, "
                          "distributed_poller_group, default_poller_group, distributed_billing)",
                          S_SHOW, name ? name : "");
    if (!value)
        value = "";
    if (strcmp(name, DP_SETTING_DISTRIBUTED_POLLER) == 0 ||
        strcmp(name, DP_SETTING_DISTRIBUTED_BILLING) == 0) {
        bool b;
        if (dp_settings_parse_bool(value, &b) != 0)
            return dp_err_set(err, DP_ERR_CONFIG,
                              "settings.%s=\"%.*s\": expected true or false (1/0, yes/no, on/off)",
                              name, S_SHOW, value);
        if (strcmp(name, DP_SETTING_DISTRIBUTED_POLLER) == 0)
            s->distributed_poller = b;
        else
            s->distributed_billing = b;
        return 0;
    }
    if (strcmp(name, DP_SETTING_DEFAULT_POLLER_GROUP) == 0) {
        int v;
        const char *end = s_parse_uint(s_skip_space(value), &v);
        if (!end || *s_skip_space(end) != '\0')
            return dp_err_set(err, DP_ERR_CONFIG,
                              "settings.%s=\"%.*s\": expected one group number (0 or more)", name,
                              S_SHOW, value);
        s->default_poller_group = v;
        return 0;
    }
    dp_err_t e;
    dp_err_clear(&e);
    int groups[DP_SETTINGS_MAX_GROUPS], n;
    if (dp_settings_parse_groups(value, groups, DP_SETTINGS_MAX_GROUPS, &n, &e) != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "settings.%s=%s", name, e.text);
    memcpy(s->groups, groups, (size_t)n * sizeof groups[0]);
    s->ngroups = n;
    return 0;
}

//  Applies the node's poller_groups override, if the node has one.
static int s_load_node(dp_db_t *db, const char *node_id, dp_settings_t *s, dp_err_t *err)
{
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_NODE_GRPS, DP_DB_IDEMPOTENT, err);
    if (!st || dp_db_query(st, err, "s", node_id) != 0)
        return -1;
    char value[S_VALUE_MAX + 1] = "";
    bool set = false;
    if (dp_db_fetch(st) == 1 && !dp_db_col_is_null(st, 0)) {
        snprintf(value, sizeof value, "%s", dp_db_col_str(st, 0));
        set = true;
    }
    while (dp_db_fetch(st) == 1)
        ;
    if (!set)
        return 0;
    dp_err_t e;
    dp_err_clear(&e);
    int groups[DP_SETTINGS_MAX_GROUPS], n;
    if (dp_settings_parse_groups(value, groups, DP_SETTINGS_MAX_GROUPS, &n, &e) != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "nodes[%.*s].poller_groups=%s", S_SHOW, node_id,
                          e.text);
    if (n > 0) {
        memcpy(s->groups, groups, (size_t)n * sizeof groups[0]);
        s->ngroups = n;
    }
    return 0;
}

//  --------------------------------------------------------------------------
int dp_settings_load(dp_db_t *db, const char *node_id, dp_settings_t *out, dp_err_t *err)
{
    dp_settings_t s;
    dp_settings_defaults(&s);
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_SETTINGS, DP_DB_IDEMPOTENT, err);
    if (!st || dp_db_query(st, err, NULL) != 0)
        return -1;
    int rc, bad = 0;
    while ((rc = dp_db_fetch(st)) == 1) {
        const char *name = dp_db_col_str(st, 0);
        if (!bad && name && s_is_known(name) &&
            dp_settings_apply(&s, name, dp_db_col_str(st, 1), err) != 0)
            bad = 1; /* keep fetching so the result is drained; err holds the first */
    }
    if (rc < 0)
        return dp_err_set(err, DP_ERR_DB, "reading settings failed");
    if (bad)
        return -1;
    if (node_id && s_load_node(db, node_id, &s, err) != 0)
        return -1;
    if (s.ngroups == 0) {
        s.groups[0] = s.default_poller_group;
        s.ngroups = 1;
    }
    *out = s;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_settings_set(dp_db_t *db, const char *name, const char *value, dp_err_t *err)
{
    char norm[S_VALUE_MAX + 1];
    if (s_normalise(name, value, norm, sizeof norm, err) != 0)
        return -1;
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_SET, DP_DB_IDEMPOTENT, err);
    if (!st)
        return -1;
    return dp_db_exec(st, err, "ss", name, norm);
}

//  --------------------------------------------------------------------------
int dp_settings_set_node_groups(dp_db_t *db, const char *node_id, const char *value, dp_err_t *err)
{
    if (!node_id || !*node_id)
        return dp_err_set(err, DP_ERR_CONFIG, "node id is empty");
    char norm[S_VALUE_MAX + 1];
    const char *stored = NULL;
    if (value && *s_skip_space(value)) {
        dp_err_t e;
        dp_err_clear(&e);
        int groups[DP_SETTINGS_MAX_GROUPS], n;
        if (dp_settings_parse_groups(value, groups, DP_SETTINGS_MAX_GROUPS, &n, &e) != 0)
            return dp_err_set(err, DP_ERR_CONFIG, "nodes[%.*s].poller_groups=%s", S_SHOW, node_id,
                              e.text);
        s_join_groups(groups, n, norm, sizeof norm);
        stored = norm;
    }
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_SET_NODE_GRPS, DP_DB_IDEMPOTENT, err);
    if (!st)
        return -1;
    return dp_db_exec(st, err, "ss", node_id, stored);
}

//  Reads the epoch of name into *epoch (0 when missing).
static int s_epoch_get(dp_db_t *db, const char *name, uint64_t *epoch, dp_err_t *err)
{
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_EPOCH_GET, DP_DB_IDEMPOTENT, err);
    if (!st || dp_db_query(st, err, "s", name) != 0)
        return -1;
    *epoch = dp_db_fetch(st) == 1 ? dp_db_col_uint(st, 0) : 0;
    while (dp_db_fetch(st) == 1)
        ;
    return 0;
}

//  One bump transaction: upsert +1, read back, commit.
static int s_epoch_bump_once(dp_db_t *db, dp_db_stmt_t *st, const char *name, const char *node_id,
                             uint64_t *epoch, dp_err_t *err)
{
    if (dp_db_begin(db, err) != 0)
        return -1;
    uint64_t v = 0;
    int rc = dp_db_exec(st, err, "ss", name, node_id);
    if (rc == 0)
        rc = s_epoch_get(db, name, &v, err);
    if (rc == 0 && v == 0)
        rc = dp_err_set(err, DP_ERR_DB, "epoch '%s' not readable after bump", name);
    if (rc != 0) {
        dp_db_rollback(db, NULL);
        return -1;
    }
    if (dp_db_commit(db, err) != 0)
        return -1;
    *epoch = v;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_epoch_bump(dp_db_t *db, const char *name, const char *node_id, uint64_t *epoch,
                  dp_err_t *err)
{
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_EPOCH_BUMP, 0, err);
    if (!st)
        return -1;
    /* Racing first inserts of one row can deadlock; InnoDB rolls one back: run it again. */
    for (int attempt = 1;; attempt++) {
        if (s_epoch_bump_once(db, st, name, node_id, epoch, err) == 0)
            return 0;
        unsigned e = dp_db_last_errno(db);
        if (attempt >= S_DEADLOCK_TRIES || (e != ER_LOCK_DEADLOCK && e != ER_LOCK_WAIT_TIMEOUT))
            return -1;
    }
}

//  --------------------------------------------------------------------------
int dp_epoch_current(dp_db_t *db, const char *name, uint64_t *epoch, dp_err_t *err)
{
    return s_epoch_get(db, name, epoch, err);
}

//  --------------------------------------------------------------------------
int dp_epoch_check(dp_db_t *db, const char *name, uint64_t epoch, dp_err_t *err)
{
    uint64_t current;
    if (s_epoch_get(db, name, &current, err) != 0)
        return -1;
    if (epoch < current)
        return dp_err_set(err, DP_ERR_STALE,
                          "epoch %llu of '%s' is stale: a newer leader holds epoch %llu",
                          (unsigned long long)epoch, name, (unsigned long long)current);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_node_report(dp_db_t *db, const char *node_id, const char *hostname, const char *daemon,
                   const char *version, int master, dp_err_t *err)
{
    const char *m = master < 0 ? NULL : master ? "1" : "0";
    dp_db_stmt_t *st = dp_db_cached(db, S_SQL_NODE_REPORT, DP_DB_IDEMPOTENT, err);
    if (!st || dp_db_exec(st, err, "sssss", node_id, hostname ? hostname : "",
                          version ? version : "", m, m) != 0)
        return -1;
    if (!daemon)
        return 0;
    st = dp_db_cached(db, S_SQL_STAGE_REPORT, DP_DB_IDEMPOTENT, err);
    if (!st)
        return -1;
    return dp_db_exec(st, err, "ss", node_id, daemon);
}
