/*  test_scheduler_force.c - scheduler_plan_force: work on demand (`distpoll device rediscover`)
    for a target already done in its slot, with a cycle past any done claim.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../scheduler/scheduler_plan.h"

#define T_NOW 1700000000 /* a fixed wall second */

//  One discover target (id 7, interval 6 h), leased and done in its current slot.
static scheduler_plan_t *s_done_plan(scheduler_target_t **out, int64_t *slot)
{
    scheduler_plan_t *p = scheduler_plan_new(DP_MSG_KIND_DISCOVER, 6 * 3600);
    scheduler_plan_upsert(p, 7, "sw7", 0, true, SCHEDULER_PLAN_NONE, T_NOW);
    scheduler_target_t *t = scheduler_plan_next(p, 0);
    *slot = scheduler_plan_lease(p, t, 100, T_NOW);
    scheduler_plan_done(p, t, T_NOW + 1);
    *out = t;
    return p;
}

DP_TEST(scheduler_force_done_target_is_due_now)
{
    scheduler_target_t *t;
    int64_t slot;
    scheduler_plan_t *p = s_done_plan(&t, &slot);
    CHECK(scheduler_plan_next(p, 0) == NULL); /* done for its slot: waits */
    CHECK_EQ_INT(t->done_s, slot);
    /* a reload that still sees last_discovered = NULL forces it */
    scheduler_plan_upsert(p, 7, "sw7", 0, true, SCHEDULER_PLAN_NONE, T_NOW + 10);
    CHECK(scheduler_plan_force(p, 7, T_NOW + 10));
    CHECK(scheduler_plan_next(p, 0) == t);
    CHECK(!scheduler_plan_force(p, 7, T_NOW + 11)); /* already forced: not again */
    int64_t cycle = scheduler_plan_cycle(p, t, T_NOW + 12);
    CHECK(cycle > slot);             /* beyond the done claim of the slot */
    CHECK_EQ_INT(cycle, T_NOW + 10); /* the time of the request */
    CHECK_EQ_INT(scheduler_plan_lease(p, t, 101, T_NOW + 12), cycle);
    CHECK(!scheduler_plan_force(p, 7, T_NOW + 13)); /* leased: its job is under way */
    scheduler_plan_done(p, t, T_NOW + 14);
    CHECK_EQ_INT(t->done_s, cycle);
    CHECK_EQ_INT(t->force_s, 0);
    CHECK(scheduler_plan_next(p, 0) == NULL); /* waits for its next slot again */
    /* the discoverer wrote last_discovered: nothing more to force */
    scheduler_plan_upsert(p, 7, "sw7", 0, true, T_NOW + 12, T_NOW + 20);
    CHECK(scheduler_plan_next(p, 0) == NULL);
    scheduler_plan_destroy(&p);
}

DP_TEST(scheduler_force_noops)
{
    scheduler_plan_t *p = scheduler_plan_new(DP_MSG_KIND_DISCOVER, 3600);
    CHECK(!scheduler_plan_force(p, 1, T_NOW)); /* unknown */
    scheduler_plan_upsert(p, 1, "a", 0, true, SCHEDULER_PLAN_NONE, T_NOW);
    CHECK(!scheduler_plan_force(p, 1, T_NOW)); /* never done: due anyway */
    scheduler_plan_upsert(p, 2, "b", 0, false, T_NOW - 10, T_NOW);
    CHECK(!scheduler_plan_force(p, 2, T_NOW)); /* disabled */
    scheduler_target_t *t = scheduler_plan_find(p, 1);
    CHECK_EQ_INT(scheduler_plan_cycle(p, t, T_NOW),
                 scheduler_plan_slot(T_NOW, t->phase_s, 3600)); /* not forced: the slot */
    scheduler_plan_destroy(&p);
}

DP_TEST(scheduler_force_survives_lost_leadership_and_new_slot)
{
    scheduler_target_t *t;
    int64_t slot;
    scheduler_plan_t *p = s_done_plan(&t, &slot);
    CHECK(scheduler_plan_force(p, 7, T_NOW + 5));
    scheduler_plan_reset_leases(p, T_NOW + 6);
    CHECK(scheduler_plan_next(p, 0) == t);
    CHECK_EQ_INT(scheduler_plan_cycle(p, t, T_NOW + 6), T_NOW + 5);
    /* once a newer slot starts, the regular cycle is later than the request */
    int64_t later = slot + 6 * 3600;
    CHECK_EQ_INT(scheduler_plan_cycle(p, t, later + 1), later);
    scheduler_plan_destroy(&p);
}
