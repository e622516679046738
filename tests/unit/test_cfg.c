/*  test_cfg.c - dp_cfg: defaults < .env < environment < flags, errors, secrets, reload
    Each error case checks that the message names file:line, key, value and the expectation,
    and that secret values never leak into errors or `config show` output.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_cfg.h"
#include "dp_err.h"

#include <stdlib.h>
#include <unistd.h>

#define SECRET "hunter2-s3cret-value"

/* Environment variables the tests touch; cleared before and after each test that sets any. */
static const char *s_env_keys[] = {
    "DP_WORKERS",  "DP_CONCURRENCY", "DP_SNMP_RETRIES", "NODE_ID",     "APP_KEY",
    "DP_ENV_FILE", "DP_LOG_LEVEL",   "DB_HOST",         "DB_PASSWORD", NULL};

static void s_clear_env(void)
{
    for (const char **k = s_env_keys; *k; k++)
        unsetenv(*k);
}

/* Writes text to a fresh temp file; path receives its name. */
static void s_write_tmp(const char *text, char *path, size_t size)
{
    snprintf(path, size, "/tmp/dp_cfg_test_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n)
        abort();
    close(fd);
}

/* Loads text as a .env file into cfg; path receives the temp name (already removed). */
static int s_load_text(dp_cfg_t *cfg, const char *text, char *path, size_t size, dp_err_t *err)
{
    s_write_tmp(text, path, size);
    int rc = dp_cfg_load_env_file(cfg, path, err);
    unlink(path);
    return rc;
}

/* Captures dp_cfg_print output; caller frees. */
static char *s_print(const dp_cfg_t *cfg, bool json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        abort();
    dp_cfg_print(cfg, out, json);
    fclose(out);
    return buf;
}

DP_TEST(cfg_defaults)
{
    dp_cfg_t *cfg = dp_cfg_new();
    CHECK_EQ_STR(cfg->redis_host, "127.0.0.1");
    CHECK_EQ_INT(cfg->redis_port, 6379);
    CHECK_EQ_INT(cfg->redis_db, 0);
    CHECK_EQ_STR(cfg->redis_sentinel_service, "librenms");
    CHECK(cfg->redis_password == NULL && cfg->redis_sentinel == NULL);
    CHECK(cfg->node_id == NULL && cfg->app_key == NULL);
    CHECK_EQ_STR(cfg->db_host, "localhost");
    CHECK_EQ_INT(cfg->db_port, 3306);
    CHECK_EQ_STR(cfg->db_database, "librenms");
    CHECK_EQ_INT(cfg->log_level, DP_LOG_INFO);
    CHECK_EQ_STR(cfg->scheduler_bind, "tcp://127.0.0.1:7710");
    CHECK_EQ_STR(cfg->schedulers, "tcp://127.0.0.1:7710");
    CHECK_EQ_STR(cfg->rrdwriter, "tcp://127.0.0.1:7720");
    CHECK_EQ_STR(cfg->control_dir, "/run/distpoll");
    CHECK_EQ_STR(cfg->rrdcached, "unix:/run/rrdcached.sock");
    CHECK_EQ_STR(cfg->rrd_dir, "/var/lib/distpoll/rrd");
    CHECK_EQ_INT(cfg->spool_max_mb, 1024);
    CHECK_EQ_INT(cfg->poller_interval_ms, 300000);
    CHECK_EQ_INT(cfg->discovery_interval_ms, 6LL * 3600 * 1000);
    CHECK_EQ_INT(cfg->billing_interval_ms, 300000);
    CHECK_EQ_INT(cfg->workers, 1);
    CHECK_EQ_INT(cfg->concurrency, 500);
    CHECK_EQ_INT(cfg->snmp_timeout_ms, 2000);
    CHECK_EQ_INT(cfg->snmp_retries, 2);
    CHECK_EQ_INT(cfg->lock_ttl_ms, 10000);
    CHECK_EQ_INT(cfg->job_timeout_ms, 60000);
    CHECK_EQ_INT(cfg->metrics_port, 0);
    CHECK_EQ_STR(cfg->rra, "librenms");
    CHECK(cfg->curve);
    CHECK(!cfg->help_requested);
    dp_cfg_destroy(&cfg);
    CHECK(cfg == NULL);
    dp_cfg_destroy(&cfg); /* idempotent */
}

DP_TEST(cfg_precedence_default_file_env_flag)
{
    char path[64], flag_path[80];
    dp_err_t err = {0};
    s_clear_env();
    s_write_tmp("DP_WORKERS=2\nDP_CONCURRENCY=100\nDP_SNMP_RETRIES=5\nNODE_ID=file-node\n", path,
                sizeof path);
    setenv("DP_CONCURRENCY", "200", 1);
    setenv("DP_SNMP_RETRIES", "6", 1);
    setenv("DB_HOST", "", 1); /* empty: ignored, default stays */
    snprintf(flag_path, sizeof flag_path, "--env-file=%s", path);
    char *argv[] = {"prog",      flag_path,   "--set", "DP_SNMP_RETRIES=7",
                    "--node-id", "flag-node", "-v",    NULL};
    dp_cfg_t *cfg = dp_cfg_new();
    int rc = dp_cfg_load(cfg, 7, argv, &err);
    s_clear_env();
    unlink(path);
    CHECK_EQ_STR(err.text, "");
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(cfg->db_port, 3306);           /* default */
    CHECK_EQ_STR(cfg->db_host, "localhost");    /* empty env ignored */
    CHECK_EQ_INT(cfg->workers, 2);              /* file over default */
    CHECK_EQ_INT(cfg->concurrency, 200);        /* environment over file */
    CHECK_EQ_INT(cfg->snmp_retries, 7);         /* flag over environment */
    CHECK_EQ_STR(cfg->node_id, "flag-node");    /* flag over file */
    CHECK_EQ_INT(cfg->log_level, DP_LOG_DEBUG); /* -v */
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_env_file_from_dp_env_file_variable)
{
    char path[64];
    dp_err_t err = {0};
    s_clear_env();
    s_write_tmp("DP_WORKERS=3\nexport NODE_ID=n1\n", path, sizeof path);
    setenv("DP_ENV_FILE", path, 1);
    char *argv[] = {"prog", NULL};
    dp_cfg_t *cfg = dp_cfg_new();
    int rc = dp_cfg_load(cfg, 1, argv, &err);
    unlink(path);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(cfg->workers, 3);
    CHECK_EQ_STR(cfg->node_id, "n1");
    /* an explicitly named file that is missing is an error */
    CHECK_EQ_INT(dp_cfg_load(cfg, 1, argv, &err), -1);
    s_clear_env();
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_CONTAINS(err.text, path);
    CHECK_CONTAINS(err.text, "cannot open env file");
    char *argv2[] = {"prog", "--env-file", "/nonexistent/distpoll.env", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 3, argv2, &err), -1);
    CHECK_CONTAINS(err.text, "/nonexistent/distpoll.env: cannot open env file");
    CHECK_EQ_INT(cfg->workers, 3); /* unchanged on failure */
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_load_reads_dot_env_in_current_directory)
{
    char dir[] = "/tmp/dp_cfg_cwd_XXXXXX", cwd[4096], file[64];
    dp_err_t err = {0};
    s_clear_env();
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/.env", dir);
    char *argv[] = {"prog", NULL};
    dp_cfg_t *cfg = dp_cfg_new();
    int rc_none = -1, rc_file = -1, workers_none = 0;
    if (chdir(dir) == 0) {
        rc_none = dp_cfg_load(cfg, 1, argv, &err); /* no ./.env: defaults only */
        workers_none = cfg->workers;
        FILE *f = fopen(".env", "w");
        if (f) {
            fputs("DP_WORKERS=5\n", f);
            fclose(f);
        }
        rc_file = dp_cfg_load(cfg, 1, argv, &err);
        if (chdir(cwd) != 0)
            abort(); /* later tests need tests/data */
    }
    unlink(file);
    rmdir(dir);
    CHECK_EQ_INT(rc_none, 0);
    CHECK_EQ_INT(workers_none, 1);
    CHECK_EQ_INT(rc_file, 0);
    CHECK_EQ_INT(cfg->workers, 5);
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_flags_errors_are_named)
{
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    char *a1[] = {"prog", "--env-file", "/dev/null", "--bogus", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 4, a1, &err), -1);
    CHECK_CONTAINS(err.text, "unknown flag \"--bogus\": expected --env-file PATH");
    char *a2[] = {"prog", "--env-file", "/dev/null", "extra", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 4, a2, &err), -1);
    CHECK_CONTAINS(err.text, "unexpected argument \"extra\"");
    char *a3[] = {"prog", "--env-file", "/dev/null", "--set", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 4, a3, &err), -1);
    CHECK_CONTAINS(err.text, "flag --set needs a value");
    char *a4[] = {"prog", "--env-file", "/dev/null", "--set", "DP_WORKERS", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 5, a4, &err), -1);
    CHECK_CONTAINS(err.text, "--set DP_WORKERS: expected KEY=VALUE");
    char *a5[] = {"prog", "--env-file", "/dev/null", "--set=DP_WORKRES=2", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 4, a5, &err), -1);
    CHECK_CONTAINS(err.text, "--set: DP_WORKRES=\"2\": unknown key (did you mean DP_WORKERS?)");
    char *a6[] = {"prog", "--env-file", "/dev/null", "--log-level", "loud", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 5, a6, &err), -1);
    CHECK_CONTAINS(
        err.text,
        "--log-level: DP_LOG_LEVEL=\"loud\": expected one of error|warn|notice|info|debug");
    CHECK(!cfg->help_requested);
    char *a7[] = {"prog", "--env-file", "/dev/null", "--help", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 4, a7, &err), 0);
    CHECK(cfg->help_requested);
    dp_cfg_destroy(&cfg);
}

