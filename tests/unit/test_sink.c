/*  test_sink.c - dp_sink against an in-process ROUTER: ACKs clear pending messages, unacked ones
    are resent, messages sent before the peer exists go out in order once it binds, the byte cap
    makes the sink "full", only METRICS are accepted; METRICS encoded in other threads
    (dp_sink_encode) get distinct ids and arrive whole; dp_msg_peek_id.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_msg.h"
#include "dp_sink.h"
#include "dp_stats.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dp_msg_t *s_metrics(int64_t ts)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_METRICS);
    m->metrics.device_id = 7;
    m->metrics.hostname = strdup("sw1");
    m->metrics.epoch = 1;
    m->metrics.job_id = 9;
    m->metrics.ts = ts;
    m->metrics.n_updates = 1;
    m->metrics.updates = calloc(1, sizeof(dp_msg_rrd_update_t));
    dp_msg_rrd_update_t *u = &m->metrics.updates[0];
    u->rrd = strdup("sw1/uptime.rrd");
    u->n_ds = u->n_values = 1;
    u->ds = calloc(1, sizeof(char *));
    u->ds[0] = strdup("uptime:GAUGE:600:0:U");
    u->values = calloc(1, sizeof(double));
    u->values[0] = (double)ts;
    return m;
}

/* Receives one METRICS on the router within timeout_ms, polling the sink meanwhile. */
static dp_msg_t *s_recv(zsock_t *router, dp_sink_t *sink, zframe_t **rid, int timeout_ms)
{
    int64_t end = dp_time_mono_ms() + timeout_ms;
    while (dp_time_mono_ms() < end) {
        dp_err_t err = {0};
        zmsg_t *zm = dp_zmq_recv_msg(router, 20, &err);
        if (!zm) {
            dp_sink_poll(sink, 10);
            continue;
        }
        zframe_t *id = zmsg_pop(zm), *data = zmsg_pop(zm);
        dp_msg_t *m = data ? dp_msg_decode(zframe_data(data), zframe_size(data), &err) : NULL;
        zframe_destroy(&data);
        zmsg_destroy(&zm);
        if (rid)
            *rid = id;
        else
            zframe_destroy(&id);
        return m;
    }
    return NULL;
}

static void s_ack(zsock_t *router, zframe_t *rid, const uint64_t *ids, size_t n)
{
    dp_msg_t *a = dp_msg_new(DP_MSG_ACK);
    a->sender_node = strdup("rw");
    a->ack.ids = malloc(n * sizeof(uint64_t));
    memcpy(a->ack.ids, ids, n * sizeof(uint64_t));
    a->ack.n_ids = n;
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    if (dp_msg_encode(a, &data, &size, &err) == 0) {
        dp_zmq_send_bytes(router, zframe_data(rid), zframe_size(rid), ZMQ_SNDMORE);
        dp_zmq_send_bytes(router, data, size, 0);
    }
    free(data);
    dp_msg_destroy(&a);
}

static void s_endpoint(char *buf, size_t size, const char *tag)
{
    snprintf(buf, size, "ipc:///tmp/dp-sink-%s-%d.ipc", tag, (int)getpid());
}

