/*  poller_db.h - the poller's MariaDB side: device rows in, batched poll results out
    One poller_db_t per worker thread (its own connection). A batch of finished polls is
    written in one transaction with a handful of statements whatever its size: the batch's
    device rows are read and locked (SELECT ... FOR UPDATE: uptime and last_polled for reboot
    detection, poll_epoch for the fence: a job whose epoch is below the stored one is "stale"
    and writes nothing), the previous port samples are read in one SELECT (skipped for devices
    whose last written samples the connection still holds, see poller_dbcache.h: the row's
    last_polled proves nobody wrote since), then the devices upsert (array-bound INSERT ... ON
    DUPLICATE KEY UPDATE, one round trip) and, for ports, processors and storage, an array-bound
    INSERT into a per-connection MEMORY stage table followed by one UPDATE ... JOIN (see
    poller_db_stage.c: about a third less MariaDB CPU than upserting existing rows). Each row
    sends its new values only: the _prev columns and poll_prev take the row's old values
    server-side. Every value, device-supplied text included (sysName, storage descriptions:
    made valid UTF-8 first), is a bound parameter; ifName/ifDescr/ifAlias go as one JSON
    parameter read by JSON_TABLE, and only when they were walked or changed. The discoverer owns the
   port inventory (it marks vanished ports deleted and returning ones undeleted); the batch only
   inserts a row for a port it has never seen (so polling works before discovery) and never changes
   `deleted`. SPDX-License-Identifier: MIT */
#ifndef POLLER_DB_H
#define POLLER_DB_H

#include "dp_cfg.h"
#include "dp_device.h"
#include "dp_err.h"
#include "dp_snmp.h"
#include "poller_modules.h"

#include <stdbool.h>
#include <stdint.h>

/* A device row as the poller needs it (dp_device.h: credentials kept; passphrases dropped
   once the v3 keys are derived). */
typedef dp_device_t poller_device_t;

/* One finished poll in a batch. */
typedef struct {
    poller_poll_t *poll;
    const poller_device_t *dev;
    uint64_t epoch;
    bool up;            /* ports walk answered */
    const char *reason; /* down: why ("no response", ...) */
    double took_s;
    /* set by poller_db_write_batch */
    bool stale;     /* the fenced UPDATE matched nothing: newer epoch (or device gone) */
    bool rebooted;  /* uptime went back since the last poll */
    bool new_ports; /* the port set changed (identity should be refreshed) */
} poller_item_t;

typedef struct poller_db poller_db_t;

/* Opens (lazily connects) the thread's connection. NULL on bad options (err set). */
poller_db_t *poller_db_new(const dp_cfg_t *cfg, dp_err_t *err);
void poller_db_destroy(poller_db_t **p);

/* Loads device id (or, when id is 0, the device with this hostname) into *out (previous
   contents freed). Returns 1 found, 0 not found, -1 with err (database down). */
int poller_db_load_device(poller_db_t *db, uint64_t id, const char *hostname, poller_device_t *out,
                          dp_err_t *err);

#define poller_device_clear dp_device_clear

/* Writes a batch in one transaction and fills each item's stale/rebooted/new_ports and each
   port's port_id. Returns 0, or -1 with err (nothing written: the caller retries the jobs). */
int poller_db_write_batch(poller_db_t *db, poller_item_t *items, int n, dp_err_t *err);

/* Batch writes whose previous port samples came from the connection's cache (no SELECT of
   the ports rows) / had to be read; ports the cache holds. */
void poller_db_cache_stats(const poller_db_t *db, uint64_t *hits, uint64_t *misses, size_t *ports);

/* ---- pure helpers (unit-tested) ---- */

/* Appends s to a JSON document as a string: quotes, escapes, invalid UTF-8 bytes become '?'.
   buf grows as needed (*buf may be NULL). Returns 0 or -1 (OOM). */
int poller_db_json_str(char **buf, size_t *len, size_t *cap, const char *s);

/* Formats wall ms as "YYYY-MM-DD HH:MM:SS.mmm" (UTC) into out (>= 24 bytes). */
void poller_db_time_text(int64_t wall_ms, char *out, size_t size);

#endif
