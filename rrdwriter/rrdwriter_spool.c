/*  rrdwriter_spool.c - the rrdwriter's durable spool (segment files of checksummed frames)
    The writer side keeps one table of segments (number, size, when applied); readers only
    open files by number, so they share nothing with the writer but the directory.
    SPDX-License-Identifier: MIT */
#include "rrdwriter_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_NAME_FMT   "%s/seg-%016llx.spool"
#define S_PATH_MAX   4096
#define S_READ_CHUNK (4u << 20)  /* reader buffer refill size */
#define S_BUF_START  (1u << 20)  /* initial append buffer */
#define S_SUM_TAG    0x63726333u /* "crc3": high half of a CRC-32C frame sum */

typedef struct {
    uint64_t seg;       /* segment number */
    uint64_t bytes;     /* committed bytes in it */
    int64_t applied_ms; /* when seen fully applied; 0 = not yet */
    uint64_t end_total; /* s->total_committed when it was sealed */
} s_seg_t;

struct rrdwriter_spool {
    char *dir;                /* spool directory */
    int fd;                   /* current segment, appends */
    s_seg_t *segs;            /* on-disk segments, oldest first; last is current */
    size_t n_segs;            /* entries used */
    size_t cap_segs;          /* entries allocated */
    int64_t seg_opened_ms;    /* when the current segment got its first commit; 0 = none */
    char *buf;                /* appended, uncommitted frames */
    size_t buf_len;           /* bytes used */
    size_t buf_cap;           /* bytes allocated */
    uint64_t total_committed; /* bytes committed since open (monotonic) */
    uint64_t opened_at;       /* lsn of the new segment at open */
    uint64_t repaired;        /* frames cut at open */
};

struct rrdwriter_spool_reader {
    char *dir;        /* spool directory */
    int fd;           /* open segment or -1 */
    uint64_t seg;     /* its number */
    char *buf;        /* bytes [buf_off, buf_off + buf_len) of the segment */
    size_t buf_cap;   /* bytes allocated */
    uint64_t buf_off; /* file offset of buf[0] */
    size_t buf_len;   /* bytes valid */
};

static const unsigned char s_sum_key[crypto_shorthash_KEYBYTES]; /* zero key: integrity only */
static uint32_t s_crc_table[256]; /* CRC-32C (Castagnoli, reflected), software fallback */
static pthread_once_t s_crc_once = PTHREAD_ONCE_INIT;
static bool s_crc_hw; /* SSE4.2 crc32 instruction available */

//  --------------------------------------------------------------------------
//  Helpers

static void *s_realloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q)
        abort();
    return q;
}

static void s_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        s_crc_table[i] = c;
    }
#if defined(__x86_64__)
    s_crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t s_crc_hw32c(const unsigned char *p, size_t n)
{
    uint64_t c = 0xffffffffu;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n; p++, n--)
        c32 = __builtin_ia32_crc32qi(c32, *p);
    return ~c32;
}
#endif

static uint32_t s_crc32c(const void *data, size_t size)
{
    pthread_once(&s_crc_once, s_crc_init);
    const unsigned char *p = data;
#if defined(__x86_64__)
    if (s_crc_hw)
        return s_crc_hw32c(p, size);
#endif
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < size; i++)
        c = s_crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

/* The sum field of a frame: S_SUM_TAG in the high half, the payload's CRC-32C in the low. */
static uint64_t s_sum(const void *data, size_t size)
{
    return (uint64_t)S_SUM_TAG << 32 | s_crc32c(data, size);
}

/* True when sum matches the payload: a tagged CRC-32C (this version), else the SipHash-2-4
   that spools written before it carry (read, never written). */
static bool s_sum_ok(const void *data, size_t size, uint64_t sum)
{
    if (sum >> 32 == S_SUM_TAG && (uint32_t)sum == s_crc32c(data, size))
        return true;
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, data, size, s_sum_key);
    uint64_t v;
    memcpy(&v, out, sizeof v);
    return v == sum;
}

