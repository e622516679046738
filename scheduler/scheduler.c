/*  scheduler.c - the scheduler service: loop glue, timers, control verbs, node reports
    One 100 ms tick drives everything: the election step, lease expiry (250 ms), dispatch
    (leader only), gauges (1 s), device reloads (min(interval/4, 30 s)) and node reports
    (10 s). Arriving CREDITs trigger a dispatch at once. Inspection: every frame received and
    JOB sent is copied to the tap (`distpoll tap scheduler`); job trace stamps (begin on JOB,
    result_ms on RESULT) are queued by the dispatcher and sent in one Redis round trip per
    tick (or sooner past DP_TRACE_BATCH_EVAL stamps), never one per job.
    SPDX-License-Identifier: MIT */
#include "scheduler.h"
#include "dp_conn.h"
#include "dp_db.h"
#include "dp_log.h"
#include "dp_redis.h"
#include "dp_settings.h"
#include "dp_tap.h"
#include "dp_time.h"
#include "dp_trace.h"
#include "scheduler_dispatch.h"
#include "scheduler_leader.h"
#include "scheduler_plan.h"
#include "scheduler_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_TICK_MS       100
#define S_EXPIRE_MS     250
#define S_STATS_MS      1000
#define S_REPORT_MS     10000
#define S_RELOAD_MAX_MS 30000
#define S_RELOAD_MIN_MS 1000
#define S_MSGS_PER_READ 256 /* messages handled per reader call */
#define S_GROUP_GAUGES  64  /* overdue_group_<g> gauges kept */
#define S_KINDS         DP_MSG_KIND_COUNT

struct scheduler {
    dp_daemon_t *daemon;              /* borrowed */
    dp_cfg_t *cfg;                    /* borrowed */
    int argc;                         /* for SIGHUP re-reads */
    char **argv;                      /* borrowed */
    zsock_t *router;                  /* job endpoint */
    dp_redis_t *redis;                /* election */
    dp_db_t *db;                      /* devices, epoch, reports */
    scheduler_leader_t *leader;       /* election state */
    scheduler_store_t *store;         /* MariaDB side */
    scheduler_dispatch_t *dispatch;   /* workers and leases */
    scheduler_plan_t *plans[S_KINDS]; /* per kind */
    dp_settings_t settings;           /* cluster settings */
    dp_stats_t *stats;                /* the daemon's */
    dp_tap_t *tap;                    /* copies of the wire messages; NULL when not bound */
    dp_trace_batch_t *trace;          /* job trace stamps waiting for the tick */
    bool trace_down;                  /* last trace flush failed (log changes once) */
    int timer_id;                     /* the tick */
    bool draining;                    /* SIGTERM seen */
    bool db_down;                     /* for logging state changes once */
    int64_t next_expire_ms, next_stats_ms, next_reload_ms, next_report_ms; /* monotonic */
    int gauge_groups[S_GROUP_GAUGES];     /* groups with an overdue_group gauge */
    int ngauge_groups;                    /* entries */
    scheduler_plan_stats_t last[S_KINDS]; /* stats of the last gauge update */
};

static const char *s_kind_names[S_KINDS] = {NULL, "poll", "discover", "bill"};

static int64_t s_now_s(void)
{
    return dp_time_wall_ms() / 1000;
}

static int64_t s_interval_s(const dp_cfg_t *cfg, dp_msg_kind_t kind)
{
    int64_t ms = kind == DP_MSG_KIND_POLL       ? cfg->poller_interval_ms
                 : kind == DP_MSG_KIND_DISCOVER ? cfg->discovery_interval_ms
                                                : cfg->billing_interval_ms;
    return ms < 1000 ? 1 : ms / 1000;
}

static int64_t s_reload_ms(const dp_cfg_t *cfg)
{
    int64_t ms = cfg->poller_interval_ms / 4;
    return ms > S_RELOAD_MAX_MS ? S_RELOAD_MAX_MS : ms < S_RELOAD_MIN_MS ? S_RELOAD_MIN_MS : ms;
}

