/*  poller_db_host.c - the batch's devices, processors and storage rows (see poller_db.h)
    Bulk (array-bound) prepared statements, no SQL text per row; processors and storage go
    through stage tables (poller_db_stage.c).
    SPDX-License-Identifier: MIT */
#include "poller_db_priv.h"

#include <stdio.h>
#include <string.h>

/* Every row exists (locked by the batch's SELECT ... FOR UPDATE); hostname '' only satisfies
   NOT NULL for the parser. */
static const char *s_sql_devices =
    "INSERT INTO devices (device_id, hostname, status, status_reason, last_polled,"
    " last_polled_timetaken, uptime, poll_epoch) VALUES (?, '', ?, ?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE status = VALUES(status), status_reason = VALUES(status_reason),"
    " last_polled = IF(VALUES(status) = 1, VALUES(last_polled), last_polled),"
    " last_polled_timetaken = IF(VALUES(status) = 1, VALUES(last_polled_timetaken),"
    " last_polled_timetaken), uptime = IF(VALUES(status) = 1, VALUES(uptime), uptime),"
    " poll_epoch = VALUES(poll_epoch)";
static const char *s_sql_sysname = "UPDATE devices SET sysName = ? WHERE device_id = ?";
static const char *s_sql_stor_names =
    "UPDATE storage SET storage_descr = ? WHERE device_id = ? AND storage_mib = 'hrstorage'"
    " AND storage_index = ?";

static const char *s_storage_type(int type)
{
    static const char *const names[] = {NULL,
                                        "hrStorageOther",
                                        "hrStorageRam",
                                        "hrStorageVirtualMemory",
                                        "hrStorageFixedDisk",
                                        "hrStorageRemovableDisk",
                                        "hrStorageFloppyDisk",
                                        "hrStorageCompactDisc",
                                        "hrStorageRamDisk",
                                        "hrStorageFlashMemory",
                                        "hrStorageNetworkDisk"};
    return type > 0 && type <= 10 ? names[type] : "hrStorageOther";
}

//  Adds a stage row to *b (getting the handle, or applying a full one first). 0 or -1.
static int s_stage_row(poller_db_t *db, poller_stage_id_t id, dp_db_bulk_t **b, dp_err_t *err)
{
    if (*b && dp_db_bulk_rows(*b) == POLLER_DB_STAGE_ROWS &&
        poller_db_stage_apply(db, id, err) != 0)
        return -1;
    if ((!*b || dp_db_bulk_rows(*b) == 0) && !(*b = poller_db_stage_rows(db, id, err)))
        return -1;
    dp_db_bulk_row(*b);
    return 0;
}

//  Processor load rows (poller_db_stage.c: UPDATE of the rows that exist, insert of new ones).
static int s_write_procs(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = NULL;
    for (int i = 0; i < n; i++)
        for (int k = 0; items[i].up && !items[i].stale && k < items[i].poll->nprocs; k++) {
            const poller_proc_t *p = &items[i].poll->procs[k];
            char index[16];
            snprintf(index, sizeof index, "%u", p->index);
            if (s_stage_row(db, POLLER_STAGE_PROCS, &b, err) != 0)
                return -1;
            dp_db_bulk_uint(b, items[i].poll->device_id);
            dp_db_bulk_uint(b, p->index);
            dp_db_bulk_str(b, index);
            dp_db_bulk_int(b, p->load);
        }
    return b ? poller_db_stage_apply(db, POLLER_STAGE_PROCS, err) : 0;
}

