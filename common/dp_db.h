/*  dp_db.h - MariaDB connection with prepared statements and explicit reconnect
    One dp_db_t per thread: a connection and its statements must only be used by
    the thread that owns them. MYSQL_OPT_RECONNECT is off; after a lost connection
    dp_db reconnects itself (bounded backoff), re-prepares every registered
    statement and retries a statement once when it is marked idempotent, no explicit
    transaction is open and the call has not already spent a connect attempt. An idle
    connection the server closed is noticed before sending, so nothing is sent twice;
    while the server is down calls fail fast (DP_ERR_UNREACHABLE) between reconnect
    attempts (backoff 100 ms doubling to 5 s). Times cross the API as wall-clock milliseconds;
    the session runs in UTC (time_zone '+00:00'), so DATETIME(3) columns hold UTC.
    SPDX-License-Identifier: MIT */
#ifndef DP_DB_H
#define DP_DB_H

#include "dp_err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct dp_db dp_db_t;
typedef struct dp_db_stmt dp_db_stmt_t;

/* Connection options; strings are borrowed, dp_db_new copies them. socket wins over
   host/port; host "localhost" also means the default unix socket. Timeouts <= 0 pick
   the defaults (5 s connect, 10 s read/write). */
typedef struct {
    char *host;            /* TCP host or "localhost"; NULL = localhost */
    int port;              /* TCP port; 0 = 3306 */
    char *socket;          /* unix socket path or NULL */
    char *database;        /* schema name */
    char *username;        /* user */
    char *password;        /* password; never appears in error text */
    int connect_timeout_s; /* MYSQL_OPT_CONNECT_TIMEOUT */
    int rw_timeout_s;      /* MYSQL_OPT_READ_TIMEOUT and MYSQL_OPT_WRITE_TIMEOUT */
} dp_db_opts_t;

/* Statement flags for dp_db_prepare_flags. */
#define DP_DB_IDEMPOTENT 0x1 /* safe to run twice: retried once after a lost connection */

/* Calls mysql_library_init once per process (later calls are no-ops). Call it in main
   before starting threads. */
void dp_db_library_init(void);

/* Calls mysql_library_end; call once at exit after every dp_db_t is destroyed. */
void dp_db_library_end(void);

/* Creates an unconnected handle (copies the options). Returns NULL only on bad options
   (NULL opts). Destroy with dp_db_destroy. */
dp_db_t *dp_db_new(const dp_db_opts_t *o);

/* Closes the connection and frees every statement made on it. NULL-safe; sets *p to NULL. */
void dp_db_destroy(dp_db_t **p);

/* Connects now (closing any previous connection) and prepares registered statements.
   Returns 0 or -1 with err: DP_ERR_UNREACHABLE (no server), DP_ERR_AUTH (access denied),
   DP_ERR_DB (anything else). Statement calls reconnect by themselves afterwards. */
int dp_db_connect(dp_db_t *db, dp_err_t *err);

/* True when the handle believes it holds a live connection (no round trip). */
bool dp_db_is_connected(const dp_db_t *db);

/* Number of successful reconnects after the first connect. */
uint64_t dp_db_reconnects(const dp_db_t *db);

/* MariaDB error number of the last failed call (0 when none), e.g. ER_LOCK_DEADLOCK. */
unsigned dp_db_last_errno(const dp_db_t *db);

/* Prepares sql (one statement, '?' placeholders) and registers it with db, which keeps
   the text and re-prepares it after every reconnect. flags: 0 or DP_DB_IDEMPOTENT.
   Returns the statement (owned by db: freed by dp_db_destroy, or earlier with
   dp_db_stmt_destroy) or NULL with err (DP_ERR_DB for bad SQL, or a connect error). */
dp_db_stmt_t *dp_db_prepare_flags(dp_db_t *db, const char *sql, int flags, dp_err_t *err);

