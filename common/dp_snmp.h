/*  dp_snmp.h - asynchronous SNMP engine on net-snmp's single-session API
    One dp_snmp_t per thread, used only by that thread: it opens one net-snmp session (one UDP
    socket) per device poll, keeps hundreds to thousands of requests in flight, and exposes one
    epoll fd plus a timeout for the thread's own poll loop (zmq_poll with a raw fd item).
    Work is expressed as multi-column walks: GETBULK of every still-open column in one request
    (GETNEXT for v1), max-repetitions chosen by the caller, tooBig answered by shrinking the
    request, endOfMibView / noSuchName / leaving the column ending a column, and every value
    handed to a callback without copies. Scalars ride along as non-repeaters.
    Error classification per session: a device that never answers times out (after net-snmp's
    retries); unparseable datagrams and replies with an unknown request id are counted on the
    session so the timeout names them ("malformed reply", "wrong request id"); a v3 device that
    stays silent is reported as "no response (v3 priv mismatch?)". Nothing that one device sends
    affects another session.
    Call dp_snmp_init once in main before threads start. v3 sessions share net-snmp's global USM
    tables, so every net-snmp call on a v3 session is serialised by a process-wide mutex, and
    two sessions to one engine id with one user name but different passphrases must not run at
    once (net-snmp keeps one key set per (engine id, user)).
    Engine in dp_snmp.c; pure helpers, protocol tables, init and key derivation in
    dp_snmp_util.c.
    SPDX-License-Identifier: MIT */
#ifndef DP_SNMP_H
#define DP_SNMP_H

#include "dp_err.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_SNMP_COLS_MAX   32  /* columns (incl. scalars) in one walk */
#define DP_SNMP_OID_MAX    32  /* sub-ids of any OID a walk follows */
#define DP_SNMP_WALKS_MAX  4   /* walks running at once on one session */
#define DP_SNMP_ENGINE_MAX 32  /* bytes of a cached v3 engine id */
#define DP_SNMP_KU_MAX     64  /* bytes of a cached Ku (SHA-512) */
#define DP_SNMP_MAXREP_MAX 256 /* largest max-repetitions sent */
#define DP_SNMP_DETAIL_MAX 128 /* error detail text */

typedef enum { DP_SNMP_V1 = 1, DP_SNMP_V2C, DP_SNMP_V3 } dp_snmp_version_t;
typedef enum {
    DP_SNMP_NOAUTH = 0, /* noAuthNoPriv */
    DP_SNMP_AUTHNOPRIV,
    DP_SNMP_AUTHPRIV
} dp_snmp_level_t;

/* Outcome of a walk. */
typedef enum {
    DP_SNMP_OK = 0,
    DP_SNMP_TIMEOUT,   /* no (usable) answer after retries; detail says why */
    DP_SNMP_TOOBIG,    /* tooBig even for one column and one repetition */
    DP_SNMP_ERRSTAT,   /* agent error-status that names no column */
    DP_SNMP_AUTH,      /* v3 report: wrong digest, unknown user, ... */
    DP_SNMP_SEND,      /* could not send */
    DP_SNMP_CANCELLED, /* session closed with the walk running */
} dp_snmp_status_t;

/* Where and how to reach a device. Strings are borrowed for dp_snmp_open (copied there). For
   v3 the Ku keys are derived from the passphrases once (dp_snmp_target_keys: ~1 MB of hashing)
   and can be kept by the caller between polls; engine_id likewise (learnt by the first poll). */
