/*  test_rrdwriter_files.c - the rrdwriter's compact file table: every path added is found
    again (through index growth and across slabs and path blocks), unknown paths are not,
    entries keep their address as the table grows, and it costs far less than the ~220 bytes
    per file of the zhashx it replaced.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../rrdwriter/rrdwriter_files.h"

#include <stdio.h>

#define S_N 40000 /* past two slabs (16384) and several index doublings */

static void s_path(char *buf, size_t size, int i)
{
    snprintf(buf, size, "127.8.%d.%d/port-id%d.rrd", i / 256 % 256, i % 256, i * 7);
}

DP_TEST(rrdwriter_files_add_find_grow)
{
    rrdwriter_files_t *t = rrdwriter_files_new();
    rrdwriter_file_t **first = dp_test_alloc(S_N, sizeof *first);
    char path[64];
    for (int i = 0; i < S_N; i++) {
        s_path(path, sizeof path, i);
        CHECK(rrdwriter_files_find(t, path) == NULL);
        rrdwriter_file_t *f = first[i] = rrdwriter_files_get(t, path);
        CHECK(f != NULL && f->sig == NULL && f->last_ts == 0 && !f->resolving);
        CHECK_EQ_STR(f->path, path);
        f->last_ts = i + 1;
        CHECK(rrdwriter_files_get(t, path) == f); /* a second get finds it */
    }
    CHECK_EQ_INT((long long)rrdwriter_files_count(t), S_N);
    for (int i = 0; i < S_N; i++) {
        s_path(path, sizeof path, i);
        rrdwriter_file_t *f = rrdwriter_files_find(t, path);
        CHECK(f == first[i]); /* never moved */
        CHECK(f && f->last_ts == i + 1);
        CHECK(rrdwriter_files_at(t, (size_t)i) == first[i]);
    }
    CHECK(rrdwriter_files_at(t, S_N) == NULL);
    CHECK(rrdwriter_files_find(t, "127.8.0.0/port-id1.rrd") == NULL);
    CHECK(rrdwriter_files_find(t, "") == NULL);
    size_t per_file = rrdwriter_files_bytes(t) / S_N;
    if (dp_test_verbose())
        printf("  %zu bytes per file\n", per_file);
    CHECK(per_file < 128); /* with a partly filled slab and path block; ~85 at millions */
    free(first);
    rrdwriter_files_destroy(&t);
    CHECK(t == NULL);
    rrdwriter_files_destroy(&t); /* NULL-safe */
}

DP_TEST(rrdwriter_files_long_and_similar_paths)
{
    rrdwriter_files_t *t = rrdwriter_files_new();
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rrdwriter_file_t *f = rrdwriter_files_get(t, big);
    CHECK(f && strcmp(f->path, big) == 0);
    big[0] = 'b'; /* same length and hash input but one byte */
    CHECK(rrdwriter_files_find(t, big) == NULL);
    CHECK(rrdwriter_files_get(t, big) != f);
    CHECK_EQ_INT((long long)rrdwriter_files_count(t), 2);
    rrdwriter_files_destroy(&t);
}
