/*  cli_status.c - gathers the snapshot shown by distpoll status and top
    SPDX-License-Identifier: MIT */
#include "cli_status.h"
#include "dp_conn.h"
#include "dp_http.h"
#include "dp_settings.h"
#include "dp_time.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_LEADER_KEY     "dp:leader:scheduler"
#define S_CTL_MS         1500 /* per control request */
#define S_RRDC_MS        2000 /* rrdcached STATS deadline */
#define S_RRDC_REPLY_MAX 16384

static void s_collect_redis(cli_t *cli, cli_st_t *st)
{
    dp_err_t err = {0};
    dp_redis_t *r = cli_redis(cli, &err);
    redisReply *rep = r ? dp_redis_command(r, &err, "GET %s", S_LEADER_KEY) : NULL;
    if (!rep) {
        snprintf(st->redis_err, sizeof st->redis_err, "%s", err.text);
        return;
    }
    st->redis_ok = true;
    if (rep->type == REDIS_REPLY_STRING) {
        snprintf(st->leader, sizeof st->leader, "%s", rep->str);
        char *dash = strrchr(st->leader, '-');
        if (dash)
            *dash = '\0';
    }
    freeReplyObject(rep);
    rep = dp_redis_command(r, &err, "PTTL %s", S_LEADER_KEY);
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        st->leader_ttl_ms = rep->integer;
    if (rep)
        freeReplyObject(rep);
}

static void s_collect_nodes(cli_t *cli, cli_st_t *st)
{
    dp_err_t err = {0};
    dp_db_stmt_t *q =
        dp_db_cached(cli->db,
                     "SELECT n.node_id, n.poller_name, n.last_report, s.stage, s.depth, s.devices,"
                     " s.worker_seconds, s.workers, s.frequency, s.last_report FROM nodes n"
                     " LEFT JOIN node_stats s ON s.node_id = n.node_id AND s.stage IN"
                     " ('scheduler', 'poller', 'discoverer', 'biller', 'rrdwriter')"
                     " ORDER BY n.node_id, s.stage",
                     DP_DB_IDEMPOTENT, &err);
    if (!q || dp_db_query(q, &err, NULL) != 0) {
        st->db_ok = false;
        snprintf(st->db_err, sizeof st->db_err, "%s", err.text);
        return;
    }
    while (dp_db_fetch(q) == 1) {
        cli_st_node_t *n = st->nnodes ? &st->nodes[st->nnodes - 1] : NULL;
        if (!n || strcmp(n->node_id, dp_db_col_str(q, 0)) != 0) {
            if (st->nnodes == CLI_ST_NODES)
                continue;
            n = &st->nodes[st->nnodes++];
            snprintf(n->node_id, sizeof n->node_id, "%s", dp_db_col_str(q, 0));
            snprintf(n->host, sizeof n->host, "%s", dp_db_col_str(q, 1));
            n->last_report_ms = dp_db_col_is_null(q, 2) ? 0 : dp_db_col_time_ms(q, 2);
        }
        if (dp_db_col_is_null(q, 3) || n->nstages == CLI_ST_STAGES)
            continue;
        cli_st_stage_t *s = &n->stages[n->nstages++];
        snprintf(s->stage, sizeof s->stage, "%s", dp_db_col_str(q, 3));
        s->depth = dp_db_col_int(q, 4);
        s->devices = dp_db_col_int(q, 5);
        s->worker_seconds = dp_db_col_double(q, 6);
        s->workers = dp_db_col_int(q, 7);
        s->frequency_s = dp_db_col_int(q, 8);
        s->last_report_ms = dp_db_col_is_null(q, 9) ? 0 : dp_db_col_time_ms(q, 9);
    }
    for (int i = 0; i < st->nnodes; i++) {
        dp_settings_t set;
        cli_st_node_t *n = &st->nodes[i];
        if (dp_settings_load(cli->db, n->node_id, &set, &err) != 0) {
            snprintf(n->groups, sizeof n->groups, "?");
            continue;
        }
        size_t len = 0;
        for (int g = 0; g < set.ngroups && len + 12 < sizeof n->groups; g++)
            len += (size_t)snprintf(n->groups + len, sizeof n->groups - len, "%s%d", g ? "," : "",
                                    set.groups[g]);
    }
}

