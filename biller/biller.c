/*  biller.c - the biller service: who bills, when, and the daemon glue
    See biller.h for the contract.
    SPDX-License-Identifier: MIT */
#include "biller.h"
#include "biller_calc.h"
#include "dp_conn.h"
#include "dp_jobs.h"
#include "dp_log.h"
#include "dp_redis.h"
#include "dp_settings.h"
#include "dp_tap.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S_LOCK_KEY        "dp:leader:biller"
#define S_ROLE            "biller"
#define S_TICK_MS         50   /* lease and slot checks */
#define S_ACQUIRE_IVL_MS  500  /* a standby tries the lease this often */
#define S_RENEW_RETRY_MS  250  /* after a failed renew */
#define S_SETTINGS_IVL_MS 5000 /* re-read cluster settings, report the node */
#define S_DB_RETRY_MS     1000 /* a round that could not list bills retries */
#define S_JOB_SLOTS       4    /* bill jobs held at once (distributed) */
#define S_MS_PER_S        1000
#define S_VERSION         "distpoll-biller 0.1"
#define S_HOST_MAX        256

struct biller {
    dp_cfg_t *cfg;          /* borrowed; reloaded in place on SIGHUP */
    int argc;               /* for reload */
    char **argv;            /* for reload */
    dp_daemon_t *daemon;    /* borrowed */
    zloop_t *loop;          /* the daemon's */
    dp_stats_t *stats;      /* the daemon's */
    dp_db_t *db;            /* our MariaDB connection */
    dp_redis_t *redis;      /* our Redis connection */
    dp_lock_t *lock;        /* runner lease */
    dp_jobs_t *jobs;        /* scheduler link (NULL without DP_SCHEDULERS) */
    dp_tap_t *tap;          /* copies of the wire messages (`distpoll tap biller`); or NULL */
    dp_zmq_keys_t keys;     /* CURVE keys for the scheduler link */
    dp_settings_t settings; /* cluster settings, refreshed */
    bool have_settings;     /* settings loaded at least once */
    bool distributed;       /* distributed_billing in force */
    bool is_runner;         /* holds the lease with a fresh epoch */
    uint64_t epoch;         /* our biller epoch while runner */
    int64_t acquire_at_ms;  /* next lease attempt (mono) */
    int64_t renew_at_ms;    /* next renew (mono) */
    int64_t settings_at_ms; /* next settings refresh (mono) */
    int64_t done_slot_s;    /* last slot whose round was started */
    int64_t round_slot_s;   /* slot of the round in progress */
    uint64_t *queue;        /* bill ids of the round in progress */
    size_t nqueue, qpos;    /* entries and next position */
    zlistx_t *pending_jobs; /* dp_msg_t * JOBs waiting (distributed) */
    int tick_id;            /* tick timer */
    int work_id;            /* one-shot work timer, -1 when none */
    int align_id;           /* one-shot slot-boundary timer, -1 when none */
    char host[S_HOST_MAX];  /* this machine's name, for node reports */
};

static void s_arm_work(biller_t *self);

// ---------------------------------------------------------------------------- helpers

static int64_t s_interval_s(const biller_t *self)
{
    int64_t s = self->cfg->billing_interval_ms / S_MS_PER_S;
    return s > 0 ? s : 1;
}

static int64_t s_slot_now(const biller_t *self)
{
    int64_t i = s_interval_s(self);
    return dp_time_wall_ms() / S_MS_PER_S / i * i;
}

static void s_set_runner(biller_t *self, bool runner, const char *why)
{
    if (self->is_runner == runner)
        return;
    self->is_runner = runner;
    dp_stats_set(self->stats, "is_runner", runner);
    if (runner) {
        /* start at the next boundary: the intervals missed meanwhile are filled per port */
        self->done_slot_s = s_slot_now(self);
        dp_log_notice("became billing runner", "epoch=%llu", (unsigned long long)self->epoch);
    } else {
        self->nqueue = self->qpos = 0;
        dp_log_notice("no longer billing runner", "reason=\"%s\"", why);
    }
}

