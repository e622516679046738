/*  test_scheduler_plan.c - scheduler_plan (phases, slots, due/done, retries, groups) and
    scheduler_dispatch (credit, leases, expiry, dead workers) without sockets; plus a bench of
    one poll interval for 100,000 devices (printed with -v).
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_log.h"
#include "dp_msg.h"
#include "dp_stats.h"
#include "dp_time.h"
#include "../../scheduler/scheduler_dispatch.h"
#include "../../scheduler/scheduler_plan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_NOW     1700000000 /* a fixed wall second */
#define T_SENT    4096       /* jobs captured by the fake transport */
#define T_BENCH_N 100000

// ---------------------------------------------------------------------------- plan

DP_TEST(scheduler_plan_phase_stable_and_spread)
{
    enum { N = 10000, BUCKETS = 10 };
    int64_t interval = 300;
    int count[BUCKETS] = {0};
    for (uint64_t id = 1; id <= N; id++) {
        int64_t p = scheduler_plan_phase(id, interval);
        CHECK(p >= 0 && p < interval);
        CHECK_EQ_INT(p, scheduler_plan_phase(id, interval)); /* a pure function of id */
        count[p * BUCKETS / interval]++;
    }
    for (int b = 0; b < BUCKETS; b++) {
        if (dp_test_verbose())
            printf("    bucket %d: %d devices (mean %d)\n", b, count[b], N / BUCKETS);
        CHECK(count[b] <= 2 * N / BUCKETS);
        CHECK(count[b] >= N / BUCKETS / 2);
    }
    /* known values: a change here would move every device's phase on upgrade */
    CHECK_EQ_INT(scheduler_plan_phase(1, 300), scheduler_plan_phase(1, 300));
    CHECK(scheduler_plan_phase(1, 300) != scheduler_plan_phase(2, 300));
    CHECK_EQ_INT(scheduler_plan_phase(7, 1), 0);
}

DP_TEST(scheduler_plan_slot_math)
{
    CHECK_EQ_INT(scheduler_plan_slot(1000, 0, 300), 900);
    CHECK_EQ_INT(scheduler_plan_slot(1000, 100, 300), 1000);
    CHECK_EQ_INT(scheduler_plan_slot(1099, 100, 300), 1000);
    CHECK_EQ_INT(scheduler_plan_slot(999, 100, 300), 700);
    CHECK_EQ_INT(scheduler_plan_slot(5, 10, 300), -290); /* before the first phase */
    for (int64_t t = T_NOW; t < T_NOW + 700; t += 7) {
        int64_t s = scheduler_plan_slot(t, 123, 300);
        CHECK(s <= t && t - s < 300);
        CHECK_EQ_INT((s - 123) % 300, 0);
    }
}

//  Adds n devices (ids 1..n) in group, never done.
static scheduler_plan_t *s_plan(int n, int group, int64_t interval)
{
    scheduler_plan_t *p = scheduler_plan_new(DP_MSG_KIND_POLL, interval);
    scheduler_plan_begin_load(p);
    for (int i = 1; i <= n; i++)
        scheduler_plan_upsert(p, (uint64_t)i, "h", group, true, SCHEDULER_PLAN_NONE, T_NOW);
    scheduler_plan_end_load(p, T_NOW);
    return p;
}

