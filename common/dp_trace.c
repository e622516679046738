/*  dp_trace.c - per-device job trace in Redis (hash dp:trace:<device_id>)
    Two Lua scripts, so each stamp is one round trip and the job check is atomic.
    SPDX-License-Identifier: MIT */
#include "dp_trace.h"
#include "dp_time.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One script for every stamp: KEYS[k] = trace of stamp k; ARGV[1] = ttl_ms, then per stamp
   job_id ('' = any job), n, and n field/value pairs. Job ids are decimal strings of growing
   numbers: longer is newer, else compare as strings (exact beyond 2^53). Returns the stamps
   written. */
static const char *s_stamp_lua =
    "local function newer(a, b)\n"
    "  if #a ~= #b then return #a > #b end\n"
    "  return a > b\n"
    "end\n"
    "local p, written = 2, 0\n"
    "for k = 1, #KEYS do\n"
    "  local key, job, n = KEYS[k], ARGV[p], tonumber(ARGV[p + 1])\n"
    "  local first = p + 2\n"
    "  p = first + 2 * n\n"
    "  local ok = true\n"
    "  if job ~= '' then\n"
    "    local cur = redis.call('HGET', key, 'job_id')\n"
    "    if cur and newer(cur, job) then\n"
    "      ok = false\n"
    "    elseif cur ~= job then\n"
    "      if cur then redis.call('DEL', key) end\n"
    "      redis.call('HSET', key, 'job_id', job)\n"
    "    end\n"
    "  end\n"
    "  if ok then\n"
    "    for i = first, p - 1, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end\n"
    "    redis.call('PEXPIRE', key, ARGV[1])\n"
    "    written = written + 1\n"
    "  end\n"
    "end\n"
    "return written\n";

static _Atomic uint64_t s_marks;    /* stamps written */
static _Atomic uint64_t s_failures; /* stamps that failed */

#define S_FIELD_NAME_(c, f, h) f,
#define S_FIELD_HELP_(c, f, h) h,
static const char *const s_names[] = {DP_TRACE_FIELDS(S_FIELD_NAME_)};
static const char *const s_helps[] = {DP_TRACE_FIELDS(S_FIELD_HELP_)};

//  Runs the script for nstamps stamps; returns its integer reply, or -1 (nstamps counted).
static int s_eval_n(dp_redis_t *r, int argc, const char **argv, int nstamps, dp_err_t *err)
{
    dp_err_t e = {0};
    redisReply *rep = r ? dp_redis_command_argv(r, &e, argc, argv, NULL) : NULL;
    if (!rep) {
        s_failures += (uint64_t)nstamps;
        if (err)
            dp_err_set(err, r ? e.code : DP_ERR_CONFIG, "trace: %s", r ? e.text : "no Redis");
        return -1;
    }
    int rc = rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : -1;
    freeReplyObject(rep);
    if (rc < 0) {
        s_failures += (uint64_t)nstamps;
        if (err)
            dp_err_set(err, DP_ERR_INTERNAL, "trace: unexpected reply");
        return -1;
    }
    s_marks += (uint64_t)rc;
    return rc;
}

static int s_eval(dp_redis_t *r, int argc, const char **argv, dp_err_t *err)
{
    return s_eval_n(r, argc, argv, 1, err);
}

