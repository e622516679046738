/*  test_rrdwriter_def.c - rrdwriter_def: kind table, RRA sets, create args,
    safe paths, update validation and exact update formatting.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_err.h"
#include "dp_time.h"
#include "../../rrdwriter/rrdwriter_def.h"

#include <math.h>
#include <stdlib.h>

#define TS      INT64_C(1700000000)
#define PORT_DS 15

static const char *const s_port_ds[PORT_DS] = {
    "INOCTETS",         "OUTOCTETS",       "INERRORS",        "OUTERRORS",
    "INUCASTPKTS",      "OUTUCASTPKTS",    "INNUCASTPKTS",    "OUTNUCASTPKTS",
    "INDISCARDS",       "OUTDISCARDS",     "INUNKNOWNPROTOS", "INBROADCASTPKTS",
    "OUTBROADCASTPKTS", "INMULTICASTPKTS", "OUTMULTICASTPKTS"};

static void s_fill(double *v, int n, double x)
{
    for (int i = 0; i < n; i++)
        v[i] = x;
}

DP_TEST(rrdwriter_def_kinds)
{
    rrdwriter_def_kind_t k;
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_kind_parse("port", &k, &err), 0);
    CHECK_EQ_INT(k, RRDWRITER_DEF_PORT);
    CHECK_EQ_INT(rrdwriter_def_ds_count(k), PORT_DS);
    for (int i = 0; i < PORT_DS; i++)
        CHECK_EQ_STR(rrdwriter_def_ds_name(k, i), s_port_ds[i]);
    CHECK(rrdwriter_def_ds_name(k, PORT_DS) == NULL);
    CHECK(rrdwriter_def_ds_name(k, -1) == NULL);
    /* every kind round-trips through its name */
    for (int i = 0; i < RRDWRITER_DEF_KIND_COUNT; i++) {
        CHECK_EQ_INT(rrdwriter_def_kind_parse(rrdwriter_def_kind_name(i), &k, NULL), 0);
        CHECK_EQ_INT(k, i);
        CHECK(rrdwriter_def_ds_count(i) >= 1);
    }
    CHECK_EQ_INT(rrdwriter_def_kind_parse("ports", &k, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_CONTAINS(err.text, "ports");
    CHECK_EQ_INT(rrdwriter_def_ds_count(RRDWRITER_DEF_KIND_COUNT), 0);
    CHECK_EQ_STR(rrdwriter_def_kind_name(RRDWRITER_DEF_KIND_COUNT), "?");
}

DP_TEST(rrdwriter_def_create_args_librenms)
{
    rrdwriter_def_rras_t rras;
    char **argv = NULL;
    int argc = 0;
    CHECK_EQ_INT(rrdwriter_def_rras_parse("librenms", &rras, NULL), 0);
    CHECK_EQ_INT(rras.count, 13);
    CHECK_EQ_INT(rrdwriter_def_create_args(RRDWRITER_DEF_PORT, &rras, 300, &argv, &argc, NULL), 0);
    CHECK_EQ_INT(argc, PORT_DS + 13);
    CHECK_EQ_STR(argv[0], "DS:INOCTETS:DERIVE:600:0:12500000000");
    CHECK_EQ_STR(argv[14], "DS:OUTMULTICASTPKTS:DERIVE:600:0:12500000000");
    const char *want[13] = {"AVERAGE:0.5:1:2016",   "AVERAGE:0.5:6:1440", "AVERAGE:0.5:24:1440",
                            "AVERAGE:0.5:288:1440", "MIN:0.5:1:2016",     "MIN:0.5:6:1440",
                            "MIN:0.5:24:1440",      "MIN:0.5:288:1440",   "MAX:0.5:1:2016",
                            "MAX:0.5:6:1440",       "MAX:0.5:24:1440",    "MAX:0.5:288:1440",
                            "LAST:0.5:1:2016"};
    for (int i = 0; i < 13; i++) {
        CHECK(strncmp(argv[PORT_DS + i], "RRA:", 4) == 0);
        CHECK_EQ_STR(argv[PORT_DS + i] + 4, want[i]);
    }
    CHECK(argv[argc] == NULL);
    rrdwriter_def_free_args(&argv, argc);
    CHECK(argv == NULL);
    rrdwriter_def_free_args(&argv, argc); /* idempotent */
}

DP_TEST(rrdwriter_def_create_args_gauges_and_step)
{
    rrdwriter_def_rras_t rras;
    char **argv = NULL;
    int argc = 0;
    CHECK_EQ_INT(rrdwriter_def_rras_parse("small", &rras, NULL), 0);
    CHECK_EQ_INT(rras.count, 2);
    CHECK_EQ_INT(rrdwriter_def_create_args(RRDWRITER_DEF_PROCESSOR, &rras, 300, &argv, &argc, NULL),
                 0);
    CHECK_EQ_INT(argc, 3);
    CHECK_EQ_STR(argv[0], "DS:usage:GAUGE:600:-273:1000");
    CHECK_EQ_STR(argv[1], "RRA:AVERAGE:0.5:1:24");
    CHECK_EQ_STR(argv[2], "RRA:MAX:0.5:12:24");
    rrdwriter_def_free_args(&argv, argc);
    /* heartbeat follows the step; no max is U */
    CHECK_EQ_INT(rrdwriter_def_create_args(RRDWRITER_DEF_STORAGE, &rras, 60, &argv, &argc, NULL),
                 0);
    CHECK_EQ_INT(argc, 4);
    CHECK_EQ_STR(argv[0], "DS:used:GAUGE:120:0:U");
    CHECK_EQ_STR(argv[1], "DS:free:GAUGE:120:0:U");
    rrdwriter_def_free_args(&argv, argc);
    CHECK_EQ_INT(rrdwriter_def_create_args(RRDWRITER_DEF_PING_PERF, &rras, 300, &argv, &argc, NULL),
                 0);
    CHECK_EQ_STR(argv[0], "DS:ping:GAUGE:600:0:65535");
    rrdwriter_def_free_args(&argv, argc);
}

DP_TEST(rrdwriter_def_create_args_errors)
{
    rrdwriter_def_rras_t rras = {0};
    char **argv = NULL;
    int argc = -1;
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_create_args(RRDWRITER_DEF_PORT, &rras, 300, &argv, &argc, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_CONTAINS(err.text, "no RRAs");
    CHECK(argv == NULL);
    CHECK_EQ_INT(rrdwriter_def_rras_parse("small", &rras, NULL), 0);
    CHECK_EQ_INT(rrdwriter_def_create_args(RRDWRITER_DEF_PORT, &rras, 0, &argv, &argc, &err), -1);
    CHECK_CONTAINS(err.text, "bad step");
    CHECK_EQ_INT(
        rrdwriter_def_create_args(RRDWRITER_DEF_KIND_COUNT, &rras, 300, &argv, &argc, &err), -1);
    CHECK(argv == NULL);
    CHECK_EQ_INT(argc, -1);
}

DP_TEST(rrdwriter_def_rras_custom_list)
{
    rrdwriter_def_rras_t rras;
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_rras_parse(
                     "RRA:AVERAGE:0.5:1:600, RRA:LAST:0:1:10\tRRA:MAX:0.99:6:700", &rras, &err),
                 0);
    CHECK_EQ_INT(rras.count, 3);
    CHECK_EQ_STR(rras.rra[0], "RRA:AVERAGE:0.5:1:600");
    CHECK_EQ_STR(rras.rra[1], "RRA:LAST:0:1:10");
    CHECK_EQ_STR(rras.rra[2], "RRA:MAX:0.99:6:700");
}

DP_TEST(rrdwriter_def_rras_bad_lists)
{
    static const struct {
        const char *spec;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {" , ", "empty"},
        {"tiny", "expected RRA"},
        {"RRA:AVERAGE:0.5:1", "expected RRA"},
        {"RRA:AVERAGE:0.5:1:10:5", "expected RRA"},
        {"DS:AVERAGE:0.5:1:10", "expected RRA"},
        {"RRA:MEDIAN:0.5:1:10", "CF must be"},
        {"RRA:AVERAGE:1:1:10", "xff"},
        {"RRA:AVERAGE:-0.1:1:10", "xff"},
        {"RRA:AVERAGE:abc:1:10", "xff"},
        {"RRA:AVERAGE:0.5:0:10", "steps"},
        {"RRA:AVERAGE:0.5:5m:10", "steps"},
        {"RRA:AVERAGE:0.5:1:0", "rows"},
        {"RRA:AVERAGE:0.5:1:-5", "rows"},
        {"RRA:AVERAGE:0.5:1:99999999999", "rows"},
        {"RRA:AVERAGE:0.5:1:10 RRA:AVERAGE:0.5:1:7d", "rows"},
    };
    rrdwriter_def_rras_t rras;
    CHECK_EQ_INT(rrdwriter_def_rras_parse("small", &rras, NULL), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dp_err_t err;
        dp_err_clear(&err);
        if (rrdwriter_def_rras_parse(bad[i].spec, &rras, &err) != -1)
            dp_test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i].spec);
        CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
        CHECK_CONTAINS(err.text, bad[i].why);
    }
    /* a failed parse leaves the set unchanged */
    CHECK_EQ_INT(rras.count, 2);
    CHECK_EQ_STR(rras.rra[0], "RRA:AVERAGE:0.5:1:24");
    /* more than RRDWRITER_DEF_RRA_MAX */
    char many[RRDWRITER_DEF_RRA_MAX * 24 + 32] = "";
    for (int i = 0; i <= RRDWRITER_DEF_RRA_MAX; i++)
        strcat(many, "RRA:MAX:0.5:1:10 ");
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_rras_parse(many, &rras, &err), -1);
    CHECK_CONTAINS(err.text, "more than");
    CHECK_EQ_INT(rrdwriter_def_rras_parse(NULL, &rras, &err), -1);
}

