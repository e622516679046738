/*  test_cli_util.c - the CLI's helpers: RRD folder names agree with rrdwriter_def_path, duration
    and number parsing, formatting, STATS lookups, trace field names
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../cli/cli.h"
#include "../../rrdwriter/rrdwriter_def.h"
#include "dp_trace.h"

#include <stdlib.h>

DP_TEST(cli_rrd_host_dir_matches_rrdwriter)
{
    static const char *const hosts[] = {"sw1.example.net", "..a..b",  ".x",
                                        "a b/c",           "fe80::1", "a...b",
                                        "UPPER_case-9",    "x.y.",    "ü.example"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        char mine[256], theirs[512], want[256];
        dp_err_t err = {0};
        cli_rrd_host_dir(hosts[i], mine, sizeof mine);
        CHECK_EQ_INT(
            rrdwriter_def_path(theirs, sizeof theirs, hosts[i], RRDWRITER_DEF_PORT, NULL, 5, &err),
            0);
        char *slash = strrchr(theirs, '/');
        CHECK(slash != NULL);
        snprintf(want, sizeof want, "%.*s", (int)(slash - theirs), theirs);
        CHECK_EQ_STR(mine, want);
    }
}

DP_TEST(cli_parse_duration_and_numbers)
{
    long v = 0;
    CHECK_EQ_INT(cli_parse_duration_s("--period", "1d", &v), 0);
    CHECK_EQ_INT(v, 86400);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "90", &v), 0);
    CHECK_EQ_INT(v, 90);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "6h", &v), 0);
    CHECK_EQ_INT(v, 21600);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "2w", &v), 0);
    CHECK_EQ_INT(v, 14 * 86400);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "0", &v), CLI_USAGE);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "1y", &v), CLI_USAGE);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "1dd", &v), CLI_USAGE);
    CHECK_EQ_INT(cli_parse_duration_s("--period", "400d", &v), CLI_USAGE);
    CHECK_EQ_INT(cli_parse_long("--port", "161", 1, 65535, &v), 0);
    CHECK_EQ_INT(v, 161);
    CHECK_EQ_INT(cli_parse_long("--port", "0x10", 1, 65535, &v), CLI_USAGE);
    CHECK_EQ_INT(cli_parse_long("--port", "70000", 1, 65535, &v), CLI_USAGE);
}

DP_TEST(cli_format_helpers)
{
    char buf[64];
    CHECK_EQ_STR(cli_fmt_bps(999, buf, sizeof buf), "999 bps");
    CHECK_EQ_STR(cli_fmt_bps(1600000, buf, sizeof buf), "1.60 Mbps");
    CHECK_EQ_STR(cli_fmt_bps(1e9, buf, sizeof buf), "1.00 Gbps");
    CHECK_EQ_STR(cli_fmt_time(0, buf, sizeof buf), "never");
    CHECK_EQ_STR(cli_fmt_time(86400000LL + 61000, buf, sizeof buf), "1970-01-02 00:01:01");
    CHECK_EQ_STR(cli_fmt_ago(-1, buf, sizeof buf), "never");
}

DP_TEST(cli_stats_lookup)
{
    const char *t = "daemon: poller\njobs_done: 42\njobs: 7\nx: abc\n";
    char v[32];
    CHECK(cli_stats_get(t, "jobs", v, sizeof v));
    CHECK_EQ_STR(v, "7");
    CHECK(cli_stats_get(t, "daemon", v, sizeof v));
    CHECK_EQ_STR(v, "poller");
    CHECK(!cli_stats_get(t, "job", v, sizeof v));
    CHECK(cli_stats_num(t, "jobs_done", -1) == 42);
    CHECK(cli_stats_num(t, "x", -1) == -1);
    CHECK(cli_stats_num(NULL, "x", -2) == -2);
}

DP_TEST(cli_trace_field_names)
{
    CHECK_EQ_STR(dp_trace_field_name(DP_TRACE_SCHEDULED_MS), "scheduled_ms");
    CHECK_EQ_STR(dp_trace_field_name(DP_TRACE_RRD_WRITTEN_MS), "rrd_written_ms");
    CHECK(dp_trace_field_name(DP_TRACE_FIELD_COUNT) == NULL);
    CHECK(dp_trace_field_help(DP_TRACE_TAKEN_BY) != NULL);
    char key[DP_TRACE_KEY_MAX];
    dp_trace_key(18446744073709551615ULL, key, sizeof key);
    CHECK_EQ_STR(key, "dp:trace:18446744073709551615");
    /* no Redis: a failed stamp is counted, never fatal */
    uint64_t before = dp_trace_failures();
    CHECK_EQ_INT(dp_trace_mark(NULL, 1, "status", "%s", "ok"), -1);
    CHECK_EQ_INT(dp_trace_failures(), before + 1);
}
