/*  rrdwriter.c - the rrdwriter service: METRICS in, durable spool, ACKs, updates to rrdcached
    Loop thread only (the apply thread is reached through rrdwriter_apply's thread-safe calls).
    SPDX-License-Identifier: MIT */
#include "rrdwriter.h"
#include "rrdwriter_apply.h"
#include "rrdwriter_spool.h"
#include "rrdwriter_trace.h"

#include "dp_conn.h"
#include "dp_log.h"
#include "dp_msg.h"
#include "dp_tap.h"
#include "dp_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_COMMIT_MS     20         /* group commit delay after the first uncommitted frame */
#define S_COMMIT_BYTES  (8u << 20) /* commit at once past this many buffered bytes */
#define S_RECV_BURST    512        /* messages read per wake-up */
#define S_TICK_MS       1000       /* housekeeping */
#define S_DRAIN_TICK_MS 50         /* drain progress check */
#define S_KEEP_MS       120000     /* applied spool kept for rrdcached journal replays */
#define S_KEEP_MAX_MS   3600000    /* ... at most (rrdcached rotates its journal hourly) */
#define S_JOURNAL_BYTES (4u << 20) /* ... and until this much later data was committed */
#define S_LOG_EVERY_MS  10000      /* rate limit of reject warnings */
#define S_MIB           (1024u * 1024u)
#define S_RCVHWM                                                                                   \
    100 /* METRICS queued per sender inside ZeroMQ (the house 1,000 of big                         \
           messages is hundreds of MB here; the sender keeps the rest) */

typedef struct {
    zframe_t *rid; /* routing id of the sender (owned) */
    uint64_t id;   /* msg_id to acknowledge */
} s_ack_t;

typedef struct {
    dp_msg_t *msg;      /* decoded (owned) */
    uint64_t start_lsn; /* frame start */
    uint64_t end_lsn;   /* frame end */
} s_item_t;

struct rrdwriter {
    dp_daemon_t *daemon;      /* borrowed */
    dp_cfg_t *cfg;            /* borrowed, reloaded in place */
    int argc;                 /* for reloads */
    char **argv;              /* borrowed */
    zloop_t *loop;            /* the daemon's loop */
    zsock_t *router;          /* METRICS in, ACK out */
    bool reading;             /* router registered with the loop */
    rrdwriter_spool_t *spool; /* durable spool */
    rrdwriter_apply_t *apply; /* apply thread */
    rrdwriter_trace_t *trace; /* job trace stamps (own thread), or NULL */
    dp_tap_t *tap;            /* `distpoll tap rrdwriter`: METRICS in, ACK out; or NULL */
    dp_stats_t *stats;        /* the daemon's counters */
    s_ack_t *acks;            /* waiting for the next commit */
    size_t n_acks, cap_acks;
    s_item_t *items; /* spooled, not committed */
    size_t n_items, cap_items;
    int commit_timer;          /* pending one-shot commit timer or -1 */
    int tick_timer;            /* housekeeping timer */
    int drain_timer;           /* drain progress timer or -1 */
    int64_t drain_deadline_ms; /* monotonic */
    uint64_t last_sent;        /* updates_sent at the last tick */
    int64_t last_tick_ms;      /* monotonic */
    int64_t log_reject_ms;     /* last reject warning */
    bool full_logged;          /* backpressure logged */
    dp_counter_t *received, *accepted, *rejected, *acked, *commits, *commit_errors, *paused;
};

static int s_on_router(zloop_t *loop, zsock_t *sock, void *arg);

//  --------------------------------------------------------------------------
//  Helpers

static void *s_grow(void *p, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    p = realloc(p, c * item);
    if (!p)
        abort();
    *cap = c;
    return p;
}

static void s_reading(rrdwriter_t *self, bool on)
{
    if (on == self->reading)
        return;
    if (on)
        zloop_reader(self->loop, self->router, s_on_router, self);
    else
        zloop_reader_end(self->loop, self->router);
    self->reading = on;
}

static uint64_t s_backlog(rrdwriter_t *self)
{
    return rrdwriter_spool_bytes_after(self->spool, rrdwriter_apply_applied(self->apply));
}

static bool s_full(rrdwriter_t *self)
{
    return s_backlog(self) + rrdwriter_spool_uncommitted(self->spool) >=
           (uint64_t)self->cfg->spool_max_mb * S_MIB;
}

