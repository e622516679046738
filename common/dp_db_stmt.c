/*  dp_db_stmt.c - MariaDB statements: parameters in, execute (retried once after a lost
    connection when idempotent), results buffered client-side and read by typed getters.
    The connection side (reconnect, registry, transactions) is dp_db.c; see dp_db_priv.h.
    SPDX-License-Identifier: MIT */
#include "dp_db.h"
#include "dp_db_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MIN_STR_CAP 64 /* smallest buffer of a string column */

void dp_db_free_result(dp_db_stmt_t *s)
{
    if (s->has_rows && s->h)
        mysql_stmt_free_result(s->h);
    s->has_rows = false;
    for (int i = 0; i < s->ncols; i++)
        free(s->cols[i].buf);
    free(s->cols);
    free(s->rbind);
    s->cols = NULL;
    s->rbind = NULL;
    s->ncols = 0;
}

void dp_db_time_from_ms(int64_t ms, MYSQL_TIME *t)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    memset(t, 0, sizeof *t);
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)(ms % 1000) * 1000;
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

static int64_t s_time_to_ms(const MYSQL_TIME *t)
{
    struct tm tm = {0};
    tm.tm_year = (int)t->year - 1900;
    tm.tm_mon = (int)t->month - 1;
    tm.tm_mday = (int)t->day;
    tm.tm_hour = (int)t->hour;
    tm.tm_min = (int)t->minute;
    tm.tm_sec = (int)t->second;
    return (int64_t)timegm(&tm) * 1000 + (int64_t)(t->second_part / 1000);
}

//  Reads the parameters from ap into the statement's storage (once per call, so a
//  retry binds the same values again).
static int s_load_params(dp_db_stmt_t *s, dp_err_t *err, const char *types, va_list ap)
{
    size_t n = types ? strlen(types) : 0;
    if (n != s->nparams)
        return dp_db_fail(s->db, err, DP_ERR_INTERNAL,
                          "\"%.*s\": %u parameters, types \"%s\" give %zu", DP_DB_SQL_SNIPPET,
                          s->sql, s->nparams, types ? types : "", n);
    memset(s->pbind, 0, s->nparams * sizeof *s->pbind);
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *b = &s->pbind[i];
        dp_db_param_t *p = &s->pval[i];
        memset(p, 0, sizeof *p);
        b->is_null = &p->is_null;
        b->buffer = &p->v;
        switch (types[i]) {
        case 'i':
            p->v.i = va_arg(ap, int64_t);
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            break;
        case 'u':
            p->v.u = va_arg(ap, uint64_t);
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->is_unsigned = 1;
            break;
        case 'd':
            p->v.d = va_arg(ap, double);
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            break;
        case 'b':
            p->v.b = va_arg(ap, int) ? 1 : 0;
            b->buffer_type = MYSQL_TYPE_TINY;
            break;
        case 't': {
            int64_t ms = va_arg(ap, int64_t);
            if (ms < 0)
                p->is_null = 1;
            else
                dp_db_time_from_ms(ms, &p->v.t);
            b->buffer_type = MYSQL_TYPE_DATETIME;
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            b->buffer_type = MYSQL_TYPE_STRING;
            if (!str) {
                p->is_null = 1;
            } else {
                b->buffer = (void *)str;
                p->len = (unsigned long)strlen(str);
                b->buffer_length = p->len;
                b->length = &p->len;
            }
            break;
        }
        default:
            return dp_db_fail(s->db, err, DP_ERR_INTERNAL, "\"%.*s\": bad parameter type '%c'",
                              DP_DB_SQL_SNIPPET, s->sql, types[i]);
        }
    }
    return 0;
}

static dp_db_kind_t s_kind_of(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return (f->flags & UNSIGNED_FLAG) ? DP_DB_COL_UINT : DP_DB_COL_INT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return DP_DB_COL_DOUBLE;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_DATE:
        return DP_DB_COL_TIME;
    default:
        return DP_DB_COL_STR;
    }
}

