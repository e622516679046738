/*  rrdwriter_apply_priv.h - what the apply thread's rounds (rrdwriter_apply.c) and its file
    resolution (rrdwriter_apply_create.c: INFO, local or remote CREATE) share.
    Private to those two files: everyone else uses rrdwriter_apply.h. Everything here belongs
    to the apply thread except the fields the struct marks as guarded or atomic.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_APPLY_PRIV_H
#define RRDWRITER_APPLY_PRIV_H

#include "rrdwriter_apply.h"
#include "rrdwriter_batch.h"
#include "rrdwriter_create.h"
#include "rrdwriter_files.h"
#include "rrdwriter_spool.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>

/* One DS list: names and types in order; interned by its text. */
typedef struct rrdwriter_apply_sig {
    int n;                                /* data sources */
    rrdwriter_def_ds_t ds[DP_MSG_DS_MAX]; /* parsed (min/max from the first sender) */
} rrdwriter_apply_sig_t;

/* What we know about one file (rrdwriter_files.h). */
typedef rrdwriter_file_t rrdwriter_apply_file_t;

/* One update line in the BATCH being built. */
typedef struct {
    rrdwriter_apply_file_t *file; /* its file */
    int64_t ts;                   /* its timestamp */
    bool replay;                  /* spooled before the last (re)start or reconnect */
    bool retry;                   /* rrdcached had no such file: create and send again */
    size_t off;                   /* line start in a->text */
    size_t len;                   /* line length with the newline */
} rrdwriter_apply_line_t;

typedef struct {
    dp_msg_t *msg;      /* owned */
    uint64_t start_lsn; /* frame start */
    uint64_t end_lsn;   /* frame end */
} rrdwriter_apply_item_t;

/* Counters (borrowed from the stats table). */
typedef struct {
    dp_counter_t *updates_sent, *updates_applied, *updates_rejected, *rej_path, *rej_ds,
        *rej_ds_mismatch, *rej_value, *rej_future, *rej_nofile, *illegal_old, *replay_dup,
        *update_errors, *creates, *create_errors, *batch_errors, *batches, *reconnects,
        *spool_corrupt, *rrdcached_up, *messages_applied, *malloc_trims, *info_skipped,
        *files_known, *files_bytes;
} rrdwriter_apply_counters_t;

/* A rate-limited warning. */
typedef struct {
    int64_t last_ms;     /* last written */
    uint64_t suppressed; /* since then */
} rrdwriter_apply_ratelog_t;

struct rrdwriter_apply {
    rrdwriter_apply_cfg_t cfg;     /* copy (strings duplicated) */
    pthread_t thread;              /* the apply thread */
    pthread_mutex_t lock;          /* guards queue, committed, first, stop */
    pthread_cond_t wake;           /* signalled on push/commit/stop */
    rrdwriter_apply_item_t *queue; /* ring of handed-over messages */
    size_t q_head, q_len;          /* ring position and fill */
    uint64_t q_bytes;              /* spooled bytes of the queued messages */
    uint64_t committed;            /* durable end of the spool */
    uint64_t first;                /* oldest frame on disk */
    bool stop;                     /* stop requested */
    _Atomic uint64_t applied;      /* published applied position */
    atomic_bool up;                /* connected to rrdcached */
    /* thread-owned */
    rrdwriter_batch_t *rc;            /* rrdcached connection */
    rrdwriter_create_t *creator;      /* local creation in DP_RRD_DIR; NULL: CREATE only */
    rrdwriter_spool_reader_t *reader; /* spool reads */
    rrdwriter_files_t *files;         /* known files */
    zhashx_t *sigs;                   /* sig text -> rrdwriter_apply_sig_t */
    zhashx_t *dssets;                 /* joined wire DS list -> s_dsset_t */
    uint64_t cursor;                  /* next frame to apply */
    uint64_t replay_end;              /* frames before this may already be in rrdcached */
    uint64_t sent_hwm;                /* end of the newest frame sent to rrdcached */
    int64_t last_io_ms;               /* last successful exchange with rrdcached */
    rrdwriter_apply_counters_t c;     /* counters */
    rrdwriter_apply_item_t *work;     /* messages of the round */
    size_t n_work, cap_work;
    char *text; /* BATCH text */
    size_t text_len, text_cap;
    rrdwriter_apply_line_t *lines; /* per BATCH line */
    size_t n_lines, cap_lines;
    rrdwriter_apply_file_t **resolve; /* files to INFO/CREATE this round */
    size_t n_resolve, cap_resolve;
    rrdwriter_apply_ratelog_t log_reject, log_old, log_error; /* rate limits */
    rrdwriter_apply_file_t *
        *ufile; /* file of each update of the round (s_plan -> s_format), NULL: bad path */
    size_t cap_ufile;
    uint64_t trim_bytes; /* spooled bytes applied since the last malloc_trim */
    int64_t trim_ms;     /* monotonic time of the last malloc_trim */
    size_t round_sent;   /* lines sent to rrdcached in this round (with retries) */
    size_t round_errors; /* of which rrdcached refused */
};

/* Grows an array of item-sized entries to hold need (doubling; aborts on OOM). */
void *rrdwriter_apply_grow(void *p, size_t *cap, size_t need, size_t item);

/* True when a rate-limited warning may be written now (*suppressed: skipped since the last). */
bool rrdwriter_apply_ratelog_ok(rrdwriter_apply_ratelog_t *r, uint64_t *suppressed);

/* The interned copy of sig (names and types; one per distinct list per process). */
const rrdwriter_apply_sig_t *rrdwriter_apply_sig_intern(rrdwriter_apply_t *a,
                                                        const rrdwriter_apply_sig_t *sig);

/* Lists file f (without a DS list yet) for this round's resolution, wanting it created with
   sig from ts on when it does not exist. */
void rrdwriter_apply_want(rrdwriter_apply_t *a, rrdwriter_apply_file_t *f,
                          const rrdwriter_apply_sig_t *sig, int64_t ts);

/* Learns (INFO) or creates (here or through rrdcached) every listed file and clears the list.
   Returns 0 or -1 (connection lost). */
int rrdwriter_apply_resolve(rrdwriter_apply_t *a, dp_err_t *err);

/* Sets a->creator for rrd_dir (NULL or unusable: files are created through rrdcached). */
void rrdwriter_apply_creator_open(rrdwriter_apply_t *a, const char *rrd_dir);

#endif
