/*  scheduler_dispatch.c - workers, credit, leases: turning due targets into JOBs
    A worker's usable credit is min(credit it reported - jobs sent since, slots - our leases
    at it): a CREDIT that crossed our jobs on the wire cannot bury it. Leases are keyed by
    job_id = epoch << 32 | sequence, unique across leaders.
    SPDX-License-Identifier: MIT */
#include "scheduler_dispatch.h"
#include "dp_log.h"
#include "dp_time.h"

#include <czmq.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define S_KINDS   DP_MSG_KIND_COUNT
#define S_KEY_LEN 24

typedef struct {
    uint8_t rid[SCHEDULER_RID_MAX]; /* ROUTER routing id */
    size_t rid_len;                 /* its length */
    char node[DP_MSG_NODE_MAX + 1]; /* NODE_ID */
    dp_msg_kind_t kind;             /* kind its stage works */
    int *groups;                    /* groups served */
    int ngroups;                    /* entries in groups */
    int credit;                     /* reported free slots minus jobs sent since */
    int slots;                      /* reported total slots; 0 unknown */
    int leased;                     /* our leases at it */
    int64_t last_seen_ms;           /* monotonic, last CREDIT or RESULT */
} s_worker_t;

typedef struct {
    uint64_t job_id;     /* key */
    dp_msg_kind_t kind;  /* plan */
    uint64_t target;     /* target id in that plan */
    s_worker_t *worker;  /* where it went; NULL once the worker is gone */
    int64_t deadline_ms; /* monotonic */
} s_lease_t;

struct scheduler_dispatch {
    char *node;                       /* sender node */
    scheduler_plan_t *plans[S_KINDS]; /* borrowed */
    scheduler_send_fn *send;          /* transport */
    void *send_arg;                   /* its argument */
    s_worker_t **workers;             /* live workers */
    int nworkers;                     /* entries */
    zhashx_t *leases;                 /* "job_id" -> s_lease_t * */
    int leases_by_kind[S_KINDS];      /* outstanding per kind */
    int64_t job_timeout_ms;           /* lease length */
    uint32_t seq;                     /* job id sequence within an epoch */
    uint64_t seq_epoch;               /* epoch of seq */
    uint64_t msg_seq;                 /* envelope msg_id */
    int done_jobs[S_KINDS];           /* settled since take_done */
    int64_t done_took_ms[S_KINDS];    /* their took_ms */
    dp_stats_t *stats;                /* borrowed */
    dp_trace_batch_t *trace;          /* borrowed; NULL: no trace stamps */
    dp_counter_t *c_emitted, *c_done, *c_failed, *c_reissued, *c_expired, *c_late, *c_busy,
        *c_refused, *c_already, *c_bad, *c_send_failed, *c_abandoned, *c_stale;
};

static const char *s_stages[S_KINDS] = {NULL, "poller", "discoverer", "biller"};

static void s_key(uint64_t id, char *buf)
{
    snprintf(buf, S_KEY_LEN, "%" PRIu64, id);
}

static dp_msg_kind_t s_kind_of_stage(const char *stage)
{
    for (int k = 1; k < S_KINDS; k++)
        if (strcmp(stage, s_stages[k]) == 0)
            return (dp_msg_kind_t)k;
    return DP_MSG_KIND_NONE;
}

static s_worker_t *s_worker_find(scheduler_dispatch_t *d, const void *rid, size_t len)
{
    for (int i = 0; i < d->nworkers; i++)
        if (d->workers[i]->rid_len == len && memcmp(d->workers[i]->rid, rid, len) == 0)
            return d->workers[i];
    return NULL;
}

static bool s_serves(const s_worker_t *w, int group)
{
    for (int i = 0; i < w->ngroups; i++)
        if (w->groups[i] == group)
            return true;
    return false;
}

static int s_avail(const s_worker_t *w)
{
    int a = w->credit;
    if (w->slots > 0 && w->slots - w->leased < a)
        a = w->slots - w->leased;
    return a;
}

