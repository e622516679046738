/*  dp_db.c - MariaDB connection: connect, reconnect, statement registry, transactions
    Not thread-safe: one dp_db_t per thread. The db owns every statement; after a
    lost connection it closes everything, reconnects with bounded backoff and
    re-prepares the registered SQL, so callers never see 1243/2014. Binding, running and
    reading statements is dp_db_stmt.c (the two share dp_db_priv.h).
    SPDX-License-Identifier: MIT */
#include "dp_db.h"
#include "dp_db_priv.h"
#include "dp_time.h"

#include <errmsg.h>
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
#define S_CONNECT_FLAGS        CLIENT_FOUND_ROWS /* affected = matched rows */
#define S_SESSION_INIT_COMMAND "SET time_zone='+00:00'"

#ifndef ER_ACCESS_DENIED_NO_PASSWORD_ERROR
#define ER_ACCESS_DENIED_NO_PASSWORD_ERROR 1698
#endif
#ifndef ER_CONNECTION_KILLED
#define ER_CONNECTION_KILLED 1927
#endif

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

void *dp_db_xcalloc(size_t n, size_t size)
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

int dp_db_fail(dp_db_t *db, dp_err_t *err, dp_err_code_t code, const char *fmt, ...)
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

//  Closes the connection; statements stay registered and are re-prepared later.
static void s_disconnect(dp_db_t *db)
{
    if (db->my)
        mysql_close(db->my); /* invalidates every MYSQL_STMT (no I/O for them) */
    db->my = NULL;
    for (dp_db_stmt_t *s = db->stmts; s; s = s->next) {
        dp_db_free_result(s);
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

int dp_db_prepare_handle(dp_db_stmt_t *s, dp_err_t *err)
{
    dp_db_t *db = s->db;
    if (!db->my)
        return dp_db_fail(db, err, DP_ERR_UNREACHABLE, "not connected");
    MYSQL_STMT *h = mysql_stmt_init(db->my);
    if (!h)
        return dp_db_fail(db, err, DP_ERR_INTERNAL, "mysql_stmt_init failed");
    my_bool on = 1;
    mysql_stmt_attr_set(h, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
    if (mysql_stmt_prepare(h, s->sql, (unsigned long)strlen(s->sql)) != 0) {
        db->last_errno = mysql_stmt_errno(h);
        dp_db_fail(db, err, DP_ERR_DB, "prepare \"%.*s\": %s (%u)", DP_DB_SQL_SNIPPET, s->sql,
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
        s->pbind = dp_db_xcalloc(n, sizeof *s->pbind);
        s->pval = dp_db_xcalloc(n, sizeof *s->pval);
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
        return dp_db_fail(db, err, DP_ERR_AUTH,
                          "authentication failed for user '%s' at %s: %s (%u)",
                          db->o.username ? db->o.username : "", where, mysql_error(my), e);
    if (e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR || e == CR_UNKNOWN_HOST ||
        e == CR_SERVER_LOST || e == CR_SERVER_GONE_ERROR || e == ER_SERVER_SHUTDOWN ||
        e == ER_CON_COUNT_ERROR)
        return dp_db_fail(db, err, DP_ERR_UNREACHABLE, "cannot reach MariaDB at %s: %s (%u)", where,
                          mysql_error(my), e);
    return dp_db_fail(db, err, DP_ERR_DB, "connect to MariaDB at %s: %s (%u)", where,
                      mysql_error(my), e);
}

//  Opens a fresh connection and re-prepares every statement. On failure arms backoff.
static int s_open(dp_db_t *db, dp_err_t *err)
{
    s_disconnect(db);
    db->opens++;
    MYSQL *my = mysql_init(NULL);
    if (!my)
        return dp_db_fail(db, err, DP_ERR_INTERNAL, "mysql_init failed (out of memory)");
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
        dp_db_prepare_handle(s, NULL);
    return 0;
}

//  Makes sure a live connection exists, reconnecting unless backoff says wait.
//  Inside a transaction a dead connection is not replaced: the transaction is lost.
int dp_db_ensure(dp_db_t *db, dp_err_t *err)
{
    if (db->in_tx && db->tx_lost)
        return dp_db_fail(db, err, DP_ERR_DB, "connection lost inside transaction; roll back");
    if (db->my && !s_conn_dead(db))
        return 0;
    if (db->my) {
        s_disconnect(db);
        if (db->in_tx) {
            db->tx_lost = true;
            return dp_db_fail(db, err, DP_ERR_DB, "connection lost inside transaction; roll back");
        }
    }
    int64_t now = dp_time_mono_ms();
    if (now < db->next_attempt_ms) {
        char where[300];
        return dp_db_fail(db, err, DP_ERR_UNREACHABLE,
                          "MariaDB at %s is down; next reconnect attempt in %lld ms",
                          s_where(db, where, sizeof where), (long long)(db->next_attempt_ms - now));
    }
    return s_open(db, err);
}

//  Records a statement-level failure; drops the connection on connection errors.
int dp_db_stmt_fail(dp_db_stmt_t *s, dp_err_t *err, const char *what)
{
    dp_db_t *db = s->db;
    unsigned e = s->h ? mysql_stmt_errno(s->h) : 0;
    if (!e && db->my)
        e = mysql_errno(db->my);
    db->last_errno = e;
    dp_db_fail(db, err, DP_ERR_DB, "%s \"%.*s\": %s (%u)", what, DP_DB_SQL_SNIPPET, s->sql,
               s->h ? mysql_stmt_error(s->h) : "no statement", e);
    if (s_is_conn_errno(e)) {
        s_disconnect(db);
        if (db->in_tx)
            db->tx_lost = true;
    }
    return -1;
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
    dp_db_t *db = dp_db_xcalloc(1, sizeof *db);
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
        dp_db_bulk_free(s->bulk);
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
    dp_db_stmt_t *s = dp_db_xcalloc(1, sizeof *s);
    s->db = db;
    s->sql = s_strdup(sql);
    s->flags = flags;
    s->affected = -1;
    if (dp_db_ensure(db, err) != 0 || dp_db_prepare_handle(s, err) != 0) {
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
    dp_db_free_result(s);
    if (s->h)
        mysql_stmt_close(s->h);
    free(s->sql);
    free(s->pbind);
    free(s->pval);
    dp_db_bulk_free(s->bulk);
    free(s);
}

//  Runs a text command (no parameters) for transaction control and DDL.
static int s_simple(dp_db_t *db, const char *sql, dp_err_t *err)
{
    if (mysql_real_query(db->my, sql, (unsigned long)strlen(sql)) != 0) {
        unsigned e = mysql_errno(db->my);
        db->last_errno = e;
        dp_db_fail(db, err, DP_ERR_DB, "\"%.*s\": %s (%u)", DP_DB_SQL_SNIPPET, sql,
                   mysql_error(db->my), e);
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
        return dp_db_fail(db, err, DP_ERR_INTERNAL, "transaction already open");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (dp_db_ensure(db, err) != 0)
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
        return dp_db_fail(db, err, DP_ERR_INTERNAL, "commit without transaction");
    bool lost = db->tx_lost || !db->my;
    db->in_tx = false;
    db->tx_lost = false;
    if (lost)
        return dp_db_fail(db, err, DP_ERR_DB,
                          "connection lost inside transaction; nothing committed");
    if (mysql_commit(db->my) != 0) {
        unsigned e = mysql_errno(db->my);
        db->last_errno = e;
        if (s_is_conn_errno(e)) {
            s_disconnect(db);
            return dp_db_fail(db, err, DP_ERR_DB,
                              "connection lost during COMMIT; commit outcome "
                              "unknown (%u)",
                              e);
        }
        return dp_db_fail(db, err, DP_ERR_DB, "COMMIT: %s (%u)", mysql_error(db->my), e);
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
        return dp_db_fail(db, err, DP_ERR_DB, "ROLLBACK: %s (%u)", mysql_error(db->my), e);
    }
    return 0;
}

//  --------------------------------------------------------------------------
int dp_db_exec_sql(dp_db_t *db, const char *sql, dp_err_t *err)
{
    if (dp_db_ensure(db, err) != 0)
        return -1;
    int rc = s_simple(db, sql, err);
    if (rc != 0 && !db->my && db->in_tx)
        db->tx_lost = true;
    return rc;
}
