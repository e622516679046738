/*  dbbulk.c - test helper: dp_db bulk (array) execution against a real MariaDB
    Connection from DB_SOCKET/DB_HOST/DB_PORT, DB_DATABASE, DB_USERNAME, DB_PASSWORD.
    usage: dbbulk ROWS   runs every check with ROWS rows, prints "ok <check>" per passed check
    and "FAIL <check>: <why>" then exits 1 at the first failure. Leaves table bulk_t with the
    final rows for the shell test to read with the mariadb client.
    SPDX-License-Identifier: MIT */
#include "dp_db.h"
#include "dp_err.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BASE_MS 1700000000000LL

static dp_db_t *s_db;

static int s_fail(const char *check, const char *fmt, const char *text)
{
    printf("FAIL %s: ", check);
    printf(fmt, text);
    printf("\n");
    exit(1);
}

static dp_db_t *s_connect(void)
{
    dp_db_opts_t o = {.host = getenv("DB_HOST"),
                      .port = getenv("DB_PORT") ? atoi(getenv("DB_PORT")) : 0,
                      .socket = getenv("DB_SOCKET"),
                      .database = getenv("DB_DATABASE"),
                      .username = getenv("DB_USERNAME"),
                      .password = getenv("DB_PASSWORD")};
    dp_err_t err = {0};
    dp_db_t *db = dp_db_new(&o);
    if (!db || dp_db_connect(db, &err) != 0)
        s_fail("connect", "%s", err.text);
    return db;
}

//  Row r's values; every 7th row has NULLs, strings grow with r (arena growth).
static void s_add(dp_db_bulk_t *b, int r, int round)
{
    char text[600];
    int len = (r * 37) % 500;
    for (int i = 0; i < len; i++)
        text[i] = (char)('a' + (r + i) % 26);
    text[len] = '\0';
    if (r % 11 == 0)
        snprintf(text, sizeof text, "naïve 'quote' \"dq\" \\ %d", r); /* UTF-8 and SQL specials */
    dp_db_bulk_row(b);
    dp_db_bulk_uint(b, (uint64_t)r);
    dp_db_bulk_int(b, -(int64_t)r * 1000000007LL * round);
    if (r % 7 == 0)
        dp_db_bulk_null(b);
    else
        dp_db_bulk_double(b, r / 8.0 + round);
    dp_db_bulk_bool(b, r % 2);
    dp_db_bulk_str(b, r % 7 == 0 ? NULL : text);
    dp_db_bulk_time_ms(b, r % 7 == 0 ? -1 : S_BASE_MS + r / 3 * 1000 + round);
    dp_db_bulk_uint(b, UINT64_MAX - (uint64_t)r);
}

//  Reads the table back and compares with s_add's values for round.
static void s_verify(const char *check, int rows, int round)
{
    dp_err_t err = {0};
    dp_db_stmt_t *q =
        dp_db_cached(s_db, "SELECT id, i, d, b, s, t, u FROM bulk_t ORDER BY id", 0, &err);
    if (!q || dp_db_query(q, &err, "") != 0)
        s_fail(check, "select: %s", err.text);
    int seen = 0;
    char why[200] = "";
    while (dp_db_fetch(q) == 1) {
        int r = (int)dp_db_col_int(q, 0);
        bool null = r % 7 == 0;
        char want[600];
        int len = (r * 37) % 500;
        for (int i = 0; i < len; i++)
            want[i] = (char)('a' + (r + i) % 26);
        want[len] = '\0';
        if (r % 11 == 0)
            snprintf(want, sizeof want, "naïve 'quote' \"dq\" \\ %d", r);
        const char *s = dp_db_col_str(q, 4);
        if (r != seen + 1)
            snprintf(why, sizeof why, "row %d missing", seen + 1);
        else if (dp_db_col_int(q, 1) != -(int64_t)r * 1000000007LL * round)
            snprintf(why, sizeof why, "row %d: i", r);
        else if (null != dp_db_col_is_null(q, 2) ||
                 (!null && dp_db_col_double(q, 2) != r / 8.0 + round))
            snprintf(why, sizeof why, "row %d: d", r);
        else if (dp_db_col_int(q, 3) != r % 2)
            snprintf(why, sizeof why, "row %d: b", r);
        else if (null ? s != NULL : (!s || strcmp(s, want) != 0))
            snprintf(why, sizeof why, "row %d: s '%.40s'", r, s ? s : "(null)");
        else if (null ? !dp_db_col_is_null(q, 5)
                      : dp_db_col_time_ms(q, 5) != S_BASE_MS + r / 3 * 1000 + round)
            snprintf(why, sizeof why, "row %d: t", r);
        else if (dp_db_col_uint(q, 6) != UINT64_MAX - (uint64_t)r)
            snprintf(why, sizeof why, "row %d: u", r);
        if (why[0])
            break;
        seen++;
    }
    while (dp_db_fetch(q) == 1)
        ;
    if (!why[0] && seen != rows)
        snprintf(why, sizeof why, "%d rows, want %d", seen, rows);
    if (why[0])
        s_fail(check, "%s", why);
    printf("ok %s\n", check);
}