static int64_t s_busy_delay_s(const scheduler_dispatch_t *d)
{
    int64_t ms = d->job_timeout_ms / 2;
    if (ms > SCHEDULER_BUSY_DELAY_MS)
        ms = SCHEDULER_BUSY_DELAY_MS;
    return ms < 1000 ? 1 : ms / 1000;
}

//  Removes the lease (and its worker accounting). Returns the target, or NULL when the
//  plan no longer knows it.
static scheduler_target_t *s_lease_end(scheduler_dispatch_t *d, s_lease_t *l)
{
    char key[S_KEY_LEN];
    s_key(l->job_id, key);
    if (l->worker && l->worker->leased > 0)
        l->worker->leased--;
    d->leases_by_kind[l->kind]--;
    scheduler_plan_t *plan = d->plans[l->kind];
    scheduler_target_t *t = plan ? scheduler_plan_find(plan, l->target) : NULL;
    if (t && (t->state != SCHEDULER_TARGET_LEASED || t->job_id != l->job_id))
        t = NULL;
    zhashx_delete(d->leases, key); /* frees l */
    return t;
}

static void s_lease_requeue(scheduler_dispatch_t *d, s_lease_t *l, int64_t delay_s, int64_t now_s)
{
    dp_msg_kind_t kind = l->kind;
    scheduler_target_t *t = s_lease_end(d, l);
    if (t)
        scheduler_plan_retry(d->plans[kind], t, delay_s, now_s);
}

static void s_worker_remove(scheduler_dispatch_t *d, int i, int64_t now_s, const char *why)
{
    s_worker_t *w = d->workers[i];
    int requeued = 0;
    zlistx_t *keys = zhashx_keys(d->leases);
    for (char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        s_lease_t *l = zhashx_lookup(d->leases, k);
        if (l && l->worker == w) {
            l->worker = NULL;
            s_lease_requeue(d, l, 0, now_s);
            (*d->c_reissued)++;
            requeued++;
        }
    }
    zlistx_destroy(&keys);
    dp_log_notice("worker gone", "node=%s stage=%s why=%s requeued=%d", w->node,
                  s_stages[w->kind] ? s_stages[w->kind] : "?", why, requeued);
    free(w->groups);
    free(w);
    d->workers[i] = d->workers[--d->nworkers];
    dp_stats_set(d->stats, "workers", (uint64_t)d->nworkers);
}

static void s_on_credit(scheduler_dispatch_t *d, const void *rid, size_t len,
                        const dp_msg_credit_t *c, int64_t now_ms)
{
    dp_msg_kind_t kind = s_kind_of_stage(c->stage);
    if (kind == DP_MSG_KIND_NONE || len > SCHEDULER_RID_MAX) {
        (*d->c_bad)++;
        return;
    }
    s_worker_t *w = s_worker_find(d, rid, len);
    if (!w) {
        w = calloc(1, sizeof *w);
        memcpy(w->rid, rid, len);
        w->rid_len = len;
        d->workers = realloc(d->workers, (size_t)(d->nworkers + 1) * sizeof *d->workers);
        d->workers[d->nworkers++] = w;
        dp_stats_set(d->stats, "workers", (uint64_t)d->nworkers);
        dp_log_notice("worker joined", "node=%s stage=%s credit=%d", c->node, c->stage, c->credit);
    }
    snprintf(w->node, sizeof w->node, "%s", c->node);
    w->kind = kind;
    w->credit = c->credit;
    w->slots = c->slots;
    w->last_seen_ms = now_ms;
    free(w->groups);
    w->groups = malloc(sizeof(int) * (c->n_groups ? c->n_groups : 1));
    memcpy(w->groups, c->groups, sizeof(int) * c->n_groups);
    w->ngroups = (int)c->n_groups;
}

