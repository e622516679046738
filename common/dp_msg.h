/*  dp_msg.h - wire messages between distpoll stages (the only wire-format module)
    Every message is declared once in the X-macro lists below; the C structs here and the
    encode, decode, validate, print and free code in dp_msg.c all derive from those lists.
    A message owns all its strings and arrays; dp_msg_destroy frees them. Built messages hold
   malloc'd fields; a decoded message keeps its body in one arena (see dp_msg_t.arena).
    Functions are thread-safe (no shared state). Decoding never asserts on received bytes.
    SPDX-License-Identifier: MIT */
#ifndef DP_MSG_H
#define DP_MSG_H

#include "dp_err.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Wire envelope: one msgpack array
       [schema_version, type_id, msg_id, created_ms, sender_node, body]
   where body is a msgpack map keyed by the field names below (short strings).
   Version policy: add optional keys freely (decoders ignore unknown keys); bump
   DP_MSG_SCHEMA_VERSION only for incompatible changes. Decoders accept the current and the
   previous version (DP_MSG_SCHEMA_MIN..DP_MSG_SCHEMA_VERSION) during a rolling upgrade.
   Rolling-upgrade rule for METRICS.dsets (added without a version bump, so JOB/CREDIT/...
   between mixed versions keep working): a worker that puts updates on dsets sends updates
   without their own "ds", which an older rrdwriter rejects ("ds: missing required key").
   Upgrade every rrdwriter before the workers. New rrdwriters accept both forms. */
#define DP_MSG_SCHEMA_VERSION 1
#define DP_MSG_SCHEMA_MIN     (DP_MSG_SCHEMA_VERSION > 1 ? DP_MSG_SCHEMA_VERSION - 1 : 1)

/* Limits, enforced by decode, validate and encode. */
#define DP_MSG_MAX_BYTES    (4 * 1024 * 1024) /* largest encoded message; set ZMQ_MAXMSGSIZE */
#define DP_MSG_NODE_MAX     64                /* node id / sender_node length */
#define DP_MSG_NAME_MAX     64                /* stage, daemon, counter name length */
#define DP_MSG_HOST_MAX     255               /* hostname length */
#define DP_MSG_PATH_MAX     255               /* relative rrd path length */
#define DP_MSG_REASON_MAX   1024              /* free-text reason length */
#define DP_MSG_DS_DEF_MAX   128               /* one DS definition "NAME:TYPE:HB:MIN:MAX" */
#define DP_MSG_DS_MAX       64                /* data sources (and values) per rrd update */
#define DP_MSG_UPDATES_MAX  4096              /* rrd updates per METRICS message */
#define DP_MSG_DSETS_MAX    64                /* shared DS lists per METRICS message */
#define DP_MSG_GROUPS_MAX   256               /* poller groups per CREDIT */
#define DP_MSG_COUNTERS_MAX 1024              /* counters per HEARTBEAT */
#define DP_MSG_CREDIT_MAX   100000            /* free slots announced in one CREDIT */
#define DP_MSG_ATTEMPT_MAX  1000              /* dispatch attempts of one job */
#define DP_MSG_INT_MAX      2147483647        /* default upper bound of INT fields */
#define DP_MSG_ACK_IDS_MAX  65536             /* msg ids acknowledged by one ACK */

/* Field lists: X(kind, name, req, limit, sub)
     kind   U64 (uint64_t), I64 (int64_t), INT (int in 0..limit), STR (char *, at most limit
            bytes, no NUL), ENUM (sub##_t; a wire string, unknown names rejected), INTS (int *,
            items >= 0), U64S (uint64_t *), STRS (char **, each non-empty and at most sub
            bytes), DOUBLES (double *; float32, float64 or integer on the wire; NaN = unknown),
            RECORDS (sub##_t *, a map per item described by its own list). Array kinds also
            declare `size_t n_<name>` and allow at most limit items.
     req    REQ (key must be present; strings must be non-empty) or OPT (omitted when zero,
            NULL or empty; nil on the wire counts as absent).
   The wire key is the field name. Integers are type-checked strictly: an unsigned field
   rejects negative integers, floats and strings. */

/* One DS list inside METRICS, sent once and named by index from the updates that use it. */
#define DP_MSG_DSET_FIELDS(X)                                                                      \
    X(STRS, ds, REQ, DP_MSG_DS_MAX, DP_MSG_DS_DEF_MAX) /* "INOCTETS:DERIVE:600:0:U" per DS */

/* One rrd update inside METRICS. Exactly one of dset and ds is set; the values count must
   equal the DS count. Read the DS list with dp_msg_update_ds (it resolves dset). */