//  Keeps or seeks the lease (single-runner mode).
static void s_lease(biller_t *self)
{
    int64_t now = dp_time_mono_ms();
    dp_err_t e = {0};
    if (self->is_runner) {
        if (now >= self->renew_at_ms) {
            if (dp_lock_renew(self->lock, &e) == 0)
                self->renew_at_ms = now + self->cfg->lock_ttl_ms / 4;
            else if (e.code == DP_ERR_BUSY)
                s_set_runner(self, false, "lease lost");
            else
                self->renew_at_ms = now + S_RENEW_RETRY_MS;
        }
        if (self->is_runner && !dp_lock_is_valid(self->lock))
            s_set_runner(self, false, "lease expired (redis unreachable)");
        return;
    }
    if (now < self->acquire_at_ms || dp_daemon_state(self->daemon) != DP_DAEMON_RUNNING)
        return;
    self->acquire_at_ms = now + S_ACQUIRE_IVL_MS;
    if (dp_lock_acquire(self->lock, &e) != 0)
        return;
    if (dp_epoch_bump(self->db, S_ROLE, self->cfg->node_id, &self->epoch, &e) != 0) {
        dp_log_warn("cannot bump the biller epoch; giving the lease back", "err=%s detail=\"%s\"",
                    dp_err_name(e.code), e.text);
        dp_lock_release(self->lock, NULL);
        return;
    }
    self->renew_at_ms = now + self->cfg->lock_ttl_ms / 4;
    s_set_runner(self, true, "lease won");
}

//  Finishes a distributed job now with status and reason.
static void s_finish_job(biller_t *self, dp_msg_t *job, dp_msg_status_t status, const char *why,
                         int64_t took_ms)
{
    if (self->jobs)
        dp_jobs_finish(self->jobs, job->job.job_id, status, why, took_ms);
    dp_msg_destroy(&job);
}

static void s_drop_pending_jobs(biller_t *self, const char *why)
{
    dp_msg_t *job;
    while ((job = zlistx_first(self->pending_jobs)) != NULL) {
        zlistx_detach_cur(self->pending_jobs);
        s_finish_job(self, job, DP_MSG_STATUS_ERROR, why, 0);
    }
}

//  Applies a new distributed_billing value.
static void s_set_mode(biller_t *self, bool distributed)
{
    if (self->distributed == distributed && self->have_settings)
        return;
    self->distributed = distributed;
    dp_stats_set(self->stats, "distributed", distributed);
    dp_log_notice("billing mode", "distributed_billing=%d", distributed);
    if (distributed && self->is_runner) {
        dp_lock_release(self->lock, NULL);
        s_set_runner(self, false, "distributed billing on");
    }
    if (!distributed)
        s_drop_pending_jobs(self, "distributed billing off");
    if (self->jobs)
        dp_jobs_pause(self->jobs, !distributed);
    if (distributed && !self->jobs)
        dp_log_error("distributed_billing is on but DP_SCHEDULERS is not set: not billing", "%s",
                     "");
}

static void s_refresh_settings(biller_t *self)
{
    int64_t now = dp_time_mono_ms();
    if (now < self->settings_at_ms)
        return;
    self->settings_at_ms = now + S_SETTINGS_IVL_MS;
    dp_settings_t s;
    dp_err_t e = {0};
    if (dp_settings_load(self->db, self->cfg->node_id, &s, &e) != 0) {
        if (!self->have_settings)
            s_set_mode(self, false);
        return;
    }
    s_set_mode(self, s.distributed_billing);
    self->settings = s;
    self->have_settings = true;
    if (self->jobs)
        dp_jobs_set_groups(self->jobs, s.groups, s.ngroups);
    dp_node_report(self->db, self->cfg->node_id, self->host, S_ROLE, S_VERSION,
                   self->distributed ? -1 : self->is_runner, NULL);
}

// ---------------------------------------------------------------------------- billing

static bool s_keepalive(void *arg)
{
    biller_t *self = arg;
    if (self->distributed)
        return true;
    s_lease(self);
    return self->is_runner && dp_lock_is_valid(self->lock);
}

static void s_ctx(biller_t *self, biller_calc_ctx_t *c, bool fenced)
{
    *c = (biller_calc_ctx_t){.db = self->db,
                             .stats = self->stats,
                             .interval_s = s_interval_s(self),
                             .epoch = fenced ? self->epoch : 0,
                             .groups = NULL, /* single runner: every port */
                             .snmp_timeout_ms = (int)self->cfg->snmp_timeout_ms,
                             .snmp_retries = self->cfg->snmp_retries,
                             .method = DP_BILL_PCT_LIBRENMS,
                             .keepalive = s_keepalive,
                             .keepalive_arg = self};
}