DP_TEST(scheduler_plan_due_done_cycle)
{
    scheduler_plan_t *p = s_plan(3, 0, 60);
    int leased = 0;
    scheduler_target_t *t;
    int64_t prev_due = INT64_MIN;
    while ((t = scheduler_plan_next(p, 0))) { /* all due now, oldest slot first */
        CHECK(t->due_s >= prev_due);
        prev_due = t->due_s;
        int64_t cycle = scheduler_plan_lease(p, t, 100 + (uint64_t)leased, T_NOW);
        CHECK_EQ_INT(cycle, scheduler_plan_slot(T_NOW, t->phase_s, 60));
        CHECK_EQ_INT(t->attempt, 1);
        leased++;
    }
    CHECK_EQ_INT(leased, 3);
    for (int i = 0; i < 3; i++)
        scheduler_plan_done(p, scheduler_plan_at(p, i), T_NOW);
    CHECK(scheduler_plan_next(p, 0) == NULL);
    scheduler_plan_stats_t st;
    scheduler_plan_stats(p, T_NOW, 10, &st);
    CHECK_EQ_INT(st.devices, 3);
    CHECK_EQ_INT(st.done_cycle, 3);
    CHECK_EQ_INT(st.due + st.overdue, 0);
    /* each becomes due exactly at its next slot */
    for (int64_t now = T_NOW + 1; now <= T_NOW + 60; now++) {
        scheduler_plan_advance(p, now);
        while ((t = scheduler_plan_next(p, 0))) {
            CHECK_EQ_INT(scheduler_plan_slot(now, t->phase_s, 60), now);
            scheduler_plan_lease(p, t, 1, now);
            scheduler_plan_done(p, t, now);
            leased++;
        }
    }
    CHECK_EQ_INT(leased, 6);
    scheduler_plan_destroy(&p);
    CHECK(p == NULL);
}

DP_TEST(scheduler_plan_done_from_database)
{
    scheduler_plan_t *p = scheduler_plan_new(DP_MSG_KIND_POLL, 300);
    int64_t ph1 = scheduler_plan_phase(1, 300), ph2 = scheduler_plan_phase(2, 300);
    int64_t s1 = scheduler_plan_slot(T_NOW, ph1, 300), s2 = scheduler_plan_slot(T_NOW, ph2, 300);
    scheduler_plan_upsert(p, 1, "a", 0, true, s1 + 1, T_NOW); /* polled in this slot */
    scheduler_plan_upsert(p, 2, "b", 0, true, s2 - 1, T_NOW); /* polled in the slot before */
    scheduler_target_t *t = scheduler_plan_next(p, 0);
    CHECK(t && t->id == 2);
    CHECK_EQ_INT(t->due_s, s2);
    scheduler_plan_lease(p, t, 9, T_NOW);
    CHECK(scheduler_plan_next(p, 0) == NULL);
    /* a reload with an older last_polled never moves done back */
    scheduler_plan_upsert(p, 1, "a", 0, true, s1 - 1000, T_NOW);
    CHECK(scheduler_plan_next(p, 0) == NULL);
    /* a disabled device is not scheduled; re-enabled it is due again */
    scheduler_plan_upsert(p, 1, "a", 0, false, SCHEDULER_PLAN_NONE, T_NOW);
    CHECK_EQ_INT(scheduler_plan_find(p, 1)->state, SCHEDULER_TARGET_OFF);
    scheduler_plan_begin_load(p);
    scheduler_plan_upsert(p, 1, "a", 0, true, SCHEDULER_PLAN_NONE, T_NOW + 300);
    CHECK_EQ_INT(scheduler_plan_end_load(p, T_NOW + 300), 1); /* device 2 vanished */
    CHECK_EQ_INT(scheduler_plan_find(p, 1)->state, SCHEDULER_TARGET_READY);
    CHECK_EQ_INT(scheduler_plan_find(p, 2)->state, SCHEDULER_TARGET_LEASED); /* until settled */
    scheduler_plan_done(p, scheduler_plan_find(p, 2), T_NOW + 300);
    CHECK_EQ_INT(scheduler_plan_find(p, 2)->state, SCHEDULER_TARGET_OFF);
    scheduler_plan_destroy(&p);
}

