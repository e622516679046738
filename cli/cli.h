/*  cli.h - the distpoll command: shared context and helpers for subcommands
    Each subcommand parses its own arguments (bad input: one line naming the argument and what
    was expected, exit CLI_USAGE), opens the servers it needs on first use and returns an exit
    code. Single-threaded.
    SPDX-License-Identifier: MIT */
#ifndef CLI_H
#define CLI_H

#include "dp_cfg.h"
#include "dp_db.h"
#include "dp_redis.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (sysexits): scripts can tell usage errors from unreachable servers. */
#define CLI_OK          0
#define CLI_FAIL        1  /* the operation failed (e.g. device not found) */
#define CLI_USAGE       64 /* EX_USAGE: bad arguments */
#define CLI_UNAVAILABLE 69 /* EX_UNAVAILABLE: a server could not be reached */
#define CLI_CONFIG      78 /* EX_CONFIG: bad configuration */

#define CLI_CTL_TIMEOUT_MS 3000 /* default wait for a daemon's control reply */
#define CLI_HOST_MAX       128  /* devices.hostname */
#define CLI_TIME_MAX       40   /* formatted time */

/* The daemons distpoll knows, in pipeline order (NULL-terminated). */
extern const char *const cli_daemons[];

typedef struct {
    dp_cfg_t *cfg;     /* loaded configuration */
    dp_db_t *db;       /* MariaDB, opened on first use by cli_db */
    dp_redis_t *redis; /* Redis, opened on first use by cli_redis */
    bool json;         /* --json given */
} cli_t;

/* Returns the MariaDB connection, connecting on first use; NULL after printing why. */
dp_db_t *cli_db(cli_t *cli);

/* Returns the Redis connection, connecting on first use; NULL with err (not printed). */
dp_redis_t *cli_redis(cli_t *cli, dp_err_t *err);

/* Sends command to daemon's control socket on this node. Returns the reply (caller frees) or
   NULL with err (DP_ERR_NOTFOUND when its ipc socket file does not exist: not running here). */
char *cli_ctl(cli_t *cli, const char *daemon, const char *command, int timeout_ms, dp_err_t *err);

/* Prints "distpoll: <fmt>" to stderr; returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes s as a JSON string literal (quoted, escaped) to out; NULL as null. */
void cli_json_str(FILE *out, const char *s);

/* Parses a decimal integer in lo..hi into *out; else prints "NAME \"text\": expected a
   number lo..hi" and returns CLI_USAGE. Returns 0 on success. */
int cli_parse_long(const char *name, const char *text, long lo, long hi, long *out);

/* Parses a duration "90", "30s", "5m", "6h", "1d", "2w" into seconds (> 0); like
   cli_parse_long for errors. */
int cli_parse_duration_s(const char *name, const char *text, long *out_s);

/* Formats wall ms as "YYYY-MM-DD HH:MM:SS" UTC into buf; "never" for ms <= 0. Returns buf. */
char *cli_fmt_time(int64_t wall_ms, char *buf, size_t size);

/* Formats an age "3s ago", "5m12s ago", "2h ago", "3d ago"; "never" for ms <= 0. Returns buf. */
char *cli_fmt_ago(int64_t wall_ms, char *buf, size_t size);

/* Formats bits per second "1.23 Gbps". Returns buf. */
char *cli_fmt_bps(double bps, char *buf, size_t size);

/* Looks up HOST in devices; returns 1 with *device_id, 0 after printing "device HOST not
   found", -1 after printing a database error (the caller returns CLI_FAIL/CLI_UNAVAILABLE). */
int cli_find_device(cli_t *cli, const char *host, int64_t *device_id);

/* Looks for key "name" in a "name: value" text (STATS); returns true with the value. */
bool cli_stats_get(const char *text, const char *name, char *value, size_t size);

/* As cli_stats_get, parsed as a number; def when absent or not a number. */
double cli_stats_num(const char *text, const char *name, double def);

/* Connects to rrdcached at addr ("unix:/path", "/path" or "host:port", default port 42217).
   Returns the socket (caller closes) or -1 with why. */
int cli_rrdcached_connect(const char *addr, char *why, size_t size);

/* Subcommands: argv[0] is the verb after the group ("add", "list", ...). */
int cli_device(cli_t *cli, int argc, char **argv);
int cli_device_show(cli_t *cli, int argc, char **argv);
int cli_device_poll(cli_t *cli, int argc, char **argv);
int cli_device_rediscover(cli_t *cli, int argc, char **argv);
int cli_db_cmd(cli_t *cli, int argc, char **argv);
int cli_group(cli_t *cli, int argc, char **argv);
int cli_node(cli_t *cli, int argc, char **argv);
int cli_bill(cli_t *cli, int argc, char **argv);
int cli_status(cli_t *cli, int argc, char **argv);
int cli_top(cli_t *cli, int argc, char **argv);
int cli_tap(cli_t *cli, int argc, char **argv);
int cli_trace(cli_t *cli, int argc, char **argv);
int cli_graph(cli_t *cli, int argc, char **argv);
int cli_metrics(cli_t *cli, int argc, char **argv);

/* SNMP reachability check used by device add: GETs sysObjectID.0 and sysName.0 from
   address:port with the given credentials. Returns 0 with sysname filled, or -1 with why
   (one line naming host, port, credentials and the timeout). */
typedef struct {
    const char *address;    /* host or IP to ask */
    long port;              /* UDP port */
    const char *snmpver;    /* v1, v2c or v3 */
    const char *community;  /* v1/v2c */
    const char *auth_user;  /* v3 */
    const char *auth_proto; /* v3: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512 */
    const char *auth_pass;  /* v3 */
    const char *priv_proto; /* v3: DES, AES, AES-192, AES-256 */
    const char *priv_pass;  /* v3 */
    int64_t timeout_ms;     /* per attempt */
    int retries;            /* after the first attempt */
} cli_snmp_target_t;

int cli_snmp_check(const cli_snmp_target_t *t, char *sysname, size_t size, char *why,
                   size_t why_size);

/* Writes the RRD folder name of hostname (rrdwriter_def_path's sanitising) into buf. */
void cli_rrd_host_dir(const char *hostname, char *buf, size_t size);

#endif
