/*  dp_redis.h - hiredis 0.14 connection (AUTH, SELECT, Sentinel, bounded reconnect) and locks
    One dp_redis_t per thread; it owns one synchronous redisContext and rebuilds it after any
    error (an errored hiredis context cannot be reused). A dp_lock_t is a lease with an owner
    token (SET NX PX, Lua compare-and-pexpire / compare-and-del); it is liveness only: pair it
    with the MariaDB fencing epoch (RELIABILITY.md 2.4). hiredis writes with write(2), so the
    process must ignore SIGPIPE.
    SPDX-License-Identifier: MIT */
#ifndef DP_REDIS_H
#define DP_REDIS_H

#include "dp_err.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_REDIS_HOST_MAX      256   /* longest host name in an address */
#define DP_REDIS_SENTINEL_PORT 26379 /* default port of a sentinel without ":port" */
#define DP_LOCK_TOKEN_RANDOM   20    /* random bytes in a generated token (hex-encoded) */
#define DP_LOCK_TOKEN_MAX      160   /* buffer size for a generated token */

/* Connection options. Strings are borrowed for the duration of dp_redis_new, which copies them.
   NULL strings mean "not set". With sentinels set, host/port are ignored and the master of
   service is asked from the sentinels on every (re)connect. */
typedef struct {
    char *host;              /* master host (no sentinel) */
    int port;                /* master port (no sentinel) */
    int db;                  /* SELECT this db when not 0 */
    int timeout_ms;          /* connect and command timeout; <= 0 means 500 */
    char *username;          /* ACL user; NULL -> AUTH password only */
    char *password;          /* NULL -> no AUTH */
    char *sentinels;         /* "h1:p1,h2:p2" or NULL */
    char *service;           /* sentinel master name (REDIS_SENTINEL_SERVICE) */
    char *sentinel_username; /* ACL user on the sentinels, or NULL */
    char *sentinel_password; /* sentinel password, or NULL */
    char *node_id;           /* prefix of generated lock tokens, or NULL */
} dp_redis_opts_t;

/* One parsed "host:port" ("[v6]:port" accepted). */
typedef struct {
    char host[DP_REDIS_HOST_MAX]; /* host name or address, no brackets */
    int port;                     /* 1..65535 */
} dp_redis_addr_t;

typedef struct dp_redis dp_redis_t;
typedef struct dp_lock dp_lock_t;

// ---------------------------------------------------------------------------- connection

/* Creates an unconnected handle from opts (copied). Returns NULL only when o is NULL or has
   neither host nor sentinels; other bad options (sentinel list, missing service) are reported
   by dp_redis_connect as DP_ERR_CONFIG. Caller owns the result; free with dp_redis_destroy. */
dp_redis_t *dp_redis_new(const dp_redis_opts_t *o);

/* Closes the connection and frees the handle. NULL-safe, idempotent; sets *p to NULL. */
void dp_redis_destroy(dp_redis_t **p);

/* (Re)connects now, whatever the backoff says: resolves the master via the sentinels when
   configured (and checks ROLE is master), connects with the timeout, AUTHs, SELECTs, sets the
   command timeout. Returns 0, or -1 with err DP_ERR_UNREACHABLE / TIMEOUT / AUTH (server text,
   e.g. WRONGPASS..., never the password). */
int dp_redis_connect(dp_redis_t *r, dp_err_t *err);

/* Runs one command (hiredis printf-style format; %s and %b are single binary-safe args).
   When the connection is down it reconnects first, at most once per call and only when the
   backoff delay (100 ms doubling to 5 s, reset on success) has elapsed; otherwise it fails fast
   with DP_ERR_UNREACHABLE. Under Sentinel, while connected, it also asks one sentinel at most
   once a second whether the master moved, and reconnects to the new one if so. The command itself
   is never retried (it may not be idempotent). Returns the reply (caller frees with
   freeReplyObject), or NULL with err set: I/O failure (TIMEOUT/UNREACHABLE; the connection is
   dropped), or an error reply (err text = the reply, e.g. "NOPERM ..."; code AUTH for
   NOPERM/NOAUTH/WRONGPASS, UNREACHABLE for READONLY/LOADING/ MASTERDOWN, else INTERNAL; the
   connection stays usable, except that READONLY under Sentinel drops it so the next call
   re-resolves the master). */
redisReply *dp_redis_command(dp_redis_t *r, dp_err_t *err, const char *fmt, ...);

/* As dp_redis_command, with argc binary-safe arguments (argvlen NULL -> strlen). */
redisReply *dp_redis_command_argv(dp_redis_t *r, dp_err_t *err, int argc, const char **argv,
                                  const size_t *argvlen);

