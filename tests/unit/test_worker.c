/*  test_worker.c - dp_worker: pipe commands as a worker thread reads them, engine counters
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_worker.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

static void s_pair(zsock_t **main_end, zsock_t **worker_end)
{
    static int n;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-worker-%d", n++);
    char bind[70];
    snprintf(bind, sizeof bind, "@%s", ep);
    *worker_end = zsock_new_pair(bind);
    char conn[70];
    snprintf(conn, sizeof conn, ">%s", ep);
    *main_end = zsock_new_pair(conn);
}

DP_TEST(worker_recv_job_cfg_other_term)
{
    zsock_t *m = NULL, *w = NULL;
    s_pair(&m, &w);
    CHECK(m && w);
    dp_msg_t *job = dp_msg_new(DP_MSG_JOB);
    job->job.device_id = 42;
    zsock_send(m, "sp", "JOB", job);
    zsock_send(m, "siii", "CFG", 1500, 3, 0);
    zsock_send(m, "ss", "POLL", "router1");
    zsock_send(m, "s", "CFG"); /* malformed: no values */
    zsock_send(m, "s", "$TERM");

    dp_worker_in_t in;
    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_JOB);
    CHECK(in.job == job);
    CHECK_EQ_INT(in.job->job.device_id, 42);
    dp_msg_destroy(&in.job);

    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_CFG);
    CHECK_EQ_INT(in.snmp_timeout_ms, 1500);
    CHECK_EQ_INT(in.snmp_retries, 3);
    CHECK_EQ_INT(in.concurrency, 1); /* 0 means at least one */

    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_OTHER);
    CHECK_EQ_STR(in.name, "POLL");
    char *what = zmsg_popstr(in.rest);
    CHECK_EQ_STR(what, "router1");
    free(what);
    free(in.name);
    zmsg_destroy(&in.rest);

    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_NONE);

    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_TERM);
    zsock_destroy(&m);
    zsock_destroy(&w);
}

DP_TEST(worker_publish_adds_the_difference_and_skips_null_counters)
{
    dp_snmp_t *snmp = dp_snmp_new(1);
    CHECK(snmp != NULL);
    dp_counter_t requests = 5, timeouts = 7;
    dp_worker_snmp_counters_t c = {.requests = &requests, .timeouts = &timeouts}; /* rest NULL */
    dp_snmp_stats_t published = *dp_snmp_stats(snmp);
    dp_worker_publish_snmp(snmp, &published, &c); /* nothing new: unchanged */
    CHECK_EQ_INT(requests, 5);
    CHECK_EQ_INT(timeouts, 7);
    published.timeouts -= 2; /* two timeouts counted by the engine, not published yet */
    published.toobig -= 4;   /* no counter for these: not fed, no crash */
    dp_worker_publish_snmp(snmp, &published, &c);
    CHECK_EQ_INT(timeouts, 9);
    CHECK_EQ_INT(requests, 5);
    CHECK(published.timeouts == dp_snmp_stats(snmp)->timeouts);
    CHECK(published.toobig == dp_snmp_stats(snmp)->toobig);
    dp_snmp_destroy(&snmp);
}
