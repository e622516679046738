/*  discoverer_fakesched.c - a fake scheduler for the discoverer tests: the same job to everyone
    usage: discoverer_fakesched ENDPOINT --workers N --device ID:HOST [--rounds R]
             [--epoch E] [--cycle TS] [--job-timeout-ms MS] [--timeout-ms MS]
    Binds a plain ROUTER on ENDPOINT (a local endpoint: run the discoverers with DP_CURVE=false),
    waits until N distinct "discoverer" workers have announced credit, then for each round sends
    one JOB for the device (cycle_ts = TS + round) to every one of them at the same moment, and
    prints one line per RESULT:
      result round=R node=NODE status=S reason="..." took_ms=T job_id=J
    A real scheduler never does this; it is how the test proves the device claim keeps two
    discoverers off one device. Exit 0 when every job was answered, 1 on timeout, 2 on usage.
    SPDX-License-Identifier: MIT */
#include "dp_log.h"
#include "dp_msg.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_MAX_WORKERS 16
#define FS_RID_MAX     256

typedef struct {
    uint8_t rid[FS_RID_MAX];
    size_t len;
    char node[DP_MSG_NODE_MAX + 1];
} fs_worker_t;

typedef struct {
    const char *endpoint;
    int workers, rounds;
    uint64_t device_id, epoch;
    const char *host;
    int64_t cycle_ts, job_timeout_ms, timeout_ms;
} fs_args_t;

static int fs_usage(void)
{
    fprintf(stderr, "usage: discoverer_fakesched ENDPOINT --workers N --device ID:HOST "
                    "[--rounds R] [--epoch E] [--cycle TS] [--job-timeout-ms MS] "
                    "[--timeout-ms MS]\n");
    return 2;
}

static int fs_parse(int argc, char **argv, fs_args_t *a)
{
    *a = (fs_args_t){.workers = 2,
                     .rounds = 1,
                     .epoch = 1,
                     .cycle_ts = 1700000000,
                     .job_timeout_ms = 30000,
                     .timeout_ms = 60000};
    if (argc < 2)
        return -1;
    a->endpoint = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        if (strcmp(argv[i], "--workers") == 0)
            a->workers = atoi(v);
        else if (strcmp(argv[i], "--rounds") == 0)
            a->rounds = atoi(v);
        else if (strcmp(argv[i], "--epoch") == 0)
            a->epoch = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--cycle") == 0)
            a->cycle_ts = strtoll(v, NULL, 10);
        else if (strcmp(argv[i], "--job-timeout-ms") == 0)
            a->job_timeout_ms = strtoll(v, NULL, 10);
        else if (strcmp(argv[i], "--timeout-ms") == 0)
            a->timeout_ms = strtoll(v, NULL, 10);
        else if (strcmp(argv[i], "--device") == 0) {
            char *colon = strchr(v, ':');
            if (!colon)
                return -1;
            a->device_id = strtoull(v, NULL, 10);
            a->host = colon + 1;
        } else
            return -1;
        i++;
    }
    return a->device_id && a->host && a->workers >= 1 && a->workers <= FS_MAX_WORKERS &&
                   a->rounds >= 1
               ? 0
               : -1;
}

//  Receives one message until deadline; returns it decoded (rid copied into w) or NULL.
static dp_msg_t *fs_recv(zsock_t *router, int64_t deadline_ms, fs_worker_t *w)
{
    int64_t left = deadline_ms - dp_time_mono_ms();
    if (left <= 0)
        return NULL;
    zsock_set_rcvtimeo(router, (int)left);
    zmsg_t *m = zmsg_recv(router);
    if (!m)
        return NULL;
    dp_msg_t *msg = NULL;
    zframe_t *rid = zmsg_first(m), *body = zmsg_next(m);
    if (zmsg_size(m) == 2 && zframe_size(rid) <= FS_RID_MAX) {
        memcpy(w->rid, zframe_data(rid), zframe_size(rid));
        w->len = zframe_size(rid);
        msg = dp_msg_decode(zframe_data(body), zframe_size(body), NULL);
    }
    zmsg_destroy(&m);
    return msg ? msg : fs_recv(router, deadline_ms, w);
}