DP_TEST(rrdwriter_def_paths)
{
    char buf[512];
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, "router1.example.com", RRDWRITER_DEF_PORT,
                                    NULL, 42, NULL),
                 0);
    CHECK_EQ_STR(buf, "router1.example.com/port-id42.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "192.0.2.1", RRDWRITER_DEF_POLLER_PERF, NULL, 7, NULL),
        0);
    CHECK_EQ_STR(buf, "192.0.2.1/poller-perf.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "2001:db8::1", RRDWRITER_DEF_UPTIME, NULL, 0, NULL), 0);
    CHECK_EQ_STR(buf, "2001:db8::1/uptime.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "sw-1", RRDWRITER_DEF_PROCESSOR, "hr", 196608, NULL),
        0);
    CHECK_EQ_STR(buf, "sw-1/processor-hr-196608.rrd");
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, "sw-1", RRDWRITER_DEF_STORAGE,
                                    "hrstorage-/var/log", 0, NULL),
                 0);
    CHECK_EQ_STR(buf, "sw-1/storage-hrstorage-_var_log.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "sw-1", RRDWRITER_DEF_AVAILABILITY, NULL, 86400, NULL),
        0);
    CHECK_EQ_STR(buf, "sw-1/availability-86400.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "sw-1", RRDWRITER_DEF_MEMPOOL, "cemp", 1, NULL), 0);
    CHECK_EQ_STR(buf, "sw-1/mempool-cemp-1.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "sw-1", RRDWRITER_DEF_PING_PERF, NULL, 0, NULL), 0);
    CHECK_EQ_STR(buf, "sw-1/ping-perf.rrd");
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "h", RRDWRITER_DEF_PORT, NULL, UINT64_MAX, NULL), 0);
    CHECK_EQ_STR(buf, "h/port-id18446744073709551615.rrd");
}

