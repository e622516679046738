/*  dp_db.c - MariaDB connection with prepared statements and explicit reconnect
    Not thread-safe: one dp_db_t per thread. The db owns every statement; after a
    lost connection it closes everything, reconnects with bounded backoff and
    re-prepares the registered SQL, so callers never see 1243/2014.
    SPDX-License-Identifier: MIT */
#include "dp_db.h"
#include "dp_time.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_DEFAULT_PORT         3306
#define S_CONNECT_TIMEOUT_S    5
#define S_RW_TIMEOUT_S         10
#define S_BACKOFF_MIN_MS       100
#define S_BACKOFF_MAX_MS       5000
#define S_SQL_SNIPPET          60 /* characters of SQL quoted in errors */
#define S_MIN_STR_CAP          64
#define S_TEXT_CAP             48
#define S_CONNECT_FLAGS        CLIENT_FOUND_ROWS /* affected = matched rows */
#define S_SESSION_INIT_COMMAND "SET time_zone='+00:00'"

#ifndef ER_ACCESS_DENIED_NO_PASSWORD_ERROR
#define ER_ACCESS_DENIED_NO_PASSWORD_ERROR 1698
#endif
#ifndef ER_CONNECTION_KILLED
#define ER_CONNECTION_KILLED 1927
#endif

typedef enum { S_COL_INT, S_COL_UINT, S_COL_DOUBLE, S_COL_TIME, S_COL_STR } s_kind_t;

typedef struct {
    union {
        int64_t i;     /* 'i' and 't' source */
        uint64_t u;    /* 'u' */
        double d;      /* 'd' */
        signed char b; /* 'b' */
        MYSQL_TIME t;  /* 't' converted */
    } v;
    unsigned long len; /* 's' length */
    my_bool is_null;   /* SQL NULL */
} s_param_t;

typedef struct {
    s_kind_t kind; /* how the column is bound */
    union {
        int64_t i;
        uint64_t u;
        double d;
        MYSQL_TIME t;
    } v;
    char *buf;             /* S_COL_STR value, NUL-terminated */
    unsigned long cap;     /* bytes allocated in buf */
    unsigned long len;     /* value length */
    my_bool is_null;       /* SQL NULL in current row */
    my_bool error;         /* truncation flag from the connector */
    char text[S_TEXT_CAP]; /* formatted non-string value for dp_db_col_str */
} s_col_t;

struct dp_db_stmt {
    dp_db_t *db;        /* owner */
    char *sql;          /* text, kept for re-preparing */
    int flags;          /* DP_DB_IDEMPOTENT */
    bool shared;        /* from dp_db_cached; not destroyable by callers */
    MYSQL_STMT *h;      /* prepared handle, NULL while disconnected */
    unsigned nparams;   /* '?' count */
    MYSQL_BIND *pbind;  /* parameter binds */
    s_param_t *pval;    /* parameter storage */
    int ncols;          /* columns of the current result */
    MYSQL_BIND *rbind;  /* result binds */
    s_col_t *cols;      /* result storage */
    bool has_rows;      /* a stored result is open */
    int64_t affected;   /* last affected rows */
    uint64_t insert_id; /* last insert id */
    dp_db_stmt_t *next; /* registry list */
};

struct dp_db {
    dp_db_opts_t o;          /* copied options */
    MYSQL *my;               /* live connection or NULL */
    bool ever_connected;     /* first connect happened */
    bool in_tx;              /* explicit transaction open */
    bool tx_lost;            /* connection dropped inside the transaction */
    int64_t next_attempt_ms; /* monotonic time before which we do not reconnect */
    int backoff_ms;          /* current reconnect backoff */
    uint64_t reconnects;     /* successful reconnects */
    uint64_t opens;          /* connect attempts, to allow one per call */
    unsigned last_errno;     /* last MariaDB error number */
    dp_db_stmt_t *stmts;     /* registered statements */
};

static pthread_once_t s_lib_once = PTHREAD_ONCE_INIT;