//  A due or leased target whose slot started longer ago than this is overdue.
static int64_t s_grace_s(const scheduler_t *self, dp_msg_kind_t kind)
{
    int64_t g = self->cfg->job_timeout_ms / 1000, half = s_interval_s(self->cfg, kind) / 2;
    if (half < g)
        g = half;
    return g < 1 ? 1 : g;
}

static void s_db_state(scheduler_t *self, int rc, const dp_err_t *err)
{
    bool down = rc != 0;
    if (down == self->db_down)
        return;
    self->db_down = down;
    if (down)
        dp_log_warn("database unavailable; dispatching from memory", "err=%s detail=\"%s\"",
                    dp_err_name(err->code), err->text);
    else
        dp_log_notice("database available", NULL);
}

//  Reloads settings, devices and bills. Returns the device count or -1.
static int s_reload_tables(scheduler_t *self)
{
    dp_err_t err = {0};
    int64_t now_s = s_now_s();
    dp_settings_t st;
    int rc = scheduler_store_load_settings(self->store, &st, &err);
    if (rc == 0)
        self->settings = st;
    int n = rc == 0 ? scheduler_store_load_devices(self->store, self->plans[DP_MSG_KIND_POLL],
                                                   self->plans[DP_MSG_KIND_DISCOVER], now_s, &err)
                    : -1;
    if (n >= 0)
        rc = scheduler_store_load_bills(self->store, self->plans[DP_MSG_KIND_BILL],
                                        self->settings.distributed_billing,
                                        self->settings.default_poller_group, now_s, &err);
    s_db_state(self, n < 0 || rc < 0, &err);
    if (n >= 0)
        dp_stats_add(self->stats, "reloads_devices", 1);
    return n;
}

static void s_set_gauges(scheduler_t *self)
{
    bool leading = scheduler_leader_is_leading(self->leader);
    int64_t now_s = s_now_s();
    for (int k = 1; k < S_KINDS; k++) {
        scheduler_plan_stats(self->plans[k], now_s, s_grace_s(self, (dp_msg_kind_t)k),
                             &self->last[k]);
        if (!leading) { /* only the leader knows what is done */
            self->last[k].overdue = 0;
            for (int g = 0; g < self->last[k].ngroups; g++)
                self->last[k].groups[g].overdue = 0;
        }
    }
    const scheduler_plan_stats_t *poll = &self->last[DP_MSG_KIND_POLL];
    dp_stats_set(self->stats, "is_leader", leading);
    dp_stats_set(self->stats, "epoch", scheduler_leader_epoch(self->leader));
    dp_stats_set(self->stats, "devices", (uint64_t)poll->devices);
    dp_stats_set(self->stats, "overdue_total", (uint64_t)poll->overdue);
    dp_stats_set(self->stats, "overdue_discover",
                 (uint64_t)self->last[DP_MSG_KIND_DISCOVER].overdue);
    dp_stats_set(self->stats, "overdue_bill", (uint64_t)self->last[DP_MSG_KIND_BILL].overdue);
    dp_stats_set(self->stats, "leases", (uint64_t)scheduler_dispatch_leases(self->dispatch, 0));
    dp_stats_set(self->stats, "trace_marks", dp_trace_marks());
    dp_stats_set(self->stats, "trace_failures", dp_trace_failures());
    dp_stats_set(self->stats, "tap_published", dp_tap_published(self->tap));
    dp_stats_set(self->stats, "tap_dropped", dp_tap_dropped(self->tap));
    for (int g = 0; g < poll->ngroups; g++) { /* remember groups to zero them later */
        int i = 0;
        while (i < self->ngauge_groups && self->gauge_groups[i] != poll->groups[g].group)
            i++;
        if (i == self->ngauge_groups && i < S_GROUP_GAUGES)
            self->gauge_groups[self->ngauge_groups++] = poll->groups[g].group;
    }
    for (int i = 0; i < self->ngauge_groups; i++) {
        int overdue = 0;
        for (int g = 0; g < poll->ngroups; g++)
            if (poll->groups[g].group == self->gauge_groups[i])
                overdue = poll->groups[g].overdue;
        char name[DP_STATS_NAME_MAX];
        snprintf(name, sizeof name, "overdue_group_%d", self->gauge_groups[i]);
        dp_stats_set(self->stats, name, (uint64_t)overdue);
    }
}