#define DP_MSG_RRD_UPDATE_FIELDS(X)                                                                \
    X(STR, rrd, REQ, DP_MSG_PATH_MAX, _)               /* relative path: "host/port-id5.rrd" */    \
    X(INT, dset, OPT, DP_MSG_DSETS_MAX, _)             /* 1-based index into METRICS.dsets */      \
    X(STRS, ds, OPT, DP_MSG_DS_MAX, DP_MSG_DS_DEF_MAX) /* own DS list when dset is 0 */            \
    X(DOUBLES, values, REQ, DP_MSG_DS_MAX, _)          /* one value per ds; NaN = unknown */

/* One named counter inside HEARTBEAT. */
#define DP_MSG_COUNTER_FIELDS(X)                                                                   \
    X(STR, name, REQ, DP_MSG_NAME_MAX, _) /* counter name */                                       \
    X(U64, value, REQ, 0, _)              /* counter value */

/* JOB: scheduler -> worker. */
#define DP_MSG_JOB_FIELDS(X)                                                                       \
    X(U64, job_id, REQ, 0, _)                   /* scheduler-unique job id */                      \
    X(ENUM, kind, REQ, 0, dp_msg_kind)          /* poll | discover | bill */                       \
    X(U64, device_id, REQ, 0, _)                /* device to work on */                            \
    X(STR, hostname, REQ, DP_MSG_HOST_MAX, _)   /* device hostname or IP */                        \
    X(INT, group, REQ, DP_MSG_INT_MAX, _)       /* poller group of the device */                   \
    X(U64, epoch, REQ, 0, _)                    /* leadership fencing epoch */                     \
    X(I64, cycle_ts, REQ, 0, _)                 /* scheduled slot, unix s */                       \
    X(I64, deadline_ms, REQ, 0, _)              /* wall ms after which the job is stale */         \
    X(INT, attempt, REQ, DP_MSG_ATTEMPT_MAX, _) /* 1 for the first dispatch */                     \
    X(U64, bill_id, OPT, 0, _)                  /* bill to count (kind bill), 0 = none */

/* CREDIT: worker -> scheduler ("READY n"). */
#define DP_MSG_CREDIT_FIELDS(X)                                                                    \
    X(STR, node, REQ, DP_MSG_NODE_MAX, _)      /* worker NODE_ID */                                \
    X(STR, stage, REQ, DP_MSG_NAME_MAX, _)     /* poller | discoverer | biller */                  \
    X(INT, credit, REQ, DP_MSG_CREDIT_MAX, _)  /* free slots */                                    \
    X(INTS, groups, REQ, DP_MSG_GROUPS_MAX, _) /* poller groups served */                          \
    X(INT, slots, OPT, DP_MSG_CREDIT_MAX, _)   /* total slots (free + in flight), 0 = unknown */

/* RESULT: worker -> scheduler (ack/done). */
#define DP_MSG_RESULT_FIELDS(X)                                                                    \
    X(U64, job_id, REQ, 0, _)                 /* job answered */                                   \
    X(U64, device_id, REQ, 0, _)              /* device of the job */                              \
    X(U64, epoch, REQ, 0, _)                  /* epoch copied from the job */                      \
    X(ENUM, kind, REQ, 0, dp_msg_kind)        /* kind copied from the job */                       \
    X(ENUM, status, REQ, 0, dp_msg_status)    /* ok | down | error | timeout */                    \
    X(STR, reason, OPT, DP_MSG_REASON_MAX, _) /* detail for non-ok status */                       \
    X(I64, took_ms, REQ, 0, _)                /* time spent on the job */                          \
    X(STR, node, REQ, DP_MSG_NODE_MAX, _)     /* worker NODE_ID */

/* METRICS: worker -> rrdwriter. */
#define DP_MSG_METRICS_FIELDS(X)                                                                   \
    X(U64, device_id, REQ, 0, _)              /* device measured */                                \
    X(STR, hostname, REQ, DP_MSG_HOST_MAX, _) /* device hostname */                                \
    X(U64, epoch, REQ, 0, _)                  /* epoch copied from the job */                      \
    X(U64, job_id, REQ, 0, _)                 /* job that produced the values */                   \
    X(I64, ts, REQ, 0, _)                     /* update time, unix s: when the device answered */  \
    X(RECORDS, dsets, OPT, DP_MSG_DSETS_MAX, dp_msg_dset)           /* shared DS lists */          \
    X(RECORDS, updates, REQ, DP_MSG_UPDATES_MAX, dp_msg_rrd_update) /* rrd updates */

