/*  cli_status_print.c - text and JSON rendering of a status snapshot
    SPDX-License-Identifier: MIT */
#include "cli_status.h"

#include <stdlib.h>
#include <string.h>

#define S_STALE_FACTOR 3 /* a node silent for 3 report periods is stale */

static const char *const s_stage_kinds[][2] = {
    {"poller", "poll"}, {"discoverer", "discover"}, {"biller", "bill"}, {NULL, NULL}};

//  Reads "key=value" from a QUEUE line; -1 when absent.
static double s_kv(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *at = strstr(line, pat);
    if (!at && strncmp(line, pat + 1, strlen(pat + 1)) == 0)
        at = line - 1;
    return at ? strtod(at + strlen(pat), NULL) : -1;
}

//  Finds the QUEUE line of kind (the one without group=); copies it into buf.
static bool s_queue_line(const char *queue, const char *kind, char *buf, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "kind=%s ", kind);
    for (const char *l = queue; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        if (strncmp(l, pat, strlen(pat)) == 0 && !memmem(l, len, "group=", 6)) {
            snprintf(buf, size, "%.*s", (int)len, l);
            return true;
        }
    }
    return false;
}

static const cli_st_daemon_t *s_daemon(const cli_st_t *st, const char *name)
{
    for (int i = 0; i < CLI_ST_DAEMONS; i++)
        if (st->daemons[i].name && strcmp(st->daemons[i].name, name) == 0)
            return &st->daemons[i];
    return NULL;
}

static bool s_is_scheduler_node(const cli_st_t *st, const cli_st_node_t *n)
{
    for (int s = 0; s < n->nstages; s++) {
        const cli_st_stage_t *g = &n->stages[s];
        int64_t freq_ms = (g->frequency_s > 0 ? g->frequency_s : 60) * 1000;
        if (strcmp(g->stage, "scheduler") == 0 && g->last_report_ms > 0 &&
            st->at_wall_ms - g->last_report_ms < S_STALE_FACTOR * freq_ms)
            return true;
    }
    return false;
}

static void s_fmt_num(double v, const char *fmt, char *buf, size_t size)
{
    if (v < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, fmt, v);
}

//  The job row of a stage: queue figures from the leader's QUEUE (when this node runs the
//  scheduler), rates and times from this node's daemon of that stage.
static void s_stage_jobs(const cli_st_t *st, const cli_st_t *prev, const char *stage,
                         const char *kind, cli_st_jobs_t *j)
{
    const cli_st_daemon_t *d = s_daemon(st, stage), *pd = prev ? s_daemon(prev, stage) : NULL;
    double dt_s = prev ? (double)(st->at_mono_ms - prev->at_mono_ms) / 1000 : 0;
    cli_status_jobs(d, pd, dt_s, j);
    const cli_st_daemon_t *sch = s_daemon(st, "scheduler");
    char line[512];
    if (kind && sch && sch->up && sch->queue && s_queue_line(sch->queue, kind, line, sizeof line)) {
        double due = s_kv(line, "due"), leased = s_kv(line, "leased");
        j->queued = due >= 0 && leased >= 0 ? due - leased : due;
        j->in_flight = leased;
    }
}

static void s_print_jobs(const cli_st_t *st, const cli_st_t *prev, FILE *out)
{
    fprintf(out, "\njobs (queue: leader's QUEUE; rates and times: this node's daemons, %s)\n",
            prev ? "over the last interval" : "average since start");
    fprintf(out, "  %-11s %8s %9s %9s %10s %9s %9s\n", "STAGE", "QUEUED", "IN FLIGHT", "DONE/MIN",
            "FAILED/MIN", "MEAN", "P95");
    for (int i = 0; s_stage_kinds[i][0]; i++) {
        cli_st_jobs_t j;
        s_stage_jobs(st, prev, s_stage_kinds[i][0], s_stage_kinds[i][1], &j);
        char q[16], f[16], d[16], e[16], m[16], p[16];
        s_fmt_num(j.queued, "%.0f", q, sizeof q);
        s_fmt_num(j.in_flight, "%.0f", f, sizeof f);
        s_fmt_num(j.done_per_min, "%.1f", d, sizeof d);
        s_fmt_num(j.failed_per_min, "%.1f", e, sizeof e);
        s_fmt_num(j.mean_ms, "%.0fms", m, sizeof m);
        s_fmt_num(j.p95_ms, "%.0fms", p, sizeof p);
        fprintf(out, "  %-11s %8s %9s %9s %10s %9s %9s\n", s_stage_kinds[i][0], q, f, d, e, m, p);
    }
}

