/*  dp_tap.h - a copy of every wire message a daemon sends or receives, for `distpoll tap`
    Each daemon opens one tap: an XPUB socket bound at ipc://<control_dir>/<daemon>-<node>.tap
    (or any endpoint). dp_tap_publish copies a message there only while someone subscribes;
    the socket never blocks (small SNDHWM, PUB drops when a reader is slow or absent), so the
    tap never disturbs the flow. Frames: [topic, message bytes]; topic "<daemon>.<dir>" with
    dir "in" (received) or "out" (sent), e.g. "poller.in". A dp_tap_t may be used from several
    threads (a mutex serialises the socket).
    SPDX-License-Identifier: MIT */
#ifndef DP_TAP_H
#define DP_TAP_H

#include "dp_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_TAP_SNDHWM    1000 /* messages queued per reader before the tap drops */
#define DP_TAP_TOPIC_MAX 96   /* "<daemon>.<dir>" including the NUL */
#define DP_TAP_IN        "in"
#define DP_TAP_OUT       "out"

typedef struct dp_tap dp_tap_t;

/* Writes the tap endpoint of daemon on node, "ipc://<control_dir>/<daemon>-<node>.tap", into
   buf. Returns 0, or -1 when it does not fit (or is too long for a unix socket path). */
int dp_tap_endpoint(const char *control_dir, const char *daemon, const char *node, char *buf,
                    size_t size);

/* Opens the tap of daemon on node at dp_tap_endpoint(control_dir, ...). Returns the tap
   (caller destroys with dp_tap_destroy) or NULL with err (DP_ERR_CONFIG: bad names or path,
   DP_ERR_INTERNAL: cannot bind). */
dp_tap_t *dp_tap_new(const char *control_dir, const char *daemon, const char *node, dp_err_t *err);

/* As dp_tap_new, bound at any ZeroMQ endpoint (e.g. "tcp://127.0.0.1:7790"; no CURVE: keep it
   on loopback). */
dp_tap_t *dp_tap_new_endpoint(const char *endpoint, const char *daemon, dp_err_t *err);

/* Unbinds and frees the tap. NULL-safe; sets *p to NULL. */
void dp_tap_destroy(dp_tap_t **p);

/* Publishes a copy of one encoded message under "<daemon>.<topic>" (topic: DP_TAP_IN or
   DP_TAP_OUT) when at least one reader subscribes; never blocks. Returns true when the copy
   was queued, false when nobody listens or the queue is full (counted as dropped). tap may be
   NULL (no-op). */
bool dp_tap_publish(dp_tap_t *tap, const char *topic, const void *bytes, size_t size);

/* True while at least one reader subscribes (as of the last dp_tap_publish or dp_tap_poll). */
bool dp_tap_listening(dp_tap_t *tap);

/* Reads pending (un)subscriptions without publishing; returns dp_tap_listening. */
bool dp_tap_poll(dp_tap_t *tap);

/* Copies published and dropped so far. */
uint64_t dp_tap_published(const dp_tap_t *tap);
uint64_t dp_tap_dropped(const dp_tap_t *tap);

/* The bound endpoint. Borrowed; valid while tap lives. */
const char *dp_tap_bound(const dp_tap_t *tap);

#endif