//  Lists every bill into the round queue. Returns 0 or -1.
static int s_load_round(biller_t *self, int64_t slot_s)
{
    dp_err_t e = {0};
    dp_db_stmt_t *s =
        dp_db_cached(self->db, "SELECT bill_id FROM bills ORDER BY bill_id", DP_DB_IDEMPOTENT, &e);
    if (!s || dp_db_query(s, &e, NULL) != 0) {
        dp_log_warn("cannot list bills", "err=%s detail=\"%s\"", dp_err_name(e.code), e.text);
        return -1;
    }
    size_t cap = 0;
    self->nqueue = self->qpos = 0;
    while (dp_db_fetch(s) == 1) {
        if (self->nqueue == cap) {
            cap = cap ? cap * 2 : 64;
            self->queue = realloc(self->queue, cap * sizeof *self->queue);
            if (!self->queue)
                abort();
        }
        self->queue[self->nqueue++] = dp_db_col_uint(s, 0);
    }
    self->round_slot_s = slot_s;
    dp_stats_set(self->stats, "bills", self->nqueue);
    dp_stats_add(self->stats, "rounds", 1);
    dp_log_debug("billing round", "slot=%lld bills=%zu", (long long)slot_s, self->nqueue);
    return 0;
}

//  Starts the round of the current slot when due (runner only).
static void s_maybe_round(biller_t *self)
{
    if (self->distributed || !self->is_runner || self->qpos < self->nqueue ||
        dp_daemon_state(self->daemon) != DP_DAEMON_RUNNING)
        return;
    int64_t slot = s_slot_now(self);
    if (slot <= self->done_slot_s)
        return;
    if (s_load_round(self, slot) != 0)
        return; /* retried on the next tick */
    self->done_slot_s = slot;
    s_arm_work(self);
}

//  Bills bill_id for slot_s: every port (round), or with group (a job) only the ports of the
//  devices in that group, the job's part of the bill.
static void s_bill_one(biller_t *self, uint64_t bill_id, int64_t slot_s, bool fenced,
                       const int *group, dp_err_t *e)
{
    biller_calc_ctx_t c;
    biller_calc_result_t r;
    s_ctx(self, &c, fenced);
    c.groups = group;
    c.ngroups = group ? 1 : 0;
    if (biller_calc_bill(&c, bill_id, slot_s, &r, e) != 0) {
        dp_stats_add(self->stats, "bill_errors", 1);
        dp_log_warn("bill not completed", "bill=%llu slot=%lld err=%s detail=\"%s\"",
                    (unsigned long long)bill_id, (long long)slot_s, dp_err_name(e->code), e->text);
        return;
    }
    dp_log_debug("bill done",
                 "bill=%llu group=%d slot=%lld ports=%d written=%d dup=%d failed=%d rows=%d",
                 (unsigned long long)bill_id, group ? *group : -1, (long long)slot_s, r.ports,
                 r.written, r.skipped_dup, r.failed, r.rows);
}

//  One unit of work per loop turn: a bill of the round, or a job.
static int s_on_work(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    biller_t *self = arg;
    self->work_id = -1;
    dp_err_t e = {0};
    if (!self->distributed && self->is_runner && self->qpos < self->nqueue) {
        uint64_t bill_id = self->queue[self->qpos++];
        s_bill_one(self, bill_id, self->round_slot_s, true, NULL, &e);
    } else if (self->distributed && zlistx_size(self->pending_jobs) > 0) {
        dp_msg_t *job = zlistx_first(self->pending_jobs);
        zlistx_detach_cur(self->pending_jobs);
        int64_t t0 = dp_time_mono_ms(), i = s_interval_s(self);
        s_bill_one(self, job->job.bill_id, job->job.cycle_ts / i * i, false, &job->job.group, &e);
        s_finish_job(self, job, e.code ? DP_MSG_STATUS_ERROR : DP_MSG_STATUS_OK,
                     e.code ? e.text : NULL, dp_time_mono_ms() - t0);
    }
    s_arm_work(self);
    return 0;
}

static void s_arm_work(biller_t *self)
{
    if (self->jobs)
        dp_jobs_set_queued(self->jobs, (int)zlistx_size(self->pending_jobs));
    bool more = (!self->distributed && self->is_runner && self->qpos < self->nqueue) ||
                (self->distributed && zlistx_size(self->pending_jobs) > 0);
    if (more && self->work_id < 0)
        self->work_id = zloop_timer(self->loop, 1, 1, s_on_work, self);
}