//  Settles the lease of a RESULT according to its status.
static void s_on_result(scheduler_dispatch_t *d, const void *rid, size_t len,
                        const dp_msg_result_t *r, int64_t now_ms, int64_t now_s)
{
    s_worker_t *w = s_worker_find(d, rid, len);
    if (w)
        w->last_seen_ms = now_ms;
    if (d->trace && r->device_id) /* a late result of an older job is ignored by the trace */
        dp_trace_batch_mark_job(d->trace, r->device_id, r->job_id, "result_ms", "%lld",
                                (long long)dp_time_wall_ms());
    char key[S_KEY_LEN];
    s_key(r->job_id, key);
    s_lease_t *l = zhashx_lookup(d->leases, key);
    if (!l || l->kind != r->kind) {
        (*d->c_late)++;
        dp_log_debug("late result", "job_id=%" PRIu64 " node=%s status=%s", r->job_id, r->node,
                     dp_msg_status_name(r->status));
        return;
    }
    dp_msg_kind_t kind = l->kind;
    bool busy = r->status == DP_MSG_STATUS_ERROR && r->reason && strcmp(r->reason, "busy") == 0;
    bool stale =
        r->status == DP_MSG_STATUS_ERROR && r->reason && strcmp(r->reason, "stale epoch") == 0;
    /* a worker that sent no credit turned the job away untried (dp_jobs: paused at its
       metrics buffer or draining, full, no handler): requeued, not a failure */
    bool refused = r->status == DP_MSG_STATUS_ERROR && r->reason &&
                   (strcmp(r->reason, "paused") == 0 || strcmp(r->reason, "no credit") == 0 ||
                    strcmp(r->reason, "no handler") == 0);
    if (r->status == DP_MSG_STATUS_ERROR) {
        if (busy)
            (*d->c_busy)++;
        else if (refused)
            (*d->c_refused)++;
        else
            (*d->c_failed)++;
        if (stale)
            (*d->c_stale)++;
        dp_log_debug("job not done", "job_id=%" PRIu64 " node=%s reason=\"%s\"", r->job_id, r->node,
                     r->reason ? r->reason : "");
        s_lease_requeue(d, l, busy ? s_busy_delay_s(d) : SCHEDULER_ERROR_DELAY_MS / 1000, now_s);
        return;
    }
    scheduler_target_t *t = s_lease_end(d, l);
    (*d->c_done)++;
    if (r->status != DP_MSG_STATUS_OK)
        (*d->c_failed)++;
    else if (r->reason && strcmp(r->reason, "already done") == 0)
        (*d->c_already)++;
    d->done_jobs[kind]++;
    d->done_took_ms[kind] += r->took_ms;
    if (t)
        scheduler_plan_done(d->plans[kind], t, now_s);
}

//  Worker of kind's stage serving group with the most usable credit, or NULL.
static s_worker_t *s_pick(scheduler_dispatch_t *d, dp_msg_kind_t kind, int group)
{
    s_worker_t *best = NULL;
    int best_avail = 0;
    for (int i = 0; i < d->nworkers; i++) {
        s_worker_t *w = d->workers[i];
        if (w->kind != kind || !s_serves(w, group))
            continue;
        int a = s_avail(w);
        if (a > best_avail) {
            best = w;
            best_avail = a;
        }
    }
    return best;
}

static dp_msg_t *s_job(scheduler_dispatch_t *d, dp_msg_kind_t kind, const scheduler_target_t *t,
                       uint64_t job_id, uint64_t epoch, int64_t cycle_s, int attempt)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_JOB);
    m->msg_id = ++d->msg_seq;
    m->created_ms = dp_time_wall_ms();
    m->sender_node = strdup(d->node);
    m->job.job_id = job_id;
    m->job.kind = kind;
    m->job.device_id = kind == DP_MSG_KIND_BILL ? 0 : t->id;
    m->job.bill_id = kind == DP_MSG_KIND_BILL ? t->ref : 0; /* its part: job.group */
    if (t->hostname && *t->hostname)
        m->job.hostname = strdup(t->hostname);
    else if (asprintf(&m->job.hostname, "target-%" PRIu64, t->id) < 0)
        abort();
    m->job.group = t->group;
    m->job.epoch = epoch;
    m->job.cycle_ts = cycle_s;
    m->job.deadline_ms = m->created_ms + d->job_timeout_ms;
    m->job.attempt = attempt > DP_MSG_ATTEMPT_MAX ? DP_MSG_ATTEMPT_MAX : attempt;
    return m;
}

