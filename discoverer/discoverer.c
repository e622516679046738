/*  discoverer.c - the discoverer service (see discoverer.h)
    SPDX-License-Identifier: MIT */
#include "discoverer.h"
#include "discoverer_os.h"
#include "discoverer_worker.h"
#include "dp_conn.h"
#include "dp_jobs.h"
#include "dp_log.h"
#include "dp_settings.h"
#include "dp_tap.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S_ROLE             "discoverer"
#define S_VERSION          "distpoll-discoverer 0.1"
#define S_TICK_MS          1000
#define S_SETTINGS_IVL_MS  5000 /* re-read cluster settings, report the node */
#define S_SLOTS_PER_WORKER 8    /* discoveries one thread runs at once */
#define S_HOST_MAX         256
#define S_RULES_ENV        "DP_OS_RULES"

typedef struct discoverer discoverer_t;

/* Reader argument of one worker pipe. */
typedef struct {
    discoverer_t *self;
    int index;
} s_link_t;

struct discoverer {
    dp_cfg_t *cfg;              /* borrowed; reloaded in place on SIGHUP */
    int argc;                   /* for reload */
    char **argv;                /* for reload */
    dp_daemon_t *daemon;        /* borrowed */
    zloop_t *loop;              /* the daemon's */
    dp_stats_t *stats;          /* the daemon's */
    dp_db_t *db;                /* settings and node reports */
    dp_jobs_t *jobs;            /* scheduler link */
    dp_tap_t *tap;              /* `distpoll tap discoverer`: the job link's traffic */
    dp_redis_t *redis;          /* this thread's: job trace stamps (workers have their own) */
    dp_zmq_keys_t keys;         /* CURVE keys for it */
    discoverer_shared_t shared; /* counters and rules shared with the workers */
    bool shared_ok;             /* shared was initialised */
    zactor_t **workers;         /* DP_WORKERS threads */
    s_link_t *links;            /* one per worker */
    int *load;                  /* jobs held by each worker */
    int nworkers;
    char rules_path[PATH_MAX]; /* the OS rules file */
    int tick_id;               /* housekeeping timer */
    int64_t settings_at_ms;    /* next settings refresh (mono) */
    bool settings_failed;      /* last refresh failed (logged once) */
    char host[S_HOST_MAX];     /* this machine's name */
};

// ---------------------------------------------------------------------------- rules

static bool s_readable(const char *path)
{
    return access(path, R_OK) == 0;
}

int discoverer_rules_path(char *out, size_t size, dp_err_t *err)
{
    const char *env = getenv(S_RULES_ENV);
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return 0; /* named explicitly: a missing file is reported by the load */
    }
    char exe[PATH_MAX] = "", dir[PATH_MAX] = ".";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(dir, sizeof dir, "%s", exe);
        }
    }
    /* the source tree (run from it, or a binary in build/ or build/<dir>/), then installs */
    static const char *const fmt[] = {"discoverer/os-rules.conf",
                                      "%.4000s/../discoverer/os-rules.conf",
                                      "%.4000s/../../discoverer/os-rules.conf",
                                      "/etc/distpoll/os-rules.conf",
                                      "%.4000s/os-rules.conf",
                                      "%.4000s/../share/distpoll/os-rules.conf"};
    char cand[PATH_MAX];
    for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        snprintf(cand, sizeof cand, fmt[i], dir);
        if (s_readable(cand)) {
            snprintf(out, size, "%s", cand);
            return 0;
        }
    }
    return dp_err_set(err, DP_ERR_NOTFOUND,
                      "no OS rules file: set %s or install discoverer/os-rules.conf as %s",
                      S_RULES_ENV, fmt[3]);
}

//  Loads the rules file and puts it in force. Returns 0 or -1 with err (rules unchanged).
static int s_load_rules(discoverer_t *self, dp_err_t *err)
{
    discoverer_os_rules_t *r = discoverer_os_load(self->rules_path, err);
    if (!r)
        return -1;
    dp_stats_set(self->stats, "os_rules", (uint64_t)discoverer_os_count(r));
    dp_log_notice("OS rules loaded", "path=%s rules=%d", self->rules_path, discoverer_os_count(r));
    discoverer_shared_set_rules(&self->shared, &r);
    return 0;
}

