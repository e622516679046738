/*  poller_worker.c - one polling thread (see poller_worker.h)
    SPDX-License-Identifier: MIT */
#include "poller_worker.h"
#include "dp_ifmib.h"
#include "dp_claim.h"
#include "dp_log.h"
#include "dp_worker.h"
#include "dp_msg.h"
#include "dp_snmp.h"
#include "dp_time.h"
#include "poller_db.h"
#include "poller_modules.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch is written when full or when its first poll has waited S_BATCH_WAIT_MS, never just
   because the thread went idle: at a steady job rate polls finish one by one, and batches of
   1-3 cost MariaDB ~2.0 CPU-s per 1000 polls against ~1.3 for batches of ~60 (bench_poller.sh
   with DP_BENCH_RATE=170), and the poller ~1.1 against ~0.65. */
#define S_BATCH_MAX      64      /* polls per DB transaction */
#define S_BATCH_WAIT_MS  250     /* longest a finished poll waits for its batch */
#define S_ROW_TTL_MS     3600000 /* device rows are re-read after this */
#define S_IDENTITY_MS    3600000 /* ifName/ifDescr/ifAlias/ifType refresh */
#define S_DEFAULT_MAXREP 25
#define S_HOST_MAXREP    8
#define S_TEXT_MAX       65536
#define S_HIST_BASE      1.2
#define S_DONE_MAX       S_BATCH_MAX
#define S_PENDING_MAX    256 /* jobs claimed in one Redis round trip */

typedef struct {
    poller_device_t row;
    int64_t loaded_ms;
    int8_t status; /* -1 unknown, 0 down, 1 up */
    bool reload, all_hc;
    uint16_t nports, nhost;
    int64_t identity_ms;
} s_dev_t;

typedef struct s_job s_job_t;
typedef struct poller_worker poller_worker_t;

struct s_job {
    poller_worker_t *w;
    dp_msg_t *job; /* NULL for a POLL command */
    s_dev_t *dev;
    poller_device_t dbg_row; /* POLL command: a fresh row, not the cache */
    dp_snmp_sess_t *sess;
    poller_poll_t poll;
    int walks;
    dp_snmp_status_t ports_st;
    char detail[DP_SNMP_DETAIL_MAX];
    bool host_ok;
    int64_t t0_ms;
    int64_t claimed_wall_ms; /* the claim was taken (start of the "job done" window) */
    s_job_t *next;
};

struct poller_worker {
    int id;
    dp_cfg_t *cfg;
    poller_shared_t *sh;
    zsock_t *pipe;
    bool terminated;
    dp_snmp_t *snmp;
    poller_db_t *db;
    dp_redis_t *redis;
    char token[DP_LOCK_TOKEN_MAX];
    zhashx_t *devs;
    s_job_t *qhead, *qtail, *free_jobs;
    int active, concurrency;
    s_job_t *batch[S_BATCH_MAX];
    poller_item_t items[S_BATCH_MAX];
    int nbatch;
    int64_t batch_ms;
    dp_msg_t *pending[S_PENDING_MAX]; /* jobs received this turn, not claimed yet */
    int npending;
    poller_done_t done[S_DONE_MAX]; /* replies not yet sent to the main thread */
    int ndone;
    bool db_down;
    dp_snmp_stats_t published;         /* engine counters already added to sh */
    dp_worker_snmp_counters_t snmp_sh; /* where they are added */
};

//  --------------------------------------------------------------------------
//  Shared counters

