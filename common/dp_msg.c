/*  dp_msg.c - wire messages between distpoll stages: tables, free, validate, JSON, names
    One descriptor table, generated from the X-macro lists in dp_msg.h, drives encode and
    decode (dp_msg_codec.c), validate, print and free. Thread-safe.
    SPDX-License-Identifier: MIT */
#include "dp_msg_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>

//  --------------------------------------------------------------------------
//  The descriptor tables, generated from the lists in dp_msg.h

#define S_ENUM_NAME_(c, s) #s,
static const char *const s_dp_msg_kind_names[] = {NULL, DP_MSG_KINDS(S_ENUM_NAME_)};
static const char *const s_dp_msg_status_names[] = {NULL, DP_MSG_STATUSES(S_ENUM_NAME_)};

#define S_REQ_REQ true
#define S_REQ_OPT false
#define S_FD_SCALAR_(T, k, nm, rq, lim)                                                            \
    {.key = #nm,                                                                                   \
     .key_len = sizeof(#nm) - 1,                                                                   \
     .kind = DP_MSG_F_##k,                                                                         \
     .required = S_REQ_##rq,                                                                       \
     .limit = lim,                                                                                 \
     .off = offsetof(T, nm)},
#define S_FD_ARRAY_(T, k, nm, rq, lim, item_lim, sb)                                               \
    {.key = #nm,                                                                                   \
     .key_len = sizeof(#nm) - 1,                                                                   \
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
     .key_len = sizeof(#nm) - 1,                                                                   \
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
static int s_check_metrics(const void *base, s_path_t *path, dp_err_t *err);

#define S_T dp_msg_dset_t
static const s_field_t s_fields_dset[] = {DP_MSG_DSET_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_rrd_update_t
static const s_field_t s_fields_rrd_update[] = {DP_MSG_RRD_UPDATE_FIELDS(S_FD_)};
#undef S_T
#define S_T dp_msg_counter_t
static const s_field_t s_fields_counter[] = {DP_MSG_COUNTER_FIELDS(S_FD_)};
#undef S_T

static const s_record_t s_rec_dp_msg_dset = {"dset", sizeof(dp_msg_dset_t), s_fields_dset,
                                             S_COUNT(s_fields_dset), NULL};
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
S_FITS_(dset);
S_FITS_(rrd_update);
S_FITS_(counter);
S_FITS_(job);
S_FITS_(credit);
S_FITS_(result);
S_FITS_(metrics);
S_FITS_(heartbeat);
S_FITS_(ack);

/* Message bodies indexed by type id, with their cross-field rules. */
#define S_CHECK_job       NULL
#define S_CHECK_credit    NULL
#define S_CHECK_result    NULL
#define S_CHECK_metrics   s_check_metrics
#define S_CHECK_heartbeat NULL
#define S_CHECK_ack       NULL
#define S_TYPE_(n, id, m)                                                                          \
    [id] = {#n, sizeof(dp_msg_##m##_t), s_fields_##m, S_COUNT(s_fields_##m), S_CHECK_##m},
static const s_record_t s_types[] = {DP_MSG_TYPES(S_TYPE_)};

/* The envelope, decoded positionally into dp_msg_t (body is item 5). */
#define S_ENV_(k, kind_, limit_, field)                                                            \
    {                                                                                              \
        .key = k, .kind = DP_MSG_F_##kind_, .required = true, .limit = limit_,                     \
        .off = offsetof(dp_msg_t, field)                                                           \
    }
const s_field_t dp_msg_i_envelope[S_ENVELOPE_ITEMS - 1] = {
    S_ENV_("schema_version", INT, S_TYPE_ID_MAX, schema_version),
    S_ENV_("type_id", INT, S_TYPE_ID_MAX, type),
    S_ENV_("msg_id", U64, 0, msg_id),
    S_ENV_("created_ms", I64, 0, created_ms),
    S_ENV_("sender_node", STR, DP_MSG_NODE_MAX, sender_node),
};

//  --------------------------------------------------------------------------
//  Small helpers: record lookup, paths, errors

const s_record_t *dp_msg_i_record_for(int type)
{
    if (type <= 0 || (size_t)type >= S_COUNT(s_types) || !s_types[type].fields)
        return NULL;
    return &s_types[type];
}
/* Appends a formatted segment; returns the old length for s_path_pop. */
__attribute__((format(printf, 2, 3))) size_t dp_msg_i_path_push(s_path_t *path, const char *fmt,
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

/* Sets err to DP_ERR_PROTO "<path>: <reason>"; returns -1. */
__attribute__((format(printf, 3, 4))) int dp_msg_i_fail(dp_err_t *err, const s_path_t *path,
                                                        const char *fmt, ...)
{
    char reason[S_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return dp_err_set(err, DP_ERR_PROTO, "%s: %s", path->buf, reason);
}

bool dp_msg_i_present(const s_field_t *f, const void *base)
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

/* path with a key appended (for an error text). */
static const s_path_t *s_at(s_path_t *path, const char *key)
{
    s_path_push_key(path, key);
    return path;
}

static int s_validate_str(const s_field_t *f, const char *s, uint64_t limit, s_path_t *path,
                          dp_err_t *err)
{
    if (!s)
        return f->required ? dp_msg_i_fail(err, path, "missing required string") : 0;
    size_t len = strlen(s);
    if (len == 0 && f->required)
        return dp_msg_i_fail(err, path, "empty string");
    if (len > limit)
        return dp_msg_i_fail(err, path, "too long (%zu > %llu bytes)", len,
                             (unsigned long long)limit);
    return 0;
}

/* Checks item k of an array field (the path already names it). */
static int s_validate_item(const s_field_t *f, const void *items, size_t k, s_path_t *path,
                           dp_err_t *err)
{
    if (f->kind == DP_MSG_F_INTS && ((const int *)items)[k] < 0)
        return dp_msg_i_fail(err, path, "negative value %d", ((const int *)items)[k]);
    if (f->kind == DP_MSG_F_STRS) {
        s_field_t item = {.key = f->key, .kind = DP_MSG_F_STR, .required = true};
        return s_validate_str(&item, ((char *const *)items)[k], f->item_limit, path, err);
    }
    if (f->kind == DP_MSG_F_RECORDS)
        return s_validate_record(f->sub, (const char *)items + k * f->sub->size, path, err);
    return 0;
}

/* True when item k is certainly valid (a cheap test that skips the error path). */
static bool s_item_ok(const s_field_t *f, const void *items, size_t k)
{
    if (f->kind == DP_MSG_F_INTS)
        return ((const int *)items)[k] >= 0;
    if (f->kind == DP_MSG_F_STRS) {
        const char *str = ((char *const *)items)[k];
        return str && str[0] && strnlen(str, f->item_limit + 1) <= f->item_limit;
    }
    return f->kind != DP_MSG_F_RECORDS;
}

static int s_validate_items(const s_field_t *f, const void *base, s_path_t *path, dp_err_t *err)
{
    size_t n = s_get_count(base, f);
    const void *items = s_get_ptr(base, f->off);
    if (n > f->limit)
        return dp_msg_i_fail(err, path, "too many (%zu > %llu)", n, (unsigned long long)f->limit);
    if (n > 0 && !items)
        return dp_msg_i_fail(err, path, "%zu items declared but none set", n);
    for (size_t k = 0; k < n; k++) {
        if (s_item_ok(f, items, k))
            continue;
        size_t old = s_path_push_index(path, k);
        int rc = s_validate_item(f, items, k, path, err);
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
            return dp_msg_i_fail(err, path, "out of range (%d not in 0..%llu)", i,
                                 (unsigned long long)f->limit);
        return 0;
    case DP_MSG_F_ENUM:
        memcpy(&i, (const char *)base + f->off, sizeof i);
        if (i <= 0 || (size_t)i >= f->n_names)
            return dp_msg_i_fail(err, path, "invalid value %d", i);
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

/* An rrd update names a relative path without "..". */
static int s_check_rrd_update(const void *base, s_path_t *path, dp_err_t *err)
{
    const dp_msg_rrd_update_t *u = base;
    size_t old = s_path_push_key(path, "rrd");
    if (u->rrd[0] == '/')
        return dp_msg_i_fail(err, path, "path must be relative");
    for (const char *seg = u->rrd; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
        if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0'))
            return dp_msg_i_fail(err, path, "path must not contain '..'");
    }
    s_path_pop(path, old);
    return 0;
}

/* Names what is wrong with update u (known to break a rule of s_check_metrics). */
static int s_update_fail(const dp_msg_metrics_t *m, const dp_msg_rrd_update_t *u, size_t i,
                         s_path_t *path, dp_err_t *err)
{
    size_t n = 0;
    dp_msg_i_path_push(path, ".updates[%zu]", i);
    if (u->dset > 0 && u->n_ds > 0)
        return dp_msg_i_fail(err, s_at(path, "ds"), "given with dset %d (expected one of them)",
                             u->dset);
    if (u->dset == 0 && u->n_ds == 0)
        return dp_msg_i_fail(err, s_at(path, "ds"), "missing (and no dset)");
    if (!dp_msg_update_ds(m, u, &n))
        return dp_msg_i_fail(err, s_at(path, "dset"), "out of range (%d not in 1..%zu)", u->dset,
                             m->n_dsets);
    return dp_msg_i_fail(err, s_at(path, "values"), "%zu values for %zu ds", u->n_values, n);
}

/* Every DS list is non-empty; every update names exactly one (its own ds, or dset within
   dsets) and carries one value per DS. */
static int s_check_metrics(const void *base, s_path_t *path, dp_err_t *err)
{
    const dp_msg_metrics_t *m = base;
    for (size_t k = 0; k < m->n_dsets; k++)
        if (m->dsets[k].n_ds == 0)
            return dp_msg_i_fail(err, s_at(path, "dsets"), "item %zu: empty ds", k);
    for (size_t i = 0; i < m->n_updates; i++) {
        const dp_msg_rrd_update_t *u = &m->updates[i];
        bool one = (u->dset > 0) != (u->n_ds > 0);
        size_t n = 0;
        if (!one || !dp_msg_update_ds(m, u, &n) || n != u->n_values)
            return s_update_fail(m, u, i, path, err);
    }
    return 0;
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
        if (!dp_msg_i_present(&r->fields[i], base))
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
    if (!dp_msg_i_record_for((int)type))
        return NULL;
    dp_msg_t *msg = calloc(1, sizeof *msg);
    if (!msg)
        abort();
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
    const s_record_t *r = dp_msg_i_record_for((int)msg->type);
    if (r && !msg->arena)
        s_free_record(r, S_BODY(msg));
    dp_msg_i_arena_free(msg->arena);
    free(msg->sender_node);
    free(msg);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_msg_validate(const dp_msg_t *msg, dp_err_t *err)
{
    s_path_t path;
    s_path_init(&path, "envelope");
    if (!msg)
        return dp_msg_i_fail(err, &path, "no message");
    const s_record_t *r = dp_msg_i_record_for((int)msg->type);
    if (!r)
        return dp_msg_i_fail(err, &path, "unknown type %d", (int)msg->type);
    size_t old = dp_msg_i_path_push(&path, ".sender_node");
    if (s_validate_str(&dp_msg_i_envelope[4], msg->sender_node, DP_MSG_NODE_MAX, &path, err) != 0)
        return -1;
    s_path_pop(&path, old);
    s_path_init(&path, r->name);
    return s_validate_record(r, S_BODY(msg), &path, err);
}

//  --------------------------------------------------------------------------
const char *const *dp_msg_update_ds(const dp_msg_metrics_t *m, const dp_msg_rrd_update_t *u,
                                    size_t *n)
{
    if (u->dset == 0) {
        *n = u->n_ds;
        return (const char *const *)u->ds;
    }
    if (u->dset < 0 || (size_t)u->dset > m->n_dsets) {
        *n = 0;
        return NULL;
    }
    const dp_msg_dset_t *d = &m->dsets[u->dset - 1];
    *n = d->n_ds;
    return (const char *const *)d->ds;
}

//  --------------------------------------------------------------------------
void dp_msg_print_json(const dp_msg_t *msg, FILE *out)
{
    const s_record_t *r = dp_msg_i_record_for((int)msg->type);
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
    const s_record_t *r = dp_msg_i_record_for((int)type);
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