/*  poller_db_stage.c - a batch's ports, processors and storage rows through stage tables
    MariaDB runs INSERT ... ON DUPLICATE KEY UPDATE of an existing row as a failed insert (for
    processors and storage: an insert into the clustered index, rolled back when the unique key
    clashes, burning an AUTO_INCREMENT value), a read of the clashing row, then the update; and
    an array-bound UPDATE is executed as one whole statement per row. So the rows go to a
    per-connection MEMORY table (one array-bound INSERT, cheap: no undo, no redo), then one
    UPDATE ... JOIN per table updates every existing row. When that UPDATE finds fewer rows than
    were staged (a row the batch believed present is gone, or a processor or storage row is
    new) an INSERT ... SELECT from the stage adds the missing rows with the same values the old
    upsert wrote (INSERT IGNORE for ports: rows the UPDATE changed are left alone; an idempotent
    upsert for processors and storage). Assignments keep the upsert's order: every _prev column
    is assigned before its column, so it takes the stored value whether MariaDB evaluates the
    SET list left to right or simultaneously (multi-table updates may buffer rows).
    The stage tables are TEMPORARY: created once per connection (dp_db_reconnects tells a new
    one; statements prepared before they existed are re-prepared at their next use), emptied
    before each use (MEMORY is not transactional: a rolled-back batch leaves its rows), columns
    copied from the real table (CREATE ... SELECT ... LIMIT 0: same types and collations, so
    the join uses the real table's keys). Chunks of POLLER_DB_STAGE_ROWS keep each stage well
    below max_heap_table_size (16 MB by default).
    SPDX-License-Identifier: MIT */
#include "poller_db_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} s_text_t;