static void s_on_job(dp_jobs_t *j, dp_msg_t *job, void *arg)
{
    (void)j;
    biller_t *self = arg;
    if (!self->distributed || dp_daemon_state(self->daemon) != DP_DAEMON_RUNNING ||
        job->job.kind != DP_MSG_KIND_BILL || job->job.bill_id == 0) {
        s_finish_job(self, job, DP_MSG_STATUS_ERROR,
                     self->distributed ? "not a bill job or draining" : "distributed billing off",
                     0);
        return;
    }
    zlistx_add_end(self->pending_jobs, job);
    s_arm_work(self);
}

// ---------------------------------------------------------------------------- timers

static int s_on_align(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    biller_t *self = arg;
    self->align_id = -1;
    s_maybe_round(self);
    return 0;
}

//  Arms a one-shot timer at the next slot boundary when it falls before the next tick, so
//  reads happen within a few ms of the boundary (exact periods make exact rates).
static void s_arm_align(biller_t *self)
{
    if (self->align_id >= 0 || !self->is_runner || self->distributed)
        return;
    int64_t i_ms = s_interval_s(self) * S_MS_PER_S, now = dp_time_wall_ms();
    int64_t wait_ms = i_ms - now % i_ms + 1;
    if (wait_ms <= S_TICK_MS)
        self->align_id = zloop_timer(self->loop, (size_t)wait_ms, 1, s_on_align, self);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    biller_t *self = arg;
    if (dp_daemon_state(self->daemon) != DP_DAEMON_RUNNING)
        return 0;
    s_refresh_settings(self);
    if (!self->distributed) {
        s_lease(self);
        s_maybe_round(self);
        s_arm_align(self);
    }
    return 0;
}

// ---------------------------------------------------------------------------- daemon hooks

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    biller_t *self = arg;
    /* work is synchronous: nothing is half done when a signal is handled */
    self->nqueue = self->qpos = 0;
    s_drop_pending_jobs(self, "draining");
    if (self->jobs)
        dp_jobs_pause(self->jobs, true);
    if (self->is_runner) {
        dp_lock_release(self->lock, NULL);
        s_set_runner(self, false, "shutting down");
    }
    dp_daemon_drained(d);
}

static void s_on_reload(dp_daemon_t *d, void *arg)
{
    (void)d;
    biller_t *self = arg;
    dp_cfg_t *next = dp_cfg_new();
    dp_err_t e = {0};
    if (dp_cfg_load(next, self->argc, self->argv, &e) != 0) {
        dp_log_error("reload refused: bad configuration", "detail=\"%s\"", e.text);
        dp_cfg_destroy(&next);
        return;
    }
    char changed[512] = "", restart[512] = "";
    dp_cfg_reload(self->cfg, next, changed, sizeof changed, restart, sizeof restart);
    dp_cfg_destroy(&next);
    dp_log_set_level(self->cfg->log_level);
    self->settings_at_ms = 0; /* re-read cluster settings now */
    dp_log_notice("reloaded", "changed=\"%s\" needs_restart=\"%s\"", changed, restart);
}

static char *s_on_config(dp_daemon_t *d, void *arg)
{
    (void)d;
    biller_t *self = arg;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    dp_cfg_print(self->cfg, f, false);
    fclose(f);
    return buf;
}

static char *s_on_command(dp_daemon_t *d, const char *verb, const char *args, void *arg)
{
    (void)d;
    (void)args;
    biller_t *self = arg;
    char *out = NULL;
    if (strcasecmp(verb, "RUNNER") != 0)
        return NULL;
    if (asprintf(&out, "%s epoch=%llu mode=%s",
                 self->distributed ? "distributed"
                 : self->is_runner ? "runner"
                                   : "standby",
                 (unsigned long long)self->epoch, self->distributed ? "distributed" : "single") < 0)
        return NULL;
    return out;
}

// ---------------------------------------------------------------------------- life cycle

static void s_destroy_job(void **item)
{
    dp_msg_destroy((dp_msg_t **)item);
}

