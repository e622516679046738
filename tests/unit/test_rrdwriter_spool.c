/*  test_rrdwriter_spool.c - rrdwriter_spool: append/commit/read back in order, positions across
    segments, reopen after a crash (torn tail cut, never appended to again), corrupt frames,
    trimming rules (applied + kept window + journal bytes, max size), frame sums (tagged
    CRC-32C; SipHash frames of older spools still read).
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../rrdwriter/rrdwriter_spool.h"

#include <sodium.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *s_tmpdir(void)
{
    char tmpl[] = "/tmp/dp-spool.XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void s_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("    cannot remove %s\n", dir);
}

/* Reads every frame before limit; checks they are "frame-<i>" for i = first.. ; returns count. */
static int s_read_all(const char *dir, uint64_t from, uint64_t limit, int first)
{
    rrdwriter_spool_reader_t *r = rrdwriter_spool_reader_new(dir);
    uint64_t lsn = from;
    const void *data;
    size_t size;
    dp_err_t err = {0};
    int n = 0, rc;
    while ((rc = rrdwriter_spool_reader_next(r, &lsn, limit, &data, &size, &err)) == 1) {
        char want[32];
        snprintf(want, sizeof want, "frame-%d", first + n);
        if (size != strlen(want) || memcmp(data, want, size) != 0) {
            n = -1000;
            break;
        }
        n++;
    }
    rrdwriter_spool_reader_destroy(&r);
    return rc < 0 ? -1 : n;
}

DP_TEST(rrdwriter_spool_append_commit_read)
{
    char *dir = s_tmpdir();
    dp_err_t err = {0};
    rrdwriter_spool_t *s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    uint64_t first = rrdwriter_spool_first(s), end = 0, prev = first;
    CHECK_EQ_INT(rrdwriter_spool_committed(s), first);
    for (int i = 0; i < 100; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "frame-%d", i);
        CHECK(rrdwriter_spool_append(s, buf, (size_t)n, &end, &err) == 0);
        CHECK(end == prev + RRDWRITER_SPOOL_FRAME_HEAD + (uint64_t)n);
        prev = end;
    }
    CHECK(rrdwriter_spool_uncommitted(s) > 0);
    CHECK_EQ_INT(s_read_all(dir, first, rrdwriter_spool_committed(s), 0), 0); /* not yet */
    CHECK(rrdwriter_spool_commit(s, 1000, &err) == 0);
    CHECK_EQ_INT(rrdwriter_spool_uncommitted(s), 0);
    CHECK(rrdwriter_spool_committed(s) == end);
    CHECK_EQ_INT(s_read_all(dir, first, end, 0), 100);
    CHECK_EQ_INT(rrdwriter_spool_bytes_after(s, first), end - first);
    /* an old segment is sealed on the next commit after RRDWRITER_SPOOL_SEG_MAX_MS */
    CHECK(rrdwriter_spool_append(s, "frame-100", 9, &end, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, 1000 + RRDWRITER_SPOOL_SEG_MAX_MS, &err) == 0);
    CHECK_EQ_INT(rrdwriter_spool_segments(s), 2);
    CHECK(rrdwriter_spool_committed(s) == RRDWRITER_SPOOL_LSN(RRDWRITER_SPOOL_SEG(first) + 1, 0));
    CHECK(rrdwriter_spool_append(s, "frame-101", 9, &end, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, 1000 + RRDWRITER_SPOOL_SEG_MAX_MS, &err) == 0);
    CHECK_EQ_INT(s_read_all(dir, first, rrdwriter_spool_committed(s), 0), 102);
    /* a reader can start in the middle (a frame boundary) */
    CHECK(rrdwriter_spool_append(s, "x", 1, NULL, &err) == 0 &&
          rrdwriter_spool_commit(s, 0, &err) == 0);
    CHECK_EQ_INT(s_read_all(dir, end, rrdwriter_spool_committed(s), 102), -1000); /* "x" */
    rrdwriter_spool_destroy(&s);
    CHECK(s == NULL);
    s_rmdir(dir);
    free(dir);
}

