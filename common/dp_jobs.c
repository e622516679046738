/*  dp_jobs.c - worker side of the job protocol: DEALER per scheduler, CREDIT, JOB, RESULT
    Every scheduler gets the same CREDIT (free slots are a property of the worker); only the
    leader sends jobs. A job remembers the DEALER it came from so its RESULT goes back there.
    Sends never block: a scheduler that is not connected simply misses a CREDIT or RESULT (the
    leader re-issues what it does not hear about; the device claim makes that harmless).
    SPDX-License-Identifier: MIT */
#include "dp_jobs.h"
#include "dp_http.h"
#include "dp_log.h"
#include "dp_time.h"
#include "dp_trace.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_SCHEDULERS 32    /* endpoints in DP_SCHEDULERS */
#define S_INTAKE_MAX     4096  /* frames read from one DEALER in one go */
#define S_LOG_EVERY_MS   10000 /* at most one "result not sent" warning per this */

/* A dp_http histogram's counters (named as dp_http_observe_ms names them). */
typedef struct {
    dp_counter_t *le[DP_HTTP_BUCKETS], *inf, *sum, *count; /* count NULL: no histogram */
} s_hist_t;

/* One job handed to the handler and not finished yet. */
typedef struct {
    uint64_t job_id;    /* from the JOB */
    int sched;          /* index of the DEALER it came from */
    uint64_t device_id; /* copied into the RESULT */
    uint64_t epoch;     /* copied into the RESULT */
    dp_msg_kind_t kind; /* copied into the RESULT */
} s_inflight_t;

struct dp_jobs {
    zloop_t *loop;                      /* borrowed */
    zsock_t *dealers[S_MAX_SCHEDULERS]; /* one per scheduler endpoint */
    char *endpoints[S_MAX_SCHEDULERS];  /* for logs */
    int ndealers;                       /* entries in dealers */
    int timer_id;                       /* CREDIT timer */
    char *node;                         /* NODE_ID */
    char *stage;                        /* poller | discoverer | biller */
    int slots;                          /* max jobs in flight */
    int groups[DP_MSG_GROUPS_MAX];      /* groups served */
    int ngroups;                        /* entries in groups */
    bool paused;                        /* advertise 0 credit */
    zhashx_t *inflight;                 /* &job_id (in the item) -> s_inflight_t * */
    uint64_t max_epoch;                 /* highest epoch seen */
    uint64_t msg_seq;                   /* envelope msg_id */
    dp_jobs_fn *fn;                     /* job handler */
    void *fn_arg;                       /* its argument */
    dp_jobs_burst_fn *burst_fn;         /* after the JOBs read in one go */
    void *burst_arg;                    /* its argument */
    int intake_ms;                      /* > 0: DEALERs read on a timer (0: as JOBs arrive) */
    int intake_timer_id;                /* that timer, -1 when none */
    bool credit_due;                    /* intake mode: jobs finished since the last CREDIT */
    dp_counter_t *c_received;           /* jobs_received */
    dp_counter_t *c_stale;              /* jobs_stale */
    dp_counter_t *c_results;            /* results_sent */
    dp_counter_t *c_unsent;             /* results_unsent (scheduler gone or full) */
    dp_log_limit_t log_unsent;          /* "result not sent" warnings */
    dp_counter_t *c_refused;            /* jobs_refused (paused, full, no handler) */
    dp_counter_t *c_bad;                /* jobs_bad (undecodable) */
    dp_counter_t *c_done;               /* jobs_done (ok or down); NULL: the daemon's */
    dp_counter_t *c_failed;             /* jobs_failed (error, timeout); NULL: the daemon's */
    dp_counter_t *g_queued;             /* jobs_queued */
    dp_counter_t *g_in_flight;          /* jobs_in_flight */
    dp_counter_t *g_trace_marks;        /* trace_marks (process-wide) */
    dp_counter_t *g_trace_failures;     /* trace_failures (process-wide) */
    s_hist_t job_ms;                    /* the job_ms histogram */
    int queued;                         /* handed over, still queued by the daemon */
    dp_tap_t *tap;                      /* borrowed; NULL: off */
    dp_redis_t *trace_redis;            /* borrowed; NULL: no traces */
    dp_trace_batch_t *trace;            /* stamps waiting for the flush timer */
    int trace_timer_id;                 /* flush timer, -1 when none (or on the intake tick) */
    int64_t trace_flushed_ms;           /* intake mode: last flush, monotonic */
    bool trace_down;                    /* last flush failed (log changes once) */
};