//  Sends one job for t to w. Returns 0, or -1 (t stays READY).
static int s_send_job(scheduler_dispatch_t *d, dp_msg_kind_t kind, scheduler_target_t *t,
                      s_worker_t *w, uint64_t epoch, int64_t now_ms, int64_t now_s)
{
    if (d->seq_epoch != epoch) {
        d->seq_epoch = epoch;
        d->seq = 0;
    }
    uint64_t job_id = epoch << 32 | ++d->seq;
    int64_t cycle_s = scheduler_plan_cycle(d->plans[kind], t, now_s);
    dp_msg_t *m = s_job(d, kind, t, job_id, epoch, cycle_s, t->attempt + 1);
    int64_t sent_ms = m->created_ms; /* before the send: the worker may stamp within the ms */
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    int rc = dp_msg_encode(m, &data, &size, &err);
    dp_msg_destroy(&m);
    if (rc == 0)
        rc = d->send(d->send_arg, w->rid, w->rid_len, data, size);
    free(data);
    if (rc != 0) {
        (*d->c_send_failed)++;
        w->credit = 0; /* skip it until it reports again */
        return -1;
    }
    if (d->trace && kind != DP_MSG_KIND_BILL)
        dp_trace_batch_begin(d->trace, t->id, job_id, dp_msg_kind_name(kind), epoch, d->node,
                             sent_ms);
    scheduler_plan_lease(d->plans[kind], t, job_id, now_s);
    s_lease_t *l = malloc(sizeof *l);
    *l = (s_lease_t){job_id, kind, t->id, w, now_ms + d->job_timeout_ms};
    char key[S_KEY_LEN];
    s_key(job_id, key);
    zhashx_insert(d->leases, key, l);
    d->leases_by_kind[kind]++;
    w->leased++;
    w->credit--;
    (*d->c_emitted)++;
    if (t->attempt > 1)
        dp_log_debug("job re-issued", "job_id=%" PRIu64 " id=%" PRIu64 " attempt=%d node=%s",
                     job_id, t->id, t->attempt, w->node);
    return 0;
}

//  Dispatches kind's due targets, oldest first across groups. Returns jobs sent.
static int s_run_kind(scheduler_dispatch_t *d, dp_msg_kind_t kind, uint64_t epoch, int budget,
                      int64_t now_ms, int64_t now_s)
{
    scheduler_plan_t *plan = d->plans[kind];
    int sent = 0;
    while (sent < budget) {
        scheduler_target_t *best = NULL;
        s_worker_t *best_w = NULL;
        for (int g = 0; g < scheduler_plan_ngroups(plan); g++) {
            int group = scheduler_plan_group_at(plan, g);
            scheduler_target_t *t = scheduler_plan_next(plan, group);
            if (!t || (best && t->due_s >= best->due_s))
                continue;
            s_worker_t *w = s_pick(d, kind, group);
            if (w) {
                best = t;
                best_w = w;
            }
        }
        if (!best)
            break;
        if (best->attempt >= DP_MSG_ATTEMPT_MAX) { /* give this cycle up */
            (*d->c_abandoned)++;
            scheduler_plan_lease(plan, best, 0, now_s);
            scheduler_plan_done(plan, best, now_s);
            continue;
        }
        if (s_send_job(d, kind, best, best_w, epoch, now_ms, now_s) == 0)
            sent++;
    }
    return sent;
}