DP_TEST(scheduler_plan_retry_keeps_cycle)
{
    scheduler_plan_t *p = s_plan(1, 0, 60);
    scheduler_target_t *t = scheduler_plan_next(p, 0);
    int64_t cycle = scheduler_plan_lease(p, t, 1, T_NOW);
    scheduler_plan_retry(p, t, 5, T_NOW);
    CHECK(scheduler_plan_next(p, 0) == NULL);
    scheduler_plan_advance(p, T_NOW + 4);
    CHECK(scheduler_plan_next(p, 0) == NULL);
    scheduler_plan_advance(p, T_NOW + 200); /* even past the next slot: same cycle */
    t = scheduler_plan_next(p, 0);
    CHECK(t != NULL);
    CHECK_EQ_INT(scheduler_plan_lease(p, t, 2, T_NOW + 200), cycle);
    CHECK_EQ_INT(t->attempt, 2);
    scheduler_plan_done(p, t, T_NOW + 200);
    t = scheduler_plan_next(p, 0); /* the missed slots are due at once, as one job */
    CHECK(t != NULL);
    CHECK_EQ_INT(t->due_s, cycle + 60);
    CHECK_EQ_INT(scheduler_plan_lease(p, t, 3, T_NOW + 200),
                 scheduler_plan_slot(T_NOW + 200, t->phase_s, 60));
    scheduler_plan_destroy(&p);
}

DP_TEST(scheduler_plan_groups_and_overdue)
{
    scheduler_plan_t *p = scheduler_plan_new(DP_MSG_KIND_POLL, 60);
    for (uint64_t id = 1; id <= 20; id++)
        scheduler_plan_upsert(p, id, "h", id <= 10 ? 0 : 2, true, SCHEDULER_PLAN_NONE, T_NOW);
    CHECK_EQ_INT(scheduler_plan_ngroups(p), 2);
    scheduler_target_t *t;
    while ((t = scheduler_plan_next(p, 0))) {
        CHECK_EQ_INT(t->group, 0);
        scheduler_plan_lease(p, t, 1, T_NOW);
        scheduler_plan_done(p, t, T_NOW);
    }
    scheduler_plan_stats_t st;
    scheduler_plan_stats(p, T_NOW + 61, 5, &st); /* group 2 waited at least 61 s */
    CHECK_EQ_INT(st.ngroups, 2);
    CHECK_EQ_INT(st.groups[1].group, 2);
    CHECK_EQ_INT(st.groups[1].due, 10);
    CHECK_EQ_INT(st.groups[1].overdue, 10);
    CHECK_EQ_INT(st.groups[0].overdue, 0);
    CHECK_EQ_INT(st.overdue, 10);
    /* interval change re-phases and keeps every target scheduled exactly once */
    scheduler_plan_set_interval(p, 30, T_NOW + 61);
    scheduler_plan_advance(p, T_NOW + 91);
    int n = 0;
    for (int g = 0; g < 2; g++)
        while ((t = scheduler_plan_next(p, g ? 2 : 0))) {
            scheduler_plan_lease(p, t, 1, T_NOW + 91);
            n++;
        }
    CHECK_EQ_INT(n, 20);
    scheduler_plan_destroy(&p);
}

// ---------------------------------------------------------------------------- dispatch

typedef struct {
    int n;                 /* jobs sent */
    uint64_t ids[T_SENT];  /* their job ids (ring) */
    uint64_t dev[T_SENT];  /* their device ids */
    int64_t cycle[T_SENT]; /* their cycles */
    int fail;              /* refuse sends when set */
    bool count_only;       /* bench: count, do not decode */
} s_wire_t;

static int s_fake_send(void *arg, const void *rid, size_t rid_len, const void *data, size_t size)
{
    (void)rid, (void)rid_len;
    s_wire_t *w = arg;
    if (w->fail)
        return -1;
    if (w->count_only) {
        w->n++;
        return 0;
    }
    dp_msg_t *m = dp_msg_decode(data, size, NULL);
    if (!m)
        return -1;
    w->ids[w->n % T_SENT] = m->job.job_id;
    w->dev[w->n % T_SENT] = m->job.device_id;
    w->cycle[w->n % T_SENT] = m->job.cycle_ts;
    w->n++;
    dp_msg_destroy(&m);
    return 0;
}

