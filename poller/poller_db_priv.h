/*  poller_db_priv.h - what poller_db.c (reads, ports) and poller_db_host.c (devices,
    processors, storage) share. Private to those files: everyone else uses poller_db.h.
    SPDX-License-Identifier: MIT */
#ifndef POLLER_DB_PRIV_H
#define POLLER_DB_PRIV_H

#include "poller_db.h"
#include "poller_dbcache.h"
#include "dp_db.h"

#include <math.h>
#include <stddef.h>

/* A growing text buffer (JSON parameters). */
typedef struct {
    char *p;
    size_t len, cap;
} poller_db_buf_t;

/* Previous device state read for one item. */
typedef struct {
    bool found;
    bool have_uptime;
    uint64_t uptime_s;
    int64_t last_polled_ms; /* -1 unknown */
    uint64_t epoch;         /* poll_epoch */
    bool sysname_same;      /* stored sysName equals the polled one */
} poller_prevdev_t;

/* The bulk (array-bound) statements, prepared on first use (poller_db_bulk). */
typedef enum {
    POLLER_BULK_PORTS_NEW, /* rows for ports never seen */
    POLLER_BULK_DEVICES,   /* status, last_polled, uptime, poll_epoch */
    POLLER_BULK_SYSNAME,   /* a changed sysName */
    POLLER_BULK_STOR_NAMES,
    POLLER_BULK_COUNT
} poller_bulk_id_t;

/* Stage tables (poller_db_stage.c): rows staged in a MEMORY table, then one UPDATE ... JOIN. */
typedef enum {
    POLLER_STAGE_PORTS, /* the per-poll port samples */
    POLLER_STAGE_PROCS, /* processor load */
    POLLER_STAGE_STORAGE,
    POLLER_STAGE_COUNT
} poller_stage_id_t;

enum {
    POLLER_STAGE_CREATE,   /* CREATE TEMPORARY TABLE IF NOT EXISTS */
    POLLER_STAGE_DELETE,   /* empties it */
    POLLER_STAGE_INSERT,   /* the array-bound INSERT of the rows */
    POLLER_STAGE_TYPES,    /* its bulk types */
    POLLER_STAGE_UPDATE,   /* UPDATE real JOIN stage */
    POLLER_STAGE_FALLBACK, /* INSERT ... SELECT of the rows the UPDATE did not find */
    POLLER_STAGE_SQLS
};

typedef struct {
    char *sql[POLLER_STAGE_SQLS];
    dp_db_bulk_t *bulk; /* the INSERT, prepared on first use (owned by the dp_db_t) */
} poller_stage_t;

/* Rows per stage round (~1 MB of ports rows; MEMORY tables stop at max_heap_table_size). */
#define POLLER_DB_STAGE_ROWS 2000

struct poller_db {
    dp_db_t *db;
    poller_stage_t stage[POLLER_STAGE_COUNT];
    uint64_t stage_gen; /* dp_db_reconnects + 1 when the stage tables were made; 0 never */
    dp_db_bulk_t *bulk[POLLER_BULK_COUNT];
    poller_db_buf_t json;
    int *order; /* item indices sorted by device_id */
    poller_prevdev_t *prevdev;
    poller_prev_t *prev; /* per port of every item, item offsets in prev_off */
    int *prev_off;
    bool *hit; /* per item: port ids and previous samples came from the cache */
    size_t cap_items, cap_prev;
    poller_dbcache_t *cache;
};

/* The bulk statement id, prepared on first use with sql and types (dp_db_bulk_new). NULL with
   err when the database is unreachable or the SQL is bad. */
dp_db_bulk_t *poller_db_bulk(poller_db_t *db, poller_bulk_id_t id, const char *sql,
                             const char *types, dp_err_t *err);

/* Builds the stage SQL into db->stage. Returns 0 or -1 (out of memory). */
int poller_db_stage_init(poller_db_t *db);
void poller_db_stage_free(poller_db_t *db);

/* Makes the connection's stage tables (after a connect), empties stage id and returns its
   bulk INSERT handle to add at most POLLER_DB_STAGE_ROWS rows to. NULL with err. */
dp_db_bulk_t *poller_db_stage_rows(poller_db_t *db, poller_stage_id_t id, dp_err_t *err);

/* Sends the rows added and applies them to the real table: UPDATE ... JOIN, and when it found
   fewer rows than were staged, the INSERT ... SELECT of the missing ones. Returns 0 or -1. */
int poller_db_stage_apply(poller_db_t *db, poller_stage_id_t id, dp_err_t *err);

/* Decides each item's stale flag (epoch fence on the locked rows) and writes the devices rows
   of the others, plus each sysName that changed. Returns 0 or -1 with err. */
int poller_db_write_devices(poller_db_t *db, poller_item_t *items, int n, dp_err_t *err);

/* Processors and storage rows of the up, fresh items (and storage descriptions the walk
   brought). Returns 0 or -1 with err. */
int poller_db_write_host(poller_db_t *db, const poller_item_t *items, int n, dp_err_t *err);

/* Copies device text s into out (size bytes, truncated on a character boundary) with every
   byte that is not valid UTF-8 replaced by '?': MariaDB refuses invalid utf8mb4. Returns out. */
char *poller_db_utf8(char *out, size_t size, const char *s);

/* v rounded to 10^-decimals as the text statements stored it ("%.3f"): the same DOUBLE. */
static inline double poller_db_round(double v, double scale)
{
    if (v < 0 || v >= 1e15)
        return v;
    return (double)(uint64_t)(v * scale + 0.5) / scale;
}

/* A value or SQL NULL. */
static inline void poller_db_opt_uint(dp_db_bulk_t *b, bool have, uint64_t v)
{
    if (have)
        dp_db_bulk_uint(b, v);
    else
        dp_db_bulk_null(b);
}

/* A rate or period: 3 decimals, NULL when absent or not finite. */
static inline void poller_db_opt_double(dp_db_bulk_t *b, bool have, double v)
{
    if (have && isfinite(v))
        dp_db_bulk_double(b, poller_db_round(v, 1000.0));
    else
        dp_db_bulk_null(b);
}

#endif
