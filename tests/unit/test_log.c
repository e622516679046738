/*  test_log.c - dp_log: logfmt lines, quoting, level check before formatting, rate limit
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_log.h"
#include "dp_err.h"

#include <stdlib.h>
#include <unistd.h>

static int s_evaluated;

static int s_count_eval(void)
{
    return ++s_evaluated;
}

static void s_capture(char *out, size_t size, void (*fn)(void))
{
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    dp_log_set_fd(fds[1]);
    fn();
    dp_log_set_fd(2);
    close(fds[1]);
    ssize_t n = read(fds[0], out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void s_emit(void)
{
    dp_log_warn("snmp timeout", "device=%d ip=%s", 42, "127.0.0.5");
    dp_log_debug("hidden", "n=%d", s_count_eval());
}

DP_TEST(log_writes_logfmt_and_skips_disabled_levels)
{
    char out[1024];
    dp_log_init("poller", "n1", DP_LOG_INFO);
    s_evaluated = 0;
    s_capture(out, sizeof out, s_emit);
    CHECK_CONTAINS(out, " level=warn daemon=poller node=n1 tid=");
    CHECK_CONTAINS(out, "msg=\"snmp timeout\" device=42 ip=127.0.0.5\n");
    CHECK(strncmp(out, "ts=", 3) == 0);
    CHECK(strstr(out, "hidden") == NULL);
    CHECK_EQ_INT(s_evaluated, 0);
}

DP_TEST(log_kv_quotes_and_escapes)
{
    char buf[128];
    dp_log_kv(buf, sizeof buf, "k", "plain");
    CHECK_EQ_STR(buf, "k=plain");
    dp_log_kv(buf, sizeof buf, "k", "a b\"c\n");
    CHECK_EQ_STR(buf, "k=\"a b\\\"c\\n\"");
    dp_log_kv(buf, sizeof buf, "k", "");
    CHECK_EQ_STR(buf, "k=\"\"");
}

DP_TEST(log_limit_lets_one_through_per_period)
{
    dp_log_limit_t l = {0};
    uint64_t held = 99;
    CHECK(dp_log_limit(&l, 200, &held)); /* the first one always */
    CHECK_EQ_INT(held, 0);
    for (int i = 0; i < 5; i++)
        CHECK(!dp_log_limit(&l, 200, &held));
    CHECK_EQ_INT(l.suppressed, 5);
    usleep(250 * 1000);
    CHECK(dp_log_limit(&l, 200, &held));
    CHECK_EQ_INT(held, 5); /* reported with the next one */
    CHECK_EQ_INT(l.suppressed, 0);
    CHECK(!dp_log_limit(&l, 200, NULL));
}

DP_TEST(log_level_parse)
{
    dp_log_level_t l;
    CHECK_EQ_INT(dp_log_level_parse("debug", &l), 0);
    CHECK_EQ_INT(l, DP_LOG_DEBUG);
    CHECK_EQ_INT(dp_log_level_parse("loud", &l), -1);
}

DP_TEST(err_set_returns_minus_one_and_names_category)
{
    dp_err_t err;
    CHECK_EQ_INT(dp_err_set(&err, DP_ERR_TIMEOUT, "after %d ms", 500), -1);
    CHECK_EQ_STR(err.text, "after 500 ms");
    CHECK_EQ_STR(dp_err_name(err.code), "timeout");
    CHECK_EQ_INT(dp_err_set(NULL, DP_ERR_PROTO, "x"), -1);
    dp_err_clear(&err);
    CHECK_EQ_INT(err.code, DP_ERR_NONE);
}
