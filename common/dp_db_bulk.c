/*  dp_db_bulk.c - bulk (array) execution of a prepared statement (see dp_db.h)
    Rows are stored column-wise, as Connector/C's array binding reads them: per column a value
    array and an indicator array (STMT_INDICATOR_NULL for SQL NULL); strings and DATETIMEs are
    bound as arrays of pointers (their pack length is variable), built just before executing
    because the arrays they point into grow. The statement is an ordinary registered
    dp_db_stmt_t, so reconnect, re-prepare and retry are dp_db_run's.
    SPDX-License-Identifier: MIT */
#include "dp_db.h"
#include "dp_db_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MIN_ROWS 64 /* first allocation, in rows */
#define S_BAD_MAX  96 /* the first misuse, reported by dp_db_bulk_exec */

typedef struct {
    char type;           /* 'i' 'u' 'd' 'b' 's' 't' */
    size_t size;         /* bytes per value in vals */
    void *vals;          /* int64_t, uint64_t, double, signed char, size_t (offset), MYSQL_TIME */
    unsigned long *lens; /* 's': value lengths */
    void **ptrs;         /* 's', 't': per-row pointers, built by s_bind */
    char *ind;           /* STMT_INDICATOR_NONE / _NULL per row */
    int64_t last_ms;     /* 't': the last value converted, and its MYSQL_TIME */
    MYSQL_TIME last_t;
} s_col_t;

struct dp_db_bulk {
    dp_db_stmt_t *s; /* the prepared statement (owns this) */
    int ncols;
    s_col_t *cols;
    MYSQL_BIND *bind;
    unsigned rows, cap; /* rows added; rows allocated */
    int next;           /* next column of the current row */
    char *text;         /* 's' values, NUL-separated */
    size_t text_len, text_cap;
    char bad[S_BAD_MAX]; /* first misuse, "" when none */
    int64_t affected;
};

static size_t s_size_of(char type)
{
    switch (type) {
    case 'i':
    case 'u':
        return sizeof(int64_t);
    case 'd':
        return sizeof(double);
    case 'b':
        return sizeof(signed char);
    case 's':
        return sizeof(size_t);
    case 't':
        return sizeof(MYSQL_TIME);
    default:
        return 0;
    }
}

static void *s_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

void dp_db_bulk_free(struct dp_db_bulk *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->ncols; i++) {
        free(b->cols[i].vals);
        free(b->cols[i].lens);
        free(b->cols[i].ptrs);
        free(b->cols[i].ind);
    }
    free(b->cols);
    free(b->bind);
    free(b->text);
    free(b);
}

//  --------------------------------------------------------------------------
dp_db_bulk_t *dp_db_bulk_new(dp_db_t *db, const char *sql, const char *types, int flags,
                             dp_err_t *err)
{
    if (!db || !sql || !types)
        return NULL;
    size_t n = strlen(types);
    for (size_t i = 0; i < n; i++)
        if (!s_size_of(types[i])) {
            dp_err_set(err, DP_ERR_INTERNAL, "\"%.*s\": bad bulk column type '%c'",
                       DP_DB_SQL_SNIPPET, sql, types[i]);
            return NULL;
        }
    dp_db_stmt_t *s = dp_db_prepare_flags(db, sql, flags, err);
    if (!s)
        return NULL;
    if (n == 0 || n != s->nparams) {
        dp_db_fail(db, err, DP_ERR_INTERNAL, "\"%.*s\": %u parameters, bulk types \"%s\" give %zu",
                   DP_DB_SQL_SNIPPET, sql, s->nparams, types, n);
        dp_db_stmt_destroy(&s);
        return NULL;
    }
    dp_db_bulk_t *b = dp_db_xcalloc(1, sizeof *b);
    b->s = s;
    b->ncols = (int)n;
    b->cols = dp_db_xcalloc(n, sizeof *b->cols);
    b->bind = dp_db_xcalloc(n, sizeof *b->bind);
    b->affected = -1;
    for (size_t i = 0; i < n; i++) {
        b->cols[i].type = types[i];
        b->cols[i].size = s_size_of(types[i]);
        b->cols[i].last_ms = -1;
    }
    s->bulk = b;
    return b;
}