static void s_count(dp_counter_t *c)
{
    if (c)
        (*c)++;
}

//  inflight keys: a uint64_t job id, held by the item itself (no copy, no text).
static size_t s_key_hash(const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int s_key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void s_set_gauges(dp_jobs_t *j)
{
    int n = (int)zhashx_size(j->inflight), q = j->queued < n ? j->queued : n;
    if (j->g_queued)
        *j->g_queued = (uint64_t)q;
    if (j->g_in_flight)
        *j->g_in_flight = (uint64_t)(n - q);
}

//  dp_http_observe_ms(stats, "job_ms", ms) without looking the counters up by name each time.
static void s_observe(dp_jobs_t *j, int64_t ms)
{
    if (!j->job_ms.count)
        return;
    ms = ms < 0 ? 0 : ms;
    for (int i = 0; i < DP_HTTP_BUCKETS; i++)
        if (ms <= dp_http_bucket_ms(i))
            (*j->job_ms.le[i])++;
    (*j->job_ms.inf)++;
    *j->job_ms.sum += (uint64_t)ms;
    (*j->job_ms.count)++;
}

//  Registers the job_ms histogram's counters (named as dp_http_observe_ms names them).
static void s_histogram(dp_jobs_t *j, dp_stats_t *stats)
{
    char name[64];
    for (int i = 0; i < DP_HTTP_BUCKETS; i++) {
        snprintf(name, sizeof name, "job_ms_le_%lld", (long long)dp_http_bucket_ms(i));
        j->job_ms.le[i] = dp_stats_counter(stats, name);
    }
    j->job_ms.inf = dp_stats_counter(stats, "job_ms_le_inf");
    j->job_ms.sum = dp_stats_counter(stats, "job_ms_sum");
    j->job_ms.count = dp_stats_counter(stats, "job_ms_count");
    for (int i = 0; i < DP_HTTP_BUCKETS; i++)
        if (!j->job_ms.le[i])
            j->job_ms.count = NULL; /* stats full: no histogram */
    if (!j->job_ms.inf || !j->job_ms.sum)
        j->job_ms.count = NULL;
}

//  Queues the stamps of a job handed over or refused (device_id 0: not traced).
static void s_trace_taken(dp_jobs_t *j, const dp_msg_job_t *job, const char *refused)
{
    if (!j->trace || !job->device_id)
        return;
    dp_trace_batch_mark_job(j->trace, job->device_id, job->job_id, "taken_by", "%s", j->node);
    if (!refused) {
        dp_trace_batch_mark_job(j->trace, job->device_id, job->job_id, "taken_ms", "%lld",
                                (long long)dp_time_wall_ms());
        return;
    }
    dp_trace_batch_mark_job(j->trace, job->device_id, job->job_id, "status", "%s",
                            dp_msg_status_name(DP_MSG_STATUS_ERROR));
    dp_trace_batch_mark_job(j->trace, job->device_id, job->job_id, "reason", "%s", refused);
}

static void s_trace_flush(dp_jobs_t *j)
{
    if (!j->trace || !j->trace_redis)
        return;
    dp_err_t err = {0};
    if (dp_trace_batch_pending(j->trace) > 0) {
        bool down = dp_trace_batch_flush(j->trace, j->trace_redis, &err) < 0;
        if (down != j->trace_down)
            dp_log_warn(down ? "job trace stamps failing; dropped and counted"
                             : "job trace stamps written again",
                        "err=\"%s\"", down ? err.text : "");
        j->trace_down = down;
    }
    if (j->g_trace_marks)
        *j->g_trace_marks = dp_trace_marks();
    if (j->g_trace_failures)
        *j->g_trace_failures = dp_trace_failures();
}

static int s_on_trace_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    s_trace_flush(arg);
    return 0;
}

//  The flush timer runs when there are traces and no intake tick (which flushes them then).
static void s_trace_timer(dp_jobs_t *j)
{
    bool want = j->trace && j->intake_ms == 0;
    if (want && j->trace_timer_id < 0)
        j->trace_timer_id = zloop_timer(j->loop, DP_JOBS_TRACE_FLUSH_MS, 0, s_on_trace_timer, j);
    else if (!want && j->trace_timer_id >= 0) {
        zloop_timer_end(j->loop, j->trace_timer_id);
        j->trace_timer_id = -1;
    }
}