static void s_report(scheduler_t *self)
{
    bool leading = scheduler_leader_is_leading(self->leader);
    scheduler_store_row_t rows[S_KINDS + S_GROUP_GAUGES];
    char names[S_KINDS + S_GROUP_GAUGES][32];
    int n = 0;
    for (int k = 1; leading && k < S_KINDS; k++) {
        int jobs = 0;
        int64_t took_ms = 0;
        scheduler_dispatch_take_done(self->dispatch, (dp_msg_kind_t)k, &jobs, &took_ms);
        snprintf(names[n], sizeof names[n], "queue_%s", s_kind_names[k]);
        rows[n] = (scheduler_store_row_t){
            names[n],
            self->last[k].due,
            jobs,
            (double)took_ms / 1000.0,
            scheduler_dispatch_workers_for(self->dispatch, (dp_msg_kind_t)k),
            s_interval_s(self->cfg, (dp_msg_kind_t)k)};
        n++;
    }
    const scheduler_plan_stats_t *poll = &self->last[DP_MSG_KIND_POLL];
    for (int i = 0; leading && i < self->ngauge_groups; i++) {
        int overdue = 0;
        for (int g = 0; g < poll->ngroups; g++)
            if (poll->groups[g].group == self->gauge_groups[i])
                overdue = poll->groups[g].overdue;
        snprintf(names[n], sizeof names[n], "overdue_group_%d", self->gauge_groups[i]);
        rows[n] = (scheduler_store_row_t){.stage = names[n], .depth = overdue};
        n++;
    }
    dp_err_t err = {0};
    int rc = scheduler_store_report(self->store, leading, rows, n, &err);
    s_db_state(self, rc, &err);
}

//  Sends the queued trace stamps (one EVAL per DP_TRACE_BATCH_EVAL); failures are counted by
//  dp_trace and logged on change only.
static void s_trace_flush(scheduler_t *self)
{
    if (dp_trace_batch_pending(self->trace) == 0)
        return;
    dp_err_t err = {0};
    bool down = dp_trace_batch_flush(self->trace, self->redis, &err) < 0;
    if (down != self->trace_down)
        dp_log_warn(down ? "job trace stamps failing; dropped and counted"
                         : "job trace stamps written again",
                    "err=\"%s\"", down ? err.text : "");
    self->trace_down = down;
}

static void s_on_gained(scheduler_t *self, int64_t now_s)
{
    scheduler_dispatch_drop_leases(self->dispatch, now_s);
    int n = s_reload_tables(self); /* done state fresh from the database */
    dp_log_notice("dispatching", "epoch=%" PRIu64 " devices=%d workers=%d",
                  scheduler_leader_epoch(self->leader), n,
                  scheduler_dispatch_workers(self->dispatch));
    dp_stats_add(self->stats, "leader_terms", 1);
    s_set_gauges(self);
    self->next_report_ms = 0; /* report master=1 at once */
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    scheduler_t *self = arg;
    if (self->draining)
        return 0;
    int64_t now_ms = dp_time_mono_ms(), now_s = s_now_s();
    scheduler_leader_event_t ev = scheduler_leader_tick(self->leader, now_ms);
    if (ev == SCHEDULER_LEADER_GAINED)
        s_on_gained(self, now_s);
    else if (ev == SCHEDULER_LEADER_LOST) {
        scheduler_dispatch_drop_leases(self->dispatch, now_s);
        s_set_gauges(self);
        self->next_report_ms = 0;
    }
    if (now_ms >= self->next_expire_ms) {
        self->next_expire_ms = now_ms + S_EXPIRE_MS;
        scheduler_dispatch_expire(self->dispatch, now_ms, now_s);
    }
    if (scheduler_leader_is_leading(self->leader))
        scheduler_dispatch_run(self->dispatch, scheduler_leader_epoch(self->leader), now_ms, now_s);
    if (now_ms >= self->next_reload_ms) {
        self->next_reload_ms = now_ms + s_reload_ms(self->cfg);
        s_reload_tables(self);
    }
    if (now_ms >= self->next_stats_ms) {
        self->next_stats_ms = now_ms + S_STATS_MS;
        s_set_gauges(self);
    }
    if (now_ms >= self->next_report_ms) {
        self->next_report_ms = now_ms + S_REPORT_MS;
        s_report(self);
    }
    s_trace_flush(self);
    return 0;
}

