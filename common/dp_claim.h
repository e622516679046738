/*  dp_claim.h - per-device claims in Redis: never two nodes on one device at once
    Before working a job a worker claims keys dp:lock:<kind>:<device_id> (owner token, PX ttl)
    and dp:done:<kind>:<device_id> (last cycle_ts done) with one Lua script: already done for
    this cycle -> DONE, lock free -> OK (taken), else BUSY. After the work, "finish" records
    done = cycle_ts and releases the lock if still ours. Stateless; r is used synchronously.
    SPDX-License-Identifier: MIT */
#ifndef DP_CLAIM_H
#define DP_CLAIM_H

#include "dp_err.h"
#include "dp_redis.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum { DP_CLAIM_OK, DP_CLAIM_DONE, DP_CLAIM_BUSY } dp_claim_t;

/* Runs the claim script over r. token: this worker's owner token (dp_lock_token_make). Returns
   0 with *out set, or -1 with err (Redis down: the caller answers RESULT error "redis
   unavailable" and the job is re-queued). */
int dp_claim_device(dp_redis_t *r, const char *kind, uint64_t device_id, int64_t cycle_ts,
                    const char *token, int ttl_ms, dp_claim_t *out, dp_err_t *err);

/* One claim for dp_claim_device_many. */
typedef struct {
    uint64_t device_id;
    int64_t cycle_ts;
    dp_claim_t out; /* out, when rc is 0 */
    int rc;         /* out: 0 or -1 */
} dp_claim_req_t;

/* dp_claim_device of n devices in one pipelined round trip. Returns how many failed (their rc
   -1; err describes the first), or -1 on bad arguments. */
int dp_claim_device_many(dp_redis_t *r, const char *kind, dp_claim_req_t *items, int n,
                         const char *token, int ttl_ms, dp_err_t *err);

/* Marks done for cycle_ts (kept done_ttl_ms) and releases the lock if still ours. 0 or -1 with
   err. */
int dp_claim_finish(dp_redis_t *r, const char *kind, uint64_t device_id, int64_t cycle_ts,
                    const char *token, int64_t done_ttl_ms, dp_err_t *err);

/* Releases the lock if still ours without marking done (work failed; the job will be retried).
   0 or -1 with err. */
int dp_claim_release(dp_redis_t *r, const char *kind, uint64_t device_id, const char *token,
                     dp_err_t *err);

/* One claim for dp_claim_end_many: finished (done: dp_claim_finish) or released. */
typedef struct {
    uint64_t device_id;
    int64_t cycle_ts;
    bool done;
    int rc; /* out: 0 or -1 */
} dp_claim_end_t;

/* dp_claim_finish / dp_claim_release of n claims in one pipelined round trip. Returns how many
   failed (their rc -1; err describes the first), or -1 on bad arguments. */
int dp_claim_end_many(dp_redis_t *r, const char *kind, dp_claim_end_t *items, int n,
                      const char *token, int64_t done_ttl_ms, dp_err_t *err);

/* Static name of a claim outcome: "ok", "done", "busy". */
const char *dp_claim_name(dp_claim_t c);

#endif