//  Opens the scheduler link when DP_SCHEDULERS is set (paused until distributed billing).
static int s_open_jobs(biller_t *self, dp_err_t *err)
{
    if (!self->cfg->schedulers)
        return 0;
    if (self->cfg->curve && dp_zmq_keys_derive(self->cfg->app_key, &self->keys, err) != 0)
        return -1;
    self->jobs = dp_jobs_new(self->loop, self->cfg, self->cfg->curve ? &self->keys : NULL, S_ROLE,
                             S_JOB_SLOTS, err);
    if (!self->jobs)
        return -1;
    dp_jobs_set_stats(self->jobs, self->stats);
    dp_jobs_set_tap(self->jobs, self->tap);
    dp_jobs_set_trace(self->jobs, self->redis); /* bill jobs carry no device: nothing stamped */
    dp_jobs_on_job(self->jobs, s_on_job, self);
    dp_jobs_pause(self->jobs, true);
    return 0;
}

//  --------------------------------------------------------------------------
biller_t *biller_new(dp_cfg_t *cfg, dp_daemon_t *daemon, int argc, char **argv, dp_err_t *err)
{
    biller_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    *self = (biller_t){.cfg = cfg,
                       .argc = argc,
                       .argv = argv,
                       .daemon = daemon,
                       .loop = dp_daemon_loop(daemon),
                       .stats = dp_daemon_stats(daemon),
                       .tick_id = -1,
                       .work_id = -1,
                       .align_id = -1};
    if (gethostname(self->host, sizeof self->host) != 0)
        snprintf(self->host, sizeof self->host, "unknown");
    dp_settings_defaults(&self->settings);
    self->pending_jobs = zlistx_new();
    zlistx_set_destructor(self->pending_jobs, s_destroy_job);
    dp_db_opts_t dbo;
    dp_conn_db_opts(cfg, &dbo);
    dp_redis_opts_t ro;
    dp_conn_redis_opts(cfg, &ro);
    self->db = dp_db_new(&dbo);
    self->redis = dp_redis_new(&ro);
    if (!self->db || !self->redis) {
        dp_err_set(err, DP_ERR_CONFIG, "bad %s options", self->db ? "Redis" : "MariaDB");
        goto fail;
    }
    self->lock = dp_lock_new(self->redis, S_LOCK_KEY, NULL, (int)cfg->lock_ttl_ms);
    if (!self->lock) {
        dp_err_set(err, DP_ERR_INTERNAL, "cannot create the runner lease");
        goto fail;
    }
    dp_err_t e = {0};
    self->tap = dp_tap_new(cfg->control_dir, S_ROLE, cfg->node_id, &e);
    if (!self->tap)
        dp_log_warn("no message tap; carrying on without", "detail=\"%s\"", e.text);
    if (s_open_jobs(self, err) != 0)
        goto fail;
    static const char *const counters[] = {
        "is_runner",   "bills",  "samples_written",  "samples_skipped_dup",
        "wraps",       "resets", "impossible_rates", "snmp_failures",
        "bill_errors", "rounds", "gaps_dropped",     NULL};
    for (const char *const *c = counters; *c; c++)
        dp_stats_counter(self->stats, *c);
    self->tick_id = zloop_timer(self->loop, S_TICK_MS, 0, s_on_tick, self);
    dp_daemon_on_drain(daemon, s_on_drain, self);
    dp_daemon_on_reload(daemon, s_on_reload, self);
    dp_daemon_on_config(daemon, s_on_config, self);
    dp_daemon_on_command(daemon, s_on_command, self);
    return self;
fail:
    biller_destroy(&self);
    return NULL;
}

//  --------------------------------------------------------------------------
void biller_destroy(biller_t **p)
{
    if (!p || !*p)
        return;
    biller_t *self = *p;
    if (self->is_runner && self->lock)
        dp_lock_release(self->lock, NULL);
    if (self->tick_id >= 0)
        zloop_timer_end(self->loop, self->tick_id);
    if (self->work_id >= 0)
        zloop_timer_end(self->loop, self->work_id);
    if (self->align_id >= 0)
        zloop_timer_end(self->loop, self->align_id);
    zlistx_destroy(&self->pending_jobs); /* before the jobs link: entries are its jobs */
    dp_jobs_destroy(&self->jobs);
    dp_tap_destroy(&self->tap); /* after the jobs link, which publishes to it */
    dp_zmq_keys_wipe(&self->keys);
    dp_lock_destroy(&self->lock);
    dp_redis_destroy(&self->redis);
    dp_db_destroy(&self->db);
    free(self->queue);
    free(self);
    *p = NULL;
}