/* HEARTBEAT: any daemon -> whoever listens. */
#define DP_MSG_HEARTBEAT_FIELDS(X)                                                                 \
    X(STR, node, REQ, DP_MSG_NODE_MAX, _)                          /* NODE_ID */                   \
    X(STR, daemon, REQ, DP_MSG_NAME_MAX, _)                        /* scheduler | poller | ... */  \
    X(INT, pid, REQ, DP_MSG_INT_MAX, _)                            /* process id */                \
    X(I64, uptime_s, REQ, 0, _)                                    /* seconds since start */       \
    X(RECORDS, counters, OPT, DP_MSG_COUNTERS_MAX, dp_msg_counter) /* stats snapshot */

/* ACK: rrdwriter -> worker: these METRICS msg_ids are durable (or rejected for good). */
#define DP_MSG_ACK_FIELDS(X)                                                                       \
    X(U64S, ids, REQ, DP_MSG_ACK_IDS_MAX, _) /* msg_id of each acknowledged METRICS */

/* Message types: X(NAME, type_id, member). Type ids are stable wire values. */
#define DP_MSG_TYPES(X)                                                                            \
    X(JOB, 1, job)                                                                                 \
    X(CREDIT, 2, credit)                                                                           \
    X(RESULT, 3, result)                                                                           \
    X(METRICS, 4, metrics)                                                                         \
    X(HEARTBEAT, 5, heartbeat)                                                                     \
    X(ACK, 6, ack)

/* Enumerations carried as strings: X(CONST, "wire name"). Value 0 means unset. */
#define DP_MSG_KINDS(X)                                                                            \
    X(POLL, poll)                                                                                  \
    X(DISCOVER, discover)                                                                          \
    X(BILL, bill)

#define DP_MSG_STATUSES(X)                                                                         \
    X(OK, ok)                                                                                      \
    X(DOWN, down)                                                                                  \
    X(ERROR, error)                                                                                \
    X(TIMEOUT, timeout)

/* ---- C declarations generated from the lists ---- */

#define DP_MSG_KIND_ENUM_(c, s)   DP_MSG_KIND_##c,
#define DP_MSG_STATUS_ENUM_(c, s) DP_MSG_STATUS_##c,
typedef enum {
    DP_MSG_KIND_NONE = 0,
    DP_MSG_KINDS(DP_MSG_KIND_ENUM_) DP_MSG_KIND_COUNT
} dp_msg_kind_t;
typedef enum {
    DP_MSG_STATUS_NONE = 0,
    DP_MSG_STATUSES(DP_MSG_STATUS_ENUM_) DP_MSG_STATUS_COUNT
} dp_msg_status_t;

#define DP_MSG_TYPE_ENUM_(n, id, m) DP_MSG_##n = id,
typedef enum { DP_MSG_NONE = 0, DP_MSG_TYPES(DP_MSG_TYPE_ENUM_) } dp_msg_type_t;

#define DP_MSG_DECL_U64(name, sub)  uint64_t name;
#define DP_MSG_DECL_I64(name, sub)  int64_t name;
#define DP_MSG_DECL_INT(name, sub)  int name;
#define DP_MSG_DECL_STR(name, sub)  char *name;
#define DP_MSG_DECL_ENUM(name, sub) sub##_t name;
#define DP_MSG_DECL_INTS(name, sub)                                                                \
    int *name;                                                                                     \
    size_t n_##name;
#define DP_MSG_DECL_U64S(name, sub)                                                                \
    uint64_t *name;                                                                                \
    size_t n_##name;
#define DP_MSG_DECL_STRS(name, sub)                                                                \
    char **name;                                                                                   \
    size_t n_##name;
#define DP_MSG_DECL_DOUBLES(name, sub)                                                             \
    double *name;                                                                                  \
    size_t n_##name;
#define DP_MSG_DECL_RECORDS(name, sub)                                                             \
    sub##_t *name;                                                                                 \
    size_t n_##name;
#define DP_MSG_DECL_(kind, name, req, limit, sub) DP_MSG_DECL_##kind(name, sub)