static void s_deliver(scheduler_dispatch_t *d, const char *rid, dp_msg_t *m, int64_t now_ms,
                      int64_t now_s)
{
    m->msg_id = 1;
    m->sender_node = strdup("w");
    char *data = NULL;
    size_t size = 0;
    if (dp_msg_encode(m, &data, &size, NULL) == 0)
        scheduler_dispatch_on_message(d, rid, strlen(rid), data, size, now_ms, now_s);
    free(data);
    dp_msg_destroy(&m);
}

static void s_credit(scheduler_dispatch_t *d, const char *rid, int credit, int slots, int group,
                     int64_t now_ms)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_CREDIT);
    m->credit.node = strdup(rid);
    m->credit.stage = strdup("poller");
    m->credit.credit = credit;
    m->credit.slots = slots;
    m->credit.groups = malloc(sizeof(int));
    m->credit.groups[0] = group;
    m->credit.n_groups = 1;
    s_deliver(d, rid, m, now_ms, T_NOW);
}

static void s_result(scheduler_dispatch_t *d, const char *rid, uint64_t job_id, uint64_t dev,
                     const char *reason, int64_t now_ms, int64_t now_s)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_RESULT);
    m->result = (dp_msg_result_t){.job_id = job_id,
                                  .device_id = dev,
                                  .epoch = 1,
                                  .kind = DP_MSG_KIND_POLL,
                                  .status = reason ? DP_MSG_STATUS_ERROR : DP_MSG_STATUS_OK,
                                  .reason = reason ? strdup(reason) : NULL,
                                  .took_ms = 5,
                                  .node = strdup(rid)};
    s_deliver(d, rid, m, now_ms, now_s);
}

DP_TEST(scheduler_dispatch_credit_bounds_jobs)
{
    dp_log_set_level(DP_LOG_WARN);
    dp_stats_t *st = dp_stats_new();
    s_wire_t wire = {0};
    scheduler_plan_t *p = s_plan(10, 0, 60);
    scheduler_dispatch_t *d = scheduler_dispatch_new("s1", st, s_fake_send, &wire);
    scheduler_dispatch_set_plan(d, DP_MSG_KIND_POLL, p);
    scheduler_dispatch_set_job_timeout(d, 4000);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 0, T_NOW), 0); /* no worker yet */
    s_credit(d, "wa", 3, 3, 0, 0);
    s_credit(d, "wb", 2, 2, 1, 0); /* serves another group */
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 0, T_NOW), 3);
    /* a stale CREDIT that crossed the jobs on the wire does not bury the worker */
    s_credit(d, "wa", 3, 3, 0, 10);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 10, T_NOW), 0);
    CHECK_EQ_INT(scheduler_dispatch_leases(d, DP_MSG_KIND_POLL), 3);
    /* results free slots; the next CREDIT lets more through */
    s_result(d, "wa", wire.ids[0], wire.dev[0], NULL, 20, T_NOW);
    s_result(d, "wa", wire.ids[1], wire.dev[1], "busy", 20, T_NOW);
    s_result(d, "wa", wire.ids[2], wire.dev[2], "paused", 20, T_NOW); /* turned away untried */
    CHECK_EQ_INT(dp_stats_get(st, "jobs_done"), 1);
    CHECK_EQ_INT(dp_stats_get(st, "jobs_busy"), 1);
    CHECK_EQ_INT(dp_stats_get(st, "jobs_refused"), 1);
    CHECK_EQ_INT(dp_stats_get(st, "jobs_failed"), 0);
    CHECK_EQ_INT(scheduler_dispatch_leases(d, DP_MSG_KIND_POLL), 0);
    s_credit(d, "wa", 2, 3, 0, 30);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 30, T_NOW), 2);
    CHECK((wire.ids[3] >> 32) == 1);              /* job ids carry the epoch */
    s_result(d, "wa", 12345, 1, NULL, 40, T_NOW); /* unknown job */
    CHECK_EQ_INT(dp_stats_get(st, "results_late"), 1);
    char *text = scheduler_dispatch_workers_text(d, 1000);
    CHECK(strstr(text, "node=wa stage=poller groups=0 credit=0 slots=3") != NULL);
    CHECK(strstr(text, "node=wb stage=poller groups=1 credit=2") != NULL);
    free(text);
    scheduler_dispatch_destroy(&d);
    scheduler_plan_destroy(&p);
    dp_stats_destroy(&st);
    dp_log_set_level(DP_LOG_INFO);
}

