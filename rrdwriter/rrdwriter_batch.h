/*  rrdwriter_batch.h - rrdcached client over its line protocol: one persistent connection
    Speaks rrdcached's documented protocol (doc/rrdcached.pod) on a unix or TCP socket: BATCH
    for updates (librrd's rrdc_update makes one round trip per update), pipelined INFO and
    CREATE, PING and FLUSH. Every call waits at most the timeout given at creation; any I/O
    failure closes the connection (the caller reconnects). Use from one thread.
    SPDX-License-Identifier: MIT */
#ifndef RRDWRITER_BATCH_H
#define RRDWRITER_BATCH_H

#include "dp_err.h"
#include "rrdwriter_def.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRDWRITER_BATCH_DS_MAX 64 /* data sources read from INFO */

typedef struct rrdwriter_batch rrdwriter_batch_t;

/* What INFO tells about one file. */
typedef struct {
    bool exists;                                                         /* false: no such file */
    int step_s;                                                          /* file step */
    int64_t last_update_s;                                               /* last update on disk */
    int n_ds;                                                            /* data sources */
    char ds_name[RRDWRITER_BATCH_DS_MAX][RRDWRITER_DEF_DS_NAME_MAX + 1]; /* in file order */
    rrdwriter_def_ds_type_t ds_type[RRDWRITER_BATCH_DS_MAX];             /* in file order */
} rrdwriter_batch_info_t;

/* Called once per reply of a pipelined command: index in the request, the status (< 0 error),
   and the status line's text (after the number). */
typedef void(rrdwriter_batch_reply_fn)(void *arg, size_t index, int status, const char *text);

/* A client for address: "unix:/path", "/path" or "host:port". Not connected yet.
   Caller owns result; free with rrdwriter_batch_destroy. NULL for a malformed address. */
rrdwriter_batch_t *rrdwriter_batch_new(const char *address, int timeout_ms, dp_err_t *err);

/* Closes and frees. NULL-safe; sets *p to NULL. */
void rrdwriter_batch_destroy(rrdwriter_batch_t **p);

/* Connects (closing any old connection). Returns 0 or -1 (err DP_ERR_UNREACHABLE). */
int rrdwriter_batch_connect(rrdwriter_batch_t *b, dp_err_t *err);

/* Closes the connection. */
void rrdwriter_batch_disconnect(rrdwriter_batch_t *b);

/* True while connected. */
bool rrdwriter_batch_is_connected(const rrdwriter_batch_t *b);

/* PING -> "0 PONG". Returns 0 or -1 (err set; connection closed). */
int rrdwriter_batch_ping(rrdwriter_batch_t *b, dp_err_t *err);

/* FLUSH file: returns 0 once rrdcached wrote it, 1 when rrdcached answered an error (text in
   err), -1 on I/O failure (connection closed). */
int rrdwriter_batch_flush(rrdwriter_batch_t *b, const char *file, dp_err_t *err);

/* INFO for n files, pipelined; fills out[i]. Returns 0 (out[i].exists false for a file
   rrdcached cannot open) or -1 (I/O failure or unparsable reply; connection closed). */
int rrdwriter_batch_info(rrdwriter_batch_t *b, const char *const *files, size_t n,
                         rrdwriter_batch_info_t *out, dp_err_t *err);

/* Sends n commands (each a full line without the newline, e.g. "CREATE f -s 300 ..."),
   pipelined in windows, and calls fn for each single-line reply. Returns 0 or -1 (I/O failure;
   connection closed; replies not yet received are lost). */
int rrdwriter_batch_commands(rrdwriter_batch_t *b, const char *const *lines, size_t n,
                             rrdwriter_batch_reply_fn *fn, void *arg, dp_err_t *err);

/* Runs one BATCH: text holds n commands ("UPDATE file ts:v:v\n" each, newline-terminated).
   Calls fn(arg, index, -1, message) for each command rrdcached reports as failed (index is
   0-based). Returns the number of errors, or -1 (I/O failure or garbled answer: which updates
   were applied is unknown; connection closed). */
int rrdwriter_batch_run(rrdwriter_batch_t *b, const char *text, size_t len, size_t n,
                        rrdwriter_batch_reply_fn *fn, void *arg, dp_err_t *err);

/* Writes "ts:v1:v2..." (no NUL) at p when ts >= 0 and every value is NaN ("U") or an integer
   below 2^64 in magnitude (what counters and most gauges give): the text
   rrdwriter_def_format_update makes, two digits per step and no printf. p needs room for
   21 bytes per value plus 20. Returns the end, or NULL when a value needs the general
   formatter (fractions, infinities). */
char *rrdwriter_batch_put_values(char *p, int64_t ts, const double *v, size_t n);

#endif