static dp_msg_t *s_new_msg(dp_jobs_t *j, dp_msg_type_t type)
{
    dp_msg_t *m = dp_msg_new(type);
    m->msg_id = ++j->msg_seq;
    m->created_ms = dp_time_wall_ms();
    m->sender_node = strdup(j->node);
    return m;
}

//  Encodes and sends m on dealer i without blocking; destroys m.
static int s_send(dp_jobs_t *j, int i, dp_msg_t **m)
{
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    int rc = dp_msg_encode(*m, &data, &size, &err);
    if (rc == 0) {
        rc = dp_zmq_send_bytes(j->dealers[i], data, size, ZMQ_DONTWAIT);
        if (rc == 0)
            dp_tap_publish(j->tap, DP_TAP_OUT, data, size);
    } else
        dp_log_error("cannot encode", "type=%s err=\"%s\"", dp_msg_type_name((*m)->type), err.text);
    free(data);
    dp_msg_destroy(m);
    return rc;
}

static int s_credit_now(const dp_jobs_t *j)
{
    int free_slots = j->slots - (int)zhashx_size(j->inflight);
    if (j->paused || free_slots < 0)
        return 0;
    return free_slots > DP_MSG_CREDIT_MAX ? DP_MSG_CREDIT_MAX : free_slots;
}

//  Sends CREDIT to every scheduler.
static void s_send_credit(dp_jobs_t *j)
{
    j->credit_due = false;
    for (int i = 0; i < j->ndealers; i++) {
        dp_msg_t *m = s_new_msg(j, DP_MSG_CREDIT);
        m->credit.node = strdup(j->node);
        m->credit.stage = strdup(j->stage);
        m->credit.credit = s_credit_now(j);
        m->credit.slots = j->slots > DP_MSG_CREDIT_MAX ? DP_MSG_CREDIT_MAX : j->slots;
        m->credit.n_groups = (size_t)j->ngroups;
        m->credit.groups = malloc(sizeof(int) * (size_t)(j->ngroups ? j->ngroups : 1));
        memcpy(m->credit.groups, j->groups, sizeof(int) * (size_t)j->ngroups);
        s_send(j, i, &m);
    }
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    s_send_credit(arg);
    return 0;
}

//  Answers a job that is not handed to the handler.
static void s_refuse(dp_jobs_t *j, int i, const dp_msg_job_t *job, const char *reason)
{
    dp_msg_t *m = s_new_msg(j, DP_MSG_RESULT);
    m->result = (dp_msg_result_t){.job_id = job->job_id,
                                  .device_id = job->device_id,
                                  .epoch = job->epoch,
                                  .kind = job->kind,
                                  .status = DP_MSG_STATUS_ERROR,
                                  .reason = strdup(reason),
                                  .node = strdup(j->node)};
    if (s_send(j, i, &m) == 0)
        s_count(j->c_results);
    s_trace_taken(j, job, reason);
}

//  Handles a decoded JOB; returns true when it was handed to the handler.
static bool s_on_job(dp_jobs_t *j, int i, dp_msg_t *msg)
{
    dp_msg_job_t *job = &msg->job;
    s_count(j->c_received);
    if (job->epoch < j->max_epoch) {
        s_count(j->c_stale);
        dp_log_warn("stale job refused", "job_id=%" PRIu64 " epoch=%" PRIu64 " max_epoch=%" PRIu64,
                    job->job_id, job->epoch, j->max_epoch);
        s_refuse(j, i, job, "stale epoch");
    } else if (zhashx_lookup(j->inflight, &job->job_id)) {
        dp_log_debug("duplicate job ignored", "job_id=%" PRIu64, job->job_id);
    } else if (j->paused || !j->fn || (int)zhashx_size(j->inflight) >= j->slots) {
        s_count(j->c_refused);
        s_refuse(j, i, job, j->paused ? "paused" : !j->fn ? "no handler" : "no credit");
    } else {
        if (job->epoch > j->max_epoch) {
            if (j->max_epoch)
                dp_log_notice("new scheduler epoch", "epoch=%" PRIu64 " from=%s", job->epoch,
                              j->endpoints[i]);
            j->max_epoch = job->epoch;
        }
        s_inflight_t *f = malloc(sizeof *f);
        *f = (s_inflight_t){job->job_id, i, job->device_id, job->epoch, job->kind};
        zhashx_insert(j->inflight, &f->job_id, f);
        s_set_gauges(j);
        s_trace_taken(j, job, NULL);
        j->fn(j, msg, j->fn_arg); /* handler owns msg now */
        return true;
    }
    dp_msg_destroy(&msg);
    return false;
}