/* dp_db_prepare_flags(db, sql, 0, err): not retried after a lost connection. */
dp_db_stmt_t *dp_db_prepare(dp_db_t *db, const char *sql, dp_err_t *err);

/* Like dp_db_prepare_flags but returns the db's shared statement for this exact sql and
   flags, preparing it on first use. For library code that runs the same query now and
   then. Owned by db; dp_db_stmt_destroy ignores it. Do not nest uses of one statement. */
dp_db_stmt_t *dp_db_cached(dp_db_t *db, const char *sql, int flags, dp_err_t *err);

/* Unregisters and frees a statement from dp_db_prepare*. NULL-safe; sets *p to NULL. */
void dp_db_stmt_destroy(dp_db_stmt_t **p);

/* Executes s with parameters described by types, one letter per '?':
     i int64_t, u uint64_t, d double, b bool (pass an int), s const char * (NULL -> SQL NULL),
     t int64_t wall-clock ms bound as DATETIME(3) UTC (a negative value -> SQL NULL).
   Pass exactly these C types (write (int64_t)x for an int). types may be NULL or "" when
   there are no parameters. Any result set is discarded. Returns 0 or -1 with err:
   DP_ERR_DB (server error, or "connection lost; statement not retried"),
   DP_ERR_UNREACHABLE (database down), DP_ERR_INTERNAL (types do not match the SQL). */
int dp_db_exec(dp_db_stmt_t *s, dp_err_t *err, const char *types, ...);

/* Rows matched by the last dp_db_exec on s (CLIENT_FOUND_ROWS: an UPDATE that matches
   but changes nothing counts; a fenced UPDATE with a stale epoch gives 0); -1 after an
   error. */
int64_t dp_db_affected(const dp_db_stmt_t *s);

/* AUTO_INCREMENT value generated by the last dp_db_exec on s (0 when none). */
uint64_t dp_db_insert_id(const dp_db_stmt_t *s);

/* Executes a SELECT (parameters as dp_db_exec) and buffers the whole result client-side.
   Then call dp_db_fetch until it returns 0. Returns 0 or -1 with err as dp_db_exec. */
int dp_db_query(dp_db_stmt_t *s, dp_err_t *err, const char *ptypes, ...);

/* Steps to the next row of the last dp_db_query: 1 row ready, 0 no more rows, -1 error. */
int dp_db_fetch(dp_db_stmt_t *s);

/* Number of columns in the current result (0 without one). */
int dp_db_ncols(const dp_db_stmt_t *s);

/* Column getters for the current row; column i counts from 0. A NULL value or a bad
   index gives 0 / 0.0 / NULL. Numbers stored as text are parsed; DATETIME columns give
   wall-clock ms from dp_db_col_int and dp_db_col_time_ms. */
bool dp_db_col_is_null(const dp_db_stmt_t *s, int i);
int64_t dp_db_col_int(const dp_db_stmt_t *s, int i);
uint64_t dp_db_col_uint(const dp_db_stmt_t *s, int i);
double dp_db_col_double(const dp_db_stmt_t *s, int i);
int64_t dp_db_col_time_ms(const dp_db_stmt_t *s, int i);

/* Column value as text (numbers and times formatted); NULL for SQL NULL. Borrowed: valid
   until the next dp_db_fetch or query on s. */
const char *dp_db_col_str(const dp_db_stmt_t *s, int i);

/* Starts a transaction (connecting first when needed). While it is open, no statement
   is retried; if the connection drops, every call fails until dp_db_rollback.
   Returns 0 or -1 with err. */
int dp_db_begin(dp_db_t *db, dp_err_t *err);

/* Commits. A connection lost during COMMIT leaves the outcome unknown: -1 with DP_ERR_DB
   ("commit outcome unknown"); design writes so they can be replayed. Returns 0 or -1. */
int dp_db_commit(dp_db_t *db, dp_err_t *err);

