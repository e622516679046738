/*  dp_tap.c - a copy of every wire message a daemon sends or receives, for `distpoll tap`
    An XPUB socket: subscriptions arrive as messages, so the tap knows whether anyone reads
    and costs one mutex and a non-blocking recv when nobody does.
    SPDX-License-Identifier: MIT */
#include "dp_tap.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_IPC_PATH_MAX 107 /* sun_path minus the NUL */
#define S_NAME_MAX     64
#define S_SUB_MAX      256 /* longest subscription message read */

struct dp_tap {
    zsock_t *sock;              /* XPUB */
    pthread_mutex_t lock;       /* serialises sock */
    char daemon[S_NAME_MAX];    /* topic prefix */
    char *endpoint;             /* bound endpoint (owned) */
    int subscriptions;          /* distinct prefixes subscribed now */
    bool bound;                 /* bind succeeded: the ipc file is ours */
    _Atomic uint64_t published; /* copies queued */
    _Atomic uint64_t dropped;   /* copies refused by a full queue */
};

static bool s_valid_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= S_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
            return false;
    return true;
}

//  Reads every pending subscription message; caller holds the lock.
static void s_read_subscriptions(dp_tap_t *self)
{
    void *raw = zsock_resolve(self->sock);
    unsigned char buf[S_SUB_MAX];
    int n;
    while ((n = zmq_recv(raw, buf, sizeof buf, ZMQ_DONTWAIT)) >= 1) {
        if (buf[0] == 1)
            self->subscriptions++;
        else if (buf[0] == 0 && self->subscriptions > 0)
            self->subscriptions--;
    }
}

//  --------------------------------------------------------------------------
int dp_tap_endpoint(const char *control_dir, const char *daemon, const char *node, char *buf,
                    size_t size)
{
    if (!control_dir || !daemon || !node)
        return -1;
    int n = snprintf(buf, size, "ipc://%s/%s-%s.tap", control_dir, daemon, node);
    if (n < 0 || (size_t)n >= size || n - (int)strlen("ipc://") > S_IPC_PATH_MAX)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
dp_tap_t *dp_tap_new_endpoint(const char *endpoint, const char *daemon, dp_err_t *err)
{
    if (!s_valid_name(daemon) || !endpoint || !*endpoint) {
        dp_err_set(err, DP_ERR_CONFIG, "tap: daemon name and endpoint are required");
        return NULL;
    }
    dp_tap_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    pthread_mutex_init(&self->lock, NULL);
    snprintf(self->daemon, sizeof self->daemon, "%s", daemon);
    self->endpoint = strdup(endpoint);
    self->sock = zsock_new(ZMQ_XPUB);
    if (!self->sock || !self->endpoint) {
        dp_err_set(err, DP_ERR_INTERNAL, "tap: cannot create a socket");
        dp_tap_destroy(&self);
        return NULL;
    }
    zsock_set_sndhwm(self->sock, DP_TAP_SNDHWM);
    zsock_set_linger(self->sock, 0);
    zsock_set_sndtimeo(self->sock, 0);
    if (zsock_bind(self->sock, "%s", endpoint) < 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "tap: cannot bind %s: %s", endpoint,
                   zmq_strerror(zmq_errno()));
        dp_tap_destroy(&self);
        return NULL;
    }
    self->bound = true;
    return self;
}

//  --------------------------------------------------------------------------
dp_tap_t *dp_tap_new(const char *control_dir, const char *daemon, const char *node, dp_err_t *err)
{
    char endpoint[S_IPC_PATH_MAX + 16];
    if (!s_valid_name(daemon) || !s_valid_name(node) ||
        dp_tap_endpoint(control_dir, daemon, node, endpoint, sizeof endpoint) != 0) {
        dp_err_set(err, DP_ERR_CONFIG,
                   "tap: DP_CONTROL_DIR, daemon and node must give an ipc path of at most %d "
                   "characters",
                   S_IPC_PATH_MAX);
        return NULL;
    }
    return dp_tap_new_endpoint(endpoint, daemon, err);
}

//  --------------------------------------------------------------------------
void dp_tap_destroy(dp_tap_t **p)
{
    if (!p || !*p)
        return;
    dp_tap_t *self = *p;
    zsock_destroy(&self->sock);
    if (self->bound && self->endpoint && strncmp(self->endpoint, "ipc://", 6) == 0)
        unlink(self->endpoint + 6); /* so `distpoll tap` finds only live taps */
    pthread_mutex_destroy(&self->lock);
    free(self->endpoint);
    free(self);
    *p = NULL;
}

//  --------------------------------------------------------------------------
bool dp_tap_publish(dp_tap_t *tap, const char *topic, const void *bytes, size_t size)
{
    if (!tap || !topic)
        return false;
    char full[DP_TAP_TOPIC_MAX];
    int n = snprintf(full, sizeof full, "%s.%s", tap->daemon, topic);
    if (n < 0 || (size_t)n >= sizeof full)
        return false;
    bool sent = false;
    pthread_mutex_lock(&tap->lock);
    s_read_subscriptions(tap);
    if (tap->subscriptions > 0) {
        void *raw = zsock_resolve(tap->sock);
        if (zmq_send(raw, full, (size_t)n, ZMQ_SNDMORE | ZMQ_DONTWAIT) == n)
            sent = zmq_send(raw, bytes, size, ZMQ_DONTWAIT) == (int)size;
        if (sent)
            tap->published++;
        else
            tap->dropped++;
    }
    pthread_mutex_unlock(&tap->lock);
    return sent;
}

//  --------------------------------------------------------------------------
bool dp_tap_listening(dp_tap_t *tap)
{
    if (!tap)
        return false;
    pthread_mutex_lock(&tap->lock);
    bool on = tap->subscriptions > 0;
    pthread_mutex_unlock(&tap->lock);
    return on;
}

//  --------------------------------------------------------------------------
bool dp_tap_poll(dp_tap_t *tap)
{
    if (!tap)
        return false;
    pthread_mutex_lock(&tap->lock);
    s_read_subscriptions(tap);
    bool on = tap->subscriptions > 0;
    pthread_mutex_unlock(&tap->lock);
    return on;
}

//  --------------------------------------------------------------------------
uint64_t dp_tap_published(const dp_tap_t *tap)
{
    return tap ? tap->published : 0;
}

//  --------------------------------------------------------------------------
uint64_t dp_tap_dropped(const dp_tap_t *tap)
{
    return tap ? tap->dropped : 0;
}

//  --------------------------------------------------------------------------
const char *dp_tap_bound(const dp_tap_t *tap)
{
    return tap ? tap->endpoint : NULL;
}
