/*  rrdwriter_files.h - the apply thread's table of known RRD files (path -> what we know)
    Sized for millions of files: a file costs its 48-byte entry, its path (NUL included) and
    about 8 bytes of index, about 85 bytes for a 25-character path (a zhashx with a calloc'd
    entry and two strdup'd copies of the path took about 220). Entries live in fixed slabs, so
    an entry's address never changes (pointers taken during a round stay valid while the
    table grows); paths are packed in 1 MB blocks; the index is an open-addressing array of
    32-bit entry numbers (linear probing, doubled at 3/4 load). Entries are never removed.
    Not thread-safe: one thread (the apply thread) owns it.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_FILES_H
#define RRDWRITER_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rrdwriter_apply_sig; /* rrdwriter_apply_priv.h: an interned DS list */

/* What we know about one file. */
typedef struct {
    const char *path;                       /* relative path (owned by the table) */
    const struct rrdwriter_apply_sig *sig;  /* NULL: not known yet (INFO/CREATE pending) */
    const struct rrdwriter_apply_sig *want; /* DS list of the first update wanting a CREATE */
    int64_t last_ts;                        /* newest timestamp sent; 0 unknown */
    int64_t first_ts;                       /* oldest timestamp wanting a CREATE in this round */
    uint32_t hash;                          /* of path */
    bool resolving;                         /* listed for INFO in this round */
} rrdwriter_file_t;

typedef struct rrdwriter_files rrdwriter_files_t;

/* An empty table. Caller owns result; free with rrdwriter_files_destroy. Aborts on OOM. */
rrdwriter_files_t *rrdwriter_files_new(void);

/* Frees the table, its entries and paths. NULL-safe; sets *p to NULL. */
void rrdwriter_files_destroy(rrdwriter_files_t **p);

/* The entry of path, or NULL. Borrowed: valid until the table is destroyed. */
rrdwriter_file_t *rrdwriter_files_find(const rrdwriter_files_t *t, const char *path);

/* The entry of path, added (zeroed, path copied) when missing. Borrowed. Aborts on OOM or
   past UINT32_MAX - 1 files. */
rrdwriter_file_t *rrdwriter_files_get(rrdwriter_files_t *t, const char *path);

/* Number of files. */
size_t rrdwriter_files_count(const rrdwriter_files_t *t);

/* Entry i (0 <= i < count, in insertion order) for iteration. Borrowed. */
rrdwriter_file_t *rrdwriter_files_at(const rrdwriter_files_t *t, size_t i);

/* Bytes the table holds (slabs, path blocks, index). */
size_t rrdwriter_files_bytes(const rrdwriter_files_t *t);

#endif