typedef struct {
    const char *host; /* IPv4/IPv6 literal or name */
    int port;         /* UDP port; 0 = 161 */
    dp_snmp_version_t version;
    const char *community; /* v1/v2c */
    int timeout_ms;        /* per attempt */
    int retries;           /* after the first attempt */
    /* v3 */
    const char *sec_name;
    dp_snmp_level_t level;
    const char *auth_proto; /* MD5 SHA SHA-224 SHA-256 SHA-384 SHA-512 */
    const char *priv_proto; /* DES AES AES-192 AES-256 */
    uint8_t auth_ku[DP_SNMP_KU_MAX];
    size_t auth_ku_len; /* 0 = derive from auth_pass at open */
    uint8_t priv_ku[DP_SNMP_KU_MAX];
    size_t priv_ku_len;
    const char *auth_pass; /* used only when the Ku is not set */
    const char *priv_pass;
    uint8_t engine_id[DP_SNMP_ENGINE_MAX];
    size_t engine_id_len; /* 0 = discover (one extra round trip) */
} dp_snmp_target_t;

/* One column (or scalar) of a walk: the walk follows OIDs under prefix. A scalar is asked as a
   non-repeater (GETNEXT of prefix) and ends after its first value. */
typedef struct {
    const oid *prefix;
    size_t len;
    bool scalar;
} dp_snmp_col_t;

typedef struct dp_snmp dp_snmp_t;
typedef struct dp_snmp_sess dp_snmp_sess_t;

/* One value of column col: idx/idx_len is the OID part after the column prefix (the row
   index). v is net-snmp's varbind, valid only during the call. at_ms: wall ms the reply came. */
typedef void(dp_snmp_var_fn)(void *arg, int col, const oid *idx, size_t idx_len,
                             const netsnmp_variable_list *v, int64_t at_ms);
/* The walk ended; detail is "" on success. Called from dp_snmp_process, never from inside a
   net-snmp call; the callee may close the session. */
typedef void(dp_snmp_done_fn)(void *arg, dp_snmp_status_t status, const char *detail);

/* Engine-wide counters (this thread's engine). */
typedef struct {
    uint64_t requests;     /* PDUs handed to net-snmp (first sends) */
    uint64_t timeouts;     /* walks that timed out */
    uint64_t parse_errors; /* datagrams net-snmp could not parse */
    uint64_t bad_reqids;   /* replies matching no request */
    uint64_t toobig;       /* tooBig replies (request shrunk) */
    uint64_t sessions;     /* sessions opened */
} dp_snmp_stats_t;

/* Once per process, in main before any thread: init_snmp(app) without reading configs or
   MIBs, numeric OIDs, no persistent state. Returns 0 or -1. */
int dp_snmp_init(const char *app);

/* Parses "v1" | "v2c" | "v3" and the v3 level / protocol names (case-insensitive).
   Return 0 or -1. */
int dp_snmp_version_parse(const char *text, dp_snmp_version_t *out);
int dp_snmp_level_parse(const char *text, dp_snmp_level_t *out);
bool dp_snmp_auth_proto_valid(const char *name);
bool dp_snmp_priv_proto_valid(const char *name);

/* net-snmp's protocol OID for an auth (MD5, SHA, SHA-224..SHA-512) or priv (DES, AES, AES-192,
   AES-256) name, case-insensitive; *len set. NULL when unknown. Static arrays. */
const oid *dp_snmp_auth_oid(const char *name, size_t *len);
const oid *dp_snmp_priv_oid(const char *name, size_t *len);

/* Derives the Ku keys of t from its passphrases (when not set yet). Expensive: call once per
   device and keep t. Returns 0 or -1 with err (DP_ERR_CONFIG: unknown protocol, short pass). */
int dp_snmp_target_keys(dp_snmp_target_t *t, dp_err_t *err);

/* New engine keeping at most max_inflight requests in flight (walks beyond wait their turn).
   Caller owns result; free with dp_snmp_destroy. NULL on error. */
dp_snmp_t *dp_snmp_new(int max_inflight);

/* Closes every session; running walks are dropped without done callbacks. NULL-safe. */
void dp_snmp_destroy(dp_snmp_t **p);

/* Sets the in-flight limit (>= 1). */
void dp_snmp_set_inflight(dp_snmp_t *e, int max_inflight);

/* fd to wait on for readability (an epoll fd over every session socket). */
int dp_snmp_fd(const dp_snmp_t *e);