DP_TEST(rrdwriter_def_paths_hostile_hostnames)
{
    static const struct {
        const char *host;
        const char *want;
    } cases[] = {
        {"..", "__"},
        {".", "_"},
        {"../../etc", "___.__etc"},
        {"../etc/passwd", "___etc_passwd"},
        {"/etc/cron.d", "_etc_cron.d"},
        {".hidden", "_hidden"},
        {"a..b", "a._b"},
        {"a...b", "a.__b"},
        {"host name;rm -rf", "host_name_rm_-rf"},
        {"h\\x\n\t", "h_x__"},
        {"caf\xc3\xa9", "caf__"},
        {"$(id)`x`", "__id__x_"},
    };
    char buf[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ_INT(
            rrdwriter_def_path(buf, sizeof buf, cases[i].host, RRDWRITER_DEF_PORT, NULL, 1, NULL),
            0);
        char want[128];
        snprintf(want, sizeof want, "%s/port-id1.rrd", cases[i].want);
        CHECK_EQ_STR(buf, want);
        /* exactly one '/', never "..", never a leading '.' */
        CHECK(strchr(buf, '/') == strrchr(buf, '/'));
        CHECK(strstr(buf, "..") == NULL);
        CHECK(buf[0] != '.');
    }
    /* a hostile sub-name cannot add a path component either */
    CHECK_EQ_INT(
        rrdwriter_def_path(buf, sizeof buf, "h", RRDWRITER_DEF_STORAGE, "../../x", 0, NULL), 0);
    CHECK_EQ_STR(buf, "h/storage-.._.._x.rrd");
    CHECK(strchr(buf, '/') == strrchr(buf, '/'));
}