static void s_print_nodes(const cli_st_t *st, FILE *out)
{
    fprintf(out, "\nnodes\n  %-18s %-18s %-8s %-22s %-26s %s\n", "NODE_ID", "HOST", "GROUPS",
            "LAST HEARTBEAT", "STAGE(workers depth done/min mean)", "");
    for (int i = 0; i < st->nnodes; i++) {
        const cli_st_node_t *n = &st->nodes[i];
        char ago[CLI_TIME_MAX];
        fprintf(out, "  %-18s %-18s %-8s %-22s", n->node_id, n->host, n->groups,
                cli_fmt_ago(n->last_report_ms, ago, sizeof ago));
        if (!n->nstages)
            fprintf(out, " -");
        for (int s = 0; s < n->nstages; s++) {
            const cli_st_stage_t *g = &n->stages[s];
            double per_min =
                g->frequency_s > 0 ? (double)g->devices * 60 / (double)g->frequency_s : 0;
            double mean_ms = g->devices > 0 ? g->worker_seconds * 1000 / (double)g->devices : 0;
            fprintf(out, "%s%s(%lld %lld %.1f %.0fms)", s ? ", " : " ", g->stage,
                    (long long)g->workers, (long long)g->depth, per_min, mean_ms);
        }
        fprintf(out, "%s\n",
                strcmp(n->node_id, st->leader) == 0 && st->leader[0] ? "  [leader]" : "");
    }
    if (!st->nnodes)
        fprintf(out, "  (no node has reported yet)\n");
}

static void s_print_local(const cli_t *cli, const cli_st_t *st, FILE *out)
{
    fprintf(out, "\nthis node (%s)\n", cli->cfg->node_id ? cli->cfg->node_id : "?");
    for (int i = 0; i < CLI_ST_DAEMONS && st->daemons[i].name; i++) {
        const cli_st_daemon_t *d = &st->daemons[i];
        char state[32] = "", value[64];
        if (d->up && cli_stats_get(d->stats, "state", state, sizeof state))
            fprintf(out, "  %-11s %s, up %.0f s, pid %.0f\n", d->name, state,
                    cli_stats_num(d->stats, "uptime_s", 0), cli_stats_num(d->stats, "pid", 0));
        else
            fprintf(out, "  %-11s %s\n", d->name, d->absent ? "not running here" : d->err);
        if (d->up && strcmp(d->name, "rrdwriter") == 0)
            for (const char *l = d->stats; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : 0) {
                size_t len = strcspn(l, "\n");
                if (memmem(l, len, "spool", 5) || memmem(l, len, "backlog", 7) ||
                    memmem(l, len, "pending", 7) || memmem(l, len, "queue", 5)) {
                    snprintf(value, sizeof value, "%.*s", (int)len, l);
                    fprintf(out, "              %s\n", value);
                }
            }
    }
}

static void s_print_leader(const cli_st_t *st, FILE *out)
{
    if (!st->redis_ok)
        fprintf(out, "leader      unknown (Redis unreachable)\n");
    else if (!st->leader[0])
        fprintf(out, "leader      none: no scheduler holds %s\n", "dp:leader:scheduler");
    else
        fprintf(out, "leader      %s (lease %.1f s left, epoch %llu)\n", st->leader,
                (double)st->leader_ttl_ms / 1000, (unsigned long long)st->epoch);
    fprintf(out, "standbys    ");
    int k = 0;
    for (int i = 0; i < st->nnodes; i++)
        if (s_is_scheduler_node(st, &st->nodes[i]) && strcmp(st->nodes[i].node_id, st->leader))
            fprintf(out, "%s%s", k++ ? ", " : "", st->nodes[i].node_id);
    fprintf(out, "%s\n", k ? "" : st->db_ok ? "none" : "unknown (MariaDB unreachable)");
}

static void s_print_unreachable(const cli_st_t *st, FILE *out)
{
    int k = 0;
    if (!st->redis_ok)
        fprintf(out, "%s  Redis: %s\n", k++ ? "" : "\nunreachable\n", st->redis_err);
    if (!st->db_ok)
        fprintf(out, "%s  MariaDB: %s\n", k++ ? "" : "\nunreachable\n", st->db_err);
    if (!st->rrdc_ok)
        fprintf(out, "%s  rrdcached: %s\n", k++ ? "" : "\nunreachable\n", st->rrdc_err);
    for (int i = 0; i < CLI_ST_DAEMONS && st->daemons[i].name; i++)
        if (!st->daemons[i].up && !st->daemons[i].absent)
            fprintf(out, "%s  %s on this node: %s\n", k++ ? "" : "\nunreachable\n",
                    st->daemons[i].name, st->daemons[i].err);
}