static void s_queue_ack(rrdwriter_t *self, zframe_t *rid, uint64_t id)
{
    self->acks = s_grow(self->acks, &self->cap_acks, self->n_acks + 1, sizeof *self->acks);
    self->acks[self->n_acks++] = (s_ack_t){.rid = zframe_dup(rid), .id = id};
}

/* Sends one ACK per sender with every queued id of that sender. */
static void s_send_acks(rrdwriter_t *self)
{
    for (size_t i = 0; i < self->n_acks; i++) {
        if (!self->acks[i].rid)
            continue;
        dp_msg_t *ack = dp_msg_new(DP_MSG_ACK);
        ack->created_ms = dp_time_wall_ms();
        ack->sender_node = strdup(dp_daemon_node(self->daemon));
        ack->ack.ids = malloc((self->n_acks - i) * sizeof(uint64_t));
        if (!ack->sender_node || !ack->ack.ids)
            abort();
        zframe_t *rid = self->acks[i].rid;
        for (size_t k = i; k < self->n_acks && ack->ack.n_ids < DP_MSG_ACK_IDS_MAX; k++) {
            if (self->acks[k].rid && zframe_eq(self->acks[k].rid, rid)) {
                ack->ack.ids[ack->ack.n_ids++] = self->acks[k].id;
                if (k != i)
                    zframe_destroy(&self->acks[k].rid);
            }
        }
        char *data = NULL;
        size_t size = 0;
        dp_err_t err = {0};
        if (dp_msg_encode(ack, &data, &size, &err) == 0 &&
            dp_zmq_send_bytes(self->router, zframe_data(rid), zframe_size(rid),
                              ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0 &&
            dp_zmq_send_bytes(self->router, data, size, ZMQ_DONTWAIT) == 0) {
            *self->acked += ack->ack.n_ids; /* a lost ACK only means a resend */
            dp_tap_publish(self->tap, DP_TAP_OUT, data, size);
        }
        free(data);
        dp_msg_destroy(&ack);
        zframe_destroy(&self->acks[i].rid);
    }
    self->n_acks = 0;
}

/* Makes spooled frames durable, hands them to the apply thread and ACKs. Returns 0 or -1. */
static int s_commit(rrdwriter_t *self)
{
    if (self->n_items == 0 && self->n_acks == 0)
        return 0;
    dp_err_t err = {0};
    if (rrdwriter_spool_commit(self->spool, dp_time_mono_ms(), &err) != 0) {
        (*self->commit_errors)++;
        dp_log_error("spool commit failed; not acknowledging", "error=\"%s\"", err.text);
        return -1;
    }
    (*self->commits)++;
    int64_t now_ms = dp_time_wall_ms();
    for (size_t i = 0; i < self->n_items; i++) {
        const dp_msg_metrics_t *m = &self->items[i].msg->metrics;
        rrdwriter_trace_spooled(self->trace, m->device_id, m->job_id, now_ms);
    }
    for (size_t i = 0; i < self->n_items; i++)
        rrdwriter_apply_push(self->apply, &self->items[i].msg, self->items[i].start_lsn,
                             self->items[i].end_lsn);
    self->n_items = 0;
    rrdwriter_apply_commit(self->apply, rrdwriter_spool_committed(self->spool),
                           rrdwriter_spool_first(self->spool));
    s_send_acks(self);
    return 0;
}

static int s_on_commit_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    rrdwriter_t *self = arg;
    self->commit_timer = -1;
    if (s_commit(self) != 0 && self->commit_timer < 0) /* retry soon */
        self->commit_timer = zloop_timer(self->loop, S_COMMIT_MS * 10, 1, s_on_commit_timer, self);
    return 0;
}

static void s_reject(rrdwriter_t *self, zframe_t *rid, const zframe_t *data, const char *why)
{
    (*self->rejected)++;
    int type = 0;
    uint64_t id = 0;
    if (dp_msg_peek_id(zframe_data((zframe_t *)data), zframe_size((zframe_t *)data), &type, &id) ==
            0 &&
        type == DP_MSG_METRICS)
        s_queue_ack(self, rid, id);
    int64_t now = dp_time_mono_ms();
    if (now - self->log_reject_ms >= S_LOG_EVERY_MS || self->log_reject_ms == 0) {
        self->log_reject_ms = now;
        dp_log_warn("message rejected", "msg_id=%llu reason=\"%s\"", (unsigned long long)id, why);
    }
}