static void s_collect_db(cli_t *cli, cli_st_t *st)
{
    dp_err_t err = {0};
    if (!cli->db)
        cli->db = dp_conn_db_open(cli->cfg, &err); /* not cli_db: status reports, not prints */
    if (!cli->db) {
        snprintf(st->db_err, sizeof st->db_err, "%s", err.text);
        return;
    }
    st->db_ok = true;
    s_collect_nodes(cli, st);
    if (!st->db_ok)
        return;
    if (dp_epoch_current(cli->db, "scheduler", &st->epoch, &err) != 0)
        st->epoch = 0;
    int64_t late_s = (cli->cfg->poller_interval_ms + cli->cfg->job_timeout_ms) / 1000;
    dp_db_stmt_t *q =
        dp_db_cached(cli->db,
                     "SELECT poller_group, COUNT(*),"
                     " SUM(last_polled IS NULL OR last_polled < NOW(3) - INTERVAL ? SECOND),"
                     " SUM(status = 0) FROM devices WHERE disabled = 0 GROUP BY poller_group"
                     " ORDER BY poller_group",
                     DP_DB_IDEMPOTENT, &err);
    if (!q || dp_db_query(q, &err, "i", late_s) != 0) {
        st->db_ok = false;
        snprintf(st->db_err, sizeof st->db_err, "%s", err.text);
        return;
    }
    while (dp_db_fetch(q) == 1 && st->ngroups < CLI_ST_GROUPS) {
        cli_st_group_t *g = &st->groups[st->ngroups++];
        g->group = (long)dp_db_col_int(q, 0);
        g->devices = dp_db_col_int(q, 1);
        g->overdue = dp_db_col_int(q, 2);
        g->down = dp_db_col_int(q, 3);
    }
}

static void s_collect_daemon(cli_t *cli, cli_st_daemon_t *d)
{
    dp_err_t err = {0};
    d->stats = cli_ctl(cli, d->name, "STATS", S_CTL_MS, &err);
    if (!d->stats) {
        d->absent = err.code == DP_ERR_NOTFOUND;
        snprintf(d->err, sizeof d->err, "%s", err.text);
        return;
    }
    d->up = true;
    if (strcmp(d->name, "scheduler") != 0)
        return;
    d->leader = cli_ctl(cli, d->name, "LEADER", S_CTL_MS, &err);
    d->queue = cli_ctl(cli, d->name, "QUEUE", S_CTL_MS, &err);
    d->workers = cli_ctl(cli, d->name, "WORKERS", S_CTL_MS, &err);
}