//  Stores the whole result client-side and binds typed buffers sized from max_length.
static int s_bind_result(dp_db_stmt_t *s, dp_err_t *err)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(s->h);
    if (!meta)
        return 0; /* statement returns no rows */
    if (mysql_stmt_store_result(s->h) != 0) {
        mysql_free_result(meta);
        return dp_db_stmt_fail(s, err, "fetch");
    }
    s->has_rows = true;
    s->ncols = (int)mysql_num_fields(meta);
    s->rbind = dp_db_xcalloc((size_t)s->ncols, sizeof *s->rbind);
    s->cols = dp_db_xcalloc((size_t)s->ncols, sizeof *s->cols);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    for (int i = 0; i < s->ncols; i++) {
        MYSQL_BIND *b = &s->rbind[i];
        dp_db_col_t *c = &s->cols[i];
        c->kind = s_kind_of(&fields[i]);
        b->is_null = &c->is_null;
        b->error = &c->error;
        b->length = &c->len;
        b->buffer = &c->v;
        switch (c->kind) {
        case DP_DB_COL_INT:
        case DP_DB_COL_UINT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->is_unsigned = c->kind == DP_DB_COL_UINT;
            break;
        case DP_DB_COL_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            break;
        case DP_DB_COL_TIME:
            b->buffer_type = MYSQL_TYPE_DATETIME;
            break;
        case DP_DB_COL_STR:
            c->cap = fields[i].max_length + 1;
            if (c->cap < S_MIN_STR_CAP)
                c->cap = S_MIN_STR_CAP;
            c->buf = dp_db_xcalloc(1, c->cap);
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = c->buf;
            b->buffer_length = c->cap - 1;
            break;
        }
    }
    mysql_free_result(meta);
    if (mysql_stmt_bind_result(s->h, s->rbind) != 0)
        return dp_db_stmt_fail(s, err, "bind result");
    return 0;
}

static int s_execute_once(dp_db_stmt_t *s, dp_err_t *err, void *arg)
{
    bool rows = *(const bool *)arg;
    if (!s->h && dp_db_prepare_handle(s, err) != 0)
        return -1;
    if (s->nparams && mysql_stmt_bind_param(s->h, s->pbind) != 0)
        return dp_db_stmt_fail(s, err, "bind");
    if (mysql_stmt_execute(s->h) != 0)
        return dp_db_stmt_fail(s, err, "execute");
    s->affected = (int64_t)mysql_stmt_affected_rows(s->h);
    s->insert_id = (uint64_t)mysql_stmt_insert_id(s->h);
    if (s_bind_result(s, err) != 0)
        return -1;
    if (!rows)
        dp_db_free_result(s);
    return 0;
}

int dp_db_run(dp_db_stmt_t *s, dp_err_t *err, dp_db_once_fn *once, void *arg)
{
    dp_db_t *db = s->db;
    uint64_t opens = db->opens;
    for (int attempt = 0;; attempt++) {
        if (dp_db_ensure(db, err) != 0)
            return -1;
        if (once(s, err, arg) == 0) {
            db->last_errno = 0;
            return 0;
        }
        if (db->my)
            return -1; /* server-side error: the connection is fine */
        if (db->in_tx)
            return -1; /* tx_lost set; text says so */
        /* Retry once, and only if that costs at most one connect in this call. */
        if (attempt > 0 || !(s->flags & DP_DB_IDEMPOTENT) || db->opens != opens) {
            char detail[DP_ERR_TEXT_MAX] = "";
            if (err)
                snprintf(detail, sizeof detail, "%s", err->text);
            return dp_db_fail(db, err, DP_ERR_DB, "connection lost; statement not retried (%s)",
                              detail);
        }
    }
}

//  Runs the statement; on a lost connection reconnects and retries once when allowed.
static int s_run(dp_db_stmt_t *s, dp_err_t *err, bool rows, const char *types, va_list ap)
{
    dp_db_free_result(s);
    s->affected = -1;
    s->insert_id = 0;
    if (s_load_params(s, err, types, ap) != 0)
        return -1;
    return dp_db_run(s, err, s_execute_once, &rows);
}

//  --------------------------------------------------------------------------
int dp_db_exec(dp_db_stmt_t *s, dp_err_t *err, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int rc = s_run(s, err, false, types, ap);
    va_end(ap);
    return rc;
}

//  --------------------------------------------------------------------------
int64_t dp_db_affected(const dp_db_stmt_t *s)
{
    return s ? s->affected : -1;
}

//  --------------------------------------------------------------------------
uint64_t dp_db_insert_id(const dp_db_stmt_t *s)
{
    return s ? s->insert_id : 0;
}

//  --------------------------------------------------------------------------
int dp_db_query(dp_db_stmt_t *s, dp_err_t *err, const char *ptypes, ...)
{
    va_list ap;
    va_start(ap, ptypes);
    int rc = s_run(s, err, true, ptypes, ap);
    va_end(ap);
    return rc;
}

