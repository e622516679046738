/*  discoverer_db.c - device rows in, inventory out (see discoverer_db.h)
    SPDX-License-Identifier: MIT */
#include "discoverer_db.h"
#include "dp_ifmib.h"
#include "dp_conn.h"
#include "dp_db.h"
#include "dp_log.h"

#include <inttypes.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ATTEMPTS  3  /* a transaction that deadlocks is tried this often */
#define S_NUM_MAX   24 /* a 64-bit number as text */
#define S_JSON_ITEM 16 /* bytes per index in a JSON list */

struct discoverer_db {
    dp_db_t *db;
    discoverer_known_t *known; /* ports rows of the device */
    bool *gone;
    int cap_known;
    char *json; /* index lists */
    size_t cap_json;
};

static const char *s_sql_device = "SELECT " DP_DEVICE_COLUMNS " FROM devices WHERE device_id = ?";
static const char *s_sql_dev_up =
    "UPDATE devices SET status = 1, status_reason = '', sysName = COALESCE(?, sysName),"
    " sysDescr = COALESCE(?, sysDescr), sysObjectID = COALESCE(?, sysObjectID),"
    " sysContact = COALESCE(?, sysContact), sysLocation = COALESCE(?, sysLocation), os = ?,"
    " uptime = IF(? >= 0, ?, uptime), last_discovered = ?, last_discovered_timetaken = ?,"
    " discovery_error = ? WHERE device_id = ? AND poll_epoch <= ?";
static const char *s_sql_dev_down =
    "UPDATE devices SET status = 0, status_reason = ?, last_discovered = ?,"
    " last_discovered_timetaken = ?, discovery_error = ? WHERE device_id = ? AND poll_epoch <= ?";
static const char *s_sql_ports_known =
    "SELECT ifIndex, port_id, deleted FROM ports WHERE device_id = ? ORDER BY ifIndex";
static const char *s_sql_port_upsert =
    "INSERT INTO ports (device_id, ifIndex, ifName, ifDescr, ifAlias, ifType, ifSpeed, ifMtu,"
    " ifPhysAddress, ifHC, ifAdminStatus, ifOperStatus, deleted)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON DUPLICATE KEY UPDATE"
    " ifName = VALUES(ifName), ifDescr = VALUES(ifDescr), ifAlias = VALUES(ifAlias),"
    " ifType = VALUES(ifType), ifSpeed = VALUES(ifSpeed), ifMtu = VALUES(ifMtu),"
    " ifPhysAddress = VALUES(ifPhysAddress), ifHC = VALUES(ifHC), deleted = 0";
static const char *s_sql_port_gone = "UPDATE ports SET deleted = 1 WHERE port_id = ?";
static const char *s_sql_proc_upsert =
    "INSERT INTO processors (device_id, hrDeviceIndex, processor_index, processor_type,"
    " processor_descr, deleted) VALUES (?, ?, ?, 'hr', ?, 0) ON DUPLICATE KEY UPDATE"
    " hrDeviceIndex = VALUES(hrDeviceIndex), processor_descr = VALUES(processor_descr),"
    " deleted = 0";
static const char *s_sql_proc_gone =
    "UPDATE processors SET deleted = 1 WHERE device_id = ? AND processor_type = 'hr'"
    " AND deleted = 0 AND NOT JSON_CONTAINS(?, JSON_QUOTE(processor_index))";
static const char *s_sql_stor_upsert =
    "INSERT INTO storage (device_id, storage_mib, storage_index, storage_type, storage_descr,"
    " storage_units, storage_size, storage_used, storage_free, storage_perc, deleted)"
    " VALUES (?, 'hrstorage', ?, ?, ?, ?, ?, ?, ?, ?, 0) ON DUPLICATE KEY UPDATE"
    " storage_type = VALUES(storage_type), storage_descr = VALUES(storage_descr),"
    " storage_units = VALUES(storage_units), storage_size = VALUES(storage_size),"
    " storage_used = COALESCE(storage_used, VALUES(storage_used)),"
    " storage_free = COALESCE(storage_free, VALUES(storage_free)),"
    " storage_perc = COALESCE(storage_perc, VALUES(storage_perc)), deleted = 0";