static int fs_send_job(zsock_t *router, const fs_worker_t *w, const fs_args_t *a, int round,
                       uint64_t job_id)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_JOB);
    m->msg_id = job_id;
    m->created_ms = dp_time_wall_ms();
    m->sender_node = strdup("fakesched");
    m->job = (dp_msg_job_t){.job_id = job_id,
                            .kind = DP_MSG_KIND_DISCOVER,
                            .device_id = a->device_id,
                            .hostname = strdup(a->host),
                            .group = 0,
                            .epoch = a->epoch,
                            .cycle_ts = a->cycle_ts + round,
                            .deadline_ms = m->created_ms + a->job_timeout_ms,
                            .attempt = 1};
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    int rc = dp_msg_encode(m, &data, &size, &err);
    dp_msg_destroy(&m);
    if (rc != 0) {
        fprintf(stderr, "encode: %s\n", err.text);
        return -1;
    }
    zmsg_t *z = zmsg_new();
    zmsg_addmem(z, w->rid, w->len);
    zmsg_addmem(z, data, size);
    free(data);
    return zmsg_send(&z, router);
}

int main(int argc, char **argv)
{
    fs_args_t a;
    if (fs_parse(argc, argv, &a) != 0)
        return fs_usage();
    zsys_init();
    zsys_handler_set(NULL);
    dp_log_init("fakesched", "fakesched", DP_LOG_WARN);
    dp_err_t err = {0};
    zsock_t *router = dp_zmq_server(ZMQ_ROUTER, a.endpoint, NULL, &err);
    if (!router) {
        fprintf(stderr, "bind %s: %s\n", a.endpoint, err.text);
        return 2;
    }
    printf("listening\n");
    fflush(stdout);
    fs_worker_t ws[FS_MAX_WORKERS];
    int n = 0;
    int64_t deadline = dp_time_mono_ms() + a.timeout_ms;
    while (n < a.workers) {
        fs_worker_t w;
        dp_msg_t *m = fs_recv(router, deadline, &w);
        if (!m) {
            fprintf(stderr, "only %d of %d workers announced credit\n", n, a.workers);
            zsock_destroy(&router);
            return 1;
        }
        bool known = false;
        for (int i = 0; i < n; i++)
            known |= ws[i].len == w.len && memcmp(ws[i].rid, w.rid, w.len) == 0;
        if (!known && m->type == DP_MSG_CREDIT && m->credit.credit > 0 &&
            strcmp(m->credit.stage, "discoverer") == 0) {
            snprintf(w.node, sizeof w.node, "%s", m->credit.node);
            ws[n++] = w;
            printf("worker node=%s\n", w.node);
        }
        dp_msg_destroy(&m);
    }
    fflush(stdout);
    int rc = 0;
    for (int r = 0; r < a.rounds && rc == 0; r++) {
        for (int i = 0; i < n; i++)
            if (fs_send_job(router, &ws[i], &a, r, (uint64_t)(r * 100 + i + 1)) != 0)
                rc = 1;
        int answered = 0;
        while (rc == 0 && answered < n) {
            fs_worker_t w;
            dp_msg_t *m = fs_recv(router, deadline, &w);
            if (!m) {
                fprintf(stderr, "round %d: %d of %d results\n", r, answered, n);
                rc = 1;
                break;
            }
            if (m->type == DP_MSG_RESULT) {
                const dp_msg_result_t *x = &m->result;
                printf("result round=%d node=%s status=%s reason=\"%s\" took_ms=%" PRId64
                       " job_id=%" PRIu64 "\n",
                       r, x->node, dp_msg_status_name(x->status), x->reason ? x->reason : "",
                       x->took_ms, x->job_id);
                fflush(stdout);
                answered++;
            }
            dp_msg_destroy(&m);
        }
    }
    zsock_destroy(&router);
    return rc;
}