static int s_mark(dp_redis_t *r, uint64_t device_id, const char *job, const char *field,
                  const char *fmt, va_list ap)
{
    char key[DP_TRACE_KEY_MAX], ttl[24], value[DP_TRACE_VALUE_MAX];
    dp_trace_key(device_id, key, sizeof key);
    snprintf(ttl, sizeof ttl, "%lld", (long long)DP_TRACE_TTL_MS);
    vsnprintf(value, sizeof value, fmt, ap);
    const char *argv[] = {"EVAL", s_stamp_lua, "1", key, ttl, job, "1", field, value};
    return s_eval(r, 9, argv, NULL);
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
                          s_stamp_lua,
                          "1",
                          key,
                          ttl,
                          job,
                          "4",
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

// ---------------------------------------------------------------------------- batches

/* One queued stamp: a trace key, a job ('' = any) and field/value pairs. */
typedef struct {
    char key[DP_TRACE_KEY_MAX];
    char job[24];
    char npairs[4];                        /* decimal count, for argv */
    int n;                                 /* pairs used */
    char *pairs[2 * DP_TRACE_BATCH_PAIRS]; /* owned strings */
} s_stamp_t;

struct dp_trace_batch {
    s_stamp_t *stamps; /* queued, in order */
    size_t n;          /* used */
    size_t cap;        /* allocated */
};

static void s_stamp_clear(s_stamp_t *st)
{
    for (int i = 0; i < 2 * st->n; i++)
        free(st->pairs[i]);
    st->n = 0;
}

//  The stamp to add need pairs to: the last one when it is the same trace and job and has
//  room, else a new one. NULL when the batch is full (counted).
static s_stamp_t *s_batch_slot(dp_trace_batch_t *b, uint64_t device_id, uint64_t job_id, int need)
{
    char key[DP_TRACE_KEY_MAX], job[24] = "";
    dp_trace_key(device_id, key, sizeof key);
    if (job_id)
        snprintf(job, sizeof job, "%" PRIu64, job_id);
    if (b->n > 0) {
        s_stamp_t *last = &b->stamps[b->n - 1];
        if (last->n + need <= DP_TRACE_BATCH_PAIRS && strcmp(last->key, key) == 0 &&
            strcmp(last->job, job) == 0)
            return last;
    }
    if (b->n >= DP_TRACE_BATCH_MAX) {
        s_failures++;
        return NULL;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->stamps = realloc(b->stamps, b->cap * sizeof *b->stamps);
        if (!b->stamps)
            abort();
    }
    s_stamp_t *st = &b->stamps[b->n++];
    memcpy(st->key, key, sizeof key);
    memcpy(st->job, job, sizeof job);
    st->n = 0;
    return st;
}

static void s_stamp_add(s_stamp_t *st, const char *field, const char *value)
{
    st->pairs[2 * st->n] = strdup(field);
    st->pairs[2 * st->n + 1] = strdup(value);
    if (!st->pairs[2 * st->n] || !st->pairs[2 * st->n + 1])
        abort();
    st->n++;
}

//  --------------------------------------------------------------------------
dp_trace_batch_t *dp_trace_batch_new(void)
{
    dp_trace_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    return b;
}

//  --------------------------------------------------------------------------
void dp_trace_batch_destroy(dp_trace_batch_t **p)
{
    if (!p || !*p)
        return;
    dp_trace_batch_t *b = *p;
    for (size_t i = 0; i < b->n; i++)
        s_stamp_clear(&b->stamps[i]);
    free(b->stamps);
    free(b);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_trace_batch_begin(dp_trace_batch_t *b, uint64_t device_id, uint64_t job_id, const char *kind,
                         uint64_t epoch, const char *node, int64_t at_ms)
{
    s_stamp_t *st = s_batch_slot(b, device_id, job_id, 4);
    if (!st)
        return -1;
    char ep[24], now[24];
    snprintf(ep, sizeof ep, "%" PRIu64, epoch);
    snprintf(now, sizeof now, "%lld", (long long)(at_ms > 0 ? at_ms : dp_time_wall_ms()));
    s_stamp_add(st, "kind", kind ? kind : "");
    s_stamp_add(st, "epoch", ep);
    s_stamp_add(st, "scheduled_by", node ? node : "");
    s_stamp_add(st, "scheduled_ms", now);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_trace_batch_mark_job(dp_trace_batch_t *b, uint64_t device_id, uint64_t job_id,
                            const char *field, const char *value_fmt, ...)
{
    s_stamp_t *st = s_batch_slot(b, device_id, job_id, 1);
    if (!st)
        return -1;
    char value[DP_TRACE_VALUE_MAX];
    va_list ap;
    va_start(ap, value_fmt);
    vsnprintf(value, sizeof value, value_fmt, ap);
    va_end(ap);
    s_stamp_add(st, field, value);
    return 0;
}

//  --------------------------------------------------------------------------
size_t dp_trace_batch_pending(const dp_trace_batch_t *b)
{
    return b ? b->n : 0;
}

//  Sends stamps [from, to) in one EVAL. Returns stamps written or -1 (counted).
static int s_batch_send(dp_trace_batch_t *b, size_t from, size_t to, dp_redis_t *r, dp_err_t *err)
{
    size_t nk = to - from, argc = 4 + nk;
    for (size_t i = from; i < to; i++)
        argc += 2 + 2 * (size_t)b->stamps[i].n;
    const char **argv = malloc(argc * sizeof *argv);
    if (!argv)
        abort();
    char nkeys[24], ttl[24];
    snprintf(nkeys, sizeof nkeys, "%zu", nk);
    snprintf(ttl, sizeof ttl, "%lld", (long long)DP_TRACE_TTL_MS);
    size_t a = 0;
    argv[a++] = "EVAL";
    argv[a++] = s_stamp_lua;
    argv[a++] = nkeys;
    for (size_t i = from; i < to; i++)
        argv[a++] = b->stamps[i].key;
    argv[a++] = ttl;
    for (size_t i = from; i < to; i++) {
        s_stamp_t *st = &b->stamps[i];
        snprintf(st->npairs, sizeof st->npairs, "%d", st->n);
        argv[a++] = st->job;
        argv[a++] = st->npairs;
        for (int k = 0; k < 2 * st->n; k++)
            argv[a++] = st->pairs[k];
    }
    int rc = s_eval_n(r, (int)a, argv, (int)nk, err);
    free(argv);
    return rc;
}

//  --------------------------------------------------------------------------
int dp_trace_batch_flush(dp_trace_batch_t *b, dp_redis_t *r, dp_err_t *err)
{
    if (!b || b->n == 0)
        return 0;
    int written = 0;
    size_t from = 0;
    while (from < b->n) {
        size_t to = from + DP_TRACE_BATCH_EVAL < b->n ? from + DP_TRACE_BATCH_EVAL : b->n;
        int rc = s_batch_send(b, from, to, r, err);
        if (rc < 0) {
            s_failures += (uint64_t)(b->n - to); /* the rest is dropped too */
            written = -1;
            break;
        }
        written += rc;
        from = to;
    }
    for (size_t i = 0; i < b->n; i++)
        s_stamp_clear(&b->stamps[i]);
    b->n = 0;
    return written;
}