typedef struct {
    const char *text;   /* .env content */
    const char *expect; /* substring of the error after "path" */
} s_bad_t;

DP_TEST(cfg_file_errors_name_file_line_key_value_expectation)
{
    static const s_bad_t cases[] = {
        {"# comment\n\nDP_WORKERS=2\ngarbage here\n",
         ":4: malformed line \"garbage here\": expected KEY=VALUE"},
        {"=value\n", ":1: malformed line \"=value\": expected KEY=VALUE"},
        {"DP_WORKRES=4\n", ":1: DP_WORKRES=\"4\": unknown key (did you mean DP_WORKERS?)"},
        {"\n\n\n\n\n# c\nDP_WORKERS=\"abc\"\n",
         ":7: DP_WORKERS=\"abc\": expected an integer 1..64"},
        {"DP_WORKERS=65\n", ":1: DP_WORKERS=\"65\": expected an integer 1..64"},
        {"DP_WORKERS=0\n", ":1: DP_WORKERS=\"0\": expected an integer 1..64"},
        {"DP_WORKERS=\n", ":1: DP_WORKERS=\"\": expected an integer 1..64"},
        {"DP_CURVE=maybe\n", ":1: DP_CURVE=\"maybe\": expected a boolean (true/false, yes/no"},
        {"DP_POLLER_INTERVAL=5x\n",
         ":1: DP_POLLER_INTERVAL=\"5x\": expected a duration 1s..1d (e.g. 500ms"},
        {"DP_POLLER_INTERVAL=500ms\n",
         ":1: DP_POLLER_INTERVAL=\"500ms\": expected a duration 1s..1d"},
        {"DP_LOG_LEVEL=loud\n", ":1: DP_LOG_LEVEL=\"loud\": expected one of error|warn|notice"},
        {"DP_RRA=huge\n", ":1: DP_RRA=\"huge\": expected one of librenms|small"},
        {"DP_SCHEDULERS=tcp://a:1,b:2\n",
         ":1: DP_SCHEDULERS=\"tcp://a:1,b:2\": expected a comma-separated list of ZeroMQ"},
        {"DP_RRDWRITER=tcp://host\n",
         ":1: DP_RRDWRITER=\"tcp://host\": expected a ZeroMQ endpoint"},
        {"REDIS_SENTINEL=s1:26379,s2\n", ":1: REDIS_SENTINEL=\"s1:26379,s2\": expected a comma"},
        {"REDIS_SENTINEL_SERVICE=''\n",
         ":1: REDIS_SENTINEL_SERVICE=\"\": expected a non-empty string"},
        {"NODE_ID=bad id!\n", ":1: NODE_ID=\"bad id!\": expected 1-64 characters from A-Z"},
        {"DP_RRD_DIR=\"/srv/rrd\n", ":1: DP_RRD_DIR=\"\\\"/srv/rrd\": unterminated double quote"},
        {"DP_RRD_DIR='/srv/rrd\n", ":1: DP_RRD_DIR=\"'/srv/rrd\": unterminated single quote"},
        {"DP_RRD_DIR=\"/srv\" rrd\n",
         ":1: DP_RRD_DIR=\"\\\"/srv\\\" rrd\": text after the closing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64], expect[256];
        dp_err_t err = {0};
        dp_cfg_t *cfg = dp_cfg_new();
        int rc = s_load_text(cfg, cases[i].text, path, sizeof path, &err);
        int workers = cfg->workers;
        dp_cfg_destroy(&cfg);
        snprintf(expect, sizeof expect, "%s%s", path, cases[i].expect);
        if (dp_test_verbose())
            printf("    %s\n", err.text);
        CHECK_EQ_INT(rc, -1);
        CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
        CHECK_CONTAINS(err.text, expect);
        CHECK_EQ_INT(workers, 1); /* nothing applied from a bad file */
    }
}

DP_TEST(cfg_secrets_never_in_errors)
{
    static const s_bad_t cases[] = {
        {"APP_KEY=" SECRET "\nAPP_KEY=short-" SECRET "x\nAPP_KEY=shrt\n",
         ":3: APP_KEY=********: expected at least 16 characters"},
        {"DB_PASSWORD=\"" SECRET "\n", ":1: DB_PASSWORD=********: unterminated double quote"},
        {"DB_PASWORD=" SECRET "\n",
         ":1: DB_PASWORD=********: unknown key (did you mean DB_PASSWORD?)"},
        {"DB_PASSWORD " SECRET "\n", ":1: malformed line ********: expected KEY=VALUE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[64], expect[256];
        dp_err_t err = {0};
        dp_cfg_t *cfg = dp_cfg_new();
        int rc = s_load_text(cfg, cases[i].text, path, sizeof path, &err);
        dp_cfg_destroy(&cfg);
        snprintf(expect, sizeof expect, "%s%s", path, cases[i].expect);
        CHECK_EQ_INT(rc, -1);
        CHECK_CONTAINS(err.text, expect);
        CHECK(strstr(err.text, "hunter2") == NULL);
        CHECK(strstr(err.text, "shrt") == NULL);
    }
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    CHECK_EQ_INT(dp_cfg_set(cfg, "APP_KEY", "hunter2", &err), -1);
    CHECK_EQ_STR(err.text, "APP_KEY=********: expected at least 16 characters (LibreNMS keys look "
                           "like base64:...)");
    char *argv[] = {"prog", "--env-file", "/dev/null", "--set", "APP_KEY=hunter2", NULL};
    CHECK_EQ_INT(dp_cfg_load(cfg, 5, argv, &err), -1);
    CHECK_CONTAINS(err.text, "--set: APP_KEY=********: expected");
    CHECK(strstr(err.text, "hunter2") == NULL);
    s_clear_env();
    setenv("APP_KEY", "hunter2", 1);
    CHECK_EQ_INT(dp_cfg_load_environ(cfg, &err), -1);
    s_clear_env();
    CHECK_CONTAINS(err.text, "environment: APP_KEY=********: expected at least 16 characters");
    CHECK(strstr(err.text, "hunter2") == NULL);
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_print_masks_secrets)
{
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    CHECK_EQ_INT(dp_cfg_set(cfg, "DB_PASSWORD", SECRET, &err), 0);
    CHECK_EQ_INT(dp_cfg_set(cfg, "APP_KEY", "base64:" SECRET, &err), 0);
    CHECK_EQ_INT(dp_cfg_set(cfg, "REDIS_SENTINEL_PASSWORD", SECRET, &err), 0);
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_RRD_DIR", "/srv/my rrd", &err), 0);
    CHECK_EQ_STR(cfg->db_password, SECRET);
    char *text = s_print(cfg, false);
    char *json = s_print(cfg, true);
    bool leak = strstr(text, "hunter2") || strstr(json, "hunter2");
    CHECK(!leak);
    CHECK_CONTAINS(text, "\nDB_PASSWORD=********\n");
    CHECK_CONTAINS(text, "\nAPP_KEY=********\n");
    CHECK_CONTAINS(text, "\nREDIS_PASSWORD=(unset)\n");
    CHECK_CONTAINS(text, "\nNODE_ID=\n");
    CHECK_CONTAINS(text, "\nDP_RRD_DIR=\"/srv/my rrd\"\n");
    CHECK_CONTAINS(text, "\nDP_POLLER_INTERVAL=5m\n");
    CHECK_CONTAINS(text, "\nDP_LOG_LEVEL=info\n");
    CHECK_CONTAINS(text, "\nDP_CURVE=true\n");
    CHECK(strncmp(text, "REDIS_HOST=127.0.0.1\n", 21) == 0);
    CHECK_CONTAINS(json, "\"DB_PASSWORD\": \"********\"");
    CHECK_CONTAINS(json, "\"REDIS_PASSWORD\": null");
    CHECK_CONTAINS(json, "\"DP_WORKERS\": 1,");
    CHECK_CONTAINS(json, "\"DP_CURVE\": true");
    CHECK_CONTAINS(json, "\"DP_DISCOVERY_INTERVAL\": \"6h\"");
    CHECK(json[0] == '{' && strstr(json, "\n}\n"));
    free(text);
    free(json);
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_quoting_rules)
{
    char path[64];
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    const char *text = "  # indented comment\n"
                       "export DP_RRD_DIR=/srv/rrd   # trailing comment\n"
                       "DP_SPOOL_DIR = '/srv/spool #1 \\n \"x\"'  # single quotes are literal\n"
                       "DB_USERNAME=\"li\\\"b\\\\re\\nnms # not a comment\"\n"
                       "DB_DATABASE=lib#renms\n"
                       "REDIS_USERNAME=\"\"\n"
                       "REDIS_SENTINEL_USERNAME=  a b   # c\n"
                       "DB_SOCKET=/run/mysqld/mysqld.sock\r\n"
                       "DP_CONTROL_DIR=\"/run/\\q\"\n"
                       "APP_URL=http://librenms.example\n" /* LibreNMS keys: ignored */
                       "INSTALL=false\nLIBRENMS_USER=librenms\n"
                       "\t\n";
    CHECK_EQ_INT(s_load_text(cfg, text, path, sizeof path, &err), 0);
    CHECK_EQ_STR(cfg->rrd_dir, "/srv/rrd");
    CHECK_EQ_STR(cfg->spool_dir, "/srv/spool #1 \\n \"x\"");
    CHECK_EQ_STR(cfg->db_username, "li\"b\\re\nnms # not a comment");
    CHECK_EQ_STR(cfg->db_database, "lib#renms");
    CHECK(cfg->redis_username == NULL); /* empty unsets a key without a default */
    CHECK_EQ_STR(cfg->redis_sentinel_username, "a b");
    CHECK_EQ_STR(cfg->db_socket, "/run/mysqld/mysqld.sock");
    CHECK_EQ_STR(cfg->control_dir, "/run/\\q"); /* unknown escape kept */
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_durations)
{
    static const struct {
        const char *key, *text;
        long long ms;
    } good[] = {
        {"DP_SNMP_TIMEOUT", "500ms", 500},         {"DP_SNMP_TIMEOUT", "2s", 2000},
        {"DP_SNMP_TIMEOUT", "45", 45000},          {"DP_DISCOVERY_INTERVAL", "5m", 300000},
        {"DP_DISCOVERY_INTERVAL", "6h", 21600000}, {"DP_DISCOVERY_INTERVAL", "1d", 86400000},
        {"DP_DISCOVERY_INTERVAL", "90m", 5400000}, {"DP_DRAIN_TIMEOUT", "0", 0},
    };
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_EQ_INT(dp_cfg_set(cfg, good[i].key, good[i].text, &err), 0);
        int64_t got = strcmp(good[i].key, "DP_SNMP_TIMEOUT") == 0    ? cfg->snmp_timeout_ms
                      : strcmp(good[i].key, "DP_DRAIN_TIMEOUT") == 0 ? cfg->drain_timeout_ms
                                                                     : cfg->discovery_interval_ms;
        CHECK_EQ_INT(got, good[i].ms);
    }
    static const char *bad[] = {
        "5 m", "m", "-1s", "1.5s", "5M", "", "99999999999999999999d", "999999999999999d", "8d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(dp_cfg_set(cfg, "DP_DISCOVERY_INTERVAL", bad[i], &err), -1);
        CHECK_CONTAINS(err.text, "DP_DISCOVERY_INTERVAL=");
        CHECK_CONTAINS(err.text, ": expected a duration 1s..7d");
    }
    CHECK_EQ_INT(cfg->discovery_interval_ms, 5400000); /* unchanged by failures */
    char *text = s_print(cfg, false);
    CHECK_CONTAINS(text, "\nDP_DISCOVERY_INTERVAL=90m\n");
    CHECK_CONTAINS(text, "\nDP_SNMP_TIMEOUT=45s\n");
    free(text);
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_SNMP_TIMEOUT", "1500ms", &err), 0);
    text = s_print(cfg, false);
    CHECK_CONTAINS(text, "\nDP_SNMP_TIMEOUT=1500ms\n");
    free(text);
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_bools_levels_and_unknown_keys)
{
    static const struct {
        const char *text;
        bool value;
    } bools[] = {{"yes", true},  {"NO", false},  {"On", true}, {"0", false},
                 {"TRUE", true}, {"off", false}, {"1", true},  {"false", false}};
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        CHECK_EQ_INT(dp_cfg_set(cfg, "DP_CURVE", bools[i].text, &err), 0);
        CHECK_EQ_INT(cfg->curve, bools[i].value);
    }
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_CURVE", "2", &err), -1);
    CHECK_EQ_STR(err.text, "DP_CURVE=\"2\": expected a boolean (true/false, yes/no, on/off, 1/0)");
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_LOG_LEVEL", "DEBUG", &err), 0);
    CHECK_EQ_INT(cfg->log_level, DP_LOG_DEBUG);
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_LOG_LEVEL", "warn", &err), 0);
    CHECK_EQ_INT(cfg->log_level, DP_LOG_WARN);
    CHECK_EQ_INT(dp_cfg_set(cfg, "NOPE", "1", &err), -1);
    CHECK_CONTAINS(err.text, "unknown key \"NOPE\"");
    CHECK_EQ_INT(
        dp_cfg_set(cfg, "DP_SCHEDULERS", " tcp://10.0.0.1:7710 , ipc:///run/s.sock,", &err), 0);
    CHECK_EQ_STR(cfg->schedulers, "tcp://10.0.0.1:7710,ipc:///run/s.sock");
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_SCHEDULER_BIND", "tcp://*:7710", &err), 0);
    CHECK_EQ_INT(dp_cfg_set(cfg, "REDIS_SENTINEL", "s1:26379, [::1]:26380", &err), 0);
    CHECK_EQ_STR(cfg->redis_sentinel, "s1:26379,[::1]:26380");
    CHECK_EQ_INT(dp_cfg_set(cfg, "DP_RRA", "small", &err), 0);
    CHECK_EQ_STR(cfg->rra, "small");
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_environ_reads_only_table_keys)
{
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    s_clear_env();
    setenv("DP_WORKERS", "8", 1);
    setenv("NODE_ID", "env-node", 1);
    CHECK_EQ_INT(dp_cfg_load_environ(cfg, &err), 0);
    CHECK_EQ_INT(cfg->workers, 8);
    CHECK_EQ_STR(cfg->node_id, "env-node");
    setenv("DP_WORKERS", "abc", 1);
    setenv("NODE_ID", "other", 1);
    int rc = dp_cfg_load_environ(cfg, &err);
    s_clear_env();
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_STR(err.text, "environment: DP_WORKERS=\"abc\": expected an integer 1..64");
    CHECK_EQ_STR(cfg->node_id, "env-node"); /* nothing applied */
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_require_node_id_and_app_key)
{
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    CHECK_EQ_INT(dp_cfg_require(cfg, dp_cfg_daemon_keys, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_EQ_STR(err.text, "NODE_ID is not set: every node needs a unique NODE_ID (set it in .env "
                           "or the environment)");
    CHECK_EQ_INT(dp_cfg_set(cfg, "NODE_ID", "n1", &err), 0);
    CHECK_EQ_INT(dp_cfg_set(cfg, "NODE_ID", "", &err), 0); /* empty unsets */
    CHECK(cfg->node_id == NULL);
    CHECK_EQ_INT(dp_cfg_require(cfg, dp_cfg_daemon_keys, &err), -1);
    CHECK_CONTAINS(err.text, "NODE_ID is not set");
    CHECK_EQ_INT(dp_cfg_set(cfg, "NODE_ID", "poller-1.dc_2", &err), 0);
    CHECK_EQ_INT(dp_cfg_require(cfg, dp_cfg_daemon_keys, &err), -1);
    CHECK_CONTAINS(err.text, "APP_KEY is not set: ");
    CHECK_EQ_INT(dp_cfg_set(cfg, "APP_KEY", "base64:" SECRET, &err), 0);
    CHECK_EQ_INT(dp_cfg_require(cfg, dp_cfg_daemon_keys, &err), 0);
    char long_id[80];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    CHECK_EQ_INT(dp_cfg_set(cfg, "NODE_ID", long_id, &err), -1);
    CHECK_CONTAINS(err.text, "expected 1-64 characters");
    long_id[64] = '\0';
    CHECK_EQ_INT(dp_cfg_set(cfg, "NODE_ID", long_id, &err), 0);
    free(cfg->node_id); /* a caller edited the struct directly: require re-validates */
    cfg->node_id = strdup("a b");
    CHECK_EQ_INT(dp_cfg_require(cfg, dp_cfg_daemon_keys, &err), -1);
    CHECK_EQ_STR(err.text, "NODE_ID=\"a b\": expected 1-64 characters from A-Z a-z 0-9 . _ -");
    free(cfg->app_key);
    cfg->app_key = strdup("short");
    const char *keys[] = {"APP_KEY", NULL};
    CHECK_EQ_INT(dp_cfg_require(cfg, keys, &err), -1);
    CHECK_CONTAINS(err.text, "APP_KEY=********");
    CHECK(strstr(err.text, "short") == NULL);
    dp_cfg_destroy(&cfg);
}

DP_TEST(cfg_reload_reports_changed_and_restart)
{
    dp_err_t err = {0};
    dp_cfg_t *cur = dp_cfg_new();
    dp_cfg_t *next = dp_cfg_dup(cur);
    char changed[128], restart[128];
    CHECK_EQ_INT(dp_cfg_reload(cur, next, changed, sizeof changed, restart, sizeof restart), 0);
    CHECK_EQ_STR(changed, "");
    CHECK_EQ_STR(restart, "");
    CHECK_EQ_INT(dp_cfg_set(next, "DP_LOG_LEVEL", "debug", &err), 0);
    CHECK_EQ_INT(dp_cfg_set(next, "DP_POLLER_INTERVAL", "60s", &err), 0);
    CHECK_EQ_INT(dp_cfg_set(next, "DP_WORKERS", "4", &err), 0);
    CHECK_EQ_INT(dp_cfg_set(next, "DB_PASSWORD", SECRET, &err), 0);
    int n = dp_cfg_reload(cur, next, changed, sizeof changed, restart, sizeof restart);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(changed, "DP_LOG_LEVEL DP_POLLER_INTERVAL");
    CHECK_EQ_STR(restart, "DB_PASSWORD DP_WORKERS");
    CHECK_EQ_INT(cur->log_level, DP_LOG_DEBUG);
    CHECK_EQ_INT(cur->poller_interval_ms, 60000);
    CHECK_EQ_INT(cur->workers, 1); /* needs restart: not applied */
    CHECK(cur->db_password == NULL);
    /* applied keys no longer differ; the restart ones still do */
    CHECK_EQ_INT(dp_cfg_reload(cur, next, changed, sizeof changed, restart, sizeof restart), 0);
    CHECK_EQ_STR(changed, "");
    CHECK_EQ_STR(restart, "DB_PASSWORD DP_WORKERS");
    /* tiny buffers are truncated with "...", and NULL buffers are allowed */
    char tiny[16];
    CHECK_EQ_INT(dp_cfg_reload(cur, next, NULL, 0, tiny, sizeof tiny), 0);
    CHECK_EQ_STR(tiny, "DB_PASSWORD ...");
    dp_cfg_destroy(&next);
    dp_cfg_destroy(&cur);
}

DP_TEST(cfg_split_list)
{
    char **items = NULL;
    int count = -1;
    CHECK_EQ_INT(dp_cfg_split_list(" tcp://a:1 , ,tcp://b:2,", &items, &count), 0);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_STR(items[0], "tcp://a:1");
    CHECK_EQ_STR(items[1], "tcp://b:2");
    CHECK(items[2] == NULL);
    dp_cfg_list_free(&items);
    CHECK(items == NULL);
    CHECK_EQ_INT(dp_cfg_split_list(NULL, &items, &count), 0);
    CHECK_EQ_INT(count, 0);
    CHECK(items && items[0] == NULL);
    dp_cfg_list_free(&items);
    dp_cfg_list_free(&items); /* NULL-safe */
}

DP_TEST(cfg_help_lists_every_key)
{
    char *help = NULL, *shown;
    size_t len = 0;
    FILE *out = open_memstream(&help, &len);
    dp_cfg_print_help(out);
    fclose(out);
    dp_cfg_t *cfg = dp_cfg_new();
    shown = s_print(cfg, false);
    dp_cfg_destroy(&cfg);
    /* every key `config show` prints is documented in --help */
    int keys = 0;
    for (char *line = strtok(shown, "\n"); line; line = strtok(NULL, "\n"), keys++) {
        char needle[80];
        snprintf(needle, sizeof needle, "  %.*s=", (int)strcspn(line, "="), line);
        CHECK_CONTAINS(help, needle);
    }
    CHECK(keys >= 40);
    CHECK_CONTAINS(help, "  DP_WORKERS=1  (an integer 1..64)\n      threads per worker daemon\n");
    CHECK_CONTAINS(help, "  DP_LOG_LEVEL=info  (one of error|warn|notice|info|debug; reloadable)");
    CHECK_CONTAINS(help, "  DB_PASSWORD=  (a string; secret)");
    free(shown);
    free(help);
}

DP_TEST(cfg_example_env_documents_every_key)
{
    char path[512];
    snprintf(path, sizeof path, "%s/example.env", dp_test_data_dir());
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    CHECK_EQ_INT(dp_cfg_load_env_file(cfg, path, &err), 0);
    CHECK_EQ_INT(dp_cfg_require(cfg, dp_cfg_daemon_keys, &err), 0);
    /* the documented values are the built-in defaults, apart from identity and password */
    dp_cfg_t *fresh = dp_cfg_new();
    char changed[256], restart[256];
    dp_cfg_reload(fresh, cfg, changed, sizeof changed, restart, sizeof restart);
    dp_cfg_destroy(&fresh);
    CHECK_EQ_STR(changed, "");
    CHECK_EQ_STR(restart, "APP_KEY NODE_ID DB_PASSWORD");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char *text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, f);
    fclose(f);
    text[n] = '\0';
    dp_cfg_t *defaults = dp_cfg_new();
    char *shown = s_print(defaults, false);
    dp_cfg_destroy(&defaults);
    char missing[256] = "";
    for (char *line = strtok(shown, "\n"); line; line = strtok(NULL, "\n")) {
        char needle[80];
        snprintf(needle, sizeof needle, "%.*s=", (int)strcspn(line, "="), line);
        if (!strstr(text, needle))
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s ", needle);
    }
    free(shown);
    free(text);
    dp_cfg_destroy(&cfg);
    CHECK_EQ_STR(missing, "");
}
