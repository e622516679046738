/*  scheduler_leader.h - leader election: Redis lease for liveness, MariaDB epoch for safety
    Every scheduler tries to take the lease "dp:leader:scheduler" (owner token, TTL
    DP_LOCK_TTL); the holder renews it every TTL/4, standbys try every
    SCHEDULER_LEADER_TRY_MS. On winning, the fencing epoch is bumped in MariaDB and stamped on
    every job. A leader whose renewals fail (Redis down) stops leading when the lease validity
    runs out by the local monotonic clock, before another node can take it. Single-threaded.
    SPDX-License-Identifier: MIT */
#ifndef SCHEDULER_LEADER_H
#define SCHEDULER_LEADER_H

#include "dp_db.h"
#include "dp_redis.h"

#include <stdbool.h>
#include <stdint.h>

#define SCHEDULER_LEADER_KEY             "dp:leader:scheduler"
#define SCHEDULER_LEADER_ROLE            "scheduler" /* leadership row for the epoch */
#define SCHEDULER_LEADER_TRY_MS          500         /* standby acquire attempts */
#define SCHEDULER_LEADER_BUMP_BACKOFF_MS 2000        /* after an epoch bump failed */

typedef enum {
    SCHEDULER_LEADER_SAME = 0, /* no change */
    SCHEDULER_LEADER_GAINED,   /* now leading with a new epoch */
    SCHEDULER_LEADER_LOST,     /* stopped leading */
} scheduler_leader_event_t;

typedef struct scheduler_leader scheduler_leader_t;

/* Creates the election state over r and db (borrowed; must outlive it). NULL on error (err).
   Caller owns result; free with scheduler_leader_destroy (which does not release). */
scheduler_leader_t *scheduler_leader_new(dp_redis_t *r, dp_db_t *db, const char *node_id,
                                         int ttl_ms, dp_err_t *err);

/* Frees the state. NULL-safe; sets *p to NULL. */
void scheduler_leader_destroy(scheduler_leader_t **p);

/* One step (call every ~100-250 ms): renews, notices loss, or tries to acquire. */
scheduler_leader_event_t scheduler_leader_tick(scheduler_leader_t *l, int64_t now_ms);

/* True while holding a valid lease with an epoch: the only time jobs may be emitted. */
bool scheduler_leader_is_leading(const scheduler_leader_t *l);

/* Epoch of the current (or last) leadership; 0 before the first. */
uint64_t scheduler_leader_epoch(const scheduler_leader_t *l);

/* Milliseconds of lease validity left (<= 0 when not leading). */
int64_t scheduler_leader_remaining_ms(const scheduler_leader_t *l);

/* Releases the lease now so a standby takes over at once (drain). Returns 0 or -1. */
int scheduler_leader_resign(scheduler_leader_t *l, dp_err_t *err);

/* Current holder token from Redis (caller frees), or NULL (nobody, or Redis error in err). */
char *scheduler_leader_holder(scheduler_leader_t *l, dp_err_t *err);

/* Our owner token. Borrowed. */
const char *scheduler_leader_token(const scheduler_leader_t *l);

#endif
