/*  test_settings.c - dp_settings: group lists, booleans, named settings (no database)
    The database half (load, set, epochs) is covered by tests/integration/test_db_epoch.sh.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_settings.h"
#include "dp_schema.h"
#include "dp_err.h"

DP_TEST(settings_parse_groups_accepts_csv)
{
    int g[DP_SETTINGS_MAX_GROUPS], n = -1;
    dp_err_t err;
    dp_err_clear(&err);
    CHECK_EQ_INT(dp_settings_parse_groups("1,2,3", g, DP_SETTINGS_MAX_GROUPS, &n, &err), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(g[0], 1);
    CHECK_EQ_INT(g[1], 2);
    CHECK_EQ_INT(g[2], 3);
    CHECK_EQ_INT(dp_settings_parse_groups(" 0 , 17 ", g, DP_SETTINGS_MAX_GROUPS, &n, &err), 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(g[0], 0);
    CHECK_EQ_INT(g[1], 17);
    CHECK_EQ_INT(dp_settings_parse_groups("5", g, DP_SETTINGS_MAX_GROUPS, &n, &err), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(g[0], 5);
}

DP_TEST(settings_parse_groups_empty_means_none)
{
    int g[4], n = -1;
    CHECK_EQ_INT(dp_settings_parse_groups("", g, 4, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(dp_settings_parse_groups("  ", g, 4, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(dp_settings_parse_groups(NULL, g, 4, &n, NULL), 0);
    CHECK_EQ_INT(n, 0);
}

DP_TEST(settings_parse_groups_rejects_garbage)
{
    static const char *bad[] = {"1,x", "1,,2", "1,",   ",1",          "-1",  "1 2",
                                "1;2", "+3",   "0x10", "99999999999", "1.5", "a"};
    int g[DP_SETTINGS_MAX_GROUPS], n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dp_err_t err;
        dp_err_clear(&err);
        n = 42;
        g[0] = 42;
        CHECK_EQ_INT(dp_settings_parse_groups(bad[i], g, DP_SETTINGS_MAX_GROUPS, &n, &err), -1);
        CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
        CHECK_CONTAINS(err.text, bad[i]);
        CHECK_EQ_INT(n, 0);
        CHECK_EQ_INT(g[0], 42); /* output untouched on error */
    }
    dp_err_t err;
    CHECK_EQ_INT(dp_settings_parse_groups("1,x", g, DP_SETTINGS_MAX_GROUPS, &n, &err), -1);
    CHECK_EQ_STR(err.text, "\"1,x\": expected comma-separated group numbers");
    CHECK_EQ_INT(dp_settings_parse_groups("1,2,1", g, DP_SETTINGS_MAX_GROUPS, &n, &err), -1);
    CHECK_CONTAINS(err.text, "group 1 listed twice");
    CHECK_EQ_INT(dp_settings_parse_groups("1,2,3", g, 2, &n, &err), -1);
    CHECK_CONTAINS(err.text, "at most 2 groups");
}

DP_TEST(settings_parse_bool_words)
{
    bool b = false;
    CHECK_EQ_INT(dp_settings_parse_bool("TRUE", &b), 0);
    CHECK(b);
    CHECK_EQ_INT(dp_settings_parse_bool("off", &b), 0);
    CHECK(!b);
    CHECK_EQ_INT(dp_settings_parse_bool("1", &b), 0);
    CHECK(b);
    CHECK_EQ_INT(dp_settings_parse_bool("no", &b), 0);
    CHECK(!b);
    CHECK_EQ_INT(dp_settings_parse_bool("2", &b), -1);
    CHECK_EQ_INT(dp_settings_parse_bool("", &b), -1);
    CHECK_EQ_INT(dp_settings_parse_bool(NULL, &b), -1);
}

DP_TEST(settings_apply_named_values)
{
    dp_settings_t s;
    dp_err_t err;
    dp_settings_defaults(&s);
    CHECK(!s.distributed_poller);
    CHECK(!s.distributed_billing);
    CHECK_EQ_INT(s.default_poller_group, 0);
    CHECK_EQ_INT(s.ngroups, 0);

    CHECK_EQ_INT(dp_settings_apply(&s, "distributed_poller", "true", &err), 0);
    CHECK(s.distributed_poller);
    CHECK(!s.distributed_billing);
    CHECK_EQ_INT(dp_settings_apply(&s, "distributed_billing", "1", &err), 0);
    CHECK(s.distributed_billing);
    CHECK_EQ_INT(dp_settings_apply(&s, "default_poller_group", "4", &err), 0);
    CHECK_EQ_INT(s.default_poller_group, 4);
    CHECK_EQ_INT(dp_settings_apply(&s, "distributed_poller_group", "1,2,3", &err), 0);
    CHECK_EQ_INT(s.ngroups, 3);
    CHECK_EQ_INT(s.groups[2], 3);
}

DP_TEST(settings_apply_errors_name_setting_value_and_expectation)
{
    dp_settings_t s;
    dp_err_t err;
    dp_settings_defaults(&s);
    CHECK_EQ_INT(dp_settings_apply(&s, "distributed_poller_group", "1,x", &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_EQ_STR(
        err.text,
        "settings.distributed_poller_group=\"1,x\": expected comma-separated group numbers");
    CHECK_EQ_INT(s.ngroups, 0);

    CHECK_EQ_INT(dp_settings_apply(&s, "distributed_poller", "maybe", &err), -1);
    CHECK_CONTAINS(err.text, "settings.distributed_poller=\"maybe\": expected true or false");
    CHECK(!s.distributed_poller);

    CHECK_EQ_INT(dp_settings_apply(&s, "default_poller_group", "-2", &err), -1);
    CHECK_CONTAINS(err.text, "settings.default_poller_group=\"-2\"");
    CHECK_EQ_INT(dp_settings_apply(&s, "default_poller_group", "1,2", &err), -1);
    CHECK_CONTAINS(err.text, "expected one group number");
    CHECK_EQ_INT(s.default_poller_group, 0);

    CHECK_EQ_INT(dp_settings_apply(&s, "distributed_poler", "1", &err), -1);
    CHECK_CONTAINS(err.text, "unknown setting \"distributed_poler\"");
}

DP_TEST(schema_versions_are_known)
{
    CHECK(dp_schema_latest() >= 3);
    for (int v = 1; v <= dp_schema_latest(); v++)
        CHECK(dp_schema_name(v) != NULL);
    CHECK(dp_schema_name(dp_schema_latest() + 1) == NULL);
    CHECK(dp_schema_name(0) == NULL);
}
