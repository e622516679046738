/*  dp_sink.c - worker side of the metrics path: acked METRICS delivery to the rrdwriter
    Unacked messages live in a hash by msg_id plus a list in send order; the resend timer walks
    the list from its oldest end and stops at the first message that is not due.
    SPDX-License-Identifier: MIT */
#include "dp_sink.h"
#include "dp_log.h"
#include "dp_time.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define S_TICK_MS    100 /* resend timer period */
#define S_RECV_BURST 256 /* ACKs handled per wake-up */
#define S_ID_MASK    ((UINT64_C(1) << 62) - 1)

typedef struct {
    uint64_t id;     /* msg_id */
    char *data;      /* encoded message (owned) */
    size_t size;     /* bytes */
    int64_t sent_ms; /* last (re)send, monotonic */
    bool unsent;     /* the last send found no room or no peer: retried at the next tick */
    void *handle;    /* position in s->order */
} s_entry_t;

struct dp_sink {
    zloop_t *loop;            /* borrowed */
    zsock_t *sock;            /* DEALER to the rrdwriter */
    zsock_t *monitor;         /* handshake events of sock */
    char *node;               /* sender_node */
    int timer_id;             /* resend timer */
    _Atomic uint64_t next_id; /* next msg_id (dp_sink_encode runs in worker threads) */
    zhashx_t *by_id;          /* msg_id -> s_entry_t (owns entries) */
    zlistx_t *order;          /* s_entry_t in send order (borrowed) */
    size_t pending_bytes;     /* sum of entry sizes */
    size_t n_unsent;          /* entries with unsent set */
    size_t max_bytes;         /* full at or above this */
    bool full;                /* set at max_bytes, cleared below half of it */
    int resend_ms;            /* resend delay */
    dp_counter_t *sent;       /* metrics_sent or NULL */
    dp_counter_t *acked;      /* metrics_acked or NULL */
    dp_counter_t *resent;     /* metrics_resent or NULL */
    dp_stats_t *stats;        /* for the pending gauge, or NULL */
    dp_tap_t *tap;            /* copies of the traffic, or NULL (borrowed) */
};

//  --------------------------------------------------------------------------
//  Helpers

