/*  run.c - unit test runner: -l lists, -t NAME runs one (substring), -v verbose
    Last line is "N passed, N failed".
    SPDX-License-Identifier: MIT */
#include "dp_test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define DP_TEST_MAX 2048

typedef struct {
    const char *name; /* function name */
    const char *file; /* source file */
    dp_test_fn_t fn;  /* the test */
} s_test_t;

static s_test_t s_tests[DP_TEST_MAX];
static int s_count;
static int s_failed_checks; /* failures in the running test */
static bool s_verbose;

void dp_test_register(const char *name, const char *file, dp_test_fn_t fn)
{
    if (s_count < DP_TEST_MAX)
        s_tests[s_count++] = (s_test_t){name, file, fn};
}

void dp_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "    %s:%d: check failed: ", file, line);
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    va_end(ap);
    s_failed_checks++;
}

bool dp_test_verbose(void)
{
    return s_verbose;
}

const char *dp_test_data_dir(void)
{
    const char *d = getenv("DP_TEST_DATA");
    return d ? d : "tests/data";
}

static int s_cmp(const void *a, const void *b)
{
    const s_test_t *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    bool list = false;
    int opt;
    while ((opt = getopt(argc, argv, "lt:v")) != -1) {
        if (opt == 'l')
            list = true;
        else if (opt == 't')
            only = optarg;
        else if (opt == 'v')
            s_verbose = true;
        else {
            fprintf(stderr, "usage: %s [-l] [-v] [-t NAME]\n", argv[0]);
            return 2;
        }
    }
    qsort(s_tests, s_count, sizeof s_tests[0], s_cmp);
    int passed = 0, failed = 0;
    for (int i = 0; i < s_count; i++) {
        if (only && !strstr(s_tests[i].name, only))
            continue;
        if (list) {
            printf("%s\n", s_tests[i].name);
            continue;
        }
        s_failed_checks = 0;
        if (s_verbose)
            printf("run  %s\n", s_tests[i].name);
        fflush(stdout);
        s_tests[i].fn();
        if (s_failed_checks) {
            printf("FAIL %s (%s)\n", s_tests[i].name, s_tests[i].file);
            failed++;
        } else {
            if (s_verbose)
                printf("ok   %s\n", s_tests[i].name);
            passed++;
        }
        fflush(stdout);
    }
    if (!list)
        printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