static void s_put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t s_get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void s_seg_path(char *buf, size_t size, const char *dir, uint64_t seg)
{
    snprintf(buf, size, S_NAME_FMT, dir, (unsigned long long)seg);
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the segment numbers in dir, sorted. Returns the count (caller frees *out) or -1. */
static int s_list(const char *dir, uint64_t **out)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t n = 0, cap = 16;
    uint64_t *v = s_realloc(NULL, cap * sizeof *v);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long long seg;
        char tail[8];
        if (sscanf(e->d_name, "seg-%16llx.%7s", &seg, tail) != 2 || strcmp(tail, "spool") != 0)
            continue;
        if (n == cap)
            v = s_realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = seg;
    }
    closedir(d);
    qsort(v, n, sizeof *v, s_cmp_u64);
    *out = v;
    return (int)n;
}

/* Checks the frames of an open segment; returns the length of its valid prefix, counting the
   frames dropped after it into *cut. */
static uint64_t s_valid_prefix(int fd, uint64_t *cut)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    uint64_t off = 0, size = (uint64_t)st.st_size;
    unsigned char head[RRDWRITER_SPOOL_FRAME_HEAD];
    char *payload = NULL;
    while (off + sizeof head <= size) {
        if (pread(fd, head, sizeof head, (off_t)off) != (ssize_t)sizeof head)
            break;
        uint64_t len = s_get_le(head, 4), sum = s_get_le(head + 4, 8);
        if (len > RRDWRITER_SPOOL_FRAME_MAX || off + sizeof head + len > size)
            break;
        payload = s_realloc(payload, len ? len : 1);
        if (pread(fd, payload, len, (off_t)(off + sizeof head)) != (ssize_t)len ||
            !s_sum_ok(payload, len, sum))
            break;
        off += sizeof head + len;
    }
    free(payload);
    if (off < size)
        (*cut)++;
    return off;
}

static s_seg_t *s_push_seg(rrdwriter_spool_t *s, uint64_t seg, uint64_t bytes)
{
    if (s->n_segs == s->cap_segs) {
        s->cap_segs = s->cap_segs ? 2 * s->cap_segs : 16;
        s->segs = s_realloc(s->segs, s->cap_segs * sizeof *s->segs);
    }
    s_seg_t *g = &s->segs[s->n_segs++];
    *g = (s_seg_t){.seg = seg, .bytes = bytes};
    return g;
}

/* Creates segment seg for appends and makes its name durable. Returns 0 or -1. */
static int s_open_segment(rrdwriter_spool_t *s, uint64_t seg, dp_err_t *err)
{
    char path[S_PATH_MAX];
    s_seg_path(path, sizeof path, s->dir, seg);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "spool: cannot create %s: %s", path,
                          strerror(errno));
    if (s_fsync_dir(s->dir) != 0) {
        close(fd);
        return dp_err_set(err, DP_ERR_INTERNAL, "spool: cannot sync %s: %s", s->dir,
                          strerror(errno));
    }
    s->fd = fd;
    s->seg_opened_ms = 0;
    s_push_seg(s, seg, 0);
    return 0;
}

