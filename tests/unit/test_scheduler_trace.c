/*  test_scheduler_trace.c - job trace batches (dp_trace_batch: merging, bounds, failure
    counting without Redis) and the dispatcher's stamps: a begin per poll/discover JOB sent,
    result_ms per RESULT, none for bill jobs. The Redis side (scripts, order) is covered by
    tests/integration/test_cli_trace.sh and test_inspect_live.sh.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_log.h"
#include "dp_msg.h"
#include "dp_stats.h"
#include "dp_trace.h"
#include "../../scheduler/scheduler_dispatch.h"
#include "../../scheduler/scheduler_plan.h"

#include <stdlib.h>
#include <string.h>

#define T_NOW 1700000000 /* a fixed wall second */

DP_TEST(trace_batch_merges_stamps_of_one_job)
{
    dp_trace_batch_t *b = dp_trace_batch_new();
    CHECK_EQ_INT(dp_trace_batch_pending(b), 0);
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 5, "taken_by", "%s", "w1"), 0);
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 5, "taken_ms", "%d", 12), 0);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 1); /* same trace and job: merged */
    CHECK_EQ_INT(dp_trace_batch_begin(b, 1, 5, "poll", 3, "s1", 0), 0);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 1); /* 6 fields */
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 5, "status", "ok"), 0);
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 5, "polled_ms", "1"), 0);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 1); /* DP_TRACE_BATCH_PAIRS = 8 */
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 5, "reason", "x"), 0);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 2); /* full: a new stamp */
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 6, "reason", "x"), 0);
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 2, 6, "reason", "x"), 0);
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 2, 0, "result_ms", "7"), 0); /* any job */
    CHECK_EQ_INT(dp_trace_batch_pending(b), 5);
    dp_trace_batch_destroy(&b);
    CHECK(b == NULL);
    dp_trace_batch_destroy(&b);
}

DP_TEST(trace_batch_is_bounded_and_counts_what_it_drops)
{
    dp_trace_batch_t *b = dp_trace_batch_new();
    uint64_t f0 = dp_trace_failures();
    for (uint64_t i = 1; i <= DP_TRACE_BATCH_MAX; i++)
        CHECK_EQ_INT(dp_trace_batch_mark_job(b, i, i, "taken_by", "w"), 0);
    CHECK_EQ_INT(dp_trace_batch_mark_job(b, 1, 0, "taken_by", "w"), -1);
    CHECK_EQ_INT(dp_trace_batch_begin(b, 1, 9, "poll", 1, "s", 0), -1);
    CHECK_EQ_INT(dp_trace_failures() - f0, 2);
    CHECK_EQ_INT(dp_trace_batch_pending(b), DP_TRACE_BATCH_MAX);
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_trace_batch_flush(b, NULL, &err), -1); /* no Redis: all dropped, counted */
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_EQ_INT(dp_trace_failures() - f0, 2 + DP_TRACE_BATCH_MAX);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 0);
    CHECK_EQ_INT(dp_trace_batch_flush(b, NULL, NULL), 0); /* empty: nothing to do */
    dp_trace_batch_destroy(&b);
}

// ---------------------------------------------------------------------------- dispatch

typedef struct {
    int n;            /* jobs sent */
    uint64_t ids[16]; /* their job ids */
} s_wire_t;

static int s_send(void *arg, const void *rid, size_t rid_len, const void *data, size_t size)
{
    (void)rid, (void)rid_len;
    s_wire_t *w = arg;
    dp_msg_t *m = dp_msg_decode(data, size, NULL);
    if (!m)
        return -1;
    if (w->n < 16)
        w->ids[w->n] = m->job.job_id;
    w->n++;
    dp_msg_destroy(&m);
    return 0;
}

static void s_deliver(scheduler_dispatch_t *d, const char *rid, dp_msg_t *m)
{
    m->msg_id = 1;
    m->sender_node = strdup("w");
    char *data = NULL;
    size_t size = 0;
    if (dp_msg_encode(m, &data, &size, NULL) == 0)
        scheduler_dispatch_on_message(d, rid, strlen(rid), data, size, 0, T_NOW);
    free(data);
    dp_msg_destroy(&m);
}

static void s_credit(scheduler_dispatch_t *d, const char *rid, const char *stage, int credit)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_CREDIT);
    m->credit.node = strdup(rid);
    m->credit.stage = strdup(stage);
    m->credit.credit = credit;
    m->credit.slots = credit;
    m->credit.groups = calloc(1, sizeof(int));
    m->credit.n_groups = 1;
    s_deliver(d, rid, m);
}

static scheduler_plan_t *s_plan(dp_msg_kind_t kind, int n)
{
    scheduler_plan_t *p = scheduler_plan_new(kind, 60);
    scheduler_plan_begin_load(p);
    for (int i = 1; i <= n; i++)
        scheduler_plan_upsert(p, (uint64_t)i, "h", 0, true, SCHEDULER_PLAN_NONE, T_NOW);
    scheduler_plan_end_load(p, T_NOW);
    return p;
}

DP_TEST(scheduler_dispatch_stamps_traces_of_device_jobs)
{
    dp_log_set_level(DP_LOG_WARN);
    dp_stats_t *st = dp_stats_new();
    s_wire_t wire = {0};
    scheduler_plan_t *poll = s_plan(DP_MSG_KIND_POLL, 3), *bill = s_plan(DP_MSG_KIND_BILL, 2);
    scheduler_dispatch_t *d = scheduler_dispatch_new("s1", st, s_send, &wire);
    scheduler_dispatch_set_plan(d, DP_MSG_KIND_POLL, poll);
    scheduler_dispatch_set_plan(d, DP_MSG_KIND_BILL, bill);
    dp_trace_batch_t *b = dp_trace_batch_new();
    scheduler_dispatch_set_trace(d, b);
    s_credit(d, "wb", "biller", 4);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 0, T_NOW), 2);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 0); /* bill jobs have no device: no trace */
    s_credit(d, "wp", "poller", 4);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 0, T_NOW), 3);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 3); /* a begin per device */
    dp_msg_t *m = dp_msg_new(DP_MSG_RESULT);
    m->result = (dp_msg_result_t){.job_id = wire.ids[2],
                                  .device_id = 1,
                                  .epoch = 1,
                                  .kind = DP_MSG_KIND_POLL,
                                  .status = DP_MSG_STATUS_OK,
                                  .node = strdup("wp")};
    s_deliver(d, "wp", m);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 4); /* result_ms */
    CHECK_EQ_INT(dp_stats_get(st, "jobs_done"), 1);
    scheduler_dispatch_set_trace(d, NULL);
    s_credit(d, "wp", "poller", 4);
    scheduler_dispatch_run(d, 1, 0, T_NOW + 60);
    CHECK_EQ_INT(dp_trace_batch_pending(b), 4); /* off: nothing more */
    scheduler_dispatch_destroy(&d);
    dp_trace_batch_destroy(&b);
    scheduler_plan_destroy(&poll);
    scheduler_plan_destroy(&bill);
    dp_stats_destroy(&st);
    dp_log_set_level(DP_LOG_INFO);
}
