/*  discoverer_worker.c - one discovery thread (see discoverer_worker.h)
    SPDX-License-Identifier: MIT */
#include "discoverer_worker.h"
#include "discoverer_db.h"
#include "discoverer_ports.h"
#include "dp_claim.h"
#include "dp_log.h"
#include "dp_msg.h"
#include "dp_snmp.h"
#include "dp_time.h"
#include "dp_worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_KIND            "discover" /* claim keys dp:lock:discover:<id> */
#define S_SYS_MAXREP      1
#define S_PORTS_MAXREP    10 /* 18 columns x 10 rows: ~180 varbinds per reply, shrunk on tooBig */
#define S_HOST_MAXREP     10
#define S_BUDGET_GRACE_MS 500  /* answer this long before the job's deadline */
#define S_BUDGET_MIN_MS   1000 /* less than this left: the job is answered "expired" */
#define S_CLAIM_EXTRA_MS  5000 /* the claim outlives the budget by this much */
#define S_ERROR_MAX       255  /* devices.discovery_error */

enum {
    S_SYS = DISCOVERER_WALK_SYSTEM,
    S_PORTS = DISCOVERER_WALK_PORTS,
    S_HOST = DISCOVERER_WALK_HOST,
    S_WALKS
};

typedef struct s_job s_job_t;
typedef struct discoverer_worker discoverer_worker_t;

/* Callback argument of one walk. */
typedef struct {
    s_job_t *j;
    int which;
} s_wctx_t;

struct s_job {
    discoverer_worker_t *w;
    dp_msg_t *job;           /* owned */
    discoverer_device_t dev; /* the device row */
    dp_snmp_sess_t *sess;    /* open while walking */
    discoverer_inv_t inv;    /* what the walks stored */
    s_wctx_t wctx[S_WALKS];
    dp_snmp_status_t st[S_WALKS];
    bool ran[S_WALKS]; /* walk started */
    char detail[S_WALKS][DP_SNMP_DETAIL_MAX];
    int walks;                      /* walks running */
    bool budget_hit;                /* session closed at the deadline: running walks cancelled */
    int64_t t0_ms, wall0_ms;        /* start (mono, wall) */
    int64_t t0_us;                  /* start (mono, for took_s: a discovery can take < 1 ms) */
    int64_t deadline_ms, budget_ms; /* mono deadline and the budget it came from */
    s_job_t *prev, *next;           /* active list */
};

struct discoverer_worker {
    int id;
    dp_cfg_t *cfg;           /* own copy; SNMP keys updated by CFG */
    discoverer_shared_t *sh; /* borrowed */
    zsock_t *pipe;
    bool terminated;
    dp_snmp_t *snmp;
    discoverer_db_t *db;
    dp_redis_t *redis;
    char token[DP_LOCK_TOKEN_MAX]; /* claim owner token */
    s_job_t *active;               /* discoveries in progress */
    bool db_down, redis_down;      /* state changes are logged once */
    dp_snmp_stats_t published;     /* engine counters already added to the shared ones */
};

//  Copies src into dst (size > 0), truncated.
static void s_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

//  --------------------------------------------------------------------------
//  Shared state