static int s_send(void *arg, const void *rid, size_t rid_len, const void *data, size_t size)
{
    scheduler_t *self = arg;
    void *sock = zsock_resolve(self->router);
    if (zmq_send(sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, data, size, ZMQ_DONTWAIT) < 0)
        return -1;
    dp_tap_publish(self->tap, DP_TAP_OUT, data, size);
    return 0;
}

static int s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    scheduler_t *self = arg;
    int64_t now_ms = dp_time_mono_ms(), now_s = s_now_s();
    for (int i = 0; i < S_MSGS_PER_READ && (zsock_events(sock) & ZMQ_POLLIN); i++) {
        zmsg_t *m = zmsg_recv(sock);
        if (!m)
            break;
        zframe_t *rid = zmsg_first(m), *body = zmsg_next(m);
        if (body)
            dp_tap_publish(self->tap, DP_TAP_IN, zframe_data(body), zframe_size(body));
        if (zmsg_size(m) == 2)
            scheduler_dispatch_on_message(self->dispatch, zframe_data(rid), zframe_size(rid),
                                          zframe_data(body), zframe_size(body), now_ms, now_s);
        zmsg_destroy(&m);
    }
    if (!self->draining && scheduler_leader_is_leading(self->leader))
        scheduler_dispatch_run(self->dispatch, scheduler_leader_epoch(self->leader), now_ms, now_s);
    if (dp_trace_batch_pending(self->trace) >= DP_TRACE_BATCH_EVAL)
        s_trace_flush(self); /* a burst: do not wait for the tick */
    return 0;
}

// ---------------------------------------------------------------------------- control verbs

static char *s_verb_leader(scheduler_t *self)
{
    dp_err_t err = {0};
    char *holder = scheduler_leader_holder(self->leader, &err);
    char *out = NULL;
    if (asprintf(&out,
                 "node: %s\nleading: %d\nepoch: %" PRIu64 "\nremaining_ms: %lld\ntoken: %s\n"
                 "holder: %s\n",
                 self->cfg->node_id, scheduler_leader_is_leading(self->leader),
                 scheduler_leader_epoch(self->leader),
                 (long long)scheduler_leader_remaining_ms(self->leader),
                 scheduler_leader_token(self->leader),
                 holder                        ? holder
                 : err.code == DP_ERR_NOTFOUND ? "(none)"
                                               : "(redis unavailable)") < 0)
        abort();
    free(holder);
    return out;
}

static char *s_verb_queue(scheduler_t *self)
{
    s_set_gauges(self);
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        abort();
    fprintf(f, "leading: %d\n", scheduler_leader_is_leading(self->leader));
    for (int k = 1; k < S_KINDS; k++) {
        const scheduler_plan_stats_t *s = &self->last[k];
        fprintf(f,
                "kind=%s devices=%d due=%d leased=%d done_cycle=%d overdue=%d oldest_s=%lld "
                "workers=%d interval_s=%lld\n",
                s_kind_names[k], s->devices, s->due, s->leased, s->done_cycle, s->overdue,
                (long long)s->oldest_s,
                scheduler_dispatch_workers_for(self->dispatch, (dp_msg_kind_t)k),
                (long long)s_interval_s(self->cfg, (dp_msg_kind_t)k));
        for (int g = 0; g < s->ngroups; g++)
            fprintf(f, "kind=%s group=%d devices=%d due=%d leased=%d overdue=%d\n", s_kind_names[k],
                    s->groups[g].group, s->groups[g].devices, s->groups[g].due, s->groups[g].leased,
                    s->groups[g].overdue);
    }
    fclose(f);
    return buf;
}