//  --------------------------------------------------------------------------
void cli_status_print_text(cli_t *cli, const cli_st_t *st, const cli_st_t *prev, FILE *out)
{
    char when[CLI_TIME_MAX];
    fprintf(out, "distpoll status at %s UTC\n\n", cli_fmt_time(st->at_wall_ms, when, sizeof when));
    s_print_leader(st, out);
    if (st->db_ok)
        s_print_nodes(st, out);
    s_print_jobs(st, prev, out);
    if (st->db_ok) {
        fprintf(out, "\noverdue devices per group (not polled within %lld s)\n",
                (long long)((cli->cfg->poller_interval_ms + cli->cfg->job_timeout_ms) / 1000));
        for (int i = 0; i < st->ngroups; i++)
            fprintf(out, "  group %-4ld %lld overdue of %lld (%lld down)\n", st->groups[i].group,
                    (long long)st->groups[i].overdue, (long long)st->groups[i].devices,
                    (long long)st->groups[i].down);
        if (!st->ngroups)
            fprintf(out, "  (no enabled devices)\n");
    }
    s_print_local(cli, st, out);
    if (st->rrdc_ok) {
        fprintf(out, "\nrrdcached (%s)\n", cli->cfg->rrdcached);
        for (const char *l = st->rrdc_stats; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : 0)
            fprintf(out, "  %.*s\n", (int)strcspn(l, "\n"), l);
    }
    s_print_unreachable(st, out);
}

static void s_json_num(FILE *out, const char *key, double v, bool comma)
{
    fprintf(out, "%s\"%s\":", comma ? "," : "", key);
    if (v < 0)
        fputs("null", out);
    else
        fprintf(out, "%.3f", v);
}

//  Writes "name: value" lines as a JSON object (numbers when they parse).
static void s_json_stats(FILE *out, const char *text)
{
    fputc('{', out);
    int k = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        const char *colon = memchr(l, ':', len);
        if (!colon || colon == l)
            continue;
        char key[128], value[512];
        snprintf(key, sizeof key, "%.*s", (int)(colon - l), l);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        snprintf(value, sizeof value, "%.*s", (int)(len - (size_t)(v - l)), v);
        fputs(k++ ? "," : "", out);
        cli_json_str(out, key);
        fputc(':', out);
        char *end;
        strtod(value, &end);
        if (*value && !*end && strspn(value, "0123456789.-") == strlen(value))
            fputs(value, out);
        else
            cli_json_str(out, value);
    }
    fputc('}', out);
}

static void s_json_nodes(const cli_st_t *st, FILE *out)
{
    fputs(",\"nodes\":[", out);
    for (int i = 0; i < st->nnodes; i++) {
        const cli_st_node_t *n = &st->nodes[i];
        fprintf(out, "%s{\"node_id\":", i ? "," : "");
        cli_json_str(out, n->node_id);
        fputs(",\"host\":", out);
        cli_json_str(out, n->host);
        fprintf(out, ",\"groups\":[%s],\"last_report_ms\":%lld,\"leader\":%s,\"stages\":[",
                n->groups[0] == '?' ? "" : n->groups, (long long)n->last_report_ms,
                strcmp(n->node_id, st->leader) == 0 ? "true" : "false");
        for (int s = 0; s < n->nstages; s++) {
            const cli_st_stage_t *g = &n->stages[s];
            fprintf(out,
                    "%s{\"stage\":\"%s\",\"workers\":%lld,\"depth\":%lld,\"devices\":%lld,"
                    "\"worker_seconds\":%.3f,\"frequency_s\":%lld,\"last_report_ms\":%lld}",
                    s ? "," : "", g->stage, (long long)g->workers, (long long)g->depth,
                    (long long)g->devices, g->worker_seconds, (long long)g->frequency_s,
                    (long long)g->last_report_ms);
        }
        fputs("]}", out);
    }
    fputs("]", out);
}