/* Scans dir, repairs the last segment, records them. Returns the next segment number. */
static int s_scan(rrdwriter_spool_t *s, uint64_t *next, dp_err_t *err)
{
    uint64_t *list = NULL;
    int n = s_list(s->dir, &list);
    if (n < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "spool: cannot read %s: %s", s->dir,
                          strerror(errno));
    *next = n > 0 ? list[n - 1] + 1 : 1;
    for (int i = 0; i < n; i++) {
        char path[S_PATH_MAX];
        s_seg_path(path, sizeof path, s->dir, list[i]);
        int fd = open(path, i == n - 1 ? O_RDWR | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        uint64_t bytes = (uint64_t)st.st_size;
        if (i == n - 1) {
            uint64_t valid = s_valid_prefix(fd, &s->repaired);
            if (valid < bytes && (ftruncate(fd, (off_t)valid) != 0 || fdatasync(fd) != 0)) {
                close(fd);
                free(list);
                return dp_err_set(err, DP_ERR_INTERNAL, "spool: cannot repair %s: %s", path,
                                  strerror(errno));
            }
            bytes = valid;
        }
        close(fd);
        if (bytes == 0)
            unlink(path); /* nothing in it */
        else
            s_push_seg(s, list[i], bytes);
    }
    free(list);
    return 0;
}

//  --------------------------------------------------------------------------
rrdwriter_spool_t *rrdwriter_spool_open(const char *dir, dp_err_t *err)
{
    if (sodium_init() < 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "spool: libsodium init failed");
        return NULL;
    }
    if (!dir || !*dir || (mkdir(dir, 0750) != 0 && errno != EEXIST)) {
        dp_err_set(err, DP_ERR_CONFIG, "spool: cannot create directory '%s': %s", dir ? dir : "",
                   strerror(errno));
        return NULL;
    }
    rrdwriter_spool_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->dir = strdup(dir);
    s->fd = -1;
    s->buf_cap = S_BUF_START;
    s->buf = s_realloc(NULL, s->buf_cap);
    uint64_t next = 0;
    if (!s->dir || s_scan(s, &next, err) != 0 || s_open_segment(s, next, err) != 0) {
        rrdwriter_spool_destroy(&s);
        return NULL;
    }
    s->opened_at = RRDWRITER_SPOOL_LSN(next, 0);
    return s;
}

