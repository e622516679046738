/*  metricsgen.c - sends METRICS through dp_sink with known counter series, reports acks
    Device d (0-based) has P ports; round r carries ts = start + r * step and, for port p and
    data source k of the port kind, the counter value
        1000000 * (d + 1) + step * (p + 1) * (k + 1) * (r + (r + 1) / 2)
    so the DERIVE rate of the step ending at round r >= 1 is (p + 1) * (k + 1) * (1 + r % 2)
    per second: rates alternate, so a missing update shows as a wrong rate.
    Files are "<prefix><d>/port-id<p>.rrd". The port DS list goes once per message in
    METRICS.dsets (--own-ds 1: in every update, the form older workers send). --wrong D:P:R sends
    that one update with its own DS list one data source too short (rrdwriter must reject it and
    keep the file's other updates).
    Prints "sent=N acked=N pending=N resent=N updates=N elapsed_ms=N msgs_per_s=N".
    SPDX-License-Identifier: MIT */
#include "dp_msg.h"
#include "dp_sink.h"
#include "dp_stats.h"
#include "dp_time.h"
#include "dp_zmq.h"
#include "../../rrdwriter/rrdwriter_def.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_DS_LEN 128

typedef struct {
    const char *endpoint, *app_key, *prefix;
    int devices, ports, rounds, first_round, step_s, window, round_ms, resend_ms, wait_ms;
    long long start_ts;
    int wrong_d, wrong_p, wrong_r;
    int own_ds; /* 1: every update carries its own ds (no dsets) */
} s_opts_t;

static void s_usage(void)
{
    fprintf(stderr,
            "usage: metricsgen --endpoint EP [--app-key KEY] [--devices N] [--ports P]\n"
            "                  [--rounds R] [--first-round R0] [--step S] [--start-ts T] [--prefix "
            "dev]\n"
            "                  [--window MSGS] [--round-ms MS] [--resend-ms MS] [--wait-ms MS]\n"
            "                  [--wrong D:P:R] [--own-ds 0|1]\n");
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){.prefix = "dev",
                    .devices = 20,
                    .ports = 4,
                    .rounds = 3,
                    .step_s = 300,
                    .window = 256,
                    .resend_ms = DP_SINK_RESEND_MS,
                    .wait_ms = 60000,
                    .wrong_d = -1};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--endpoint"))
            o->endpoint = v;
        else if (!strcmp(k, "--app-key"))
            o->app_key = v;
        else if (!strcmp(k, "--prefix"))
            o->prefix = v;
        else if (!strcmp(k, "--devices"))
            o->devices = atoi(v);
        else if (!strcmp(k, "--ports"))
            o->ports = atoi(v);
        else if (!strcmp(k, "--rounds"))
            o->rounds = atoi(v);
        else if (!strcmp(k, "--first-round"))
            o->first_round = atoi(v);
        else if (!strcmp(k, "--step"))
            o->step_s = atoi(v);
        else if (!strcmp(k, "--start-ts"))
            o->start_ts = atoll(v);
        else if (!strcmp(k, "--window"))
            o->window = atoi(v);
        else if (!strcmp(k, "--round-ms"))
            o->round_ms = atoi(v);
        else if (!strcmp(k, "--resend-ms"))
            o->resend_ms = atoi(v);
        else if (!strcmp(k, "--wait-ms"))
            o->wait_ms = atoi(v);
        else if (!strcmp(k, "--own-ds"))
            o->own_ds = atoi(v);
        else if (!strcmp(k, "--wrong")) {
            if (sscanf(v, "%d:%d:%d", &o->wrong_d, &o->wrong_p, &o->wrong_r) != 3)
                return -1;
        } else
            return -1;
    }
    if (!o->endpoint || o->devices < 1 || o->ports < 1 || o->rounds < 1 || o->step_s < 1 ||
        o->window < 1)
        return -1;
    if (o->start_ts == 0) /* aligned to the step, far enough in the past for every round */
        o->start_ts =
            (dp_time_wall_ms() / 1000 / o->step_s - o->first_round - o->rounds - 1) * o->step_s;
    return 0;
}

static char **s_strs(char ds[][S_DS_LEN], int n)
{
    char **v = calloc((size_t)n, sizeof *v);
    for (int k = 0; v && k < n; k++)
        v[k] = strdup(ds[k]);
    return v;
}

