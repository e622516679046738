/*  test_stats.c - dp_stats: registration, stable atomic counters, gauges, sorted STATS text
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_stats.h"

#include <pthread.h>
#include <stdlib.h>

#define TEST_THREADS    4
#define TEST_INCREMENTS 100000

DP_TEST(stats_counter_registers_once_and_counts)
{
    dp_stats_t *s = dp_stats_new();
    dp_counter_t *jobs = dp_stats_counter(s, "jobs_done");
    CHECK(jobs != NULL);
    CHECK(dp_stats_counter(s, "jobs_done") == jobs);
    (*jobs)++;
    *jobs += 2;
    dp_stats_add(s, "jobs_done", 4);
    CHECK_EQ_INT(dp_stats_get(s, "jobs_done"), 7);
    CHECK_EQ_INT(dp_stats_get(s, "never_seen"), 0);
    CHECK_EQ_INT(dp_stats_size(s), 1);
    dp_stats_destroy(&s);
    CHECK(s == NULL);
    dp_stats_destroy(&s);
}

DP_TEST(stats_gauge_set_overwrites)
{
    dp_stats_t *s = dp_stats_new();
    dp_stats_set(s, "queue_depth", 10);
    dp_stats_set(s, "queue_depth", 3);
    CHECK_EQ_INT(dp_stats_get(s, "queue_depth"), 3);
    dp_stats_destroy(&s);
}

DP_TEST(stats_format_is_sorted_key_value_lines)
{
    dp_stats_t *s = dp_stats_new();
    char *empty = dp_stats_format(s);
    CHECK_EQ_STR(empty, "");
    free(empty);
    dp_stats_add(s, "zap_denied", 2);
    dp_stats_add(s, "jobs_done", 18446744073709551615ULL);
    dp_stats_set(s, "in_flight", 0);
    char *text = dp_stats_format(s);
    CHECK_EQ_STR(text, "in_flight: 0\njobs_done: 18446744073709551615\nzap_denied: 2\n");
    free(text);
    dp_stats_destroy(&s);
}

DP_TEST(stats_rejects_bad_names_and_overflow)
{
    dp_stats_t *s = dp_stats_new();
    char long_name[DP_STATS_NAME_MAX + 1];
    memset(long_name, 'a', DP_STATS_NAME_MAX);
    long_name[DP_STATS_NAME_MAX] = '\0';
    CHECK(dp_stats_counter(s, "") == NULL);
    CHECK(dp_stats_counter(s, NULL) == NULL);
    CHECK(dp_stats_counter(s, "two words") == NULL);
    CHECK(dp_stats_counter(s, "inject\nstate") == NULL);
    CHECK(dp_stats_counter(s, "a:b") == NULL);
    CHECK(dp_stats_counter(s, long_name) == NULL);
    long_name[DP_STATS_NAME_MAX - 1] = '\0';
    CHECK(dp_stats_counter(s, long_name) != NULL);
    dp_stats_add(s, "bad name", 1);
    CHECK_EQ_INT(dp_stats_size(s), 1);
    char name[32];
    for (int i = 1; i < DP_STATS_MAX; i++) {
        snprintf(name, sizeof name, "c%03d", i);
        CHECK(dp_stats_counter(s, name) != NULL);
    }
    CHECK_EQ_INT(dp_stats_size(s), DP_STATS_MAX);
    CHECK(dp_stats_counter(s, "one_too_many") == NULL);
    dp_stats_add(s, "one_too_many", 1);
    CHECK_EQ_INT(dp_stats_get(s, "one_too_many"), 0);
    CHECK(dp_stats_counter(s, "c001") != NULL);
    dp_stats_destroy(&s);
}

static void *s_adder(void *arg)
{
    dp_stats_t *s = arg;
    dp_counter_t *c = dp_stats_counter(s, "shared");
    for (int i = 0; i < TEST_INCREMENTS; i++) {
        (*c)++;
        if (i % 1000 == 0)
            dp_stats_add(s, "batches", 1);
    }
    return NULL;
}

DP_TEST(stats_counters_are_atomic_across_threads)
{
    dp_stats_t *s = dp_stats_new();
    pthread_t t[TEST_THREADS];
    for (int i = 0; i < TEST_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, s_adder, s) == 0);
    for (int i = 0; i < TEST_THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_INT(dp_stats_get(s, "shared"), TEST_THREADS * TEST_INCREMENTS);
    CHECK_EQ_INT(dp_stats_get(s, "batches"), TEST_THREADS * (TEST_INCREMENTS / 1000));
    CHECK_EQ_INT(dp_stats_size(s), 2);
    dp_stats_destroy(&s);
}