void poller_shared_init(poller_shared_t *sh, dp_stats_t *stats)
{
    sh->jobs_done = dp_stats_counter(stats, "jobs_done");
    sh->jobs_failed = dp_stats_counter(stats, "jobs_failed");
    sh->devices_up = dp_stats_counter(stats, "devices_up");
    sh->devices_down = dp_stats_counter(stats, "devices_down");
    sh->snmp_requests = dp_stats_counter(stats, "snmp_requests");
    sh->snmp_timeouts = dp_stats_counter(stats, "snmp_timeouts");
    sh->snmp_parse_errors = dp_stats_counter(stats, "snmp_parse_errors");
    sh->snmp_bad_reqids = dp_stats_counter(stats, "snmp_bad_reqids");
    sh->snmp_toobig = dp_stats_counter(stats, "snmp_toobig");
    sh->inflight = dp_stats_counter(stats, "inflight");
    sh->db_batches = dp_stats_counter(stats, "db_batches");
    sh->db_errors = dp_stats_counter(stats, "db_errors");
    sh->db_ms = dp_stats_counter(stats, "db_ms");
    sh->reboots = dp_stats_counter(stats, "reboots");
    sh->claims_busy = dp_stats_counter(stats, "claims_busy");
    sh->claims_done = dp_stats_counter(stats, "claims_done");
    sh->stale_epoch = dp_stats_counter(stats, "stale_epoch");
    for (int i = 0; i < POLLER_HIST_BUCKETS; i++)
        atomic_init(&sh->poll_hist[i], 0);
}

int poller_hist_bucket(int64_t ms)
{
    int b = ms <= 0 ? 0 : (int)(log((double)ms + 1.0) / log(S_HIST_BASE));
    return b < 0 ? 0 : (b >= POLLER_HIST_BUCKETS ? POLLER_HIST_BUCKETS - 1 : b);
}