static dp_msg_t *s_build(const s_opts_t *o, char ds[][S_DS_LEN], int n_ds, int d, int r)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_METRICS);
    char host[64], path[128];
    snprintf(host, sizeof host, "%s%d", o->prefix, d);
    m->metrics.device_id = (uint64_t)d + 1;
    m->metrics.hostname = strdup(host);
    m->metrics.epoch = 1;
    m->metrics.job_id = (uint64_t)r * 1000000 + (uint64_t)d + 1;
    m->metrics.ts = o->start_ts + (int64_t)r * o->step_s;
    m->metrics.n_updates = (size_t)o->ports;
    m->metrics.updates = calloc((size_t)o->ports, sizeof(dp_msg_rrd_update_t));
    if (!o->own_ds) {
        m->metrics.n_dsets = 1;
        m->metrics.dsets = calloc(1, sizeof(dp_msg_dset_t));
        m->metrics.dsets[0].ds = s_strs(ds, n_ds);
        m->metrics.dsets[0].n_ds = (size_t)n_ds;
    }
    for (int p = 0; p < o->ports; p++) {
        dp_msg_rrd_update_t *u = &m->metrics.updates[p];
        bool wrong = d == o->wrong_d && p == o->wrong_p && r == o->wrong_r;
        int n = wrong ? n_ds - 1 : n_ds;
        snprintf(path, sizeof path, "%s/port-id%d.rrd", host, p);
        u->rrd = strdup(path);
        u->n_values = (size_t)n;
        u->values = calloc((size_t)n, sizeof(double));
        if (o->own_ds || wrong) {
            u->ds = s_strs(ds, n);
            u->n_ds = (size_t)n;
        } else {
            u->dset = 1;
        }
        for (int k = 0; k < n; k++)
            u->values[k] =
                1000000.0 * (d + 1) + (double)o->step_s * (p + 1) * (k + 1) * (r + (r + 1) / 2);
    }
    return m;
}

int main(int argc, char **argv)
{
    s_opts_t o;
    if (s_parse(argc, argv, &o) != 0) {
        s_usage();
        return 2;
    }
    dp_err_t err = {0};
    dp_zmq_keys_t keys;
    if (o.app_key && dp_zmq_keys_derive(o.app_key, &keys, &err) != 0) {
        fprintf(stderr, "metricsgen: %s\n", err.text);
        return 2;
    }
    int n_ds = rrdwriter_def_ds_count(RRDWRITER_DEF_PORT);
    char ds[DP_MSG_DS_MAX][S_DS_LEN];
    for (int k = 0; k < n_ds; k++)
        rrdwriter_def_ds_wire(RRDWRITER_DEF_PORT, k, o.step_s, ds[k], S_DS_LEN);
    zloop_t *loop = zloop_new();
    dp_sink_t *sink = dp_sink_new(loop, o.endpoint, o.app_key ? &keys : NULL, "metricsgen", &err);
    if (!sink) {
        fprintf(stderr, "metricsgen: %s\n", err.text);
        return 2;
    }
    dp_stats_t *stats = dp_stats_new();
    dp_sink_set_stats(sink, stats);
    dp_sink_set_resend_ms(sink, o.resend_ms);
    int64_t t0 = dp_time_mono_ms();
    long long updates = 0;
    for (int r = o.first_round; r < o.first_round + o.rounds; r++) {
        int64_t round_start = dp_time_mono_ms();
        for (int d = 0; d < o.devices; d++) {
            while (dp_sink_pending(sink) >= (size_t)o.window)
                dp_sink_poll(sink, 100);
            dp_msg_t *m = s_build(&o, ds, n_ds, d, r);
            if (dp_sink_send(sink, &m, &err) != 0) {
                fprintf(stderr, "metricsgen: send: %s\n", err.text);
                return 1;
            }
            updates += o.ports;
        }
        while (o.round_ms > 0 && dp_time_mono_ms() - round_start < o.round_ms)
            dp_sink_poll(sink, 50);
    }
    int rc = dp_sink_flush(sink, o.wait_ms);
    int64_t ms = dp_time_mono_ms() - t0;
    printf("sent=%llu acked=%llu pending=%zu resent=%llu updates=%lld elapsed_ms=%lld "
           "msgs_per_s=%lld start_ts=%lld\n",
           (unsigned long long)dp_stats_get(stats, "metrics_sent"),
           (unsigned long long)dp_stats_get(stats, "metrics_acked"), dp_sink_pending(sink),
           (unsigned long long)dp_stats_get(stats, "metrics_resent"), updates, (long long)ms,
           ms > 0 ? (long long)(dp_stats_get(stats, "metrics_sent") * 1000 / (uint64_t)ms) : 0,
           o.start_ts);
    dp_sink_destroy(&sink);
    dp_stats_destroy(&stats);
    zloop_destroy(&loop);
    if (o.app_key)
        dp_zmq_keys_wipe(&keys);
    return rc == 0 ? 0 : 1;
}
