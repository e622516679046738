/*  cli_status.h - what `distpoll status` and `distpoll top` show: one snapshot of the cluster
    gathered from Redis (leader), MariaDB (nodes, node_stats, devices) and, on this node, the
    daemons' control sockets and rrdcached. Each part records whether it was reached and why
    not; a snapshot is always complete enough to print.
    SPDX-License-Identifier: MIT */
#ifndef CLI_STATUS_H
#define CLI_STATUS_H

#include "cli.h"

#define CLI_ST_ERR_MAX    256
#define CLI_ST_NODE_MAX   129
#define CLI_ST_NODES      128
#define CLI_ST_STAGES     8
#define CLI_ST_GROUPS     128
#define CLI_ST_DAEMONS    5
#define CLI_ST_GROUPS_TXT 256

typedef struct {
    char stage[32];         /* scheduler, poller, ... */
    int64_t depth;          /* jobs waiting */
    int64_t devices;        /* jobs done in the last report period */
    double worker_seconds;  /* time spent on them */
    int64_t workers;        /* configured workers */
    int64_t frequency_s;    /* report period */
    int64_t last_report_ms; /* wall ms; 0 never */
} cli_st_stage_t;

typedef struct {
    char node_id[CLI_ST_NODE_MAX];
    char host[256];
    char groups[CLI_ST_GROUPS_TXT]; /* "0,2" */
    int64_t last_report_ms;         /* wall ms; 0 never */
    cli_st_stage_t stages[CLI_ST_STAGES];
    int nstages;
} cli_st_node_t;

typedef struct {
    long group;      /* poller group */
    int64_t devices; /* enabled devices */
    int64_t overdue; /* not polled within interval + job timeout */
    int64_t down;    /* status 0 */
} cli_st_group_t;

typedef struct {
    const char *name;         /* daemon name (static) */
    bool up;                  /* answered */
    bool absent;              /* no control socket on this node */
    char err[CLI_ST_ERR_MAX]; /* why not */
    char *stats;              /* STATS reply (owned) */
    char *leader;             /* scheduler: LEADER reply (owned) */
    char *queue;              /* scheduler: QUEUE reply (owned) */
    char *workers;            /* scheduler: WORKERS reply (owned) */
} cli_st_daemon_t;

typedef struct {
    int64_t at_mono_ms; /* when collected */
    int64_t at_wall_ms;
    /* Redis */
    bool redis_ok;
    char redis_err[CLI_ST_ERR_MAX];
    char leader[CLI_ST_NODE_MAX]; /* leader node, "" when nobody leads */
    int64_t leader_ttl_ms;        /* lease left */
    /* MariaDB */
    bool db_ok;
    char db_err[CLI_ST_ERR_MAX];
    uint64_t epoch;       /* leadership.epoch of the scheduler role */
    cli_st_node_t *nodes; /* CLI_ST_NODES entries (owned) */
    int nnodes;
    cli_st_group_t groups[CLI_ST_GROUPS];
    int ngroups;
    /* this node */
    cli_st_daemon_t daemons[CLI_ST_DAEMONS];
    bool rrdc_ok;
    char rrdc_err[CLI_ST_ERR_MAX];
    char *rrdc_stats; /* "Name: value" lines (owned) */
} cli_st_t;

/* Collects a snapshot into st (zeroed first). Never fails: unreachable parts are marked. */
void cli_status_collect(cli_t *cli, cli_st_t *st);

/* Frees what st owns. */
void cli_status_free(cli_st_t *st);

/* Writes the snapshot as text; prev (may be NULL) turns counters into rates over the interval
   between the two snapshots (top), else rates are averages since each daemon started. */
void cli_status_print_text(cli_t *cli, const cli_st_t *st, const cli_st_t *prev, FILE *out);

/* Writes the snapshot as one JSON object (one line). */
void cli_status_print_json(cli_t *cli, const cli_st_t *st, const cli_st_t *prev, FILE *out);

/* Job figures of one local daemon: rates per minute and job times (ms; -1 unknown). */
typedef struct {
    double done_per_min, failed_per_min;
    double mean_ms, p95_ms;
    double queued, in_flight; /* -1 when the daemon does not say */
} cli_st_jobs_t;

void cli_status_jobs(const cli_st_daemon_t *d, const cli_st_daemon_t *prev, double dt_s,
                     cli_st_jobs_t *out);

#endif
