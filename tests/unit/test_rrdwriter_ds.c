/*  test_rrdwriter_ds.c - rrdwriter_def's wire DS definitions: parse, build, create args,
    value checks per DS type, and exact integer formatting of updates.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../rrdwriter/rrdwriter_def.h"

#include <math.h>
#include <string.h>

DP_TEST(rrdwriter_ds_wire_and_parse)
{
    char buf[128];
    CHECK(rrdwriter_def_ds_wire(RRDWRITER_DEF_PORT, 0, 300, buf, sizeof buf) == 0);
    CHECK_EQ_STR(buf, "INOCTETS:DERIVE:600:0:12500000000");
    CHECK(rrdwriter_def_ds_wire(RRDWRITER_DEF_UPTIME, 0, 5, buf, sizeof buf) == 0);
    CHECK_EQ_STR(buf, "uptime:GAUGE:10:0:U");
    CHECK(rrdwriter_def_ds_wire(RRDWRITER_DEF_PORT, 15, 300, buf, sizeof buf) == -1);
    CHECK(rrdwriter_def_ds_wire(RRDWRITER_DEF_PORT, 0, 300, buf, 10) == -1);
    rrdwriter_def_ds_t ds;
    dp_err_t err = {0};
    CHECK(rrdwriter_def_ds_parse("INOCTETS:DERIVE:600:0:12500000000", &ds, &err) == 0);
    CHECK_EQ_STR(ds.name, "INOCTETS");
    CHECK_EQ_INT(ds.type, RRDWRITER_DEF_DERIVE);
    CHECK_EQ_INT(ds.heartbeat_s, 600);
    CHECK(ds.min == 0 && ds.max == 12500000000.0);
    CHECK(rrdwriter_def_ds_create_arg(&ds, 5, buf, sizeof buf) == 0);
    CHECK_EQ_STR(buf, "DS:INOCTETS:DERIVE:10:0:12500000000");
    CHECK(rrdwriter_def_ds_parse("temp:GAUGE:600:U:U", &ds, &err) == 0);
    CHECK(isnan(ds.min) && isnan(ds.max));
    const char *bad[] = {"",
                         "a:GAUGE:600:0",
                         "a:GAUGE:600:0:1:2",
                         "a:FOO:600:0:U",
                         "a:GAUGE:0:0:U",
                         "a:GAUGE:x:0:U",
                         "a:GAUGE:600:z:U",
                         "this_name_is_too_long_x:GAUGE:600:0:U",
                         "sp ace:GAUGE:600:0:U",
                         "a:GAUGE:600:0:inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (rrdwriter_def_ds_parse(bad[i], &ds, &err) == 0)
            printf("    accepted '%s'\n", bad[i]);
        CHECK(rrdwriter_def_ds_parse(bad[i], &ds, &err) == -1);
        CHECK_CONTAINS(err.text, "ds");
    }
}

DP_TEST(rrdwriter_ds_value_checks)
{
    rrdwriter_def_ds_t d = {"x", RRDWRITER_DEF_DERIVE, 600, 0, NAN};
    dp_err_t err = {0};
    CHECK(rrdwriter_def_check_ds_value(&d, NAN, &err) == 0);
    CHECK(rrdwriter_def_check_ds_value(&d, 12345, &err) == 0);
    CHECK(rrdwriter_def_check_ds_value(&d, -5, &err) == 0); /* DERIVE may go down */
    CHECK(rrdwriter_def_check_ds_value(&d, 1.5, &err) == -1);
    CHECK_CONTAINS(err.text, "DERIVE needs an integer");
    CHECK(rrdwriter_def_check_ds_value(&d, INFINITY, &err) == -1);
    CHECK(rrdwriter_def_check_ds_value(&d, 18446744073709551616.0, &err) == -1);
    d.type = RRDWRITER_DEF_COUNTER;
    CHECK(rrdwriter_def_check_ds_value(&d, -1, &err) == -1);
    CHECK_CONTAINS(err.text, ">= 0");
    d.type = RRDWRITER_DEF_GAUGE;
    d.max = 100;
    CHECK(rrdwriter_def_check_ds_value(&d, 1.5, &err) == 0);
    CHECK(rrdwriter_def_check_ds_value(&d, 1000, &err) == 0); /* stored as unknown by rrdtool */
}

DP_TEST(rrdwriter_ds_format_exact_integers)
{
    char buf[256];
    double v[] = {0, 12000000000.0, -7, 18446744073709549568.0, 0.25, NAN, 1e300};
    CHECK(rrdwriter_def_format_update(buf, sizeof buf, 1700000000, v, 6) == 0);
    CHECK_EQ_STR(buf, "1700000000:0:12000000000:-7:18446744073709549568:0.25:U");
    CHECK(rrdwriter_def_format_update(buf, sizeof buf, 1, v + 6, 1) == 0);
    CHECK_EQ_STR(buf, "1:1e+300");
    CHECK(rrdwriter_def_format_update(buf, 12, 1700000000, v, 2) == -1);
    CHECK_EQ_STR(buf, "");
}