DP_TEST(rrdwriter_def_path_errors)
{
    char buf[512];
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, "", RRDWRITER_DEF_PORT, NULL, 1, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_PROTO);
    CHECK_CONTAINS(err.text, "hostname");
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, NULL, RRDWRITER_DEF_PORT, NULL, 1, &err), -1);
    char longhost[300];
    memset(longhost, 'a', sizeof longhost - 1);
    longhost[sizeof longhost - 1] = '\0';
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, longhost, RRDWRITER_DEF_PORT, NULL, 1, &err),
                 -1);
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, "h", RRDWRITER_DEF_PROCESSOR, NULL, 1, &err),
                 -1);
    CHECK_CONTAINS(err.text, "sub-name");
    CHECK_EQ_INT(rrdwriter_def_path(buf, sizeof buf, "h", RRDWRITER_DEF_PROCESSOR, "", 1, &err),
                 -1);
    /* buffer exactly one byte short, then exactly enough */
    const char *want = "h/port-id1.rrd";
    CHECK_EQ_INT(rrdwriter_def_path(buf, strlen(want), "h", RRDWRITER_DEF_PORT, NULL, 1, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_INTERNAL);
    CHECK_EQ_INT(rrdwriter_def_path(buf, strlen(want) + 1, "h", RRDWRITER_DEF_PORT, NULL, 1, &err),
                 0);
    CHECK_EQ_STR(buf, want);
}

DP_TEST(rrdwriter_def_validate_good)
{
    double v[PORT_DS];
    s_fill(v, PORT_DS, 0);
    v[0] = 12000000000.0;          /* 64-bit octet counter above 2^32 */
    v[1] = 18446744073709549568.0; /* largest double below 2^64 */
    v[2] = NAN;                    /* unknown -> U */
    int64_t now = dp_time_wall_ms() / 1000;
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, now, v, PORT_DS, now - 300, &err), 0);
    /* unknown last update; a little in the future is allowed */
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, now + 60, v, PORT_DS, 0, &err), 0);
    double g[1] = {99.5};
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_AVAILABILITY, TS, g, 1, TS - 1, &err), 0);
    g[0] = 100; /* max is inclusive */
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_AVAILABILITY, TS, g, 1, TS - 1, &err), 0);
    g[0] = -5; /* processor min is -273 like LibreNMS */
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PROCESSOR, TS, g, 1, -1, &err), 0);
}

DP_TEST(rrdwriter_def_validate_value_count)
{
    double v[PORT_DS + 1];
    s_fill(v, PORT_DS + 1, 1);
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS - 1, 0, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_PROTO);
    CHECK_CONTAINS(err.text, "port: 14 values for 15 data sources");
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS + 1, 0, &err), -1);
    CHECK_CONTAINS(err.text, "16 values");
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_STORAGE, TS, v, 3, 0, &err), -1);
    CHECK_CONTAINS(err.text, "storage: 3 values for 2");
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_STORAGE, TS, NULL, 2, 0, &err), -1);
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_KIND_COUNT, TS, v, 1, 0, &err), -1);
}

DP_TEST(rrdwriter_def_validate_timestamps)
{
    double v[1] = {1};
    dp_err_t err;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, TS, v, 1, TS, &err), -1);
    CHECK_CONTAINS(err.text, "not after the last update 1700000000");
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, TS, v, 1, TS + 1, &err), -1);
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, TS + 1, v, 1, TS, &err), 0);
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, 0, v, 1, 0, &err), -1);
    CHECK_CONTAINS(err.text, "not positive");
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, -5, v, 1, 0, &err), -1);
    int64_t now = dp_time_wall_ms() / 1000;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, now + 3600, v, 1, 0, &err), -1);
    CHECK_CONTAINS(err.text, "in the future");
    /* the slack edge (a second of margin for the clock ticking during the test) */
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, now + RRDWRITER_DEF_FUTURE_SLACK_S, v,
                                        1, 0, &err),
                 0);
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME,
                                        now + RRDWRITER_DEF_FUTURE_SLACK_S + 2, v, 1, 0, &err),
                 -1);
}