static char *s_on_command(dp_daemon_t *d, const char *verb, const char *args, void *arg)
{
    (void)d, (void)args;
    scheduler_t *self = arg;
    char *out = NULL;
    if (strcasecmp(verb, "LEADER") == 0)
        return s_verb_leader(self);
    if (strcasecmp(verb, "QUEUE") == 0)
        return s_verb_queue(self);
    if (strcasecmp(verb, "WORKERS") == 0) {
        out = scheduler_dispatch_workers_text(self->dispatch, dp_time_mono_ms());
        if (!*out) {
            free(out);
            out = strdup("(no workers)\n");
        }
        return out;
    }
    if (strcasecmp(verb, "RELOAD") == 0) {
        int n = s_reload_tables(self);
        if (n >= 0 && scheduler_leader_is_leading(self->leader))
            scheduler_dispatch_run(self->dispatch, scheduler_leader_epoch(self->leader),
                                   dp_time_mono_ms(), s_now_s());
        if (n < 0 ? asprintf(&out, "ERR database unavailable") < 0
                  : asprintf(&out, "OK devices=%d", n) < 0)
            abort();
        return out;
    }
    return NULL;
}

static char *s_on_config(dp_daemon_t *d, void *arg)
{
    (void)d;
    scheduler_t *self = arg;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        abort();
    dp_cfg_print(self->cfg, f, false);
    fclose(f);
    return buf;
}

// ---------------------------------------------------------------------------- signals

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    scheduler_t *self = arg;
    self->draining = true; /* no more dispatch */
    dp_err_t err = {0};
    bool was_leading = scheduler_leader_is_leading(self->leader);
    scheduler_leader_resign(self->leader, &err);
    if (was_leading)
        scheduler_store_report(self->store, false, NULL, 0, &err);
    s_trace_flush(self);
    dp_log_notice("drained", "leases_dropped=%d", scheduler_dispatch_leases(self->dispatch, 0));
    dp_daemon_drained(d);
}

static void s_apply_intervals(scheduler_t *self)
{
    int64_t now_s = s_now_s();
    for (int k = 1; k < S_KINDS; k++)
        scheduler_plan_set_interval(self->plans[k], s_interval_s(self->cfg, (dp_msg_kind_t)k),
                                    now_s);
    scheduler_dispatch_set_job_timeout(self->dispatch, self->cfg->job_timeout_ms);
}

static void s_on_reload(dp_daemon_t *d, void *arg)
{
    (void)d;
    scheduler_t *self = arg;
    dp_cfg_t *next = dp_cfg_new();
    dp_err_t err = {0};
    if (dp_cfg_load(next, self->argc, self->argv, &err) != 0) {
        dp_log_error("reload refused: bad configuration; keeping the current one", "err=\"%s\"",
                     err.text);
        dp_cfg_destroy(&next);
        return;
    }
    char changed[512] = "", restart[512] = "";
    int n = dp_cfg_reload(self->cfg, next, changed, sizeof changed, restart, sizeof restart);
    dp_cfg_destroy(&next);
    dp_log_set_level(self->cfg->log_level);
    s_apply_intervals(self);
    int devices = s_reload_tables(self);
    dp_log_notice("reloaded", "applied=%d changed=\"%s\" needs_restart=\"%s\" devices=%d", n,
                  changed, restart, devices);
}

// ---------------------------------------------------------------------------- lifecycle

