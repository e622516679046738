/*  dp_cfg.h - typed configuration: defaults < .env file < environment < flags
    Every key lives in one table in dp_cfg.c (type, default, bounds, reloadable, secret, help).
    A dp_cfg_t is a plain value: load it in main, pass it in, never share one under threads that
    may see it change. All strings in it are copies owned by the dp_cfg_t. Secret values
    (passwords, APP_KEY) never appear in error text or in dp_cfg_print output.
    SPDX-License-Identifier: MIT */
#ifndef DP_CFG_H
#define DP_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dp_err.h"
#include "dp_log.h"

/* Field names carry units: *_s seconds, *_ms milliseconds, *_mb MiB. A string field is NULL
   when the key is unset (an empty value unsets a key without a default; keys with a default
   refuse an empty value), so string fields are either NULL or non-empty. Lists
   (DP_SCHEDULERS, REDIS_SENTINEL) are kept as one normalised comma-separated string; split them
   with dp_cfg_split_list. */
typedef struct dp_cfg {
    /* Redis (the seed's keys, shared with LibreNMS's .env) */
    char *redis_host;              /* REDIS_HOST */
    int redis_port;                /* REDIS_PORT */
    int redis_db;                  /* REDIS_DB */
    int redis_timeout_s;           /* REDIS_TIMEOUT, seconds */
    char *redis_password;          /* REDIS_PASSWORD (secret) */
    char *redis_username;          /* REDIS_USERNAME (ACL user) */
    char *redis_sentinel;          /* REDIS_SENTINEL, "host:port,host:port" or NULL */
    char *redis_sentinel_service;  /* REDIS_SENTINEL_SERVICE, master name */
    char *redis_sentinel_password; /* REDIS_SENTINEL_PASSWORD (secret) */
    char *redis_sentinel_username; /* REDIS_SENTINEL_USERNAME */
    /* identity */
    char *app_key; /* APP_KEY (secret), >= 16 chars */
    char *node_id; /* NODE_ID, [A-Za-z0-9._-]{1,64} */
    /* MariaDB */
    char *db_host;     /* DB_HOST */
    int db_port;       /* DB_PORT */
    char *db_database; /* DB_DATABASE */
    char *db_username; /* DB_USERNAME */
    char *db_password; /* DB_PASSWORD (secret) */
    char *db_socket;   /* DB_SOCKET, unix socket path; overrides host/port when set */
    /* distpoll's own keys (DP_*) */
    dp_log_level_t log_level;      /* DP_LOG_LEVEL */
    char *scheduler_bind;          /* DP_SCHEDULER_BIND, endpoint the scheduler binds for jobs */
    char *schedulers;              /* DP_SCHEDULERS, endpoints workers connect to (list) */
    char *rrdwriter_bind;          /* DP_RRDWRITER_BIND, endpoint rrdwriter binds */
    char *rrdwriter;               /* DP_RRDWRITER, endpoint workers send metrics to */
    char *control_dir;             /* DP_CONTROL_DIR, daemons' control ipc sockets */
    char *rrdcached;               /* DP_RRDCACHED, "unix:/path" or "host:port" */
    char *rrd_dir;                 /* DP_RRD_DIR */
    int64_t rrd_step_ms;           /* DP_RRD_STEP, step of new RRD files (whole seconds) */
    char *spool_dir;               /* DP_SPOOL_DIR */
    int spool_max_mb;              /* DP_SPOOL_MAX_MB */
    int metrics_buffer_mb;         /* DP_METRICS_BUFFER_MB, a poller's unacked METRICS cap */
    int64_t poller_interval_ms;    /* DP_POLLER_INTERVAL */
    int64_t discovery_interval_ms; /* DP_DISCOVERY_INTERVAL */
    int64_t billing_interval_ms;   /* DP_BILLING_INTERVAL */
    int workers;                   /* DP_WORKERS, threads per worker daemon */
    int concurrency;               /* DP_CONCURRENCY, SNMP requests in flight per thread */
    int64_t snmp_timeout_ms;       /* DP_SNMP_TIMEOUT */
    int snmp_retries;              /* DP_SNMP_RETRIES */
    int64_t lock_ttl_ms;           /* DP_LOCK_TTL */
    int64_t job_timeout_ms;        /* DP_JOB_TIMEOUT */
    int64_t drain_timeout_ms;      /* DP_DRAIN_TIMEOUT, shutdown deadline for in-flight work */
    int metrics_port;              /* DP_METRICS_PORT, 0 = off */
    char *rra;                     /* DP_RRA, RRA preset: "librenms" or "small" */
    bool curve;                    /* DP_CURVE, CURVE-encrypt ZeroMQ links (keys from APP_KEY) */
    /* set by dp_cfg_load, not keys */
    bool help_requested; /* --help or -h was given; main prints usage and exits 0 */
} dp_cfg_t;