void discoverer_shared_init(discoverer_shared_t *sh, dp_stats_t *stats)
{
    struct {
        dp_counter_t **c;
        const char *name;
    } map[] = {{&sh->jobs_done, "jobs_done"},
               {&sh->jobs_failed, "jobs_failed"},
               {&sh->devices_discovered, "devices_discovered"},
               {&sh->devices_unreachable, "devices_unreachable"},
               {&sh->ports_new, "ports_new"},
               {&sh->ports_deleted, "ports_deleted"},
               {&sh->ports_undeleted, "ports_undeleted"},
               {&sh->os_unknown, "os_unknown"},
               {&sh->partial, "discoveries_partial"},
               {&sh->budget_exceeded, "budget_exceeded"},
               {&sh->claims_busy, "claims_busy"},
               {&sh->claims_done, "claims_done"},
               {&sh->stale_epoch, "stale_epoch"},
               {&sh->db_errors, "db_errors"},
               {&sh->snmp_requests, "snmp_requests"},
               {&sh->snmp_timeouts, "snmp_timeouts"},
               {&sh->snmp_toobig, "snmp_toobig"},
               {&sh->snmp_parse_errors, "snmp_parse_errors"},
               {&sh->inflight, "inflight"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        *map[i].c = dp_stats_counter(stats, map[i].name);
    pthread_mutex_init(&sh->lock, NULL);
    sh->rules = NULL;
}

void discoverer_shared_destroy(discoverer_shared_t *sh)
{
    discoverer_os_unref(&sh->rules);
    pthread_mutex_destroy(&sh->lock);
}

void discoverer_shared_set_rules(discoverer_shared_t *sh, discoverer_os_rules_t **rules)
{
    pthread_mutex_lock(&sh->lock);
    discoverer_os_rules_t *old = sh->rules;
    sh->rules = *rules;
    *rules = NULL;
    pthread_mutex_unlock(&sh->lock);
    discoverer_os_unref(&old);
}

discoverer_os_rules_t *discoverer_shared_rules(discoverer_shared_t *sh)
{
    pthread_mutex_lock(&sh->lock);
    discoverer_os_rules_t *r = discoverer_os_ref(sh->rules);
    pthread_mutex_unlock(&sh->lock);
    return r;
}

//  --------------------------------------------------------------------------
//  Replies and claims

static void s_reply(discoverer_worker_t *w, uint64_t job_id, dp_msg_status_t st, const char *reason,
                    int64_t took_ms)
{
    if (st == DP_MSG_STATUS_ERROR)
        (*w->sh->jobs_failed)++;
    else
        (*w->sh->jobs_done)++;
    discoverer_done_t done = {
        .job_id = job_id, .status = (int)st, .took_ms = took_ms < 0 ? 0 : took_ms};
    snprintf(done.reason, sizeof done.reason, "%s", reason ? reason : "");
    zsock_send(w->pipe, "sb", "DONE", &done, sizeof done);
}

//  Marks the cycle done (done) or just releases the lock (the job will be re-issued).
static void s_claim_end(discoverer_worker_t *w, const dp_msg_job_t *job, bool done)
{
    dp_worker_claim_end(w->redis, S_KIND, w->token, job, done, w->cfg->discovery_interval_ms * 2);
}

static void s_job_free(discoverer_worker_t *w, s_job_t *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else if (w->active == j)
        w->active = j->next;
    if (j->next)
        j->next->prev = j->prev;
    dp_snmp_close(&j->sess);
    discoverer_device_clear(&j->dev);
    discoverer_inv_free(&j->inv);
    dp_msg_destroy(&j->job);
    free(j);
}

//  --------------------------------------------------------------------------
//  Outcome texts

//  devices.status_reason (at most 50 chars) for a device whose system walk failed.
static void s_unreachable_reason(const s_job_t *j, char *out, size_t size)
{
    const char *d = j->detail[S_SYS];
    if (j->budget_hit)
        snprintf(out, size, "snmp: discovery time budget exceeded");
    else if (j->st[S_SYS] == DP_SNMP_TIMEOUT && strncmp(d, "no response", 11) == 0)
        snprintf(out, size, "snmp: no answer with configured credentials");
    else if (j->st[S_SYS] == DP_SNMP_AUTH)
        snprintf(out, size, "snmp: credentials refused: %.23s", d);
    else
        snprintf(out, size, "snmp: %.44s", d);
}

//  devices.discovery_error: each walk that did not complete, with why.
static void s_error_text(const s_job_t *j, char *out, size_t size)
{
    static const char *const names[S_WALKS] = {"system", "ports", "host"};
    size_t n = 0;
    out[0] = '\0';
    for (int k = 0; k < S_WALKS; k++) {
        if (j->st[k] == DP_SNMP_OK && j->ran[k])
            continue;
        if (k != S_SYS && !j->ran[k] && j->st[S_SYS] != DP_SNMP_OK)
            continue; /* never started: the system walk already says why */
        const char *why = j->budget_hit && j->st[k] == DP_SNMP_CANCELLED ? "time budget exceeded"
                          : j->detail[k][0]                              ? j->detail[k]
                                            : dp_snmp_status_name(j->st[k]);
        int w = snprintf(out + n, size - n, "%s%s walk: %s (%s)", n ? "; " : "", names[k],
                         dp_snmp_status_name(j->st[k]), why);
        if (w < 0 || (size_t)w >= size - n)
            break;
        n += (size_t)w;
    }
    if (j->budget_hit && n < size)
        snprintf(out + n, size - n, " after %" PRId64 " ms", j->budget_ms);
}

//  --------------------------------------------------------------------------
//  Finishing

//  Counters and the log line of a recorded discovery.
static void s_note(discoverer_worker_t *w, const s_job_t *j, const discoverer_result_t *r,
                   const discoverer_os_match_t *m, const char *why)
{
    const dp_msg_job_t *job = &j->job->job;
    if (!r->reachable) {
        (*w->sh->devices_unreachable)++;
        dp_log_info("device not discovered", "device_id=%" PRIu64 " hostname=%s reason=\"%s\"",
                    job->device_id, job->hostname, why);
        return;
    }
    (*w->sh->devices_discovered)++;
    *w->sh->ports_new += (uint64_t)r->diff.added;
    *w->sh->ports_deleted += (uint64_t)r->diff.deleted;
    *w->sh->ports_undeleted += (uint64_t)r->diff.undeleted;
    if (m->fallback)
        (*w->sh->os_unknown)++;
    if (!r->ports_ok || !r->host_ok)
        (*w->sh->partial)++;
    dp_log_info("device discovered",
                "device_id=%" PRIu64 " hostname=%s os=%s rule_line=%d ports=%d hc_ports=%d"
                " new=%d deleted=%d undeleted=%d processors=%d storage=%d took_ms=%.0f%s%s%s",
                job->device_id, job->hostname, r->os, m->line, j->inv.nports,
                discoverer_inv_hc_ports(&j->inv), r->diff.added, r->diff.deleted, r->diff.undeleted,
                r->procs, r->storage, r->took_s * 1000, why ? " error=\"" : "", why ? why : "",
                why ? "\"" : "");
}

//  Detects the OS, writes what completed, finishes the claim and answers. Walks still running
//  count as cancelled by the time budget.
static void s_complete(s_job_t *j)
{
    discoverer_worker_t *w = j->w;
    (*w->sh->inflight)--;
    const dp_msg_job_t *job = &j->job->job;
    int64_t took_us = dp_time_mono_us() - j->t0_us;
    discoverer_result_t r = {.device_id = job->device_id,
                             .epoch = job->epoch,
                             .at_ms = j->wall0_ms,
                             .took_s = (double)took_us / 1e6,
                             .reachable = j->st[S_SYS] == DP_SNMP_OK,
                             .inv = &j->inv};
    char reason[DISCOVERER_REASON_MAX + 1], error[S_ERROR_MAX + 1];
    s_error_text(j, error, sizeof error);
    discoverer_os_match_t m = {0};
    discoverer_os_rules_t *rules = NULL;
    dp_msg_status_t status = DP_MSG_STATUS_DOWN;
    if (r.reachable) {
        discoverer_inv_clean(&j->inv);
        rules = discoverer_shared_rules(w->sh);
        discoverer_os_detect(rules, (j->inv.have_sys & 2) ? j->inv.sys_object_id : NULL,
                             (j->inv.have_sys & 1) ? j->inv.sys_descr : NULL, &m);
        r.os = m.os;
        r.ports_ok = j->st[S_PORTS] == DP_SNMP_OK && j->ran[S_PORTS];
        r.host_ok = j->st[S_HOST] == DP_SNMP_OK && j->ran[S_HOST];
        status = r.ports_ok && r.host_ok ? DP_MSG_STATUS_OK : DP_MSG_STATUS_TIMEOUT;
    } else {
        s_unreachable_reason(j, reason, sizeof reason);
        r.reason = reason;
    }
    r.error = error[0] ? error : NULL;
    dp_err_t err = {0};
    if (discoverer_db_write(w->db, &r, &err) != 0) {
        (*w->sh->db_errors)++;
        if (!w->db_down)
            dp_log_error("database write failed", "worker=%d device_id=%" PRIu64 " err=\"%s\"",
                         w->id, job->device_id, err.text);
        w->db_down = true;
        s_claim_end(w, job, false);
        dp_worker_log_done(S_KIND, job, j->wall0_ms, DP_MSG_STATUS_ERROR);
        s_reply(w, job->job_id, DP_MSG_STATUS_ERROR, "db unavailable", took_us / 1000);
    } else if (r.stale) {
        (*w->sh->stale_epoch)++;
        dp_log_warn("stale epoch: discovery not written", "device_id=%" PRIu64 " epoch=%" PRIu64,
                    job->device_id, job->epoch);
        s_claim_end(w, job, false);
        dp_worker_log_done(S_KIND, job, j->wall0_ms, DP_MSG_STATUS_ERROR);
        s_reply(w, job->job_id, DP_MSG_STATUS_ERROR, "stale epoch", took_us / 1000);
    } else {
        if (w->db_down)
            dp_log_notice("database writes resumed", "worker=%d", w->id);
        w->db_down = false;
        s_note(w, j, &r, &m, r.reachable ? r.error : reason);
        s_claim_end(w, job, true);
        dp_worker_log_done(S_KIND, job, j->wall0_ms, status);
        s_reply(w, job->job_id, status, r.reachable ? r.error : reason, took_us / 1000);
    }
    discoverer_os_unref(&rules);
}

//  Every walk ended: complete the job and free it.
static void s_finish(s_job_t *j)
{
    s_complete(j);
    s_job_free(j->w, j);
}

//  --------------------------------------------------------------------------
//  Walking

static void s_on_var(void *arg, int col, const oid *idx, size_t idx_len,
                     const netsnmp_variable_list *v, int64_t at_ms)
{
    (void)at_ms;
    s_wctx_t *c = arg;
    discoverer_inv_take(&c->j->inv, discoverer_walkdef(c->which), col, idx, idx_len, v);
}

static void s_on_done(void *arg, dp_snmp_status_t st, const char *detail);

//  Starts walk which; on failure records why. Returns 0 or -1.
static int s_walk(s_job_t *j, int which, int max_rep)
{
    const discoverer_walkdef_t *def = discoverer_walkdef(which);
    dp_err_t err = {0};
    j->wctx[which] = (s_wctx_t){j, which};
    j->ran[which] = true;
    if (dp_snmp_walk(j->sess, def->cols, def->n, max_rep, s_on_var, s_on_done, &j->wctx[which],
                     &err) != 0) {
        j->st[which] = DP_SNMP_SEND;
        s_copy(j->detail[which], sizeof j->detail[which], err.text);
        return -1;
    }
    j->walks++;
    return 0;
}

//  The system walk ended: go on with the inventory walks, or finish.
static void s_after_system(s_job_t *j)
{
    if (j->st[S_SYS] != DP_SNMP_OK || !j->sess) {
        s_finish(j);
        return;
    }
    s_walk(j, S_PORTS, S_PORTS_MAXREP);
    s_walk(j, S_HOST, S_HOST_MAXREP);
    if (j->walks == 0)
        s_finish(j);
}

static void s_on_done(void *arg, dp_snmp_status_t st, const char *detail)
{
    s_wctx_t *c = arg;
    s_job_t *j = c->j;
    j->st[c->which] = st;
    snprintf(j->detail[c->which], sizeof j->detail[c->which], "%s", detail ? detail : "");
    if (--j->walks > 0)
        return;
    if (c->which == S_SYS)
        s_after_system(j);
    else
        s_finish(j);
}

//  Opens the session and starts the system walk.
static void s_begin(s_job_t *j)
{
    discoverer_worker_t *w = j->w;
    dp_snmp_target_t t = j->dev.row.target;
    if (t.timeout_ms <= 0)
        t.timeout_ms = (int)w->cfg->snmp_timeout_ms;
    if (t.retries < 0)
        t.retries = w->cfg->snmp_retries;
    for (int k = 0; k < S_WALKS; k++)
        j->st[k] = DP_SNMP_CANCELLED;
    (*w->sh->inflight)++;
    if (j->dev.key_error[0]) {
        j->st[S_SYS] = DP_SNMP_AUTH;
        snprintf(j->detail[S_SYS], sizeof j->detail[S_SYS], "bad SNMPv3 settings: %.100s",
                 j->dev.key_error);
        s_finish(j);
        return;
    }
    dp_err_t err = {0};
    j->sess = dp_snmp_open(w->snmp, &t, &err);
    if (!j->sess) {
        j->st[S_SYS] = DP_SNMP_SEND;
        s_copy(j->detail[S_SYS], sizeof j->detail[S_SYS], err.text);
        s_finish(j);
        return;
    }
    if (s_walk(j, S_SYS, S_SYS_MAXREP) != 0)
        s_finish(j);
}

//  Closes the sessions of the discoveries past their deadline: their running walks end
//  cancelled (done callbacks from this turn's dp_snmp_process), and the last one records what
//  completed and answers (s_on_done -> s_finish).
static void s_check_budgets(void *self)
{
    discoverer_worker_t *w = self;
    int64_t now = dp_time_mono_ms();
    s_job_t *next;
    for (s_job_t *j = w->active; j; j = next) {
        next = j->next;
        if (j->budget_hit || now < j->deadline_ms)
            continue;
        j->budget_hit = true;
        (*w->sh->budget_exceeded)++;
        dp_log_warn("discovery time budget exceeded",
                    "device_id=%" PRIu64 " budget_ms=%" PRId64 " ports_so_far=%d",
                    j->job->job.device_id, j->budget_ms, j->inv.nports);
        dp_snmp_close(&j->sess);
        if (j->walks == 0) /* nothing running (cannot happen: walks start together) */
            s_finish(j);
    }
}

//  Milliseconds until the earliest deadline (-1: none).
static long s_next_deadline(void *self)
{
    const discoverer_worker_t *w = self;
    int64_t now = dp_time_mono_ms(), best = -1;
    for (const s_job_t *j = w->active; j; j = j->next)
        if (!j->budget_hit) {
            int64_t left = j->deadline_ms > now ? j->deadline_ms - now : 0;
            if (best < 0 || left < best)
                best = left;
        }
    return (long)best;
}

//  --------------------------------------------------------------------------
//  Jobs

//  Time the job may take (ms), from the job's deadline and DP_JOB_TIMEOUT.
static int64_t s_budget(const discoverer_worker_t *w, const dp_msg_job_t *job)
{
    int64_t budget = w->cfg->job_timeout_ms;
    if (job->deadline_ms > 0) {
        int64_t left = job->deadline_ms - dp_time_wall_ms() - S_BUDGET_GRACE_MS;
        if (left < budget)
            budget = left;
    }
    return budget;
}

//  Claims the device; answers the job itself unless the claim was taken. Returns true to go on.
static bool s_claim(discoverer_worker_t *w, const dp_msg_job_t *job, int ttl_ms)
{
    dp_err_t err = {0};
    dp_claim_t claim;
    if (dp_claim_device(w->redis, S_KIND, job->device_id, job->cycle_ts, w->token, ttl_ms, &claim,
                        &err) != 0) {
        if (!w->redis_down)
            dp_log_error("redis unavailable: discoveries refused", "worker=%d err=\"%s\"", w->id,
                         err.text);
        w->redis_down = true;
        s_reply(w, job->job_id, DP_MSG_STATUS_ERROR, "redis unavailable", 0);
        return false;
    }
    if (w->redis_down)
        dp_log_notice("redis reachable again", "worker=%d", w->id);
    w->redis_down = false;
    if (claim == DP_CLAIM_OK)
        return true;
    if (claim == DP_CLAIM_BUSY)
        (*w->sh->claims_busy)++;
    else
        (*w->sh->claims_done)++;
    dp_log_debug("device claimed elsewhere", "device_id=%" PRIu64 " claim=%s", job->device_id,
                 dp_claim_name(claim));
    s_reply(w, job->job_id, claim == DP_CLAIM_DONE ? DP_MSG_STATUS_OK : DP_MSG_STATUS_ERROR,
            claim == DP_CLAIM_DONE ? "already done" : "busy", 0);
    return false;
}

static void s_on_job(void *self, dp_msg_t *msg)
{
    discoverer_worker_t *w = self;
    const dp_msg_job_t *job = &msg->job;
    int64_t budget = s_budget(w, job);
    if (job->kind != DP_MSG_KIND_DISCOVER || budget < S_BUDGET_MIN_MS) {
        s_reply(w, job->job_id, DP_MSG_STATUS_ERROR,
                job->kind != DP_MSG_KIND_DISCOVER ? "not a discover job" : "expired", 0);
        dp_msg_destroy(&msg);
        return;
    }
    if (!s_claim(w, job, (int)(budget + S_CLAIM_EXTRA_MS))) {
        dp_msg_destroy(&msg);
        return;
    }
    s_job_t *j = calloc(1, sizeof *j);
    if (!j)
        abort();
    *j = (s_job_t){.w = w,
                   .job = msg,
                   .t0_ms = dp_time_mono_ms(),
                   .t0_us = dp_time_mono_us(),
                   .wall0_ms = dp_time_wall_ms(),
                   .budget_ms = budget};
    j->deadline_ms = j->t0_ms + budget;
    dp_err_t err = {0};
    int rc = discoverer_db_load_device(w->db, job->device_id, &j->dev, &err);
    if (rc != 1) {
        s_claim_end(w, job, false);
        dp_worker_log_done(S_KIND, job, j->wall0_ms, DP_MSG_STATUS_ERROR);
        s_reply(w, job->job_id, DP_MSG_STATUS_ERROR, rc == 0 ? "unknown device" : "db unavailable",
                dp_time_mono_ms() - j->t0_ms);
        j->next = j->prev = NULL;
        s_job_free(w, j);
        return;
    }
    j->next = w->active;
    if (w->active)
        w->active->prev = j;
    w->active = j;
    s_begin(j);
}

static void s_publish(void *self)
{
    discoverer_worker_t *w = self;
    dp_worker_snmp_counters_t c = {.requests = w->sh->snmp_requests,
                                   .timeouts = w->sh->snmp_timeouts,
                                   .toobig = w->sh->snmp_toobig,
                                   .parse_errors = w->sh->snmp_parse_errors};
    dp_worker_publish_snmp(w->snmp, &w->published, &c);
}

//  --------------------------------------------------------------------------
//  Thread

typedef struct {
    int id;
    const dp_cfg_t *cfg;
    discoverer_shared_t *sh;
} s_args_t;

static int s_setup(discoverer_worker_t *w, dp_err_t *err)
{
    w->snmp = dp_snmp_new(w->cfg->concurrency > 0 ? w->cfg->concurrency : 1);
    w->db = discoverer_db_new(w->cfg, err);
    w->redis = dp_worker_redis_new(w->cfg);
    if (!w->snmp || !w->db || !w->redis)
        return dp_err_set(err, DP_ERR_INTERNAL, "worker setup failed");
    return dp_lock_token_make(w->cfg->node_id, w->token, sizeof w->token, err);
}

static void s_teardown(discoverer_worker_t *w)
{
    while (w->active) {
        s_job_t *j = w->active;
        s_claim_end(w, &j->job->job, false);
        (*w->sh->inflight)--;
        s_job_free(w, j); /* its walks are dropped by dp_snmp_destroy, without callbacks */
    }
    dp_snmp_destroy(&w->snmp);
    discoverer_db_destroy(&w->db);
    dp_redis_destroy(&w->redis);
    dp_cfg_destroy(&w->cfg);
}

static void s_actor(zsock_t *pipe, void *args)
{
    s_args_t *a = args;
    discoverer_worker_t w = {.id = a->id, .pipe = pipe, .sh = a->sh, .cfg = dp_cfg_dup(a->cfg)};
    free(a);
    dp_err_t err = {0};
    if (s_setup(&w, &err) != 0) {
        dp_log_error("worker failed to start", "worker=%d err=\"%s\"", w.id, err.text);
        zsock_signal(pipe, 1);
        s_teardown(&w);
        return;
    }
    zsock_signal(pipe, 0);
    static const dp_worker_hooks_t hooks = {.next_ms = s_next_deadline,
                                            .on_job = s_on_job,
                                            .before = s_check_budgets,
                                            .after = s_publish};
    dp_worker_loop(pipe, w.snmp, w.cfg, &w.terminated, &hooks, &w);
    s_teardown(&w);
}

//  --------------------------------------------------------------------------
zactor_t *discoverer_worker_new(int id, const dp_cfg_t *cfg, discoverer_shared_t *shared)
{
    s_args_t *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    *a = (s_args_t){id, cfg, shared};
    return zactor_new(s_actor, a);
}