//  --------------------------------------------------------------------------
void rrdwriter_spool_destroy(rrdwriter_spool_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_spool_t *s = *p;
    if (s->fd >= 0)
        close(s->fd);
    free(s->segs);
    free(s->buf);
    free(s->dir);
    free(s);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int rrdwriter_spool_append(rrdwriter_spool_t *s, const void *data, size_t size, uint64_t *end_lsn,
                           dp_err_t *err)
{
    if (size > RRDWRITER_SPOOL_FRAME_MAX)
        return dp_err_set(err, DP_ERR_PROTO, "spool: frame of %zu bytes too large", size);
    if (s->fd < 0 && s_open_segment(s, s->segs[s->n_segs - 1].seg + 1, err) != 0)
        return -1; /* the last rotation failed half-way */
    size_t need = s->buf_len + RRDWRITER_SPOOL_FRAME_HEAD + size;
    if (need > s->buf_cap) {
        while (s->buf_cap < need)
            s->buf_cap *= 2;
        s->buf = s_realloc(s->buf, s->buf_cap);
    }
    unsigned char *h = (unsigned char *)s->buf + s->buf_len;
    s_put_le(h, size, 4);
    s_put_le(h + 4, s_sum(data, size), 8);
    if (size)
        memcpy(h + RRDWRITER_SPOOL_FRAME_HEAD, data, size);
    s->buf_len = need;
    const s_seg_t *cur = &s->segs[s->n_segs - 1];
    if (end_lsn)
        *end_lsn = RRDWRITER_SPOOL_LSN(cur->seg, cur->bytes + s->buf_len);
    return 0;
}

//  --------------------------------------------------------------------------
size_t rrdwriter_spool_uncommitted(const rrdwriter_spool_t *s)
{
    return s->buf_len;
}

//  --------------------------------------------------------------------------
int rrdwriter_spool_commit(rrdwriter_spool_t *s, int64_t now_ms, dp_err_t *err)
{
    if (s->fd < 0 && s_open_segment(s, s->segs[s->n_segs - 1].seg + 1, err) != 0)
        return -1; /* the last rotation failed half-way */
    s_seg_t *cur = &s->segs[s->n_segs - 1];
    size_t done = 0;
    while (done < s->buf_len) {
        ssize_t n = write(s->fd, s->buf + done, s->buf_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* cut what was written so the file holds whole frames only, keep the buffer */
            int saved = errno;
            if (ftruncate(s->fd, (off_t)cur->bytes) != 0)
                dp_err_set(err, DP_ERR_INTERNAL, "spool: truncate after a failed write: %s",
                           strerror(errno));
            return dp_err_set(err, DP_ERR_INTERNAL, "spool: write: %s", strerror(saved));
        }
        done += (size_t)n;
    }
    if (s->buf_len && fdatasync(s->fd) != 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "spool: fdatasync: %s", strerror(errno));
    if (s->buf_len && s->seg_opened_ms == 0)
        s->seg_opened_ms = now_ms;
    cur->bytes += s->buf_len;
    s->total_committed += s->buf_len;
    s->buf_len = 0;
    if (cur->bytes >= RRDWRITER_SPOOL_SEG_MAX_BYTES ||
        (cur->bytes > 0 && now_ms - s->seg_opened_ms >= RRDWRITER_SPOOL_SEG_MAX_MS)) {
        cur->end_total = s->total_committed;
        uint64_t next = cur->seg + 1;
        close(s->fd);
        s->fd = -1;
        if (s_open_segment(s, next, err) != 0)
            return -1; /* retried by the next commit: the fd is reopened there */
    }
    return 0;
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_spool_committed(const rrdwriter_spool_t *s)
{
    const s_seg_t *cur = &s->segs[s->n_segs - 1];
    return RRDWRITER_SPOOL_LSN(cur->seg, cur->bytes);
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_spool_first(const rrdwriter_spool_t *s)
{
    return RRDWRITER_SPOOL_LSN(s->segs[0].seg, 0);
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_spool_opened_at(const rrdwriter_spool_t *s)
{
    return s->opened_at;
}

//  --------------------------------------------------------------------------
int rrdwriter_spool_trim(rrdwriter_spool_t *s, uint64_t applied_lsn, int64_t now_ms,
                         int64_t keep_ms, int64_t max_keep_ms, uint64_t journal_bytes,
                         uint64_t max_bytes)
{
    uint64_t applied_seg = RRDWRITER_SPOOL_SEG(applied_lsn);
    uint64_t total = rrdwriter_spool_bytes(s);
    size_t drop = 0;
    for (size_t i = 0; i + 1 < s->n_segs && s->segs[i].seg < applied_seg; i++)
        if (s->segs[i].applied_ms == 0)
            s->segs[i].applied_ms = now_ms; /* first seen applied now */
    for (size_t i = 0; i + 1 < s->n_segs && s->segs[i].seg < applied_seg; i++) {
        s_seg_t *g = &s->segs[i];
        int64_t age_ms = now_ms - g->applied_ms;
        bool old = age_ms >= keep_ms && s->total_committed - g->end_total >= journal_bytes;
        if (!(old || age_ms >= max_keep_ms || total > max_bytes))
            break; /* keep this one and every later one, in order */
        char path[S_PATH_MAX];
        s_seg_path(path, sizeof path, s->dir, g->seg);
        unlink(path);
        total -= g->bytes;
        drop++;
    }
    if (drop) {
        memmove(s->segs, s->segs + drop, (s->n_segs - drop) * sizeof *s->segs);
        s->n_segs -= drop;
    }
    return (int)drop;
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_spool_bytes(const rrdwriter_spool_t *s)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_segs; i++)
        total += s->segs[i].bytes;
    return total;
}

//  --------------------------------------------------------------------------
int rrdwriter_spool_segments(const rrdwriter_spool_t *s)
{
    return (int)s->n_segs;
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_spool_bytes_after(const rrdwriter_spool_t *s, uint64_t lsn)
{
    uint64_t total = 0, seg = RRDWRITER_SPOOL_SEG(lsn), off = RRDWRITER_SPOOL_OFF(lsn);
    for (size_t i = 0; i < s->n_segs; i++) {
        if (s->segs[i].seg > seg)
            total += s->segs[i].bytes;
        else if (s->segs[i].seg == seg && s->segs[i].bytes > off)
            total += s->segs[i].bytes - off;
    }
    return total;
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_spool_repaired(const rrdwriter_spool_t *s)
{
    return s->repaired;
}

//  --------------------------------------------------------------------------
rrdwriter_spool_reader_t *rrdwriter_spool_reader_new(const char *dir)
{
    rrdwriter_spool_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->dir = strdup(dir);
    if (!r->dir)
        abort();
    r->fd = -1;
    return r;
}

//  --------------------------------------------------------------------------
void rrdwriter_spool_reader_destroy(rrdwriter_spool_reader_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_spool_reader_t *r = *p;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->dir);
    free(r);
    *p = NULL;
}

/* Makes bytes [off, off + len) of the open segment available in r->buf, reading at most up to
   limit (the end of committed data in it). Returns 0, or -1 when the file is shorter. */
static int s_reader_fill(rrdwriter_spool_reader_t *r, uint64_t off, size_t len, uint64_t limit)
{
    if (off >= r->buf_off && off + len <= r->buf_off + r->buf_len)
        return 0;
    size_t want = len > S_READ_CHUNK ? len : S_READ_CHUNK;
    if (off + want > limit)
        want = limit > off ? (size_t)(limit - off) : 0;
    if (want < len)
        return -1;
    if (want > r->buf_cap) {
        r->buf_cap = want;
        r->buf = s_realloc(r->buf, want);
    }
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    r->buf_off = off;
    r->buf_len = got;
    return got >= len ? 0 : -1;
}

static void s_reader_close(rrdwriter_spool_reader_t *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->buf_len = 0;
}

//  --------------------------------------------------------------------------
int rrdwriter_spool_reader_next(rrdwriter_spool_reader_t *r, uint64_t *lsn, uint64_t limit_lsn,
                                const void **data, size_t *size, dp_err_t *err)
{
    while (*lsn < limit_lsn) {
        uint64_t seg = RRDWRITER_SPOOL_SEG(*lsn), off = RRDWRITER_SPOOL_OFF(*lsn);
        bool last = seg == RRDWRITER_SPOOL_SEG(limit_lsn);
        if (r->fd < 0 || r->seg != seg) {
            s_reader_close(r);
            char path[S_PATH_MAX];
            s_seg_path(path, sizeof path, r->dir, seg);
            r->fd = open(path, O_RDONLY | O_CLOEXEC);
            r->seg = seg;
            if (r->fd < 0) { /* trimmed or never written: go on with the next one */
                *lsn = RRDWRITER_SPOOL_LSN(seg + 1, 0);
                continue;
            }
        }
        uint64_t end = last ? RRDWRITER_SPOOL_OFF(limit_lsn) : UINT64_MAX;
        if (!last) {
            struct stat st;
            end = fstat(r->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        }
        if (off >= end) {
            if (last)
                return 0;
            s_reader_close(r);
            *lsn = RRDWRITER_SPOOL_LSN(seg + 1, 0);
            continue;
        }
        const unsigned char *h;
        uint64_t len = 0;
        bool ok = s_reader_fill(r, off, RRDWRITER_SPOOL_FRAME_HEAD, end) == 0;
        if (ok) {
            h = (const unsigned char *)r->buf + (off - r->buf_off);
            len = s_get_le(h, 4);
            ok = len <= RRDWRITER_SPOOL_FRAME_MAX &&
                 s_reader_fill(r, off, RRDWRITER_SPOOL_FRAME_HEAD + len, end) == 0;
        }
        if (ok) {
            h = (const unsigned char *)r->buf + (off - r->buf_off);
            ok = s_sum_ok(h + RRDWRITER_SPOOL_FRAME_HEAD, len, s_get_le(h + 4, 8));
        }
        if (!ok) {
            s_reader_close(r);
            *lsn = RRDWRITER_SPOOL_LSN(seg + 1, 0);
            return dp_err_set(err, DP_ERR_PROTO, "spool: segment %llu corrupt at offset %llu",
                              (unsigned long long)seg, (unsigned long long)off);
        }
        *data = h + RRDWRITER_SPOOL_FRAME_HEAD;
        *size = len;
        *lsn = RRDWRITER_SPOOL_LSN(seg, off + RRDWRITER_SPOOL_FRAME_HEAD + len);
        return 1;
    }
    return 0;
}