// ---------------------------------------------------------------------------- jobs

static void s_maybe_drained(discoverer_t *self)
{
    if (dp_daemon_state(self->daemon) == DP_DAEMON_DRAINING && dp_jobs_inflight(self->jobs) == 0)
        dp_daemon_drained(self->daemon);
}

static void s_on_job(dp_jobs_t *j, dp_msg_t *job, void *arg)
{
    discoverer_t *self = arg;
    if (dp_daemon_state(self->daemon) != DP_DAEMON_RUNNING) {
        dp_jobs_finish(j, job->job.job_id, DP_MSG_STATUS_ERROR, "draining", 0);
        dp_msg_destroy(&job);
        return;
    }
    int best = 0;
    for (int i = 1; i < self->nworkers; i++)
        if (self->load[i] < self->load[best])
            best = i;
    uint64_t job_id = job->job.job_id;
    if (zsock_send(self->workers[best], "sp", "JOB", job) != 0) {
        dp_jobs_finish(j, job_id, DP_MSG_STATUS_ERROR, "worker unavailable", 0);
        dp_msg_destroy(&job);
        return;
    }
    self->load[best]++;
}

//  A worker answered a job.
static int s_on_worker(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    s_link_t *link = arg;
    discoverer_t *self = link->self;
    char *cmd = NULL;
    void *data = NULL;
    size_t size = 0;
    if (zsock_recv(sock, "sb", &cmd, &data, &size) != 0)
        return 0;
    if (cmd && strcmp(cmd, "DONE") == 0 && size == sizeof(discoverer_done_t)) {
        discoverer_done_t done;
        memcpy(&done, data, sizeof done);
        done.reason[sizeof done.reason - 1] = '\0';
        if (self->load[link->index] > 0)
            self->load[link->index]--;
        dp_jobs_finish(self->jobs, done.job_id, (dp_msg_status_t)done.status,
                       done.reason[0] ? done.reason : NULL, done.took_ms);
    }
    free(cmd);
    free(data);
    s_maybe_drained(self);
    return 0;
}

// ---------------------------------------------------------------------------- housekeeping

static void s_refresh_settings(discoverer_t *self)
{
    int64_t now = dp_time_mono_ms();
    if (now < self->settings_at_ms)
        return;
    self->settings_at_ms = now + S_SETTINGS_IVL_MS;
    dp_settings_t s;
    dp_err_t e = {0};
    if (dp_settings_load(self->db, self->cfg->node_id, &s, &e) != 0) {
        if (!self->settings_failed)
            dp_log_warn("cannot read cluster settings; keeping the poller groups in force",
                        "err=%s detail=\"%s\"", dp_err_name(e.code), e.text);
        self->settings_failed = true;
        return;
    }
    if (self->settings_failed)
        dp_log_notice("cluster settings readable again", "groups=%d", s.ngroups);
    self->settings_failed = false;
    dp_jobs_set_groups(self->jobs, s.groups, s.ngroups);
    dp_node_report(self->db, self->cfg->node_id, self->host, S_ROLE, S_VERSION, -1, NULL);
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    discoverer_t *self = arg;
    if (dp_daemon_state(self->daemon) == DP_DAEMON_RUNNING)
        s_refresh_settings(self);
    dp_stats_set(self->stats, "jobs_inflight", (uint64_t)dp_jobs_inflight(self->jobs));
    dp_stats_set(self->stats, "tap_published", dp_tap_published(self->tap));
    dp_stats_set(self->stats, "tap_dropped", dp_tap_dropped(self->tap));
    s_maybe_drained(self);
    return 0;
}

// ---------------------------------------------------------------------------- daemon hooks

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    (void)d;
    discoverer_t *self = arg;
    dp_jobs_pause(self->jobs, true);
    dp_log_notice("draining", "inflight=%d", dp_jobs_inflight(self->jobs));
    s_maybe_drained(self);
}

static void s_send_cfg(discoverer_t *self)
{
    for (int i = 0; i < self->nworkers; i++)
        zsock_send(self->workers[i], "siii", "CFG", (int)self->cfg->snmp_timeout_ms,
                   self->cfg->snmp_retries, self->cfg->concurrency);
}

