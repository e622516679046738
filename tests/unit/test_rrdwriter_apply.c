/*  test_rrdwriter_apply.c - rrdwriter_apply's in-memory hand-over queue is bounded by messages
    and by spooled bytes: what does not fit is dropped from memory (the thread reads it back
    from the spool), so a stalled rrdcached cannot pile up decoded messages without limit.
    The thread is pointed at an rrdcached that does not exist, so it never drains the queue.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../rrdwriter/rrdwriter_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MIB (UINT64_C(1) << 20)

typedef struct {
    char dir[32];
    dp_stats_t *stats;
    rrdwriter_apply_t *a;
} s_fixture_t;

/* An apply thread over an empty spool dir and an rrdcached that cannot be reached. */
static bool s_start(s_fixture_t *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/dp-apply.XXXXXX");
    if (!mkdtemp(f->dir))
        return false;
    f->stats = dp_stats_new();
    rrdwriter_apply_cfg_t cfg = {.spool_dir = f->dir,
                                 .rrdcached = "unix:/nonexistent/dp-apply-test.sock",
                                 .step_s = 300,
                                 .stats = f->stats};
    dp_err_t err = {0};
    if (rrdwriter_def_rras_parse("small", &cfg.rras, &err) != 0)
        return false;
    f->a = rrdwriter_apply_start(&cfg, &err);
    return f->a != NULL;
}

static void s_stop(s_fixture_t *f)
{
    rrdwriter_apply_stop(&f->a); /* frees what is still queued (ASan: no leak) */
    dp_stats_destroy(&f->stats);
    rmdir(f->dir);
}

/* Pushes one empty METRICS message said to be spooled at [start, start + bytes). */
static bool s_push(rrdwriter_apply_t *a, uint64_t start, uint64_t bytes)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_METRICS);
    rrdwriter_apply_push(a, &m, start, start + bytes);
    return m == NULL; /* ownership is taken whether queued or dropped */
}

DP_TEST(rrdwriter_apply_queue_bounded_by_bytes)
{
    s_fixture_t f = {0};
    CHECK(s_start(&f));
    CHECK(rrdwriter_apply_queued_bytes(f.a) == 0);
    /* 1 MiB frames: the first 64 fit, the rest are left to the spool */
    uint64_t lsn = 0;
    for (int i = 0; i < 100; i++, lsn += S_MIB)
        CHECK(s_push(f.a, lsn, S_MIB));
    CHECK(rrdwriter_apply_queued_bytes(f.a) == RRDWRITER_APPLY_QUEUE_BYTES);
    /* a small frame still fits only if it keeps the total within the bound */
    CHECK(s_push(f.a, lsn, 1));
    CHECK(rrdwriter_apply_queued_bytes(f.a) == RRDWRITER_APPLY_QUEUE_BYTES);
    s_stop(&f);
}

DP_TEST(rrdwriter_apply_queue_bounded_by_messages)
{
    s_fixture_t f = {0};
    CHECK(s_start(&f));
    for (uint64_t i = 0; i < RRDWRITER_APPLY_QUEUE_MAX + 100; i++)
        CHECK(s_push(f.a, i * 100, 100));
    CHECK(rrdwriter_apply_queued_bytes(f.a) == (uint64_t)RRDWRITER_APPLY_QUEUE_MAX * 100);
    s_stop(&f);
}

DP_TEST(rrdwriter_apply_queue_takes_one_oversized_frame)
{
    /* a frame larger than the byte bound still goes through memory when the queue is empty */
    s_fixture_t f = {0};
    CHECK(s_start(&f));
    CHECK(s_push(f.a, 0, RRDWRITER_APPLY_QUEUE_BYTES + S_MIB));
    CHECK(rrdwriter_apply_queued_bytes(f.a) == RRDWRITER_APPLY_QUEUE_BYTES + S_MIB);
    CHECK(s_push(f.a, RRDWRITER_APPLY_QUEUE_BYTES + S_MIB, 10));
    CHECK(rrdwriter_apply_queued_bytes(f.a) == RRDWRITER_APPLY_QUEUE_BYTES + S_MIB);
    s_stop(&f);
}
