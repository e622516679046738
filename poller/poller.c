/*  poller.c - the poller daemon's main thread (see poller.h)
    SPDX-License-Identifier: MIT */
#include "poller.h"
#include "dp_conn.h"
#include "dp_db.h"
#include "dp_jobs.h"
#include "dp_log.h"
#include "dp_settings.h"
#include "dp_sink.h"
#include "dp_tap.h"
#include "dp_time.h"
#include "dp_worker.h"
#include "poller_modules.h"
#include "poller_worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S_TICK_MS      250 /* backpressure check, gauges, settings */
#define S_REPORT_MS    60000
#define S_POLL_CMD_MS  120000
#define S_FLUSH_MAX_MS 5000
#define S_INTAKE_MS    100 /* JOBs are read and forwarded this often (see s_on_burst) */
#define S_VERSION      "distpoll-poller 0.1"

typedef struct {
    dp_msg_t **jobs;
    int n, cap;
} s_batch_t;

struct poller {
    dp_daemon_t *d;
    dp_cfg_t *cfg;
    int argc;
    char **argv;
    dp_jobs_t *jobs;
    dp_sink_t *sink;
    zactor_t **workers;
    int nworkers;
    s_batch_t *fwd; /* per worker: JOBs of this intake tick, not forwarded yet */
    poller_shared_t sh;
    dp_db_t *db;
    dp_tap_t *tap;     /* `distpoll tap poller`: JOB/RESULT/CREDIT, METRICS/ACK */
    dp_redis_t *redis; /* the main thread's: job trace stamps (workers have their own) */
    bool draining, paused, settings_ok;
    int64_t next_report_ms;
    int tick_id;
};

static int s_slots(const dp_cfg_t *cfg)
{
    return (cfg->workers > 0 ? cfg->workers : 1) * (cfg->concurrency > 0 ? cfg->concurrency : 1);
}

//  --------------------------------------------------------------------------
//  Jobs and results

static void s_refuse(poller_t *self, dp_msg_t **job)
{
    dp_jobs_finish(self->jobs, (*job)->job.job_id, DP_MSG_STATUS_ERROR, "worker unavailable", 0);
    dp_msg_destroy(job);
}

//  A JOB waits for the end of its intake tick (s_on_burst), to reach its worker with the others.
static void s_on_job(dp_jobs_t *j, dp_msg_t *job, void *arg)
{
    (void)j;
    poller_t *self = arg;
    s_batch_t *b = &self->fwd[job->job.device_id % (uint64_t)self->nworkers];
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        dp_msg_t **jobs = realloc(b->jobs, (size_t)cap * sizeof *jobs);
        if (!jobs) {
            s_refuse(self, &job);
            return;
        }
        b->jobs = jobs;
        b->cap = cap;
    }
    b->jobs[b->n++] = job;
}

//  Forwards the JOBs of this tick: one message (one wake-up) per worker.
static void s_on_burst(dp_jobs_t *j, void *arg)
{
    (void)j;
    poller_t *self = arg;
    for (int k = 0; k < self->nworkers; k++) {
        s_batch_t *b = &self->fwd[k];
        if (b->n > 0 && dp_worker_send_jobs(self->workers[k], b->jobs, b->n) != 0)
            for (int i = 0; i < b->n; i++)
                s_refuse(self, &b->jobs[i]);
        b->n = 0;
    }
}

static void s_check_drained(poller_t *self)
{
    if (!self->draining || dp_jobs_inflight(self->jobs) > 0)
        return;
    if (self->sink && dp_sink_pending(self->sink) > 0 &&
        dp_sink_flush(self->sink, S_FLUSH_MAX_MS) != 0)
        dp_log_warn("metrics not acknowledged at exit", "pending=%zu", dp_sink_pending(self->sink));
    dp_daemon_drained(self->d);
}