/* Rolls back and closes the transaction; returns 0 also when the connection is gone
   (the server has rolled back already), else -1 with err. */
int dp_db_rollback(dp_db_t *db, dp_err_t *err);

/* Runs one SQL statement without parameters, for DDL in migrations only (never put
   values into sql). Not retried. Returns 0 or -1 with err. */
int dp_db_exec_sql(dp_db_t *db, const char *sql, dp_err_t *err);

/* ---- bulk (array) execution ----
   One prepared INSERT/UPDATE/DELETE run for many rows in one round trip (Connector/C array
   binding, COM_STMT_BULK_EXECUTE): the SQL text is parsed once at prepare, never per row. Rows
   are added one at a time with typed values in '?' order; strings are copied. Usage:
     dp_db_bulk_t *b = dp_db_bulk_new(db, "INSERT INTO t (a, b) VALUES (?, ?)", "us", 0, err);
     for (...) { dp_db_bulk_row(b); dp_db_bulk_uint(b, id); dp_db_bulk_str(b, name); }
     if (dp_db_bulk_exec(b, err) != 0) ...
   A value of the wrong type for its column, too many or too few values in a row are reported
   by the next dp_db_bulk_exec (DP_ERR_INTERNAL). Needs MariaDB >= 10.2. */
typedef struct dp_db_bulk dp_db_bulk_t;

/* Prepares sql like dp_db_prepare_flags (registered, re-prepared after a reconnect; flags 0 or
   DP_DB_IDEMPOTENT) with one column type per '?' from "iudbst" (as dp_db_exec). Returns the
   handle, owned by db (freed by dp_db_destroy, or earlier by dp_db_bulk_destroy), or NULL with
   err (bad SQL, types not matching the '?' count: DP_ERR_INTERNAL, or a connect error). */
dp_db_bulk_t *dp_db_bulk_new(dp_db_t *db, const char *sql, const char *types, int flags,
                             dp_err_t *err);

/* Frees a bulk handle and its statement. NULL-safe; sets *p to NULL. */
void dp_db_bulk_destroy(dp_db_bulk_t **p);

/* Starts a new row; its values follow in '?' order. */
void dp_db_bulk_row(dp_db_bulk_t *b);

/* The next value of the current row: 'i', 'u', 'd', 'b' (any int, stored as 0/1),
   's' (copied; NULL -> SQL NULL), 't' (wall ms as DATETIME(3) UTC; negative -> SQL NULL);
   dp_db_bulk_null for any column. */
void dp_db_bulk_int(dp_db_bulk_t *b, int64_t v);
void dp_db_bulk_uint(dp_db_bulk_t *b, uint64_t v);
void dp_db_bulk_double(dp_db_bulk_t *b, double v);
void dp_db_bulk_bool(dp_db_bulk_t *b, int v);
void dp_db_bulk_str(dp_db_bulk_t *b, const char *v);
void dp_db_bulk_time_ms(dp_db_bulk_t *b, int64_t wall_ms);
void dp_db_bulk_null(dp_db_bulk_t *b);

/* Rows added since the last dp_db_bulk_exec. */
int dp_db_bulk_rows(const dp_db_bulk_t *b);

/* Executes every added row in one round trip, then forgets the rows (also on failure). No rows:
   nothing is sent, returns 0. Reconnect, re-prepare and the single retry are as dp_db_exec
   (idempotent handles outside a transaction only). Returns 0 or -1 with err naming the
   statement and the row count: DP_ERR_DB, DP_ERR_UNREACHABLE, DP_ERR_INTERNAL (bad rows). */
int dp_db_bulk_exec(dp_db_bulk_t *b, dp_err_t *err);

/* Rows affected by the last dp_db_bulk_exec, summed over its rows (CLIENT_FOUND_ROWS as in
   dp_db_affected; an upsert's update counts 2 when it changes the row); -1 after an error. */
int64_t dp_db_bulk_affected(const dp_db_bulk_t *b);

#endif