static void s_on_reload(dp_daemon_t *d, void *arg)
{
    (void)d;
    discoverer_t *self = arg;
    dp_cfg_t *next = dp_cfg_new();
    dp_err_t e = {0};
    if (dp_cfg_load(next, self->argc, self->argv, &e) != 0) {
        dp_log_error("reload refused: bad configuration", "detail=\"%s\"", e.text);
    } else {
        char changed[512] = "", restart[512] = "";
        dp_cfg_reload(self->cfg, next, changed, sizeof changed, restart, sizeof restart);
        dp_log_set_level(self->cfg->log_level);
        s_send_cfg(self);
        dp_log_notice("reloaded", "changed=\"%s\" needs_restart=\"%s\"", changed, restart);
    }
    dp_cfg_destroy(&next);
    dp_err_clear(&e);
    char path[PATH_MAX];
    if (discoverer_rules_path(path, sizeof path, &e) == 0)
        snprintf(self->rules_path, sizeof self->rules_path, "%s", path);
    if (s_load_rules(self, &e) != 0) {
        dp_stats_add(self->stats, "os_rules_rejected", 1);
        dp_log_error("OS rules reload refused; the rules in force stay", "detail=\"%s\"", e.text);
    }
    self->settings_at_ms = 0;
}

static char *s_on_config(dp_daemon_t *d, void *arg)
{
    (void)d;
    discoverer_t *self = arg;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    dp_cfg_print(self->cfg, f, false);
    fprintf(f, "%s=%s\n", S_RULES_ENV, self->rules_path);
    fclose(f);
    return buf;
}

//  DETECT <sysObjectID|-> <sysDescr...>
static char *s_detect(discoverer_t *self, const char *args)
{
    char objid[512] = "";
    const char *descr = args;
    size_t n = strcspn(args, " ");
    if (n < sizeof objid)
        memcpy(objid, args, n);
    objid[n < sizeof objid ? n : 0] = '\0';
    descr = args + n;
    while (*descr == ' ')
        descr++;
    discoverer_os_rules_t *r = discoverer_shared_rules(&self->shared);
    discoverer_os_match_t m;
    discoverer_os_detect(r, strcmp(objid, "-") == 0 ? NULL : objid, descr, &m);
    char *out = NULL;
    if (asprintf(&out, "os=%s name=\"%s\" line=%d fallback=%d", m.os, m.name, m.line, m.fallback) <
        0)
        out = NULL;
    discoverer_os_unref(&r);
    return out;
}

static char *s_on_command(dp_daemon_t *d, const char *verb, const char *args, void *arg)
{
    (void)d;
    discoverer_t *self = arg;
    char *out = NULL;
    if (strcasecmp(verb, "DETECT") == 0)
        return s_detect(self, args);
    if (strcasecmp(verb, "RULES") == 0) {
        discoverer_os_rules_t *r = discoverer_shared_rules(&self->shared);
        if (asprintf(&out, "path=%s rules=%d", discoverer_os_origin(r), discoverer_os_count(r)) < 0)
            out = NULL;
        discoverer_os_unref(&r);
        return out;
    }
    return NULL;
}

// ---------------------------------------------------------------------------- life cycle

static int s_start_workers(discoverer_t *self, dp_err_t *err)
{
    int n = self->cfg->workers > 0 ? self->cfg->workers : 1;
    self->workers = calloc((size_t)n, sizeof *self->workers);
    self->links = calloc((size_t)n, sizeof *self->links);
    self->load = calloc((size_t)n, sizeof *self->load);
    if (!self->workers || !self->links || !self->load)
        abort();
    for (int i = 0; i < n; i++) {
        self->workers[i] = discoverer_worker_new(i, self->cfg, &self->shared);
        if (!self->workers[i])
            return dp_err_set(err, DP_ERR_INTERNAL, "cannot start worker thread %d", i);
        self->nworkers++;
        self->links[i] = (s_link_t){self, i};
        if (zloop_reader(self->loop, zactor_sock(self->workers[i]), s_on_worker, &self->links[i]) !=
            0)
            return dp_err_set(err, DP_ERR_INTERNAL, "cannot watch worker thread %d", i);
    }
    return 0;
}