static void s_free_lease(void **item)
{
    free(*item);
    *item = NULL;
}

//  --------------------------------------------------------------------------
scheduler_dispatch_t *scheduler_dispatch_new(const char *node, dp_stats_t *stats,
                                             scheduler_send_fn *send, void *send_arg)
{
    scheduler_dispatch_t *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->node = strdup(node);
    d->stats = stats;
    d->send = send;
    d->send_arg = send_arg;
    d->job_timeout_ms = 60000;
    d->leases = zhashx_new();
    zhashx_set_destructor(d->leases, s_free_lease);
    d->c_emitted = dp_stats_counter(stats, "jobs_emitted");
    d->c_done = dp_stats_counter(stats, "jobs_done");
    d->c_failed = dp_stats_counter(stats, "jobs_failed");
    d->c_reissued = dp_stats_counter(stats, "jobs_reissued");
    d->c_expired = dp_stats_counter(stats, "jobs_expired");
    d->c_late = dp_stats_counter(stats, "results_late");
    d->c_busy = dp_stats_counter(stats, "jobs_busy");
    d->c_refused = dp_stats_counter(stats, "jobs_refused");
    d->c_already = dp_stats_counter(stats, "jobs_already_done");
    d->c_bad = dp_stats_counter(stats, "messages_bad");
    d->c_send_failed = dp_stats_counter(stats, "send_failed");
    d->c_abandoned = dp_stats_counter(stats, "jobs_abandoned");
    d->c_stale = dp_stats_counter(stats, "jobs_stale");
    dp_stats_set(stats, "workers", 0);
    return d;
}

