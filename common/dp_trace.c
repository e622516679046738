/*  dp_trace.c - per-device job trace in Redis (hash dp:trace:<device_id>)
    Two Lua scripts, so each stamp is one round trip and the job check is atomic.
    SPDX-License-Identifier: MIT */
#include "dp_trace.h"
#include "dp_time.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

/* KEYS[1] trace; ARGV: ttl_ms, job_id ('' = any), field, value. */
static const char *s_mark_lua =
    "local cur = redis.call('HGET', KEYS[1], 'job_id')\n"
    "if ARGV[2] ~= '' then\n"
    "  if cur and cur ~= ARGV[2] then return 0 end\n"
    "  if not cur then redis.call('HSET', KEYS[1], 'job_id', ARGV[2]) end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
    "return 1\n";

/* KEYS[1] trace; ARGV: ttl_ms, then field/value pairs. */
static const char *s_begin_lua = "redis.call('DEL', KEYS[1])\n"
                                 "for i = 2, #ARGV, 2 do\n"
                                 "  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
                                 "end\n"
                                 "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
                                 "return 1\n";

static _Atomic uint64_t s_marks;    /* stamps written */
static _Atomic uint64_t s_failures; /* stamps that failed */

#define S_FIELD_NAME_(c, f, h) f,
#define S_FIELD_HELP_(c, f, h) h,
static const char *const s_names[] = {DP_TRACE_FIELDS(S_FIELD_NAME_)};
static const char *const s_helps[] = {DP_TRACE_FIELDS(S_FIELD_HELP_)};

//  Runs one script; returns its integer reply, or -1 (counted).
static int s_eval(dp_redis_t *r, int argc, const char **argv, dp_err_t *err)
{
    dp_err_t e = {0};
    redisReply *rep = r ? dp_redis_command_argv(r, &e, argc, argv, NULL) : NULL;
    if (!rep) {
        s_failures++;
        if (err)
            dp_err_set(err, r ? e.code : DP_ERR_CONFIG, "trace: %s", r ? e.text : "no Redis");
        return -1;
    }
    int rc = rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : -1;
    freeReplyObject(rep);
    if (rc < 0) {
        s_failures++;
        if (err)
            dp_err_set(err, DP_ERR_INTERNAL, "trace: unexpected reply");
        return -1;
    }
    if (rc > 0)
        s_marks++;
    return rc;
}

static int s_mark(dp_redis_t *r, uint64_t device_id, const char *job, const char *field,
                  const char *fmt, va_list ap)
{
    char key[DP_TRACE_KEY_MAX], ttl[24], value[DP_TRACE_VALUE_MAX];
    dp_trace_key(device_id, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%lld", (long long)DP_TRACE_TTL_MS);
    vsnprintf(value, sizeof value, fmt, ap);
    const char *argv[] = {"EVAL", s_mark_lua, "1", key, ttl, job, field, value};
    return s_eval(r, 8, argv, NULL);
}

//  --------------------------------------------------------------------------
const char *dp_trace_field_name(dp_trace_field_t f)
{
    return f >= 0 && f < DP_TRACE_FIELD_COUNT ? s_names[f] : NULL;
}

//  --------------------------------------------------------------------------
const char *dp_trace_field_help(dp_trace_field_t f)
{
    return f >= 0 && f < DP_TRACE_FIELD_COUNT ? s_helps[f] : NULL;
}

//  --------------------------------------------------------------------------
void dp_trace_key(uint64_t device_id, char *buf, size_t size)
{
    snprintf(buf, size, "dp:trace:%" PRIu64, device_id);
}

//  --------------------------------------------------------------------------
int dp_trace_begin(dp_redis_t *r, uint64_t device_id, uint64_t job_id, const char *kind,
                   uint64_t epoch, const char *node, dp_err_t *err)
{
    char key[DP_TRACE_KEY_MAX], ttl[24], job[24], ep[24], now[24];
    dp_trace_key(device_id, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%lld", (long long)DP_TRACE_TTL_MS);
    snprintf(job, sizeof job, "%" PRIu64, job_id);
    snprintf(ep, sizeof ep, "%" PRIu64, epoch);
    snprintf(now, sizeof now, "%lld", (long long)dp_time_wall_ms());
    const char *argv[] = {"EVAL",
                          s_begin_lua,
                          "1",
                          key,
                          ttl,
                          "job_id",
                          job,
                          "kind",
                          kind ? kind : "",
                          "epoch",
                          ep,
                          "scheduled_by",
                          node ? node : "",
                          "scheduled_ms",
                          now};
    return s_eval(r, (int)(sizeof argv / sizeof argv[0]), argv, err) < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int dp_trace_mark(dp_redis_t *r, uint64_t device_id, const char *field, const char *value_fmt, ...)
{
    va_list ap;
    va_start(ap, value_fmt);
    int rc = s_mark(r, device_id, "", field, value_fmt, ap);
    va_end(ap);
    return rc < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
int dp_trace_mark_job(dp_redis_t *r, uint64_t device_id, uint64_t job_id, const char *field,
                      const char *value_fmt, ...)
{
    char job[24];
    snprintf(job, sizeof job, "%" PRIu64, job_id);
    va_list ap;
    va_start(ap, value_fmt);
    int rc = s_mark(r, device_id, job, field, value_fmt, ap);
    va_end(ap);
    return rc;
}

//  --------------------------------------------------------------------------
uint64_t dp_trace_marks(void)
{
    return s_marks;
}

//  --------------------------------------------------------------------------
uint64_t dp_trace_failures(void)
{
    return s_failures;
}
