/*  dbtool.c - test helper CLI over dp_db, dp_schema and dp_settings
    Connection from DB_HOST, DB_PORT, DB_SOCKET, DB_DATABASE, DB_USERNAME, DB_PASSWORD
    (flags -H -P -S -D -u -p override). Exit: 0 ok, 1 error, 2 usage, 3 stale epoch.
    Errors go to stderr as "error: <category>: <text>".
    SPDX-License-Identifier: MIT */
#include "dp_db.h"
#include "dp_err.h"
#include "dp_schema.h"
#include "dp_settings.h"
#include "dp_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_EXIT_ERROR 1
#define S_EXIT_USAGE 2
#define S_EXIT_STALE 3
#define S_LONG_LEN   100000

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static int s_fail(const dp_err_t *err)
{
    fprintf(stderr, "error: %s: %s\n", dp_err_name(err->code), err->text);
    return err->code == DP_ERR_STALE ? S_EXIT_STALE : S_EXIT_ERROR;
}

static int s_usage(void)
{
    fprintf(stderr,
            "usage: dbtool [-H host] [-P port] [-S socket] [-D db] [-u user] [-p pass] CMD ...\n"
            "  connect | migrate | version | selftest\n"
            "  loop [--seconds N] [--interval-ms N]\n"
            "  settings-set NAME VALUE | settings-load [NODE] | node-groups NODE [VALUE]\n"
            "  node-report NODE HOST DAEMON [MASTER]\n"
            "  epoch-bump NAME NODE | epoch-current NAME | epoch-check NAME EPOCH\n"
            "  fenced-write NAME EPOCH | sleep SECONDS idem|once\n");
    return S_EXIT_USAGE;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

//  One loop iteration: idempotent upsert, non-idempotent insert, read-back check.
static int s_loop_step(dp_db_stmt_t *up, dp_db_stmt_t *ev, dp_db_stmt_t *sel, int seq,
                       dp_err_t *err, const char **what)
{
    char note[32];
    snprintf(note, sizeof note, "note-%d", seq);
    int64_t at = dp_time_wall_ms();
    *what = "upsert";
    if (dp_db_exec(up, err, "ist", (int64_t)seq, note, at) != 0)
        return -1;
    *what = "event";
    if (dp_db_exec(ev, err, "i", (int64_t)seq) != 0)
        return -1;
    *what = "select";
    if (dp_db_query(sel, err, "i", (int64_t)seq) != 0)
        return -1;
    int ok = dp_db_fetch(sel) == 1 && dp_db_col_int(sel, 0) == seq && dp_db_col_str(sel, 1) &&
             strcmp(dp_db_col_str(sel, 1), note) == 0 && dp_db_col_time_ms(sel, 2) == at;
    while (dp_db_fetch(sel) == 1)
        ;
    if (!ok)
        return dp_err_set(err, DP_ERR_INTERNAL, "read-back mismatch for seq %d", seq);
    return 0;
}

static int s_cmd_loop(dp_db_t *db, int argc, char **argv)
{
    int seconds = 60, interval_ms = 100;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--interval-ms") == 0)
            interval_ms = atoi(argv[i + 1]);
        else
            return s_usage();
    }
    dp_err_t err;
    dp_err_clear(&err);
    if (dp_db_exec_sql(db,
                       "CREATE TABLE IF NOT EXISTS dbtool_loop (seq INT PRIMARY KEY,"
                       " note VARCHAR(64) NOT NULL, at DATETIME(3) NOT NULL) ENGINE=InnoDB",
                       &err) != 0 ||
        dp_db_exec_sql(db,
                       "CREATE TABLE IF NOT EXISTS dbtool_events (id INT AUTO_INCREMENT"
                       " PRIMARY KEY, seq INT NOT NULL, KEY seq (seq)) ENGINE=InnoDB",
                       &err) != 0)
        return s_fail(&err);
    dp_db_stmt_t *up =
        dp_db_prepare_flags(db,
                            "INSERT INTO dbtool_loop (seq, note, at) VALUES (?, ?, ?)"
                            " ON DUPLICATE KEY UPDATE note = VALUES(note),"
                            " at = VALUES(at)",
                            DP_DB_IDEMPOTENT, &err);
    dp_db_stmt_t *ev =
        up ? dp_db_prepare(db, "INSERT INTO dbtool_events (seq) VALUES (?)", &err) : NULL;
    dp_db_stmt_t *sel =
        ev ? dp_db_prepare_flags(db, "SELECT seq, note, at FROM dbtool_loop WHERE seq = ?",
                                 DP_DB_IDEMPOTENT, &err)
           : NULL;
    if (!sel)
        return s_fail(&err);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t end = dp_time_mono_ms() + (int64_t)seconds * 1000;
    int nok = 0, nerr = 0;
    for (int seq = 1; !s_stop && dp_time_mono_ms() < end; seq++) {
        const char *what = "";
        dp_err_clear(&err);
        if (s_loop_step(up, ev, sel, seq, &err, &what) == 0) {
            nok++;
            printf("ok seq=%d reconnects=%llu\n", seq, (unsigned long long)dp_db_reconnects(db));
        } else {
            nerr++;
            printf("err seq=%d stmt=%s code=%s errno=%u reconnects=%llu text=%s\n", seq, what,
                   dp_err_name(err.code), dp_db_last_errno(db),
                   (unsigned long long)dp_db_reconnects(db), err.text);
        }
        s_sleep_ms(interval_ms);
    }
    printf("summary ok=%d err=%d reconnects=%llu\n", nok, nerr,
           (unsigned long long)dp_db_reconnects(db));
    return 0;
}

