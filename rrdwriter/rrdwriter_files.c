/*  rrdwriter_files.c - the apply thread's compact table of known RRD files
    SPDX-License-Identifier: MIT */
#include "rrdwriter_files.h"

#include <stdlib.h>
#include <string.h>

#define S_SLAB_SHIFT 14 /* entries per slab: 16384 x 48 bytes */
#define S_SLAB       ((size_t)1 << S_SLAB_SHIFT)
#define S_BLOCK      ((size_t)1 << 20) /* bytes per path block */
#define S_SLOTS_MIN  1024              /* first index size (a power of 2) */

struct rrdwriter_files {
    rrdwriter_file_t **slabs; /* S_SLAB entries each */
    size_t n_slabs, cap_slabs;
    size_t count;  /* entries in use */
    char **blocks; /* path blocks */
    size_t n_blocks, cap_blocks;
    size_t block_used; /* bytes used in the last block */
    uint32_t *slots;   /* 0 empty, else entry number + 1 */
    size_t mask;       /* slots - 1 */
};

static void *s_alloc(void *p, size_t size)
{
    p = realloc(p, size);
    if (!p)
        abort();
    return p;
}

/* FNV-1a, then a 64-bit finaliser so that the low bits (the slot) mix every byte. */
static uint32_t s_hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return (uint32_t)h;
}

static rrdwriter_file_t *s_entry(const rrdwriter_files_t *t, size_t i)
{
    return &t->slabs[i >> S_SLAB_SHIFT][i & (S_SLAB - 1)];
}

/* The slot holding path, or the empty slot where it would go. */
static size_t s_slot(const rrdwriter_files_t *t, const char *path, uint32_t hash)
{
    size_t i = hash & t->mask;
    for (;; i = (i + 1) & t->mask) {
        uint32_t e = t->slots[i];
        if (e == 0)
            return i;
        const rrdwriter_file_t *f = s_entry(t, e - 1);
        if (f->hash == hash && strcmp(f->path, path) == 0)
            return i;
    }
}

static void s_grow_index(rrdwriter_files_t *t)
{
    size_t n = (t->mask + 1) * 2;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        abort();
    for (size_t k = 0; k < t->count; k++) {
        size_t i = s_entry(t, k)->hash & (n - 1);
        while (slots[i])
            i = (i + 1) & (n - 1);
        slots[i] = (uint32_t)(k + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->mask = n - 1;
}

static const char *s_copy_path(rrdwriter_files_t *t, const char *path)
{
    size_t len = strlen(path) + 1;
    if (t->n_blocks == 0 || t->block_used + len > S_BLOCK) {
        if (t->n_blocks == t->cap_blocks) {
            t->cap_blocks = t->cap_blocks ? t->cap_blocks * 2 : 16;
            t->blocks = s_alloc(t->blocks, t->cap_blocks * sizeof *t->blocks);
        }
        t->blocks[t->n_blocks++] = s_alloc(NULL, len > S_BLOCK ? len : S_BLOCK);
        t->block_used = 0;
    }
    char *p = t->blocks[t->n_blocks - 1] + t->block_used;
    memcpy(p, path, len);
    t->block_used += len;
    return p;
}

//  --------------------------------------------------------------------------
rrdwriter_files_t *rrdwriter_files_new(void)
{
    rrdwriter_files_t *t = calloc(1, sizeof *t);
    if (!t || !(t->slots = calloc(S_SLOTS_MIN, sizeof *t->slots)))
        abort();
    t->mask = S_SLOTS_MIN - 1;
    return t;
}

//  --------------------------------------------------------------------------
void rrdwriter_files_destroy(rrdwriter_files_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_files_t *t = *p;
    for (size_t i = 0; i < t->n_slabs; i++)
        free(t->slabs[i]);
    for (size_t i = 0; i < t->n_blocks; i++)
        free(t->blocks[i]);
    free(t->slabs);
    free(t->blocks);
    free(t->slots);
    free(t);
    *p = NULL;
}

//  --------------------------------------------------------------------------
rrdwriter_file_t *rrdwriter_files_find(const rrdwriter_files_t *t, const char *path)
{
    uint32_t e = t->slots[s_slot(t, path, s_hash(path))];
    return e ? s_entry(t, e - 1) : NULL;
}

//  --------------------------------------------------------------------------
rrdwriter_file_t *rrdwriter_files_get(rrdwriter_files_t *t, const char *path)
{
    uint32_t hash = s_hash(path);
    size_t i = s_slot(t, path, hash);
    if (t->slots[i])
        return s_entry(t, t->slots[i] - 1);
    if (t->count >= UINT32_MAX - 1)
        abort();
    if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
        s_grow_index(t);
        i = s_slot(t, path, hash);
    }
    if (t->count == t->n_slabs * S_SLAB) {
        if (t->n_slabs == t->cap_slabs) {
            t->cap_slabs = t->cap_slabs ? t->cap_slabs * 2 : 16;
            t->slabs = s_alloc(t->slabs, t->cap_slabs * sizeof *t->slabs);
        }
        t->slabs[t->n_slabs++] = s_alloc(NULL, S_SLAB * sizeof(rrdwriter_file_t));
    }
    rrdwriter_file_t *f = s_entry(t, t->count);
    *f = (rrdwriter_file_t){.path = s_copy_path(t, path), .hash = hash};
    t->slots[i] = (uint32_t)(++t->count);
    return f;
}

//  --------------------------------------------------------------------------
size_t rrdwriter_files_count(const rrdwriter_files_t *t)
{
    return t->count;
}

//  --------------------------------------------------------------------------
rrdwriter_file_t *rrdwriter_files_at(const rrdwriter_files_t *t, size_t i)
{
    return i < t->count ? s_entry(t, i) : NULL;
}

//  --------------------------------------------------------------------------
size_t rrdwriter_files_bytes(const rrdwriter_files_t *t)
{
    return t->n_slabs * S_SLAB * sizeof(rrdwriter_file_t) + t->n_blocks * S_BLOCK +
           (t->mask + 1) * sizeof *t->slots + (t->cap_slabs + t->cap_blocks) * sizeof(void *);
}
