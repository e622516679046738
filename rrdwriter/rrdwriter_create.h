/*  rrdwriter_create.h - local creation of RRD files in a directory shared with rrdcached
    librrd's rrd_create_r2 makes one template file per (DS list, last update time) of a pass;
    its bytes are then copied into every file of that group: each file is an anonymous
    O_TMPFILE (or a private temporary name) linked into place with linkat/renameat2
    (RENAME_NOREPLACE), so no half-written file is ever visible and an existing file is never
    replaced, even when two writers race. A file so made is what `rrdtool create -b LAST` makes
    (rrdtool info equal) except the RRAs' random cur_row, which files of one group share.
    It costs a few syscalls per file instead of rrd_create's DS parsing (a regex compile per DS)
    plus rrdcached's socket round trip. Files of a pass are spread over a few threads.
    The object is not thread-safe: use it from one thread (it starts and joins its own).
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_CREATE_H
#define RRDWRITER_CREATE_H

#include "dp_err.h"
#include "rrdwriter_def.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRDWRITER_CREATE_THREADS   2   /* creating threads of a big pass (the caller is one) */
#define RRDWRITER_CREATE_ERROR_MAX 160 /* bytes of an error text */
#define RRDWRITER_CREATE_PROBE_MAX 96  /* bytes of a probe file's relative name */

typedef struct rrdwriter_create rrdwriter_create_t;

/* Outcome of one file. */
typedef enum {
    RRDWRITER_CREATE_DONE = 0, /* created */
    RRDWRITER_CREATE_EXISTS,   /* a file of that name was there (left untouched) */
    RRDWRITER_CREATE_FAILED,   /* not created; error says why */
} rrdwriter_create_status_t;

/* One file to create. */
typedef struct {
    const char *path; /* relative to the RRD directory ("host/port-id1.rrd"), checked safe */
    const rrdwriter_def_ds_t *ds;           /* its data sources (heartbeat: 2 x step, see def.h) */
    int n_ds;                               /* 1..DP_MSG_DS_MAX (dp_msg.h) */
    int64_t last_up_s;                      /* last update time (rrdtool create -b), > 0 */
    rrdwriter_create_status_t status;       /* out */
    char error[RRDWRITER_CREATE_ERROR_MAX]; /* out: when FAILED */
} rrdwriter_create_job_t;

/* A creator for files under rrd_dir (which must exist and be writable) with step_s and rras.
   Caller owns result; free with rrdwriter_create_destroy. NULL (err DP_ERR_CONFIG) when the
   directory is unusable. */
rrdwriter_create_t *rrdwriter_create_new(const char *rrd_dir, int step_s,
                                         const rrdwriter_def_rras_t *rras, dp_err_t *err);

/* Frees. NULL-safe; sets *p to NULL. */
void rrdwriter_create_destroy(rrdwriter_create_t **p);

/* The RRD directory given at creation. Borrowed. */
const char *rrdwriter_create_dir(const rrdwriter_create_t *c);

/* Creates the n files (any order; missing parent directories are made, mode 0755), setting
   each job's status. Returns the number created. */
size_t rrdwriter_create_files(rrdwriter_create_t *c, rrdwriter_create_job_t *jobs, size_t n);

/* Sharing check, step 1: creates a small probe RRD (one GAUGE "probe", last update now - 10 s)
   at the top of the directory and writes its relative name into name (size >=
   RRDWRITER_CREATE_PROBE_MAX). Ask the rrdcached to UPDATE it (it answers an error when it
   cannot see or write that file), FORGET it, then call rrdwriter_create_probe_done.
   Returns 0 or -1 (err set). */
int rrdwriter_create_probe_make(rrdwriter_create_t *c, char *name, size_t size, dp_err_t *err);

/* Sharing check, step 2: removes the probe and records the verdict (shared or not) with the
   connection generation it holds for (e.g. a reconnect counter). */
void rrdwriter_create_probe_done(rrdwriter_create_t *c, const char *name, bool shared,
                                 uint64_t generation);

/* 1 when the last probe for this connection generation found the directory shared,
   0 when it found it not shared, -1 when no probe was made for this generation. */
int rrdwriter_create_shared(const rrdwriter_create_t *c, uint64_t generation);

/* True when the last probe found the directory shared for this generation and path (relative)
   does not exist here: rrdcached would not find it either, so asking it (INFO) can be skipped.
   One faccessat; a file appearing meanwhile makes creating it report EXISTS. */
bool rrdwriter_create_absent(const rrdwriter_create_t *c, const char *path, uint64_t generation);

#endif
