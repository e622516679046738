/*  test_worker.c - dp_worker: pipe commands as a worker thread reads them, engine counters
    SPDX-License-Identifier: MIT */
#include "dp_jobs.h"
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

DP_TEST(worker_recv_jobs_batch)
{
    zsock_t *m = NULL, *w = NULL;
    s_pair(&m, &w);
    CHECK(m && w);
    dp_msg_t *jobs[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = dp_msg_new(DP_MSG_JOB);
        jobs[i]->job.device_id = (uint64_t)(10 + i);
    }
    CHECK_EQ_INT(dp_worker_send_jobs(m, jobs, 3), 0);
    CHECK_EQ_INT(dp_worker_send_jobs(m, jobs, 0), -1); /* nothing to send */
    zsock_send(m, "sb", "JOBS", "abc", (size_t)3);     /* malformed: not pointers */

    dp_worker_in_t in;
    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_JOBS);
    CHECK_EQ_INT(in.njobs, 3);
    for (int i = 0; i < in.njobs; i++) {
        CHECK(in.jobs[i] == jobs[i]);
        CHECK_EQ_INT(in.jobs[i]->job.device_id, 10 + i);
        dp_msg_destroy(&in.jobs[i]);
    }
    free(in.jobs);

    dp_worker_recv(w, &in);
    CHECK_EQ_INT(in.cmd, DP_WORKER_NONE);
    CHECK(in.jobs == NULL);
    zsock_destroy(&m);
    zsock_destroy(&w);
}

//  dp_jobs with an intake period, against a ROUTER playing the scheduler.
typedef struct {
    dp_jobs_t *jobs;
    dp_msg_t *got[8];
    int ngot, bursts, ngot_at_burst;
} s_intake_t;

static void s_intake_job(dp_jobs_t *j, dp_msg_t *job, void *arg)
{
    (void)j;
    s_intake_t *t = arg;
    if (t->ngot < 8)
        t->got[t->ngot++] = job;
    else
        dp_msg_destroy(&job);
}

static void s_intake_burst(dp_jobs_t *j, void *arg)
{
    (void)j;
    s_intake_t *t = arg;
    t->bursts++;
    t->ngot_at_burst = t->ngot;
}

static int s_stop_when_got(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    s_intake_t *t = arg;
    return t->bursts > 0 ? -1 : 0;
}

//  Next message on router (its sender in *peer when wanted); NULL after timeout_ms.
static dp_msg_t *s_router_recv(zsock_t *router, int timeout_ms, zframe_t **peer)
{
    zmsg_t *msg = dp_zmq_recv_msg(router, timeout_ms, NULL);
    if (!msg)
        return NULL;
    zframe_t *id = zmsg_pop(msg), *body = zmsg_pop(msg);
    dp_msg_t *m = body ? dp_msg_decode(zframe_data(body), zframe_size(body), NULL) : NULL;
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    if (peer)
        *peer = id;
    else
        zframe_destroy(&id);
    return m;
}

DP_TEST(jobs_intake_hands_over_a_tick_of_jobs_and_one_credit)
{
    zsock_t *router = zsock_new_router("@inproc://test-jobs-intake");
    CHECK(router != NULL);
    dp_cfg_t *cfg = dp_cfg_new();
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_cfg_set(cfg, "NODE_ID", "w1", &err), 0);
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_SCHEDULERS", "inproc://test-jobs-intake", &err), 0);
    zloop_t *loop = zloop_new();
    s_intake_t t = {0};
    t.jobs = dp_jobs_new(loop, cfg, NULL, "poller", 10, &err);
    CHECK(t.jobs != NULL);
    dp_jobs_on_job(t.jobs, s_intake_job, &t);
    dp_jobs_on_burst(t.jobs, s_intake_burst, &t);
    dp_jobs_set_intake(t.jobs, 20);
    zframe_t *peer = NULL;
    dp_msg_t *credit = s_router_recv(router, 2000, &peer); /* dp_jobs_new announces itself */
    CHECK(credit && peer && credit->type == DP_MSG_CREDIT);
    CHECK_EQ_INT(credit->credit.credit, 10);
    dp_msg_destroy(&credit);
    for (int i = 0; i < 5; i++) { /* all waiting before the loop runs: one tick takes them */
        dp_msg_t *job = dp_msg_new(DP_MSG_JOB);
        job->msg_id = (uint64_t)i + 1;
        job->created_ms = 1;
        job->sender_node = strdup("sched");
        job->job = (dp_msg_job_t){.job_id = 100 + (uint64_t)i,
                                  .device_id = 7 + (uint64_t)i,
                                  .epoch = 1,
                                  .kind = DP_MSG_KIND_POLL,
                                  .cycle_ts = 300,
                                  .deadline_ms = 2,
                                  .attempt = 1,
                                  .hostname = strdup("h")};
        char *data = NULL;
        size_t size = 0;
        CHECK_EQ_INT(dp_msg_encode(job, &data, &size, &err), 0);
        CHECK(data != NULL);
        zframe_t *id = zframe_dup(peer);
        zframe_send(&id, router, ZFRAME_MORE);
        zsock_send(router, "b", data, size);
        free(data);
        dp_msg_destroy(&job);
    }
    zclock_sleep(50); /* let the frames reach the DEALER: not a timing assertion */
    zloop_timer(loop, 5, 0, s_stop_when_got, &t);
    zloop_start(loop);
    CHECK_EQ_INT(t.ngot, 5);
    CHECK_EQ_INT(t.bursts, 1);
    CHECK_EQ_INT(t.ngot_at_burst, 5);
    CHECK_EQ_INT(dp_jobs_inflight(t.jobs), 5);
    for (int i = 0; i < t.ngot; i++) {
        CHECK_EQ_INT(dp_jobs_finish(t.jobs, t.got[i]->job.job_id, DP_MSG_STATUS_OK, NULL, 3), 0);
        dp_msg_destroy(&t.got[i]);
    }
    /* the RESULTs go at once, the CREDIT waits for a tick: none follows the first RESULT yet
       (a heartbeat CREDIT from the loop's run comes before them: the pipe keeps the order) */
    int results = 0, credits_after = 0;
    for (dp_msg_t *m; (m = s_router_recv(router, 200, NULL)); dp_msg_destroy(&m)) {
        if (m->type == DP_MSG_RESULT)
            CHECK_EQ_INT(m->result.job_id, 100 + (uint64_t)results++);
        else if (m->type == DP_MSG_CREDIT && results > 0)
            credits_after++;
    }
    CHECK_EQ_INT(results, 5);
    CHECK_EQ_INT(credits_after, 0);
    zloop_timer(loop, 60, 1, s_stop_when_got, &t); /* ends the loop after a few ticks */
    zloop_start(loop);
    int credit_now = -1;
    for (dp_msg_t *m; credit_now != 10 && (m = s_router_recv(router, 2000, NULL));
         dp_msg_destroy(&m))
        if (m->type == DP_MSG_CREDIT)
            credit_now = m->credit.credit;
    CHECK_EQ_INT(credit_now, 10); /* the five slots are announced free on a tick */
    dp_jobs_destroy(&t.jobs);
    zloop_destroy(&loop);
    zframe_destroy(&peer);
    dp_cfg_destroy(&cfg);
    zsock_destroy(&router);
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
