/*  scheduler_store.c - the scheduler's MariaDB side: device and bill tables, node reports
    SPDX-License-Identifier: MIT */
#include "scheduler_store.h"
#include "dp_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_VERSION  "distpoll-scheduler 0.1"
#define S_HOST_MAX 256

#define S_SQL_DEVICES                                                                              \
    "SELECT device_id, hostname, poller_group, disabled, last_polled, last_discovered"             \
    " FROM devices"
/* one row per (bill, poller group of its billed ports); group NULL: no billable port */
#define S_SQL_BILLS                                                                                \
    "SELECT b.bill_id, b.bill_name, g.grp FROM bills b LEFT JOIN (SELECT DISTINCT bp.bill_id,"     \
    " d.poller_group AS grp FROM bill_ports bp JOIN ports p ON p.port_id = bp.port_id"             \
    " JOIN devices d ON d.device_id = p.device_id WHERE p.deleted = 0 AND d.disabled = 0) g"       \
    " ON g.bill_id = b.bill_id"
#define S_BILL_GROUP_BITS 20 /* bill plan key = bill_id << 20 | group */
#define S_SQL_STATS                                                                                \
    "INSERT INTO node_stats (node_id, stage, depth, devices, worker_seconds, workers, frequency,"  \
    " last_report) VALUES (?, ?, ?, ?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE"                   \
    " depth = VALUES(depth), devices = VALUES(devices), worker_seconds = VALUES(worker_seconds),"  \
    " workers = VALUES(workers), frequency = VALUES(frequency), last_report = VALUES(last_report)"

struct scheduler_store {
    dp_db_t *db;           /* borrowed */
    char *node;            /* NODE_ID */
    char host[S_HOST_MAX]; /* poller_name */
};

static int64_t s_clamp_u(int64_t v)
{
    return v < 0 ? 0 : v > 4294967295LL ? 4294967295LL : v;
}

//  --------------------------------------------------------------------------
scheduler_store_t *scheduler_store_new(dp_db_t *db, const char *node_id)
{
    scheduler_store_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->db = db;
    s->node = strdup(node_id);
    if (gethostname(s->host, sizeof s->host - 1) != 0)
        snprintf(s->host, sizeof s->host, "%s", node_id);
    return s;
}

//  --------------------------------------------------------------------------
void scheduler_store_destroy(scheduler_store_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->node);
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int scheduler_store_load_devices(scheduler_store_t *s, scheduler_plan_t *poll,
                                 scheduler_plan_t *discover, int64_t now_s, dp_err_t *err)
{
    dp_db_stmt_t *q = dp_db_cached(s->db, S_SQL_DEVICES, DP_DB_IDEMPOTENT, err);
    if (!q || dp_db_query(q, err, NULL) != 0)
        return -1;
    if (poll)
        scheduler_plan_begin_load(poll);
    if (discover)
        scheduler_plan_begin_load(discover);
    int n = 0, rc;
    while ((rc = dp_db_fetch(q)) == 1) {
        uint64_t id = dp_db_col_uint(q, 0);
        const char *host = dp_db_col_str(q, 1);
        int group = (int)dp_db_col_int(q, 2);
        bool enabled = dp_db_col_int(q, 3) == 0;
        int64_t polled =
            dp_db_col_is_null(q, 4) ? SCHEDULER_PLAN_NONE : dp_db_col_time_ms(q, 4) / 1000;
        int64_t discovered =
            dp_db_col_is_null(q, 5) ? SCHEDULER_PLAN_NONE : dp_db_col_time_ms(q, 5) / 1000;
        if (poll)
            scheduler_plan_upsert(poll, id, host, group, enabled, polled, now_s);
        if (discover)
            scheduler_plan_upsert(discover, id, host, group, enabled, discovered, now_s);
        if (discover && discovered == SCHEDULER_PLAN_NONE && /* NULL = discover now */
            scheduler_plan_force(discover, id, now_s))
            dp_log_info("discovery requested", "device_id=%" PRIu64 " hostname=%s", id, host);
        n++;
    }
    if (rc < 0) { /* keep what was loaded, but do not switch anything off */
        dp_err_set(err, DP_ERR_DB, "reading devices failed after %d rows", n);
        return -1;
    }
    if (poll)
        scheduler_plan_end_load(poll, now_s);
    if (discover)
        scheduler_plan_end_load(discover, now_s);
    return n;
}

//  --------------------------------------------------------------------------
uint64_t scheduler_store_bill_key(uint64_t bill_id, int group)
{
    if (bill_id == 0 || bill_id >= (UINT64_C(1) << (64 - S_BILL_GROUP_BITS)) || group < 0 ||
        group >= (1 << S_BILL_GROUP_BITS))
        return 0;
    return bill_id << S_BILL_GROUP_BITS | (uint64_t)group;
}

//  --------------------------------------------------------------------------
int scheduler_store_load_bills(scheduler_store_t *s, scheduler_plan_t *plan, bool enabled,
                               int default_group, int64_t now_s, dp_err_t *err)
{
    scheduler_plan_begin_load(plan);
    if (!enabled) {
        scheduler_plan_end_load(plan, now_s);
        return 0;
    }
    dp_db_stmt_t *q = dp_db_cached(s->db, S_SQL_BILLS, DP_DB_IDEMPOTENT, err);
    if (!q || dp_db_query(q, err, NULL) != 0)
        return -1;
    int n = 0, rc;
    while ((rc = dp_db_fetch(q)) == 1) {
        uint64_t bill_id = dp_db_col_uint(q, 0);
        int group = dp_db_col_is_null(q, 2) ? default_group : (int)dp_db_col_int(q, 2);
        uint64_t key = scheduler_store_bill_key(bill_id, group);
        if (key == 0) {
            dp_log_warn("bill not scheduled: id or poller group out of range",
                        "bill_id=%" PRIu64 " group=%d", bill_id, group);
            continue;
        }
        scheduler_plan_upsert(plan, key, dp_db_col_str(q, 1), group, true, SCHEDULER_PLAN_NONE,
                              now_s);
        scheduler_target_t *t = scheduler_plan_find(plan, key);
        if (t)
            t->ref = bill_id;
        n++;
    }
    if (rc < 0)
        return dp_err_set(err, DP_ERR_DB, "reading bills failed after %d rows", n);
    scheduler_plan_end_load(plan, now_s);
    return n;
}

//  --------------------------------------------------------------------------
int scheduler_store_load_settings(scheduler_store_t *s, dp_settings_t *out, dp_err_t *err)
{
    return dp_settings_load(s->db, NULL, out, err);
}

//  --------------------------------------------------------------------------
int scheduler_store_report(scheduler_store_t *s, bool master, const scheduler_store_row_t *rows,
                           int nrows, dp_err_t *err)
{
    if (dp_node_report(s->db, s->node, s->host, "scheduler", S_VERSION, master ? 1 : 0, err) != 0)
        return -1;
    if (nrows == 0)
        return 0;
    dp_db_stmt_t *st = dp_db_cached(s->db, S_SQL_STATS, DP_DB_IDEMPOTENT, err);
    if (!st)
        return -1;
    for (int i = 0; i < nrows; i++) {
        const scheduler_store_row_t *r = &rows[i];
        if (dp_db_exec(st, err, "ssiidii", s->node, r->stage, s_clamp_u(r->depth),
                       s_clamp_u(r->devices), r->worker_seconds, s_clamp_u(r->workers),
                       s_clamp_u(r->frequency_s)) != 0)
            return -1;
    }
    return 0;
}
