/*  dp_msg_codec.c - wire messages: msgpack encode and decode (table-driven, see dp_msg.c)
    Decoding first pre-scans the bytes so that no declared length, item count or nesting
    exceeds what the input can hold (msgpack-c would otherwise allocate for hostile counts),
    then copies everything out of the msgpack zone. Thread-safe.
    SPDX-License-Identifier: MIT */
#include "dp_msg_int.h"

#include <msgpack.h>

#include <math.h>
#include <stdlib.h>

//  --------------------------------------------------------------------------
//  Small helpers

/* A decoded body lives in a chain of zeroed blocks: one or two allocations per message
   instead of one per string and array (the decode hot path), freed together. */
typedef struct s_block {
    struct s_block *next; /* older block */
    size_t used, cap;     /* bytes of data */
    max_align_t data[];   /* the storage */
} s_block_t;

#define S_BLOCK_MIN 1024 /* smallest block */

/* The arena being filled by this thread's decode (NULL: plain calloc/malloc). */
static _Thread_local s_block_t **s_arena;

static void *s_arena_alloc(size_t bytes)
{
    size_t need = (bytes + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    s_block_t *b = *s_arena;
    if (!b || b->cap - b->used < need) {
        size_t cap = b && b->cap * 2 > need ? b->cap * 2 : need > S_BLOCK_MIN ? need : S_BLOCK_MIN;
        s_block_t *nb = calloc(1, sizeof *nb + cap);
        if (!nb)
            abort(); /* out of memory is fatal (STYLE 6) */
        nb->next = b;
        nb->cap = cap;
        *s_arena = b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += need;
    return p;
}

void dp_msg_i_arena_free(void *arena)
{
    for (s_block_t *b = arena; b;) {
        s_block_t *next = b->next;
        free(b);
        b = next;
    }
}

static void *s_calloc(size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    if (s_arena)
        return s_arena_alloc(n * size); /* n * size is bounded by the input (pre-scan) */
    void *p = calloc(n, size);
    if (!p)
        abort(); /* out of memory is fatal (STYLE 6) */
    return p;
}

static char *s_strndup(const char *s, size_t len)
{
    char *p = s_arena ? s_arena_alloc(len + 1) : malloc(len + 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, s, len); /* msgpack may give NULL for an empty string */
    p[len] = '\0';
    return p;
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

/* A DOUBLES item: integral values that convert exactly go as msgpack integers (a counter of
   1e9 takes 5 bytes instead of 9; every decoder accepts integers there), others as float64
   (NaN, fractions, -0.0, beyond 2^64). */
static void s_pack_number(msgpack_packer *pk, double v)
{
    if (v >= 0 && v < 18446744073709551616.0 && v == (double)(uint64_t)v && !signbit(v))
        msgpack_pack_uint64(pk, (uint64_t)v);
    else if (v < 0 && v >= -9223372036854775808.0 && v == (double)(int64_t)v)
        msgpack_pack_int64(pk, (int64_t)v);
    else
        msgpack_pack_double(pk, v);
}

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
            s_pack_number(pk, ((const double *)items)[k]);
        else
            s_pack_record(pk, f->sub, (const char *)items + k * f->sub->size);
    }
}

static void s_pack_record(msgpack_packer *pk, const s_record_t *r, const void *base)
{
    size_t present = 0;
    for (size_t i = 0; i < r->n_fields; i++)
        present += dp_msg_i_present(&r->fields[i], base);
    msgpack_pack_map(pk, present);
    for (size_t i = 0; i < r->n_fields; i++) {
        if (!dp_msg_i_present(&r->fields[i], base))
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
            return dp_msg_i_fail(err, path, "truncated");
        if (s_header(p[pos++], &skip, &len_bytes, &mode, &items) != 0)
            return dp_msg_i_fail(err, path, "malformed msgpack (byte 0xc1 at %zu)", pos - 1);
        left[top]--, pending--;
        if (len_bytes) {
            if (size - pos < len_bytes)
                return dp_msg_i_fail(err, path, "truncated");
            uint64_t n = s_read_be(p + pos, len_bytes);
            pos += len_bytes;
            if (mode == S_BYTES || mode == S_EXT)
                skip = n + (mode == S_EXT);
            else
                items = mode == S_PAIRS ? 2 * n : n;
        }
        if (skip > size - pos)
            return dp_msg_i_fail(err, path, "truncated");
        pos += skip;
        if (items > size - pos || pending + items > size - pos)
            return dp_msg_i_fail(err, path, "truncated");
        if (items > 0) {
            if (top >= S_DEPTH_MAX)
                return dp_msg_i_fail(err, path, "nesting deeper than %d", S_DEPTH_MAX);
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
        return dp_msg_i_fail(err, path, "expected string, got %s", s_obj_type_name(o->type));
    if (o->via.str.size > limit)
        return dp_msg_i_fail(err, path, "too long (%u > %llu bytes)", (unsigned)o->via.str.size,
                             (unsigned long long)limit);
    if (o->via.str.size && memchr(o->via.str.ptr, '\0', o->via.str.size))
        return dp_msg_i_fail(err, path, "string contains a NUL byte");
    *out = s_strndup(o->via.str.ptr, o->via.str.size);
    return 0;
}

static int s_decode_uint(const msgpack_object *o, uint64_t limit, uint64_t *out, s_path_t *path,
                         dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return dp_msg_i_fail(err, path, "expected unsigned integer, got %s",
                             s_obj_type_name(o->type));
    if (o->via.u64 > limit)
        return dp_msg_i_fail(err, path, "out of range (%llu > %llu)",
                             (unsigned long long)o->via.u64, (unsigned long long)limit);
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
            return dp_msg_i_fail(err, path, "expected integer, got %s", s_obj_type_name(o->type));
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
            return dp_msg_i_fail(err, path, "expected string, got %s", s_obj_type_name(o->type));
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
        return dp_msg_i_fail(err, path, "unknown value (expected %s)", expected);
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
            return dp_msg_i_fail(err, path, "expected number, got %s", s_obj_type_name(o->type));
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
        return dp_msg_i_fail(err, path, "expected array, got %s", s_obj_type_name(o->type));
    size_t n = o->via.array.size;
    if (n > f->limit)
        return dp_msg_i_fail(err, path, "too many (%zu > %llu)", n, (unsigned long long)f->limit);
    size_t item_size = f->kind == DP_MSG_F_INTS      ? sizeof(int)
                       : f->kind == DP_MSG_F_U64S    ? sizeof(uint64_t)
                       : f->kind == DP_MSG_F_STRS    ? sizeof(char *)
                       : f->kind == DP_MSG_F_DOUBLES ? sizeof(double)
                                                     : f->sub->size;
    void *items = s_calloc(n, item_size);
    s_set_ptr(base, f->off, items); /* owned by base from here: freed on any failure */
    s_set_count(base, f, n);
    for (size_t k = 0; k < n; k++) {
        const msgpack_object *item = &o->via.array.ptr[k];
        if (f->kind != DP_MSG_F_RECORDS && s_decode_item(f, item, items, k, path, NULL) == 0)
            continue; /* the fast path: the index is only named in an error */
        size_t old = s_path_push_index(path, k);
        if (s_decode_item(f, item, items, k, path, err))
            return -1;
        s_path_pop(path, old);
    }
    return 0;
}

static int s_decode_record(const s_record_t *r, const msgpack_object *o, void *base, s_path_t *path,
                           dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return dp_msg_i_fail(err, path, "expected map, got %s", s_obj_type_name(o->type));
    uint64_t seen = 0;
    for (uint32_t k = 0; k < o->via.map.size; k++) {
        const msgpack_object *key = &o->via.map.ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return dp_msg_i_fail(err, path, "key expected string, got %s",
                                 s_obj_type_name(key->type));
        for (size_t i = 0; i < r->n_fields; i++) {
            const s_field_t *f = &r->fields[i];
            if (f->key_len != key->via.str.size ||
                memcmp(f->key, key->via.str.ptr, key->via.str.size) != 0)
                continue;
            size_t old = s_path_push_key(path, f->key);
            if (seen & (UINT64_C(1) << i))
                return dp_msg_i_fail(err, path, "duplicate key");
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
            return dp_msg_i_fail(err, path, "missing required key");
        }
    }
    return 0;
}

static int s_decode_envelope(const msgpack_object *o, dp_msg_t *msg, size_t size_hint,
                             s_path_t *path, dp_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return dp_msg_i_fail(err, path, "expected array, got %s", s_obj_type_name(o->type));
    if (o->via.array.size != S_ENVELOPE_ITEMS)
        return dp_msg_i_fail(err, path, "expected %d items, got %u", S_ENVELOPE_ITEMS,
                             (unsigned)o->via.array.size);
    for (size_t i = 0; i < S_COUNT(dp_msg_i_envelope); i++) {
        size_t old = dp_msg_i_path_push(path, ".%s", dp_msg_i_envelope[i].key);
        if (s_decode_field(&dp_msg_i_envelope[i], &o->via.array.ptr[i], msg, path, err))
            return -1;
        s_path_pop(path, old);
    }
    if (msg->schema_version < DP_MSG_SCHEMA_MIN || msg->schema_version > DP_MSG_SCHEMA_VERSION)
        return dp_msg_i_fail(err, path, "schema_version %d not supported (accept %d..%d)",
                             msg->schema_version, DP_MSG_SCHEMA_MIN, DP_MSG_SCHEMA_VERSION);
    const s_record_t *r = dp_msg_i_record_for((int)msg->type);
    if (!r) {
        int id = (int)msg->type;
        msg->type = DP_MSG_NONE; /* so destroy does not look for a body */
        return dp_msg_i_fail(err, path, "unknown type_id %d", id);
    }
    s_path_init(path, r->name);
    /* the first block sized for a typical body: about twice the encoded bytes */
    s_block_t *first = calloc(1, sizeof *first + size_hint * 2 + S_BLOCK_MIN);
    if (!first)
        abort();
    first->cap = size_hint * 2 + S_BLOCK_MIN;
    msg->arena = first;
    s_arena = (s_block_t **)&msg->arena;
    int rc = s_decode_record(r, &o->via.array.ptr[S_ENVELOPE_ITEMS - 1], S_BODY(msg), path, err);
    s_arena = NULL;
    return rc;
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
    s_pack_record(&pk, dp_msg_i_record_for((int)msg->type), S_BODY(msg));
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
        dp_msg_i_fail(err, &path, "too large (%zu > %d bytes)", size, DP_MSG_MAX_BYTES);
        return NULL;
    }
    size_t end = 0;
    if (!data || s_prescan(data, size, &end, &path, err) != 0) {
        if (!data)
            dp_msg_i_fail(err, &path, "truncated");
        return NULL;
    }
    if (end != size) {
        dp_msg_i_fail(err, &path, "trailing bytes (%zu)", size - end);
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
        dp_msg_i_fail(err, &path, "malformed msgpack");
    else {
        msg = s_calloc(1, sizeof *msg);
        if (s_decode_envelope(&up.data, msg, size, &path, err) != 0 ||
            dp_msg_validate(msg, err) != 0)
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