//  --------------------------------------------------------------------------
int dp_db_fetch(dp_db_stmt_t *s)
{
    if (!s || !s->has_rows || !s->h)
        return 0;
    int rc = mysql_stmt_fetch(s->h);
    if (rc == MYSQL_NO_DATA) {
        dp_db_free_result(s);
        return 0;
    }
    if (rc == 1)
        return -1;
    if (rc == MYSQL_DATA_TRUNCATED) {
        for (int i = 0; i < s->ncols; i++) {
            dp_db_col_t *c = &s->cols[i];
            if (!c->error || c->kind != DP_DB_COL_STR)
                continue;
            char *bigger = realloc(c->buf, c->len + 1);
            if (!bigger)
                abort();
            c->buf = bigger;
            c->cap = c->len + 1;
            MYSQL_BIND one = s->rbind[i];
            one.buffer = c->buf;
            one.buffer_length = c->cap - 1;
            if (mysql_stmt_fetch_column(s->h, &one, (unsigned)i, 0) != 0)
                return -1;
            s->rbind[i].buffer = c->buf;
            s->rbind[i].buffer_length = c->cap - 1;
            mysql_stmt_bind_result(s->h, s->rbind);
        }
    }
    for (int i = 0; i < s->ncols; i++) {
        dp_db_col_t *c = &s->cols[i];
        if (c->kind == DP_DB_COL_STR && !c->is_null)
            c->buf[c->len < c->cap ? c->len : c->cap - 1] = '\0';
    }
    return 1;
}

//  --------------------------------------------------------------------------
int dp_db_ncols(const dp_db_stmt_t *s)
{
    return s ? s->ncols : 0;
}

static const dp_db_col_t *s_col(const dp_db_stmt_t *s, int i)
{
    if (!s || i < 0 || i >= s->ncols || s->cols[i].is_null)
        return NULL;
    return &s->cols[i];
}

//  --------------------------------------------------------------------------
bool dp_db_col_is_null(const dp_db_stmt_t *s, int i)
{
    return s_col(s, i) == NULL;
}

//  --------------------------------------------------------------------------
int64_t dp_db_col_int(const dp_db_stmt_t *s, int i)
{
    const dp_db_col_t *c = s_col(s, i);
    if (!c)
        return 0;
    switch (c->kind) {
    case DP_DB_COL_INT:
        return c->v.i;
    case DP_DB_COL_UINT:
        return (int64_t)c->v.u;
    case DP_DB_COL_DOUBLE:
        return (int64_t)c->v.d;
    case DP_DB_COL_TIME:
        return s_time_to_ms(&c->v.t);
    case DP_DB_COL_STR:
        return strtoll(c->buf, NULL, 10);
    }
    return 0;
}

//  --------------------------------------------------------------------------
uint64_t dp_db_col_uint(const dp_db_stmt_t *s, int i)
{
    const dp_db_col_t *c = s_col(s, i);
    if (c && c->kind == DP_DB_COL_UINT)
        return c->v.u;
    if (c && c->kind == DP_DB_COL_STR)
        return strtoull(c->buf, NULL, 10);
    return (uint64_t)dp_db_col_int(s, i);
}

//  --------------------------------------------------------------------------
double dp_db_col_double(const dp_db_stmt_t *s, int i)
{
    const dp_db_col_t *c = s_col(s, i);
    if (!c)
        return 0.0;
    if (c->kind == DP_DB_COL_DOUBLE)
        return c->v.d;
    if (c->kind == DP_DB_COL_UINT)
        return (double)c->v.u;
    if (c->kind == DP_DB_COL_STR)
        return strtod(c->buf, NULL);
    return (double)dp_db_col_int(s, i);
}

//  --------------------------------------------------------------------------
int64_t dp_db_col_time_ms(const dp_db_stmt_t *s, int i)
{
    const dp_db_col_t *c = s_col(s, i);
    if (c && c->kind == DP_DB_COL_TIME)
        return s_time_to_ms(&c->v.t);
    return dp_db_col_int(s, i);
}

//  --------------------------------------------------------------------------
const char *dp_db_col_str(const dp_db_stmt_t *s, int i)
{
    const dp_db_col_t *cc = s_col(s, i);
    if (!cc)
        return NULL;
    dp_db_col_t *c = (dp_db_col_t *)cc; /* text is a per-column scratch buffer */
    switch (c->kind) {
    case DP_DB_COL_STR:
        return c->buf;
    case DP_DB_COL_INT:
        snprintf(c->text, sizeof c->text, "%lld", (long long)c->v.i);
        break;
    case DP_DB_COL_UINT:
        snprintf(c->text, sizeof c->text, "%llu", (unsigned long long)c->v.u);
        break;
    case DP_DB_COL_DOUBLE:
        snprintf(c->text, sizeof c->text, "%.17g", c->v.d);
        break;
    case DP_DB_COL_TIME:
        snprintf(c->text, sizeof c->text, "%04u-%02u-%02u %02u:%02u:%02u.%03lu", c->v.t.year,
                 c->v.t.month, c->v.t.day, c->v.t.hour, c->v.t.minute, c->v.t.second,
                 c->v.t.second_part / 1000);
        break;
    }
    return c->text;
}
