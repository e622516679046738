/*  dp_redis.c - hiredis 0.14 connection (AUTH, SELECT, Sentinel, bounded reconnect) and locks
    Not thread-safe: one dp_redis_t (and its locks) per thread. Secrets are copied into the
    handle and never put into error texts. Sentinel client spec: try each sentinel with a short
    timeout, ask get-master-addr-by-name, connect, check ROLE, re-resolve on every reconnect.
    SPDX-License-Identifier: MIT */
#include "dp_redis.h"
#include "dp_time.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DP_REDIS_TIMEOUT_MS          500  /* default connect and command timeout */
#define DP_REDIS_SENTINEL_TIMEOUT_MS 300  /* cap on the per-sentinel timeout */
#define DP_REDIS_SENTINEL_CHECK_MS   1000 /* while connected, ask a sentinel this often */
#define DP_REDIS_BACKOFF_MIN_MS      100  /* first reconnect delay after a failed connect */
#define DP_REDIS_BACKOFF_MAX_MS      5000 /* reconnect delay cap */
#define DP_REDIS_SENTINELS_MAX       16   /* sentinels in REDIS_SENTINEL */
#define DP_REDIS_ADDR_MAX            (DP_REDIS_HOST_MAX + 8)
#define DP_LOCK_WAIT_MS              100 /* WAIT timeout after acquire/renew */
#define DP_LOCK_DRIFT_DIVISOR        100 /* drift margin: 1 % of the ttl ... */
#define DP_LOCK_DRIFT_MIN_MS         2   /* ... plus 2 ms */

/* Returns 1 when the key is ours (set or already held, ttl refreshed), else the holder. */
static const char *s_lua_acquire =
    "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end "
    "local v = redis.call('get', KEYS[1]) "
    "if v == ARGV[1] then redis.call('pexpire', KEYS[1], ARGV[2]) return 1 end "
    "return v";
/* Returns 1 when the ttl was refreshed, 0 when the key is not ours. */
static const char *s_lua_renew = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                 "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/* Returns 1 when our key was deleted, 0 when it is not ours. */
static const char *s_lua_release = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                   "return redis.call('del', KEYS[1]) else return 0 end";

struct dp_redis {
    char *host;                   /* master host without sentinels */
    int port;                     /* master port without sentinels */
    int db;                       /* SELECTed when not 0 */
    int timeout_ms;               /* connect and command timeout */
    char *username;               /* ACL user or NULL */
    char *password;               /* password or NULL (secret) */
    char *sentinels;              /* "h1:p1,h2:p2" or NULL */
    char *service;                /* sentinel master name */
    char *sentinel_username;      /* sentinel ACL user or NULL */
    char *sentinel_password;      /* sentinel password or NULL (secret) */
    char *node_id;                /* token prefix or NULL */
    redisContext *ctx;            /* live context, or NULL when down */
    char addr[DP_REDIS_ADDR_MAX]; /* "host:port" last connected to */
    int sentinel_first;           /* index of the sentinel that answered last */
    int backoff_ms;               /* delay applied after the next failed connect */
    int64_t next_try_ms;          /* no automatic reconnect before this monotonic time */
    int64_t next_check_ms;        /* next sentinel check of the master address */
    uint64_t connects;            /* successful connects */
    dp_err_t last_err;            /* why the last connect failed */
    int pending;                  /* pipelined commands whose replies were not read yet */
};

struct dp_lock {
    dp_redis_t *redis; /* borrowed connection */
    char *key;         /* lock key */
    char *token;       /* owner token (unique per holder) */
    int ttl_ms;        /* lease length */
    int wait_replicas; /* -1 auto, 0 never, n: WAIT n */
    bool held;         /* last acquire/renew succeeded */
    int64_t sent_ms;   /* monotonic time the last successful acquire/renew was sent */
};

static char *s_dup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void s_free_secret(char **p)
{
    if (*p) {
        volatile char *v = *p;
        while (*v)
            *v++ = '\0';
        free(*p);
        *p = NULL;
    }
}