static int s_open_jobs(discoverer_t *self, dp_err_t *err)
{
    if (self->cfg->curve && dp_zmq_keys_derive(self->cfg->app_key, &self->keys, err) != 0)
        return -1;
    self->jobs = dp_jobs_new(self->loop, self->cfg, self->cfg->curve ? &self->keys : NULL, S_ROLE,
                             self->nworkers * S_SLOTS_PER_WORKER, err);
    if (!self->jobs)
        return -1;
    dp_jobs_set_stats(self->jobs, self->stats);
    dp_jobs_set_tap(self->jobs, self->tap);
    dp_jobs_set_trace(self->jobs, self->redis);
    dp_jobs_on_job(self->jobs, s_on_job, self);
    return 0;
}

//  --------------------------------------------------------------------------
discoverer_t *discoverer_new(dp_cfg_t *cfg, dp_daemon_t *daemon, int argc, char **argv,
                             dp_err_t *err)
{
    discoverer_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    *self = (discoverer_t){.cfg = cfg,
                           .argc = argc,
                           .argv = argv,
                           .daemon = daemon,
                           .loop = dp_daemon_loop(daemon),
                           .stats = dp_daemon_stats(daemon),
                           .tick_id = -1};
    if (gethostname(self->host, sizeof self->host) != 0)
        snprintf(self->host, sizeof self->host, "unknown");
    discoverer_shared_init(&self->shared, self->stats);
    self->shared_ok = true;
    if (discoverer_rules_path(self->rules_path, sizeof self->rules_path, err) != 0)
        goto fail;
    dp_err_t e = {0};
    if (s_load_rules(self, &e) != 0) {
        dp_err_set(err, DP_ERR_CONFIG, "%s", e.text);
        goto fail;
    }
    dp_db_opts_t dbo;
    dp_conn_db_opts(cfg, &dbo);
    self->db = dp_db_new(&dbo);
    if (!self->db) {
        dp_err_set(err, DP_ERR_CONFIG, "bad MariaDB options");
        goto fail;
    }
    dp_redis_opts_t ro;
    dp_conn_redis_opts(cfg, &ro);
    self->redis = dp_redis_new(&ro); /* connects on first use; a dead server only costs stamps */
    self->tap = dp_tap_new(cfg->control_dir, S_ROLE, cfg->node_id, &e);
    if (!self->tap)
        dp_log_warn("no message tap; carrying on without", "detail=\"%s\"", e.text);
    dp_stats_counter(self->stats, "os_rules_rejected");
    if (s_start_workers(self, err) != 0 || s_open_jobs(self, err) != 0)
        goto fail;
    self->tick_id = zloop_timer(self->loop, S_TICK_MS, 0, s_on_tick, self);
    dp_daemon_on_drain(daemon, s_on_drain, self);
    dp_daemon_on_reload(daemon, s_on_reload, self);
    dp_daemon_on_config(daemon, s_on_config, self);
    dp_daemon_on_command(daemon, s_on_command, self);
    s_refresh_settings(self);
    return self;
fail:
    discoverer_destroy(&self);
    return NULL;
}

//  --------------------------------------------------------------------------
void discoverer_destroy(discoverer_t **p)
{
    if (!p || !*p)
        return;
    discoverer_t *self = *p;
    if (self->tick_id >= 0)
        zloop_timer_end(self->loop, self->tick_id);
    dp_jobs_destroy(&self->jobs); /* flushes the last trace stamps */
    dp_tap_destroy(&self->tap);   /* after the jobs link, which publishes to it */
    dp_redis_destroy(&self->redis);
    for (int i = 0; i < self->nworkers; i++) {
        zloop_reader_end(self->loop, zactor_sock(self->workers[i]));
        zactor_destroy(&self->workers[i]);
    }
    free(self->workers);
    free(self->links);
    free(self->load);
    if (self->shared_ok)
        discoverer_shared_destroy(&self->shared);
    dp_zmq_keys_wipe(&self->keys);
    dp_db_destroy(&self->db);
    free(self);
    *p = NULL;
}