DP_TEST(scheduler_dispatch_lease_expiry_and_dead_worker)
{
    dp_log_set_level(DP_LOG_WARN);
    dp_stats_t *st = dp_stats_new();
    s_wire_t wire = {0};
    scheduler_plan_t *p = s_plan(4, 0, 600);
    scheduler_dispatch_t *d = scheduler_dispatch_new("s1", st, s_fake_send, &wire);
    scheduler_dispatch_set_plan(d, DP_MSG_KIND_POLL, p);
    scheduler_dispatch_set_job_timeout(d, 4000);
    s_credit(d, "wa", 2, 2, 0, 0);
    s_credit(d, "wb", 2, 2, 0, 0);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 0, T_NOW), 4);
    /* wa falls silent; wb keeps reporting but never answers job 0 or 1 */
    for (int64_t ms = 1000; ms <= 3000; ms += 1000)
        s_credit(d, "wb", 0, 2, 0, ms);
    CHECK_EQ_INT(scheduler_dispatch_expire(d, 3400, T_NOW + 3), 0);
    CHECK_EQ_INT(scheduler_dispatch_expire(d, 3600, T_NOW + 3), 2); /* wa dead: 2 re-queued */
    CHECK_EQ_INT(scheduler_dispatch_workers(d), 1);
    CHECK_EQ_INT(dp_stats_get(st, "jobs_reissued"), 2);
    s_credit(d, "wb", 0, 2, 0, 3900);
    CHECK_EQ_INT(scheduler_dispatch_expire(d, 3999, T_NOW + 3), 0);
    CHECK_EQ_INT(scheduler_dispatch_expire(d, 4000, T_NOW + 4), 2); /* wb's leases expire */
    CHECK_EQ_INT(dp_stats_get(st, "jobs_expired"), 2);
    CHECK_EQ_INT(scheduler_dispatch_leases(d, 0), 0);
    /* re-issued for the same cycles, attempt 2, once a worker has credit */
    s_credit(d, "wb", 2, 2, 0, 4100);
    s_credit(d, "wc", 2, 2, 0, 4100);
    CHECK_EQ_INT(scheduler_dispatch_run(d, 1, 4100, T_NOW + 4), 4);
    for (int i = 4; i < 8; i++) {
        scheduler_target_t *t = scheduler_plan_find(p, wire.dev[i]);
        CHECK(t && t->attempt == 2);
        bool same = false;
        for (int j = 0; j < 4; j++)
            same |= wire.dev[j] == wire.dev[i] && wire.cycle[j] == wire.cycle[i];
        CHECK(same);
    }
    /* a late RESULT for an expired job is counted and ignored */
    s_result(d, "wb", wire.ids[0], wire.dev[0], NULL, 4200, T_NOW + 4);
    CHECK_EQ_INT(dp_stats_get(st, "results_late"), 1);
    /* losing leadership forgets every lease */
    scheduler_dispatch_drop_leases(d, T_NOW + 5);
    CHECK_EQ_INT(scheduler_dispatch_leases(d, 0), 0);
    CHECK_EQ_INT(scheduler_plan_find(p, wire.dev[4])->attempt, 0);
    scheduler_dispatch_destroy(&d);
    scheduler_plan_destroy(&p);
    dp_stats_destroy(&st);
    dp_log_set_level(DP_LOG_INFO);
}

// ---------------------------------------------------------------------------- bench

static double s_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