/* Keys every daemon needs; NULL-terminated, for dp_cfg_require. */
extern const char *const dp_cfg_daemon_keys[];

/* Creates a config holding the built-in defaults. Never returns NULL (OOM aborts).
   Caller owns it; free with dp_cfg_destroy. */
dp_cfg_t *dp_cfg_new(void);

/* Frees cfg and every string it owns; sets *p to NULL. NULL-safe, idempotent. */
void dp_cfg_destroy(dp_cfg_t **p);

/* Deep copy (e.g. to build a candidate on reload). Caller owns the result. */
dp_cfg_t *dp_cfg_dup(const dp_cfg_t *cfg);

/* Sets one key from text, validating it by the table's rules. Returns 0, or -1 with err
   (DP_ERR_CONFIG) naming the key, the value (masked for secrets) and what was expected;
   cfg is unchanged on failure. */
int dp_cfg_set(dp_cfg_t *cfg, const char *key, const char *value, dp_err_t *err);

/* Applies a .env file: KEY=VALUE lines, optional "export " prefix, '…' literal or "…" quoted
   values (\" \\ \n \t \r escapes), # comments and blank lines; unquoted values end at " #".
   A few keys LibreNMS keeps in the same file (APP_URL, INSTALL, ...) are accepted and ignored.
   Returns 0, or -1 with err naming "path:line: KEY=value: expected ..." for a malformed line,
   an unknown key or a bad value; nothing is applied unless the whole file is valid. */
int dp_cfg_load_env_file(dp_cfg_t *cfg, const char *path, dp_err_t *err);

/* Applies the table's keys found in the environment (other variables are ignored, and so is
   an empty value, which is what compose passes for an unset variable). Returns 0, or -1 with err
   "environment: KEY=..."; nothing is applied unless all are valid. */
int dp_cfg_load_environ(dp_cfg_t *cfg, dp_err_t *err);

/* The whole chain onto cfg (normally fresh from dp_cfg_new): the .env file (--env-file PATH,
   else $DP_ENV_FILE, else ./.env if it exists; a named file that is missing is an error), then
   the environment, then flags from argv[1..]: --set KEY=VALUE (repeatable), --node-id ID,
   --log-level L, -v (debug), --help/-h (sets help_requested). Unknown flags and positional
   arguments are errors. Returns 0, or -1 with err; cfg is unchanged on failure. */
int dp_cfg_load(dp_cfg_t *cfg, int argc, char **argv, dp_err_t *err);

/* Checks that each key in the NULL-terminated list is set and non-empty, and re-validates
   NODE_ID and APP_KEY. Returns 0, or -1 with err, e.g. "NODE_ID is not set: every node needs a
   unique NODE_ID (set it in .env or the environment)". */
int dp_cfg_require(const dp_cfg_t *cfg, const char *const *keys, dp_err_t *err);

/* Writes every key, one "KEY=value" line each in table order (json: one object), secrets as
 ******** or (unset) (json: null); durations in their largest exact unit ("5m"). */
void dp_cfg_print(const dp_cfg_t *cfg, FILE *out, bool json);

/* Writes the key reference (key, type and range, default, reloadable, help) for --help. */
void dp_cfg_print_help(FILE *out);

/* Copies the reloadable keys that differ from next into cur and writes their names into
   changed; writes the names of differing non-reloadable keys into restart ("needs restart").
   Both are space-separated and truncated with "..." to fit (either may be NULL/0).
   Returns the number of keys applied. Call only where no other thread reads cur. */
int dp_cfg_reload(dp_cfg_t *cur, const dp_cfg_t *next, char *changed, size_t size, char *restart,
                  size_t rsize);

/* Splits a comma-separated list (spaces around items trimmed, empty items skipped) into a
   NULL-terminated array of strings. text may be NULL (count 0). Returns 0 (never fails; OOM
   aborts). Caller owns *items; free with dp_cfg_list_free. */
int dp_cfg_split_list(const char *text, char ***items, int *count);

/* Frees an array from dp_cfg_split_list; sets *items to NULL. NULL-safe. */
void dp_cfg_list_free(char ***items);

#endif
