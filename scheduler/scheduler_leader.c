/*  scheduler_leader.c - leader election: Redis lease for liveness, MariaDB epoch for safety
    SPDX-License-Identifier: MIT */
#include "scheduler_leader.h"
#include "dp_log.h"
#include "dp_settings.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct scheduler_leader {
    dp_redis_t *redis;     /* borrowed */
    dp_db_t *db;           /* borrowed; for the epoch */
    dp_lock_t *lock;       /* the lease */
    char *node;            /* NODE_ID */
    int ttl_ms;            /* lease length */
    bool held;             /* we believe we lead */
    uint64_t epoch;        /* fencing epoch of this leadership */
    int64_t last_renew_ms; /* monotonic, last renew attempt */
    int64_t next_try_ms;   /* monotonic, next acquire attempt */
    bool redis_down;       /* for logging state changes once */
};

static void s_redis_state(scheduler_leader_t *l, bool down, const dp_err_t *err)
{
    if (down == l->redis_down)
        return;
    l->redis_down = down;
    if (down)
        dp_log_warn("redis unavailable", "err=%s detail=\"%s\"", dp_err_name(err->code), err->text);
    else
        dp_log_notice("redis available", "addr=%s", dp_redis_master_addr(l->redis));
}

static scheduler_leader_event_t s_lose(scheduler_leader_t *l, const char *why)
{
    l->held = false;
    dp_log_warn("leadership lost", "epoch=%" PRIu64 " why=\"%s\"", l->epoch, why);
    return SCHEDULER_LEADER_LOST;
}

static scheduler_leader_event_t s_renew(scheduler_leader_t *l, int64_t now_ms)
{
    if (!dp_lock_is_valid(l->lock))
        return s_lose(l, "lease ran out without renewal");
    if (now_ms - l->last_renew_ms < l->ttl_ms / 4)
        return SCHEDULER_LEADER_SAME;
    l->last_renew_ms = now_ms;
    dp_err_t err = {0};
    if (dp_lock_renew(l->lock, &err) == 0) {
        s_redis_state(l, false, &err);
        return SCHEDULER_LEADER_SAME;
    }
    if (err.code == DP_ERR_BUSY)
        return s_lose(l, err.text);
    s_redis_state(l, true, &err);
    return SCHEDULER_LEADER_SAME; /* keep trying while the lease is still valid */
}

static scheduler_leader_event_t s_acquire(scheduler_leader_t *l, int64_t now_ms)
{
    if (now_ms < l->next_try_ms)
        return SCHEDULER_LEADER_SAME;
    l->next_try_ms = now_ms + SCHEDULER_LEADER_TRY_MS;
    dp_err_t err = {0};
    if (dp_lock_acquire(l->lock, &err) != 0) {
        s_redis_state(l, err.code != DP_ERR_BUSY, &err);
        return SCHEDULER_LEADER_SAME;
    }
    s_redis_state(l, false, &err);
    uint64_t epoch = 0;
    if (dp_epoch_bump(l->db, SCHEDULER_LEADER_ROLE, l->node, &epoch, &err) != 0) {
        dp_log_warn("won the lease but cannot bump the epoch; standing down",
                    "err=%s detail=\"%s\"", dp_err_name(err.code), err.text);
        dp_lock_release(l->lock, NULL);
        l->next_try_ms = now_ms + SCHEDULER_LEADER_BUMP_BACKOFF_MS;
        return SCHEDULER_LEADER_SAME;
    }
    l->held = true;
    l->epoch = epoch;
    l->last_renew_ms = now_ms;
    dp_log_notice("leading", "epoch=%" PRIu64 " ttl_ms=%d", epoch, l->ttl_ms);
    return SCHEDULER_LEADER_GAINED;
}

//  --------------------------------------------------------------------------
scheduler_leader_t *scheduler_leader_new(dp_redis_t *r, dp_db_t *db, const char *node_id,
                                         int ttl_ms, dp_err_t *err)
{
    dp_lock_t *lock = dp_lock_new(r, SCHEDULER_LEADER_KEY, NULL, ttl_ms);
    if (!lock) {
        dp_err_set(err, DP_ERR_INTERNAL, "cannot create the leader lock (ttl_ms=%d)", ttl_ms);
        return NULL;
    }
    scheduler_leader_t *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->redis = r;
    l->db = db;
    l->lock = lock;
    l->node = strdup(node_id);
    l->ttl_ms = ttl_ms;
    return l;
}

//  --------------------------------------------------------------------------
void scheduler_leader_destroy(scheduler_leader_t **p)
{
    if (!p || !*p)
        return;
    dp_lock_destroy(&(*p)->lock);
    free((*p)->node);
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
scheduler_leader_event_t scheduler_leader_tick(scheduler_leader_t *l, int64_t now_ms)
{
    return l->held ? s_renew(l, now_ms) : s_acquire(l, now_ms);
}

bool scheduler_leader_is_leading(const scheduler_leader_t *l)
{
    return l->held && l->epoch > 0 && dp_lock_is_valid(l->lock);
}

uint64_t scheduler_leader_epoch(const scheduler_leader_t *l)
{
    return l->epoch;
}

int64_t scheduler_leader_remaining_ms(const scheduler_leader_t *l)
{
    return l->held ? dp_lock_remaining_ms(l->lock) : 0;
}

//  --------------------------------------------------------------------------
int scheduler_leader_resign(scheduler_leader_t *l, dp_err_t *err)
{
    if (!l->held)
        return 0;
    l->held = false;
    int rc = dp_lock_release(l->lock, err);
    dp_log_notice("leadership released", "epoch=%" PRIu64 " rc=%d", l->epoch, rc);
    return rc;
}

char *scheduler_leader_holder(scheduler_leader_t *l, dp_err_t *err)
{
    return dp_lock_holder(l->redis, SCHEDULER_LEADER_KEY, err);
}

const char *scheduler_leader_token(const scheduler_leader_t *l)
{
    return dp_lock_owner(l->lock);
}
