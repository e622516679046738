/*  poller_db.c - device rows in, batched poll results out (see poller_db.h)
    SPDX-License-Identifier: MIT */
#include "poller_db.h"
#include "poller_db_priv.h"
#include "dp_conn.h"
#include "dp_db.h"
#include "dp_device.h"
#include "dp_ifmib.h"
#include "dp_log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef poller_db_buf_t s_buf_t;

/* Locks the batch's device rows for the transaction (the epoch fence is decided on them). */
static const char *s_sql_devices_prev =
    "SELECT device_id, uptime, last_polled, poll_epoch, sysName FROM devices WHERE device_id IN"
    " (SELECT c0 FROM JSON_TABLE(?, '$[*]' COLUMNS(c0 BIGINT UNSIGNED PATH '$')) j) FOR UPDATE";
static const char *s_sql_ports_prev =
    "SELECT device_id, ifIndex, port_id, poll_time, ifHC, ifInOctets, ifOutOctets,"
    " ifInUcastPkts, ifOutUcastPkts, ifInErrors, ifOutErrors, ifInDiscards, ifOutDiscards,"
    " ifInUnknownProtos, ifInMulticastPkts, ifOutMulticastPkts, ifInBroadcastPkts,"
    " ifOutBroadcastPkts FROM ports WHERE device_id IN"
    " (SELECT c0 FROM JSON_TABLE(?, '$[*]' COLUMNS(c0 BIGINT UNSIGNED PATH '$')) j)";
static const char *s_sql_ports_new = "INSERT IGNORE INTO ports (device_id, ifIndex) VALUES (?, ?)";
/* Text the device sent goes only through these prepared statements (one JSON parameter). */
static const char *s_sql_port_names =
    "UPDATE ports p JOIN JSON_TABLE(?, '$[*]' COLUMNS(c0 INT UNSIGNED PATH '$[0]', c1"
    " VARCHAR(255) PATH '$[1]', c2 VARCHAR(255) PATH '$[2]', c3 VARCHAR(255) PATH '$[3]', c4"
    " VARCHAR(64) PATH '$[4]')) j ON p.port_id = j.c0 SET p.ifName = COALESCE(j.c1, p.ifName),"
    " p.ifDescr = COALESCE(j.c2, p.ifDescr), p.ifAlias = COALESCE(j.c3, p.ifAlias),"
    " p.ifType = COALESCE(j.c4, p.ifType)";
//  --------------------------------------------------------------------------
//  Text helpers

static int s_reserve(char **buf, size_t *len, size_t *cap, size_t more)
{
    if (*len + more + 1 <= *cap && *buf)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < *len + more + 1)
        n *= 2;
    char *p = realloc(*buf, n);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static void s_printf(s_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_printf(s_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (!b->p || b->len + (size_t)n + 1 > b->cap) {
        if (s_reserve(&b->p, &b->len, &b->cap, (size_t)n) != 0)
            abort();
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

static void s_reset(s_buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

//  Length of the valid UTF-8 sequence at s (0 when invalid).
static int s_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2) || (n == 4 && s[0] > 0xF4))
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0; /* overlong or surrogate */
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

int poller_db_json_str(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (s_reserve(buf, len, cap, n * 6 + 2) != 0)
        return -1;
    char *o = *buf + *len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int k = s_utf8_len(p);
        if (k == 0) {
            *o++ = '?';
            p++;
        } else if (k > 1) {
            memcpy(o, p, (size_t)k);
            o += k;
            p += k;
        } else if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p++;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p++);
        } else {
            *o++ = (char)*p++;
        }
    }
    *o++ = '"';
    *o = '\0';
    *len = (size_t)(o - *buf);
    return 0;
}

char *poller_db_utf8(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int k = s_utf8_len(p);
        size_t n = k > 0 ? (size_t)k : 1;
        if (o + n >= size)
            break;
        if (k == 0)
            out[o] = '?';
        else
            memcpy(out + o, p, n);
        o += n;
        p += n;
    }
    out[o] = '\0';
    return out;
}

static void s_json_str(s_buf_t *b, const char *s)
{
    if (!s) {
        s_printf(b, "null");
        return;
    }
    if (poller_db_json_str(&b->p, &b->len, &b->cap, s) != 0)
        abort();
}