static void s_collect_rrdcached(cli_t *cli, cli_st_t *st)
{
    const char *addr = cli->cfg->rrdcached;
    if (!addr) {
        snprintf(st->rrdc_err, sizeof st->rrdc_err, "DP_RRDCACHED is not set");
        return;
    }
    int fd = cli_rrdcached_connect(addr, st->rrdc_err, sizeof st->rrdc_err);
    if (fd < 0)
        return;
    char *buf = calloc(1, S_RRDC_REPLY_MAX);
    size_t got = 0;
    int64_t deadline = dp_time_mono_ms() + S_RRDC_MS;
    bool done = false;
    if (!buf || write(fd, "STATS\n", 6) != 6)
        snprintf(st->rrdc_err, sizeof st->rrdc_err, "%s: cannot send STATS", addr);
    else
        while (!done && got + 1 < S_RRDC_REPLY_MAX) {
            int64_t left = deadline - dp_time_mono_ms();
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (left <= 0 || poll(&p, 1, (int)left) <= 0)
                break;
            ssize_t n = read(fd, buf + got, S_RRDC_REPLY_MAX - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            long lines = strtol(buf, NULL, 10);
            long seen = 0;
            for (char *c = buf; *c; c++)
                seen += *c == '\n';
            done = lines >= 0 && seen >= lines + 1;
        }
    close(fd);
    if (done) {
        char *body = strchr(buf, '\n');
        st->rrdc_stats = strdup(body ? body + 1 : "");
        st->rrdc_ok = true;
    } else if (!st->rrdc_err[0])
        snprintf(st->rrdc_err, sizeof st->rrdc_err, "%s: no complete STATS reply within %d ms",
                 addr, S_RRDC_MS);
    free(buf);
}

//  --------------------------------------------------------------------------
void cli_status_collect(cli_t *cli, cli_st_t *st)
{
    memset(st, 0, sizeof *st);
    st->nodes = calloc(CLI_ST_NODES, sizeof *st->nodes);
    if (!st->nodes)
        abort();
    st->at_mono_ms = dp_time_mono_ms();
    st->at_wall_ms = dp_time_wall_ms();
    s_collect_redis(cli, st);
    s_collect_db(cli, st);
    for (int i = 0; i < CLI_ST_DAEMONS && cli_daemons[i]; i++) {
        st->daemons[i].name = cli_daemons[i];
        s_collect_daemon(cli, &st->daemons[i]);
    }
    s_collect_rrdcached(cli, st);
}

//  --------------------------------------------------------------------------
void cli_status_free(cli_st_t *st)
{
    for (int i = 0; i < CLI_ST_DAEMONS; i++) {
        free(st->daemons[i].stats);
        free(st->daemons[i].leader);
        free(st->daemons[i].queue);
        free(st->daemons[i].workers);
    }
    free(st->rrdc_stats);
    free(st->nodes);
    memset(st, 0, sizeof *st);
}

//  Cumulative histogram of "job_ms" from a STATS text; returns the count (0: none).
static uint64_t s_hist(const char *stats, uint64_t *cum, double *sum)
{
    for (int i = 0; i < DP_HTTP_BUCKETS; i++) {
        char name[64];
        snprintf(name, sizeof name, "job_ms_le_%lld", (long long)dp_http_bucket_ms(i));
        cum[i] = (uint64_t)cli_stats_num(stats, name, 0);
    }
    *sum = cli_stats_num(stats, "job_ms_sum", 0);
    return (uint64_t)cli_stats_num(stats, "job_ms_count", 0);
}

static double s_first_num(const char *stats, const char *const *names)
{
    for (; *names; names++) {
        double v = cli_stats_num(stats, *names, -1);
        if (v >= 0)
            return v;
    }
    return -1;
}

//  --------------------------------------------------------------------------
void cli_status_jobs(const cli_st_daemon_t *d, const cli_st_daemon_t *prev, double dt_s,
                     cli_st_jobs_t *out)
{
    static const char *const done_keys[] = {"jobs_done", "results_sent", NULL};
    static const char *const failed_keys[] = {"jobs_failed", NULL};
    static const char *const queued_keys[] = {"jobs_queued", "queued", NULL};
    static const char *const flight_keys[] = {"jobs_in_flight", "in_flight", "leases", NULL};
    *out = (cli_st_jobs_t){-1, -1, -1, -1, -1, -1};
    if (!d->up)
        return;
    bool delta = prev && prev->up && dt_s > 0;
    const char *p = delta ? prev->stats : NULL;
    double span_s = delta ? dt_s : cli_stats_num(d->stats, "uptime_s", 0);
    double done = s_first_num(d->stats, done_keys), failed = s_first_num(d->stats, failed_keys);
    if (delta && done >= 0)
        done -= s_first_num(p, done_keys);
    if (delta && failed >= 0)
        failed -= s_first_num(p, failed_keys);
    if (span_s > 0) {
        out->done_per_min = done >= 0 ? done * 60 / span_s : -1;
        out->failed_per_min = failed >= 0 ? failed * 60 / span_s : -1;
    }
    out->queued = s_first_num(d->stats, queued_keys);
    out->in_flight = s_first_num(d->stats, flight_keys);
    uint64_t cum[DP_HTTP_BUCKETS], pcum[DP_HTTP_BUCKETS] = {0};
    double sum, psum = 0;
    uint64_t n = s_hist(d->stats, cum, &sum), pn = delta ? s_hist(p, pcum, &psum) : 0;
    if (n > pn) {
        for (int i = 0; i < DP_HTTP_BUCKETS; i++)
            cum[i] -= cum[i] >= pcum[i] ? pcum[i] : cum[i];
        out->mean_ms = (sum - psum) / (double)(n - pn);
        out->p95_ms = dp_http_quantile(cum, n - pn, 0.95);
    }
}