static const char *s_sql_stor_gone =
    "UPDATE storage SET deleted = 1 WHERE device_id = ? AND storage_mib = 'hrstorage'"
    " AND deleted = 0 AND NOT JSON_CONTAINS(?, CAST(storage_index AS CHAR))";

//  --------------------------------------------------------------------------
discoverer_db_t *discoverer_db_new(const dp_cfg_t *cfg, dp_err_t *err)
{
    dp_db_opts_t o;
    dp_conn_db_opts(cfg, &o);
    discoverer_db_t *db = calloc(1, sizeof *db);
    if (!db)
        abort();
    db->db = dp_db_new(&o);
    if (!db->db) {
        free(db);
        dp_err_set(err, DP_ERR_CONFIG, "bad MariaDB options");
        return NULL;
    }
    return db;
}

//  --------------------------------------------------------------------------
void discoverer_db_destroy(discoverer_db_t **p)
{
    if (!p || !*p)
        return;
    discoverer_db_t *db = *p;
    dp_db_destroy(&db->db);
    free(db->known);
    free(db->gone);
    free(db->json);
    free(db);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void discoverer_device_clear(discoverer_device_t *d)
{
    dp_device_clear(&d->row);
    d->key_error[0] = '\0';
}

//  --------------------------------------------------------------------------
int discoverer_db_load_device(discoverer_db_t *db, uint64_t id, discoverer_device_t *out,
                              dp_err_t *err)
{
    dp_db_stmt_t *q = dp_db_cached(db->db, s_sql_device, DP_DB_IDEMPOTENT, err);
    if (!q || dp_db_query(q, err, "u", id) != 0)
        return -1;
    dp_err_t kerr = {0};
    int found = dp_device_fetch(q, &out->row, &kerr);
    snprintf(out->key_error, sizeof out->key_error, "%s", found ? kerr.text : "");
    return found;
}

//  --------------------------------------------------------------------------
//  Writing

//  Prepared statement or NULL (err set).
static dp_db_stmt_t *s_st(discoverer_db_t *db, const char *sql, dp_err_t *err)
{
    return dp_db_cached(db->db, sql, 0, err);
}

static const char *s_opt(const char *s, bool have)
{
    return have ? s : NULL;
}

static int s_write_device(discoverer_db_t *db, discoverer_result_t *r, dp_err_t *err)
{
    dp_db_stmt_t *s;
    int rc;
    if (r->reachable) {
        const discoverer_inv_t *inv = r->inv;
        int64_t up_s = (inv->have_sys & 4) ? (int64_t)(inv->uptime_cs / 100) : -1;
        s = s_st(db, s_sql_dev_up, err);
        rc = s ? dp_db_exec(s, err, "ssssssiitdsuu", s_opt(inv->sys_name, inv->have_sys & 16),
                            s_opt(inv->sys_descr, inv->have_sys & 1),
                            s_opt(inv->sys_object_id, inv->have_sys & 2),
                            s_opt(inv->sys_contact, inv->have_sys & 8),
                            s_opt(inv->sys_location, inv->have_sys & 32), r->os, up_s, up_s,
                            r->at_ms, r->took_s, r->error, r->device_id, r->epoch)
               : -1;
    } else {
        char reason[DISCOVERER_REASON_MAX + 1];
        snprintf(reason, sizeof reason, "%s", r->reason ? r->reason : "snmp");
        s = s_st(db, s_sql_dev_down, err);
        rc = s ? dp_db_exec(s, err, "stdsuu", reason, r->at_ms, r->took_s, r->error, r->device_id,
                            r->epoch)
               : -1;
    }
    if (rc != 0)
        return -1;
    r->stale = dp_db_affected(s) == 0;
    return 0;
}

static int s_load_known(discoverer_db_t *db, uint64_t device_id, int *n, dp_err_t *err)
{
    dp_db_stmt_t *q = s_st(db, s_sql_ports_known, err);
    if (!q || dp_db_query(q, err, "u", device_id) != 0)
        return -1;
    *n = 0;
    int rc;
    while ((rc = dp_db_fetch(q)) == 1) {
        if (*n == db->cap_known) {
            int c = db->cap_known ? db->cap_known * 2 : 256;
            db->known = realloc(db->known, (size_t)c * sizeof *db->known);
            db->gone = realloc(db->gone, (size_t)c * sizeof *db->gone);
            if (!db->known || !db->gone)
                abort();
            db->cap_known = c;
        }
        db->known[(*n)++] =
            (discoverer_known_t){(uint32_t)dp_db_col_uint(q, 0), (uint32_t)dp_db_col_uint(q, 1),
                                 dp_db_col_int(q, 2) != 0};
    }
    return rc < 0 ? dp_err_set(err, DP_ERR_DB, "reading ports failed") : 0;
}

//  Formats v as text into buf, or NULL when !have (a NULL column).
static const char *s_num(char *buf, uint64_t v, bool have)
{
    if (!have)
        return NULL;
    snprintf(buf, S_NUM_MAX, "%" PRIu64, v);
    return buf;
}

static int s_write_ports(discoverer_db_t *db, discoverer_result_t *r, dp_err_t *err)
{
    const discoverer_inv_t *inv = r->inv;
    int nknown = 0;
    if (s_load_known(db, r->device_id, &nknown, err) != 0)
        return -1;
    bool dummy;
    discoverer_ports_diff(db->known, nknown, inv->ports, inv->nports, db->gone ? db->gone : &dummy,
                          &r->diff);
    dp_db_stmt_t *up = s_st(db, s_sql_port_upsert, err);
    if (!up)
        return -1;
    for (int i = 0; i < inv->nports; i++) {
        const discoverer_port_t *p = &inv->ports[i];
        char tbuf[S_NUM_MAX], sbuf[S_NUM_MAX], mbuf[S_NUM_MAX];
        uint64_t speed = discoverer_port_speed(p);
        const char *type = (p->have & DISCOVERER_HAVE_TYPE)
                               ? dp_ifmib_type_name(p->if_type, tbuf, sizeof tbuf)
                               : NULL;
        if (dp_db_exec(up, err, "uisssssssiss", r->device_id, (int64_t)p->if_index,
                       s_opt(p->name, p->have & DISCOVERER_HAVE_NAME),
                       s_opt(p->descr, p->have & DISCOVERER_HAVE_DESCR),
                       s_opt(p->alias, p->have & DISCOVERER_HAVE_ALIAS), type,
                       s_num(sbuf, speed, p->have & (DISCOVERER_HAVE_SPEED | DISCOVERER_HAVE_HIGH)),
                       s_num(mbuf, p->mtu, p->have & DISCOVERER_HAVE_MTU),
                       (p->have & DISCOVERER_HAVE_MAC) && p->mac[0] ? p->mac : NULL,
                       (int64_t)p->hc_mask, dp_ifmib_status_name(p->admin),
                       dp_ifmib_status_name(p->oper)) != 0)
            return -1;
    }
    dp_db_stmt_t *gone = s_st(db, s_sql_port_gone, err);
    if (!gone)
        return -1;
    for (int i = 0; i < nknown; i++)
        if (db->gone[i] && dp_db_exec(gone, err, "u", (uint64_t)db->known[i].port_id) != 0)
            return -1;
    return 0;
}

//  Builds a JSON array of the indexes (as strings when quoted) in db->json.
static const char *s_json_list(discoverer_db_t *db, const uint32_t *idx, size_t stride, int n,
                               bool quoted)
{
    size_t need = (size_t)n * S_JSON_ITEM + 3;
    if (need > db->cap_json) {
        db->json = realloc(db->json, need);
        if (!db->json)
            abort();
        db->cap_json = need;
    }
    size_t len = 0;
    db->json[len++] = '[';
    for (int i = 0; i < n; i++) {
        uint32_t v = *(const uint32_t *)((const char *)idx + (size_t)i * stride);
        len += (size_t)snprintf(db->json + len, db->cap_json - len, quoted ? "%s\"%u\"" : "%s%u",
                                i ? "," : "", v);
    }
    db->json[len++] = ']';
    db->json[len] = '\0';
    return db->json;
}

static const char *s_proc_descr(const discoverer_inv_t *inv, uint32_t index)
{
    for (int i = 0; i < inv->ndevs; i++)
        if (inv->devs[i].index == index && inv->devs[i].descr[0])
            return inv->devs[i].descr;
    return "Processor";
}

static int s_write_host(discoverer_db_t *db, discoverer_result_t *r, dp_err_t *err)
{
    const discoverer_inv_t *inv = r->inv;
    dp_db_stmt_t *s = s_st(db, s_sql_proc_upsert, err);
    if (!s)
        return -1;
    for (int i = 0; i < inv->nprocs; i++) {
        char idx[S_NUM_MAX];
        const discoverer_proc_t *p = &inv->procs[i];
        snprintf(idx, sizeof idx, "%u", p->index);
        if (dp_db_exec(s, err, "uiss", r->device_id, (int64_t)p->index, idx,
                       s_proc_descr(inv, p->index)) != 0)
            return -1;
    }
    r->procs = inv->nprocs;
    s = s_st(db, s_sql_proc_gone, err);
    if (!s || dp_db_exec(s, err, "us", r->device_id,
                         s_json_list(db, inv->nprocs ? &inv->procs[0].index : NULL,
                                     sizeof *inv->procs, inv->nprocs, true)) != 0)
        return -1;
    s = s_st(db, s_sql_stor_upsert, err);
    if (!s)
        return -1;
    r->storage = 0;
    for (int i = 0; i < inv->nstor; i++) {
        const discoverer_stor_t *t = &inv->stor[i];
        uint64_t units = (t->have & 2) && t->units ? t->units : 1;
        uint64_t size = t->size * units, used = t->used * units;
        double perc = size ? 100.0 * (double)used / (double)size : 0;
        if (dp_db_exec(s, err, "uissiuuud", r->device_id, (int64_t)t->index,
                       dp_ifmib_storage_type_name(t->type), t->descr, (int64_t)units, size, used,
                       size > used ? size - used : 0, perc) != 0)
            return -1;
        r->storage++;
    }
    s = s_st(db, s_sql_stor_gone, err);
    if (!s || dp_db_exec(s, err, "us", r->device_id,
                         s_json_list(db, inv->nstor ? &inv->stor[0].index : NULL, sizeof *inv->stor,
                                     inv->nstor, false)) != 0)
        return -1;
    return 0;
}

static int s_write_once(discoverer_db_t *db, discoverer_result_t *r, dp_err_t *err)
{
    if (dp_db_begin(db->db, err) != 0)
        return -1;
    int rc = s_write_device(db, r, err);
    if (rc == 0 && r->stale) {
        dp_db_rollback(db->db, NULL);
        return 0;
    }
    if (rc == 0 && r->reachable && r->ports_ok)
        rc = s_write_ports(db, r, err);
    if (rc == 0 && r->reachable && r->host_ok)
        rc = s_write_host(db, r, err);
    if (rc == 0)
        rc = dp_db_commit(db->db, err);
    else
        dp_db_rollback(db->db, NULL);
    return rc;
}

//  --------------------------------------------------------------------------
int discoverer_db_write(discoverer_db_t *db, discoverer_result_t *r, dp_err_t *err)
{
    for (int attempt = 1;; attempt++) {
        r->stale = false;
        memset(&r->diff, 0, sizeof r->diff);
        r->procs = r->storage = 0;
        dp_err_t e = {0};
        if (s_write_once(db, r, &e) == 0)
            return 0;
        unsigned no = dp_db_last_errno(db->db);
        bool retry = no == ER_LOCK_DEADLOCK || no == ER_LOCK_WAIT_TIMEOUT;
        if (!retry || attempt >= S_ATTEMPTS) {
            if (err)
                *err = e;
            return -1;
        }
        dp_log_info("discovery write retried", "device_id=%" PRIu64 " attempt=%d err=\"%s\"",
                    r->device_id, attempt, e.text);
    }
}