/* Handles one [routing id, message] from the router. */
static void s_handle(rrdwriter_t *self, zmsg_t *zm)
{
    (*self->received)++;
    zframe_t *rid = zmsg_first(zm), *data = zmsg_next(zm);
    if (!rid || !data || zmsg_size(zm) != 2)
        return; /* not from a DEALER: nothing to answer */
    dp_tap_publish(self->tap, DP_TAP_IN, zframe_data(data), zframe_size(data));
    dp_err_t err = {0};
    dp_msg_t *msg = dp_msg_decode(zframe_data(data), zframe_size(data), &err);
    if (!msg || msg->type != DP_MSG_METRICS) {
        s_reject(self, rid, data, msg ? "not a METRICS message" : err.text);
        dp_msg_destroy(&msg);
        return;
    }
    uint64_t end = 0;
    if (rrdwriter_spool_append(self->spool, zframe_data(data), zframe_size(data), &end, &err) !=
        0) {
        s_reject(self, rid, data, err.text);
        dp_msg_destroy(&msg);
        return;
    }
    (*self->accepted)++;
    s_queue_ack(self, rid, msg->msg_id);
    self->items = s_grow(self->items, &self->cap_items, self->n_items + 1, sizeof *self->items);
    self->items[self->n_items++] =
        (s_item_t){.msg = msg,
                   .start_lsn = end - RRDWRITER_SPOOL_FRAME_HEAD - zframe_size(data),
                   .end_lsn = end};
}

static int s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    rrdwriter_t *self = arg;
    for (int i = 0; i < S_RECV_BURST; i++) {
        dp_err_t err = {0};
        zmsg_t *zm = dp_zmq_recv_msg(sock, 0, &err);
        if (!zm)
            break;
        s_handle(self, zm);
        zmsg_destroy(&zm);
        if (rrdwriter_spool_uncommitted(self->spool) >= S_COMMIT_BYTES)
            s_commit(self);
        if (s_full(self)) {
            s_reading(self, false);
            (*self->paused)++;
            if (!self->full_logged)
                dp_log_warn("spool full: not reading metrics until rrdcached catches up",
                            "max_mb=%d", self->cfg->spool_max_mb);
            self->full_logged = true;
            break;
        }
    }
    if ((self->n_items || self->n_acks) && self->commit_timer < 0)
        self->commit_timer = zloop_timer(self->loop, S_COMMIT_MS, 1, s_on_commit_timer, self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Housekeeping, drain, reload, control

static void s_gauges(rrdwriter_t *self)
{
    dp_stats_set(self->stats, "spool_bytes", rrdwriter_spool_bytes(self->spool));
    dp_stats_set(self->stats, "spool_segments", (uint64_t)rrdwriter_spool_segments(self->spool));
    dp_stats_set(self->stats, "backlog", s_backlog(self));
    dp_stats_set(self->stats, "rrdcached_up", rrdwriter_apply_is_up(self->apply));
    dp_stats_set(self->stats, "apply_queue_bytes", rrdwriter_apply_queued_bytes(self->apply));
    dp_stats_set(self->stats, "reading", self->reading);
    dp_stats_set(self->stats, "tap_published", dp_tap_published(self->tap));
    dp_stats_set(self->stats, "tap_dropped", dp_tap_dropped(self->tap));
}

static int s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    rrdwriter_t *self = arg;
    int64_t now = dp_time_mono_ms();
    uint64_t sent = dp_stats_get(self->stats, "updates_sent");
    if (now > self->last_tick_ms)
        dp_stats_set(self->stats, "updates_per_s",
                     (sent - self->last_sent) * 1000 / (uint64_t)(now - self->last_tick_ms));
    self->last_sent = sent;
    self->last_tick_ms = now;
    int dropped = rrdwriter_spool_trim(self->spool, rrdwriter_apply_applied(self->apply), now,
                                       S_KEEP_MS, S_KEEP_MAX_MS, S_JOURNAL_BYTES,
                                       (uint64_t)self->cfg->spool_max_mb * S_MIB);
    if (dropped)
        rrdwriter_apply_commit(self->apply, rrdwriter_spool_committed(self->spool),
                               rrdwriter_spool_first(self->spool));
    if (!self->reading && dp_daemon_state(self->daemon) == DP_DAEMON_RUNNING && !s_full(self)) {
        dp_log_notice("spool has room again: reading metrics", "backlog=%llu",
                      (unsigned long long)s_backlog(self));
        self->full_logged = false;
        s_reading(self, true);
    }
    s_gauges(self);
    return 0;
}

