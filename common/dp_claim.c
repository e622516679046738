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

//  The EVAL of script over the keys of (kind, id); n2/n3 hold the numbers (argv points there).
typedef struct {
    char lock[S_KEY_MAX], done[S_KEY_MAX], n2[24], n3[24];
    const char *argv[8];
    int argc;
} s_evalargs_t;

static void s_evalargs(s_evalargs_t *e, const char *script, bool two_keys, const char *kind,
                       uint64_t id, const char *a1, int64_t a2, int64_t a3)
{
    s_keys(kind, id, e->lock, e->done);
    snprintf(e->n2, sizeof e->n2, "%" PRId64, a2);
    snprintf(e->n3, sizeof e->n3, "%" PRId64, a3);
    e->argc = 0;
    e->argv[e->argc++] = "EVAL";
    e->argv[e->argc++] = script;
    e->argv[e->argc++] = two_keys ? "2" : "1";
    e->argv[e->argc++] = e->lock;
    if (two_keys)
        e->argv[e->argc++] = e->done;
    e->argv[e->argc++] = a1;
    if (two_keys) {
        e->argv[e->argc++] = e->n2;
        e->argv[e->argc++] = e->n3;
    }
}

//  The integer of a script's reply (freed); -1 with err.
static int64_t s_int_reply(redisReply *rep, dp_err_t *err)
{
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

//  Runs script over the keys of (kind, id); returns the integer reply or -1 with err.
static int64_t s_eval(dp_redis_t *r, const char *script, bool two_keys, const char *kind,
                      uint64_t id, const char *a1, int64_t a2, int64_t a3, dp_err_t *err)
{
    s_evalargs_t e;
    s_evalargs(&e, script, two_keys, kind, id, a1, a2, a3);
    return s_int_reply(dp_redis_command_argv(r, err, e.argc, e.argv, NULL), err);
}

//  --------------------------------------------------------------------------
int dp_claim_device(dp_redis_t *r, const char *kind, uint64_t device_id, int64_t cycle_ts,
                    const char *token, int ttl_ms, dp_claim_t *out, dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token || ttl_ms <= 0 || !out)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_device: bad arguments");
    int64_t v = s_eval(r, s_claim_lua, true, kind, device_id, token, cycle_ts, ttl_ms, err);
    if (v < 0 || v > 2)
        return v < 0 ? -1
                     : dp_err_set(err, DP_ERR_PROTO, "claim script returned %lld", (long long)v);
    *out = v == 0 ? DP_CLAIM_OK : v == 1 ? DP_CLAIM_DONE : DP_CLAIM_BUSY;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_claim_device_many(dp_redis_t *r, const char *kind, dp_claim_req_t *items, int n,
                         const char *token, int ttl_ms, dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token || ttl_ms <= 0 || n < 0 || (n && !items))
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_device_many: bad arguments");
    int failed = 0;
    dp_err_t e1 = {0};
    for (int i = 0; i < n; i++) {
        s_evalargs_t e;
        s_evalargs(&e, s_claim_lua, true, kind, items[i].device_id, token, items[i].cycle_ts,
                   ttl_ms);
        items[i].rc = dp_redis_append_argv(r, &e1, e.argc, e.argv, NULL) == 0 ? 1 : -1;
        if (items[i].rc < 0 && failed++ == 0 && err)
            *err = e1;
    }
    for (int i = 0; i < n; i++) {
        if (items[i].rc != 1)
            continue;
        int64_t v = s_int_reply(dp_redis_get_reply(r, &e1), &e1);
        if (v > 2)
            dp_err_set(&e1, DP_ERR_PROTO, "claim script returned %lld", (long long)v);
        items[i].rc = v < 0 || v > 2 ? -1 : 0;
        if (items[i].rc < 0) {
            if (failed++ == 0 && err)
                *err = e1;
            continue;
        }
        items[i].out = v == 0 ? DP_CLAIM_OK : v == 1 ? DP_CLAIM_DONE : DP_CLAIM_BUSY;
    }
    return failed;
}

//  --------------------------------------------------------------------------
int dp_claim_finish(dp_redis_t *r, const char *kind, uint64_t device_id, int64_t cycle_ts,
                    const char *token, int64_t done_ttl_ms, dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token || done_ttl_ms <= 0)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_finish: bad arguments");
    return s_eval(r, s_finish_lua, true, kind, device_id, token, cycle_ts, done_ttl_ms, err) < 0
               ? -1
               : 0;
}

//  --------------------------------------------------------------------------
int dp_claim_release(dp_redis_t *r, const char *kind, uint64_t device_id, const char *token,
                     dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_release: bad arguments");
    return s_eval(r, s_release_lua, false, kind, device_id, token, 0, 0, err) < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int dp_claim_end_many(dp_redis_t *r, const char *kind, dp_claim_end_t *items, int n,
                      const char *token, int64_t done_ttl_ms, dp_err_t *err)
{
    if (!r || !kind || !*kind || !token || !*token || done_ttl_ms <= 0 || n < 0)
        return dp_err_set(err, DP_ERR_CONFIG, "dp_claim_end_many: bad arguments");
    int failed = 0;
    dp_err_t e1 = {0};
    for (int i = 0; i < n; i++) {
        s_evalargs_t e;
        s_evalargs(&e, items[i].done ? s_finish_lua : s_release_lua, items[i].done, kind,
                   items[i].device_id, token, items[i].cycle_ts, done_ttl_ms);
        items[i].rc = dp_redis_append_argv(r, &e1, e.argc, e.argv, NULL) == 0 ? 1 : -1;
        if (items[i].rc < 0 && failed++ == 0 && err)
            *err = e1;
    }
    for (int i = 0; i < n; i++) {
        if (items[i].rc != 1)
            continue;
        items[i].rc = s_int_reply(dp_redis_get_reply(r, &e1), &e1) < 0 ? -1 : 0;
        if (items[i].rc < 0 && failed++ == 0 && err)
            *err = e1;
    }
    return failed;
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