static size_t s_hash_u64(const void *key)
{
    uint64_t v = *(const uint64_t *)key;
    v ^= v >> 33;
    v *= UINT64_C(0xff51afd7ed558ccd);
    v ^= v >> 33;
    return (size_t)v;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void *s_dup_u64(const void *key)
{
    uint64_t *p = malloc(sizeof *p);
    if (!p)
        abort();
    *p = *(const uint64_t *)key;
    return p;
}

static void s_free_key(void **key)
{
    free(*key);
    *key = NULL;
}

static void s_entry_free(void **p)
{
    s_entry_t *e = *p;
    if (e)
        free(e->data);
    free(e);
    *p = NULL;
}

//  After every change of pending_bytes: the full flag (with hysteresis, so a worker that
//  paused takes jobs again in a batch, not one job per ACK) and the gauges.
static void s_gauge(dp_sink_t *s)
{
    if (s->pending_bytes >= s->max_bytes)
        s->full = true;
    else if (s->pending_bytes < s->max_bytes / 2)
        s->full = false;
    if (s->stats) {
        dp_stats_set(s->stats, "metrics_pending", zhashx_size(s->by_id));
        dp_stats_set(s->stats, "metrics_pending_bytes", s->pending_bytes);
    }
}

/* Sends e; a refusal (EAGAIN: no peer yet, or HWM) leaves it unsent for the next tick. */
static bool s_transmit(dp_sink_t *s, s_entry_t *e)
{
    bool ok = dp_zmq_send_bytes(s->sock, e->data, e->size, ZMQ_DONTWAIT) == 0;
    if (ok && s->tap)
        dp_tap_publish(s->tap, DP_TAP_OUT, e->data, e->size);
    e->sent_ms = dp_time_mono_ms();
    if (ok != !e->unsent)
        s->n_unsent += ok ? (size_t)-1 : 1;
    e->unsent = !ok;
    return ok;
}

/* A (re)connection completed: what was sent on an earlier connection and not ACKed may be
   lost, so every pending message is sent again, in order (the rrdwriter drops duplicates). */
static void s_on_connected(dp_sink_t *s)
{
    for (s_entry_t *x = zlistx_first(s->order); x; x = zlistx_next(s->order))
        x->unsent = true;
    s->n_unsent = zlistx_size(s->order);
}

static void s_ack(dp_sink_t *s, uint64_t id)
{
    s_entry_t *e = zhashx_lookup(s->by_id, &id);
    if (!e)
        return; /* duplicate ACK */
    zlistx_delete(s->order, e->handle);
    s->pending_bytes -= e->size;
    if (e->unsent)
        s->n_unsent--;
    zhashx_delete(s->by_id, &id);
    if (s->acked)
        (*s->acked)++;
}

/* Reads what is waiting on the socket; handles ACKs. */
static void s_drain_socket(dp_sink_t *s)
{
    for (int i = 0; i < S_RECV_BURST; i++) {
        dp_err_t err = {0};
        zframe_t *f = dp_zmq_recv_frame(s->sock, 0, &err);
        if (!f)
            break;
        while (zsock_rcvmore(s->sock)) { /* only single-frame messages are ours */
            zframe_t *extra = zframe_recv(s->sock);
            zframe_destroy(&extra);
        }
        if (s->tap)
            dp_tap_publish(s->tap, DP_TAP_IN, zframe_data(f), zframe_size(f));
        dp_msg_t *m = dp_msg_decode(zframe_data(f), zframe_size(f), &err);
        zframe_destroy(&f);
        if (!m) {
            dp_log_warn("sink: bad message from rrdwriter", "error=\"%s\"", err.text);
            continue;
        }
        if (m->type == DP_MSG_ACK)
            for (size_t k = 0; k < m->ack.n_ids; k++)
                s_ack(s, m->ack.ids[k]);
        dp_msg_destroy(&m);
    }
    s_gauge(s);
}

/* Sends what never left, oldest first, until the socket refuses again (keeps the order). */
static void s_send_unsent(dp_sink_t *s)
{
    for (s_entry_t *e = zlistx_first(s->order); e && s->n_unsent > 0; e = zlistx_next(s->order))
        if (e->unsent && !s_transmit(s, e))
            break;
}

static void s_read_monitor(dp_sink_t *s)
{
    zmq_pollitem_t item = {zsock_resolve(s->monitor), 0, ZMQ_POLLIN, 0};
    bool connected = false;
    while (zmq_poll(&item, 1, 0) > 0) {
        dp_zmq_event_t ev;
        if (dp_zmq_monitor_recv(s->monitor, &ev) == 0 && ev.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            connected = true;
    }
    if (connected)
        s_on_connected(s);
}

static void s_resend_due(dp_sink_t *s)
{
    int64_t now = dp_time_mono_ms();
    s_entry_t *e;
    s_read_monitor(s);
    s_send_unsent(s);
    while ((e = zlistx_first(s->order)) != NULL && now - e->sent_ms >= s->resend_ms) {
        s_transmit(s, e);
        zlistx_move_end(s->order, e->handle);
        if (s->resent)
            (*s->resent)++;
    }
}

static int s_on_readable(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)sock;
    s_drain_socket(arg);
    return 0;
}

static int s_on_monitor(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop, (void)sock;
    dp_sink_t *s = arg;
    s_read_monitor(s);
    s_send_unsent(s);
    return 0;
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    s_resend_due(arg);
    return 0;
}

//  --------------------------------------------------------------------------
dp_sink_t *dp_sink_new(zloop_t *loop, const char *endpoint, const dp_zmq_keys_t *keys,
                       const char *node, dp_err_t *err)
{
    if (!loop || !endpoint || !node || !*node) {
        dp_err_set(err, DP_ERR_CONFIG, "sink: loop, endpoint and node are required");
        return NULL;
    }
    dp_sink_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->loop = loop;
    s->timer_id = -1;
    s->resend_ms = DP_SINK_RESEND_MS;
    s->max_bytes = DP_SINK_MAX_BYTES;
    s->node = strdup(node);
    if (!s->node)
        abort();
    uint64_t first = 0;
    if (getrandom(&first, sizeof first, 0) != sizeof first)
        first = (uint64_t)dp_time_wall_ms() << 20;
    atomic_init(&s->next_id, (first & S_ID_MASK) | 1); /* far from wrapping; never 0 */
    s->by_id = zhashx_new();
    zhashx_set_key_hasher(s->by_id, s_hash_u64);
    zhashx_set_key_comparator(s->by_id, s_cmp_u64);
    zhashx_set_key_duplicator(s->by_id, s_dup_u64);
    zhashx_set_key_destructor(s->by_id, s_free_key);
    zhashx_set_destructor(s->by_id, s_entry_free);
    s->order = zlistx_new();
    s->sock = dp_zmq_client(ZMQ_DEALER, endpoint, keys, err);
    if (s->sock)
        s->monitor = dp_zmq_monitor(s->sock, err);
    if (!s->sock || !s->monitor || zloop_reader(loop, s->sock, s_on_readable, s) != 0 ||
        zloop_reader(loop, s->monitor, s_on_monitor, s) != 0) {
        if (s->sock && s->monitor)
            dp_err_set(err, DP_ERR_INTERNAL, "sink: cannot register with the loop");
        dp_sink_destroy(&s);
        return NULL;
    }
    s->timer_id = zloop_timer(loop, S_TICK_MS, 0, s_on_timer, s);
    return s;
}

//  --------------------------------------------------------------------------
void dp_sink_destroy(dp_sink_t **p)
{
    if (!p || !*p)
        return;
    dp_sink_t *s = *p;
    if (s->sock)
        zloop_reader_end(s->loop, s->sock);
    if (s->monitor) {
        zloop_reader_end(s->loop, s->monitor);
        zmq_socket_monitor(zsock_resolve(s->sock), NULL, 0);
    }
    zsock_destroy(&s->monitor);
    if (s->timer_id >= 0)
        zloop_timer_end(s->loop, s->timer_id);
    zsock_destroy(&s->sock);
    zlistx_destroy(&s->order);
    zhashx_destroy(&s->by_id);
    free(s->node);
    free(s);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_sink_send(dp_sink_t *s, dp_msg_t **metrics, dp_err_t *err)
{
    dp_sink_bytes_t b;
    if (dp_sink_encode(s, metrics, &b, err) != 0)
        return -1;
    dp_sink_send_encoded(s, &b);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_sink_encode(dp_sink_t *s, dp_msg_t **metrics, dp_sink_bytes_t *out, dp_err_t *err)
{
    dp_msg_t *m = metrics ? *metrics : NULL;
    if (metrics)
        *metrics = NULL;
    *out = (dp_sink_bytes_t){0};
    if (!m || m->type != DP_MSG_METRICS) {
        dp_msg_destroy(&m);
        return dp_err_set(err, DP_ERR_PROTO, "sink: only METRICS can be sent");
    }
    m->msg_id = atomic_fetch_add_explicit(&s->next_id, 1, memory_order_relaxed);
    m->created_ms = dp_time_wall_ms();
    free(m->sender_node);
    m->sender_node = strdup(s->node);
    if (!m->sender_node)
        abort();
    int rc = dp_msg_encode(m, &out->data, &out->size, err);
    if (rc == 0) {
        out->id = m->msg_id;
        /* kept until ACKed: give back the encoder's spare room (its buffer doubles from 8 KB,
           so a 5 KB message held 8 KB: 12 KB of RSS per pending message, measured) */
        char *fit = realloc(out->data, out->size ? out->size : 1);
        if (fit)
            out->data = fit;
    } else {
        *out = (dp_sink_bytes_t){0};
    }
    dp_msg_destroy(&m);
    return rc;
}

//  --------------------------------------------------------------------------
void dp_sink_send_encoded(dp_sink_t *s, dp_sink_bytes_t *b)
{
    if (!b->data)
        return;
    s_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    e->id = b->id;
    e->data = b->data;
    e->size = b->size;
    *b = (dp_sink_bytes_t){0};
    zhashx_insert(s->by_id, &e->id, e);
    e->handle = zlistx_add_end(s->order, e);
    s->pending_bytes += e->size;
    if (s->n_unsent > 0)
        s_send_unsent(s);
    if (s->n_unsent > 0) { /* never overtake an older message */
        if (!e->unsent)
            s->n_unsent++;
        e->unsent = true;
        e->sent_ms = dp_time_mono_ms();
    } else {
        s_transmit(s, e);
    }
    if (s->sent)
        (*s->sent)++;
    s_gauge(s);
}

//  --------------------------------------------------------------------------
void dp_sink_bytes_free(dp_sink_bytes_t *b)
{
    if (!b)
        return;
    free(b->data);
    *b = (dp_sink_bytes_t){0};
}

//  --------------------------------------------------------------------------
size_t dp_sink_pending(const dp_sink_t *s)
{
    return zhashx_size(s->by_id);
}

//  --------------------------------------------------------------------------
bool dp_sink_full(const dp_sink_t *s)
{
    return s->full;
}

//  --------------------------------------------------------------------------
int dp_sink_flush(dp_sink_t *s, int timeout_ms)
{
    int64_t deadline = dp_time_mono_ms() + timeout_ms;
    zpoller_t *poller = zpoller_new(s->sock, NULL);
    while (zhashx_size(s->by_id) > 0) {
        int64_t left = deadline - dp_time_mono_ms();
        if (left <= 0)
            break;
        zpoller_wait(poller, (int)(left < S_TICK_MS ? left : S_TICK_MS));
        if (zpoller_terminated(poller))
            break;
        s_drain_socket(s);
        s_resend_due(s);
    }
    zpoller_destroy(&poller);
    return zhashx_size(s->by_id) == 0 ? 0 : -1;
}

//  --------------------------------------------------------------------------
size_t dp_sink_poll(dp_sink_t *s, int timeout_ms)
{
    zmq_pollitem_t item = {zsock_resolve(s->sock), 0, ZMQ_POLLIN, 0};
    zmq_poll(&item, 1, timeout_ms);
    s_drain_socket(s);
    s_resend_due(s);
    return zhashx_size(s->by_id);
}

//  --------------------------------------------------------------------------
void dp_sink_set_stats(dp_sink_t *s, dp_stats_t *stats)
{
    s->stats = stats;
    s->sent = stats ? dp_stats_counter(stats, "metrics_sent") : NULL;
    s->acked = stats ? dp_stats_counter(stats, "metrics_acked") : NULL;
    s->resent = stats ? dp_stats_counter(stats, "metrics_resent") : NULL;
    s_gauge(s);
}

//  --------------------------------------------------------------------------
void dp_sink_set_tap(dp_sink_t *s, dp_tap_t *tap)
{
    s->tap = tap;
}

//  --------------------------------------------------------------------------
void dp_sink_set_resend_ms(dp_sink_t *s, int ms)
{
    if (ms >= 1)
        s->resend_ms = ms;
}

//  --------------------------------------------------------------------------
void dp_sink_set_max_bytes(dp_sink_t *s, size_t bytes)
{
    if (bytes >= 1)
        s->max_bytes = bytes;
    s_gauge(s);
}

//  --------------------------------------------------------------------------
size_t dp_sink_pending_bytes(const dp_sink_t *s)
{
    return s->pending_bytes;
}
