/*  scheduler_store.h - the scheduler's MariaDB side: device and bill tables, node reports
    Loads devices into the poll and discover plans and bills into the bill plan, and writes
    the node's nodes/node_stats rows. Every call fails fast while the database is down
    (dp_db backoff); the scheduler keeps working from memory. Single-threaded.
    SPDX-License-Identifier: MIT */
#ifndef SCHEDULER_STORE_H
#define SCHEDULER_STORE_H

#include "dp_db.h"
#include "dp_err.h"
#include "dp_settings.h"
#include "scheduler_plan.h"

#include <stdbool.h>
#include <stdint.h>

/* One node_stats row. */
typedef struct {
    const char *stage;     /* e.g. "queue_poll", "overdue_group_2" */
    int64_t depth;         /* jobs waiting (due now) or overdue count */
    int64_t devices;       /* jobs done since the last report */
    double worker_seconds; /* summed job time since the last report */
    int64_t workers;       /* live workers of the stage */
    int64_t frequency_s;   /* interval */
} scheduler_store_row_t;

typedef struct scheduler_store scheduler_store_t;

/* Creates the store over db (borrowed). Caller owns result; free with
   scheduler_store_destroy. */
scheduler_store_t *scheduler_store_new(dp_db_t *db, const char *node_id);

/* Frees the store. NULL-safe; sets *p to NULL. */
void scheduler_store_destroy(scheduler_store_t **p);

/* Loads every device into poll (done from last_polled) and discover (done from
   last_discovered; never discovered -> due at once). Either plan may be NULL. Returns the
   number of devices, or -1 with err (plans unchanged). */
int scheduler_store_load_devices(scheduler_store_t *s, scheduler_plan_t *poll,
                                 scheduler_plan_t *discover, int64_t now_s, dp_err_t *err);

/* Loads bills into plan: one target per (bill, poller group of its billable ports' devices;
   default_group when it has none), keyed scheduler_store_bill_key(bill_id, group), ref =
   bill_id, so each group's part is a job of its own (done and leased per part); with enabled
   false every bill is switched off. Returns the number of targets or -1 with err. */
int scheduler_store_load_bills(scheduler_store_t *s, scheduler_plan_t *plan, bool enabled,
                               int default_group, int64_t now_s, dp_err_t *err);

/* Plan key of the (bill_id, group) part: bill_id << 20 | group; 0 when bill_id is 0 or
   >= 2^44 or group is outside [0, 2^20). Pure. */
uint64_t scheduler_store_bill_key(uint64_t bill_id, int group);

/* Global settings (distributed_billing, default_poller_group). Returns 0 or -1 with err. */
int scheduler_store_load_settings(scheduler_store_t *s, dp_settings_t *out, dp_err_t *err);

/* Upserts the nodes row (master 1/0) and the given node_stats rows. Returns 0 or -1. */
int scheduler_store_report(scheduler_store_t *s, bool master, const scheduler_store_row_t *rows,
                           int nrows, dp_err_t *err);

#endif