//  --------------------------------------------------------------------------
void scheduler_dispatch_destroy(scheduler_dispatch_t **p)
{
    if (!p || !*p)
        return;
    scheduler_dispatch_t *d = *p;
    zhashx_destroy(&d->leases);
    for (int i = 0; i < d->nworkers; i++) {
        free(d->workers[i]->groups);
        free(d->workers[i]);
    }
    free(d->workers);
    free(d->node);
    free(d);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void scheduler_dispatch_set_plan(scheduler_dispatch_t *d, dp_msg_kind_t kind,
                                 scheduler_plan_t *plan)
{
    if (kind > DP_MSG_KIND_NONE && kind < S_KINDS)
        d->plans[kind] = plan;
}

//  --------------------------------------------------------------------------
void scheduler_dispatch_set_trace(scheduler_dispatch_t *d, dp_trace_batch_t *batch)
{
    d->trace = batch;
}

//  --------------------------------------------------------------------------
void scheduler_dispatch_set_job_timeout(scheduler_dispatch_t *d, int64_t timeout_ms)
{
    d->job_timeout_ms = timeout_ms < 1000 ? 1000 : timeout_ms;
}

//  --------------------------------------------------------------------------
int scheduler_dispatch_on_message(scheduler_dispatch_t *d, const void *rid, size_t rid_len,
                                  const void *data, size_t size, int64_t now_ms, int64_t now_s)
{
    dp_err_t err = {0};
    dp_msg_t *m = dp_msg_decode(data, size, &err);
    int rc = 0;
    if (!m) {
        (*d->c_bad)++;
        dp_log_warn("bad message from worker", "err=\"%s\"", err.text);
        rc = -1;
    } else if (m->type == DP_MSG_CREDIT)
        s_on_credit(d, rid, rid_len, &m->credit, now_ms);
    else if (m->type == DP_MSG_RESULT)
        s_on_result(d, rid, rid_len, &m->result, now_ms, now_s);
    else {
        (*d->c_bad)++;
        rc = -1;
    }
    dp_msg_destroy(&m);
    return rc;
}

//  --------------------------------------------------------------------------
int scheduler_dispatch_run(scheduler_dispatch_t *d, uint64_t epoch, int64_t now_ms, int64_t now_s)
{
    int sent = 0;
    for (int k = 1; k < S_KINDS; k++) {
        if (!d->plans[k])
            continue;
        scheduler_plan_advance(d->plans[k], now_s);
        sent +=
            s_run_kind(d, (dp_msg_kind_t)k, epoch, SCHEDULER_DISPATCH_BURST - sent, now_ms, now_s);
    }
    return sent;
}

//  --------------------------------------------------------------------------
int scheduler_dispatch_expire(scheduler_dispatch_t *d, int64_t now_ms, int64_t now_s)
{
    int requeued = 0;
    for (int i = d->nworkers - 1; i >= 0; i--) {
        if (now_ms - d->workers[i]->last_seen_ms < SCHEDULER_WORKER_DEAD_MS)
            continue;
        requeued += d->workers[i]->leased;
        s_worker_remove(d, i, now_s, "silent");
    }
    zlistx_t *keys = zhashx_keys(d->leases);
    for (char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        s_lease_t *l = zhashx_lookup(d->leases, k);
        if (!l || l->deadline_ms > now_ms)
            continue;
        dp_log_info("lease expired", "job_id=%" PRIu64 " id=%" PRIu64 " node=%s", l->job_id,
                    l->target, l->worker ? l->worker->node : "(gone)");
        s_lease_requeue(d, l, 0, now_s);
        (*d->c_expired)++;
        (*d->c_reissued)++;
        requeued++;
    }
    zlistx_destroy(&keys);
    return requeued;
}

//  --------------------------------------------------------------------------
void scheduler_dispatch_drop_leases(scheduler_dispatch_t *d, int64_t now_s)
{
    zhashx_purge(d->leases);
    memset(d->leases_by_kind, 0, sizeof d->leases_by_kind);
    for (int i = 0; i < d->nworkers; i++)
        d->workers[i]->leased = 0;
    for (int k = 1; k < S_KINDS; k++)
        if (d->plans[k])
            scheduler_plan_reset_leases(d->plans[k], now_s);
}

int scheduler_dispatch_workers(const scheduler_dispatch_t *d)
{
    return d->nworkers;
}

int scheduler_dispatch_workers_for(const scheduler_dispatch_t *d, dp_msg_kind_t kind)
{
    int n = 0;
    for (int i = 0; i < d->nworkers; i++)
        n += d->workers[i]->kind == kind;
    return n;
}

int scheduler_dispatch_leases(const scheduler_dispatch_t *d, dp_msg_kind_t kind)
{
    if (kind > DP_MSG_KIND_NONE && kind < S_KINDS)
        return d->leases_by_kind[kind];
    return (int)zhashx_size(d->leases);
}

void scheduler_dispatch_take_done(scheduler_dispatch_t *d, dp_msg_kind_t kind, int *jobs,
                                  int64_t *took_ms)
{
    if (kind <= DP_MSG_KIND_NONE || kind >= S_KINDS)
        return;
    *jobs = d->done_jobs[kind];
    *took_ms = d->done_took_ms[kind];
    d->done_jobs[kind] = 0;
    d->done_took_ms[kind] = 0;
}

//  --------------------------------------------------------------------------
char *scheduler_dispatch_workers_text(const scheduler_dispatch_t *d, int64_t now_ms)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        abort();
    for (int i = 0; i < d->nworkers; i++) {
        const s_worker_t *w = d->workers[i];
        fprintf(f, "node=%s stage=%s groups=", w->node, s_stages[w->kind]);
        for (int g = 0; g < w->ngroups; g++)
            fprintf(f, "%s%d", g ? "," : "", w->groups[g]);
        fprintf(f, " credit=%d slots=%d last_seen_ms=%lld leased=%d\n", s_avail(w), w->slots,
                (long long)(now_ms - w->last_seen_ms), w->leased);
    }
    fclose(f);
    return buf;
}

const char *scheduler_dispatch_stage(dp_msg_kind_t kind)
{
    return kind > DP_MSG_KIND_NONE && kind < S_KINDS ? s_stages[kind] : NULL;
}
