/*  rrdwriter_spool.h - the rrdwriter's durable spool: append-only segment files of frames
    Segments are DIR/seg-<16 hex digits>.spool; each holds frames [u32 len][u64 sum][payload]
    (little endian; sum = 0x63726333 << 32 | CRC-32C of the payload, SSE4.2 where available).
    Frames of spools written before 2026-11-26 carry sum = SipHash-2-4 (zero key) of the
    payload and are still read; a spool written now is NOT readable by those versions (they
    would cut it as corrupt): drain it (BACKLOG says backlog: 0) before a downgrade.
    A position (lsn) is seg << 40 | offset, so positions order across segments. One writer
    side (append, commit, trim; the thread that opened the spool) and any number of readers
    (each used by one thread) that read committed frames by position. Opening scans DIR, cuts
    a torn tail off the last segment and starts a new segment, so earlier segments are never
    appended to again.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_SPOOL_H
#define RRDWRITER_SPOOL_H

#include "dp_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRDWRITER_SPOOL_SEG_SHIFT     40          /* lsn = seg << 40 | offset */
#define RRDWRITER_SPOOL_SEG_MAX_BYTES (64u << 20) /* a segment is sealed past this size */
#define RRDWRITER_SPOOL_SEG_MAX_MS    10000       /* ... or when it is this old */
#define RRDWRITER_SPOOL_FRAME_HEAD    12          /* u32 length + u64 sum */
#define RRDWRITER_SPOOL_FRAME_MAX     (8u << 20)  /* largest payload accepted */
#define RRDWRITER_SPOOL_LSN(seg, off) (((uint64_t)(seg) << RRDWRITER_SPOOL_SEG_SHIFT) | (off))
#define RRDWRITER_SPOOL_SEG(lsn)      ((lsn) >> RRDWRITER_SPOOL_SEG_SHIFT)
#define RRDWRITER_SPOOL_OFF(lsn)      ((lsn) & ((UINT64_C(1) << RRDWRITER_SPOOL_SEG_SHIFT) - 1))

typedef struct rrdwriter_spool rrdwriter_spool_t;
typedef struct rrdwriter_spool_reader rrdwriter_spool_reader_t;

/* Opens (creating) the spool in dir: scans existing segments, truncates a torn or corrupt
   tail of the last one (counted in rrdwriter_spool_repaired) and opens a new segment for
   appends. Caller owns result; free with rrdwriter_spool_destroy. NULL on error (err set). */
rrdwriter_spool_t *rrdwriter_spool_open(const char *dir, dp_err_t *err);

/* Closes files (without committing) and frees. NULL-safe; sets *p to NULL. */
void rrdwriter_spool_destroy(rrdwriter_spool_t **p);

/* Buffers one frame. Returns 0 with *end_lsn set to the position after it (valid once
   committed), or -1 (err: payload too large). */
int rrdwriter_spool_append(rrdwriter_spool_t *s, const void *data, size_t size, uint64_t *end_lsn,
                           dp_err_t *err);

/* Bytes buffered and not yet committed. */
size_t rrdwriter_spool_uncommitted(const rrdwriter_spool_t *s);

/* Writes the buffered frames and fdatasyncs them; seals the segment and starts the next one
   when it is big or old. After 0 every appended frame is durable. Returns 0 or -1 (err set;
   the buffer is kept, so a retry can succeed). */
int rrdwriter_spool_commit(rrdwriter_spool_t *s, int64_t now_ms, dp_err_t *err);

/* Position up to which frames are durable. */
uint64_t rrdwriter_spool_committed(const rrdwriter_spool_t *s);

/* Position of the oldest frame still on disk. */
uint64_t rrdwriter_spool_first(const rrdwriter_spool_t *s);

/* Position where the spool stood when it was opened (frames before it are a replay). */
uint64_t rrdwriter_spool_opened_at(const rrdwriter_spool_t *s);

/* Told that every frame before applied_lsn reached rrdcached. Deletes whole segments below it
   that were applied at least keep_ms ago and have journal_bytes of later committed data after
   them (rrdcached's journal is not synced: recent applied data is kept for a replay), or that
   were applied max_keep_ms ago. While the spool holds more than max_bytes, applied segments are
   deleted oldest first regardless. Returns the number of segments deleted. */
int rrdwriter_spool_trim(rrdwriter_spool_t *s, uint64_t applied_lsn, int64_t now_ms,
                         int64_t keep_ms, int64_t max_keep_ms, uint64_t journal_bytes,
                         uint64_t max_bytes);

/* Bytes and segment files on disk (committed). */
uint64_t rrdwriter_spool_bytes(const rrdwriter_spool_t *s);
int rrdwriter_spool_segments(const rrdwriter_spool_t *s);

/* Committed bytes at or after lsn (the backlog behind a reader at lsn). */
uint64_t rrdwriter_spool_bytes_after(const rrdwriter_spool_t *s, uint64_t lsn);

/* Frames cut off at open (torn or corrupt tail). */
uint64_t rrdwriter_spool_repaired(const rrdwriter_spool_t *s);

/* A reader over dir. Caller owns result; free with rrdwriter_spool_reader_destroy. */
rrdwriter_spool_reader_t *rrdwriter_spool_reader_new(const char *dir);

/* Closes and frees. NULL-safe; sets *p to NULL. */
void rrdwriter_spool_reader_destroy(rrdwriter_spool_reader_t **p);

/* Reads the next frame at or after *lsn and before limit_lsn (the committed position).
   Returns 1 with *data and *size (borrowed until the next call) and *lsn moved past the frame;
   0 when nothing is left before limit_lsn; -1 when a segment is corrupt (err set; *lsn moved
   to the next segment, so the caller may go on). Missing segments (trimmed) are skipped. */
int rrdwriter_spool_reader_next(rrdwriter_spool_reader_t *r, uint64_t *lsn, uint64_t limit_lsn,
                                const void **data, size_t *size, dp_err_t *err);

#endif