DP_TEST(rrdwriter_spool_reopen_cuts_torn_tail)
{
    char *dir = s_tmpdir();
    dp_err_t err = {0};
    rrdwriter_spool_t *s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    uint64_t first = rrdwriter_spool_first(s);
    for (int i = 0; i < 10; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "frame-%d", i);
        CHECK(rrdwriter_spool_append(s, buf, (size_t)n, NULL, &err) == 0);
    }
    CHECK(rrdwriter_spool_commit(s, 0, &err) == 0);
    uint64_t committed = rrdwriter_spool_committed(s);
    rrdwriter_spool_destroy(&s); /* as if killed */
    char path[512];
    snprintf(path, sizeof path, "%s/seg-%016llx.spool", dir,
             (unsigned long long)RRDWRITER_SPOOL_SEG(first));
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, "\x20\x00\x00\x00half", 8) == 8);
    close(fd);
    s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    CHECK_EQ_INT(rrdwriter_spool_repaired(s), 1);
    CHECK_EQ_INT(rrdwriter_spool_segments(s), 2); /* the old one plus a fresh one */
    CHECK(rrdwriter_spool_first(s) == first);
    CHECK(rrdwriter_spool_opened_at(s) == RRDWRITER_SPOOL_LSN(RRDWRITER_SPOOL_SEG(first) + 1, 0));
    CHECK(rrdwriter_spool_append(s, "frame-10", 8, NULL, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, 0, &err) == 0);
    CHECK_EQ_INT(s_read_all(dir, first, rrdwriter_spool_committed(s), 0), 11);
    CHECK_EQ_INT(rrdwriter_spool_bytes(s), committed - first + RRDWRITER_SPOOL_FRAME_HEAD + 8);
    rrdwriter_spool_destroy(&s);
    /* an empty spool reopens without anything to repair */
    s = rrdwriter_spool_open(dir, &err);
    CHECK(s && rrdwriter_spool_repaired(s) == 0);
    rrdwriter_spool_destroy(&s);
    s_rmdir(dir);
    free(dir);
}

DP_TEST(rrdwriter_spool_corrupt_frame_skips_segment)
{
    char *dir = s_tmpdir();
    dp_err_t err = {0};
    rrdwriter_spool_t *s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    uint64_t first = rrdwriter_spool_first(s);
    CHECK(rrdwriter_spool_append(s, "frame-0", 7, NULL, &err) == 0);
    CHECK(rrdwriter_spool_append(s, "frame-1", 7, NULL, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, 0, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, RRDWRITER_SPOOL_SEG_MAX_MS, &err) == 0); /* seal */
    CHECK(rrdwriter_spool_append(s, "frame-2", 7, NULL, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, RRDWRITER_SPOOL_SEG_MAX_MS, &err) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/seg-%016llx.spool", dir,
             (unsigned long long)RRDWRITER_SPOOL_SEG(first));
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK(pwrite(fd, "X", 1, RRDWRITER_SPOOL_FRAME_HEAD + 7 + RRDWRITER_SPOOL_FRAME_HEAD) == 1);
    close(fd);
    rrdwriter_spool_reader_t *r = rrdwriter_spool_reader_new(dir);
    uint64_t lsn = first, limit = rrdwriter_spool_committed(s);
    const void *data;
    size_t size;
    CHECK_EQ_INT(rrdwriter_spool_reader_next(r, &lsn, limit, &data, &size, &err), 1);
    CHECK_EQ_INT(rrdwriter_spool_reader_next(r, &lsn, limit, &data, &size, &err), -1);
    CHECK_CONTAINS(err.text, "corrupt");
    CHECK_EQ_INT(rrdwriter_spool_reader_next(r, &lsn, limit, &data, &size, &err), 1);
    CHECK(size == 7 && memcmp(data, "frame-2", 7) == 0);
    CHECK_EQ_INT(rrdwriter_spool_reader_next(r, &lsn, limit, &data, &size, &err), 0);
    rrdwriter_spool_reader_destroy(&r);
    rrdwriter_spool_destroy(&s);
    s_rmdir(dir);
    free(dir);
}