/* Pipelining: dp_redis_append_argv queues a command (connecting first as dp_redis_command does
   when nothing is queued; 0 or -1 with err); dp_redis_get_reply sends what is queued and returns
   the next reply in order, with dp_redis_command's result rules (NULL with err on an error reply
   or I/O failure; after an I/O failure the remaining replies are NULL too). Read every queued
   reply before any other command on r (otherwise that command drops the connection). */
int dp_redis_append_argv(dp_redis_t *r, dp_err_t *err, int argc, const char **argv,
                         const size_t *argvlen);
redisReply *dp_redis_get_reply(dp_redis_t *r, dp_err_t *err);

/* True while a usable (not errored) context exists. */
bool dp_redis_is_connected(const dp_redis_t *r);

/* "host:port" of the server last connected to (the resolved master under Sentinel), or "" before
   the first connect. Borrowed; valid until the next call on r. */
const char *dp_redis_master_addr(const dp_redis_t *r);

/* Number of successful (re)connects so far; for counters and tests. */
uint64_t dp_redis_connects(const dp_redis_t *r);

// ---------------------------------------------------------------------------- pure helpers

/* Parses a comma-separated list "h1:p1, h2:p2, [::1]:p3" into out[0..max); an entry without a
   port gets default_port. Returns the count (>= 1), or -1 with err DP_ERR_CONFIG naming the
   bad entry. */
int dp_redis_parse_addrs(const char *list, int default_port, dp_redis_addr_t *out, int max,
                         dp_err_t *err);

/* Writes "<node_id>-<40 hex chars>" (or just the hex without node_id) from /dev/urandom into
   buf. Returns 0, or -1 with err (DP_ERR_INTERNAL: urandom unreadable, buffer too small). */
int dp_lock_token_make(const char *node_id, char *buf, size_t size, dp_err_t *err);

/* Remaining validity of a lease of ttl_ms whose acquire/renew was sent at sent_ms, at now_ms
   (same monotonic clock): ttl - (now - sent) - drift, drift = ttl/100 + 2 ms. May be <= 0. */
int64_t dp_lock_validity_ms(int ttl_ms, int64_t sent_ms, int64_t now_ms);

// ---------------------------------------------------------------------------- locks

/* Creates a lock on key with ttl_ms over connection r (borrowed; must outlive the lock).
   owner_token NULL -> a fresh random token prefixed by the node id of r's opts. Does not talk to
   Redis. Returns NULL on bad arguments (empty key, ttl_ms <= 0) or when /dev/urandom cannot be
   read. Caller owns the result; free with dp_lock_destroy. */
dp_lock_t *dp_lock_new(dp_redis_t *r, const char *key, const char *owner_token, int ttl_ms);

/* Frees the lock. Does NOT release it in Redis (call dp_lock_release first to hand over early).
   NULL-safe, idempotent; sets *p to NULL. */
void dp_lock_destroy(dp_lock_t **p);

/* Replica acknowledgement policy after acquire/renew: -1 (default) auto: when INFO replication
   shows connected_slaves > 0, require WAIT 1 100 to ack; 0 never wait; n > 0 always WAIT n. */
void dp_lock_set_wait_replicas(dp_lock_t *l, int n);

/* Takes the lock (SET NX PX; if we already own it, extends it). Returns 0 when held, or -1:
   DP_ERR_BUSY (someone else holds it: err text names the holder token; or the write was not
   acknowledged by a replica, then our key is released again), or the connection's error. */
int dp_lock_acquire(dp_lock_t *l, dp_err_t *err);

/* Extends the lease (Lua: if GET == token then PEXPIRE). Returns 0, or -1: DP_ERR_BUSY when the
   lock was lost (expired or taken) or not replicated, or the connection's error. Validity only
   advances on success. */
int dp_lock_renew(dp_lock_t *l, dp_err_t *err);

/* Releases (Lua compare-and-del). Returns 0 when our key was deleted, or -1: DP_ERR_BUSY when
   the key is not ours (someone else's key is left alone), or the connection's error. The local
   lease is void afterwards either way. */
int dp_lock_release(dp_lock_t *l, dp_err_t *err);

/* True while the lease is held by the local monotonic clock (see dp_lock_validity_ms). This is
   what a leader checks before emitting work. */
bool dp_lock_is_valid(const dp_lock_t *l);

/* Milliseconds of validity left (<= 0 when not held). */
int64_t dp_lock_remaining_ms(const dp_lock_t *l);

/* The owner token. Borrowed; valid while l lives. */
const char *dp_lock_owner(const dp_lock_t *l);

/* The key. Borrowed; valid while l lives. */
const char *dp_lock_key(const dp_lock_t *l);

/* Who holds key now (GET). Returns a string the caller frees with free(), or NULL with err:
   DP_ERR_NOTFOUND when nobody holds it, or the connection's error. */
char *dp_lock_holder(dp_redis_t *r, const char *key, dp_err_t *err);

#endif