typedef struct {
    DP_MSG_DSET_FIELDS(DP_MSG_DECL_)
} dp_msg_dset_t;
typedef struct {
    DP_MSG_RRD_UPDATE_FIELDS(DP_MSG_DECL_)
} dp_msg_rrd_update_t;
typedef struct {
    DP_MSG_COUNTER_FIELDS(DP_MSG_DECL_)
} dp_msg_counter_t;
typedef struct {
    DP_MSG_JOB_FIELDS(DP_MSG_DECL_)
} dp_msg_job_t;
typedef struct {
    DP_MSG_CREDIT_FIELDS(DP_MSG_DECL_)
} dp_msg_credit_t;
typedef struct {
    DP_MSG_RESULT_FIELDS(DP_MSG_DECL_)
} dp_msg_result_t;
typedef struct {
    DP_MSG_METRICS_FIELDS(DP_MSG_DECL_)
} dp_msg_metrics_t;
typedef struct {
    DP_MSG_HEARTBEAT_FIELDS(DP_MSG_DECL_)
} dp_msg_heartbeat_t;
typedef struct {
    DP_MSG_ACK_FIELDS(DP_MSG_DECL_)
} dp_msg_ack_t;

/* A message: envelope fields plus the body selected by type. */
typedef struct {
    int schema_version; /* as received; encode always writes DP_MSG_SCHEMA_VERSION */
    dp_msg_type_t type; /* selects the union member */
    uint64_t msg_id;    /* sender-chosen id (unique per sender) */
    int64_t created_ms; /* wall ms when built */
    char *sender_node;  /* NODE_ID of the sender (owned, always malloc'd) */
    void *arena;        /* decoded messages: one block holding every body string and array,
                           freed by dp_msg_destroy; do not free or replace body fields of a
                           decoded message one by one (NULL in messages you build) */
    union {
#define DP_MSG_MEMBER_(n, id, m) dp_msg_##m##_t m;
        DP_MSG_TYPES(DP_MSG_MEMBER_)
#undef DP_MSG_MEMBER_
    };
} dp_msg_t;

/* ---- API ---- */

/* New zeroed message of the given type (schema_version set to current). Caller fills the
   fields with malloc'd strings/arrays (they become owned) and frees with dp_msg_destroy.
   Returns NULL for an unknown type. Aborts on out-of-memory. */
dp_msg_t *dp_msg_new(dp_msg_type_t type);

/* Frees the message and everything it owns; NULL-safe, sets *p to NULL. */
void dp_msg_destroy(dp_msg_t **p);

/* Validates then encodes msg into a new buffer; msg is only read (its strings may be
   borrowed). Returns 0 with *data (caller frees with free()) and *size, or -1 (err set,
   DP_ERR_PROTO) when msg fails dp_msg_validate or exceeds DP_MSG_MAX_BYTES. */
int dp_msg_encode(const dp_msg_t *msg, char **data, size_t *size, dp_err_t *err);

/* Decodes one message of exactly size bytes (no trailing bytes) and validates it.
   Returns a new message (caller destroys) or NULL with err DP_ERR_PROTO and a text naming
   the field, e.g. "JOB.device_id: expected unsigned integer, got string". Never asserts. */
dp_msg_t *dp_msg_decode(const void *data, size_t size, dp_err_t *err);

/* Semantic checks from the table: required strings present and non-empty, limits, enum
   values, array items present, and per-record rules (rrd path relative; an update has
   exactly one of dset (in range) and ds; one value per ds).
   Returns 0 or -1 (err set, DP_ERR_PROTO, naming the field). */
int dp_msg_validate(const dp_msg_t *msg, dp_err_t *err);

/* Reads only the envelope's type_id and msg_id of an encoded message (which may fail full
   decoding), so a receiver can acknowledge or name a message it rejects. Returns 0 or -1
   (not even the envelope start is readable). type or msg_id may be NULL. */
int dp_msg_peek_id(const void *data, size_t size, int *type, uint64_t *msg_id);

/* The DS list of update u of METRICS m: u's own ds, or m->dsets[u->dset - 1].ds. Sets *n to
   its length. Returns NULL with *n 0 when dset is out of range (not in a validated message).
   The strings belong to m. */
const char *const *dp_msg_update_ds(const dp_msg_metrics_t *m, const dp_msg_rrd_update_t *u,
                                    size_t *n);

/* Writes msg as one JSON object on one line (strings escaped, NaN/inf as null). */
void dp_msg_print_json(const dp_msg_t *msg, FILE *out);

/* "JOB", "CREDIT", ...; static string, "UNKNOWN" for bad values. */
const char *dp_msg_type_name(dp_msg_type_t type);

/* Type for a name (case-insensitive), or -1 if unknown. */
int dp_msg_type_from_name(const char *name);

/* Wire names of kinds and statuses ("poll", "ok"); static string, NULL for bad values. */
const char *dp_msg_kind_name(dp_msg_kind_t kind);
const char *dp_msg_status_name(dp_msg_status_t status);

/* Kind or status for a wire name, or -1 if unknown. */
int dp_msg_kind_from_name(const char *name);
int dp_msg_status_from_name(const char *name);

#endif
