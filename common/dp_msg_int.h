/*  dp_msg_int.h - internals shared by dp_msg.c (tables, validate, print) and dp_msg_codec.c
    (encode, decode). Not part of the API: include only from those two files.
    SPDX-License-Identifier: MIT */
#ifndef DP_MSG_INT_H
#define DP_MSG_INT_H

#include "dp_msg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
    size_t key_len;           /* strlen(key) (records' keys; 0 in the envelope) */
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

/* The envelope, decoded positionally into dp_msg_t (body is item 5). */
extern const s_field_t dp_msg_i_envelope[S_ENVELOPE_ITEMS - 1];

#define S_BODY(msg) ((char *)(msg) + offsetof(dp_msg_t, job)) /* all union members share it */

/* Body record of a message type, or NULL for an unknown type. */
const s_record_t *dp_msg_i_record_for(int type);

/* Appends a formatted segment; returns the old length for s_path_pop. */
__attribute__((format(printf, 2, 3))) size_t dp_msg_i_path_push(s_path_t *path, const char *fmt,
                                                                ...);

/* Sets err to DP_ERR_PROTO "<path>: <reason>"; returns -1. */
__attribute__((format(printf, 3, 4))) int dp_msg_i_fail(dp_err_t *err, const s_path_t *path,
                                                        const char *fmt, ...);

/* Frees a decoded message's arena (dp_msg_t.arena). NULL-safe. */
void dp_msg_i_arena_free(void *arena);

/* Optional fields are omitted from the wire (and the JSON) when zero, NULL or empty. */
bool dp_msg_i_present(const s_field_t *f, const void *base);

//  Field access and error paths (inline: used in the hot loops)

static inline void *s_get_ptr(const void *base, size_t off)
{
    void *p;
    memcpy(&p, (const char *)base + off, sizeof p);
    return p;
}

static inline void s_set_ptr(void *base, size_t off, void *p)
{
    memcpy((char *)base + off, &p, sizeof p);
}

static inline size_t s_get_count(const void *base, const s_field_t *f)
{
    size_t n;
    memcpy(&n, (const char *)base + f->count_off, sizeof n);
    return n;
}

static inline void s_set_count(void *base, const s_field_t *f, size_t n)
{
    memcpy((char *)base + f->count_off, &n, sizeof n);
}

static inline void s_path_init(s_path_t *path, const char *root)
{
    int n = snprintf(path->buf, sizeof path->buf, "%s", root);
    path->len = n < (int)sizeof path->buf ? (size_t)n : sizeof path->buf - 1;
}

/* Fast forms of s_path_push for the hot decode/validate loops (same text, no printf). */
static inline size_t s_path_push_key(s_path_t *path, const char *key)
{
    size_t old = path->len, n = strlen(key);
    if (old + 1 + n >= sizeof path->buf)
        return dp_msg_i_path_push(path, ".%s", key);
    path->buf[old] = '.';
    memcpy(path->buf + old + 1, key, n + 1);
    path->len = old + 1 + n;
    return old;
}

static inline size_t s_path_push_index(s_path_t *path, size_t k)
{
    char tmp[24];
    size_t n = 0, old = path->len, orig = k;
    do
        tmp[n++] = (char)('0' + k % 10);
    while ((k /= 10) > 0);
    if (old + n + 2 >= sizeof path->buf)
        return dp_msg_i_path_push(path, "[%zu]", orig);
    char *p = path->buf + old;
    *p++ = '[';
    while (n > 0)
        *p++ = tmp[--n];
    *p++ = ']';
    *p = '\0';
    path->len = (size_t)(p - path->buf);
    return old;
}

static inline void s_path_pop(s_path_t *path, size_t old)
{
    path->len = old;
    path->buf[old] = '\0';
}

#endif