static void s_on_done(poller_t *self, const poller_done_t *done)
{
    dp_sink_bytes_t b = done->metrics;
    if (done->snmp_ms >= 0)
        dp_jobs_trace(self->jobs, done->device_id, done->job_id, "snmp_ms", "%lld",
                      (long long)done->snmp_ms);
    if (b.data) {
        if (!self->sink) {
            dp_sink_bytes_free(&b);
        } else {
            dp_sink_send_encoded(self->sink, &b);
            dp_jobs_trace(self->jobs, done->device_id, done->job_id, "metrics_sent_ms", "%lld",
                          (long long)dp_time_wall_ms());
        }
    }
    dp_jobs_finish(self->jobs, done->job_id, (dp_msg_status_t)done->status,
                   done->reason[0] ? done->reason : NULL, done->took_ms);
}

//  Handles one message from a worker; returns the POLLED text (malloc'd) if it was one.
static char *s_worker_msg(poller_t *self, zmsg_t *msg)
{
    char *cmd = zmsg_popstr(msg);
    char *text = NULL;
    if (cmd && strcmp(cmd, "DONE") == 0) {
        zframe_t *f = zmsg_pop(msg);
        size_t n = f ? zframe_size(f) / sizeof(poller_done_t) : 0;
        for (size_t i = 0; i < n; i++) {
            poller_done_t done;
            memcpy(&done, zframe_data(f) + i * sizeof done, sizeof done);
            s_on_done(self, &done);
        }
        zframe_destroy(&f);
    } else if (cmd && strcmp(cmd, "POLLED") == 0) {
        text = zmsg_popstr(msg);
    }
    free(cmd);
    return text;
}

static int s_on_worker(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    poller_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (msg) {
        free(s_worker_msg(self, msg));
        zmsg_destroy(&msg);
    }
    s_check_drained(self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Control verbs

static char *s_poll_now(poller_t *self, const char *what)
{
    if (!what || !*what)
        return strdup("ERR usage: POLL <hostname|device_id>");
    char *end = NULL;
    uint64_t id = strtoull(what, &end, 10);
    int k = end && *end == '\0' ? (int)(id % (uint64_t)self->nworkers) : 0;
    zactor_t *w = self->workers[k];
    zsock_send(w, "ss", "POLL", what);
    int64_t deadline = dp_time_mono_ms() + S_POLL_CMD_MS;
    zsock_t *sock = zactor_sock(w);
    while (dp_time_mono_ms() < deadline) {
        zmq_pollitem_t it = {zsock_resolve(sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 200) <= 0)
            continue;
        zmsg_t *msg = zmsg_recv(sock);
        char *text = msg ? s_worker_msg(self, msg) : NULL;
        zmsg_destroy(&msg);
        if (text)
            return text;
    }
    return strdup("ERR timed out");
}

static char *s_on_command(dp_daemon_t *d, const char *verb, const char *args, void *arg)
{
    (void)d;
    poller_t *self = arg;
    if (strcasecmp(verb, "POLL") == 0)
        return s_poll_now(self, args);
    return NULL;
}

static char *s_on_config(dp_daemon_t *d, void *arg)
{
    (void)d;
    poller_t *self = arg;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    dp_cfg_print(self->cfg, f, false);
    fclose(f);
    return buf;
}

//  --------------------------------------------------------------------------
//  Settings, node report, backpressure

static void s_load_settings(poller_t *self)
{
    dp_settings_t st;
    dp_err_t err = {0};
    if (dp_settings_load(self->db, self->cfg->node_id, &st, &err) != 0) {
        if (self->settings_ok || self->next_report_ms == 0)
            dp_log_warn("cannot load settings; serving the default group", "err=\"%s\"", err.text);
        self->settings_ok = false;
        return;
    }
    dp_jobs_set_groups(self->jobs, st.groups, st.ngroups);
    self->settings_ok = true;
}

static void s_report(poller_t *self)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    dp_err_t err = {0};
    if (dp_node_report(self->db, self->cfg->node_id, host, "poller", S_VERSION, -1, &err) != 0)
        dp_log_debug("node report failed", "err=\"%s\"", err.text);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    poller_t *self = arg;
    /* paused at DP_METRICS_BUFFER_MB of unacknowledged METRICS, resumed below half of it */
    bool pause = self->draining || (self->sink && dp_sink_full(self->sink));
    if (pause != self->paused) {
        if (!self->draining && self->sink)
            dp_log_notice(pause ? "metrics backlog full (DP_METRICS_BUFFER_MB): pausing jobs"
                                : "metrics backlog down to half: resuming jobs",
                          "pending=%zu pending_bytes=%zu", dp_sink_pending(self->sink),
                          dp_sink_pending_bytes(self->sink));
        dp_jobs_pause(self->jobs, pause);
        self->paused = pause;
    }
    dp_stats_t *st = dp_daemon_stats(self->d);
    dp_stats_set(st, "poll_ms_p50", (uint64_t)poller_shared_percentile(&self->sh, 50));
    dp_stats_set(st, "poll_ms_p95", (uint64_t)poller_shared_percentile(&self->sh, 95));
    dp_stats_set(st, "tap_published", dp_tap_published(self->tap));
    dp_stats_set(st, "tap_dropped", dp_tap_dropped(self->tap));
    int64_t now = dp_time_mono_ms();
    if (now >= self->next_report_ms || (!self->settings_ok && now % 5000 < S_TICK_MS)) {
        s_load_settings(self);
        if (now >= self->next_report_ms) {
            s_report(self);
            self->next_report_ms = now + S_REPORT_MS;
        }
    }
    s_check_drained(self);
    return 0;
}

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    (void)d;
    poller_t *self = arg;
    self->draining = true;
    dp_jobs_pause(self->jobs, true);
    self->paused = true;
    dp_log_notice("draining", "inflight=%d", dp_jobs_inflight(self->jobs));
    s_check_drained(self);
}

