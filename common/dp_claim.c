/*  dp_claim.c - per-device claims in Redis (claim / finish / release Lua scripts)
    Keys: dp:lock:<kind>:<id> holds the owner token of the worker on the device (PX ttl);
    dp:done:<kind>:<id> holds the last cycle_ts done (PX done_ttl). Each script is one EVAL,
    so the check and the write are atomic on the server.
    SPDX-License-Identifier: MIT */
#include "dp_claim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S_KEY_MAX 96 /* "dp:lock:discover:18446744073709551615" fits */

/* KEYS: lock, done. ARGV: token, cycle_ts, ttl_ms. Returns 0 OK, 1 DONE, 2 BUSY. A lock held
   with our own token is BUSY too: a re-issued job may reach the worker still running the first
   one (lease expired, or a new leader), and the device must not be worked twice at once. */
static const char *s_claim_lua =
    "local d = tonumber(redis.call('GET', KEYS[2]) or '-1')\n"
    "if d >= tonumber(ARGV[2]) then return 1 end\n"
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then return 0 end\n"
    "return 2\n";

/* KEYS: lock, done. ARGV: token, cycle_ts, done_ttl_ms. done only grows. Returns 1 when the
   lock was ours and is deleted, else 0. */
static const char *s_finish_lua =
    "local d = tonumber(redis.call('GET', KEYS[2]) or '-1')\n"
    "if tonumber(ARGV[2]) > d then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
    "else redis.call('PEXPIRE', KEYS[2], ARGV[3]) end\n"
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

/* KEYS: lock. ARGV: token. */
static const char *s_release_lua =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

static void s_keys(const char *kind, uint64_t id, char *lock, char *done)
{
    snprintf(lock, S_KEY_MAX, "dp:lock:%s:%" PRIu64, kind, id);
    snprintf(done, S_KEY_MAX, "dp:done:%s:%" PRIu64, kind, id);
}

//  Runs script over the two keys; returns the integer reply or -1 with err.
static int64_t s_eval(dp_redis_t *r, const char *script, int nkeys, const char *k1, const char *k2,
                      const char *a1, int64_t a2, int64_t a3, dp_err_t *err)
{
    char n2[24], n3[24];
    snprintf(n2, sizeof n2, "%" PRId64, a2);
    snprintf(n3, sizeof n3, "%" PRId64, a3);
    char nk[4];
    snprintf(nk, sizeof nk, "%d", nkeys);
    const char *argv[8] = {"EVAL", script, nk, k1};
    int argc = 4;
    if (nkeys == 2)
        argv[argc++] = k2;
    argv[argc++] = a1;
    if (nkeys == 2) {
        argv[argc++] = n2;
        argv[argc++] = n3;
    }
    redisReply *rep = dp_redis_command_argv(r, err, argc, argv, NULL);
    if (!rep)
        return -1;
    int64_t v = -1;
    if (rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    else
        dp_err_set(err, DP_ERR_PROTO, "claim script: unexpected reply type %d", rep->type);
    freeReplyObject(rep);
    return v;
}

//  --------------------------------------------------------------------------
int dp_claim_device(dp_redis_t *r, const char *kind, uint64_t device_id, int64_t cycle_ts,
                    const char *token, int ttl_ms, dp_claim_t *out, dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token || ttl_ms <= 0 || !out)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_device: bad arguments");
    char lock[S_KEY_MAX], done[S_KEY_MAX];
    s_keys(kind, device_id, lock, done);
    int64_t v = s_eval(r, s_claim_lua, 2, lock, done, token, cycle_ts, ttl_ms, err);
    if (v < 0 || v > 2)
        return v < 0 ? -1
                     : dp_err_set(err, DP_ERR_PROTO, "claim script returned %lld", (long long)v);
    *out = v == 0 ? DP_CLAIM_OK : v == 1 ? DP_CLAIM_DONE : DP_CLAIM_BUSY;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_claim_finish(dp_redis_t *r, const char *kind, uint64_t device_id, int64_t cycle_ts,
                    const char *token, int64_t done_ttl_ms, dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token || done_ttl_ms <= 0)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_finish: bad arguments");
    char lock[S_KEY_MAX], done[S_KEY_MAX];
    s_keys(kind, device_id, lock, done);
    return s_eval(r, s_finish_lua, 2, lock, done, token, cycle_ts, done_ttl_ms, err) < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int dp_claim_release(dp_redis_t *r, const char *kind, uint64_t device_id, const char *token,
                     dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_release: bad arguments");
    char lock[S_KEY_MAX], done[S_KEY_MAX];
    s_keys(kind, device_id, lock, done);
    return s_eval(r, s_release_lua, 1, lock, NULL, token, 0, 0, err) < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
const char *dp_claim_name(dp_claim_t c)
{
    switch (c) {
    case DP_CLAIM_OK:
        return "ok";
    case DP_CLAIM_DONE:
        return "done";
    case DP_CLAIM_BUSY:
        return "busy";
    }
    return "unknown";
}