double poller_shared_percentile(const poller_shared_t *sh, double pct)
{
    uint64_t n[POLLER_HIST_BUCKETS], total = 0;
    for (int i = 0; i < POLLER_HIST_BUCKETS; i++)
        total += n[i] = atomic_load(&sh->poll_hist[i]);
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)ceil((double)total * pct / 100.0), seen = 0;
    for (int i = 0; i < POLLER_HIST_BUCKETS; i++) {
        seen += n[i];
        if (seen >= want && n[i] > 0)
            return pow(S_HIST_BASE, i + 0.5) - 1.0; /* middle of the bucket */
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Device cache (key: device_id stored in the pointer)

static size_t s_key_hash(const void *key)
{
    uint64_t x = (uint64_t)(uintptr_t)key;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int s_key_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y ? -1 : x > y;
}

static void s_dev_free(void **p)
{
    s_dev_t *d = *p;
    if (d) {
        poller_device_clear(&d->row);
        free(d);
        *p = NULL;
    }
}

//  Device row for the job: cached, or (re)loaded. Returns 1, 0 (no such device) or -1.
static int s_device(poller_worker_t *w, const dp_msg_job_t *job, s_dev_t **out, dp_err_t *err)
{
    void *key = (void *)(uintptr_t)job->device_id;
    s_dev_t *d = zhashx_lookup(w->devs, key);
    int64_t now = dp_time_mono_ms();
    if (d && !d->reload && now - d->loaded_ms < S_ROW_TTL_MS &&
        strcmp(d->row.hostname, job->hostname) == 0) {
        *out = d;
        return 1;
    }
    if (!d) {
        d = calloc(1, sizeof *d);
        if (!d)
            return dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        d->status = -1;
        zhashx_insert(w->devs, key, d);
    }
    /* keep what the last poll learnt (engine id) across a reload of the same device */
    uint8_t engine[DP_SNMP_ENGINE_MAX];
    size_t elen = d->row.target.engine_id_len;
    memcpy(engine, d->row.target.engine_id, sizeof engine);
    int rc = poller_db_load_device(w->db, job->device_id, NULL, &d->row, err);
    if (rc != 1) {
        zhashx_delete(w->devs, key);
        return rc;
    }
    if (elen) {
        memcpy(d->row.target.engine_id, engine, elen);
        d->row.target.engine_id_len = elen;
    }
    d->loaded_ms = now;
    d->reload = false;
    *out = d;
    return 1;
}

//  --------------------------------------------------------------------------
//  Replies

//  Hands the collected DONEs to the main thread in one message (one wake-up per batch).
static void s_send_done(poller_worker_t *w)
{
    if (w->ndone == 0)
        return;
    zsock_send(w->pipe, "sb", "DONE", w->done, (size_t)w->ndone * sizeof *w->done);
    w->ndone = 0;
}

//  Queues the DONE of job; returns it (snmp_ms -1: no SNMP exchange) for the caller to complete.
static poller_done_t *s_reply(poller_worker_t *w, const dp_msg_job_t *job, dp_msg_status_t st,
                              const char *reason, dp_msg_t *metrics, int64_t took_ms)
{
    if (st == DP_MSG_STATUS_OK || st == DP_MSG_STATUS_DOWN)
        (*w->sh->jobs_done)++;
    else
        (*w->sh->jobs_failed)++;
    if (w->ndone == S_DONE_MAX)
        s_send_done(w);
    poller_done_t *done = &w->done[w->ndone++];
    *done = (poller_done_t){.job_id = job->job_id,
                            .device_id = job->device_id,
                            .status = (int)st,
                            .took_ms = took_ms < 0 ? 0 : took_ms,
                            .snmp_ms = -1};
    dp_err_t err = {0};
    if (!w->sh->sink)
        dp_msg_destroy(&metrics);
    else if (metrics && dp_sink_encode(w->sh->sink, &metrics, &done->metrics, &err) != 0)
        dp_log_warn("metrics refused", "job_id=%" PRIu64 " err=\"%s\"", job->job_id, err.text);
    snprintf(done->reason, sizeof done->reason, "%s", reason ? reason : "");
    return done;
}

static void s_claim_end(poller_worker_t *w, const dp_msg_job_t *job, bool done)
{
    dp_worker_claim_end(w->redis, "poll", w->token, job, done, w->cfg->poller_interval_ms * 2);
}

static void s_job_free(poller_worker_t *w, s_job_t *j)
{
    dp_msg_destroy(&j->job);
    poller_device_clear(&j->dbg_row);
    j->dev = NULL;
    j->next = w->free_jobs;
    w->free_jobs = j;
}

static s_job_t *s_job_new(poller_worker_t *w)
{
    s_job_t *j = w->free_jobs;
    if (j) {
        w->free_jobs = j->next;
    } else {
        j = calloc(1, sizeof *j);
        if (!j)
            return NULL;
    }
    poller_poll_t keep = j->poll;
    memset(j, 0, sizeof *j);
    j->poll.ports = keep.ports;
    j->poll.cap = keep.cap;
    j->w = w;
    return j;
}

//  --------------------------------------------------------------------------
//  Polling

static void s_on_port_var(void *arg, int col, const oid *idx, size_t idx_len,
                          const netsnmp_variable_list *v, int64_t at_ms)
{
    s_job_t *j = arg;
    poller_poll_take(&j->poll, &j->poll.ports_def, col, idx, idx_len, v, at_ms);
}

static void s_on_host_var(void *arg, int col, const oid *idx, size_t idx_len,
                          const netsnmp_variable_list *v, int64_t at_ms)
{
    s_job_t *j = arg;
    poller_poll_take(&j->poll, &j->poll.host_def, col, idx, idx_len, v, at_ms);
}

static void s_polled(s_job_t *j);

static void s_on_ports_done(void *arg, dp_snmp_status_t st, const char *detail)
{
    s_job_t *j = arg;
    j->ports_st = st;
    snprintf(j->detail, sizeof j->detail, "%s", detail);
    if (--j->walks == 0)
        s_polled(j);
}

static void s_on_host_done(void *arg, dp_snmp_status_t st, const char *detail)
{
    (void)detail;
    s_job_t *j = arg;
    j->host_ok = st == DP_SNMP_OK;
    if (--j->walks == 0)
        s_polled(j);
}

static const poller_device_t *s_row(const s_job_t *j)
{
    return j->dev ? &j->dev->row : &j->dbg_row;
}

//  Opens the session and starts both walks.
static void s_begin(s_job_t *j)
{
    poller_worker_t *w = j->w;
    const poller_device_t *row = s_row(j);
    dp_snmp_target_t t = row->target;
    if (t.timeout_ms <= 0)
        t.timeout_ms = (int)w->cfg->snmp_timeout_ms;
    if (t.retries < 0)
        t.retries = w->cfg->snmp_retries;
    j->t0_ms = dp_time_mono_ms();
    poller_poll_reset(&j->poll, row->device_id, dp_time_wall_ms());
    int64_t now = dp_time_mono_ms();
    bool ident = !j->dev || j->dev->identity_ms == 0 || now - j->dev->identity_ms > S_IDENTITY_MS;
    bool lo = !j->dev || !j->dev->all_hc;
    j->poll.identity = ident;
    poller_walk_ports(&j->poll.ports_def, lo, ident);
    poller_walk_host(&j->poll.host_def);
    int maxrep = j->dev && j->dev->nports ? j->dev->nports + 1 : S_DEFAULT_MAXREP;
    int hostrep = j->dev && j->dev->nhost ? j->dev->nhost + 1 : S_HOST_MAXREP;
    dp_err_t err = {0};
    j->ports_st = DP_SNMP_SEND;
    j->sess = dp_snmp_open(w->snmp, &t, &err);
    if (!j->sess) {
        snprintf(j->detail, sizeof j->detail, "%.120s", err.text);
        s_polled(j);
        return;
    }
    j->walks = 2;
    if (dp_snmp_walk(j->sess, j->poll.ports_def.cols, j->poll.ports_def.n, maxrep, s_on_port_var,
                     s_on_ports_done, j, &err) != 0) {
        j->walks = 0;
        snprintf(j->detail, sizeof j->detail, "%.120s", err.text);
        dp_snmp_close(&j->sess);
        s_polled(j);
        return;
    }
    if (dp_snmp_walk(j->sess, j->poll.host_def.cols, j->poll.host_def.n, hostrep, s_on_host_var,
                     s_on_host_done, j, &err) != 0)
        j->walks--;
}

static void s_start_queued(poller_worker_t *w)
{
    while (w->qhead && w->active < w->concurrency) {
        s_job_t *j = w->qhead;
        w->qhead = j->next;
        if (!w->qhead)
            w->qtail = NULL;
        j->next = NULL;
        w->active++;
        (*w->sh->inflight)++;
        s_begin(j);
    }
}

static void s_enqueue(poller_worker_t *w, s_job_t *j)
{
    if (w->qtail)
        w->qtail->next = j;
    else
        w->qhead = j;
    w->qtail = j;
}

//  Text for the POLL verb.
static char *s_debug_text(const s_job_t *j)
{
    char *out = malloc(S_TEXT_MAX);
    if (!out)
        return NULL;
    const poller_poll_t *p = &j->poll;
    size_t n = 0;
    bool up = j->ports_st == DP_SNMP_OK;
#define S_OUT(...)                                                                                 \
    do {                                                                                           \
        if (n < S_TEXT_MAX)                                                                        \
            n += (size_t)snprintf(out + n, S_TEXT_MAX - n, __VA_ARGS__);                           \
    } while (0)
    S_OUT("device_id: %" PRIu64 "\nhostname: %s\nstatus: %s\n", p->device_id, s_row(j)->hostname,
          up ? "up" : "down");
    if (!up)
        S_OUT("reason: %s\n", j->detail);
    S_OUT("took_ms: %" PRId64 "\nsysName: %s\nuptime_s: %u\nports: %d\n",
          dp_time_mono_ms() - j->t0_ms, p->have_sysname ? p->sysname : "", p->uptime_cs / 100,
          p->nports);
    for (int i = 0; i < p->nports; i++) {
        const poller_port_t *q = &p->ports[i];
        uint64_t in = 0, outv = 0;
        int b1 = 0, b2 = 0;
        poller_port_counter(q, POLLER_CTR_IN_OCTETS, &in, &b1);
        poller_port_counter(q, POLLER_CTR_OUT_OCTETS, &outv, &b2);
        const char *oper = dp_ifmib_status_name(q->oper);
        S_OUT("port ifIndex=%u name=\"%s\" oper=%s speed=%" PRIu64 " in_octets=%" PRIu64
              " out_octets=%" PRIu64 " bits=%d\n",
              q->if_index, q->name, oper ? oper : "?", poller_port_speed(q), in, outv, b1);
    }
    for (int i = 0; i < p->nprocs; i++)
        S_OUT("processor index=%u load=%d\n", p->procs[i].index, p->procs[i].load);
    for (int i = 0; i < p->nstor; i++)
        S_OUT("storage index=%u type=%d descr=\"%s\" size=%" PRIu64 " used=%" PRIu64 " units=%u\n",
              p->stor[i].index, p->stor[i].type, p->stor[i].descr, p->stor[i].size, p->stor[i].used,
              p->stor[i].units);
#undef S_OUT
    return out;
}

static void s_flush(poller_worker_t *w);

//  Both walks ended: close the session, update hints, queue for the DB batch.
static void s_polled(s_job_t *j)
{
    poller_worker_t *w = j->w;
    if (j->sess) {
        if (j->dev && j->ports_st == DP_SNMP_OK) {
            dp_snmp_target_t *t = &j->dev->row.target;
            t->engine_id_len = dp_snmp_engine_id(j->sess, t->engine_id, sizeof t->engine_id);
        }
        dp_snmp_close(&j->sess);
    }
    w->active--;
    (*w->sh->inflight)--;
    int64_t took = dp_time_mono_ms() - j->t0_ms;
    atomic_fetch_add(&w->sh->poll_hist[poller_hist_bucket(took)], 1);
    if (!j->job) { /* POLL command */
        char *text = s_debug_text(j);
        zsock_send(w->pipe, "ss", "POLLED", text ? text : "ERR out of memory");
        free(text);
        s_job_free(w, j);
        return;
    }
    bool up = j->ports_st == DP_SNMP_OK;
    s_dev_t *d = j->dev;
    if (up) {
        d->nports = (uint16_t)(j->poll.nports < 255 ? j->poll.nports : 255);
        int nh = j->poll.nstor > j->poll.nprocs ? j->poll.nstor : j->poll.nprocs;
        d->nhost = (uint16_t)(nh < 63 ? nh : 63);
        d->all_hc = poller_poll_all_hc(&j->poll);
        if (j->poll.identity)
            d->identity_ms = dp_time_mono_ms();
    } else {
        d->reload = true; /* credentials may have changed */
        if (j->dev->row.target.version == DP_SNMP_V3)
            d->row.target.engine_id_len = 0;
    }
    poller_item_t *it = &w->items[w->nbatch];
    *it = (poller_item_t){.poll = &j->poll,
                          .dev = &d->row,
                          .epoch = j->job->job.epoch,
                          .up = up,
                          .reason = j->detail,
                          .took_s = took / 1000.0};
    if (w->nbatch == 0)
        w->batch_ms = dp_time_mono_ms();
    w->batch[w->nbatch++] = j;
    if (w->nbatch == S_BATCH_MAX)
        s_flush(w);
}

//  State changes are logged once per device.
static void s_note_status(poller_worker_t *w, s_job_t *j, const poller_item_t *it)
{
    s_dev_t *d = j->dev;
    int8_t now = it->up ? 1 : 0;
    if (d->status == now)
        return;
    if (d->status == 1)
        (*w->sh->devices_up)--;
    else if (d->status == 0)
        (*w->sh->devices_down)--;
    if (now)
        (*w->sh->devices_up)++;
    else
        (*w->sh->devices_down)++;
    if (now)
        dp_log_notice("device up", "device_id=%" PRIu64 " hostname=%s", d->row.device_id,
                      d->row.hostname);
    else
        dp_log_notice("device down", "device_id=%" PRIu64 " hostname=%s reason=\"%s\"",
                      d->row.device_id, d->row.hostname, it->reason);
    d->status = now;
}

//  Outcome of one written (or refused) batch item; its claim end is filled in ends.
static dp_msg_status_t s_outcome(poller_worker_t *w, s_job_t *j, poller_item_t *it, bool written,
                                 dp_claim_end_t *end, const char **reason, dp_msg_t **metrics)
{
    const dp_msg_job_t *job = &j->job->job;
    *end = (dp_claim_end_t){.device_id = job->device_id, .cycle_ts = job->cycle_ts};
    *metrics = NULL;
    if (!written) {
        *reason = "db unavailable";
        return DP_MSG_STATUS_ERROR;
    }
    if (it->stale) {
        (*w->sh->stale_epoch)++;
        dp_log_warn("stale epoch: poll not written", "device_id=%" PRIu64 " epoch=%" PRIu64,
                    job->device_id, job->epoch);
        *reason = "stale epoch";
        return DP_MSG_STATUS_ERROR;
    }
    s_note_status(w, j, it);
    if (it->rebooted) {
        (*w->sh->reboots)++;
        dp_log_info("device rebooted", "device_id=%" PRIu64, job->device_id);
    }
    if (it->new_ports)
        j->dev->identity_ms = j->poll.identity ? j->dev->identity_ms : 0;
    if (it->up) {
        dp_err_t err = {0};
        *metrics = poller_metrics_build(&j->poll, job->hostname, job->epoch, job->job_id,
                                        job->cycle_ts, it->took_s, &err);
        if (!*metrics)
            dp_log_warn("no metrics", "device_id=%" PRIu64 " err=\"%s\"", job->device_id, err.text);
    }
    end->done = true;
    *reason = it->up ? NULL : it->reason;
    return it->up ? DP_MSG_STATUS_OK : DP_MSG_STATUS_DOWN;
}

//  Writes the batch, ends every claim in one pipelined Redis round trip, then answers.
static void s_flush(poller_worker_t *w)
{
    if (w->nbatch == 0)
        return;
    dp_err_t err = {0};
    int64_t t0 = dp_time_mono_ms();
    int rc = poller_db_write_batch(w->db, w->items, w->nbatch, &err);
    int64_t db_ms = dp_time_mono_ms() - t0;
    *w->sh->db_ms += (uint64_t)db_ms;
    (*w->sh->db_batches)++;
    dp_log_debug("batch written", "worker=%d devices=%d rc=%d db_ms=%" PRId64, w->id, w->nbatch, rc,
                 db_ms);
    if (rc != 0) {
        (*w->sh->db_errors)++;
        if (!w->db_down)
            dp_log_error("database write failed", "worker=%d devices=%d err=\"%s\"", w->id,
                         w->nbatch, err.text);
        w->db_down = true;
    } else if (w->db_down) {
        dp_log_notice("database writes resumed", "worker=%d", w->id);
        w->db_down = false;
    }
    dp_claim_end_t ends[S_BATCH_MAX];
    dp_msg_status_t st[S_BATCH_MAX];
    const char *reason[S_BATCH_MAX];
    dp_msg_t *metrics[S_BATCH_MAX];
    for (int i = 0; i < w->nbatch; i++)
        st[i] = s_outcome(w, w->batch[i], &w->items[i], rc == 0, &ends[i], &reason[i], &metrics[i]);
    if (dp_claim_end_many(w->redis, "poll", ends, w->nbatch, w->token,
                          w->cfg->poller_interval_ms * 2, &err) != 0)
        dp_log_warn("claims not finished", "worker=%d err=\"%s\"", w->id, err.text);
    for (int i = 0; i < w->nbatch; i++) {
        s_job_t *j = w->batch[i];
        const dp_msg_job_t *job = &j->job->job;
        dp_worker_log_done("poll", job, j->claimed_wall_ms, st[i]);
        int64_t snmp_ms = (int64_t)(w->items[i].took_s * 1000);
        s_reply(w, job, st[i], reason[i], metrics[i], snmp_ms)->snmp_ms = snmp_ms;
        s_job_free(w, j);
    }
    w->nbatch = 0;
}

//  --------------------------------------------------------------------------
//  Commands

//  A job whose claim was tried (rc 0: claim set).
static void s_on_job(poller_worker_t *w, dp_msg_t *msg, int rc_claim, dp_claim_t claim, int64_t t0,
                     int64_t claimed_wall_ms)
{
    const dp_msg_job_t *job = &msg->job;
    dp_err_t err = {0};
    if (rc_claim != 0) {
        s_reply(w, job, DP_MSG_STATUS_ERROR, "redis unavailable", NULL, 0);
        dp_msg_destroy(&msg);
        return;
    }
    if (claim != DP_CLAIM_OK) {
        if (claim == DP_CLAIM_BUSY)
            (*w->sh->claims_busy)++;
        else
            (*w->sh->claims_done)++;
        s_reply(w, job, claim == DP_CLAIM_DONE ? DP_MSG_STATUS_OK : DP_MSG_STATUS_ERROR,
                claim == DP_CLAIM_DONE ? "already done" : "busy", NULL, 0);
        dp_msg_destroy(&msg);
        return;
    }
    s_dev_t *d = NULL;
    int rc = s_device(w, job, &d, &err);
    if (rc != 1) {
        s_claim_end(w, job, false);
        dp_worker_log_done("poll", job, claimed_wall_ms, DP_MSG_STATUS_ERROR);
        s_reply(w, job, DP_MSG_STATUS_ERROR, rc == 0 ? "unknown device" : "db unavailable", NULL,
                dp_time_mono_ms() - t0);
        dp_msg_destroy(&msg);
        return;
    }
    s_job_t *j = s_job_new(w);
    if (!j) {
        s_claim_end(w, job, false);
        dp_worker_log_done("poll", job, claimed_wall_ms, DP_MSG_STATUS_ERROR);
        s_reply(w, job, DP_MSG_STATUS_ERROR, "out of memory", NULL, 0);
        dp_msg_destroy(&msg);
        return;
    }
    j->job = msg;
    j->dev = d;
    j->claimed_wall_ms = claimed_wall_ms;
    s_enqueue(w, j);
}

//  Claims every job received in this turn in one pipelined Redis round trip, then starts them.
static void s_claim_jobs(poller_worker_t *w)
{
    int n = w->npending;
    if (n == 0)
        return;
    w->npending = 0;
    dp_claim_req_t req[S_PENDING_MAX];
    for (int i = 0; i < n; i++)
        req[i] = (dp_claim_req_t){.device_id = w->pending[i]->job.device_id,
                                  .cycle_ts = w->pending[i]->job.cycle_ts};
    int64_t t0 = dp_time_mono_ms(), claimed_wall_ms = dp_time_wall_ms();
    dp_err_t err = {0};
    if (dp_claim_device_many(w->redis, "poll", req, n, w->token, (int)w->cfg->job_timeout_ms,
                             &err) != 0)
        dp_log_warn("claims failed", "worker=%d jobs=%d err=\"%s\"", w->id, n, err.text);
    for (int i = 0; i < n; i++)
        s_on_job(w, w->pending[i], req[i].rc, req[i].out, t0, claimed_wall_ms);
}

static void s_on_poll_cmd(poller_worker_t *w, const char *what)
{
    dp_err_t err = {0};
    s_job_t *j = s_job_new(w);
    char *end = NULL;
    uint64_t id = strtoull(what, &end, 10);
    bool numeric = end && *end == '\0' && id > 0;
    int rc = j ? poller_db_load_device(w->db, numeric ? id : 0, what, &j->dbg_row, &err) : -1;
    if (rc != 1) {
        char text[512];
        snprintf(text, sizeof text, "ERR %s", rc == 0 ? "no such device" : err.text);
        zsock_send(w->pipe, "ss", "POLLED", text);
        if (j)
            s_job_free(w, j);
        return;
    }
    s_enqueue(w, j);
}

static void s_on_cfg(void *self)
{
    poller_worker_t *w = self;
    w->concurrency = w->cfg->concurrency;
}

//  JOB: claimed with the others of this turn (s_claim_jobs, before the engine runs).
static void s_queue_job(void *self, dp_msg_t *job)
{
    poller_worker_t *w = self;
    w->pending[w->npending++] = job;
    if (w->npending == S_PENDING_MAX)
        s_claim_jobs(w);
}

static void s_before_engine(void *self)
{
    s_claim_jobs(self);
}

static void s_on_other(void *self, const char *name, zmsg_t *rest)
{
    if (strcmp(name, "POLL") != 0)
        return;
    char *what = zmsg_popstr(rest);
    s_on_poll_cmd(self, what ? what : "");
    free(what);
}

//  --------------------------------------------------------------------------
//  Thread

static int s_setup(poller_worker_t *w, dp_err_t *err)
{
    w->concurrency = w->cfg->concurrency > 0 ? w->cfg->concurrency : 1;
    w->snmp = dp_snmp_new(w->concurrency);
    w->db = poller_db_new(w->cfg, err);
    w->redis = dp_worker_redis_new(w->cfg);
    w->devs = zhashx_new();
    if (!w->snmp || !w->db || !w->redis || !w->devs)
        return dp_err_set(err, DP_ERR_INTERNAL, "worker setup failed");
    zhashx_set_key_hasher(w->devs, s_key_hash);
    zhashx_set_key_comparator(w->devs, s_key_cmp);
    zhashx_set_key_duplicator(w->devs, NULL);
    zhashx_set_key_destructor(w->devs, NULL);
    zhashx_set_destructor(w->devs, s_dev_free);
    w->snmp_sh = (dp_worker_snmp_counters_t){.requests = w->sh->snmp_requests,
                                             .timeouts = w->sh->snmp_timeouts,
                                             .toobig = w->sh->snmp_toobig,
                                             .parse_errors = w->sh->snmp_parse_errors,
                                             .bad_reqids = w->sh->snmp_bad_reqids};
    return dp_lock_token_make(w->cfg->node_id, w->token, sizeof w->token, err);
}

static void s_teardown(poller_worker_t *w)
{
    while (w->qhead) {
        s_job_t *j = w->qhead;
        w->qhead = j->next;
        s_job_free(w, j);
    }
    dp_snmp_destroy(&w->snmp); /* running polls are dropped (the daemon drained first) */
    while (w->free_jobs) {
        s_job_t *j = w->free_jobs;
        w->free_jobs = j->next;
        poller_poll_free(&j->poll);
        free(j);
    }
    zhashx_destroy(&w->devs);
    poller_db_destroy(&w->db);
    dp_redis_destroy(&w->redis);
    dp_cfg_destroy(&w->cfg);
}

//  Milliseconds until the open batch must be written (-1: none).
static long s_batch_left(void *self)
{
    const poller_worker_t *w = self;
    if (w->nbatch == 0)
        return -1;
    long left = (long)(w->batch_ms + S_BATCH_WAIT_MS - dp_time_mono_ms());
    return left < 0 ? 0 : left;
}

//  After the engine ran: start queued polls, write a due batch, answer, publish counters.
static void s_after_engine(void *self)
{
    poller_worker_t *w = self;
    s_start_queued(w);
    if (w->nbatch > 0 && dp_time_mono_ms() - w->batch_ms >= S_BATCH_WAIT_MS)
        s_flush(w);
    s_send_done(w);
    dp_worker_publish_snmp(w->snmp, &w->published, &w->snmp_sh);
}

static void s_actor(zsock_t *pipe, void *args)
{
    dp_worker_args_t *a = args;
    poller_worker_t w = {.id = a->id, .pipe = pipe, .sh = a->shared, .cfg = dp_cfg_dup(a->cfg)};
    free(a);
    dp_err_t err = {0};
    if (!dp_worker_started(pipe, w.id, s_setup(&w, &err), &err)) {
        s_teardown(&w);
        return;
    }
    static const dp_worker_hooks_t hooks = {.next_ms = s_batch_left,
                                            .on_job = s_queue_job,
                                            .on_cfg = s_on_cfg,
                                            .on_other = s_on_other,
                                            .before = s_before_engine,
                                            .after = s_after_engine};
    dp_worker_loop(pipe, w.snmp, w.cfg, &w.terminated, &hooks, &w);
    s_flush(&w);
    s_send_done(&w);
    s_teardown(&w);
}

zactor_t *poller_worker_new(int id, const dp_cfg_t *cfg, poller_shared_t *shared)
{
    return dp_worker_start(s_actor, id, cfg, shared);
}