static void s_send_cfg(poller_t *self)
{
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "%" PRId64, self->cfg->snmp_timeout_ms);
    snprintf(b, sizeof b, "%d", self->cfg->snmp_retries);
    snprintf(c, sizeof c, "%d", self->cfg->concurrency);
    for (int i = 0; i < self->nworkers; i++)
        zsock_send(self->workers[i], "ssss", "CFG", a, b, c);
}

static void s_on_reload(dp_daemon_t *d, void *arg)
{
    (void)d;
    poller_t *self = arg;
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
    s_send_cfg(self);
    dp_jobs_set_slots(self->jobs, s_slots(self->cfg));
    if (self->sink)
        dp_sink_set_max_bytes(self->sink, (size_t)self->cfg->metrics_buffer_mb << 20);
    s_load_settings(self);
    dp_log_notice("reloaded", "applied=%d changed=\"%s\" needs_restart=\"%s\"", n, changed,
                  restart);
}

//  --------------------------------------------------------------------------
//  Lifecycle

static int s_start_workers(poller_t *self, dp_err_t *err)
{
    self->nworkers = self->cfg->workers > 0 ? self->cfg->workers : 1;
    self->workers = calloc((size_t)self->nworkers, sizeof *self->workers);
    self->fwd = calloc((size_t)self->nworkers, sizeof *self->fwd);
    if (!self->workers || !self->fwd)
        return dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
    zloop_t *loop = dp_daemon_loop(self->d);
    for (int i = 0; i < self->nworkers; i++) {
        self->workers[i] = poller_worker_new(i, self->cfg, &self->sh);
        if (!self->workers[i])
            return dp_err_set(err, DP_ERR_INTERNAL, "cannot start worker %d", i);
        zloop_reader(loop, zactor_sock(self->workers[i]), s_on_worker, self);
    }
    return 0;
}