//  Exercises the typed API: every parameter and column type, NULLs, long text,
//  affected rows, insert ids, a rolled-back transaction and a types mismatch.
static int s_cmd_selftest(dp_db_t *db)
{
    dp_err_t err;
    dp_err_clear(&err);
    const char *step = "create";
    if (dp_db_exec_sql(db, "DROP TABLE IF EXISTS dbtool_types", &err) != 0 ||
        dp_db_exec_sql(db,
                       "CREATE TABLE dbtool_types (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY,"
                       " i BIGINT NULL, u BIGINT UNSIGNED NULL, d DOUBLE NULL, b TINYINT(1) NULL,"
                       " s LONGTEXT NULL, t DATETIME(3) NULL, dec_col DECIMAL(10,2) NULL)"
                       " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                       &err) != 0)
        goto fail;
    char *big = malloc(S_LONG_LEN + 1);
    if (!big)
        return S_EXIT_ERROR;
    for (int k = 0; k < S_LONG_LEN; k++)
        big[k] = (char)('a' + k % 26);
    big[S_LONG_LEN] = '\0';
    step = "insert";
    dp_db_stmt_t *ins = dp_db_prepare(
        db, "INSERT INTO dbtool_types (i, u, d, b, s, t, dec_col) VALUES (?, ?, ?, ?, ?, ?, 12.5)",
        &err);
    int rc = -1;
    if (ins &&
        dp_db_exec(ins, &err, "iudbst", (int64_t)-42, (uint64_t)18446744073709551615ULL, 0.125, 1,
                   big, (int64_t)1700000000123) == 0 &&
        dp_db_affected(ins) == 1 && dp_db_insert_id(ins) == 1 &&
        dp_db_exec(ins, &err, "iudbst", (int64_t)0, (uint64_t)0, 0.0, 0, (const char *)NULL,
                   (int64_t)-1) == 0 &&
        dp_db_insert_id(ins) == 2)
        rc = 0;
    if (rc != 0)
        goto fail_big;
    step = "select";
    dp_db_stmt_t *sel = dp_db_prepare(db,
                                      "SELECT i, u, d, b, s, t, dec_col FROM dbtool_types"
                                      " ORDER BY id",
                                      &err);
    if (!sel || dp_db_query(sel, &err, NULL) != 0 || dp_db_ncols(sel) != 7 || dp_db_fetch(sel) != 1)
        goto fail_big;
    if (dp_db_col_int(sel, 0) != -42 || dp_db_col_uint(sel, 1) != 18446744073709551615ULL ||
        dp_db_col_double(sel, 2) != 0.125 || dp_db_col_int(sel, 3) != 1 ||
        strcmp(dp_db_col_str(sel, 4), big) != 0 || dp_db_col_time_ms(sel, 5) != 1700000000123 ||
        strcmp(dp_db_col_str(sel, 5), "2023-11-14 22:13:20.123") != 0 ||
        dp_db_col_double(sel, 6) != 12.5 || strcmp(dp_db_col_str(sel, 6), "12.50") != 0 ||
        strcmp(dp_db_col_str(sel, 0), "-42") != 0) {
        dp_err_set(&err, DP_ERR_INTERNAL, "row 1 values differ");
        goto fail_big;
    }
    if (dp_db_fetch(sel) != 1 || !dp_db_col_is_null(sel, 4) || !dp_db_col_is_null(sel, 5) ||
        dp_db_col_str(sel, 4) != NULL || dp_db_col_is_null(sel, 0) || dp_db_fetch(sel) != 0) {
        dp_err_set(&err, DP_ERR_INTERNAL, "row 2 NULLs differ");
        goto fail_big;
    }
    step = "transaction";
    if (dp_db_begin(db, &err) != 0 ||
        dp_db_exec(ins, &err, "iudbst", (int64_t)9, (uint64_t)9, 9.0, 0, "x", (int64_t)0) != 0 ||
        dp_db_rollback(db, &err) != 0)
        goto fail_big;
    dp_db_stmt_t *cnt = dp_db_prepare(db, "SELECT COUNT(*) FROM dbtool_types", &err);
    if (!cnt || dp_db_query(cnt, &err, NULL) != 0 || dp_db_fetch(cnt) != 1 ||
        dp_db_col_int(cnt, 0) != 2) {
        dp_err_set(&err, DP_ERR_INTERNAL, "rollback kept the row");
        goto fail_big;
    }
    step = "mismatch";
    dp_err_t e2;
    if (dp_db_exec(ins, &e2, "i", (int64_t)1) != -1 || e2.code != DP_ERR_INTERNAL) {
        dp_err_set(&err, DP_ERR_INTERNAL, "types mismatch not reported");
        goto fail_big;
    }
    if (dp_db_prepare(db, "SELEC nonsense", &e2) != NULL || e2.code != DP_ERR_DB) {
        dp_err_set(&err, DP_ERR_INTERNAL, "bad SQL not reported");
        goto fail_big;
    }
    dp_db_stmt_destroy(&cnt);
    free(big);
    printf("selftest ok\n");
    return 0;
fail_big:
    free(big);
fail:
    fprintf(stderr, "selftest step %s failed\n", step);
    return s_fail(&err);
}

static int s_cmd_settings_load(dp_db_t *db, const char *node)
{
    dp_settings_t s;
    dp_err_t err;
    if (dp_settings_load(db, node, &s, &err) != 0)
        return s_fail(&err);
    printf("distributed_poller=%d groups=", s.distributed_poller);
    for (int i = 0; i < s.ngroups; i++)
        printf("%s%d", i ? "," : "", s.groups[i]);
    printf(" default_poller_group=%d distributed_billing=%d\n", s.default_poller_group,
           s.distributed_billing);
    return 0;
}

static int s_cmd_fenced_write(dp_db_t *db, const char *name, uint64_t epoch)
{
    dp_err_t err;
    dp_db_stmt_t *st = dp_db_prepare(db,
                                     "UPDATE settings SET updated_at = NOW(3) WHERE name ="
                                     " 'default_poller_group' AND (SELECT epoch FROM leadership"
                                     " WHERE name = ?) <= ?",
                                     &err);
    if (!st || dp_db_exec(st, &err, "su", name, epoch) != 0)
        return s_fail(&err);
    printf("affected=%lld\n", (long long)dp_db_affected(st));
    return 0;
}

//  Runs SELECT SLEEP(seconds) so a test can kill the connection mid-statement.
static int s_cmd_sleep(dp_db_t *db, const char *seconds, bool idempotent)
{
    dp_err_t err;
    dp_db_stmt_t *st = dp_db_prepare_flags(db, "SELECT SLEEP(?), CONNECTION_ID()",
                                           idempotent ? DP_DB_IDEMPOTENT : 0, &err);
    if (!st || dp_db_query(st, &err, "d", atof(seconds)) != 0 || dp_db_fetch(st) != 1)
        return s_fail(&err);
    printf("ok reconnects=%llu sleep=%lld\n", (unsigned long long)dp_db_reconnects(db),
           (long long)dp_db_col_int(st, 0));
    return 0;
}

static int s_dispatch(dp_db_t *db, int argc, char **argv)
{
    dp_err_t err;
    dp_err_clear(&err);
    const char *cmd = argv[0];
    if (strcmp(cmd, "loop") == 0)
        return s_cmd_loop(db, argc - 1, argv + 1);
    if (strcmp(cmd, "selftest") == 0)
        return s_cmd_selftest(db);
    if (strcmp(cmd, "connect") == 0) {
        printf("connected\n");
        return 0;
    }
    if (strcmp(cmd, "migrate") == 0) {
        int applied = 0;
        if (dp_schema_migrate(db, &applied, &err) != 0)
            return s_fail(&err);
        int v = dp_schema_version(db, &err);
        if (v < 0)
            return s_fail(&err);
        printf("applied=%d version=%d latest=%d\n", applied, v, dp_schema_latest());
        return 0;
    }
    if (strcmp(cmd, "version") == 0) {
        int v = dp_schema_version(db, &err);
        if (v < 0)
            return s_fail(&err);
        printf("%d\n", v);
        return 0;
    }
    if (strcmp(cmd, "settings-set") == 0 && argc == 3) {
        if (dp_settings_set(db, argv[1], argv[2], &err) != 0)
            return s_fail(&err);
        return 0;
    }
    if (strcmp(cmd, "settings-load") == 0 && argc <= 2)
        return s_cmd_settings_load(db, argc == 2 ? argv[1] : NULL);
    if (strcmp(cmd, "node-groups") == 0 && (argc == 2 || argc == 3)) {
        if (dp_settings_set_node_groups(db, argv[1], argc == 3 ? argv[2] : NULL, &err) != 0)
            return s_fail(&err);
        return 0;
    }
    if (strcmp(cmd, "node-report") == 0 && (argc == 4 || argc == 5)) {
        if (dp_node_report(db, argv[1], argv[2], argv[3], "dbtool", argc == 5 ? atoi(argv[4]) : -1,
                           &err) != 0)
            return s_fail(&err);
        return 0;
    }
    uint64_t epoch = 0;
    if (strcmp(cmd, "epoch-bump") == 0 && argc == 3) {
        if (dp_epoch_bump(db, argv[1], argv[2], &epoch, &err) != 0)
            return s_fail(&err);
        printf("%llu\n", (unsigned long long)epoch);
        return 0;
    }
    if (strcmp(cmd, "epoch-current") == 0 && argc == 2) {
        if (dp_epoch_current(db, argv[1], &epoch, &err) != 0)
            return s_fail(&err);
        printf("%llu\n", (unsigned long long)epoch);
        return 0;
    }
    if (strcmp(cmd, "epoch-check") == 0 && argc == 3) {
        if (dp_epoch_check(db, argv[1], strtoull(argv[2], NULL, 10), &err) != 0)
            return s_fail(&err);
        printf("ok\n");
        return 0;
    }
    if (strcmp(cmd, "sleep") == 0 && argc == 3)
        return s_cmd_sleep(db, argv[1], strcmp(argv[2], "idem") == 0);
    if (strcmp(cmd, "fenced-write") == 0 && argc == 3)
        return s_cmd_fenced_write(db, argv[1], strtoull(argv[2], NULL, 10));
    return s_usage();
}

int main(int argc, char **argv)
{
    dp_db_opts_t o = {
        .host = getenv("DB_HOST"),
        .port = getenv("DB_PORT") ? atoi(getenv("DB_PORT")) : 0,
        .socket = getenv("DB_SOCKET"),
        .database = getenv("DB_DATABASE") ? getenv("DB_DATABASE") : "distpoll",
        .username = getenv("DB_USERNAME") ? getenv("DB_USERNAME") : "distpoll",
        .password = getenv("DB_PASSWORD"),
        .connect_timeout_s = 2,
        .rw_timeout_s = 5,
    };
    int opt;
    while ((opt = getopt(argc, argv, "+H:P:S:D:u:p:")) != -1) {
        switch (opt) {
        case 'H':
            o.host = optarg;
            break;
        case 'P':
            o.port = atoi(optarg);
            break;
        case 'S':
            o.socket = optarg;
            break;
        case 'D':
            o.database = optarg;
            break;
        case 'u':
            o.username = optarg;
            break;
        case 'p':
            o.password = optarg;
            break;
        default:
            return s_usage();
        }
    }
    if (optind >= argc)
        return s_usage();
    dp_db_library_init();
    dp_db_t *db = dp_db_new(&o);
    dp_err_t err;
    dp_err_clear(&err);
    int rc;
    if (dp_db_connect(db, &err) != 0)
        rc = s_fail(&err);
    else
        rc = s_dispatch(db, argc - optind, argv + optind);
    dp_db_destroy(&db);
    dp_db_library_end();
    return rc;
}