//  --------------------------------------------------------------------------
void dp_db_bulk_destroy(dp_db_bulk_t **p)
{
    if (!p || !*p)
        return;
    dp_db_stmt_t *s = (*p)->s;
    *p = NULL;
    dp_db_stmt_destroy(&s); /* frees the bulk too */
}

static void s_misuse(dp_db_bulk_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_misuse(dp_db_bulk_t *b, const char *fmt, ...)
{
    if (b->bad[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->bad, sizeof b->bad, fmt, ap);
    va_end(ap);
}

static void s_grow(dp_db_bulk_t *b)
{
    unsigned cap = b->cap ? b->cap * 2 : S_MIN_ROWS;
    for (int i = 0; i < b->ncols; i++) {
        s_col_t *c = &b->cols[i];
        c->vals = s_xrealloc(c->vals, cap * c->size);
        c->ind = s_xrealloc(c->ind, cap);
        if (c->type == 's')
            c->lens = s_xrealloc(c->lens, cap * sizeof *c->lens);
        if (c->type == 's' || c->type == 't')
            c->ptrs = s_xrealloc(c->ptrs, cap * sizeof *c->ptrs);
    }
    b->cap = cap;
}

//  --------------------------------------------------------------------------
void dp_db_bulk_row(dp_db_bulk_t *b)
{
    if (b->rows > 0 && b->next != b->ncols)
        s_misuse(b, "row %u has %d of %d values", b->rows, b->next, b->ncols);
    if (b->rows == b->cap)
        s_grow(b);
    b->rows++;
    b->next = 0;
}

//  The column the next value goes to, or NULL (misuse recorded) when it is not of type.
static s_col_t *s_next(dp_db_bulk_t *b, char type)
{
    if (b->rows == 0 || b->next >= b->ncols) {
        s_misuse(b, "row %u: value %d of %d (no row started, or too many values)", b->rows,
                 b->next + 1, b->ncols);
        return NULL;
    }
    s_col_t *c = &b->cols[b->next++];
    if (type && c->type != type) {
        s_misuse(b, "row %u column %d: value of type '%c', column is '%c'", b->rows, b->next, type,
                 c->type);
        return NULL;
    }
    c->ind[b->rows - 1] = STMT_INDICATOR_NONE;
    return c;
}

#define S_VAL(c, b, T) (((T *)(c)->vals)[(b)->rows - 1])

void dp_db_bulk_int(dp_db_bulk_t *b, int64_t v)
{
    s_col_t *c = s_next(b, 'i');
    if (c)
        S_VAL(c, b, int64_t) = v;
}

void dp_db_bulk_uint(dp_db_bulk_t *b, uint64_t v)
{
    s_col_t *c = s_next(b, 'u');
    if (c)
        S_VAL(c, b, uint64_t) = v;
}

void dp_db_bulk_double(dp_db_bulk_t *b, double v)
{
    s_col_t *c = s_next(b, 'd');
    if (c)
        S_VAL(c, b, double) = v;
}

void dp_db_bulk_bool(dp_db_bulk_t *b, int v)
{
    s_col_t *c = s_next(b, 'b');
    if (c)
        S_VAL(c, b, signed char) = v ? 1 : 0;
}

void dp_db_bulk_null(dp_db_bulk_t *b)
{
    s_col_t *c = s_next(b, 0);
    if (!c)
        return;
    c->ind[b->rows - 1] = STMT_INDICATOR_NULL;
    if (c->lens)
        c->lens[b->rows - 1] = 0;
}

void dp_db_bulk_str(dp_db_bulk_t *b, const char *v)
{
    if (!v) {
        dp_db_bulk_null(b);
        return;
    }
    s_col_t *c = s_next(b, 's');
    if (!c)
        return;
    size_t n = strlen(v);
    if (b->text_len + n + 1 > b->text_cap) {
        size_t cap = b->text_cap ? b->text_cap : 4096;
        while (cap < b->text_len + n + 1)
            cap *= 2;
        b->text = s_xrealloc(b->text, cap);
        b->text_cap = cap;
    }
    memcpy(b->text + b->text_len, v, n + 1);
    S_VAL(c, b, size_t) = b->text_len;
    c->lens[b->rows - 1] = (unsigned long)n;
    b->text_len += n + 1;
}

void dp_db_bulk_time_ms(dp_db_bulk_t *b, int64_t wall_ms)
{
    if (wall_ms < 0) {
        dp_db_bulk_null(b);
        return;
    }
    s_col_t *c = s_next(b, 't');
    if (!c)
        return;
    if (wall_ms != c->last_ms) { /* rows of one poll share their time: convert once */
        dp_db_time_from_ms(wall_ms, &c->last_t);
        c->last_ms = wall_ms;
    }
    S_VAL(c, b, MYSQL_TIME) = c->last_t;
}

//  --------------------------------------------------------------------------
int dp_db_bulk_rows(const dp_db_bulk_t *b)
{
    return b ? (int)b->rows : 0;
}

//  --------------------------------------------------------------------------
int64_t dp_db_bulk_affected(const dp_db_bulk_t *b)
{
    return b ? b->affected : -1;
}

//  Column-wise binds over the stored rows (pointer arrays for strings and times).
static void s_bind(dp_db_bulk_t *b)
{
    memset(b->bind, 0, (size_t)b->ncols * sizeof *b->bind);
    for (int i = 0; i < b->ncols; i++) {
        s_col_t *c = &b->cols[i];
        MYSQL_BIND *m = &b->bind[i];
        m->buffer = c->vals;
        m->u.indicator = c->ind;
        switch (c->type) {
        case 'i':
        case 'u':
            m->buffer_type = MYSQL_TYPE_LONGLONG;
            m->is_unsigned = c->type == 'u';
            break;
        case 'd':
            m->buffer_type = MYSQL_TYPE_DOUBLE;
            break;
        case 'b':
            m->buffer_type = MYSQL_TYPE_TINY;
            break;
        case 's':
            m->buffer_type = MYSQL_TYPE_STRING;
            m->length = c->lens;
            for (unsigned r = 0; r < b->rows; r++)
                c->ptrs[r] =
                    c->ind[r] == STMT_INDICATOR_NULL ? NULL : b->text + ((size_t *)c->vals)[r];
            m->buffer = c->ptrs;
            break;
        case 't':
            m->buffer_type = MYSQL_TYPE_DATETIME;
            for (unsigned r = 0; r < b->rows; r++)
                c->ptrs[r] = (MYSQL_TIME *)c->vals + r;
            m->buffer = c->ptrs;
            break;
        }
    }
}

static int s_execute_once(dp_db_stmt_t *s, dp_err_t *err, void *arg)
{
    dp_db_bulk_t *b = arg;
    char what[48];
    snprintf(what, sizeof what, "bulk of %u rows:", b->rows);
    if (!s->h && dp_db_prepare_handle(s, err) != 0)
        return -1;
    unsigned n = b->rows;
    if (mysql_stmt_attr_set(s->h, STMT_ATTR_ARRAY_SIZE, &n) != 0 ||
        mysql_stmt_bind_param(s->h, b->bind) != 0)
        return dp_db_stmt_fail(s, err, what);
    if (mysql_stmt_execute(s->h) != 0)
        return dp_db_stmt_fail(s, err, what);
    s->affected = b->affected = (int64_t)mysql_stmt_affected_rows(s->h);
    s->insert_id = (uint64_t)mysql_stmt_insert_id(s->h);
    return 0;
}

static void s_clear(dp_db_bulk_t *b)
{
    b->rows = 0;
    b->next = 0;
    b->text_len = 0;
    b->bad[0] = '\0';
}

//  --------------------------------------------------------------------------
int dp_db_bulk_exec(dp_db_bulk_t *b, dp_err_t *err)
{
    if (!b)
        return dp_err_set(err, DP_ERR_INTERNAL, "no bulk statement");
    dp_db_stmt_t *s = b->s;
    b->affected = s->affected = -1;
    if (b->rows > 0 && b->next != b->ncols)
        s_misuse(b, "row %u has %d of %d values", b->rows, b->next, b->ncols);
    int rc = 0;
    if (b->bad[0]) {
        rc = dp_db_fail(s->db, err, DP_ERR_INTERNAL, "bulk \"%.*s\" of %u rows: %s",
                        DP_DB_SQL_SNIPPET, s->sql, b->rows, b->bad);
    } else if (b->rows > 0) {
        dp_db_free_result(s);
        s_bind(b);
        rc = dp_db_run(s, err, s_execute_once, b);
    } else {
        b->affected = s->affected = 0;
    }
    s_clear(b);
    return rc;
}
