/*  fakesched.c - a minimal scheduler ROUTER for the poller tests
    Binds a ROUTER, waits for a poller's CREDIT, sends one JOB (kind poll) per device read from
    stdin ("DEVICE_ID HOSTNAME" lines) within the credit it was given, and prints every RESULT
    as one JSON line on stdout. Exits 0 when every job has a RESULT, 1 on timeout.
    usage: fakesched --bind EP [--curve] --epoch N --cycle TS [--job-base ID] [--timeout S]
                     [--rate JOBS_PER_S]
    --rate paces the jobs (at most JOBS_PER_S since the first CREDIT, within the credit) as a
    scheduler spreading a cycle does, sending what is due every 100 ms as its dispatch tick
    does; without it every job goes out as soon as credit allows.
    --curve derives the CURVE keys from $APP_KEY (as the daemons do). Devices are sent in
    order; with several pollers connected, jobs go to whichever has credit.
    SPDX-License-Identifier: MIT */
#include "dp_log.h"
#include "dp_msg.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_JOBS 100000

typedef struct {
    uint64_t device_id;
    char host[256];
} s_dev_t;

static int s_usage(void)
{
    fprintf(stderr, "usage: fakesched --bind EP [--curve] --epoch N --cycle TS [--job-base ID]"
                    " [--timeout S] [--rate JOBS_PER_S] < devices\n");
    return 2;
}

static int s_send_job(zsock_t *router, zframe_t *peer, const s_dev_t *d, uint64_t job_id,
                      uint64_t epoch, int64_t cycle)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_JOB);
    m->msg_id = job_id;
    m->created_ms = dp_time_wall_ms();
    m->sender_node = strdup("fakesched");
    m->job = (dp_msg_job_t){.job_id = job_id,
                            .kind = DP_MSG_KIND_POLL,
                            .device_id = d->device_id,
                            .hostname = strdup(d->host),
                            .epoch = epoch,
                            .cycle_ts = cycle,
                            .deadline_ms = dp_time_wall_ms() + 60000,
                            .attempt = 1};
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    int rc = dp_msg_encode(m, &data, &size, &err);
    dp_msg_destroy(&m);
    if (rc != 0) {
        fprintf(stderr, "fakesched: encode: %s\n", err.text);
        return -1;
    }
    zframe_t *id = zframe_dup(peer);
    zframe_send(&id, router, ZFRAME_MORE);
    rc = dp_zmq_send_bytes(router, data, size, 0);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    const char *bind = NULL;
    bool curve = false;
    uint64_t epoch = 1, job_base = 1;
    int64_t cycle = 0;
    int timeout_s = 60;
    double rate = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--curve") == 0)
            curve = true;
        else if (i + 1 >= argc)
            return s_usage();
        else if (strcmp(argv[i], "--bind") == 0)
            bind = argv[++i];
        else if (strcmp(argv[i], "--epoch") == 0)
            epoch = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cycle") == 0)
            cycle = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--job-base") == 0)
            job_base = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0)
            rate = atof(argv[++i]);
        else
            return s_usage();
    }
    if (!bind)
        return s_usage();
    dp_log_init("fakesched", "fakesched", DP_LOG_WARN);
    s_dev_t *devs = calloc(S_MAX_JOBS, sizeof *devs);
    int n = 0;
    char line[512];
    while (n < S_MAX_JOBS && fgets(line, sizeof line, stdin))
        if (sscanf(line, "%" SCNu64 " %255s", &devs[n].device_id, devs[n].host) == 2)
            n++;
    dp_err_t err = {0};
    dp_zmq_keys_t keys;
    if (curve && (dp_zmq_keys_derive(getenv("APP_KEY"), &keys, &err) != 0 ||
                  dp_zmq_auth_start(&keys, &err) != 0)) {
        fprintf(stderr, "fakesched: keys: %s\n", err.text);
        return 1;
    }
    zsock_t *router = dp_zmq_server(ZMQ_ROUTER, bind, curve ? &keys : NULL, &err);
    if (!router) {
        fprintf(stderr, "fakesched: bind: %s\n", err.text);
        return 1;
    }
    int sent = 0, results = 0, credit_left = 0;
    zframe_t *credit_peer = NULL; /* --rate: where the credit not yet used goes */
    int64_t deadline = dp_time_mono_ms() + (int64_t)timeout_s * 1000, rate_t0 = 0;
    while (results < n && dp_time_mono_ms() < deadline) {
        if (rate > 0 && credit_peer && credit_left > 0 && sent < n) {
            /* on a 100 ms tick, like the scheduler's dispatch */
            int64_t tick_ms = (dp_time_mono_ms() - rate_t0) / 100 * 100;
            int due = (int)(rate * (double)tick_ms / 1000.0) - sent;
            for (; due > 0 && credit_left > 0 && sent < n; due--, credit_left--, sent++)
                if (s_send_job(router, credit_peer, &devs[sent], job_base + (uint64_t)sent, epoch,
                               cycle) != 0)
                    break;
        }
        zmsg_t *msg = dp_zmq_recv_msg(router, rate > 0 ? 2 : 200, NULL);
        if (!msg)
            continue;
        zframe_t *peer = zmsg_pop(msg);
        zframe_t *body = zmsg_pop(msg);
        dp_msg_t *m = body ? dp_msg_decode(zframe_data(body), zframe_size(body), &err) : NULL;
        if (m && m->type == DP_MSG_CREDIT) {
            /* jobs already on their way are not in the worker's count yet */
            int in_worker =
                m->credit.slots > m->credit.credit ? m->credit.slots - m->credit.credit : 0;
            int in_transit = sent - results - in_worker;
            int allow = m->credit.credit - (in_transit > 0 ? in_transit : 0);
            if (rate > 0) {
                if (!credit_peer)
                    rate_t0 = dp_time_mono_ms();
                zframe_destroy(&credit_peer);
                credit_peer = zframe_dup(peer);
                credit_left = allow;
                allow = 0;
            }
            for (int c = allow; c > 0 && sent < n; c--, sent++)
                if (s_send_job(router, peer, &devs[sent], job_base + (uint64_t)sent, epoch,
                               cycle) != 0)
                    break;
        } else if (m && m->type == DP_MSG_RESULT) {
            dp_msg_print_json(m, stdout);
            fflush(stdout);
            results++;
        }
        dp_msg_destroy(&m);
        zframe_destroy(&peer);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
    }
    zframe_destroy(&credit_peer);
    zsock_destroy(&router);
    if (curve)
        dp_zmq_auth_stop();
    free(devs);
    if (results < n)
        fprintf(stderr, "fakesched: %d of %d results before the timeout\n", results, n);
    return results == n ? 0 : 1;
}