static void s_json_daemons(const cli_st_t *st, FILE *out)
{
    fputs(",\"daemons\":[", out);
    for (int i = 0; i < CLI_ST_DAEMONS && st->daemons[i].name; i++) {
        const cli_st_daemon_t *d = &st->daemons[i];
        fprintf(out, "%s{\"name\":\"%s\",\"up\":%s,\"running_here\":%s,\"error\":", i ? "," : "",
                d->name, d->up ? "true" : "false", d->absent ? "false" : "true");
        cli_json_str(out, d->up ? NULL : d->err);
        fputs(",\"stats\":", out);
        if (d->up)
            s_json_stats(out, d->stats);
        else
            fputs("null", out);
        if (d->leader) {
            fputs(",\"leader\":", out);
            s_json_stats(out, d->leader);
        }
        if (d->queue) {
            fputs(",\"queue\":", out);
            cli_json_str(out, d->queue);
        }
        if (d->workers) {
            fputs(",\"workers\":", out);
            cli_json_str(out, d->workers);
        }
        fputs("}", out);
    }
    fputs("]", out);
}

//  --------------------------------------------------------------------------
void cli_status_print_json(cli_t *cli, const cli_st_t *st, const cli_st_t *prev, FILE *out)
{
    fprintf(out, "{\"at_ms\":%lld,\"node\":", (long long)st->at_wall_ms);
    cli_json_str(out, cli->cfg->node_id);
    fputs(",\"leader\":", out);
    if (!st->redis_ok || !st->leader[0])
        fputs("null", out);
    else {
        fputs("{\"node\":", out);
        cli_json_str(out, st->leader);
        fprintf(out, ",\"ttl_ms\":%lld,\"epoch\":%llu}", (long long)st->leader_ttl_ms,
                (unsigned long long)st->epoch);
    }
    fputs(",\"standbys\":[", out);
    for (int i = 0, k = 0; i < st->nnodes; i++)
        if (s_is_scheduler_node(st, &st->nodes[i]) && strcmp(st->nodes[i].node_id, st->leader)) {
            fputs(k++ ? "," : "", out);
            cli_json_str(out, st->nodes[i].node_id);
        }
    fputs("]", out);
    s_json_nodes(st, out);
    fputs(",\"jobs\":[", out);
    for (int i = 0; s_stage_kinds[i][0]; i++) {
        cli_st_jobs_t j;
        s_stage_jobs(st, prev, s_stage_kinds[i][0], s_stage_kinds[i][1], &j);
        fprintf(out, "%s{\"stage\":\"%s\"", i ? "," : "", s_stage_kinds[i][0]);
        s_json_num(out, "queued", j.queued, true);
        s_json_num(out, "in_flight", j.in_flight, true);
        s_json_num(out, "done_per_min", j.done_per_min, true);
        s_json_num(out, "failed_per_min", j.failed_per_min, true);
        s_json_num(out, "mean_ms", j.mean_ms, true);
        s_json_num(out, "p95_ms", j.p95_ms, true);
        fputs("}", out);
    }
    fputs("],\"overdue\":[", out);
    for (int i = 0; i < st->ngroups; i++)
        fprintf(out, "%s{\"group\":%ld,\"devices\":%lld,\"overdue\":%lld,\"down\":%lld}",
                i ? "," : "", st->groups[i].group, (long long)st->groups[i].devices,
                (long long)st->groups[i].overdue, (long long)st->groups[i].down);
    fputs("]", out);
    s_json_daemons(st, out);
    fputs(",\"rrdcached\":", out);
    if (st->rrdc_ok)
        s_json_stats(out, st->rrdc_stats);
    else
        fputs("null", out);
    fputs(",\"unreachable\":{", out);
    int k = 0;
    const char *names[3] = {"redis", "mariadb", "rrdcached"};
    const char *errs[3] = {st->redis_ok ? NULL : st->redis_err, st->db_ok ? NULL : st->db_err,
                           st->rrdc_ok ? NULL : st->rrdc_err};
    for (int i = 0; i < 3; i++)
        if (errs[i]) {
            fprintf(out, "%s\"%s\":", k++ ? "," : "", names[i]);
            cli_json_str(out, errs[i]);
        }
    for (int i = 0; i < CLI_ST_DAEMONS && st->daemons[i].name; i++)
        if (!st->daemons[i].up && !st->daemons[i].absent) {
            fprintf(out, "%s\"%s\":", k++ ? "," : "", st->daemons[i].name);
            cli_json_str(out, st->daemons[i].err);
        }
    fputs("}}\n", out);
}
