/*  dp_schema.h - versioned MariaDB schema migrations
    Migrations are an ordered list compiled into the binary; each is applied once and
    recorded in schema_migrations. Safe to run from several nodes at once (a named
    server lock serialises them) and safe to run again (missing ones only).
    Conventions: InnoDB, utf8mb4; times are DATETIME(3) in UTC; counters, octets and
    byte totals BIGINT UNSIGNED; rates and durations DOUBLE (seconds unless the name
    has a unit).
    SPDX-License-Identifier: MIT */
#ifndef DP_SCHEMA_H
#define DP_SCHEMA_H

#include "dp_db.h"
#include "dp_err.h"

/* Applies every missing migration in order under GET_LOCK('distpoll_migrate').
   Sets *applied (may be NULL) to the number applied now (0 when up to date).
   Returns 0 or -1 with err (DP_ERR_BUSY when the lock is not granted in 30 s). */
int dp_schema_migrate(dp_db_t *db, int *applied, dp_err_t *err);

/* Highest applied migration version; 0 for an empty database. -1 with err on error. */
int dp_schema_version(dp_db_t *db, dp_err_t *err);

/* Highest migration version this binary knows. */
int dp_schema_latest(void);

/* Name of migration version v (static string) or NULL when unknown. */
const char *dp_schema_name(int version);

#endif
