/*  test_redis.c - dp_redis pure parts: address lists, lock tokens, lease arithmetic, and the
    behaviour without a server (unreachable, fail-fast backoff, config errors)
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_redis.h"
#include "dp_time.h"

#include <stdlib.h>

DP_TEST(redis_parse_addrs_accepts_lists_v6_and_default_port)
{
    dp_redis_addr_t a[4];
    dp_err_t err = {0};
    int n = dp_redis_parse_addrs("127.0.0.1:26379, sentinel-b:26380 ,[::1]:7000,onlyhost",
                                 DP_REDIS_SENTINEL_PORT, a, 4, &err);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_STR(a[0].host, "127.0.0.1");
    CHECK_EQ_INT(a[0].port, 26379);
    CHECK_EQ_STR(a[1].host, "sentinel-b");
    CHECK_EQ_INT(a[1].port, 26380);
    CHECK_EQ_STR(a[2].host, "::1");
    CHECK_EQ_INT(a[2].port, 7000);
    CHECK_EQ_STR(a[3].host, "onlyhost");
    CHECK_EQ_INT(a[3].port, DP_REDIS_SENTINEL_PORT);
    n = dp_redis_parse_addrs("h:1", 0, a, 1, &err);
    CHECK_EQ_INT(n, 1);
}

DP_TEST(redis_parse_addrs_rejects_garbage_with_config_error)
{
    const char *bad[] = {"",      "h:",   "h:0",    "h:65536", "h:12x",    ":1",  "a:1,,b:2",
                         "::1:5", "[::1", "[::1]x", "h:1,",    "h:123456", "[]:5"};
    dp_redis_addr_t a[4];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dp_err_t err = {0};
        int n = dp_redis_parse_addrs(bad[i], 26379, a, 4, &err);
        if (n != -1)
            dp_test_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
        CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    }
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_redis_parse_addrs("a:1,b:2,c:3", 1, a, 2, &err), -1);
    CHECK_CONTAINS(err.text, "too many");
    CHECK_EQ_INT(dp_redis_parse_addrs("h:12x", 1, a, 2, &err), -1);
    CHECK_CONTAINS(err.text, "'h:12x'");
}

DP_TEST(redis_lock_token_is_random_hex_with_node_prefix)
{
    char t1[DP_LOCK_TOKEN_MAX], t2[DP_LOCK_TOKEN_MAX];
    CHECK_EQ_INT(dp_lock_token_make("node-1", t1, sizeof t1, NULL), 0);
    CHECK_EQ_INT(dp_lock_token_make("node-1", t2, sizeof t2, NULL), 0);
    CHECK(strncmp(t1, "node-1-", 7) == 0);
    CHECK_EQ_INT(strlen(t1), 7 + 2 * DP_LOCK_TOKEN_RANDOM);
    CHECK(strspn(t1 + 7, "0123456789abcdef") == 2 * DP_LOCK_TOKEN_RANDOM);
    CHECK(strcmp(t1, t2) != 0);
    CHECK_EQ_INT(dp_lock_token_make(NULL, t1, sizeof t1, NULL), 0);
    CHECK_EQ_INT(strlen(t1), 2 * DP_LOCK_TOKEN_RANDOM);
    char small[16];
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_lock_token_make("n", small, sizeof small, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_INTERNAL);
}

DP_TEST(redis_lock_validity_subtracts_elapsed_and_drift)
{
    /* ttl 2000: drift = 20 + 2 */
    CHECK_EQ_INT(dp_lock_validity_ms(2000, 1000, 1000), 2000 - 22);
    CHECK_EQ_INT(dp_lock_validity_ms(2000, 1000, 2500), 500 - 22);
    CHECK_EQ_INT(dp_lock_validity_ms(2000, 1000, 2978), 0);
    CHECK(dp_lock_validity_ms(2000, 1000, 3000) < 0);
    CHECK_EQ_INT(dp_lock_validity_ms(10000, 0, 0), 10000 - 102);
}

DP_TEST(redis_lock_new_checks_arguments_and_generates_tokens)
{
    dp_redis_opts_t o = {.host = "127.0.0.1", .port = 1, .node_id = "n7"};
    dp_redis_t *r = dp_redis_new(&o);
    CHECK(r != NULL);
    CHECK(dp_lock_new(r, "", NULL, 1000) == NULL);
    CHECK(dp_lock_new(r, "k", NULL, 0) == NULL);
    CHECK(dp_lock_new(NULL, "k", NULL, 1000) == NULL);
    dp_lock_t *l = dp_lock_new(r, "lock:leader", NULL, 1000);
    CHECK(l != NULL);
    CHECK(strncmp(dp_lock_owner(l), "n7-", 3) == 0);
    CHECK_EQ_STR(dp_lock_key(l), "lock:leader");
    CHECK(!dp_lock_is_valid(l));
    CHECK_EQ_INT(dp_lock_remaining_ms(l), 0);
    dp_lock_t *m = dp_lock_new(r, "lock:leader", "mine", 1000);
    CHECK_EQ_STR(dp_lock_owner(m), "mine");
    dp_lock_destroy(&l);
    dp_lock_destroy(&m);
    dp_lock_destroy(&m);
    CHECK(m == NULL);
    dp_redis_destroy(&r);
    dp_redis_destroy(&r);
    CHECK(r == NULL);
}

DP_TEST(redis_unreachable_fails_fast_within_backoff)
{
    CHECK(dp_redis_new(NULL) == NULL);
    dp_redis_opts_t none = {.port = 6379};
    CHECK(dp_redis_new(&none) == NULL);

    /* port 1 on loopback: connection refused, no server needed */
    dp_redis_opts_t o = {.host = "127.0.0.1", .port = 1, .timeout_ms = 200, .password = "s3cret"};
    dp_redis_t *r = dp_redis_new(&o);
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_redis_connect(r, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_UNREACHABLE);
    CHECK_CONTAINS(err.text, "127.0.0.1:1");
    CHECK(!dp_redis_is_connected(r));
    int64_t t0 = dp_time_mono_ms();
    redisReply *rep = dp_redis_command(r, &err, "PING");
    CHECK(rep == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_UNREACHABLE);
    CHECK_CONTAINS(err.text, "next reconnect in");
    CHECK(dp_time_mono_ms() - t0 < 50);
    CHECK(strstr(err.text, "s3cret") == NULL);
    CHECK_EQ_INT(dp_redis_connects(r), 0);
    CHECK_EQ_STR(dp_redis_master_addr(r), "");
    dp_redis_destroy(&r);
}

DP_TEST(redis_sentinel_options_are_checked_on_connect)
{
    dp_err_t err = {0};
    dp_redis_opts_t o = {.sentinels = "127.0.0.1:1,127.0.0.1:2"};
    dp_redis_t *r = dp_redis_new(&o);
    CHECK(r != NULL);
    CHECK_EQ_INT(dp_redis_connect(r, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_CONTAINS(err.text, "service");
    dp_redis_destroy(&r);

    o.sentinels = "127.0.0.1:x";
    o.service = "mymaster";
    r = dp_redis_new(&o);
    CHECK_EQ_INT(dp_redis_connect(r, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    dp_redis_destroy(&r);

    o.sentinels = "127.0.0.1:1,127.0.0.1:2";
    r = dp_redis_new(&o);
    CHECK_EQ_INT(dp_redis_connect(r, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_UNREACHABLE);
    CHECK_CONTAINS(err.text, "mymaster");
    dp_redis_destroy(&r);
}