static int s_on_drain_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    rrdwriter_t *self = arg;
    if (s_commit(self) != 0)
        return 0; /* try again next tick */
    /* after a replay the applied position can sit at the end of the last replayed segment while
       the committed one is the start of the next (empty) segment: nothing is between them */
    bool applied = rrdwriter_apply_applied(self->apply) >= rrdwriter_spool_committed(self->spool) ||
                   s_backlog(self) == 0;
    if (applied || !rrdwriter_apply_is_up(self->apply) ||
        dp_time_mono_ms() >= self->drain_deadline_ms) {
        dp_log_notice("drained", "applied=%d backlog=%llu", applied,
                      (unsigned long long)s_backlog(self));
        zloop_timer_end(self->loop, self->drain_timer);
        self->drain_timer = -1;
        dp_daemon_drained(self->daemon);
    }
    return 0;
}

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    (void)d;
    rrdwriter_t *self = arg;
    s_reading(self, false);
    s_commit(self);
    int64_t budget = self->cfg->drain_timeout_ms > 0 ? self->cfg->drain_timeout_ms : 10000;
    self->drain_deadline_ms = dp_time_mono_ms() + budget * 3 / 4;
    self->drain_timer = zloop_timer(self->loop, S_DRAIN_TICK_MS, 0, s_on_drain_tick, self);
    dp_log_notice("draining: not reading metrics", "backlog=%llu",
                  (unsigned long long)s_backlog(self));
}

static void s_on_reload(dp_daemon_t *d, void *arg)
{
    (void)d;
    rrdwriter_t *self = arg;
    dp_cfg_t *next = dp_cfg_new();
    dp_err_t err = {0};
    char changed[256] = "", restart[256] = "";
    if (dp_cfg_load(next, self->argc, self->argv, &err) != 0) {
        dp_log_error("reload refused: bad configuration", "error=\"%s\"", err.text);
    } else {
        int n = dp_cfg_reload(self->cfg, next, changed, sizeof changed, restart, sizeof restart);
        dp_log_set_level(self->cfg->log_level);
        dp_log_notice("reloaded", "applied=%d changed=\"%s\" needs_restart=\"%s\"", n, changed,
                      restart);
    }
    dp_cfg_destroy(&next);
}

static char *s_on_command(dp_daemon_t *d, const char *verb, const char *args, void *arg)
{
    (void)d, (void)args;
    rrdwriter_t *self = arg;
    if (strcasecmp(verb, "BACKLOG") != 0)
        return NULL;
    s_gauges(self);
    char *out = NULL;
    uint64_t committed = rrdwriter_spool_committed(self->spool);
    uint64_t applied = rrdwriter_apply_applied(self->apply);
    if (asprintf(&out,
                 "backlog: %llu\nspool_bytes: %llu\nspool_segments: %d\ncommitted_seg: %llu\n"
                 "applied_seg: %llu\nrrdcached_up: %d\nreading: %d\n",
                 (unsigned long long)s_backlog(self),
                 (unsigned long long)rrdwriter_spool_bytes(self->spool),
                 rrdwriter_spool_segments(self->spool),
                 (unsigned long long)RRDWRITER_SPOOL_SEG(committed),
                 (unsigned long long)RRDWRITER_SPOOL_SEG(applied),
                 rrdwriter_apply_is_up(self->apply), self->reading) < 0)
        return NULL;
    return out;
}

static char *s_on_config(dp_daemon_t *d, void *arg)
{
    (void)d;
    rrdwriter_t *self = arg;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        abort();
    dp_cfg_print(self->cfg, f, false);
    fclose(f);
    return buf;
}

//  The tap and the trace thread; either may fail without stopping the daemon.
static void s_open_inspection(rrdwriter_t *self)
{
    const char *node = dp_daemon_node(self->daemon);
    dp_err_t e = {0};
    self->tap = dp_tap_new(self->cfg->control_dir, "rrdwriter", node, &e);
    if (!self->tap)
        dp_log_warn("no message tap; carrying on without", "detail=\"%s\"", e.text);
    dp_redis_opts_t ro;
    dp_conn_redis_opts(self->cfg, &ro);
    dp_err_clear(&e);
    self->trace = rrdwriter_trace_start(&ro, node, self->stats, &e);
    if (!self->trace)
        dp_log_warn("no job trace stamps; carrying on without", "detail=\"%s\"", e.text);
}

