/*  clitool.c - stand-ins for the daemons' side of the CLI's common modules, for test_cli_*.sh
      clitool tap DIR DAEMON NODE N      opens DAEMON's tap, waits for a reader, publishes N
                                         JOB/RESULT copies (in, out alternately) and 1 garbled
      clitool trace ENVFILE DEVICE_ID    stamps a whole job trace like the stages would, plus
                                         a late stamp of an older job (must be ignored)
      clitool http ENVFILE DAEMON PORT SECS   serves /metrics for DAEMON's control socket
      clitool traceorder ENVFILE DEVICE_ID   stamps out of order (a worker before the
                                         scheduler's begin, an older job late) and in batches
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_http.h"
#include "dp_msg.h"
#include "dp_tap.h"
#include "dp_time.h"
#include "dp_trace.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define CT_WAIT_MS 10000

static dp_msg_t *s_job(uint64_t id)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_JOB);
    m->msg_id = id;
    m->created_ms = dp_time_wall_ms();
    m->sender_node = strdup("sched-a");
    m->job.job_id = id;
    m->job.kind = DP_MSG_KIND_POLL;
    m->job.device_id = 7;
    m->job.hostname = strdup("sw\"7.example.net");
    m->job.epoch = 3;
    m->job.cycle_ts = 1700000000;
    m->job.deadline_ms = m->created_ms + 60000;
    m->job.attempt = 1;
    return m;
}

static dp_msg_t *s_result(uint64_t id)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_RESULT);
    m->msg_id = id;
    m->sender_node = strdup("w1");
    m->result.job_id = id;
    m->result.device_id = 7;
    m->result.epoch = 3;
    m->result.kind = DP_MSG_KIND_POLL;
    m->result.status = DP_MSG_STATUS_OK;
    m->result.took_ms = 42;
    m->result.node = strdup("w1");
    return m;
}

static int s_tap(int argc, char **argv)
{
    if (argc != 6)
        return EX_USAGE;
    dp_err_t err = {0};
    dp_tap_t *tap = dp_tap_new(argv[2], argv[3], argv[4], &err);
    if (!tap) {
        fprintf(stderr, "clitool: %s\n", err.text);
        return 1;
    }
    int64_t deadline = dp_time_mono_ms() + CT_WAIT_MS;
    while (!dp_tap_poll(tap) && dp_time_mono_ms() < deadline)
        usleep(5000);
    usleep(100000); /* a reader subscribed to several endpoints: let every pipe settle */
    int n = atoi(argv[5]);
    for (int i = 1; i <= n; i++) {
        dp_msg_t *m = i % 2 ? s_job((uint64_t)i) : s_result((uint64_t)i);
        char *bytes;
        size_t size;
        if (dp_msg_encode(m, &bytes, &size, &err) != 0) {
            fprintf(stderr, "clitool: encode: %s\n", err.text);
            return 1;
        }
        dp_tap_publish(tap, i % 2 ? DP_TAP_OUT : DP_TAP_IN, bytes, size);
        free(bytes);
        dp_msg_destroy(&m);
    }
    dp_tap_publish(tap, DP_TAP_IN, "\x93garbage", 8);
    printf("published %llu\n", (unsigned long long)dp_tap_published(tap));
    usleep(200000);
    dp_tap_destroy(&tap);
    return 0;
}

static dp_cfg_t *s_cfg(const char *env)
{
    dp_cfg_t *cfg = dp_cfg_new();
    char *args[] = {"clitool", "--env-file", (char *)env, NULL};
    dp_err_t err = {0};
    if (dp_cfg_load(cfg, 3, args, &err) != 0) {
        fprintf(stderr, "clitool: %s\n", err.text);
        exit(EX_CONFIG);
    }
    return cfg;
}