DP_TEST(rrdwriter_spool_trim_rules)
{
    char *dir = s_tmpdir();
    dp_err_t err = {0};
    rrdwriter_spool_t *s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    uint64_t seg0 = RRDWRITER_SPOOL_SEG(rrdwriter_spool_first(s));
    char big[1000] = {0};
    for (int i = 0; i < 4; i++) { /* 4 sealed segments + the current one */
        CHECK(rrdwriter_spool_append(s, big, sizeof big, NULL, &err) == 0);
        CHECK(rrdwriter_spool_commit(s, 0, &err) == 0);
        CHECK(rrdwriter_spool_commit(s, RRDWRITER_SPOOL_SEG_MAX_MS, &err) == 0);
    }
    CHECK_EQ_INT(rrdwriter_spool_segments(s), 5);
    uint64_t applied = RRDWRITER_SPOOL_LSN(seg0 + 2, 0); /* segments 0 and 1 applied */
    /* applied, but inside the keep window: kept */
    CHECK_EQ_INT(rrdwriter_spool_trim(s, applied, 1000, 5000, 60000, 0, 1u << 30), 0);
    /* window passed but not enough later data (journal bytes): kept */
    CHECK_EQ_INT(rrdwriter_spool_trim(s, applied, 7000, 5000, 60000, 1u << 20, 1u << 30), 0);
    /* window passed, journal condition met: both go */
    CHECK_EQ_INT(rrdwriter_spool_trim(s, applied, 7000, 5000, 60000, 1000, 1u << 30), 2);
    CHECK_EQ_INT(rrdwriter_spool_segments(s), 3);
    CHECK(rrdwriter_spool_first(s) == RRDWRITER_SPOOL_LSN(seg0 + 2, 0));
    /* over max size: applied segments go at once; unapplied ones never */
    applied = RRDWRITER_SPOOL_LSN(seg0 + 3, 0);
    CHECK_EQ_INT(rrdwriter_spool_trim(s, applied, 7001, 5000, 60000, 0, 100), 1);
    CHECK_EQ_INT(rrdwriter_spool_trim(s, applied, 999999, 5000, 60000, 0, 100), 0);
    CHECK_EQ_INT(rrdwriter_spool_segments(s), 2);
    /* the reader skips trimmed segments */
    CHECK_EQ_INT(s_read_all(dir, RRDWRITER_SPOOL_LSN(seg0, 0), rrdwriter_spool_committed(s), 0),
                 -1000); /* reads a "big" frame, not frame-0: it went past the gap */
    rrdwriter_spool_destroy(&s);
    s_rmdir(dir);
    free(dir);
}

/* Writes one frame [len][sum][payload] at the end of path. */
static bool s_put_frame(const char *path, const char *payload, uint64_t sum)
{
    FILE *f = fopen(path, "ab");
    if (!f)
        return false;
    unsigned char h[RRDWRITER_SPOOL_FRAME_HEAD];
    uint64_t len = strlen(payload);
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(len >> (8 * i));
    for (int i = 0; i < 8; i++)
        h[4 + i] = (unsigned char)(sum >> (8 * i));
    bool ok = fwrite(h, 1, sizeof h, f) == sizeof h && fwrite(payload, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static uint64_t s_siphash(const char *payload)
{
    static const unsigned char key[crypto_shorthash_KEYBYTES];
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)payload, strlen(payload), key);
    uint64_t v;
    memcpy(&v, out, sizeof v);
    return v;
}

DP_TEST(rrdwriter_spool_frame_sum_is_tagged_crc32c)
{
    char *dir = s_tmpdir();
    dp_err_t err = {0};
    rrdwriter_spool_t *s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    uint64_t first = rrdwriter_spool_first(s);
    CHECK(rrdwriter_spool_append(s, "123456789", 9, NULL, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, 0, &err) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/seg-%016llx.spool", dir,
             (unsigned long long)RRDWRITER_SPOOL_SEG(first));
    unsigned char h[RRDWRITER_SPOOL_FRAME_HEAD];
    FILE *f = fopen(path, "rb");
    CHECK(f);
    CHECK(fread(h, 1, sizeof h, f) == sizeof h);
    fclose(f);
    uint64_t sum = 0;
    for (int i = 7; i >= 0; i--)
        sum = sum << 8 | h[4 + i];
    CHECK(sum == (UINT64_C(0x63726333) << 32 | 0xe3069283u)); /* CRC-32C check value */
    rrdwriter_spool_destroy(&s);
    s_rmdir(dir);
    free(dir);
}

DP_TEST(rrdwriter_spool_reads_siphash_frames_of_older_spools)
{
    /* a segment as the previous version wrote it: SipHash sums; the last frame torn */
    char *dir = s_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/seg-%016llx.spool", dir, 5ULL);
    CHECK(s_put_frame(path, "frame-0", s_siphash("frame-0")));
    CHECK(s_put_frame(path, "frame-1", s_siphash("frame-1")));
    CHECK(s_put_frame(path, "frame-2", s_siphash("frame-x"))); /* wrong sum: cut at open */
    dp_err_t err = {0};
    rrdwriter_spool_t *s = rrdwriter_spool_open(dir, &err);
    CHECK(s);
    CHECK(rrdwriter_spool_repaired(s) == 1);
    CHECK(rrdwriter_spool_first(s) == RRDWRITER_SPOOL_LSN(5, 0));
    CHECK(rrdwriter_spool_opened_at(s) == RRDWRITER_SPOOL_LSN(6, 0));
    CHECK(rrdwriter_spool_append(s, "frame-2", 7, NULL, &err) == 0);
    CHECK(rrdwriter_spool_commit(s, 0, &err) == 0);
    CHECK_EQ_INT(s_read_all(dir, rrdwriter_spool_first(s), rrdwriter_spool_committed(s), 0), 3);
    rrdwriter_spool_destroy(&s);
    s_rmdir(dir);
    free(dir);
}