/* Milliseconds until dp_snmp_process has timer work (-1: none; 0: now). */
int dp_snmp_timeout_ms(dp_snmp_t *e);

/* Reads whatever is ready (without blocking), handles due timeouts and retries, sends queued
   requests and calls completion callbacks. */
void dp_snmp_process(dp_snmp_t *e);

/* Requests in flight and walks waiting for a slot. */
int dp_snmp_inflight(const dp_snmp_t *e);
int dp_snmp_waiting(const dp_snmp_t *e);
const dp_snmp_stats_t *dp_snmp_stats(const dp_snmp_t *e);

/* Opens a session to t. Returns it (owned by the engine until dp_snmp_close) or NULL with err
   (DP_ERR_CONFIG for bad target fields, DP_ERR_UNREACHABLE when the transport cannot open). */
dp_snmp_sess_t *dp_snmp_open(dp_snmp_t *e, const dp_snmp_target_t *t, dp_err_t *err);

/* Closes the session; every walk still running (requests in flight included) gets exactly one
   done callback with DP_SNMP_CANCELLED, from the next dp_snmp_process (never from inside this
   call). Safe from any done callback, of this session or another. The socket and net-snmp
   session are released after those callbacks (net-snmp's own close calls its pending requests
   back; the engine keeps their walks alive until then). NULL-safe; sets *p to NULL. */
void dp_snmp_close(dp_snmp_sess_t **p);

/* The v3 engine id learnt or used by the session (to cache for the next poll); 0 if none. */
size_t dp_snmp_engine_id(const dp_snmp_sess_t *s, uint8_t *buf, size_t size);

/* Starts a walk of ncols columns (cols and their prefixes are borrowed until the walk ends)
   with max_rep repetitions per GETBULK (clamped 1..DP_SNMP_MAXREP_MAX). Returns 0, or -1 with
   err (too many columns or walks on the session, OID too long). */
int dp_snmp_walk(dp_snmp_sess_t *s, const dp_snmp_col_t *cols, int ncols, int max_rep,
                 dp_snmp_var_fn *on_var, dp_snmp_done_fn *on_done, void *arg, dp_err_t *err);

/* Short name of a status ("timeout"). Static string. */
const char *dp_snmp_status_name(dp_snmp_status_t status);

/* ---- pure helpers (unit-tested) ---- */

/* Parses a dotted numeric OID ("1.3.6.1.2.1.1.3" or with a leading dot) into out. Returns the
   length, or -1 when malformed or longer than max. */
int dp_snmp_oid_parse(const char *text, oid *out, size_t max);

/* True when name lies strictly under prefix (longer and starting with it). */
bool dp_snmp_oid_under(const oid *prefix, size_t plen, const oid *name, size_t nlen);

/* Which request column the i-th varbind of a GETBULK reply belongs to, given nonrep
   non-repeaters and nrep repeaters: 0..nonrep-1 for the non-repeaters, then nonrep + (i -
   nonrep) % nrep. -1 when i is out of range for them (nrep 0 and i >= nonrep). */
int dp_snmp_bulk_col(int i, int nonrep, int nrep);

/* max-repetitions and column count after a tooBig reply: halves max_rep while > 1, then halves
 *cols_per_req. Returns false when both are already 1 (give up). */
bool dp_snmp_shrink(int *max_rep, int *cols_per_req);

/* Integer value of a numeric varbind (INTEGER, Counter32/64, Gauge32, TimeTicks, Unsigned32).
   Returns false for other types and exceptions. bits: 32 or 64 (may be NULL). */
bool dp_snmp_var_u64(const netsnmp_variable_list *v, uint64_t *out, int *bits);

/* Copies an OCTET STRING varbind into buf as text (NUL-terminated, truncated to size - 1).
   Returns false for other types. */
bool dp_snmp_var_str(const netsnmp_variable_list *v, char *buf, size_t size);

#endif