static uint64_t s_connection_id(dp_db_t *db)
{
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_cached(db, "SELECT CONNECTION_ID()", 0, &err);
    if (!q || dp_db_query(q, &err, "") != 0 || dp_db_fetch(q) != 1)
        s_fail("connection id", "%s", err.text);
    uint64_t id = dp_db_col_uint(q, 0);
    while (dp_db_fetch(q) == 1)
        ;
    return id;
}

static void s_kill(dp_db_t *victim)
{
    static dp_db_t *killer;
    if (!killer)
        killer = s_connect();
    char sql[64];
    snprintf(sql, sizeof sql, "KILL CONNECTION %" PRIu64, s_connection_id(victim));
    dp_err_t err = {0};
    if (dp_db_exec_sql(killer, sql, &err) != 0)
        s_fail("kill", "%s", err.text);
}

static void s_expect_err(const char *check, int rc, const dp_err_t *err, dp_err_code_t code,
                         const char *needle)
{
    if (rc == 0)
        s_fail(check, "%s", "succeeded, want an error");
    if (err->code != code || !strstr(err->text, needle)) {
        printf("FAIL %s: code %s text \"%s\", want %s with \"%s\"\n", check, dp_err_name(err->code),
               err->text, dp_err_name(code), needle);
        exit(1);
    }
    printf("ok %s (%s: %s)\n", check, dp_err_name(err->code), err->text);
}

static void s_misuse(dp_db_bulk_t *up, int rows)
{
    dp_err_t err = {0};
    dp_db_bulk_row(up);
    dp_db_bulk_uint(up, 1);
    dp_db_bulk_str(up, "not an int"); /* column 2 is 'i' */
    s_expect_err("wrong type", dp_db_bulk_exec(up, &err), &err, DP_ERR_INTERNAL,
                 "of 1 rows: row 1 column 2");
    s_add(up, 1, 2);
    dp_db_bulk_row(up);
    dp_db_bulk_uint(up, 2); /* a short row */
    s_expect_err("short row", dp_db_bulk_exec(up, &err), &err, DP_ERR_INTERNAL,
                 "row 2 has 1 of 7 values");
    if (dp_db_bulk_rows(up) != 0 || dp_db_bulk_exec(up, &err) != 0 || dp_db_bulk_affected(up) != 0)
        s_fail("rows forgotten after an error", "%s", err.text);
    s_verify("nothing written by refused bulks", rows, 2);
}

