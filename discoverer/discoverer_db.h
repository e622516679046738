/*  discoverer_db.h - the discoverer's MariaDB side: device rows in, inventory out
    One discoverer_db_t per worker thread (its own connection). A discovery is written in one
    transaction: a fenced device UPDATE (WHERE poll_epoch <= job epoch; 0 rows = stale, nothing
    else written), then, only for walks that completed, the ports sync (insert new, update
    inventory columns, undelete returning, mark vanished deleted: history is never dropped),
    and the hrProcessor / hrStorage rows (upserted, missing ones marked deleted). The discoverer
    owns the inventory columns of `ports` (names, type, speed, MTU, MAC, ifHC, deleted); the
    poller owns counters and status. A deadlock is retried.
    SPDX-License-Identifier: MIT */
#ifndef DISCOVERER_DB_H
#define DISCOVERER_DB_H

#include "discoverer_ports.h"
#include "dp_cfg.h"
#include "dp_device.h"
#include "dp_err.h"
#include "dp_snmp.h"

#include <stdbool.h>
#include <stdint.h>

#define DISCOVERER_REASON_MAX 50 /* devices.status_reason */

/* A device row (credentials kept; passphrases dropped once the v3 keys are derived). */
typedef struct {
    dp_device_t row;
    char key_error[DP_ERR_TEXT_MAX]; /* v3 key derivation failed: why ("" = fine) */
} discoverer_device_t;

/* One finished discovery to write. */
typedef struct {
    uint64_t device_id;
    uint64_t epoch;
    int64_t at_ms;      /* wall ms the discovery started (last_discovered) */
    double took_s;      /* last_discovered_timetaken */
    bool reachable;     /* the system walk answered */
    const char *reason; /* unreachable: devices.status_reason (cut to 50) */
    const char *error;  /* devices.discovery_error: why it failed or was partial; NULL = ok */
    const discoverer_inv_t *inv; /* reachable: what was walked */
    const char *os;              /* reachable: detected OS id */
    bool ports_ok;               /* the ports walk completed: sync ports */
    bool host_ok;                /* the host walk completed: sync processors and storage */
    /* set by discoverer_db_write */
    bool stale;             /* the fenced UPDATE matched nothing (newer epoch or no device) */
    discoverer_diff_t diff; /* ports */
    int procs, storage;     /* rows written */
} discoverer_result_t;

typedef struct discoverer_db discoverer_db_t;

/* Creates the thread's handle (connects lazily). NULL with err on bad options. Caller owns
   result; free with discoverer_db_destroy. */
discoverer_db_t *discoverer_db_new(const dp_cfg_t *cfg, dp_err_t *err);

/* Closes the connection. NULL-safe; sets *p to NULL. */
void discoverer_db_destroy(discoverer_db_t **p);

/* Loads device id into *out (previous contents freed). Returns 1 found, 0 not found, -1 with
   err (database down). */
int discoverer_db_load_device(discoverer_db_t *db, uint64_t id, discoverer_device_t *out,
                              dp_err_t *err);

/* Frees the strings of a device row and zeroes it. */
void discoverer_device_clear(discoverer_device_t *d);

/* Writes r in one transaction (see the file comment) and fills its outputs. Returns 0 (also
   when stale: nothing written), or -1 with err (nothing written; the caller fails the job). */
int discoverer_db_write(discoverer_db_t *db, discoverer_result_t *r, dp_err_t *err);

#endif