void poller_db_time_text(int64_t wall_ms, char *out, size_t size)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(wall_ms % 1000));
}

//  --------------------------------------------------------------------------
//  Setup

dp_db_bulk_t *poller_db_bulk(poller_db_t *db, poller_bulk_id_t id, const char *sql,
                             const char *types, dp_err_t *err)
{
    if (!db->bulk[id])
        db->bulk[id] = dp_db_bulk_new(db->db, sql, types, 0, err);
    return db->bulk[id];
}

poller_db_t *poller_db_new(const dp_cfg_t *cfg, dp_err_t *err)
{
    dp_db_opts_t o;
    dp_conn_db_opts(cfg, &o);
    poller_db_t *db = calloc(1, sizeof *db);
    if (!db) {
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    db->db = dp_db_new(&o);
    if (!db->db) {
        free(db);
        dp_err_set(err, DP_ERR_CONFIG, "bad MariaDB options");
        return NULL;
    }
    db->cache = poller_dbcache_new(POLLER_DBCACHE_SLOTS, POLLER_DBCACHE_PORTS);
    if (!db->cache) {
        dp_db_destroy(&db->db);
        free(db);
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    if (poller_db_stage_init(db) != 0) {
        poller_db_destroy(&db);
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
    }
    return db;
}

void poller_db_destroy(poller_db_t **p)
{
    if (!p || !*p)
        return;
    poller_db_t *db = *p;
    dp_db_destroy(&db->db); /* and the bulk statements */
    poller_db_stage_free(db);
    free(db->json.p);
    free(db->order);
    free(db->prevdev);
    free(db->prev);
    free(db->prev_off);
    free(db->hit);
    poller_dbcache_destroy(&db->cache);
    free(db);
    *p = NULL;
}

void poller_db_cache_stats(const poller_db_t *db, uint64_t *hits, uint64_t *misses, size_t *ports)
{
    poller_dbcache_stats(db->cache, hits, misses, ports);
}

//  --------------------------------------------------------------------------
//  Device rows

int poller_db_load_device(poller_db_t *db, uint64_t id, const char *hostname, poller_device_t *out,
                          dp_err_t *err)
{
    static const char *cols = "SELECT " DP_DEVICE_COLUMNS " FROM devices WHERE ";
    char sql[512];
    snprintf(sql, sizeof sql, "%s%s", cols, id ? "device_id = ?" : "hostname = ?");
    dp_db_stmt_t *q = dp_db_cached(db->db, sql, DP_DB_IDEMPOTENT, err);
    if (!q)
        return -1;
    int rc = id ? dp_db_query(q, err, "u", id) : dp_db_query(q, err, "s", hostname);
    if (rc != 0)
        return -1;
    dp_err_t kerr = {0};
    int found = dp_device_fetch(q, out, &kerr);
    if (found && kerr.code != DP_ERR_NONE)
        dp_log_warn("bad SNMPv3 settings", "device_id=%" PRIu64 " err=\"%s\"", out->device_id,
                    kerr.text);
    return found;
}

//  --------------------------------------------------------------------------
//  Batch write

static int s_grow(poller_db_t *db, int n, size_t nprev)
{
    if ((size_t)n > db->cap_items) {
        size_t c = (size_t)n * 2;
        int *o = realloc(db->order, c * sizeof *o);
        poller_prevdev_t *pd = realloc(db->prevdev, c * sizeof *pd);
        int *off = realloc(db->prev_off, c * sizeof *off);
        bool *hit = realloc(db->hit, c * sizeof *hit);
        if (hit)
            db->hit = hit;
        if (o)
            db->order = o;
        if (pd)
            db->prevdev = pd;
        if (off)
            db->prev_off = off;
        if (!o || !pd || !off || !hit)
            return -1;
        db->cap_items = c;
    }
    if (nprev > db->cap_prev) {
        poller_prev_t *p = realloc(db->prev, nprev * 2 * sizeof *p);
        if (!p)
            return -1;
        db->prev = p;
        db->cap_prev = nprev * 2;
    }
    return 0;
}

static const poller_item_t *s_sort_items;
static int s_cmp_item(const void *a, const void *b)
{
    uint64_t x = s_sort_items[*(const int *)a].poll->device_id;
    uint64_t y = s_sort_items[*(const int *)b].poll->device_id;
    return x < y ? -1 : x > y;
}

//  Index of the item for device_id (-1 if none).
static int s_find(poller_db_t *db, const poller_item_t *items, int n, uint64_t device_id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        uint64_t v = items[db->order[mid]].poll->device_id;
        if (v == device_id)
            return db->order[mid];
        if (v < device_id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

//  JSON array of the ids of every item, or (ports) of up items whose ports the cache lacked;
//  returns how many.
static int s_ids_json(poller_db_t *db, const poller_item_t *items, int n, bool ports)
{
    s_reset(&db->json);
    s_printf(&db->json, "[");
    bool first = true;
    int count = 0;
    for (int i = 0; i < n; i++)
        if (!ports || (items[i].up && !db->hit[i])) {
            count++;
            s_printf(&db->json, "%s%" PRIu64, first ? "" : ",", items[i].poll->device_id);
            first = false;
        }
    s_printf(&db->json, "]");
    return count;
}

static int s_load_prevdev(poller_db_t *db, poller_item_t *items, int n, dp_err_t *err)
{
    for (int i = 0; i < n; i++)
        db->prevdev[i] = (poller_prevdev_t){.last_polled_ms = -1};
    dp_db_stmt_t *q = dp_db_cached(db->db, s_sql_devices_prev, DP_DB_IDEMPOTENT, err);
    if (!q || dp_db_query(q, err, "s", db->json.p) != 0)
        return -1;
    while (dp_db_fetch(q) == 1) {
        int i = s_find(db, items, n, dp_db_col_uint(q, 0));
        if (i < 0)
            continue;
        poller_prevdev_t *pd = &db->prevdev[i];
        pd->found = true;
        pd->have_uptime = !dp_db_col_is_null(q, 1);
        pd->uptime_s = dp_db_col_uint(q, 1);
        pd->last_polled_ms = dp_db_col_is_null(q, 2) ? -1 : dp_db_col_time_ms(q, 2);
        pd->epoch = dp_db_col_uint(q, 3);
        const char *sn = dp_db_col_str(q, 4);
        const poller_poll_t *poll = items[i].poll;
        pd->sysname_same = !poll->have_sysname || (sn && strcmp(sn, poll->sysname) == 0);
    }
    return 0;
}

//  Reads previous port samples; fills port_id/prev. Returns the number of walked ports without
//  a row, or -1. Rows of ports the walk did not see are left alone: the discoverer owns the
//  inventory (deleted / undeleted).
static int s_load_ports(poller_db_t *db, poller_item_t *items, int n, dp_err_t *err)
{
    for (int i = 0; i < n; i++) {
        if (!items[i].up || db->hit[i])
            continue;
        poller_poll_t *poll = items[i].poll;
        for (int k = 0; k < poll->nports; k++) {
            poll->ports[k].port_id = 0;
            db->prev[db->prev_off[i] + k].valid = false;
        }
    }
    dp_db_stmt_t *q = dp_db_cached(db->db, s_sql_ports_prev, DP_DB_IDEMPOTENT, err);
    if (!q || dp_db_query(q, err, "s", db->json.p) != 0)
        return -1;
    while (dp_db_fetch(q) == 1) {
        int i = s_find(db, items, n, dp_db_col_uint(q, 0));
        if (i < 0 || !items[i].up || db->hit[i])
            continue;
        poller_poll_t *poll = items[i].poll;
        poller_port_t *p = poller_poll_port(poll, (uint32_t)dp_db_col_uint(q, 1), false);
        if (!p)
            continue;
        p->port_id = (uint32_t)dp_db_col_uint(q, 2);
        poller_prev_t *pv = &db->prev[db->prev_off[i] + (p - poll->ports)];
        memset(pv, 0, sizeof *pv);
        pv->valid = !dp_db_col_is_null(q, 3);
        pv->at_ms = pv->valid ? dp_db_col_time_ms(q, 3) : 0;
        pv->hc_mask = (uint16_t)dp_db_col_uint(q, 4);
        for (int c = 0; c < POLLER_CTR_COUNT; c++)
            if (!dp_db_col_is_null(q, 5 + c)) {
                pv->value[c] = dp_db_col_uint(q, 5 + c);
                pv->have |= (uint16_t)(1u << c);
            }
    }
    int missing = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; items[i].up && k < items[i].poll->nports; k++)
            if (items[i].poll->ports[k].port_id == 0) {
                missing++;
                items[i].new_ports = true;
            }
    return missing;
}

//  Port ids and previous samples from the cache for the up items whose device row still holds
//  the poll time the cache entry was written with. Returns the up items that missed.
static int s_cache_get(poller_db_t *db, poller_item_t *items, int n)
{
    int misses = 0;
    for (int i = 0; i < n; i++) {
        const poller_prevdev_t *pd = &db->prevdev[i];
        db->hit[i] = items[i].up && pd->found && pd->last_polled_ms > 0 &&
                     poller_dbcache_get(db->cache, items[i].poll, pd->last_polled_ms,
                                        &db->prev[db->prev_off[i]]);
        misses += items[i].up && !db->hit[i];
    }
    return misses;
}

//  After the batch: what committed polls wrote is cached; a device whose write failed or was
//  refused is forgotten (its row may hold what another writer or a lost commit left).
static void s_cache_put(poller_db_t *db, const poller_item_t *items, int n, bool committed)
{
    for (int i = 0; i < n; i++) {
        if (committed && items[i].up && !items[i].stale)
            poller_dbcache_put(db->cache, items[i].poll);
        else if (!committed || items[i].stale)
            poller_dbcache_drop(db->cache, items[i].poll->device_id);
    }
}

static int s_insert_new_ports(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = poller_db_bulk(db, POLLER_BULK_PORTS_NEW, s_sql_ports_new, "uu", err);
    if (!b)
        return -1;
    for (int i = 0; i < n; i++)
        for (int k = 0; items[i].up && k < items[i].poll->nports; k++)
            if (items[i].poll->ports[k].port_id == 0) {
                dp_db_bulk_row(b);
                dp_db_bulk_uint(b, items[i].poll->device_id);
                dp_db_bulk_uint(b, items[i].poll->ports[k].if_index);
            }
    return dp_db_bulk_exec(b, err);
}

//  One ports stage row (column order in poller_db_stage.c).
static void s_port_row(dp_db_bulk_t *b, const poller_item_t *it, const poller_port_t *p,
                       const poller_prev_t *pv)
{
    poller_rate_t r[POLLER_CTR_COUNT];
    poller_port_rates(pv, p, it->poll->at_ms, it->rebooted, r);
    uint64_t speed = poller_port_speed(p);
    dp_db_bulk_row(b);
    dp_db_bulk_uint(b, p->port_id);
    dp_db_bulk_uint(b, it->poll->device_id);
    dp_db_bulk_uint(b, p->if_index);
    poller_db_opt_uint(b, speed > 0, speed);
    dp_db_bulk_str(b, dp_ifmib_status_name(p->admin)); /* constant words, or NULL */
    dp_db_bulk_str(b, dp_ifmib_status_name(p->oper));
    dp_db_bulk_uint(b, poller_port_hc_mask(p));
    dp_db_bulk_time_ms(b, it->poll->at_ms);
    bool period = pv->valid && pv->at_ms < it->poll->at_ms;
    poller_db_opt_double(b, period, (it->poll->at_ms - pv->at_ms) / 1000.0);
    for (int c = 0; c < POLLER_CTR_COUNT; c++) {
        poller_db_opt_uint(b, r[c].have_value, r[c].value);
        if (c < POLLER_CTR_MAIN)
            poller_db_opt_uint(b, r[c].have_rate, r[c].delta);
        poller_db_opt_double(b, r[c].have_rate, r[c].rate);
    }
}

static int s_exec_json(poller_db_t *db, const char *sql, s_buf_t *b, dp_err_t *err)
{
    s_printf(b, "]");
    dp_db_stmt_t *s = dp_db_cached(db->db, sql, 0, err);
    return s ? dp_db_exec(s, err, "s", b->p) : -1;
}

//  The port samples of the fresh up items, through the ports stage (poller_db_stage.c).
static int s_write_ports(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = NULL;
    for (int i = 0; i < n; i++) {
        if (!items[i].up || items[i].stale)
            continue;
        const poller_poll_t *poll = items[i].poll;
        for (int k = 0; k < poll->nports; k++) {
            if (poll->ports[k].port_id == 0)
                continue;
            if (b && dp_db_bulk_rows(b) == POLLER_DB_STAGE_ROWS &&
                poller_db_stage_apply(db, POLLER_STAGE_PORTS, err) != 0)
                return -1;
            if ((!b || dp_db_bulk_rows(b) == 0) &&
                !(b = poller_db_stage_rows(db, POLLER_STAGE_PORTS, err)))
                return -1;
            s_port_row(b, &items[i], &poll->ports[k], &db->prev[db->prev_off[i] + k]);
        }
    }
    return b ? poller_db_stage_apply(db, POLLER_STAGE_PORTS, err) : 0;
}

//  ifName/ifDescr/ifAlias/ifType of the polls that walked them (device text: JSON parameter).
static int s_write_port_names(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    s_buf_t *b = &db->json;
    s_reset(b);
    s_printf(b, "[");
    int rows = 0;
    char tbuf[16];
    for (int i = 0; i < n; i++) {
        const poller_poll_t *poll = items[i].poll;
        if (!items[i].up || items[i].stale || !poll->identity)
            continue;
        for (int k = 0; k < poll->nports; k++) {
            const poller_port_t *p = &poll->ports[k];
            if (p->port_id == 0)
                continue;
            const char *vals[4] = {p->have_name ? p->name : NULL, p->have_descr ? p->descr : NULL,
                                   p->have_alias ? p->alias : NULL,
                                   p->if_type ? dp_ifmib_type_name(p->if_type, tbuf, sizeof tbuf)
                                              : NULL};
            s_printf(b, "%s[%u", rows++ ? "," : "", p->port_id);
            for (int v = 0; v < 4; v++) {
                s_printf(b, ",");
                s_json_str(b, vals[v]);
            }
            s_printf(b, "]");
        }
    }
    return rows > 0 ? s_exec_json(db, s_sql_port_names, b, err) : 0;
}

int poller_db_write_batch(poller_db_t *db, poller_item_t *items, int n, dp_err_t *err)
{
    if (n <= 0)
        return 0;
    size_t nprev = 0;
    for (int i = 0; i < n; i++)
        nprev += items[i].up ? (size_t)items[i].poll->nports : 0;
    if (s_grow(db, n, nprev + 1) != 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        db->order[i] = i;
        db->prev_off[i] = (int)off;
        off += items[i].up ? (size_t)items[i].poll->nports : 0;
        items[i].stale = items[i].rebooted = items[i].new_ports = false;
    }
    s_sort_items = items;
    qsort(db->order, (size_t)n, sizeof *db->order, s_cmp_item);
    if (dp_db_begin(db->db, err) != 0)
        return -1;
    s_ids_json(db, items, n, false);
    int rc = s_load_prevdev(db, items, n, err);
    int missing = 0;
    if (rc == 0 && s_cache_get(db, items, n) > 0) {
        s_ids_json(db, items, n, true);
        missing = s_load_ports(db, items, n, err);
    }
    if (missing > 0) {
        bool flags[n];
        for (int i = 0; i < n; i++)
            flags[i] = items[i].new_ports;
        if (s_insert_new_ports(db, items, n, err) != 0)
            missing = -1;
        else
            missing = s_load_ports(db, items, n, err);
        for (int i = 0; i < n; i++)
            items[i].new_ports = flags[i];
    }
    if (rc == 0 && missing < 0)
        rc = -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        const poller_prevdev_t *pd = &db->prevdev[i];
        const poller_poll_t *poll = items[i].poll;
        items[i].rebooted =
            items[i].up && pd->found && pd->have_uptime && poll->have_uptime &&
            pd->last_polled_ms > 0 &&
            poller_counter_rebooted((uint32_t)(pd->uptime_s * 100), pd->last_polled_ms,
                                    poll->uptime_cs, poll->at_ms);
    }
    if (rc == 0)
        rc = poller_db_write_devices(db, items, n, err);
    if (rc == 0)
        rc = s_write_ports(db, items, n, err);
    if (rc == 0)
        rc = s_write_port_names(db, items, n, err);
    if (rc == 0)
        rc = poller_db_write_host(db, items, n, err);
    if (rc == 0)
        rc = dp_db_commit(db->db, err);
    else
        dp_db_rollback(db->db, NULL);
    s_cache_put(db, items, n, rc == 0);
    return rc;
}