int main(int argc, char **argv)
{
    int rows = argc > 1 ? atoi(argv[1]) : 0;
    if (rows < 22) {
        fprintf(stderr, "usage: dbbulk ROWS (>= 22)\n");
        return 2;
    }
    dp_db_library_init();
    s_db = s_connect();
    dp_err_t err = {0};
    if (dp_db_exec_sql(s_db, "DROP TABLE IF EXISTS bulk_t", &err) != 0 ||
        dp_db_exec_sql(s_db,
                       "CREATE TABLE bulk_t (id INT UNSIGNED PRIMARY KEY, i BIGINT NOT NULL,"
                       " d DOUBLE NULL, b TINYINT NOT NULL, s TEXT NULL, t DATETIME(3) NULL,"
                       " u BIGINT UNSIGNED NOT NULL, old_i BIGINT NULL) ENGINE=InnoDB",
                       &err) != 0)
        s_fail("create", "%s", err.text);
    static const char *upsert =
        "INSERT INTO bulk_t (id, i, d, b, s, t, u) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON DUPLICATE KEY UPDATE old_i = i, i = VALUES(i), d = VALUES(d), b = VALUES(b),"
        " s = VALUES(s), t = VALUES(t), u = VALUES(u)";
    if (dp_db_bulk_new(s_db, "INSERT INTO bulk_t (id) VALUES (?)", "uu", 0, &err))
        s_fail("types checked at prepare", "%s", "accepted 2 types for 1 '?'");
    s_expect_err("types checked at prepare", -1, &err, DP_ERR_INTERNAL, "1 parameters");
    dp_db_bulk_t *up = dp_db_bulk_new(s_db, upsert, "uidbstu", DP_DB_IDEMPOTENT, &err);
    if (!up)
        s_fail("prepare", "%s", err.text);
    /* insert, then update every row (ON DUPLICATE KEY UPDATE with VALUES() per row) */
    for (int r = 1; r <= rows; r++)
        s_add(up, r, 1);
    if (dp_db_bulk_rows(up) != rows || dp_db_bulk_exec(up, &err) != 0)
        s_fail("insert", "%s", err.text);
    if (dp_db_bulk_affected(up) != rows)
        s_fail("insert", "affected %s", "wrong");
    s_verify("insert all types and NULLs", rows, 1);
    for (int r = 1; r <= rows; r++)
        s_add(up, r, 2);
    if (dp_db_bulk_exec(up, &err) != 0)
        s_fail("upsert", "%s", err.text);
    if (dp_db_bulk_affected(up) != 2 * (int64_t)rows)
        s_fail("upsert", "%s", "affected is not 2 per changed row");
    s_verify("upsert updates every row", rows, 2);
    printf("ok affected rows %" PRId64 "\n", dp_db_bulk_affected(up));
    s_misuse(up, rows);
    /* a server error names the statement and the row count; the transaction stays usable */
    dp_db_bulk_t *ins =
        dp_db_bulk_new(s_db, "INSERT INTO bulk_t (id, i, b, u) VALUES (?, ?, 0, 0)", "ui", 0, &err);
    if (!ins)
        s_fail("prepare insert", "%s", err.text);
    for (int r = rows + 1; r <= rows + 3; r++) {
        dp_db_bulk_row(ins);
        dp_db_bulk_uint(ins, r == rows + 3 ? 5 : (uint64_t)r); /* id 5 exists */
        dp_db_bulk_int(ins, 0);
    }
    if (dp_db_begin(s_db, &err) != 0)
        s_fail("begin", "%s", err.text);
    s_expect_err("duplicate key", dp_db_bulk_exec(ins, &err), &err, DP_ERR_DB,
                 "bulk of 3 rows: \"INSERT INTO bulk_t (id, i, b, u)");
    dp_db_rollback(s_db, NULL);
    s_verify("rolled back", rows, 2);
    /* the server drops the connection: reconnect and re-prepare before sending */
    s_kill(s_db);
    for (int r = 1; r <= rows; r++)
        s_add(up, r, 3);
    if (dp_db_bulk_exec(up, &err) != 0)
        s_fail("after kill", "%s", err.text);
    if (dp_db_reconnects(s_db) != 1)
        s_fail("after kill", "%s", "no reconnect counted");
    s_verify("bulk after a killed connection (re-prepared)", rows, 3);
    /* inside a transaction a lost connection fails the bulk and nothing is written */
    if (dp_db_begin(s_db, &err) != 0)
        s_fail("begin", "%s", err.text);
    s_kill(s_db);
    for (int r = 1; r <= rows; r++)
        s_add(up, r, 4);
    s_expect_err("lost inside a transaction", dp_db_bulk_exec(up, &err), &err, DP_ERR_DB,
                 "connection lost inside transaction");
    dp_db_rollback(s_db, NULL);
    s_verify("nothing written by the lost transaction", rows, 3);
    dp_db_bulk_destroy(&ins);
    if (ins)
        s_fail("destroy", "%s", "pointer not cleared");
    dp_db_destroy(&s_db); /* frees `up` with its statement */
    dp_db_library_end();
    printf("ok all\n");
    return 0;
}