static int s_write_storage(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = NULL;
    for (int i = 0; i < n; i++)
        for (int k = 0; items[i].up && !items[i].stale && k < items[i].poll->nstor; k++) {
            const poller_stor_t *s = &items[i].poll->stor[k];
            if ((s->have & 14) != 14 || s->used > s->size)
                continue;
            uint64_t size = s->size * s->units, used = s->used * s->units;
            if (s_stage_row(db, POLLER_STAGE_STORAGE, &b, err) != 0)
                return -1;
            dp_db_bulk_uint(b, items[i].poll->device_id);
            dp_db_bulk_uint(b, s->index);
            dp_db_bulk_str(b, s_storage_type(s->type));
            dp_db_bulk_uint(b, s->units);
            dp_db_bulk_uint(b, size);
            dp_db_bulk_uint(b, used);
            dp_db_bulk_uint(b, size - used);
            dp_db_bulk_double(
                b, poller_db_round(size ? 100.0 * (double)used / (double)size : 0.0, 100.0));
        }
    return b ? poller_db_stage_apply(db, POLLER_STAGE_STORAGE, err) : 0;
}

//  Descriptions (device text) when the walk brought them.
static int s_write_stor_names(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = NULL;
    for (int i = 0; i < n; i++)
        for (int k = 0; items[i].up && !items[i].stale && k < items[i].poll->nstor; k++) {
            const poller_stor_t *s = &items[i].poll->stor[k];
            if (!(s->have & 16) || !items[i].poll->identity)
                continue;
            if (!b &&
                !(b = poller_db_bulk(db, POLLER_BULK_STOR_NAMES, s_sql_stor_names, "suu", err)))
                return -1;
            char descr[sizeof s->descr];
            dp_db_bulk_row(b);
            dp_db_bulk_str(b, poller_db_utf8(descr, sizeof descr, s->descr));
            dp_db_bulk_uint(b, items[i].poll->device_id);
            dp_db_bulk_uint(b, s->index);
        }
    return b ? dp_db_bulk_exec(b, err) : 0;
}

int poller_db_write_host(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    if (s_write_procs(db, items, n, err) != 0 || s_write_storage(db, items, n, err) != 0)
        return -1;
    return s_write_stor_names(db, items, n, err);
}

//  Each changed sysName (device text, bound).
static int s_write_sysnames(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = NULL;
    for (int i = 0; i < n; i++) {
        const poller_poll_t *poll = items[i].poll;
        if (items[i].stale || !items[i].up || db->prevdev[i].sysname_same)
            continue;
        if (!b && !(b = poller_db_bulk(db, POLLER_BULK_SYSNAME, s_sql_sysname, "su", err)))
            return -1;
        char name[sizeof poll->sysname];
        dp_db_bulk_row(b);
        dp_db_bulk_str(b, poller_db_utf8(name, sizeof name, poll->sysname));
        dp_db_bulk_uint(b, poll->device_id);
    }
    return b ? dp_db_bulk_exec(b, err) : 0;
}

int poller_db_write_devices(poller_db_t *db, poller_item_t *items, int n, dp_err_t *err)
{
    dp_db_bulk_t *b = poller_db_bulk(db, POLLER_BULK_DEVICES, s_sql_devices, "uistduu", err);
    if (!b)
        return -1;
    for (int i = 0; i < n; i++) {
        poller_item_t *it = &items[i];
        const poller_prevdev_t *pd = &db->prevdev[i];
        it->stale = !pd->found || pd->epoch > it->epoch;
        if (it->stale)
            continue;
        const poller_poll_t *poll = it->poll;
        dp_db_bulk_row(b);
        dp_db_bulk_uint(b, poll->device_id);
        dp_db_bulk_int(b, it->up ? 1 : 0);
        dp_db_bulk_str(b, it->up ? "" : "snmp");
        dp_db_bulk_time_ms(b, it->up ? poll->at_ms : 0);
        dp_db_bulk_double(
            b, poller_db_round(it->took_s >= 0 && it->took_s < 1e9 ? it->took_s : 0.0, 1000.0));
        dp_db_bulk_uint(b, poll->uptime_cs / 100);
        dp_db_bulk_uint(b, it->epoch);
    }
    if (dp_db_bulk_exec(b, err) != 0)
        return -1;
    return s_write_sysnames(db, items, n, err);
}