DP_TEST(sink_ack_and_resend)
{
    char ep[128];
    s_endpoint(ep, sizeof ep, "a");
    dp_err_t err = {0};
    zsock_t *router = dp_zmq_server(ZMQ_ROUTER, ep, NULL, &err);
    CHECK(router);
    zloop_t *loop = zloop_new();
    dp_sink_t *sink = dp_sink_new(loop, ep, NULL, "w1", &err);
    CHECK(sink);
    dp_stats_t *stats = dp_stats_new();
    dp_sink_set_stats(sink, stats);
    dp_sink_set_resend_ms(sink, 300);
    uint64_t ids[3];
    zframe_t *rid = NULL;
    for (int i = 0; i < 3; i++) {
        dp_msg_t *m = s_metrics(1000 + i);
        CHECK(dp_sink_send(sink, &m, &err) == 0);
        CHECK(m == NULL);
    }
    CHECK_EQ_INT(dp_sink_pending(sink), 3);
    for (int i = 0; i < 3; i++) {
        zframe_destroy(&rid);
        dp_msg_t *m = s_recv(router, sink, &rid, 3000);
        CHECK(m && m->type == DP_MSG_METRICS);
        CHECK_EQ_INT(m->metrics.ts, 1000 + i);
        CHECK_EQ_STR(m->sender_node, "w1");
        CHECK(m->created_ms > 0);
        ids[i] = m->msg_id;
        dp_msg_destroy(&m);
    }
    CHECK(ids[1] == ids[0] + 1 && ids[2] == ids[1] + 1);
    uint64_t acked[2] = {ids[0], ids[2]};
    s_ack(router, rid, acked, 2);
    for (int i = 0; i < 500 && dp_sink_pending(sink) != 1; i++)
        dp_sink_poll(sink, 10);
    CHECK_EQ_INT(dp_sink_pending(sink), 1);
    s_ack(router, rid, acked, 2); /* duplicate ACK: harmless */
    /* resent after 300 ms; on a slow run (valgrind, ASan on a busy box) other copies may come
       first: resends of the acked ones, sent before their ACK arrived, and a copy of every
       pending message sent when the sink reads the connection's handshake event late (that
       one is not a timed resend, so it does not count in metrics_resent) */
    dp_msg_t *again = NULL;
    for (int i = 0; i < 20; i++) {
        again = s_recv(router, sink, NULL, 3000);
        if (!again || (again->msg_id == ids[1] && dp_stats_get(stats, "metrics_resent") >= 1))
            break;
        CHECK(again->msg_id == ids[0] || again->msg_id == ids[1] || again->msg_id == ids[2]);
        dp_msg_destroy(&again);
    }
    CHECK(again && again->msg_id == ids[1]);
    dp_msg_destroy(&again);
    CHECK(dp_stats_get(stats, "metrics_resent") >= 1);
    s_ack(router, rid, &ids[1], 1);
    CHECK_EQ_INT(dp_sink_flush(sink, 3000), 0);
    CHECK_EQ_INT(dp_stats_get(stats, "metrics_sent"), 3);
    CHECK_EQ_INT(dp_stats_get(stats, "metrics_acked"), 3);
    CHECK_EQ_INT(dp_stats_get(stats, "metrics_pending"), 0);
    CHECK(!dp_sink_full(sink));
    zframe_destroy(&rid);
    dp_sink_destroy(&sink);
    CHECK(sink == NULL);
    dp_sink_destroy(&sink);
    dp_stats_destroy(&stats);
    zloop_destroy(&loop);
    zsock_destroy(&router);
}

DP_TEST(sink_in_order_after_peer_appears)
{
    char ep[128];
    s_endpoint(ep, sizeof ep, "b");
    dp_err_t err = {0};
    zloop_t *loop = zloop_new();
    dp_sink_t *sink = dp_sink_new(loop, ep, NULL, "w1", &err);
    CHECK(sink);
    for (int i = 0; i < 5; i++) {
        dp_msg_t *m = s_metrics(2000 + i);
        CHECK(dp_sink_send(sink, &m, &err) == 0);
    }
    CHECK_EQ_INT(dp_sink_pending(sink), 5);
    CHECK(dp_sink_flush(sink, 100) == -1); /* nobody to ACK */
    zsock_t *router = dp_zmq_server(ZMQ_ROUTER, ep, NULL, &err);
    CHECK(router);
    for (int i = 0; i < 5; i++) {
        dp_msg_t *m = s_recv(router, sink, NULL, 5000);
        CHECK(m);
        CHECK_EQ_INT(m->metrics.ts, 2000 + i);
        dp_msg_destroy(&m);
    }
    dp_sink_destroy(&sink);
    zloop_destroy(&loop);
    zsock_destroy(&router);
}

DP_TEST(sink_full_and_refusals)
{
    char ep[128];
    s_endpoint(ep, sizeof ep, "c");
    dp_err_t err = {0};
    zloop_t *loop = zloop_new();
    dp_sink_t *sink = dp_sink_new(loop, ep, NULL, "w1", &err);
    CHECK(sink);
    dp_sink_set_max_bytes(sink, 200);
    dp_msg_t *m = s_metrics(1);
    CHECK(dp_sink_send(sink, &m, &err) == 0);
    CHECK(!dp_sink_full(sink));
    m = s_metrics(2);
    CHECK(dp_sink_send(sink, &m, &err) == 0);
    CHECK(dp_sink_full(sink));
    CHECK(dp_sink_pending_bytes(sink) >= 200);
    /* full until below half the cap */
    size_t held = dp_sink_pending_bytes(sink);
    dp_sink_set_max_bytes(sink, held + 1);
    CHECK(dp_sink_full(sink)); /* under the cap, not under half of it */
    dp_sink_set_max_bytes(sink, 2 * held + 2);
    CHECK(!dp_sink_full(sink));
    dp_sink_set_max_bytes(sink, 200);
    CHECK(dp_sink_full(sink));
    dp_msg_t *job = dp_msg_new(DP_MSG_JOB);
    CHECK(dp_sink_send(sink, &job, &err) == -1);
    CHECK(job == NULL);
    CHECK_CONTAINS(err.text, "only METRICS");
    m = s_metrics(3);
    m->metrics.updates[0].n_values = 0; /* invalid: refused, freed */
    CHECK(dp_sink_send(sink, &m, &err) == -1);
    CHECK(m == NULL);
    CHECK_EQ_INT(dp_sink_pending(sink), 2);
    dp_sink_t *other = dp_sink_new(loop, ep, NULL, "w1", &err);
    dp_msg_t *a = s_metrics(4), *b = s_metrics(5);
    dp_sink_send(sink, &a, &err);
    dp_sink_send(other, &b, &err);
    CHECK(dp_sink_new(loop, ep, NULL, "", &err) == NULL);
    dp_sink_destroy(&other);
    dp_sink_destroy(&sink);
    zloop_destroy(&loop);
}

