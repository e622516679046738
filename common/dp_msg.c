/*  dp_msg.c - wire messages between distpoll stages
    One descriptor table, generated from the X-macro lists in dp_msg.h, drives encode, decode,
    validate, print and free. Decoding first pre-scans the bytes so that no declared length,
    item count or nesting exceeds what the input can hold (msgpack-c would otherwise allocate
    for hostile counts), then copies everything out of the msgpack zone. Thread-safe.
    SPDX-License-Identifier: MIT */
#include "dp_msg.h"

#include <msgpack.h>

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_PATH_MAX       160 /* field path in error texts */
#define S_REASON_MAX     120 /* detail after the path in error texts */
#define S_ENVELOPE_ITEMS 6   /* [schema_version, type_id, msg_id, created_ms, sender_node, body] */
#define S_TYPE_ID_MAX    255 /* largest type id on the wire */
#define S_FIELDS_MAX     64  /* fields per record (seen-bitmask width) */
#define S_DEPTH_MAX      16  /* container nesting accepted (msgpack-c's own stack is 32) */
#define S_COUNT(a)       (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(dp_msg_type_t) == sizeof(int), "type decoded as int");
_Static_assert(sizeof(dp_msg_kind_t) == sizeof(int), "enum decoded as int");
_Static_assert(sizeof(dp_msg_status_t) == sizeof(int), "enum decoded as int");

typedef enum {                   /* scalar kinds first, then array kinds from DP_MSG_F_INTS on */
               DP_MSG_F_U64,     /* uint64_t */
               DP_MSG_F_I64,     /* int64_t */
               DP_MSG_F_INT,     /* int in 0..limit */
               DP_MSG_F_STR,     /* char *, at most limit bytes */
               DP_MSG_F_ENUM,    /* int index into names, wire string */
               DP_MSG_F_INTS,    /* int * + count, items >= 0 */
               DP_MSG_F_U64S,    /* uint64_t * + count */
               DP_MSG_F_STRS,    /* char ** + count, items at most item_limit bytes */
               DP_MSG_F_DOUBLES, /* double * + count */
               DP_MSG_F_RECORDS, /* sub-record array + count */
} s_kind_t;

typedef struct s_record s_record_t;
typedef struct s_path s_path_t;

typedef struct {
    const char *key;          /* wire key and C field name */
    s_kind_t kind;            /* how the field is stored and encoded */
    bool required;            /* key must be present */
    uint64_t limit;           /* max bytes (STR), max items (arrays), max value (INT) */
    size_t off;               /* offset of the value or items pointer */
    size_t count_off;         /* offset of n_<name> (arrays) */
    uint64_t item_limit;      /* max bytes of one STRS item */
    const s_record_t *sub;    /* item record (RECORDS) */
    const char *const *names; /* wire names, [0] = NULL (ENUM) */
    size_t n_names;           /* entries in names */
} s_field_t;

struct s_record {
    const char *name;        /* "JOB", "rrd_update": first element of error paths */
    size_t size;             /* sizeof the C struct */
    const s_field_t *fields; /* descriptors in wire order */
    size_t n_fields;         /* entries in fields */
    int (*check)(const void *base, s_path_t *path, dp_err_t *err); /* extra rules or NULL */
};

struct s_path {
    char buf[S_PATH_MAX]; /* "METRICS.updates[3].values" */
    size_t len;           /* strlen(buf) */
};

//  --------------------------------------------------------------------------
//  The descriptor tables, generated from the lists in dp_msg.h

#define S_ENUM_NAME_(c, s) #s,
static const char *const s_dp_msg_kind_names[] = {NULL, DP_MSG_KINDS(S_ENUM_NAME_)};
static const char *const s_dp_msg_status_names[] = {NULL, DP_MSG_STATUSES(S_ENUM_NAME_)};

#define S_REQ_REQ true
#define S_REQ_OPT false
#define S_FD_SCALAR_(T, k, nm, rq, lim)                                                            \
    {.key = #nm,                                                                                   \
     .kind = DP_MSG_F_##k,                                                                         \
     .required = S_REQ_##rq,                                                                       \
     .limit = lim,                                                                                 \
     .off = offsetof(T, nm)},