poller_t *poller_new(dp_daemon_t *d, dp_cfg_t *cfg, const dp_zmq_keys_t *keys, int argc,
                     char **argv, dp_err_t *err)
{
    poller_t *self = calloc(1, sizeof *self);
    if (!self) {
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    *self = (poller_t){.d = d, .cfg = cfg, .argc = argc, .argv = argv};
    dp_stats_t *stats = dp_daemon_stats(d);
    poller_shared_init(&self->sh, stats);
    zloop_t *loop = dp_daemon_loop(d);
    if (poller_metrics_init((int)(cfg->rrd_step_ms / 1000)) != 0) {
        dp_err_set(err, DP_ERR_CONFIG, "cannot build RRD definitions for DP_RRD_STEP");
        goto fail;
    }
    dp_db_opts_t o;
    dp_conn_db_opts(cfg, &o);
    self->db = dp_db_new(&o);
    dp_redis_opts_t ro;
    dp_conn_redis_opts(cfg, &ro);
    self->redis = dp_redis_new(&ro); /* connects on first use; a dead server only costs stamps */
    self->jobs = dp_jobs_new(loop, cfg, keys, "poller", s_slots(cfg), err);
    if (!self->db || !self->jobs)
        goto fail;
    dp_err_t e = {0};
    self->tap = dp_tap_new(cfg->control_dir, "poller", cfg->node_id, &e);
    if (!self->tap)
        dp_log_warn("no message tap; carrying on without", "detail=\"%s\"", e.text);
    dp_jobs_set_stats(self->jobs, stats);
    dp_jobs_set_tap(self->jobs, self->tap);
    dp_jobs_set_trace(self->jobs, self->redis);
    dp_jobs_on_job(self->jobs, s_on_job, self);
    dp_jobs_on_burst(self->jobs, s_on_burst, self);
    if (cfg->rrdwriter) {
        self->sink = dp_sink_new(loop, cfg->rrdwriter, keys, cfg->node_id, err);
        if (!self->sink)
            goto fail;
        dp_sink_set_stats(self->sink, stats);
        dp_sink_set_tap(self->sink, self->tap);
        dp_sink_set_max_bytes(self->sink, (size_t)cfg->metrics_buffer_mb << 20);
    }
    self->sh.sink = self->sink; /* before the workers start: they encode METRICS */
    if (s_start_workers(self, err) != 0)
        goto fail;
    dp_jobs_set_intake(self->jobs, S_INTAKE_MS);
    s_load_settings(self);
    self->tick_id = zloop_timer(loop, S_TICK_MS, 0, s_on_tick, self);
    dp_daemon_on_drain(d, s_on_drain, self);
    dp_daemon_on_reload(d, s_on_reload, self);
    dp_daemon_on_command(d, s_on_command, self);
    dp_daemon_on_config(d, s_on_config, self);
    dp_log_notice("poller started", "workers=%d concurrency=%d slots=%d schedulers=%s rrdwriter=%s",
                  self->nworkers, cfg->concurrency, s_slots(cfg), cfg->schedulers,
                  cfg->rrdwriter ? cfg->rrdwriter : "(none)");
    return self;
fail:
    poller_destroy(&self);
    return NULL;
}

void poller_destroy(poller_t **p)
{
    if (!p || !*p)
        return;
    poller_t *self = *p;
    zloop_t *loop = dp_daemon_loop(self->d);
    if (self->tick_id > 0)
        zloop_timer_end(loop, self->tick_id);
    for (int i = 0; self->workers && i < self->nworkers; i++) {
        if (!self->workers[i])
            continue;
        zloop_reader_end(loop, zactor_sock(self->workers[i]));
        zactor_destroy(&self->workers[i]);
    }
    free(self->workers);
    for (int i = 0; self->fwd && i < self->nworkers; i++)
        free(self->fwd[i].jobs); /* empty: every tick forwards what it read */
    free(self->fwd);
    dp_jobs_destroy(&self->jobs); /* flushes the last trace stamps over redis */
    dp_sink_destroy(&self->sink);
    dp_tap_destroy(&self->tap); /* after the jobs link and the sink, which publish to it */
    dp_redis_destroy(&self->redis);
    dp_db_destroy(&self->db);
    free(self);
    *p = NULL;
}
