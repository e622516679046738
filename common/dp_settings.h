/*  dp_settings.h - cluster settings in MariaDB, node registration, fencing epochs
    Global settings are rows of `settings` (name, value); a node's `nodes.poller_groups`
    overrides distributed_poller_group, as LibreNMS's poller_cluster row does.
    Epochs live in `leadership` (one row per role): a new leader bumps the epoch,
    stamps it on its work, and consumers refuse work carrying a lower epoch. A fenced
    write can also check it in SQL, e.g.
      UPDATE t SET ... WHERE ... AND (SELECT epoch FROM leadership WHERE name=?) <= ?
    which changes 0 rows when the caller's epoch is stale.
    Every function taking a dp_db_t uses that connection (one per thread).
    SPDX-License-Identifier: MIT */
#ifndef DP_SETTINGS_H
#define DP_SETTINGS_H

#include "dp_db.h"
#include "dp_err.h"

#include <stdbool.h>
#include <stdint.h>

#define DP_SETTINGS_MAX_GROUPS 64

/* Names of the settings dp_settings_set accepts. */
#define DP_SETTING_DISTRIBUTED_POLLER       "distributed_poller"
#define DP_SETTING_DISTRIBUTED_POLLER_GROUP "distributed_poller_group"
#define DP_SETTING_DEFAULT_POLLER_GROUP     "default_poller_group"
#define DP_SETTING_DISTRIBUTED_BILLING      "distributed_billing"

typedef struct {
    bool distributed_poller;            /* several nodes share the polling */
    int groups[DP_SETTINGS_MAX_GROUPS]; /* poller groups this node serves */
    int ngroups;                        /* entries in groups (>= 1 after load) */
    int default_poller_group;           /* group of new devices, served when none set */
    bool distributed_billing;           /* billing follows poller groups */
} dp_settings_t;

/* Fills s with the built-in defaults: not distributed, no groups, default group 0. */
void dp_settings_defaults(dp_settings_t *s);

/* Parses a strict group list "1,2,3" (spaces around numbers allowed; each 0..INT_MAX,
   no duplicates, at most max). Empty or blank text gives *n = 0. Returns 0 or -1 with
   DP_ERR_CONFIG naming the text and what was expected. */
int dp_settings_parse_groups(const char *text, int *groups, int max, int *n, dp_err_t *err);

/* Parses a boolean: 1/0, true/false, yes/no, on/off (any case). Returns 0 or -1. */
int dp_settings_parse_bool(const char *text, bool *out);

/* Applies one named setting to s after validating value. Unknown names are an error
   (DP_ERR_CONFIG). The text names the setting, value and expectation, e.g.
   settings.distributed_poller_group="1,x": expected comma-separated group numbers.
   Returns 0 or -1; s is unchanged on error. Pure: no database. */
int dp_settings_apply(dp_settings_t *s, const char *name, const char *value, dp_err_t *err);

/* Loads the global settings and node_id's override (NULL node_id: globals only). When
   no groups result, the node serves default_poller_group. Rows with unknown names are
   ignored. Returns 0 or -1 with err (DP_ERR_CONFIG for a bad stored value). */
int dp_settings_load(dp_db_t *db, const char *node_id, dp_settings_t *out, dp_err_t *err);

/* Validates and stores one global setting (normalised, e.g. groups as "1,2,3"; an empty
   distributed_poller_group clears the list). Returns 0 or -1 with err. */
int dp_settings_set(dp_db_t *db, const char *name, const char *value, dp_err_t *err);

/* Sets node_id's poller group override (creating its nodes row); NULL or "" clears it
   (the node then follows distributed_poller_group). Returns 0 or -1 with err. */
int dp_settings_set_node_groups(dp_db_t *db, const char *node_id, const char *value, dp_err_t *err);

/* Increments the fencing epoch of role name (e.g. "scheduler") in a committed
   transaction, records node_id as holder and returns the new epoch in *epoch (the row is
   created at 1 when missing). Call after winning the leader lock. Returns 0 or -1. */
int dp_epoch_bump(dp_db_t *db, const char *name, const char *node_id, uint64_t *epoch,
                  dp_err_t *err);

/* Current epoch of role name (0 when never bumped). Returns 0 or -1 with err. */
int dp_epoch_current(dp_db_t *db, const char *name, uint64_t *epoch, dp_err_t *err);

/* Returns 0 when epoch is current (>= the stored one), -1 with DP_ERR_STALE when a newer
   leader has bumped it, or -1 with another code on database errors. */
int dp_epoch_check(dp_db_t *db, const char *name, uint64_t epoch, dp_err_t *err);

/* Upserts node_id's `nodes` row (poller_name = hostname, poller_version = version,
   last_report = now) and touches its node_stats row for daemon (the stage). master: 1 or
   0 to set the master flag, -1 to leave it. Returns 0 or -1 with err. */
int dp_node_report(dp_db_t *db, const char *node_id, const char *hostname, const char *daemon,
                   const char *version, int master, dp_err_t *err);

#endif