static int s_trace(int argc, char **argv)
{
    if (argc != 4)
        return EX_USAGE;
    dp_cfg_t *cfg = s_cfg(argv[2]);
    uint64_t dev = strtoull(argv[3], NULL, 10);
    dp_redis_opts_t o;
    dp_conn_redis_opts(cfg, &o);
    dp_redis_t *r = dp_redis_new(&o);
    dp_err_t err = {0};
    int64_t t0 = dp_time_wall_ms();
    int rc = dp_trace_begin(r, dev, 77, "poll", 3, "sched-a", &err);
    rc |= dp_trace_mark_job(r, dev, 77, "taken_by", "%s", "w1") != 1;
    rc |= dp_trace_mark_job(r, dev, 77, "taken_ms", "%lld", (long long)t0 + 12) != 1;
    rc |= dp_trace_mark_job(r, dev, 77, "snmp_ms", "%d", 85) != 1;
    rc |= dp_trace_mark_job(r, dev, 77, "polled_ms", "%lld", (long long)t0 + 110) != 1;
    rc |= dp_trace_mark_job(r, dev, 77, "metrics_sent_ms", "%lld", (long long)t0 + 111) != 1;
    rc |= dp_trace_mark_job(r, dev, 77, "status", "ok") != 1;
    rc |= dp_trace_mark_job(r, dev, 76, "rrd_written_ms", "%lld", (long long)t0 - 5000) != 0;
    rc |= dp_trace_mark(r, dev, "result_ms", "%lld", (long long)t0 + 115) != 0;
    rc |= dp_trace_mark_job(r, dev, 77, "rrd_written_ms", "%lld", (long long)t0 + 1200) != 1;
    rc |= dp_trace_mark_job(r, dev, 77, "rrd_by", "rrd-1") != 1;
    printf("trace rc=%d marks=%llu failures=%llu\n", rc, (unsigned long long)dp_trace_marks(),
           (unsigned long long)dp_trace_failures());
    dp_redis_destroy(&r);
    dp_cfg_destroy(&cfg);
    return rc ? 1 : 0;
}

#define S_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("traceorder: failed: %s\n", #cond);                                             \
            rc = 1;                                                                                \
        }                                                                                          \
    } while (0)

static int s_traceorder(int argc, char **argv)
{
    if (argc != 4)
        return EX_USAGE;
    dp_cfg_t *cfg = s_cfg(argv[2]);
    uint64_t dev = strtoull(argv[3], NULL, 10);
    dp_redis_opts_t o;
    dp_conn_redis_opts(cfg, &o);
    dp_redis_t *r = dp_redis_new(&o);
    int rc = 0;
    /* a newer job's worker stamp reaches Redis before its begin: both are kept */
    S_CHECK(dp_trace_mark_job(r, dev, 200, "taken_by", "w2") == 1);
    S_CHECK(dp_trace_begin(r, dev, 200, "poll", 4, "sched-b", NULL) == 0);
    S_CHECK(dp_trace_mark_job(r, dev, 150, "status", "late") == 0);
    /* a batch: begin + merged stamps of job 300, an older job's stamp, 600 other traces */
    dp_trace_batch_t *b = dp_trace_batch_new();
    S_CHECK(dp_trace_batch_mark_job(b, dev, 300, "taken_by", "%s", "w3") == 0);
    S_CHECK(dp_trace_batch_begin(b, dev, 300, "discover", 5, "sched-c", 0) == 0);
    S_CHECK(dp_trace_batch_mark_job(b, dev, 300, "status", "%s", "ok") == 0);
    S_CHECK(dp_trace_batch_mark_job(b, dev, 299, "reason", "%s", "late") == 0);
    for (uint64_t i = 1; i <= 600; i++)
        S_CHECK(dp_trace_batch_mark_job(b, dev + 1000000 + i, 0, "result_ms", "%llu",
                                        (unsigned long long)i) == 0);
    S_CHECK(dp_trace_batch_pending(b) == 602);
    int written = dp_trace_batch_flush(b, r, NULL);
    S_CHECK(dp_trace_batch_pending(b) == 0);
    printf("traceorder rc=%d written=%d marks=%llu failures=%llu\n", rc, written,
           (unsigned long long)dp_trace_marks(), (unsigned long long)dp_trace_failures());
    dp_trace_batch_destroy(&b);
    dp_redis_destroy(&r);
    dp_cfg_destroy(&cfg);
    return rc;
}

static int s_http(int argc, char **argv)
{
    if (argc != 6)
        return EX_USAGE;
    dp_cfg_t *cfg = s_cfg(argv[2]);
    char ctl[512];
    dp_conn_control_endpoint(cfg, argv[3], cfg->node_id, ctl, sizeof ctl);
    dp_err_t err = {0};
    dp_http_t *h = dp_http_new(atoi(argv[4]), argv[3], cfg->node_id, ctl, &err);
    if (!h) {
        fprintf(stderr, "clitool: %s\n", err.text);
        return 1;
    }
    printf("listening %d\n", dp_http_port(h));
    fflush(stdout);
    sleep((unsigned)atoi(argv[5]));
    dp_http_destroy(&h);
    dp_cfg_destroy(&cfg);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "tap") == 0)
        return s_tap(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "trace") == 0)
        return s_trace(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "http") == 0)
        return s_http(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "traceorder") == 0)
        return s_traceorder(argc, argv);
    fprintf(stderr, "usage: clitool tap DIR DAEMON NODE N | trace ENVFILE DEVICE_ID | "
                    "http ENVFILE DAEMON PORT SECS | traceorder ENVFILE DEVICE_ID\n");
    return EX_USAGE;
}