//  Handles one frame from dealer i; returns true when a JOB was handed over.
static bool s_on_frame(dp_jobs_t *j, int i, const void *data, size_t size)
{
    dp_tap_publish(j->tap, DP_TAP_IN, data, size);
    dp_err_t err = {0};
    dp_msg_t *msg = dp_msg_decode(data, size, &err);
    if (!msg || msg->type != DP_MSG_JOB) {
        s_count(j->c_bad);
        dp_log_warn("bad message from scheduler", "from=%s err=\"%s\"", j->endpoints[i],
                    msg ? "not a JOB" : err.text);
        dp_msg_destroy(&msg);
        return false;
    }
    return s_on_job(j, i, msg);
}

//  Reads the frames waiting on dealer i (without blocking); returns the JOBs handed over.
static int s_drain(dp_jobs_t *j, int i)
{
    void *sock = zsock_resolve(j->dealers[i]);
    int handed = 0;
    for (int n = 0; n < S_INTAKE_MAX; n++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        handed += s_on_frame(j, i, zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
    }
    return handed;
}

static void s_burst_end(dp_jobs_t *j, int handed)
{
    if (handed > 0 && j->burst_fn)
        j->burst_fn(j, j->burst_arg);
}

static int s_on_readable(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    dp_jobs_t *j = arg;
    int i = 0;
    while (i < j->ndealers && j->dealers[i] != sock)
        i++;
    if (i < j->ndealers)
        s_burst_end(j, s_drain(j, i));
    return 0;
}

static int s_on_intake(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    dp_jobs_t *j = arg;
    int handed = 0;
    for (int i = 0; i < j->ndealers; i++)
        handed += s_drain(j, i);
    s_burst_end(j, handed);
    if (j->credit_due)
        s_send_credit(j);
    int64_t now = dp_time_mono_ms();
    if (j->trace && now - j->trace_flushed_ms >= DP_JOBS_TRACE_FLUSH_MS) {
        j->trace_flushed_ms = now;
        s_trace_flush(j);
    }
    return 0;
}

static void s_free_inflight(void **item)
{
    free(*item);
    *item = NULL;
}

//  --------------------------------------------------------------------------
dp_jobs_t *dp_jobs_new(zloop_t *loop, const dp_cfg_t *cfg, const dp_zmq_keys_t *keys,
                       const char *stage, int slots, dp_err_t *err)
{
    if (!loop || !cfg || !cfg->node_id || !stage || !*stage || slots < 1) {
        dp_err_set(err, DP_ERR_CONFIG, "dp_jobs_new: bad arguments");
        return NULL;
    }
    char **eps = NULL;
    int n = 0;
    dp_cfg_split_list(cfg->schedulers, &eps, &n);
    if (n < 1 || n > S_MAX_SCHEDULERS) {
        dp_cfg_list_free(&eps);
        dp_err_set(err, DP_ERR_CONFIG, "DP_SCHEDULERS: expected 1 to %d endpoints, got %d",
                   S_MAX_SCHEDULERS, n);
        return NULL;
    }
    dp_jobs_t *j = calloc(1, sizeof *j);
    j->loop = loop;
    j->node = strdup(cfg->node_id);
    j->stage = strdup(stage);
    j->slots = slots;
    j->ngroups = 1; /* group 0 until dp_jobs_set_groups */
    j->timer_id = -1;
    j->trace_timer_id = -1;
    j->intake_timer_id = -1;
    j->inflight = zhashx_new();
    zhashx_set_destructor(j->inflight, s_free_inflight);
    zhashx_set_key_hasher(j->inflight, s_key_hash);
    zhashx_set_key_comparator(j->inflight, s_key_cmp);
    zhashx_set_key_duplicator(j->inflight, NULL);
    zhashx_set_key_destructor(j->inflight, NULL);
    for (int i = 0; i < n; i++) {
        j->endpoints[i] = strdup(eps[i]);
        j->dealers[i] = dp_zmq_client(ZMQ_DEALER, eps[i], keys, err);
        if (!j->dealers[i]) {
            dp_cfg_list_free(&eps);
            dp_jobs_destroy(&j);
            return NULL;
        }
        j->ndealers = i + 1;
        zloop_reader(loop, j->dealers[i], s_on_readable, j);
    }
    dp_cfg_list_free(&eps);
    j->timer_id = zloop_timer(loop, DP_JOBS_CREDIT_IVL_MS, 0, s_on_timer, j);
    s_send_credit(j);
    return j;
}

//  --------------------------------------------------------------------------
void dp_jobs_destroy(dp_jobs_t **p)
{
    if (!p || !*p)
        return;
    dp_jobs_t *j = *p;
    if (j->timer_id >= 0)
        zloop_timer_end(j->loop, j->timer_id);
    if (j->trace_timer_id >= 0)
        zloop_timer_end(j->loop, j->trace_timer_id);
    if (j->intake_timer_id >= 0)
        zloop_timer_end(j->loop, j->intake_timer_id);
    s_trace_flush(j); /* best effort: what the last jobs stamped */
    dp_trace_batch_destroy(&j->trace);
    for (int i = 0; i < j->ndealers; i++) {
        if (j->intake_ms == 0)
            zloop_reader_end(j->loop, j->dealers[i]);
        zsock_destroy(&j->dealers[i]);
    }
    for (int i = 0; i < S_MAX_SCHEDULERS; i++)
        free(j->endpoints[i]);
    zhashx_destroy(&j->inflight);
    free(j->node);
    free(j->stage);
    free(j);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void dp_jobs_on_job(dp_jobs_t *j, dp_jobs_fn *fn, void *arg)
{
    j->fn = fn;
    j->fn_arg = arg;
}

//  --------------------------------------------------------------------------
void dp_jobs_on_burst(dp_jobs_t *j, dp_jobs_burst_fn *fn, void *arg)
{
    j->burst_fn = fn;
    j->burst_arg = arg;
}

//  --------------------------------------------------------------------------
void dp_jobs_set_intake(dp_jobs_t *j, int intake_ms)
{
    intake_ms = intake_ms < 0 ? 0 : intake_ms;
    if (intake_ms == j->intake_ms)
        return;
    if (j->intake_timer_id >= 0)
        zloop_timer_end(j->loop, j->intake_timer_id);
    j->intake_timer_id = -1;
    for (int i = 0; i < j->ndealers; i++) {
        if (intake_ms > 0 && j->intake_ms == 0)
            zloop_reader_end(j->loop, j->dealers[i]);
        else if (intake_ms == 0 && j->intake_ms > 0)
            zloop_reader(j->loop, j->dealers[i], s_on_readable, j);
    }
    j->intake_ms = intake_ms;
    if (intake_ms > 0)
        j->intake_timer_id = zloop_timer(j->loop, (size_t)intake_ms, 0, s_on_intake, j);
    s_trace_timer(j);
    if (j->credit_due)
        s_send_credit(j);
}

//  --------------------------------------------------------------------------
void dp_jobs_set_groups(dp_jobs_t *j, const int *groups, int n)
{
    if (n < 0)
        n = 0;
    if (n > DP_MSG_GROUPS_MAX)
        n = DP_MSG_GROUPS_MAX;
    memcpy(j->groups, groups, sizeof(int) * (size_t)n);
    j->ngroups = n;
    s_send_credit(j);
}

//  --------------------------------------------------------------------------
void dp_jobs_set_slots(dp_jobs_t *j, int slots)
{
    j->slots = slots < 1 ? 1 : slots;
    s_send_credit(j);
}

//  --------------------------------------------------------------------------
void dp_jobs_pause(dp_jobs_t *j, bool paused)
{
    if (j->paused == paused)
        return;
    j->paused = paused;
    s_send_credit(j);
}

//  --------------------------------------------------------------------------
int dp_jobs_finish(dp_jobs_t *j, uint64_t job_id, dp_msg_status_t status, const char *reason,
                   int64_t took_ms)
{
    s_inflight_t *f = zhashx_lookup(j->inflight, &job_id);
    if (!f)
        return -1;
    dp_msg_t *m = s_new_msg(j, DP_MSG_RESULT);
    m->result = (dp_msg_result_t){.job_id = job_id,
                                  .device_id = f->device_id,
                                  .epoch = f->epoch,
                                  .kind = f->kind,
                                  .status = status,
                                  .reason = reason && *reason ? strdup(reason) : NULL,
                                  .took_ms = took_ms < 0 ? 0 : took_ms,
                                  .node = strdup(j->node)};
    int sched = f->sched;
    if (j->trace && f->device_id) {
        dp_trace_batch_mark_job(j->trace, f->device_id, job_id, "polled_ms", "%lld",
                                (long long)dp_time_wall_ms());
        dp_trace_batch_mark_job(j->trace, f->device_id, job_id, "status", "%s",
                                dp_msg_status_name(status));
        if (reason && *reason)
            dp_trace_batch_mark_job(j->trace, f->device_id, job_id, "reason", "%s", reason);
    }
    zhashx_delete(j->inflight, &job_id);
    s_count(status == DP_MSG_STATUS_OK || status == DP_MSG_STATUS_DOWN ? j->c_done : j->c_failed);
    s_observe(j, took_ms);
    s_set_gauges(j);
    uint64_t held = 0;
    if (s_send(j, sched, &m) == 0)
        s_count(j->c_results);
    else {
        s_count(j->c_unsent);
        if (dp_log_limit(&j->log_unsent, S_LOG_EVERY_MS, &held))
            dp_log_warn("result not sent (the scheduler requeues the job when its lease expires)",
                        "job_id=%" PRIu64 " to=%s suppressed=%" PRIu64, job_id, j->endpoints[sched],
                        held);
    }
    if (j->intake_ms > 0)
        j->credit_due = true;
    else
        s_send_credit(j);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_jobs_inflight(const dp_jobs_t *j)
{
    return (int)zhashx_size(j->inflight);
}

//  --------------------------------------------------------------------------
uint64_t dp_jobs_max_epoch(const dp_jobs_t *j)
{
    return j->max_epoch;
}

//  --------------------------------------------------------------------------
void dp_jobs_set_stats(dp_jobs_t *j, dp_stats_t *stats)
{
    j->c_received = dp_stats_counter(stats, "jobs_received");
    j->c_stale = dp_stats_counter(stats, "jobs_stale");
    j->c_results = dp_stats_counter(stats, "results_sent");
    j->c_unsent = dp_stats_counter(stats, "results_unsent");
    j->c_refused = dp_stats_counter(stats, "jobs_refused");
    j->c_bad = dp_stats_counter(stats, "jobs_bad");
    int before = dp_stats_size(stats);
    dp_counter_t *done = dp_stats_counter(stats, "jobs_done");
    bool daemon_counts = dp_stats_size(stats) == before; /* registered already: not ours */
    j->c_done = daemon_counts ? NULL : done;
    j->c_failed = daemon_counts ? NULL : dp_stats_counter(stats, "jobs_failed");
    j->g_queued = dp_stats_counter(stats, "jobs_queued");
    j->g_in_flight = dp_stats_counter(stats, "jobs_in_flight");
    j->g_trace_marks = dp_stats_counter(stats, "trace_marks");
    j->g_trace_failures = dp_stats_counter(stats, "trace_failures");
    s_histogram(j, stats);
    s_set_gauges(j);
}

//  --------------------------------------------------------------------------
void dp_jobs_set_tap(dp_jobs_t *j, dp_tap_t *tap)
{
    j->tap = tap;
}

//  --------------------------------------------------------------------------
void dp_jobs_set_trace(dp_jobs_t *j, dp_redis_t *r)
{
    if (r && !j->trace)
        j->trace = dp_trace_batch_new();
    else if (!r && j->trace) {
        s_trace_flush(j);
        dp_trace_batch_destroy(&j->trace);
    }
    j->trace_redis = r;
    s_trace_timer(j);
}

//  --------------------------------------------------------------------------
void dp_jobs_trace(dp_jobs_t *j, uint64_t device_id, uint64_t job_id, const char *field,
                   const char *value_fmt, ...)
{
    if (!j->trace || !device_id || !field)
        return;
    char value[DP_TRACE_VALUE_MAX];
    va_list ap;
    va_start(ap, value_fmt);
    vsnprintf(value, sizeof value, value_fmt, ap);
    va_end(ap);
    dp_trace_batch_mark_job(j->trace, device_id, job_id, field, "%s", value);
}

//  --------------------------------------------------------------------------
void dp_jobs_set_queued(dp_jobs_t *j, int queued)
{
    j->queued = queued < 0 ? 0 : queued;
    s_set_gauges(j);
}