static void s_lib_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

static char *s_strdup(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void *s_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

//  Replaces any occurrence of the password in err->text with "***".
static void s_scrub(const dp_db_t *db, dp_err_t *err)
{
    const char *pw = db->o.password;
    if (!err || !pw || !*pw || !strstr(err->text, pw))
        return;
    char out[DP_ERR_TEXT_MAX];
    size_t n = strlen(pw), o = 0;
    const char *p = err->text;
    while (*p && o < sizeof out - 1) {
        if (strncmp(p, pw, n) == 0) {
            for (const char *m = "***"; *m && o < sizeof out - 1; m++)
                out[o++] = *m;
            p += n;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    memcpy(err->text, out, o + 1);
}

static int s_fail(dp_db_t *db, dp_err_t *err, dp_err_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_fail(dp_db_t *db, dp_err_t *err, dp_err_code_t code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    s_scrub(db, err);
    return -1;
}

static const char *s_where(const dp_db_t *db, char *buf, size_t size)
{
    if (db->o.socket)
        snprintf(buf, size, "unix:%s", db->o.socket);
    else
        snprintf(buf, size, "%s:%d", db->o.host, db->o.port);
    return buf;
}

static bool s_is_conn_errno(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_COMMANDS_OUT_OF_SYNC ||
           e == ER_UNKNOWN_STMT_HANDLER || e == ER_SERVER_SHUTDOWN || e == ER_CONNECTION_KILLED ||
           e == CR_STMT_CLOSED;
}

static void s_free_result(dp_db_stmt_t *s)
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

//  Closes the connection; statements stay registered and are re-prepared later.
static void s_disconnect(dp_db_t *db)
{
    if (db->my)
        mysql_close(db->my); /* invalidates every MYSQL_STMT (no I/O for them) */
    db->my = NULL;
    for (dp_db_stmt_t *s = db->stmts; s; s = s->next) {
        s_free_result(s);
        if (s->h)
            mysql_stmt_close(s->h);
        s->h = NULL;
    }
}

//  True when an idle connection has data or EOF waiting: the server closed it.
static bool s_conn_dead(dp_db_t *db)
{
    struct pollfd pfd = {.fd = (int)mysql_get_socket(db->my), .events = POLLIN | POLLRDHUP};
    if (pfd.fd < 0)
        return true;
    return poll(&pfd, 1, 0) > 0;
}

static int s_prepare_handle(dp_db_stmt_t *s, dp_err_t *err)
{
    dp_db_t *db = s->db;
    if (!db->my)
        return s_fail(db, err, DP_ERR_UNREACHABLE, "not connected");
    MYSQL_STMT *h = mysql_stmt_init(db->my);
    if (!h)
        return s_fail(db, err, DP_ERR_INTERNAL, "mysql_stmt_init failed");
    my_bool on = 1;
    mysql_stmt_attr_set(h, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if (mysql_stmt_prepare(h, s->sql, (unsigned long)strlen(s->sql)) != 0) {
        db->last_errno = mysql_stmt_errno(h);
        s_fail(db, err, DP_ERR_DB, "prepare \"%.*s\": %s (%u)", S_SQL_SNIPPET, s->sql,
               mysql_stmt_error(h), db->last_errno);
        mysql_stmt_close(h);
        if (s_is_conn_errno(db->last_errno)) {
            s_disconnect(db);
            if (db->in_tx)
                db->tx_lost = true;
        }
        return -1;
    }
    unsigned n = (unsigned)mysql_stmt_param_count(h);
    if (!s->pbind) {
        s->nparams = n;
        s->pbind = s_calloc(n, sizeof *s->pbind);
        s->pval = s_calloc(n, sizeof *s->pval);
    }
    s->h = h;
    return 0;
}

static int s_map_connect_error(dp_db_t *db, MYSQL *my, dp_err_t *err)
{
    char where[300];
    unsigned e = mysql_errno(my);
    db->last_errno = e;
    s_where(db, where, sizeof where);
    if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR ||
        e == ER_ACCESS_DENIED_NO_PASSWORD_ERROR)
        return s_fail(db, err, DP_ERR_AUTH, "authentication failed for user '%s' at %s: %s (%u)",
                      db->o.username ? db->o.username : "", where, mysql_error(my), e);
    if (e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR || e == CR_UNKNOWN_HOST ||
        e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR || e == ER_SERVER_SHUTDOWN ||
        e == ER_CON_COUNT_ERROR)
        return s_fail(db, err, DP_ERR_UNREACHABLE, "cannot reach MariaDB at %s: %s (%u)", where,
                      mysql_error(my), e);
    return s_fail(db, err, DP_ERR_DB, "connect to MariaDB at %s: %s (%u)", where, mysql_error(my),
                  e);
}

//  Opens a fresh connection and re-prepares every statement. On failure arms backoff.
static int s_open(dp_db_t *db, dp_err_t *err)
{
    s_disconnect(db);
    db->opens++;
    MYSQL *my = mysql_init(NULL);
    if (!my)
        return s_fail(db, err, DP_ERR_INTERNAL, "mysql_init failed (out of memory)");
    unsigned ct = (unsigned)db->o.connect_timeout_s, rw = (unsigned)db->o.rw_timeout_s;
    my_bool off = 0;
    mysql_optionsv(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    mysql_optionsv(my, MYSQL_OPT_READ_TIMEOUT, &rw);
    mysql_optionsv(my, MYSQL_OPT_WRITE_TIMEOUT, &rw);
    mysql_optionsv(my, MYSQL_OPT_RECONNECT, &off);
    mysql_optionsv(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_optionsv(my, MYSQL_INIT_COMMAND, S_SESSION_INIT_COMMAND);
    const char *host = db->o.socket ? "localhost" : db->o.host;
    if (!mysql_real_connect(my, host, db->o.username, db->o.password, db->o.database,
                            (unsigned)db->o.port, db->o.socket, S_CONNECT_FLAGS)) {
        s_map_connect_error(db, my, err);
        mysql_close(my);
        db->backoff_ms = db->backoff_ms ? db->backoff_ms * 2 : S_BACKOFF_MIN_MS;
        if (db->backoff_ms > S_BACKOFF_MAX_MS)
            db->backoff_ms = S_BACKOFF_MAX_MS;
        db->next_attempt_ms = dp_time_mono_ms() + db->backoff_ms;
        return -1;
    }
    db->my = my;
    db->backoff_ms = 0;
    db->next_attempt_ms = 0;
    if (db->ever_connected)
        db->reconnects++;
    db->ever_connected = true;
    /* A statement whose re-prepare fails stays unprepared and reports at its next use. */
    for (dp_db_stmt_t *s = db->stmts; s; s = s->next)
        s_prepare_handle(s, NULL);
    return 0;
}

//  Makes sure a live connection exists, reconnecting unless backoff says wait.
//  Inside a transaction a dead connection is not replaced: the transaction is lost.
static int s_ensure(dp_db_t *db, dp_err_t *err)
{
    if (db->in_tx && db->tx_lost)
        return s_fail(db, err, DP_ERR_DB, "connection lost inside transaction; roll back");
    if (db->my && !s_conn_dead(db))
        return 0;
    if (db->my) {
        s_disconnect(db);
        if (db->in_tx) {
            db->tx_lost = true;
            return s_fail(db, err, DP_ERR_DB, "connection lost inside transaction; roll back");
        }
    }
    int64_t now = dp_time_mono_ms();
    if (now < db->next_attempt_ms) {
        char where[300];
        return s_fail(db, err, DP_ERR_UNREACHABLE,
                      "MariaDB at %s is down; next reconnect attempt in %lld ms",
                      s_where(db, where, sizeof where), (long long)(db->next_attempt_ms - now));
    }
    return s_open(db, err);
}

//  Records a statement-level failure; drops the connection on connection errors.
static int s_stmt_fail(dp_db_stmt_t *s, dp_err_t *err, const char *what)
{
    dp_db_t *db = s->db;
    unsigned e = s->h ? mysql_stmt_errno(s->h) : 0;
    if (!e && db->my)
        e = mysql_errno(db->my);
    db->last_errno = e;
    s_fail(db, err, DP_ERR_DB, "%s \"%.*s\": %s (%u)", what, S_SQL_SNIPPET, s->sql,
           s->h ? mysql_stmt_error(s->h) : "no statement", e);
    if (s_is_conn_errno(e)) {
        s_disconnect(db);
        if (db->in_tx)
            db->tx_lost = true;
    }
    return -1;
}

static void s_time_from_ms(int64_t ms, MYSQL_TIME *t)
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
        return s_fail(s->db, err, DP_ERR_INTERNAL, "\"%.*s\": %u parameters, types \"%s\" give %zu",
                      S_SQL_SNIPPET, s->sql, s->nparams, types ? types : "", n);
    memset(s->pbind, 0, s->nparams * sizeof *s->pbind);
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *b = &s->pbind[i];
        s_param_t *p = &s->pval[i];
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
                s_time_from_ms(ms, &p->v.t);
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
            return s_fail(s->db, err, DP_ERR_INTERNAL, "\"%.*s\": bad parameter type '%c'",
                          S_SQL_SNIPPET, s->sql, types[i]);
        }
    }
    return 0;
}

static s_kind_t s_kind_of(const MYSQL_FIELD *f)
{
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
        return (f->flags & UNSIGNED_FLAG) ? S_COL_UINT : S_COL_INT;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return S_COL_DOUBLE;
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_DATE:
        return S_COL_TIME;
    default:
        return S_COL_STR;
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
        return s_stmt_fail(s, err, "fetch");
    }
    s->has_rows = true;
    s->ncols = (int)mysql_num_fields(meta);
    s->rbind = s_calloc((size_t)s->ncols, sizeof *s->rbind);
    s->cols = s_calloc((size_t)s->ncols, sizeof *s->cols);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    for (int i = 0; i < s->ncols; i++) {
        MYSQL_BIND *b = &s->rbind[i];
        s_col_t *c = &s->cols[i];
        c->kind = s_kind_of(&fields[i]);
        b->is_null = &c->is_null;
        b->error = &c->error;
        b->length = &c->len;
        b->buffer = &c->v;
        switch (c->kind) {
        case S_COL_INT:
        case S_COL_UINT:
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->is_unsigned = c->kind == S_COL_UINT;
            break;
        case S_COL_DOUBLE:
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            break;
        case S_COL_TIME:
            b->buffer_type = MYSQL_TYPE_DATETIME;
            break;
        case S_COL_STR:
            c->cap = fields[i].max_length + 1;
            if (c->cap < S_MIN_STR_CAP)
                c->cap = S_MIN_STR_CAP;
            c->buf = s_calloc(1, c->cap);
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = c->buf;
            b->buffer_length = c->cap - 1;
            break;
        }
    }
    mysql_free_result(meta);
    if (mysql_stmt_bind_result(s->h, s->rbind) != 0)
        return s_stmt_fail(s, err, "bind result");
    return 0;
}

static int s_execute_once(dp_db_stmt_t *s, dp_err_t *err, bool rows)
{
    if (!s->h && s_prepare_handle(s, err) != 0)
        return -1;
    if (s->nparams && mysql_stmt_bind_param(s->h, s->pbind) != 0)
        return s_stmt_fail(s, err, "bind");
    if (mysql_stmt_execute(s->h) != 0)
        return s_stmt_fail(s, err, "execute");
    s->affected = (int64_t)mysql_stmt_affected_rows(s->h);
    s->insert_id = (uint64_t)mysql_stmt_insert_id(s->h);
    if (s_bind_result(s, err) != 0)
        return -1;
    if (!rows)
        s_free_result(s);
    return 0;
}

//  Runs the statement; on a lost connection reconnects and retries once when allowed.
static int s_run(dp_db_stmt_t *s, dp_err_t *err, bool rows, const char *types, va_list ap)
{
    dp_db_t *db = s->db;
    s_free_result(s);
    s->affected = -1;
    s->insert_id = 0;
    if (s_load_params(s, err, types, ap) != 0)
        return -1;
    uint64_t opens = db->opens;
    for (int attempt = 0;; attempt++) {
        if (s_ensure(db, err) != 0)
            return -1;
        if (s_execute_once(s, err, rows) == 0) {
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
            return s_fail(db, err, DP_ERR_DB, "connection lost; statement not retried (%s)",
                          detail);
        }
    }
}

//  --------------------------------------------------------------------------
void dp_db_library_init(void)
{
    pthread_once(&s_lib_once, s_lib_init);
}

//  --------------------------------------------------------------------------
void dp_db_library_end(void)
{
    mysql_library_end();
}

//  --------------------------------------------------------------------------
dp_db_t *dp_db_new(const dp_db_opts_t *o)
{
    if (!o)
        return NULL;
    dp_db_library_init();
    dp_db_t *db = s_calloc(1, sizeof *db);
    db->o.host = s_strdup(o->host ? o->host : "localhost");
    db->o.port = o->port > 0 ? o->port : S_DEFAULT_PORT;
    db->o.socket = o->socket && *o->socket ? s_strdup(o->socket) : NULL;
    db->o.database = s_strdup(o->database);
    db->o.username = s_strdup(o->username);
    db->o.password = s_strdup(o->password);
    db->o.connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : S_CONNECT_TIMEOUT_S;
    db->o.rw_timeout_s = o->rw_timeout_s > 0 ? o->rw_timeout_s : S_RW_TIMEOUT_S;
    return db;
}

//  --------------------------------------------------------------------------
void dp_db_destroy(dp_db_t **p)
{
    if (!p || !*p)
        return;
    dp_db_t *db = *p;
    s_disconnect(db);
    while (db->stmts) {
        dp_db_stmt_t *s = db->stmts;
        db->stmts = s->next;
        free(s->sql);
        free(s->pbind);
        free(s->pval);
        free(s);
    }
    free(db->o.host);
    free(db->o.socket);
    free(db->o.database);
    free(db->o.username);
    if (db->o.password)
        memset(db->o.password, 0, strlen(db->o.password));
    free(db->o.password);
    free(db);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_db_connect(dp_db_t *db, dp_err_t *err)
{
    db->in_tx = false;
    db->tx_lost = false;
    return s_open(db, err);
}

//  --------------------------------------------------------------------------
bool dp_db_is_connected(const dp_db_t *db)
{
    return db && db->my;
}

//  --------------------------------------------------------------------------
uint64_t dp_db_reconnects(const dp_db_t *db)
{
    return db ? db->reconnects : 0;
}

//  --------------------------------------------------------------------------
unsigned dp_db_last_errno(const dp_db_t *db)
{
    return db ? db->last_errno : 0;
}

//  --------------------------------------------------------------------------
dp_db_stmt_t *dp_db_prepare_flags(dp_db_t *db, const char *sql, int flags, dp_err_t *err)
{
    if (!db || !sql)
        return NULL;
    dp_db_stmt_t *s = s_calloc(1, sizeof *s);
    s->db = db;
    s->sql = s_strdup(sql);
    s->flags = flags;
    s->affected = -1;
    if (s_ensure(db, err) != 0 || s_prepare_handle(s, err) != 0) {
        free(s->sql);
        free(s->pbind);
        free(s->pval);
        free(s);
        return NULL;
    }
    s->next = db->stmts;
    db->stmts = s;
    return s;
}

//  --------------------------------------------------------------------------
dp_db_stmt_t *dp_db_prepare(dp_db_t *db, const char *sql, dp_err_t *err)
{
    return dp_db_prepare_flags(db, sql, 0, err);
}

//  --------------------------------------------------------------------------
dp_db_stmt_t *dp_db_cached(dp_db_t *db, const char *sql, int flags, dp_err_t *err)
{
    if (!db || !sql)
        return NULL;
    for (dp_db_stmt_t *s = db->stmts; s; s = s->next)
        if (s->shared && s->flags == flags && strcmp(s->sql, sql) == 0)
            return s;
    dp_db_stmt_t *s = dp_db_prepare_flags(db, sql, flags, err);
    if (s)
        s->shared = true;
    return s;
}

//  --------------------------------------------------------------------------
void dp_db_stmt_destroy(dp_db_stmt_t **p)
{
    if (!p || !*p)
        return;
    dp_db_stmt_t *s = *p;
    *p = NULL;
    if (s->shared)
        return;
    dp_db_t *db = s->db;
    for (dp_db_stmt_t **link = &db->stmts; *link; link = &(*link)->next)
        if (*link == s) {
            *link = s->next;
            break;
        }
    s_free_result(s);
    if (s->h)
        mysql_stmt_close(s->h);
    free(s->sql);
    free(s->pbind);
    free(s->pval);
    free(s);
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
        s_free_result(s);
        return 0;
    }
    if (rc == 1)
        return -1;
    if (rc == MYSQL_DATA_TRUNCATED) {
        for (int i = 0; i < s->ncols; i++) {
            s_col_t *c = &s->cols[i];
            if (!c->error || c->kind != S_COL_STR)
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
        s_col_t *c = &s->cols[i];
        if (c->kind == S_COL_STR && !c->is_null)
            c->buf[c->len < c->cap ? c->len : c->cap - 1] = '\0';
    }
    return 1;
}

//  --------------------------------------------------------------------------
int dp_db_ncols(const dp_db_stmt_t *s)
{
    return s ? s->ncols : 0;
}

static const s_col_t *s_col(const dp_db_stmt_t *s, int i)
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
    const s_col_t *c = s_col(s, i);
    if (!c)
        return 0;
    switch (c->kind) {
    case S_COL_INT:
        return c->v.i;
    case S_COL_UINT:
        return (int64_t)c->v.u;
    case S_COL_DOUBLE:
        return (int64_t)c->v.d;
    case S_COL_TIME:
        return s_time_to_ms(&c->v.t);
    case S_COL_STR:
        return strtoll(c->buf, NULL, 10);
    }
    return 0;
}

//  --------------------------------------------------------------------------
uint64_t dp_db_col_uint(const dp_db_stmt_t *s, int i)
{
    const s_col_t *c = s_col(s, i);
    if (c && c->kind == S_COL_UINT)
        return c->v.u;
    if (c && c->kind == S_COL_STR)
        return strtoull(c->buf, NULL, 10);
    return (uint64_t)dp_db_col_int(s, i);
}

//  --------------------------------------------------------------------------
double dp_db_col_double(const dp_db_stmt_t *s, int i)
{
    const s_col_t *c = s_col(s, i);
    if (!c)
        return 0.0;
    if (c->kind == S_COL_DOUBLE)
        return c->v.d;
    if (c->kind == S_COL_UINT)
        return (double)c->v.u;
    if (c->kind == S_COL_STR)
        return strtod(c->buf, NULL);
    return (double)dp_db_col_int(s, i);
}

//  --------------------------------------------------------------------------
int64_t dp_db_col_time_ms(const dp_db_stmt_t *s, int i)
{
    const s_col_t *c = s_col(s, i);
    if (c && c->kind == S_COL_TIME)
        return s_time_to_ms(&c->v.t);
    return dp_db_col_int(s, i);
}

//  --------------------------------------------------------------------------
const char *dp_db_col_str(const dp_db_stmt_t *s, int i)
{
    const s_col_t *cc = s_col(s, i);
    if (!cc)
        return NULL;
    s_col_t *c = (s_col_t *)cc; /* text is a per-column scratch buffer */
    switch (c->kind) {
    case S_COL_STR:
        return c->buf;
    case S_COL_INT:
        snprintf(c->text, sizeof c->text, "%lld", (long long)c->v.i);
        break;
    case S_COL_UINT:
        snprintf(c->text, sizeof c->text, "%llu", (unsigned long long)c->v.u);
        break;
    case S_COL_DOUBLE:
        snprintf(c->text, sizeof c->text, "%.17g", c->v.d);
        break;
    case S_COL_TIME:
        snprintf(c->text, sizeof c->text, "%04u-%02u-%02u %02u:%02u:%02u.%03lu", c->v.t.year,
                 c->v.t.month, c->v.t.day, c->v.t.hour, c->v.t.minute, c->v.t.second,
                 c->v.t.second_part / 1000);
        break;
    }
    return c->text;
}

//  Runs a text command (no parameters) for transaction control and DDL.
static int s_simple(dp_db_t *db, const char *sql, dp_err_t *err)
{
    if (mysql_real_query(db->my, sql, (unsigned long)strlen(sql)) != 0) {
        unsigned e = mysql_errno(db->my);
        db->last_errno = e;
        s_fail(db, err, DP_ERR_DB, "\"%.*s\": %s (%u)", S_SQL_SNIPPET, sql, mysql_error(db->my), e);
        if (s_is_conn_errno(e))
            s_disconnect(db);
        return -1;
    }
    MYSQL_RES *r = mysql_store_result(db->my);
    if (r)
        mysql_free_result(r);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_db_begin(dp_db_t *db, dp_err_t *err)
{
    if (db->in_tx)
        return s_fail(db, err, DP_ERR_INTERNAL, "transaction already open");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (s_ensure(db, err) != 0)
            return -1;
        if (s_simple(db, "START TRANSACTION", err) == 0) {
            db->in_tx = true;
            db->tx_lost = false;
            return 0;
        }
        if (db->my)
            return -1;
    }
    return -1;
}

//  --------------------------------------------------------------------------
int dp_db_commit(dp_db_t *db, dp_err_t *err)
{
    if (!db->in_tx)
        return s_fail(db, err, DP_ERR_INTERNAL, "commit without transaction");
    bool lost = db->tx_lost || !db->my;
    db->in_tx = false;
    db->tx_lost = false;
    if (lost)
        return s_fail(db, err, DP_ERR_DB, "connection lost inside transaction; nothing committed");
    if (mysql_commit(db->my) != 0) {
        unsigned e = mysql_errno(db->my);
        db->last_errno = e;
        if (s_is_conn_errno(e)) {
            s_disconnect(db);
            return s_fail(db, err, DP_ERR_DB,
                          "connection lost during COMMIT; commit outcome "
                          "unknown (%u)",
                          e);
        }
        return s_fail(db, err, DP_ERR_DB, "COMMIT: %s (%u)", mysql_error(db->my), e);
    }
    return 0;
}

//  --------------------------------------------------------------------------
int dp_db_rollback(dp_db_t *db, dp_err_t *err)
{
    bool lost = db->tx_lost || !db->my;
    db->in_tx = false;
    db->tx_lost = false;
    if (lost)
        return 0;
    if (mysql_rollback(db->my) != 0) {
        unsigned e = mysql_errno(db->my);
        db->last_errno = e;
        if (s_is_conn_errno(e)) {
            s_disconnect(db);
            return 0;
        }
        return s_fail(db, err, DP_ERR_DB, "ROLLBACK: %s (%u)", mysql_error(db->my), e);
    }
    return 0;
}

//  --------------------------------------------------------------------------
int dp_db_exec_sql(dp_db_t *db, const char *sql, dp_err_t *err)
{
    if (s_ensure(db, err) != 0)
        return -1;
    int rc = s_simple(db, sql, err);
    if (rc != 0 && !db->my && db->in_tx)
        db->tx_lost = true;
    return rc;
}
