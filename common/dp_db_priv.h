/*  dp_db_priv.h - what the connection (dp_db.c) and the statements (dp_db_stmt.c) share
    Private to those two files: everyone else uses dp_db.h.
    SPDX-License-Identifier: MIT */
#ifndef DP_DB_PRIV_H
#define DP_DB_PRIV_H

#include "dp_db.h"

#include <mysql.h>
#include <stddef.h>

#define DP_DB_SQL_SNIPPET 60 /* characters of SQL quoted in errors */
#define DP_DB_TEXT_CAP    48 /* formatted non-string column value */

typedef enum {
    DP_DB_COL_INT,
    DP_DB_COL_UINT,
    DP_DB_COL_DOUBLE,
    DP_DB_COL_TIME,
    DP_DB_COL_STR
} dp_db_kind_t;

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
} dp_db_param_t;

typedef struct {
    dp_db_kind_t kind; /* how the column is bound */
    union {
        int64_t i;
        uint64_t u;
        double d;
        MYSQL_TIME t;
    } v;
    char *buf;                 /* DP_DB_COL_STR value, NUL-terminated */
    unsigned long cap;         /* bytes allocated in buf */
    unsigned long len;         /* value length */
    my_bool is_null;           /* SQL NULL in current row */
    my_bool error;             /* truncation flag from the connector */
    char text[DP_DB_TEXT_CAP]; /* formatted non-string value for dp_db_col_str */
} dp_db_col_t;

struct dp_db_stmt {
    dp_db_t *db;             /* owner */
    char *sql;               /* text, kept for re-preparing */
    int flags;               /* DP_DB_IDEMPOTENT */
    bool shared;             /* from dp_db_cached; not destroyable by callers */
    MYSQL_STMT *h;           /* prepared handle, NULL while disconnected */
    unsigned nparams;        /* '?' count */
    MYSQL_BIND *pbind;       /* parameter binds */
    dp_db_param_t *pval;     /* parameter storage */
    int ncols;               /* columns of the current result */
    MYSQL_BIND *rbind;       /* result binds */
    dp_db_col_t *cols;       /* result storage */
    bool has_rows;           /* a stored result is open */
    int64_t affected;        /* last affected rows */
    uint64_t insert_id;      /* last insert id */
    struct dp_db_bulk *bulk; /* dp_db_bulk_new's rows (dp_db_bulk.c), freed with s */
    dp_db_stmt_t *next;      /* registry list */
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

/* calloc that aborts on failure (n 0 allocates one element). */
void *dp_db_xcalloc(size_t n, size_t size);

/* Sets err (when not NULL) with the password scrubbed from the text; returns -1. */
int dp_db_fail(dp_db_t *db, dp_err_t *err, dp_err_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Makes sure a live connection exists, reconnecting unless the backoff says wait. Inside a
   transaction a dead connection is not replaced. Returns 0 or -1 with err. */
int dp_db_ensure(dp_db_t *db, dp_err_t *err);

/* Prepares s on the live connection. Returns 0 or -1 with err (NULL err allowed). */
int dp_db_prepare_handle(dp_db_stmt_t *s, dp_err_t *err);

/* Records a statement-level failure ("what": bind, execute, ...); drops the connection on
   connection errors. Returns -1. */
int dp_db_stmt_fail(dp_db_stmt_t *s, dp_err_t *err, const char *what);

/* Frees the buffered result and the result binds of s (the statement stays prepared). */
void dp_db_free_result(dp_db_stmt_t *s);

/* One execution attempt on the live connection (prepares s->h first when needed); 0 or -1
   with err via dp_db_stmt_fail. */
typedef int dp_db_once_fn(dp_db_stmt_t *s, dp_err_t *err, void *arg);

/* Runs once() with the reconnect and retry policy of dp_db.h: connects when needed; after a
   lost connection retries once when s is idempotent, no transaction is open and the call spent
   at most one connect. Returns 0 or -1 with err. */
int dp_db_run(dp_db_stmt_t *s, dp_err_t *err, dp_db_once_fn *once, void *arg);

/* Wall ms to a MYSQL_TIME (UTC, millisecond precision). */
void dp_db_time_from_ms(int64_t ms, MYSQL_TIME *t);

/* Frees the rows of a bulk statement (dp_db_bulk.c); called when its statement is freed. */
void dp_db_bulk_free(struct dp_db_bulk *b);

#endif