static struct timeval s_timeval(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Replaces every occurrence of secret in err->text by "***". */
static void s_scrub(dp_err_t *err, const char *secret)
{
    if (!err || !secret || !*secret)
        return;
    char *hit;
    size_t slen = strlen(secret);
    while ((hit = strstr(err->text, secret)) != NULL) {
        char rest[DP_ERR_TEXT_MAX];
        snprintf(rest, sizeof rest, "%s", hit + slen);
        size_t off = (size_t)(hit - err->text);
        snprintf(err->text + off, sizeof err->text - off, "***%s", rest);
    }
}

/* Category of a server error reply by its first word. */
static dp_err_code_t s_reply_code(const char *text)
{
    static const struct {
        const char *prefix;
        dp_err_code_t code;
    } map[] = {
        {"NOPERM", DP_ERR_AUTH},          {"NOAUTH", DP_ERR_AUTH},
        {"WRONGPASS", DP_ERR_AUTH},       {"READONLY", DP_ERR_UNREACHABLE},
        {"LOADING", DP_ERR_UNREACHABLE},  {"MASTERDOWN", DP_ERR_UNREACHABLE},
        {"TRYAGAIN", DP_ERR_UNREACHABLE}, {"BUSY", DP_ERR_UNREACHABLE},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(text, map[i].prefix, strlen(map[i].prefix)) == 0)
            return map[i].code;
    return DP_ERR_INTERNAL;
}

/* Fills err from a context's I/O error. */
static int s_io_err(dp_err_t *err, const redisContext *c, const char *what, const char *addr)
{
    bool slow = strstr(c->errstr, "timed out") || strstr(c->errstr, "temporarily unavailable");
    return dp_err_set(err, slow ? DP_ERR_TIMEOUT : DP_ERR_UNREACHABLE, "redis %s %s: %s", what,
                      addr, c->errstr);
}

/* Checks a raw reply: NULL -> I/O error, error reply -> freed and NULL; else the reply. */
static redisReply *s_check(redisContext *c, redisReply *rep, const char *what, const char *addr,
                           dp_err_t *err)
{
    if (!rep) {
        s_io_err(err, c, what, addr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        dp_err_set(err, s_reply_code(rep->str), "redis %s %s: %s", what, addr, rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

/* Connects to host:port with the timeout, sets the command timeout and AUTHs. */
static redisContext *s_open(const char *host, int port, int timeout_ms, const char *user,
                            const char *pass, dp_err_t *err)
{
    char addr[DP_REDIS_ADDR_MAX];
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    redisContext *c = redisConnectWithTimeout(host, port, s_timeval(timeout_ms));
    if (!c) {
        dp_err_set(err, DP_ERR_INTERNAL, "redis connect %s: out of memory", addr);
        return NULL;
    }
    if (c->err || redisSetTimeout(c, s_timeval(timeout_ms)) != REDIS_OK) {
        s_io_err(err, c, "connect", addr);
        redisFree(c);
        return NULL;
    }
    if (pass && *pass) {
        redisReply *rep = user && *user ? redisCommand(c, "AUTH %s %s", user, pass)
                                        : redisCommand(c, "AUTH %s", pass);
        rep = s_check(c, rep, "auth", addr, err);
        if (!rep) {
            if (err && err->code != DP_ERR_TIMEOUT && err->code != DP_ERR_UNREACHABLE)
                err->code = DP_ERR_AUTH;
            s_scrub(err, pass);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(rep);
    }
    return c;
}

/* Connects to the data server at host:port: AUTH, SELECT, optionally checks ROLE is master. */
static redisContext *s_open_master(dp_redis_t *r, const char *host, int port, bool check_role,
                                   dp_err_t *err)
{
    char addr[DP_REDIS_ADDR_MAX];
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    redisContext *c = s_open(host, port, r->timeout_ms, r->username, r->password, err);
    if (!c)
        return NULL;
    redisReply *rep;
    if (r->db != 0) {
        rep = s_check(c, redisCommand(c, "SELECT %d", r->db), "select", addr, err);
        if (!rep)
            goto fail;
        freeReplyObject(rep);
    }
    if (check_role) {
        rep = s_check(c, redisCommand(c, "ROLE"), "role", addr, err);
        if (!rep)
            goto fail;
        bool master = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
                      rep->element[0]->type == REDIS_REPLY_STRING &&
                      strcmp(rep->element[0]->str, "master") == 0;
        freeReplyObject(rep);
        if (!master) {
            dp_err_set(err, DP_ERR_UNREACHABLE, "redis %s: not a master (yet)", addr);
            goto fail;
        }
    }
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* Asks one sentinel for the master of r->service. Returns 0 with host/port, or -1 (err). */
static int s_sentinel_ask(dp_redis_t *r, const dp_redis_addr_t *s, char *host, size_t host_size,
                          int *port, dp_err_t *err)
{
    int t =
        r->timeout_ms < DP_REDIS_SENTINEL_TIMEOUT_MS ? r->timeout_ms : DP_REDIS_SENTINEL_TIMEOUT_MS;
    char addr[DP_REDIS_ADDR_MAX];
    snprintf(addr, sizeof addr, "%s:%d", s->host, s->port);
    redisContext *c = s_open(s->host, s->port, t, r->sentinel_username, r->sentinel_password, err);
    if (!c)
        return -1;
    redisReply *rep = s_check(c, redisCommand(c, "SENTINEL get-master-addr-by-name %s", r->service),
                              "sentinel", addr, err);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(host, host_size, "%s", rep->element[0]->str);
        *port = atoi(rep->element[1]->str);
        rc = *port > 0 && *port < 65536 ? 0 : -1;
        if (rc != 0)
            dp_err_set(err, DP_ERR_PROTO, "redis sentinel %s: bad master port", addr);
    } else if (rep) {
        dp_err_set(err, DP_ERR_NOTFOUND, "redis sentinel %s: no master named '%s'", addr,
                   r->service);
    }
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    return rc;
}

/* Resolves the master through the sentinels and connects to it. */
static redisContext *s_open_via_sentinels(dp_redis_t *r, dp_err_t *err)
{
    dp_redis_addr_t list[DP_REDIS_SENTINELS_MAX];
    int n = dp_redis_parse_addrs(r->sentinels, DP_REDIS_SENTINEL_PORT, list, DP_REDIS_SENTINELS_MAX,
                                 err);
    if (n < 0)
        return NULL;
    if (!r->service || !*r->service) {
        dp_err_set(err, DP_ERR_CONFIG, "redis: sentinels given but no sentinel service name");
        return NULL;
    }
    dp_err_t last = {DP_ERR_UNREACHABLE, "no sentinel configured"};
    char tried[DP_REDIS_ADDR_MAX] = "";
    for (int i = 0; i < n; i++) {
        int idx = (r->sentinel_first + i) % n;
        char host[DP_REDIS_HOST_MAX], addr[DP_REDIS_ADDR_MAX];
        int port = 0;
        if (s_sentinel_ask(r, &list[idx], host, sizeof host, &port, &last) != 0)
            continue;
        snprintf(addr, sizeof addr, "%s:%d", host, port);
        if (strcmp(addr, tried) == 0)
            continue; /* this master already failed in this round */
        snprintf(tried, sizeof tried, "%s", addr);
        redisContext *c = s_open_master(r, host, port, true, &last);
        if (c) {
            r->sentinel_first = idx;
            snprintf(r->addr, sizeof r->addr, "%s", addr);
            return c;
        }
        if (last.code == DP_ERR_AUTH || last.code == DP_ERR_CONFIG)
            break; /* every sentinel would lead to the same refusal */
    }
    dp_err_set(err, last.code, "%s (via sentinels, service %s)", last.text, r->service);
    return NULL;
}

/* Drops the context; an automatic reconnect is allowed on the next call. */
static void s_drop(dp_redis_t *r)
{
    r->pending = 0; /* their replies are lost with the connection */
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    r->next_try_ms = dp_time_mono_ms();
}

/* While connected under Sentinel, asks one sentinel (at most once a second) whether the master
   moved: a forced failover leaves the old master writable until Sentinel converts it, ~10 s
   later. Returns true when the address changed. A sentinel that does not answer is skipped. */
static bool s_master_moved(dp_redis_t *r)
{
    int64_t now = dp_time_mono_ms();
    if (!r->sentinels || now < r->next_check_ms)
        return false;
    r->next_check_ms = now + DP_REDIS_SENTINEL_CHECK_MS;
    dp_redis_addr_t list[DP_REDIS_SENTINELS_MAX];
    int n = dp_redis_parse_addrs(r->sentinels, DP_REDIS_SENTINEL_PORT, list, DP_REDIS_SENTINELS_MAX,
                                 NULL);
    if (n <= 0)
        return false;
    int idx = r->sentinel_first % n;
    char host[DP_REDIS_HOST_MAX], addr[DP_REDIS_ADDR_MAX];
    int port = 0;
    if (s_sentinel_ask(r, &list[idx], host, sizeof host, &port, NULL) != 0) {
        r->sentinel_first = (idx + 1) % n;
        return false;
    }
    snprintf(addr, sizeof addr, "%s:%d", host, port);
    return strcmp(addr, r->addr) != 0;
}

/* Makes sure a usable context exists, reconnecting when the backoff allows. */
static int s_ready(dp_redis_t *r, dp_err_t *err)
{
    if (r->pending > 0) /* unread pipelined replies would answer the next command */
        s_drop(r);
    if (r->ctx && !r->ctx->err && !s_master_moved(r))
        return 0;
    if (r->ctx)
        s_drop(r);
    int64_t wait_ms = r->next_try_ms - dp_time_mono_ms();
    if (wait_ms > 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "redis down, next reconnect in %lld ms: %s",
                          (long long)wait_ms, r->last_err.text);
    return dp_redis_connect(r, err);
}

/* Turns a command's reply into the public result. */
static redisReply *s_result(dp_redis_t *r, redisReply *rep, dp_err_t *err)
{
    if (!rep) {
        s_io_err(err, r->ctx, "command", r->addr);
        s_drop(r);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        dp_err_set(err, s_reply_code(rep->str), "%s", rep->str);
        if (r->sentinels && strncmp(rep->str, "READONLY", 8) == 0)
            s_drop(r); /* the master moved: re-resolve on the next call */
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

//  --------------------------------------------------------------------------
dp_redis_t *dp_redis_new(const dp_redis_opts_t *o)
{
    if (!o || ((!o->host || !*o->host) && (!o->sentinels || !*o->sentinels)))
        return NULL;
    dp_redis_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->host = s_dup(o->host);
    r->port = o->port > 0 ? o->port : 6379;
    r->db = o->db;
    r->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DP_REDIS_TIMEOUT_MS;
    r->username = s_dup(o->username);
    r->password = s_dup(o->password);
    r->sentinels = o->sentinels && *o->sentinels ? s_dup(o->sentinels) : NULL;
    r->service = s_dup(o->service);
    r->sentinel_username = s_dup(o->sentinel_username);
    r->sentinel_password = s_dup(o->sentinel_password);
    r->node_id = s_dup(o->node_id);
    r->backoff_ms = DP_REDIS_BACKOFF_MIN_MS;
    return r;
}

//  --------------------------------------------------------------------------
void dp_redis_destroy(dp_redis_t **p)
{
    if (!p || !*p)
        return;
    dp_redis_t *r = *p;
    if (r->ctx)
        redisFree(r->ctx);
    free(r->host);
    free(r->username);
    s_free_secret(&r->password);
    free(r->sentinels);
    free(r->service);
    free(r->sentinel_username);
    s_free_secret(&r->sentinel_password);
    free(r->node_id);
    free(r);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_redis_connect(dp_redis_t *r, dp_err_t *err)
{
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
    dp_err_t local = {0};
    redisContext *c;
    if (r->sentinels) {
        c = s_open_via_sentinels(r, &local);
    } else {
        c = s_open_master(r, r->host, r->port, false, &local);
        if (c)
            snprintf(r->addr, sizeof r->addr, "%s:%d", r->host, r->port);
    }
    if (!c) {
        r->last_err = local;
        r->next_try_ms = dp_time_mono_ms() + r->backoff_ms;
        r->backoff_ms = r->backoff_ms * 2 > DP_REDIS_BACKOFF_MAX_MS ? DP_REDIS_BACKOFF_MAX_MS
                                                                    : r->backoff_ms * 2;
        if (err)
            *err = local;
        return -1;
    }
    r->ctx = c;
    r->connects++;
    r->next_check_ms = dp_time_mono_ms() + DP_REDIS_SENTINEL_CHECK_MS;
    r->backoff_ms = DP_REDIS_BACKOFF_MIN_MS;
    r->next_try_ms = 0;
    dp_err_clear(&r->last_err);
    return 0;
}

//  --------------------------------------------------------------------------
redisReply *dp_redis_command(dp_redis_t *r, dp_err_t *err, const char *fmt, ...)
{
    if (s_ready(r, err) != 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(r->ctx, fmt, ap);
    va_end(ap);
    return s_result(r, rep, err);
}

//  --------------------------------------------------------------------------
redisReply *dp_redis_command_argv(dp_redis_t *r, dp_err_t *err, int argc, const char **argv,
                                  const size_t *argvlen)
{
    if (s_ready(r, err) != 0)
        return NULL;
    return s_result(r, redisCommandArgv(r->ctx, argc, argv, argvlen), err);
}

//  --------------------------------------------------------------------------
int dp_redis_append_argv(dp_redis_t *r, dp_err_t *err, int argc, const char **argv,
                         const size_t *argvlen)
{
    if (r->pending == 0 && s_ready(r, err) != 0)
        return -1;
    if (!r->ctx)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "redis connection lost in a pipeline");
    if (redisAppendCommandArgv(r->ctx, argc, argv, argvlen) != REDIS_OK)
        return dp_err_set(err, DP_ERR_INTERNAL, "redis pipeline: out of memory");
    r->pending++;
    return 0;
}

//  --------------------------------------------------------------------------
redisReply *dp_redis_get_reply(dp_redis_t *r, dp_err_t *err)
{
    if (r->pending <= 0 || !r->ctx) {
        dp_err_set(err, DP_ERR_UNREACHABLE, "redis pipeline: no reply (connection lost)");
        return NULL;
    }
    r->pending--;
    void *rep = NULL;
    if (redisGetReply(r->ctx, &rep) != REDIS_OK)
        rep = NULL;
    return s_result(r, rep, err);
}

//  --------------------------------------------------------------------------
bool dp_redis_is_connected(const dp_redis_t *r)
{
    return r && r->ctx && !r->ctx->err;
}

//  --------------------------------------------------------------------------
const char *dp_redis_master_addr(const dp_redis_t *r)
{
    return r->addr;
}

//  --------------------------------------------------------------------------
uint64_t dp_redis_connects(const dp_redis_t *r)
{
    return r->connects;
}

/* Parses one trimmed "host[:port]" / "[v6][:port]" entry of length len. */
static int s_parse_addr(const char *e, size_t len, int default_port, dp_redis_addr_t *out,
                        dp_err_t *err)
{
    const char *host = e, *port = NULL;
    size_t host_len = len;
    if (len > 0 && e[0] == '[') {
        const char *close = memchr(e, ']', len);
        if (!close || (close + 1 < e + len && close[1] != ':'))
            goto bad;
        host = e + 1;
        host_len = (size_t)(close - host);
        port = close + 1 < e + len ? close + 2 : NULL;
    } else {
        const char *colon = memchr(e, ':', len);
        if (colon) {
            if (memchr(colon + 1, ':', (size_t)(e + len - colon - 1)))
                goto bad; /* bare IPv6 needs brackets */
            host_len = (size_t)(colon - e);
            port = colon + 1;
        }
    }
    if (host_len == 0 || host_len >= sizeof out->host)
        goto bad;
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    out->port = default_port;
    if (port) {
        size_t plen = (size_t)(e + len - port);
        long v = 0;
        if (plen == 0 || plen > 5)
            goto bad;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)port[i]))
                goto bad;
            v = v * 10 + (port[i] - '0');
        }
        out->port = (int)v;
    }
    if (out->port < 1 || out->port > 65535)
        goto bad;
    return 0;
bad:
    return dp_err_set(err, DP_ERR_CONFIG, "bad redis address '%.*s' (expected host:port)",
                      (int)(len > 100 ? 100 : len), e);
}

//  --------------------------------------------------------------------------
int dp_redis_parse_addrs(const char *list, int default_port, dp_redis_addr_t *out, int max,
                         dp_err_t *err)
{
    if (!list || !*list)
        return dp_err_set(err, DP_ERR_CONFIG, "empty redis address list");
    int n = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (n >= max)
            return dp_err_set(err, DP_ERR_CONFIG, "too many redis addresses (max %d)", max);
        if (s_parse_addr(b, (size_t)(e - b), default_port, &out[n], err) != 0)
            return -1;
        n++;
        if (!*end)
            break;
        p = end + 1;
    }
    return n;
}

//  --------------------------------------------------------------------------
int dp_lock_token_make(const char *node_id, char *buf, size_t size, dp_err_t *err)
{
    unsigned char raw[DP_LOCK_TOKEN_RANDOM];
    size_t prefix = node_id && *node_id ? strlen(node_id) + 1 : 0;
    if (size < prefix + 2 * sizeof raw + 1)
        return dp_err_set(err, DP_ERR_INTERNAL, "lock token buffer too small");
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "open /dev/urandom: %s", strerror(errno));
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = read(fd, raw + got, sizeof raw - got);
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            close(fd);
            return dp_err_set(err, DP_ERR_INTERNAL, "read /dev/urandom failed");
        }
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    char *w = buf;
    if (prefix)
        w += sprintf(w, "%s-", node_id);
    for (size_t i = 0; i < sizeof raw; i++)
        w += sprintf(w, "%02x", raw[i]);
    return 0;
}

//  --------------------------------------------------------------------------
int64_t dp_lock_validity_ms(int ttl_ms, int64_t sent_ms, int64_t now_ms)
{
    int64_t drift = ttl_ms / DP_LOCK_DRIFT_DIVISOR + DP_LOCK_DRIFT_MIN_MS;
    return (int64_t)ttl_ms - (now_ms - sent_ms) - drift;
}

/* Waits for replica acks per the lock's policy. Returns 0, or -1 (err). */
static int s_lock_replicated(dp_lock_t *l, dp_err_t *err)
{
    int need = l->wait_replicas;
    if (need < 0) {
        redisReply *rep = dp_redis_command(l->redis, err, "INFO replication");
        if (!rep)
            return -1;
        const char *at =
            rep->type == REDIS_REPLY_STRING ? strstr(rep->str, "connected_slaves:") : NULL;
        need = at && atoi(at + strlen("connected_slaves:")) > 0 ? 1 : 0;
        freeReplyObject(rep);
    }
    if (need == 0)
        return 0;
    redisReply *rep = dp_redis_command(l->redis, err, "WAIT %d %d", need, DP_LOCK_WAIT_MS);
    if (!rep)
        return -1;
    long long acks = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
    freeReplyObject(rep);
    if (acks < need)
        return dp_err_set(err, DP_ERR_BUSY, "lock %s not acknowledged by replicas (%lld of %d)",
                          l->key, acks, need);
    return 0;
}

/* Runs one lock script with KEYS[1]=key, ARGV[1]=token, ARGV[2]=ttl. */
static redisReply *s_lock_eval(dp_lock_t *l, const char *script, dp_err_t *err)
{
    return dp_redis_command(l->redis, err, "EVAL %s 1 %s %s %d", script, l->key, l->token,
                            l->ttl_ms);
}

//  --------------------------------------------------------------------------
dp_lock_t *dp_lock_new(dp_redis_t *r, const char *key, const char *owner_token, int ttl_ms)
{
    if (!r || !key || !*key || ttl_ms <= 0 || (owner_token && !*owner_token))
        return NULL;
    char token[DP_LOCK_TOKEN_MAX];
    if (owner_token)
        snprintf(token, sizeof token, "%s", owner_token);
    else if (dp_lock_token_make(r->node_id, token, sizeof token, NULL) != 0)
        return NULL;
    dp_lock_t *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->redis = r;
    l->key = s_dup(key);
    l->token = s_dup(owner_token ? owner_token : token);
    l->ttl_ms = ttl_ms;
    l->wait_replicas = -1;
    return l;
}

//  --------------------------------------------------------------------------
void dp_lock_destroy(dp_lock_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->key);
    free((*p)->token);
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void dp_lock_set_wait_replicas(dp_lock_t *l, int n)
{
    l->wait_replicas = n < 0 ? -1 : n;
}

//  --------------------------------------------------------------------------
int dp_lock_acquire(dp_lock_t *l, dp_err_t *err)
{
    int64_t sent = dp_time_mono_ms();
    redisReply *rep = s_lock_eval(l, s_lua_acquire, err);
    if (!rep)
        return -1; /* unknown outcome: a lease we held keeps running down by the clock */
    if (rep->type == REDIS_REPLY_STRING) {
        dp_err_set(err, DP_ERR_BUSY, "lock %s held by %s", l->key, rep->str);
        freeReplyObject(rep);
        l->held = false;
        return -1;
    }
    bool ours = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    if (!ours) {
        l->held = false;
        return dp_err_set(err, DP_ERR_PROTO, "lock %s: unexpected acquire reply", l->key);
    }
    if (s_lock_replicated(l, err) != 0) {
        redisReply *del = s_lock_eval(l, s_lua_release, NULL);
        if (del)
            freeReplyObject(del);
        l->held = false;
        return -1;
    }
    l->held = true;
    l->sent_ms = sent;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_lock_renew(dp_lock_t *l, dp_err_t *err)
{
    int64_t sent = dp_time_mono_ms();
    redisReply *rep = s_lock_eval(l, s_lua_renew, err);
    if (!rep)
        return -1;
    bool ours = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    if (!ours) {
        l->held = false;
        return dp_err_set(err, DP_ERR_BUSY, "lock %s lost (expired or taken)", l->key);
    }
    if (s_lock_replicated(l, err) != 0)
        return -1;
    l->held = true;
    l->sent_ms = sent;
    return 0;
}

//  --------------------------------------------------------------------------
int dp_lock_release(dp_lock_t *l, dp_err_t *err)
{
    l->held = false;
    redisReply *rep = s_lock_eval(l, s_lua_release, err);
    if (!rep)
        return -1;
    bool deleted = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    if (!deleted)
        return dp_err_set(err, DP_ERR_BUSY, "lock %s not held by this owner", l->key);
    return 0;
}

//  --------------------------------------------------------------------------
bool dp_lock_is_valid(const dp_lock_t *l)
{
    return dp_lock_remaining_ms(l) > 0;
}

//  --------------------------------------------------------------------------
int64_t dp_lock_remaining_ms(const dp_lock_t *l)
{
    if (!l->held)
        return 0;
    return dp_lock_validity_ms(l->ttl_ms, l->sent_ms, dp_time_mono_ms());
}

//  --------------------------------------------------------------------------
const char *dp_lock_owner(const dp_lock_t *l)
{
    return l->token;
}

//  --------------------------------------------------------------------------
const char *dp_lock_key(const dp_lock_t *l)
{
    return l->key;
}

//  --------------------------------------------------------------------------
char *dp_lock_holder(dp_redis_t *r, const char *key, dp_err_t *err)
{
    redisReply *rep = dp_redis_command(r, err, "GET %s", key);
    if (!rep)
        return NULL;
    char *holder = NULL;
    if (rep->type == REDIS_REPLY_STRING)
        holder = s_dup(rep->str);
    else
        dp_err_set(err, DP_ERR_NOTFOUND, "lock %s is free", key);
    freeReplyObject(rep);
    return holder;
}
