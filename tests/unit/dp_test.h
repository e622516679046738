/*  dp_test.h - tiny self-registering unit test harness
    Each test_<module>.c defines tests with DP_TEST(name) { ... } and checks with
    CHECK / CHECK_EQ_INT / CHECK_EQ_STR. The runner (run.c) collects them all.
    SPDX-License-Identifier: MIT */
#ifndef DP_TEST_H
#define DP_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*dp_test_fn_t)(void);

/* Registers a test; called from constructors made by DP_TEST. */
void dp_test_register(const char *name, const char *file, dp_test_fn_t fn);

/* Records a failed check for the running test. */
void dp_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True when the runner was given -v. */
bool dp_test_verbose(void);

/* Path of tests/data (from DP_TEST_DATA or the default relative path). */
const char *dp_test_data_dir(void);

/* Allocation for building test data: abort() instead of returning NULL (owned by the caller). */
static inline char *dp_test_dup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

/* calloc of n (at least 1) elements of size bytes; abort() on failure. */
static inline void *dp_test_alloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

#define DP_TEST(name)                                                                              \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void name##_register(void)                                 \
    {                                                                                              \
        dp_test_register(#name, __FILE__, name);                                                   \
    }                                                                                              \
    static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            dp_test_fail(__FILE__, __LINE__, "%s", #cond);                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long dp_a_ = (long long)(a), dp_b_ = (long long)(b);                                  \
        if (dp_a_ != dp_b_) {                                                                      \
            dp_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, dp_a_, dp_b_);     \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *dp_a_ = (a), *dp_b_ = (b);                                                     \
        if (!dp_a_ || !dp_b_ || strcmp(dp_a_, dp_b_) != 0) {                                       \
            dp_test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b,                \
                         dp_a_ ? dp_a_ : "(null)", dp_b_ ? dp_b_ : "(null)");                      \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *dp_h_ = (hay), *dp_n_ = (needle);                                              \
        if (!dp_h_ || !strstr(dp_h_, dp_n_)) {                                                     \
            dp_test_fail(__FILE__, __LINE__, "%s contains \"%s\" (got \"%s\")", #hay, dp_n_,       \
                         dp_h_ ? dp_h_ : "(null)");                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#endif