//  --------------------------------------------------------------------------
rrdwriter_t *rrdwriter_new(dp_daemon_t *d, dp_cfg_t *cfg, const dp_zmq_keys_t *keys, int argc,
                           char **argv, dp_err_t *err)
{
    rrdwriter_apply_cfg_t ac = {.spool_dir = cfg->spool_dir,
                                .rrdcached = cfg->rrdcached,
                                .rrd_dir = cfg->rrd_dir,
                                .step_s = (int)(cfg->rrd_step_ms / 1000)};
    if (rrdwriter_def_rras_parse(cfg->rra, &ac.rras, err) != 0)
        return NULL;
    if (ac.step_s < 1) {
        dp_err_set(err, DP_ERR_CONFIG, "DP_RRD_STEP must be at least 1s");
        return NULL;
    }
    rrdwriter_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    self->daemon = d;
    self->cfg = cfg;
    self->argc = argc;
    self->argv = argv;
    self->loop = dp_daemon_loop(d);
    self->stats = dp_daemon_stats(d);
    self->commit_timer = self->tick_timer = self->drain_timer = -1;
#define S_C(f) self->f = dp_stats_counter(self->stats, #f)
    S_C(received);
    S_C(accepted);
    S_C(rejected);
    S_C(acked);
    S_C(commits);
    S_C(commit_errors);
    S_C(paused);
#undef S_C
    self->spool = rrdwriter_spool_open(cfg->spool_dir, err);
    if (!self->spool)
        goto fail;
    ac.stats = self->stats;
    s_open_inspection(self);
    ac.trace = self->trace;
    ac.start_lsn = rrdwriter_spool_first(self->spool);
    ac.replay_end_lsn = rrdwriter_spool_opened_at(self->spool);
    ac.committed_lsn = rrdwriter_spool_committed(self->spool);
    dp_stats_set(self->stats, "spool_repaired", rrdwriter_spool_repaired(self->spool));
    self->apply = rrdwriter_apply_start(&ac, err);
    if (!self->apply)
        goto fail;
    self->router = dp_zmq_server_opts(ZMQ_ROUTER, cfg->rrdwriter_bind, keys,
                                      &(dp_zmq_opts_t){.rcvhwm = S_RCVHWM}, err);
    if (!self->router)
        goto fail;
    s_reading(self, true);
    self->last_tick_ms = dp_time_mono_ms();
    self->tick_timer = zloop_timer(self->loop, S_TICK_MS, 0, s_on_tick, self);
    dp_daemon_on_drain(d, s_on_drain, self);
    dp_daemon_on_reload(d, s_on_reload, self);
    dp_daemon_on_command(d, s_on_command, self);
    dp_daemon_on_config(d, s_on_config, self);
    s_gauges(self);
    dp_log_notice("rrdwriter ready",
                  "bind=%s rrdcached=%s step_s=%d rras=%d spool_bytes=%llu spool_segments=%d",
                  cfg->rrdwriter_bind, cfg->rrdcached, ac.step_s, ac.rras.count,
                  (unsigned long long)rrdwriter_spool_bytes(self->spool),
                  rrdwriter_spool_segments(self->spool));
    return self;
fail:
    rrdwriter_destroy(&self);
    return NULL;
}

//  --------------------------------------------------------------------------
void rrdwriter_destroy(rrdwriter_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_t *self = *p;
    if (self->router && self->apply) {
        s_reading(self, false);
        s_commit(self); /* whatever was received becomes durable and is ACKed */
    }
    if (self->commit_timer >= 0)
        zloop_timer_end(self->loop, self->commit_timer);
    if (self->tick_timer >= 0)
        zloop_timer_end(self->loop, self->tick_timer);
    if (self->drain_timer >= 0)
        zloop_timer_end(self->loop, self->drain_timer);
    rrdwriter_apply_stop(&self->apply);
    rrdwriter_trace_stop(&self->trace); /* after both stamping threads: sends their last stamps */
    for (size_t i = 0; i < self->n_items; i++)
        dp_msg_destroy(&self->items[i].msg);
    for (size_t i = 0; i < self->n_acks; i++)
        zframe_destroy(&self->acks[i].rid);
    zsock_destroy(&self->router);
    dp_tap_destroy(&self->tap);
    rrdwriter_spool_destroy(&self->spool);
    free(self->items);
    free(self->acks);
    free(self);
    *p = NULL;
}