static void s_cat(s_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_cat(s_text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->oom)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static char *s_done(s_text_t *t)
{
    if (t->oom) {
        free(t->p);
        return NULL;
    }
    return t->p;
}

/* ---- processors and storage: fixed SQL ---- */

#define S_PROCS "dp_poller_stage_procs"
#define S_STOR  "dp_poller_stage_storage"

static const char *const s_procs_sql[] = {
    "CREATE TEMPORARY TABLE IF NOT EXISTS " S_PROCS " ENGINE=MEMORY SELECT device_id,"
    " hrDeviceIndex, processor_index, processor_usage FROM processors LIMIT 0",
    "DELETE FROM " S_PROCS,
    "INSERT INTO " S_PROCS " (device_id, hrDeviceIndex, processor_index, processor_usage)"
    " VALUES (?, ?, ?, ?)",
    "uusi",
    "UPDATE processors p JOIN " S_PROCS " s ON p.device_id = s.device_id AND p.processor_type ="
    " 'hr' AND p.processor_index = s.processor_index SET p.processor_usage = s.processor_usage,"
    " p.updated_at = UTC_TIMESTAMP(3), p.deleted = 0",
    "INSERT INTO processors (device_id, hrDeviceIndex, processor_index, processor_type,"
    " processor_descr, processor_usage, updated_at, deleted) SELECT device_id, hrDeviceIndex,"
    " processor_index, 'hr', 'Processor', processor_usage, UTC_TIMESTAMP(3), 0 FROM " S_PROCS
    " ON DUPLICATE KEY UPDATE processor_usage = VALUES(processor_usage),"
    " updated_at = VALUES(updated_at), deleted = 0",
};

static const char *const s_stor_sql[] = {
    "CREATE TEMPORARY TABLE IF NOT EXISTS " S_STOR " ENGINE=MEMORY SELECT device_id,"
    " storage_index, storage_type, storage_units, storage_size, storage_used, storage_free,"
    " storage_perc FROM storage LIMIT 0",
    "DELETE FROM " S_STOR,
    "INSERT INTO " S_STOR " (device_id, storage_index, storage_type, storage_units,"
    " storage_size, storage_used, storage_free, storage_perc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "uusuuuud",
    "UPDATE storage p JOIN " S_STOR " s ON p.device_id = s.device_id AND p.storage_mib ="
    " 'hrstorage' AND p.storage_index = s.storage_index SET p.storage_type = s.storage_type,"
    " p.storage_units = s.storage_units, p.storage_size = s.storage_size,"
    " p.storage_used = s.storage_used, p.storage_free = s.storage_free,"
    " p.storage_perc = s.storage_perc, p.updated_at = UTC_TIMESTAMP(3), p.deleted = 0",
    "INSERT INTO storage (device_id, storage_mib, storage_index, storage_type, storage_units,"
    " storage_size, storage_used, storage_free, storage_perc, updated_at, deleted)"
    " SELECT device_id, 'hrstorage', storage_index, storage_type, storage_units, storage_size,"
    " storage_used, storage_free, storage_perc, UTC_TIMESTAMP(3), 0 FROM " S_STOR
    " ON DUPLICATE KEY UPDATE storage_type = VALUES(storage_type),"
    " storage_units = VALUES(storage_units), storage_size = VALUES(storage_size),"
    " storage_used = VALUES(storage_used), storage_free = VALUES(storage_free),"
    " storage_perc = VALUES(storage_perc), updated_at = VALUES(updated_at), deleted = 0",
};

/* ---- ports: built from the counter table ---- */

#define S_PORTS "dp_poller_stage_ports"

//  Column list and types of a ports stage row (the order poller_db.c adds values in).
static void s_port_cols(s_text_t *cols, char *types, size_t size)
{
    static const char *const head[] = {"port_id", "device_id",     "ifIndex",
                                       "ifSpeed", "ifAdminStatus", "ifOperStatus",
                                       "ifHC",    "poll_time",     "poll_period"};
    int nt = snprintf(types, size, "uuuussutd");
    for (int i = 0; i < 9; i++)
        s_cat(cols, "%s%s", i ? "," : "", head[i]);
    for (int c = 0; c < POLLER_CTR_COUNT; c++) {
        const char *n = poller_ctr_column(c);
        bool main = c < POLLER_CTR_MAIN;
        if (main)
            s_cat(cols, ",%s,%s_delta,%s_rate", n, n, n);
        else
            s_cat(cols, ",%s,%s_rate", n, n);
        nt += snprintf(types + nt, size - (size_t)nt, main ? "uud" : "ud");
    }
}

//  The UPDATE: each _prev before its column (the old upsert's assignments, same order).
static void s_port_update(s_text_t *u)
{
    s_cat(u, "UPDATE ports p JOIN " S_PORTS " s ON p.port_id = s.port_id SET"
             " p.ifSpeed_prev=IF(p.ifSpeed<=>s.ifSpeed,p.ifSpeed_prev,p.ifSpeed),"
             "p.ifSpeed=s.ifSpeed,p.ifAdminStatus_prev=IF(p.ifAdminStatus<=>s.ifAdminStatus,"
             "p.ifAdminStatus_prev,p.ifAdminStatus),p.ifAdminStatus=s.ifAdminStatus,"
             "p.ifOperStatus_prev=IF(p.ifOperStatus<=>s.ifOperStatus,p.ifOperStatus_prev,"
             "p.ifOperStatus),p.ifOperStatus=s.ifOperStatus,p.ifHC=s.ifHC,"
             "p.poll_prev=p.poll_time,p.poll_time=s.poll_time,p.poll_period=s.poll_period");
    for (int c = 0; c < POLLER_CTR_COUNT; c++) {
        const char *n = poller_ctr_column(c);
        if (c < POLLER_CTR_MAIN)
            s_cat(u, ",p.%s_prev=p.%s,p.%s=s.%s,p.%s_delta=s.%s_delta,p.%s_rate=s.%s_rate", n, n, n,
                  n, n, n, n, n);
        else
            s_cat(u, ",p.%s=s.%s,p.%s_rate=s.%s_rate", n, n, n, n);
    }
}

static int s_build_ports(poller_stage_t *st)
{
    s_text_t cols = {0}, mk = {0}, ins = {0}, upd = {0}, fb = {0};
    char types[3 * POLLER_CTR_COUNT + 16];
    s_port_cols(&cols, types, sizeof types);
    const char *c = cols.oom ? "" : cols.p;
    s_cat(&mk,
          "CREATE TEMPORARY TABLE IF NOT EXISTS " S_PORTS " ENGINE=MEMORY SELECT %s"
          " FROM ports LIMIT 0",
          c);
    s_cat(&ins, "INSERT INTO " S_PORTS " (%s) VALUES (", c);
    for (size_t i = 0; i < strlen(types); i++)
        s_cat(&ins, "%s?", i ? "," : "");
    s_cat(&ins, ")");
    s_port_update(&upd);
    s_cat(&fb, "INSERT IGNORE INTO ports (%s) SELECT %s FROM " S_PORTS, c, c);
    st->sql[POLLER_STAGE_CREATE] = s_done(&mk);
    st->sql[POLLER_STAGE_DELETE] = strdup("DELETE FROM " S_PORTS);
    st->sql[POLLER_STAGE_INSERT] = s_done(&ins);
    st->sql[POLLER_STAGE_TYPES] = strdup(types);
    st->sql[POLLER_STAGE_UPDATE] = s_done(&upd);
    st->sql[POLLER_STAGE_FALLBACK] = s_done(&fb);
    free(cols.p);
    return cols.oom ? -1 : 0;
}

//  --------------------------------------------------------------------------
int poller_db_stage_init(poller_db_t *db)
{
    if (s_build_ports(&db->stage[POLLER_STAGE_PORTS]) != 0)
        return -1;
    for (int k = 0; k < POLLER_STAGE_SQLS; k++) {
        db->stage[POLLER_STAGE_PROCS].sql[k] = strdup(s_procs_sql[k]);
        db->stage[POLLER_STAGE_STORAGE].sql[k] = strdup(s_stor_sql[k]);
    }
    for (int id = 0; id < POLLER_STAGE_COUNT; id++)
        for (int k = 0; k < POLLER_STAGE_SQLS; k++)
            if (!db->stage[id].sql[k])
                return -1;
    return 0;
}

void poller_db_stage_free(poller_db_t *db)
{
    for (int id = 0; id < POLLER_STAGE_COUNT; id++)
        for (int k = 0; k < POLLER_STAGE_SQLS; k++) {
            free(db->stage[id].sql[k]);
            db->stage[id].sql[k] = NULL;
        }
}

//  The connection's stage tables exist (created after every connect).
static int s_ready(poller_db_t *db, dp_err_t *err)
{
    uint64_t gen = dp_db_reconnects(db->db) + 1;
    if (db->stage_gen == gen)
        return 0;
    for (int id = 0; id < POLLER_STAGE_COUNT; id++)
        if (dp_db_exec_sql(db->db, db->stage[id].sql[POLLER_STAGE_CREATE], err) != 0)
            return -1;
    db->stage_gen = gen;
    return 0;
}

static int s_exec(poller_db_t *db, const char *sql, int64_t *found, dp_err_t *err)
{
    dp_db_stmt_t *s = dp_db_cached(db->db, sql, 0, err);
    if (!s || dp_db_exec(s, err, "") != 0)
        return -1;
    if (found)
        *found = dp_db_affected(s);
    return 0;
}

//  --------------------------------------------------------------------------
dp_db_bulk_t *poller_db_stage_rows(poller_db_t *db, poller_stage_id_t id, dp_err_t *err)
{
    poller_stage_t *st = &db->stage[id];
    if (s_ready(db, err) != 0 || s_exec(db, st->sql[POLLER_STAGE_DELETE], NULL, err) != 0)
        return NULL;
    if (!st->bulk)
        st->bulk = dp_db_bulk_new(db->db, st->sql[POLLER_STAGE_INSERT], st->sql[POLLER_STAGE_TYPES],
                                  0, err);
    return st->bulk;
}

//  --------------------------------------------------------------------------
int poller_db_stage_apply(poller_db_t *db, poller_stage_id_t id, dp_err_t *err)
{
    poller_stage_t *st = &db->stage[id];
    int rows = dp_db_bulk_rows(st->bulk);
    int64_t found = 0;
    if (rows == 0)
        return 0;
    if (dp_db_bulk_exec(st->bulk, err) != 0 ||
        s_exec(db, st->sql[POLLER_STAGE_UPDATE], &found, err) != 0)
        return -1;
    if (found >= rows)
        return 0;
    return s_exec(db, st->sql[POLLER_STAGE_FALLBACK], NULL, err);
}