//  One 300 s interval of 100k devices at 10 ticks/s; 20 workers answer every job at once.
DP_TEST(scheduler_plan_bench_100k)
{
    dp_stats_t *st = dp_stats_new();
    s_wire_t wire = {.count_only = true};
    dp_log_set_level(DP_LOG_WARN);
    double t0 = s_cpu_ms();
    scheduler_plan_t *p = scheduler_plan_new(DP_MSG_KIND_POLL, 300);
    scheduler_plan_begin_load(p);
    for (int i = 1; i <= T_BENCH_N; i++)
        scheduler_plan_upsert(
            p, (uint64_t)i, "device.example.net", i % 4, true,
            scheduler_plan_slot(T_NOW, scheduler_plan_phase((uint64_t)i, 300), 300), T_NOW);
    scheduler_plan_end_load(p, T_NOW);
    double t_load = s_cpu_ms() - t0;
    t0 = s_cpu_ms();
    scheduler_plan_begin_load(p); /* a reload that changes nothing */
    for (int i = 1; i <= T_BENCH_N; i++)
        scheduler_plan_upsert(p, (uint64_t)i, "device.example.net", i % 4, true,
                              SCHEDULER_PLAN_NONE, T_NOW);
    scheduler_plan_end_load(p, T_NOW);
    double t_reload = s_cpu_ms() - t0;
    scheduler_dispatch_t *d = scheduler_dispatch_new("s1", st, s_fake_send, &wire);
    scheduler_dispatch_set_plan(d, DP_MSG_KIND_POLL, p);
    char rid[16];
    double t_tick = 0, t_msgs = 0;
    int64_t jobs = 0;
    for (int tick = 0; tick < 3010; tick++) { /* 301 s: every slot starts */
        int64_t now_ms = 1000 + tick * 100, now_s = T_NOW + tick / 10;
        double a = s_cpu_ms();
        for (int w = 0; w < 20; w++) {
            snprintf(rid, sizeof rid, "w%d", w);
            dp_msg_t *m = dp_msg_new(DP_MSG_CREDIT);
            m->credit.node = strdup(rid);
            m->credit.stage = strdup("poller");
            m->credit.credit = 50;
            m->credit.groups = calloc(4, sizeof(int));
            for (int g = 0; g < 4; g++)
                m->credit.groups[g] = g;
            m->credit.n_groups = 4;
            s_deliver(d, rid, m, now_ms, now_s);
        }
        int first = wire.n;
        double b = s_cpu_ms();
        int sent = scheduler_dispatch_run(d, 1, now_ms, now_s);
        scheduler_dispatch_expire(d, now_ms, now_s);
        double c = s_cpu_ms();
        for (int i = first; i < first + sent; i++) /* job ids are epoch << 32 | 1, 2, ... */
            s_result(d, "w0", (uint64_t)1 << 32 | (uint64_t)(i + 1), 0, NULL, now_ms, now_s);
        t_msgs += (b - a) + (s_cpu_ms() - c);
        t_tick += c - b;
        jobs += sent;
    }
    t0 = s_cpu_ms();
    scheduler_plan_stats_t ps;
    scheduler_plan_stats(p, T_NOW + 300, 60, &ps);
    double t_stats = s_cpu_ms() - t0;
    if (dp_test_verbose())
        printf("    100k devices: load %.1f ms, unchanged reload %.1f ms; one 300 s interval: "
               "%lld jobs, dispatch+expire %.1f ms CPU over 3010 ticks (%.3f ms/tick), "
               "CREDIT/RESULT encode+decode %.1f ms; stats pass %.2f ms; heap entries %zu\n",
               t_load, t_reload, (long long)jobs, t_tick, t_tick / 3010, t_msgs, t_stats,
               scheduler_plan_heap_entries(p));
    CHECK_EQ_INT(jobs, T_BENCH_N); /* each device exactly once in the interval */
    CHECK_EQ_INT(ps.done_cycle, T_BENCH_N);
    CHECK(scheduler_plan_heap_entries(p) <= 3 * T_BENCH_N);
    scheduler_dispatch_destroy(&d);
    scheduler_plan_destroy(&p);
    dp_stats_destroy(&st);
    dp_log_set_level(DP_LOG_INFO);
}