DP_TEST(rrdwriter_def_validate_values)
{
    double v[PORT_DS];
    dp_err_t err;
    s_fill(v, PORT_DS, 5);
    v[3] = 1.5;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS, 0, &err), -1);
    CHECK_CONTAINS(err.text, "value 4 (OUTERRORS) is 1.5: DERIVE needs an integer");
    v[3] = INFINITY;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS, 0, &err), -1);
    CHECK_CONTAINS(err.text, "(OUTERRORS) is infinite");
    v[3] = -INFINITY;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS, 0, &err), -1);
    v[3] = 18446744073709551616.0; /* 2^64 */
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS, 0, &err), -1);
    /* DERIVE min/max bound the rate, not the raw counter: big counters pass */
    v[3] = 1e15;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PORT, TS, v, PORT_DS, 0, &err), 0);
    double g[1] = {100.01};
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_AVAILABILITY, TS, g, 1, 0, &err), -1);
    CHECK_CONTAINS(err.text, "availability: value 1 (availability) is 100.01: above max 100");
    g[0] = -0.5;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_UPTIME, TS, g, 1, 0, &err), -1);
    CHECK_CONTAINS(err.text, "below min 0");
    g[0] = -274;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PROCESSOR, TS, g, 1, 0, &err), -1);
    g[0] = 65536;
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PING_PERF, TS, g, 1, 0, &err), -1);
    g[0] = NAN; /* unknown passes everywhere */
    CHECK_EQ_INT(rrdwriter_def_validate(RRDWRITER_DEF_PING_PERF, TS, g, 1, 0, &err), 0);
}

DP_TEST(rrdwriter_def_format_update_exact)
{
    char buf[RRDWRITER_DEF_UPDATE_MAX];
    double v[6] = {12000000000.0, 0, NAN, 18446744073709549568.0, 0.25, -3};
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, sizeof buf, TS, v, 6), 0);
    CHECK_EQ_STR(buf, "1700000000:12000000000:0:U:18446744073709549568:0.25:-3");
    /* non-integral values: shortest text that reads back the same */
    double g[3] = {0.1, 1.0 / 3.0, 1e-300};
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, sizeof buf, TS, g, 3), 0);
    CHECK_EQ_STR(buf, "1700000000:0.1:0.3333333333333333:1e-300");
    char *p = strchr(buf, ':') + 1;
    CHECK(strtod(p, &p) == 0.1 && *p == ':');
    CHECK(strtod(p + 1, &p) == 1.0 / 3.0);
    /* huge integral gauge values fall back to %g, still exact */
    double big[1] = {1e30};
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, sizeof buf, TS, big, 1), 0);
    CHECK_EQ_STR(buf, "1700000000:1e+30");
    /* a full port update fits the documented maximum */
    double port[PORT_DS];
    s_fill(port, PORT_DS, 18446744073709549568.0);
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, sizeof buf, TS, port, PORT_DS), 0);
    CHECK_EQ_INT(strlen(buf), 10 + PORT_DS * 21);
}

DP_TEST(rrdwriter_def_format_update_errors)
{
    char buf[32];
    double v[2] = {123456789, 987654321};
    /* "1700000000:123456789:987654321" is 30 chars: 31 bytes fit, 30 do not */
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, 31, TS, v, 2), 0);
    CHECK_EQ_STR(buf, "1700000000:123456789:987654321");
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, 30, TS, v, 2), -1);
    CHECK_EQ_STR(buf, "");
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, 5, TS, v, 2), -1);
    CHECK_EQ_STR(buf, "");
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, 0, TS, v, 2), -1);
    double inf[1] = {INFINITY};
    CHECK_EQ_INT(rrdwriter_def_format_update(buf, sizeof buf, TS, inf, 1), -1);
    CHECK_EQ_STR(buf, "");
}
