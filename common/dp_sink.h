/*  dp_sink.h - worker side of the metrics path: acked METRICS delivery to the rrdwriter
    A DEALER to the rrdwriter (CURVE) registered with the caller's zloop. Every METRICS sent is
    kept until the rrdwriter ACKs its msg_id, and resent every DP_SINK_RESEND_MS without an
    ACK; duplicates are fine (the rrdwriter dedupes by (file, ts)). Memory is bounded: at
    DP_SINK_MAX_BYTES (or dp_sink_set_max_bytes) of unacked messages dp_sink_full() turns true
    and the worker pauses; it turns false again below half of that.
    msg_ids are unique per sender across restarts (random 64-bit start, then +1).
    With dp_sink_set_tap every METRICS put on the wire (first sends and resends) and every ACK
    frame received is copied to the daemon's tap (`distpoll tap`).
    Not thread-safe: use a sink only in the thread that runs its zloop; only dp_sink_encode may
    be called from other threads (workers encode, the loop's thread sends the bytes).
    SPDX-License-Identifier: MIT */
#ifndef DP_SINK_H
#define DP_SINK_H

#include "dp_err.h"
#include "dp_msg.h"
#include "dp_stats.h"
#include "dp_tap.h"
#include "dp_zmq.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#define DP_SINK_RESEND_MS 5000                /* resend an unacked message after this */
#define DP_SINK_MAX_BYTES (32u * 1024 * 1024) /* unacked encoded bytes before "full" */

typedef struct dp_sink dp_sink_t;

/* A METRICS message stamped and encoded by dp_sink_encode, for dp_sink_send_encoded. */
typedef struct {
    uint64_t id; /* its msg_id */
    char *data;  /* the encoding (malloc'd); NULL: none */
    size_t size;
} dp_sink_bytes_t;

/* Connects a DEALER to endpoint (CURVE with keys; keys NULL only for local endpoints) and
   registers its socket and a resend timer with loop. node: this worker's NODE_ID, stamped as
   sender_node. Caller owns result; free with dp_sink_destroy. NULL on error (err set). */
dp_sink_t *dp_sink_new(zloop_t *loop, const char *endpoint, const dp_zmq_keys_t *keys,
                       const char *node, dp_err_t *err);

/* Unregisters from the loop and frees everything (unacked messages are dropped: call
   dp_sink_flush first). NULL-safe; sets *p to NULL. */
void dp_sink_destroy(dp_sink_t **p);

/* Stamps msg_id, created_ms and sender_node on *metrics, encodes and sends it, and keeps it
   until ACKed. Takes ownership (sets *metrics to NULL) on success and on failure.
   Returns 0 or -1 (err DP_ERR_PROTO: not METRICS or invalid). A message that cannot be sent
   right now (peer away) stays pending and is resent later: that is not an error. */
int dp_sink_send(dp_sink_t *s, dp_msg_t **metrics, dp_err_t *err);

/* The first half of dp_sink_send, safe to call from any thread (it reads only the node name
   and takes the msg_id from an atomic counter): stamps and encodes *metrics into out and
   destroys it (sets *metrics to NULL). Workers encode in their own threads, so the loop's
   thread only queues finished bytes, back to back (one wake-up of ZeroMQ's I/O thread for a
   batch instead of one per message). Returns 0 or -1 (err set, out zeroed). */
int dp_sink_encode(dp_sink_t *s, dp_msg_t **metrics, dp_sink_bytes_t *out, dp_err_t *err);

/* The second half: keeps and sends what dp_sink_encode made, taking ownership of b->data
   (b is zeroed). Nothing happens when b->data is NULL. */
void dp_sink_send_encoded(dp_sink_t *s, dp_sink_bytes_t *b);

/* Frees b->data (bytes never handed to the sink) and zeroes b. NULL-safe. */
void dp_sink_bytes_free(dp_sink_bytes_t *b);

/* Number of unacked messages. */
size_t dp_sink_pending(const dp_sink_t *s);

/* True from the moment unacked bytes reach the cap until they fall below half of it; the
   worker should not take jobs meanwhile. */
bool dp_sink_full(const dp_sink_t *s);

/* For drain on SIGTERM: blocks up to timeout_ms processing ACKs (and resending) until nothing
   is pending. Returns 0 if all acked, -1 on timeout. */
int dp_sink_flush(dp_sink_t *s, int timeout_ms);

/* For callers without a running loop (tools, tests): handles ACKs and due resends, waiting up
   to timeout_ms for the first ACK. Returns the number of messages still pending. */
size_t dp_sink_poll(dp_sink_t *s, int timeout_ms);

/* Counts into stats (borrowed; may be NULL): metrics_sent, metrics_acked, metrics_resent,
   plus gauges metrics_pending and metrics_pending_bytes. */
void dp_sink_set_stats(dp_sink_t *s, dp_stats_t *stats);

/* Copies every METRICS sent (DP_TAP_OUT) and every frame received (DP_TAP_IN) to tap
   (borrowed: the daemon's tap, must outlive s; NULL: off). */
void dp_sink_set_tap(dp_sink_t *s, dp_tap_t *tap);

/* Overrides the resend delay (tests); ms >= 1. */
void dp_sink_set_resend_ms(dp_sink_t *s, int ms);

/* Sets the byte cap (DP_METRICS_BUFFER_MB; tests); bytes >= 1. */
void dp_sink_set_max_bytes(dp_sink_t *s, size_t bytes);

/* Unacked encoded bytes. */
size_t dp_sink_pending_bytes(const dp_sink_t *s);

#endif