#define S_ENC_THREADS 3
#define S_ENC_EACH    200

typedef struct {
    dp_sink_t *sink;
    int base;
    dp_sink_bytes_t out[S_ENC_EACH];
    int failures;
} s_enc_arg_t;

static void *s_encoder(void *p)
{
    s_enc_arg_t *a = p;
    for (int i = 0; i < S_ENC_EACH; i++) {
        dp_msg_t *m = s_metrics(a->base + i);
        dp_err_t err = {0};
        if (dp_sink_encode(a->sink, &m, &a->out[i], &err) != 0 || m != NULL || !a->out[i].data)
            a->failures++;
    }
    return NULL;
}

static int s_cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

DP_TEST(sink_encode_in_threads)
{
    char ep[128];
    s_endpoint(ep, sizeof ep, "d");
    dp_err_t err = {0};
    zsock_t *router = dp_zmq_server(ZMQ_ROUTER, ep, NULL, &err);
    CHECK(router);
    zloop_t *loop = zloop_new();
    dp_sink_t *sink = dp_sink_new(loop, ep, NULL, "w1", &err);
    CHECK(sink);
    static s_enc_arg_t args[S_ENC_THREADS];
    pthread_t th[S_ENC_THREADS];
    for (int t = 0; t < S_ENC_THREADS; t++) {
        args[t] = (s_enc_arg_t){.sink = sink, .base = 10000 * (t + 1)};
        CHECK(pthread_create(&th[t], NULL, s_encoder, &args[t]) == 0);
    }
    for (int t = 0; t < S_ENC_THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK_EQ_INT(args[t].failures, 0);
    }
    /* a refused message leaves nothing to send */
    dp_msg_t *job = dp_msg_new(DP_MSG_JOB);
    dp_sink_bytes_t none;
    CHECK(dp_sink_encode(sink, &job, &none, &err) == -1 && job == NULL && none.data == NULL);
    dp_sink_send_encoded(sink, &none);
    dp_sink_bytes_free(&none);
    for (int t = 0; t < S_ENC_THREADS; t++)
        for (int i = 0; i < S_ENC_EACH; i++) {
            dp_sink_send_encoded(sink, &args[t].out[i]);
            CHECK(args[t].out[i].data == NULL);
        }
    const int n = S_ENC_THREADS * S_ENC_EACH;
    CHECK_EQ_INT(dp_sink_pending(sink), n);
    uint64_t *ids = calloc((size_t)n, sizeof *ids);
    int got = 0, ts_ok = 0;
    while (got < n) {
        dp_msg_t *m = s_recv(router, sink, NULL, 5000);
        if (!m)
            break;
        int64_t ts = m->metrics.ts;
        ts_ok += ts % 10000 < S_ENC_EACH && ts / 10000 >= 1 && ts / 10000 <= S_ENC_THREADS &&
                 m->metrics.updates[0].values[0] == (double)ts;
        ids[got++] = m->msg_id;
        dp_msg_destroy(&m);
    }
    CHECK_EQ_INT(got, n);
    CHECK_EQ_INT(ts_ok, n);
    qsort(ids, (size_t)got, sizeof *ids, s_cmp_id);
    int dups = 0;
    for (int i = 1; i < got; i++)
        dups += ids[i] == ids[i - 1];
    CHECK_EQ_INT(dups, 0);
    free(ids);
    dp_sink_destroy(&sink);
    zloop_destroy(&loop);
    zsock_destroy(&router);
}

DP_TEST(sink_msg_peek_id)
{
    dp_msg_t *m = s_metrics(5);
    m->msg_id = 123456789012345ULL;
    m->sender_node = strdup("w1");
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    CHECK(dp_msg_encode(m, &data, &size, &err) == 0);
    int type = 0;
    uint64_t id = 0;
    CHECK(dp_msg_peek_id(data, size, &type, &id) == 0);
    CHECK_EQ_INT(type, DP_MSG_METRICS);
    CHECK(id == 123456789012345ULL);
    CHECK(dp_msg_peek_id(data, 3, &type, &id) == -1);
    CHECK(dp_msg_peek_id("\xc1garbage", 8, &type, &id) == -1);
    CHECK(dp_msg_peek_id(NULL, 0, NULL, NULL) == -1);
    free(data);
    dp_msg_destroy(&m);
}