#define S_FD_ARRAY_(T, k, nm, rq, lim, item_lim, sb)                                               \
    {.key = #nm,                                                                                   \
     .kind = DP_MSG_F_##k,                                                                         \
     .required = S_REQ_##rq,                                                                       \
     .limit = lim,                                                                                 \
     .off = offsetof(T, nm),                                                                       \
     .count_off = offsetof(T, n_##nm),                                                             \
     .item_limit = item_lim,                                                                       \
     .sub = sb},
#define S_FD_U64(T, name, req, limit, sub) S_FD_SCALAR_(T, U64, name, req, limit)
#define S_FD_I64(T, name, req, limit, sub) S_FD_SCALAR_(T, I64, name, req, limit)
#define S_FD_INT(T, name, req, limit, sub) S_FD_SCALAR_(T, INT, name, req, limit)
#define S_FD_STR(T, name, req, limit, sub) S_FD_SCALAR_(T, STR, name, req, limit)
#define S_FD_ENUM(T, nm, rq, lim, sb)                                                              \
    {.key = #nm,                                                                                   \
     .kind = DP_MSG_F_ENUM,                                                                        \
     .required = S_REQ_##rq,                                                                       \
     .off = offsetof(T, nm),                                                                       \
     .names = s_##sb##_names,                                                                      \
     .n_names = S_COUNT(s_##sb##_names)},
#define S_FD_INTS(T, name, req, limit, sub)    S_FD_ARRAY_(T, INTS, name, req, limit, 0, NULL)
#define S_FD_U64S(T, name, req, limit, sub)    S_FD_ARRAY_(T, U64S, name, req, limit, 0, NULL)
#define S_FD_STRS(T, name, req, limit, sub)    S_FD_ARRAY_(T, STRS, name, req, limit, sub, NULL)
#define S_FD_DOUBLES(T, name, req, limit, sub) S_FD_ARRAY_(T, DOUBLES, name, req, limit, 0, NULL)
#define S_FD_RECORDS(T, name, req, limit, sub)                                                     \
    S_FD_ARRAY_(T, RECORDS, name, req, limit, 0, &s_rec_##sub)
#define S_FD_(kind, name, req, limit, sub) S_FD_##kind(S_T, name, req, limit, sub)

static int s_check_rrd_update(const void *base, s_path_t *path, dp_err_t *err);

#define S_T dp_msg_rrd_update_t
static const s_field_t s_fields_rrd_update[] = {DP_MSG_RRD_UPDATE_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_counter_t
static const s_field_t s_fields_counter[] = {DP_MSG_COUNTER_FIELDS(S_FD_)};
#undef S_T

static const s_record_t s_rec_dp_msg_rrd_update = {
    "rrd_update", sizeof(dp_msg_rrd_update_t), s_fields_rrd_update, S_COUNT(s_fields_rrd_update),
    s_check_rrd_update};
static const s_record_t s_rec_dp_msg_counter = {"counter", sizeof(dp_msg_counter_t),
                                                s_fields_counter, S_COUNT(s_fields_counter), NULL};

#define S_T dp_msg_job_t
static const s_field_t s_fields_job[] = {DP_MSG_JOB_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_credit_t
static const s_field_t s_fields_credit[] = {DP_MSG_CREDIT_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_result_t
static const s_field_t s_fields_result[] = {DP_MSG_RESULT_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_metrics_t
static const s_field_t s_fields_metrics[] = {DP_MSG_METRICS_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_heartbeat_t
static const s_field_t s_fields_heartbeat[] = {DP_MSG_HEARTBEAT_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_ack_t
static const s_field_t s_fields_ack[] = {DP_MSG_ACK_FIELDS(S_FD_)};
#undef S_T

#define S_FITS_(m) _Static_assert(S_COUNT(s_fields_##m) <= S_FIELDS_MAX, "seen mask too narrow")
S_FITS_(rrd_update);
S_FITS_(counter);
S_FITS_(job);
S_FITS_(credit);
S_FITS_(result);
S_FITS_(metrics);
S_FITS_(heartbeat);
S_FITS_(ack);

/* Message bodies indexed by type id. */
#define S_TYPE_(n, id, m)                                                                          \
    [id] = {#n, sizeof(dp_msg_##m##_t), s_fields_##m, S_COUNT(s_fields_##m), NULL},
static const s_record_t s_types[] = {DP_MSG_TYPES(S_TYPE_)};

/* The envelope, decoded positionally into dp_msg_t (body is item 5). */
#define S_ENV_(k, kind_, limit_, field)                                                            \
    {                                                                                              \
        .key = k, .kind = DP_MSG_F_##kind_, .required = true, .limit = limit_,                     \
        .off = offsetof(dp_msg_t, field)                                                           \
    }
static const s_field_t s_envelope[] = {
    S_ENV_("schema_version", INT, S_TYPE_ID_MAX, schema_version),
    S_ENV_("type_id", INT, S_TYPE_ID_MAX, type),
    S_ENV_("msg_id", U64, 0, msg_id),
    S_ENV_("created_ms", I64, 0, created_ms),
    S_ENV_("sender_node", STR, DP_MSG_NODE_MAX, sender_node),
};

#define S_BODY(msg) ((char *)(msg) + offsetof(dp_msg_t, job)) /* all union members share it */

//  --------------------------------------------------------------------------
//  Small helpers: memory, field access, paths, errors

static void *s_calloc(size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *p = calloc(n, size);
    if (!p)
        abort(); /* out of memory is fatal (STYLE 6) */
    return p;
}

static char *s_strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, s, len); /* msgpack may give NULL for an empty string */
    p[len] = '\0';
    return p;
}

static void *s_get_ptr(const void *base, size_t off)
{
    void *p;
    memcpy(&p, (const char *)base + off, sizeof p);
    return p;
}

static void s_set_ptr(void *base, size_t off, void *p)
{
    memcpy((char *)base + off, &p, sizeof p);
}

static size_t s_get_count(const void *base, const s_field_t *f)
{
    size_t n;
    memcpy(&n, (const char *)base + f->count_off, sizeof n);
    return n;
}

static void s_set_count(void *base, const s_field_t *f, size_t n)
{
    memcpy((char *)base + f->count_off, &n, sizeof n);
}

static const s_record_t *s_record_for(int type)
{
    if (type <= 0 || (size_t)type >= S_COUNT(s_types) || !s_types[type].fields)
        return NULL;
    return &s_types[type];
}

static void s_path_init(s_path_t *path, const char *root)
{
    int n = snprintf(path->buf, sizeof path->buf, "%s", root);
    path->len = n < (int)sizeof path->buf ? (size_t)n : sizeof path->buf - 1;
}

/* Appends a formatted segment; returns the old length for s_path_pop. */
__attribute__((format(printf, 2, 3))) static size_t s_path_push(s_path_t *path, const char *fmt,
                                                                ...)
{
    size_t old = path->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(path->buf + old, sizeof path->buf - old, fmt, ap);
    va_end(ap);
    if (n > 0)
        path->len = old + (size_t)n < sizeof path->buf ? old + (size_t)n : sizeof path->buf - 1;
    return old;
}

/* Fast forms of s_path_push for the hot decode/validate loops (same text, no printf). */
static size_t s_path_push_key(s_path_t *path, const char *key)
{
    size_t old = path->len, n = strlen(key);
    if (old + 1 + n >= sizeof path->buf)
        return s_path_push(path, ".%s", key);
    path->buf[old] = '.';
    memcpy(path->buf + old + 1, key, n + 1);
    path->len = old + 1 + n;
    return old;
}

static size_t s_path_push_index(s_path_t *path, size_t k)
{
    char tmp[24];
    size_t n = 0, old = path->len, orig = k;
    do
        tmp[n++] = (char)('0' + k % 10);
    while ((k /= 10) > 0);
    if (old + n + 2 >= sizeof path->buf)
        return s_path_push(path, "[%zu]", orig);
    char *p = path->buf + old;
    *p++ = '[';
    while (n > 0)
        *p++ = tmp[--n];
    *p++ = ']';
    *p = '\0';
    path->len = (size_t)(p - path->buf);
    return old;
}

static void s_path_pop(s_path_t *path, size_t old)
{
    path->len = old;
    path->buf[old] = '\0';
}

/* Sets err to DP_ERR_PROTO "<path>: <reason>"; returns -1. */
__attribute__((format(printf, 3, 4))) static int s_fail(dp_err_t *err, const s_path_t *path,
                                                        const char *fmt, ...)
{
    char reason[S_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return dp_err_set(err, DP_ERR_PROTO, "%s: %s", path->buf, reason);
}

static const char *s_obj_type_name(msgpack_object_type type)
{
    static const char *names[] = {[MSGPACK_OBJECT_NIL] = "nil",
                                  [MSGPACK_OBJECT_BOOLEAN] = "boolean",
                                  [MSGPACK_OBJECT_POSITIVE_INTEGER] = "unsigned integer",
                                  [MSGPACK_OBJECT_NEGATIVE_INTEGER] = "negative integer",
                                  [MSGPACK_OBJECT_FLOAT32] = "float",
                                  [MSGPACK_OBJECT_FLOAT64] = "float",
                                  [MSGPACK_OBJECT_STR] = "string",
                                  [MSGPACK_OBJECT_BIN] = "binary",
                                  [MSGPACK_OBJECT_ARRAY] = "array",
                                  [MSGPACK_OBJECT_MAP] = "map",
                                  [MSGPACK_OBJECT_EXT] = "ext"};
    return (size_t)type < S_COUNT(names) && names[type] ? names[type] : "unknown";
}

/* Optional fields are omitted from the wire (and the JSON) when zero, NULL or empty. */
static bool s_is_present(const s_field_t *f, const void *base)
{
    const char *p = (const char *)base + f->off;
    if (f->required)
        return true;
    if (f->kind == DP_MSG_F_U64 || f->kind == DP_MSG_F_I64)
        return *(const uint64_t *)p != 0;
    if (f->kind == DP_MSG_F_INT || f->kind == DP_MSG_F_ENUM)
        return *(const int *)p != 0;
    if (f->kind == DP_MSG_F_STR)
        return s_get_ptr(base, f->off) != NULL;
    return s_get_count(base, f) > 0;
}

//  --------------------------------------------------------------------------
//  Free (table-driven)

static void s_free_record(const s_record_t *r, void *base)
{
    for (size_t i = 0; i < r->n_fields; i++) {
        const s_field_t *f = &r->fields[i];
        void *items =
            f->kind == DP_MSG_F_STR || f->kind >= DP_MSG_F_INTS ? s_get_ptr(base, f->off) : NULL;
        if (f->kind == DP_MSG_F_STRS) {
            for (size_t k = 0; items && k < s_get_count(base, f); k++)
                free(((char **)items)[k]);
        } else if (f->kind == DP_MSG_F_RECORDS) {
            for (size_t k = 0; items && k < s_get_count(base, f); k++)
                s_free_record(f->sub, (char *)items + k * f->sub->size);
        }
        free(items);
    }
}

//  --------------------------------------------------------------------------
//  Validate (table-driven)

static int s_validate_record(const s_record_t *r, const void *base, s_path_t *path, dp_err_t *err);

static int s_validate_str(const s_field_t *f, const char *s, uint64_t limit, s_path_t *path,
                          dp_err_t *err)
{
    if (!s)
        return f->required ? s_fail(err, path, "missing required string") : 0;
    size_t len = strlen(s);
    if (len == 0 && f->required)
        return s_fail(err, path, "empty string");
    if (len > limit)
        return s_fail(err, path, "too long (%zu > %llu bytes)", len, (unsigned long long)limit);
    return 0;
}

static int s_validate_items(const s_field_t *f, const void *base, s_path_t *path, dp_err_t *err)
{
    size_t n = s_get_count(base, f);
    const void *items = s_get_ptr(base, f->off);
    if (n > f->limit)
        return s_fail(err, path, "too many (%zu > %llu)", n, (unsigned long long)f->limit);
    if (n > 0 && !items)
        return s_fail(err, path, "%zu items declared but none set", n);
    for (size_t k = 0; k < n; k++) {
        size_t old = s_path_push_index(path, k);
        int rc = 0;
        if (f->kind == DP_MSG_F_INTS && ((const int *)items)[k] < 0)
            rc = s_fail(err, path, "negative value %d", ((const int *)items)[k]);
        else if (f->kind == DP_MSG_F_STRS) {
            s_field_t item = {.key = f->key, .kind = DP_MSG_F_STR, .required = true};
            rc = s_validate_str(&item, ((char *const *)items)[k], f->item_limit, path, err);
        } else if (f->kind == DP_MSG_F_RECORDS)
            rc = s_validate_record(f->sub, (const char *)items + k * f->sub->size, path, err);
        s_path_pop(path, old);
        if (rc)
            return -1;
    }
    return 0;
}

static int s_validate_field(const s_field_t *f, const void *base, s_path_t *path, dp_err_t *err)
{
    int i;
    switch (f->kind) {
    case DP_MSG_F_U64:
    case DP_MSG_F_I64:
        return 0;
    case DP_MSG_F_INT:
        memcpy(&i, (const char *)base + f->off, sizeof i);
        if (i < 0 || (uint64_t)i > f->limit)
            return s_fail(err, path, "out of range (%d not in 0..%llu)", i,
                          (unsigned long long)f->limit);
        return 0;
    case DP_MSG_F_ENUM:
        memcpy(&i, (const char *)base + f->off, sizeof i);
        if (i <= 0 || (size_t)i >= f->n_names)
            return s_fail(err, path, "invalid value %d", i);
        return 0;
    case DP_MSG_F_STR:
        return s_validate_str(f, s_get_ptr(base, f->off), f->limit, path, err);
    default:
        return s_validate_items(f, base, path, err);
    }
}

static int s_validate_record(const s_record_t *r, const void *base, s_path_t *path, dp_err_t *err)
{
    for (size_t i = 0; i < r->n_fields; i++) {
        size_t old = s_path_push_key(path, r->fields[i].key);
        int rc = s_validate_field(&r->fields[i], base, path, err);
        s_path_pop(path, old);
        if (rc)
            return -1;
    }
    return r->check ? r->check(base, path, err) : 0;
}

/* An rrd update names a relative path without ".." and carries one value per DS. */
static int s_check_rrd_update(const void *base, s_path_t *path, dp_err_t *err)
{
    const dp_msg_rrd_update_t *u = base;
    size_t old = s_path_push(path, ".rrd");
    if (u->rrd[0] == '/')
        return s_fail(err, path, "path must be relative");
    for (const char *seg = u->rrd; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
        if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0'))
            return s_fail(err, path, "path must not contain '..'");
    }
    s_path_pop(path, old);
    old = s_path_push(path, ".values");
    if (u->n_values != u->n_ds)
        return s_fail(err, path, "%zu values for %zu ds", u->n_values, u->n_ds);
    s_path_pop(path, old);
    return 0;
}

//  --------------------------------------------------------------------------
//  Encode (table-driven)

/* sbuffer writer that treats out-of-memory as fatal, so packing cannot fail. */
static int s_write(void *data, const char *buf, size_t len)
{
    if (msgpack_sbuffer_write(data, buf, len) != 0)
        abort();
    return 0;
}

static void s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void s_pack_record(msgpack_packer *pk, const s_record_t *r, const void *base);

static void s_pack_field(msgpack_packer *pk, const s_field_t *f, const void *base)
{
    const char *p = (const char *)base + f->off;
    const void *items = f->kind >= DP_MSG_F_INTS ? s_get_ptr(base, f->off) : NULL;
    size_t n = f->kind >= DP_MSG_F_INTS ? s_get_count(base, f) : 0;
    uint64_t u;
    int64_t i64;
    int i;
    switch (f->kind) {
    case DP_MSG_F_U64:
        memcpy(&u, p, sizeof u);
        msgpack_pack_uint64(pk, u);
        return;
    case DP_MSG_F_I64:
        memcpy(&i64, p, sizeof i64);
        msgpack_pack_int64(pk, i64);
        return;
    case DP_MSG_F_INT:
        memcpy(&i, p, sizeof i);
        msgpack_pack_uint64(pk, (uint64_t)i);
        return;
    case DP_MSG_F_ENUM:
        memcpy(&i, p, sizeof i);
        s_pack_str(pk, f->names[i]);
        return;
    case DP_MSG_F_STR:
        s_pack_str(pk, s_get_ptr(base, f->off));
        return;
    default:
        break;
    }
    msgpack_pack_array(pk, n);
    for (size_t k = 0; k < n; k++) {
        if (f->kind == DP_MSG_F_INTS)
            msgpack_pack_uint64(pk, (uint64_t)((const int *)items)[k]);
        else if (f->kind == DP_MSG_F_U64S)
            msgpack_pack_uint64(pk, ((const uint64_t *)items)[k]);
        else if (f->kind == DP_MSG_F_STRS)
            s_pack_str(pk, ((char *const *)items)[k]);
        else if (f->kind == DP_MSG_F_DOUBLES)
            msgpack_pack_double(pk, ((const double *)items)[k]);
        else
            s_pack_record(pk, f->sub, (const char *)items + k * f->sub->size);
    }
}

static void s_pack_record(msgpack_packer *pk, const s_record_t *r, const void *base)
{
    size_t present = 0;
    for (size_t i = 0; i < r->n_fields; i++)
        present += s_is_present(&r->fields[i], base);
    msgpack_pack_map(pk, present);
    for (size_t i = 0; i < r->n_fields; i++) {
        if (!s_is_present(&r->fields[i], base))
            continue;
        s_pack_str(pk, r->fields[i].key);
        s_pack_field(pk, &r->fields[i], base);
    }
}

//  --------------------------------------------------------------------------
//  Decode: bounded pre-scan, then table-driven copy out of the msgpack zone

static uint64_t s_read_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Header of one msgpack object at p[0]: fixed payload bytes, or width of a length field
   (then *mode says what the length counts), or child items. Returns -1 for 0xc1. */
enum { S_SKIP, S_BYTES, S_EXT, S_ITEMS, S_PAIRS };
static int s_header(uint8_t b, size_t *skip, size_t *len_bytes, int *mode, uint64_t *items)
{
    static const uint8_t fixed[256] = {[0xca] = 4, [0xcb] = 8, [0xcc] = 1, [0xcd] = 2, [0xce] = 4,
                                       [0xcf] = 8, [0xd0] = 1, [0xd1] = 2, [0xd2] = 4, [0xd3] = 8,
                                       [0xd4] = 2, [0xd5] = 3, [0xd6] = 5, [0xd7] = 9, [0xd8] = 17};
    *skip = 0, *len_bytes = 0, *mode = S_SKIP, *items = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b <= 0x8f)
        *items = 2u * (b & 0x0fu);
    else if (b <= 0x9f)
        *items = b & 0x0fu;
    else if (b <= 0xbf)
        *skip = b & 0x1fu;
    else if (b == 0xc1)
        return -1;
    else if (b >= 0xc4 && b <= 0xc6)
        *mode = S_BYTES, *len_bytes = (size_t)1 << (b - 0xc4);
    else if (b >= 0xc7 && b <= 0xc9)
        *mode = S_EXT, *len_bytes = (size_t)1 << (b - 0xc7);
    else if (b >= 0xd9 && b <= 0xdb)
        *mode = S_BYTES, *len_bytes = (size_t)1 << (b - 0xd9);
    else if (b == 0xdc || b == 0xdd)
        *mode = S_ITEMS, *len_bytes = b == 0xdc ? 2 : 4;
    else if (b == 0xde || b == 0xdf)
        *mode = S_PAIRS, *len_bytes = b == 0xde ? 2 : 4;
    else
        *skip = fixed[b];
    return 0;
}

/* Walks the structure without building it. Every length must fit in the rest of the input,
   every pending item needs at least one byte, nesting is at most S_DEPTH_MAX. This bounds what
   msgpack_unpack_next allocates by the input size. Sets *end after the first object. */
static int s_prescan(const uint8_t *p, size_t size, size_t *end, s_path_t *path, dp_err_t *err)
{
    uint64_t left[S_DEPTH_MAX + 1]; /* items still to read per open container */
    uint64_t pending = 1;           /* sum of left[] */
    int top = 0;
    size_t pos = 0;
    left[0] = 1;
    while (pending > 0) {
        while (left[top] == 0)
            top--;
        size_t skip, len_bytes;
        int mode;
        uint64_t items;
        if (pos >= size)
            return s_fail(err, path, "truncated");
        if (s_header(p[pos++], &skip, &len_bytes, &mode, &items) != 0)
            return s_fail(err, path, "malformed msgpack (byte 0xc1 at %zu)", pos - 1);
        left[top]--, pending--;
        if (len_bytes) {
            if (size - pos < len_bytes)
                return s_fail(err, path, "truncated");
            uint64_t n = s_read_be(p + pos, len_bytes);
            pos += len_bytes;
            if (mode == S_BYTES || mode == S_EXT)
                skip = n + (mode == S_EXT);
            else
                items = mode == S_PAIRS ? 2 * n : n;
        }
        if (skip > size - pos)
            return s_fail(err, path, "truncated");
        pos += skip;
        if (items > size - pos || pending + items > size - pos)
            return s_fail(err, path, "truncated");
        if (items > 0) {
            if (top >= S_DEPTH_MAX)
                return s_fail(err, path, "nesting deeper than %d", S_DEPTH_MAX);
            left[++top] = items;
            pending += items;
        }
    }
    *end = pos;
    return 0;
}

static int s_decode_record(const s_record_t *r, const msgpack_object *o, void *base, s_path_t *path,
                           dp_err_t *err);

static int s_decode_str(const msgpack_object *o, uint64_t limit, char **out, s_path_t *path,
                        dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return s_fail(err, path, "expected string, got %s", s_obj_type_name(o->type));
    if (o->via.str.size > limit)
        return s_fail(err, path, "too long (%u > %llu bytes)", (unsigned)o->via.str.size,
                      (unsigned long long)limit);
    if (o->via.str.size && memchr(o->via.str.ptr, '\0', o->via.str.size))
        return s_fail(err, path, "string contains a NUL byte");
    *out = s_strndup(o->via.str.ptr, o->via.str.size);
    return 0;
}

static int s_decode_uint(const msgpack_object *o, uint64_t limit, uint64_t *out, s_path_t *path,
                         dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_fail(err, path, "expected unsigned integer, got %s", s_obj_type_name(o->type));
    if (o->via.u64 > limit)
        return s_fail(err, path, "out of range (%llu > %llu)", (unsigned long long)o->via.u64,
                      (unsigned long long)limit);
    *out = o->via.u64;
    return 0;
}

static int s_decode_scalar(const s_field_t *f, const msgpack_object *o, void *base, s_path_t *path,
                           dp_err_t *err)
{
    char *p = (char *)base + f->off;
    uint64_t u;
    switch (f->kind) {
    case DP_MSG_F_U64:
        if (s_decode_uint(o, UINT64_MAX, &u, path, err))
            return -1;
        memcpy(p, &u, sizeof u);
        return 0;
    case DP_MSG_F_I64: {
        int64_t v = o->via.i64;
        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (s_decode_uint(o, INT64_MAX, &u, path, err))
                return -1;
            v = (int64_t)u;
        } else if (o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return s_fail(err, path, "expected integer, got %s", s_obj_type_name(o->type));
        memcpy(p, &v, sizeof v);
        return 0;
    }
    case DP_MSG_F_INT: {
        if (s_decode_uint(o, f->limit, &u, path, err))
            return -1;
        int v = (int)u;
        memcpy(p, &v, sizeof v);
        return 0;
    }
    case DP_MSG_F_ENUM: {
        if (o->type != MSGPACK_OBJECT_STR)
            return s_fail(err, path, "expected string, got %s", s_obj_type_name(o->type));
        for (size_t i = 1; i < f->n_names; i++) {
            if (strlen(f->names[i]) == o->via.str.size &&
                memcmp(f->names[i], o->via.str.ptr, o->via.str.size) == 0) {
                int v = (int)i;
                memcpy(p, &v, sizeof v);
                return 0;
            }
        }
        char expected[S_REASON_MAX / 2] = "";
        for (size_t i = 1; i < f->n_names; i++)
            snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                     i > 1 ? "|" : "", f->names[i]);
        return s_fail(err, path, "unknown value (expected %s)", expected);
    }
    default: {
        char *s = NULL;
        if (s_decode_str(o, f->limit, &s, path, err))
            return -1;
        s_set_ptr(base, f->off, s);
        return 0;
    }
    }
}

static int s_decode_item(const s_field_t *f, const msgpack_object *o, void *items, size_t k,
                         s_path_t *path, dp_err_t *err)
{
    uint64_t u;
    switch (f->kind) {
    case DP_MSG_F_INTS:
        if (s_decode_uint(o, DP_MSG_INT_MAX, &u, path, err))
            return -1;
        ((int *)items)[k] = (int)u;
        return 0;
    case DP_MSG_F_U64S:
        return s_decode_uint(o, UINT64_MAX, &((uint64_t *)items)[k], path, err);
    case DP_MSG_F_STRS:
        return s_decode_str(o, f->item_limit, &((char **)items)[k], path, err);
    case DP_MSG_F_DOUBLES:
        if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
            ((double *)items)[k] = o->via.f64;
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            ((double *)items)[k] = (double)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            ((double *)items)[k] = (double)o->via.i64;
        else
            return s_fail(err, path, "expected number, got %s", s_obj_type_name(o->type));
        return 0;
    default:
        return s_decode_record(f->sub, o, (char *)items + k * f->sub->size, path, err);
    }
}

static int s_decode_field(const s_field_t *f, const msgpack_object *o, void *base, s_path_t *path,
                          dp_err_t *err)
{
    if (f->kind < DP_MSG_F_INTS)
        return s_decode_scalar(f, o, base, path, err);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return s_fail(err, path, "expected array, got %s", s_obj_type_name(o->type));
    size_t n = o->via.array.size;
    if (n > f->limit)
        return s_fail(err, path, "too many (%zu > %llu)", n, (unsigned long long)f->limit);
    size_t item_size = f->kind == DP_MSG_F_INTS      ? sizeof(int)
                       : f->kind == DP_MSG_F_U64S    ? sizeof(uint64_t)
                       : f->kind == DP_MSG_F_STRS    ? sizeof(char *)
                       : f->kind == DP_MSG_F_DOUBLES ? sizeof(double)
                                                     : f->sub->size;
    void *items = s_calloc(n, item_size);
    s_set_ptr(base, f->off, items); /* owned by base from here: freed on any failure */
    s_set_count(base, f, n);
    for (size_t k = 0; k < n; k++) {
        size_t old = s_path_push_index(path, k);
        if (s_decode_item(f, &o->via.array.ptr[k], items, k, path, err))
            return -1;
        s_path_pop(path, old);
    }
    return 0;
}

static int s_decode_record(const s_record_t *r, const msgpack_object *o, void *base, s_path_t *path,
                           dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return s_fail(err, path, "expected map, got %s", s_obj_type_name(o->type));
    uint64_t seen = 0;
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        const msgpack_object *key = &o->via.map.ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return s_fail(err, path, "key expected string, got %s", s_obj_type_name(key->type));
        for (size_t i = 0; i < r->n_fields; i++) {
            const s_field_t *f = &r->fields[i];
            if (strlen(f->key) != key->via.str.size ||
                memcmp(f->key, key->via.str.ptr, key->via.str.size) != 0)
                continue;
            size_t old = s_path_push_key(path, f->key);
            if (seen & (UINT64_C(1) << i))
                return s_fail(err, path, "duplicate key");
            seen |= UINT64_C(1) << i;
            const msgpack_object *val = &o->via.map.ptr[k].val;
            if (!(val->type == MSGPACK_OBJECT_NIL && !f->required) &&
                s_decode_field(f, val, base, path, err))
                return -1;
            s_path_pop(path, old);
            break;
        } /* unknown keys are ignored (forward compatible) */
    }
    for (size_t i = 0; i < r->n_fields; i++) {
        if (r->fields[i].required && !(seen & (UINT64_C(1) << i))) {
            s_path_push_key(path, r->fields[i].key);
            return s_fail(err, path, "missing required key");
        }
    }
    return 0;
}

static int s_decode_envelope(const msgpack_object *o, dp_msg_t *msg, s_path_t *path, dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return s_fail(err, path, "expected array, got %s", s_obj_type_name(o->type));
    if (o->via.array.size != S_ENVELOPE_ITEMS)
        return s_fail(err, path, "expected %d items, got %u", S_ENVELOPE_ITEMS,
                      (unsigned)o->via.array.size);
    for (size_t i = 0; i < S_COUNT(s_envelope); i++) {
        size_t old = s_path_push(path, ".%s", s_envelope[i].key);
        if (s_decode_field(&s_envelope[i], &o->via.array.ptr[i], msg, path, err))
            return -1;
        s_path_pop(path, old);
    }
    if (msg->schema_version < DP_MSG_SCHEMA_MIN || msg->schema_version > DP_MSG_SCHEMA_VERSION)
        return s_fail(err, path, "schema_version %d not supported (accept %d..%d)",
                      msg->schema_version, DP_MSG_SCHEMA_MIN, DP_MSG_SCHEMA_VERSION);
    const s_record_t *r = s_record_for((int)msg->type);
    if (!r) {
        int id = (int)msg->type;
        msg->type = DP_MSG_NONE; /* so destroy does not look for a body */
        return s_fail(err, path, "unknown type_id %d", id);
    }
    s_path_init(path, r->name);
    return s_decode_record(r, &o->via.array.ptr[S_ENVELOPE_ITEMS - 1], S_BODY(msg), path, err);
}

//  --------------------------------------------------------------------------
//  JSON printing (table-driven)

/* Length of the valid UTF-8 sequence at s, or 0. s is NUL-terminated. */
static size_t s_utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
               : s[0] >= 0xe0 && s[0] <= 0xef ? 3
               : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                              : 0;
    unsigned char lo = s[0] == 0xe0 ? 0xa0 : s[0] == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = s[0] == 0xed ? 0x9f : s[0] == 0xf4 ? 0x8f : 0xbf;
    if (n && (s[1] < lo || s[1] > hi))
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

static void s_json_str(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s++);
        else if (*s == '\n')
            fputs("\\n", out), s++;
        else if (*s == '\t')
            fputs("\\t", out), s++;
        else if (*s < 0x20 || *s == 0x7f)
            fprintf(out, "\\u%04x", *s++);
        else if (*s < 0x80)
            fputc(*s++, out);
        else {
            size_t n = s_utf8_len(s);
            if (n) {
                fwrite(s, 1, n, out);
                s += n;
            } else {
                fputs("\\ufffd", out); /* invalid UTF-8 byte */
                s++;
            }
        }
    }
    fputc('"', out);
}

static void s_json_double(FILE *out, double d)
{
    if (!isfinite(d)) {
        fputs("null", out);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, sizeof buf, "%.17g", d);
    fputs(buf, out);
}

static void s_print_record(FILE *out, const s_record_t *r, const void *base);

static void s_print_field(FILE *out, const s_field_t *f, const void *base)
{
    const char *p = (const char *)base + f->off;
    uint64_t u;
    int64_t i64;
    int i;
    switch (f->kind) {
    case DP_MSG_F_U64:
        memcpy(&u, p, sizeof u);
        fprintf(out, "%llu", (unsigned long long)u);
        return;
    case DP_MSG_F_I64:
        memcpy(&i64, p, sizeof i64);
        fprintf(out, "%lld", (long long)i64);
        return;
    case DP_MSG_F_INT:
        memcpy(&i, p, sizeof i);
        fprintf(out, "%d", i);
        return;
    case DP_MSG_F_ENUM:
        memcpy(&i, p, sizeof i);
        if (i > 0 && (size_t)i < f->n_names)
            s_json_str(out, f->names[i]);
        else
            fputs("null", out);
        return;
    case DP_MSG_F_STR:
        if (s_get_ptr(base, f->off))
            s_json_str(out, s_get_ptr(base, f->off));
        else
            fputs("null", out);
        return;
    default:
        break;
    }
    const void *items = s_get_ptr(base, f->off);
    size_t n = items ? s_get_count(base, f) : 0;
    fputc('[', out);
    for (size_t k = 0; k < n; k++) {
        if (k)
            fputc(',', out);
        if (f->kind == DP_MSG_F_INTS)
            fprintf(out, "%d", ((const int *)items)[k]);
        else if (f->kind == DP_MSG_F_U64S)
            fprintf(out, "%llu", (unsigned long long)((const uint64_t *)items)[k]);
        else if (f->kind == DP_MSG_F_STRS && ((char *const *)items)[k])
            s_json_str(out, ((char *const *)items)[k]);
        else if (f->kind == DP_MSG_F_STRS)
            fputs("null", out);
        else if (f->kind == DP_MSG_F_DOUBLES)
            s_json_double(out, ((const double *)items)[k]);
        else
            s_print_record(out, f->sub, (const char *)items + k * f->sub->size);
    }
    fputc(']', out);
}

static void s_print_record(FILE *out, const s_record_t *r, const void *base)
{
    bool first = true;
    fputc('{', out);
    for (size_t i = 0; i < r->n_fields; i++) {
        if (!s_is_present(&r->fields[i], base))
            continue;
        fprintf(out, "%s\"%s\":", first ? "" : ",", r->fields[i].key);
        s_print_field(out, &r->fields[i], base);
        first = false;
    }
    fputc('}', out);
}

//  --------------------------------------------------------------------------
dp_msg_t *dp_msg_new(dp_msg_type_t type)
{
    if (!s_record_for((int)type))
        return NULL;
    dp_msg_t *msg = s_calloc(1, sizeof *msg);
    msg->schema_version = DP_MSG_SCHEMA_VERSION;
    msg->type = type;
    return msg;
}

//  --------------------------------------------------------------------------
void dp_msg_destroy(dp_msg_t **p)
{
    if (!p || !*p)
        return;
    dp_msg_t *msg = *p;
    const s_record_t *r = s_record_for((int)msg->type);
    if (r)
        s_free_record(r, S_BODY(msg));
    free(msg->sender_node);
    free(msg);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_msg_encode(const dp_msg_t *msg, char **data, size_t *size, dp_err_t *err)
{
    if (dp_msg_validate(msg, err) != 0)
        return -1;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, s_write);
    msgpack_pack_array(&pk, S_ENVELOPE_ITEMS);
    msgpack_pack_uint64(&pk, DP_MSG_SCHEMA_VERSION);
    msgpack_pack_uint64(&pk, (uint64_t)msg->type);
    msgpack_pack_uint64(&pk, msg->msg_id);
    msgpack_pack_int64(&pk, msg->created_ms);
    s_pack_str(&pk, msg->sender_node);
    s_pack_record(&pk, s_record_for((int)msg->type), S_BODY(msg));
    if (sbuf.size > DP_MSG_MAX_BYTES) {
        size_t n = sbuf.size;
        msgpack_sbuffer_destroy(&sbuf);
        return dp_err_set(err, DP_ERR_PROTO, "%s: too large (%zu > %d bytes)",
                          dp_msg_type_name(msg->type), n, DP_MSG_MAX_BYTES);
    }
    *size = sbuf.size;
    *data = msgpack_sbuffer_release(&sbuf);
    return 0;
}

//  --------------------------------------------------------------------------
dp_msg_t *dp_msg_decode(const void *data, size_t size, dp_err_t *err)
{
    s_path_t path;
    s_path_init(&path, "envelope");
    if (size > DP_MSG_MAX_BYTES) {
        s_fail(err, &path, "too large (%zu > %d bytes)", size, DP_MSG_MAX_BYTES);
        return NULL;
    }
    size_t end = 0;
    if (!data || s_prescan(data, size, &end, &path, err) != 0) {
        if (!data)
            s_fail(err, &path, "truncated");
        return NULL;
    }
    if (end != size) {
        s_fail(err, &path, "trailing bytes (%zu)", size - end);
        return NULL;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&up, data, size, &off);
    dp_msg_t *msg = NULL;
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        dp_err_set(err, DP_ERR_INTERNAL, "envelope: out of memory");
    else if (rc != MSGPACK_UNPACK_SUCCESS || off != size)
        s_fail(err, &path, "malformed msgpack");
    else {
        msg = s_calloc(1, sizeof *msg);
        if (s_decode_envelope(&up.data, msg, &path, err) != 0 || dp_msg_validate(msg, err) != 0)
            dp_msg_destroy(&msg);
    }
    msgpack_unpacked_destroy(&up);
    return msg;
}

//  --------------------------------------------------------------------------
int dp_msg_peek_id(const void *data, size_t size, int *type, uint64_t *msg_id)
{
    s_path_t path;
    size_t end = 0;
    s_path_init(&path, "envelope");
    if (!data || size > DP_MSG_MAX_BYTES || s_prescan(data, size, &end, &path, NULL) != 0)
        return -1;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -1;
    if (msgpack_unpack_next(&up, data, end, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size == S_ENVELOPE_ITEMS &&
        up.data.via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        up.data.via.array.ptr[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (type)
            *type = (int)(up.data.via.array.ptr[1].via.u64 & 0xff);
        if (msg_id)
            *msg_id = up.data.via.array.ptr[2].via.u64;
        rc = 0;
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

//  --------------------------------------------------------------------------
int dp_msg_validate(const dp_msg_t *msg, dp_err_t *err)
{
    s_path_t path;
    s_path_init(&path, "envelope");
    if (!msg)
        return s_fail(err, &path, "no message");
    const s_record_t *r = s_record_for((int)msg->type);
    if (!r)
        return s_fail(err, &path, "unknown type %d", (int)msg->type);
    size_t old = s_path_push(&path, ".sender_node");
    if (s_validate_str(&s_envelope[4], msg->sender_node, DP_MSG_NODE_MAX, &path, err) != 0)
        return -1;
    s_path_pop(&path, old);
    s_path_init(&path, r->name);
    return s_validate_record(r, S_BODY(msg), &path, err);
}

//  --------------------------------------------------------------------------
void dp_msg_print_json(const dp_msg_t *msg, FILE *out)
{
    const s_record_t *r = s_record_for((int)msg->type);
    fprintf(out, "{\"type\":\"%s\",\"schema_version\":%d,\"msg_id\":%llu,\"created_ms\":%lld,",
            dp_msg_type_name(msg->type), msg->schema_version, (unsigned long long)msg->msg_id,
            (long long)msg->created_ms);
    fputs("\"sender_node\":", out);
    if (msg->sender_node)
        s_json_str(out, msg->sender_node);
    else
        fputs("null", out);
    fputs(",\"body\":", out);
    if (r)
        s_print_record(out, r, S_BODY(msg));
    else
        fputs("null", out);
    fputs("}\n", out);
}

//  --------------------------------------------------------------------------
const char *dp_msg_type_name(dp_msg_type_t type)
{
    const s_record_t *r = s_record_for((int)type);
    return r ? r->name : "UNKNOWN";
}

//  --------------------------------------------------------------------------
int dp_msg_type_from_name(const char *name)
{
    for (size_t i = 1; name && i < S_COUNT(s_types); i++)
        if (s_types[i].name && strcasecmp(s_types[i].name, name) == 0)
            return (int)i;
    return -1;
}

//  --------------------------------------------------------------------------
const char *dp_msg_kind_name(dp_msg_kind_t kind)
{
    return kind > 0 && (size_t)kind < S_COUNT(s_dp_msg_kind_names) ? s_dp_msg_kind_names[kind]
                                                                   : NULL;
}

//  --------------------------------------------------------------------------
const char *dp_msg_status_name(dp_msg_status_t status)
{
    return status > 0 && (size_t)status < S_COUNT(s_dp_msg_status_names)
               ? s_dp_msg_status_names[status]
               : NULL;
}

//  --------------------------------------------------------------------------
int dp_msg_kind_from_name(const char *name)
{
    for (size_t i = 1; name && i < S_COUNT(s_dp_msg_kind_names); i++)
        if (strcmp(s_dp_msg_kind_names[i], name) == 0)
            return (int)i;
    return -1;
}

//  --------------------------------------------------------------------------
int dp_msg_status_from_name(const char *name)
{
    for (size_t i = 1; name && i < S_COUNT(s_dp_msg_status_names); i++)
        if (strcmp(s_dp_msg_status_names[i], name) == 0)
            return (int)i;
    return -1;
}