static int s_open(scheduler_t *self, const dp_zmq_keys_t *keys, dp_err_t *err)
{
    self->router = dp_zmq_server(ZMQ_ROUTER, self->cfg->scheduler_bind, keys, err);
    if (!self->router)
        return -1;
    zsock_set_router_mandatory(self->router, 1);
    dp_redis_opts_t ro;
    dp_conn_redis_opts(self->cfg, &ro);
    self->redis = dp_redis_new(&ro);
    dp_db_opts_t dbo;
    dp_conn_db_opts(self->cfg, &dbo);
    self->db = dp_db_new(&dbo);
    if (!self->redis || !self->db)
        return dp_err_set(err, DP_ERR_CONFIG, "bad Redis or MariaDB options");
    dp_err_t e = {0};
    if (dp_redis_connect(self->redis, &e) != 0)
        dp_log_warn("redis unavailable at start; retrying", "detail=\"%s\"", e.text);
    if (dp_db_connect(self->db, &e) != 0)
        dp_log_warn("database unavailable at start; retrying", "detail=\"%s\"", e.text);
    self->tap = dp_tap_new(self->cfg->control_dir, "scheduler", self->cfg->node_id, &e);
    if (!self->tap)
        dp_log_warn("no message tap; carrying on without", "detail=\"%s\"", e.text);
    self->leader = scheduler_leader_new(self->redis, self->db, self->cfg->node_id,
                                        (int)self->cfg->lock_ttl_ms, err);
    return self->leader ? 0 : -1;
}

//  --------------------------------------------------------------------------
scheduler_t *scheduler_new(dp_daemon_t *d, dp_cfg_t *cfg, const dp_zmq_keys_t *keys, int argc,
                           char **argv, dp_err_t *err)
{
    scheduler_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    self->daemon = d;
    self->cfg = cfg;
    self->argc = argc;
    self->argv = argv;
    self->stats = dp_daemon_stats(d);
    self->timer_id = -1;
    dp_settings_defaults(&self->settings);
    if (s_open(self, keys, err) != 0) {
        scheduler_destroy(&self);
        return NULL;
    }
    self->store = scheduler_store_new(self->db, cfg->node_id);
    self->dispatch = scheduler_dispatch_new(cfg->node_id, self->stats, s_send, self);
    self->trace = dp_trace_batch_new();
    scheduler_dispatch_set_trace(self->dispatch, self->trace);
    for (int k = 1; k < S_KINDS; k++) {
        self->plans[k] = scheduler_plan_new((dp_msg_kind_t)k, s_interval_s(cfg, (dp_msg_kind_t)k));
        scheduler_dispatch_set_plan(self->dispatch, (dp_msg_kind_t)k, self->plans[k]);
    }
    s_apply_intervals(self);
    s_set_gauges(self);
    zloop_t *loop = dp_daemon_loop(d);
    zloop_reader(loop, self->router, s_on_router, self);
    self->timer_id = zloop_timer(loop, S_TICK_MS, 0, s_on_tick, self);
    dp_daemon_on_drain(d, s_on_drain, self);
    dp_daemon_on_reload(d, s_on_reload, self);
    dp_daemon_on_command(d, s_on_command, self);
    dp_daemon_on_config(d, s_on_config, self);
    dp_log_info("scheduler started", "bind=%s lock_ttl_ms=%lld job_timeout_ms=%lld interval_s=%lld",
                cfg->scheduler_bind, (long long)cfg->lock_ttl_ms, (long long)cfg->job_timeout_ms,
                (long long)s_interval_s(cfg, DP_MSG_KIND_POLL));
    return self;
}

//  --------------------------------------------------------------------------
void scheduler_destroy(scheduler_t **p)
{
    if (!p || !*p)
        return;
    scheduler_t *self = *p;
    zloop_t *loop = self->daemon ? dp_daemon_loop(self->daemon) : NULL;
    if (loop && self->timer_id >= 0)
        zloop_timer_end(loop, self->timer_id);
    if (loop && self->router)
        zloop_reader_end(loop, self->router);
    scheduler_dispatch_destroy(&self->dispatch);
    if (self->trace && self->redis)
        s_trace_flush(self);
    dp_trace_batch_destroy(&self->trace);
    dp_tap_destroy(&self->tap);
    for (int k = 1; k < S_KINDS; k++)
        scheduler_plan_destroy(&self->plans[k]);
    scheduler_store_destroy(&self->store);
    scheduler_leader_destroy(&self->leader);
    dp_db_destroy(&self->db);
    dp_redis_destroy(&self->redis);
    zsock_destroy(&self->router);
    free(self);
    *p = NULL;
}
