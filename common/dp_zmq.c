/*  dp_zmq.c - ZeroMQ endpoints: CURVE keys from APP_KEY, a ZAP handler, house socket options
    The ZAP handler is one actor per process (ZAP is per zmq context and czmq uses one);
    its counters are process-wide atomics. Key material is wiped after use and never logged.
    SPDX-License-Identifier: MIT */
#include "dp_zmq.h"
#include "dp_log.h"
#include "dp_time.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define DP_ZMQ_ZAP_ENDPOINT   "inproc://zeromq.zap.01"
#define DP_ZMQ_ZAP_VERSION    "1.0"
#define DP_ZMQ_CTX_SERVER     "distpoll zmq server v1"
#define DP_ZMQ_CTX_CLIENT     "distpoll zmq client v1"
#define DP_ZMQ_KEY_BYTES      32
#define DP_ZMQ_ZAP_MIN_FRAMES 6     /* version, id, domain, address, identity, mechanism */
#define DP_ZMQ_DENY_LOG_MS    10000 /* one denial line per peer address per 10 s */
#define DP_ZMQ_DENY_SLOTS     64    /* peer addresses remembered for rate limiting */
#define DP_ZMQ_ADDR_MAX       64
#define DP_ZMQ_ENDPOINT_MAX   1024
#define DP_ZMQ_PORT_MAX       65535
#define DP_ZMQ_EVENT_HEAD     6 /* monitor frame: uint16 event + uint32 value */
#define DP_ZMQ_MONITOR_EVENTS                                                                      \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)

typedef struct {
    char addr[DP_ZMQ_ADDR_MAX]; /* peer address ("127.0.0.1") */
    int64_t last_log_ms;        /* monotonic time of the last line for it */
    uint64_t suppressed;        /* denials not logged since then */
} s_deny_slot_t;

typedef struct {
    uint8_t client_key[DP_ZMQ_KEY_BYTES];   /* the allowed client public key */
    bool bound;                             /* actor bound the ZAP endpoint */
    s_deny_slot_t slots[DP_ZMQ_DENY_SLOTS]; /* rate limiter, actor thread only */
} s_auth_t;

static zactor_t *s_auth_actor;          /* set and cleared by the main thread */
static s_auth_t *s_auth_state;          /* owned with s_auth_actor */
static atomic_bool s_auth_up;           /* readable from any thread */
static atomic_uint_fast64_t s_allowed;  /* ZAP 200 replies */
static atomic_uint_fast64_t s_denied;   /* ZAP 400 replies */
static atomic_uint_fast64_t s_monitors; /* numbering of monitor endpoints */

//  --------------------------------------------------------------------------
//  Key derivation

static void s_derive_pair(const uint8_t *master, const char *context, char *pub_z85, char *sec_z85)
{
    uint8_t sk[DP_ZMQ_KEY_BYTES], pk[DP_ZMQ_KEY_BYTES];
    crypto_generichash(sk, sizeof sk, (const uint8_t *)context, strlen(context), master,
                       DP_ZMQ_KEY_BYTES);
    crypto_scalarmult_base(pk, sk);
    zmq_z85_encode(sec_z85, sk, sizeof sk);
    zmq_z85_encode(pub_z85, pk, sizeof pk);
    sodium_memzero(sk, sizeof sk);
}

//  --------------------------------------------------------------------------
//  ZAP handler (actor thread)

static bool s_frame_is(zframe_t *f, const char *text)
{
    size_t n = strlen(text);
    return f && zframe_size(f) == n && memcmp(zframe_data(f), text, n) == 0;
}

static void s_frame_text(zframe_t *f, char *buf, size_t size)
{
    size_t n = f ? zframe_size(f) : 0;
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++) {
        char c = (char)zframe_data(f)[i];
        buf[i] = isprint((unsigned char)c) ? c : '?';
    }
    buf[n] = '\0';
}

static void s_log_denial(s_auth_t *self, const char *addr, const char *mechanism,
                         const char *reason)
{
    int64_t now = dp_time_mono_ms();
    s_deny_slot_t *slot = NULL, *oldest = &self->slots[0];
    for (int i = 0; i < DP_ZMQ_DENY_SLOTS && !slot; i++) {
        if (strcmp(self->slots[i].addr, addr) == 0)
            slot = &self->slots[i];
        else if (self->slots[i].last_log_ms < oldest->last_log_ms)
            oldest = &self->slots[i];
    }
    if (slot && now - slot->last_log_ms < DP_ZMQ_DENY_LOG_MS) {
        slot->suppressed++;
        return;
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->addr, sizeof slot->addr, "%s", addr);
        slot->suppressed = 0;
    }
    dp_log_warn("zap denied", "peer=%s mechanism=%s reason=\"%s\" suppressed=%llu", addr, mechanism,
                reason, (unsigned long long)slot->suppressed);
    slot->last_log_ms = now;
    slot->suppressed = 0;
}

//  Decides one request; returns the reason for a denial or NULL to allow.
static const char *s_auth_check(s_auth_t *self, zframe_t **frames, size_t n)
{
    if (n < DP_ZMQ_ZAP_MIN_FRAMES || !s_frame_is(frames[0], DP_ZMQ_ZAP_VERSION))
        return "malformed zap request";
    if (!s_frame_is(frames[2], DP_ZMQ_ZAP_DOMAIN))
        return "unknown zap domain";
    if (!s_frame_is(frames[5], "CURVE"))
        return "mechanism not allowed";
    if (n < DP_ZMQ_ZAP_MIN_FRAMES + 1 || zframe_size(frames[6]) != DP_ZMQ_KEY_BYTES)
        return "missing client key";
    if (sodium_memcmp(zframe_data(frames[6]), self->client_key, DP_ZMQ_KEY_BYTES) != 0)
        return "unknown client key";
    return NULL;
}

static void s_auth_handle(s_auth_t *self, zsock_t *handler)
{
    zmsg_t *req = zmsg_recv(handler);
    if (!req)
        return;
    zframe_t *frames[DP_ZMQ_ZAP_MIN_FRAMES + 1] = {NULL};
    size_t n = 0;
    for (zframe_t *f = zmsg_first(req); f && n < DP_ZMQ_ZAP_MIN_FRAMES + 1; f = zmsg_next(req))
        frames[n++] = f;
    const char *reason = s_auth_check(self, frames, n);
    /* counted before the reply: once a peer is through, the count already shows it */
    atomic_fetch_add(reason ? &s_denied : &s_allowed, 1);

    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, DP_ZMQ_ZAP_VERSION);
    zframe_t *request_id = n > 1 ? zframe_dup(frames[1]) : zframe_new_empty();
    zmsg_append(reply, &request_id);
    zmsg_addstr(reply, reason ? "400" : "200");
    zmsg_addstr(reply, reason ? reason : "OK");
    zmsg_addstr(reply, reason ? "" : DP_ZMQ_ZAP_DOMAIN); /* User-Id */
    zmsg_addmem(reply, "", 0);                           /* metadata */
    if (zmsg_send(&reply, handler) != 0)
        zmsg_destroy(&reply);

    if (reason) {
        char addr[DP_ZMQ_ADDR_MAX], mech[16];
        s_frame_text(n > 3 ? frames[3] : NULL, addr, sizeof addr);
        s_frame_text(n > 5 ? frames[5] : NULL, mech, sizeof mech);
        s_log_denial(self, addr, mech, reason);
    }
    zmsg_destroy(&req);
}

static void s_auth_run(zsock_t *pipe, void *args)
{
    s_auth_t *self = args;
    zsock_t *handler = zsock_new(ZMQ_REP);
    self->bound = handler && zsock_bind(handler, "%s", DP_ZMQ_ZAP_ENDPOINT) == 0;
    zsock_signal(pipe, 0);
    if (!self->bound) {
        zsock_destroy(&handler);
        return;
    }
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    /* never stop on czmq's interrupt flag: a process whose CURVE servers outlive this
       handler would accept any client that knows the server key */
    zpoller_set_nonstop(poller, true);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == handler)
            s_auth_handle(self, handler);
        else if (which == pipe) {
            char *cmd = zstr_recv(pipe);
            bool term = !cmd || streq(cmd, "$TERM");
            zstr_free(&cmd);
            if (term)
                break;
        } else if (zpoller_terminated(poller))
            break;
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
}

//  --------------------------------------------------------------------------
//  Endpoint checks

static bool s_port_valid(const char *p)
{
    if (strcmp(p, "*") == 0)
        return true;
    if (!*p || strlen(p) > 5)
        return false;
    for (const char *c = p; *c; c++)
        if (!isdigit((unsigned char)*c))
            return false;
    long port = strtol(p, NULL, 10);
    return port >= 1 && port <= DP_ZMQ_PORT_MAX;
}

static bool s_host_valid(const char *h, size_t len)
{
    if (len == 0)
        return false;
    if (h[0] == '[') {
        if (len < 3 || h[len - 1] != ']')
            return false;
        for (size_t i = 1; i < len - 1; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return false;
        return true;
    }
    if (len == 1 && h[0] == '*')
        return true;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
            return false;
    return true;
}

static bool s_tcp_split(const char *rest, const char **host, size_t *host_len)
{
    const char *colon = strrchr(rest, ':');
    if (!colon)
        return false;
    *host = rest;
    *host_len = (size_t)(colon - rest);
    return s_host_valid(rest, *host_len) && s_port_valid(colon + 1);
}

static bool s_is_loopback_host(const char *h, size_t len)
{
    if (len == strlen("localhost") && strncmp(h, "localhost", len) == 0)
        return true;
    if (len == strlen("[::1]") && strncmp(h, "[::1]", len) == 0)
        return true;
    if (len < 4 || strncmp(h, "127.", 4) != 0)
        return false;
    int dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (h[i] == '.')
            dots++;
        else if (!isdigit((unsigned char)h[i]))
            return false;
    }
    return dots == 3;
}

//  Validates opts (may be NULL) and fills in the house defaults.
static int s_opts_resolve(const dp_zmq_opts_t *in, dp_zmq_opts_t *out, dp_err_t *err)
{
    *out = in ? *in : (dp_zmq_opts_t){0};
    if (out->sndhwm < 0 || out->rcvhwm < 0 || out->linger_ms < 0 || out->maxmsgsize < 0)
        return dp_err_set(err, DP_ERR_CONFIG, "negative socket option (hwm, linger, maxmsgsize)");
    out->sndhwm = out->sndhwm ? out->sndhwm : DP_ZMQ_HWM;
    out->rcvhwm = out->rcvhwm ? out->rcvhwm : DP_ZMQ_HWM;
    out->linger_ms = out->linger_ms ? out->linger_ms : DP_ZMQ_LINGER_MS;
    out->maxmsgsize = out->maxmsgsize ? out->maxmsgsize : DP_ZMQ_MAXMSGSIZE;
    return 0;
}

static zsock_t *s_socket_new(int type, const dp_zmq_opts_t *o, bool connecter, dp_err_t *err)
{
    zsock_t *s = zsock_new(type);
    if (!s) {
        dp_err_set(err, DP_ERR_INTERNAL, "zsock_new(type %d): %s", type, zmq_strerror(errno));
        return NULL;
    }
    zsock_set_sndhwm(s, o->sndhwm);
    zsock_set_rcvhwm(s, o->rcvhwm);
    zsock_set_linger(s, o->linger_ms);
    zsock_set_maxmsgsize(s, o->maxmsgsize);
    zsock_set_heartbeat_ivl(s, DP_ZMQ_HEARTBEAT_IVL_MS);
    zsock_set_heartbeat_timeout(s, DP_ZMQ_HEARTBEAT_TMO_MS);
    zsock_set_heartbeat_ttl(s, DP_ZMQ_HEARTBEAT_TTL_MS);
    zsock_set_handshake_ivl(s, DP_ZMQ_HANDSHAKE_IVL_MS);
    if (connecter)
        zsock_set_immediate(s, 1);
    return s;
}

static int s_check_security(const char *endpoint, const dp_zmq_keys_t *keys, dp_err_t *err)
{
    if (!dp_zmq_endpoint_valid(endpoint))
        return dp_err_set(err, DP_ERR_CONFIG, "invalid endpoint '%s'", endpoint);
    if (!keys && !dp_zmq_endpoint_is_local(endpoint))
        return dp_err_set(err, DP_ERR_CONFIG,
                          "refusing a plain (unencrypted) socket on non-local endpoint %s",
                          endpoint);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_zmq_keys_derive(const char *app_key, dp_zmq_keys_t *out, dp_err_t *err)
{
    if (!app_key || !*app_key)
        return dp_err_set(err, DP_ERR_CONFIG, "APP_KEY is empty: cannot derive CURVE keys");
    if (sodium_init() < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "libsodium initialisation failed");
    uint8_t master[DP_ZMQ_KEY_BYTES];
    crypto_generichash(master, sizeof master, (const uint8_t *)app_key, strlen(app_key), NULL, 0);
    s_derive_pair(master, DP_ZMQ_CTX_SERVER, out->server_public, out->server_secret);
    s_derive_pair(master, DP_ZMQ_CTX_CLIENT, out->client_public, out->client_secret);
    sodium_memzero(master, sizeof master);
    return 0;
}

//  --------------------------------------------------------------------------
void dp_zmq_keys_wipe(dp_zmq_keys_t *keys)
{
    if (keys)
        sodium_memzero(keys, sizeof *keys);
}

//  --------------------------------------------------------------------------
int dp_zmq_auth_start(const dp_zmq_keys_t *keys, dp_err_t *err)
{
    if (!keys)
        return dp_err_set(err, DP_ERR_CONFIG, "ZAP handler needs keys");
    if (s_auth_actor)
        return dp_err_set(err, DP_ERR_INTERNAL, "ZAP handler already running");
    s_auth_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    if (!zmq_z85_decode(self->client_key, keys->client_public)) {
        free(self);
        return dp_err_set(err, DP_ERR_CONFIG, "client public key is not valid Z85");
    }
    zactor_t *actor = zactor_new(s_auth_run, self);
    if (!actor || !self->bound) {
        zactor_destroy(&actor);
        sodium_memzero(self, sizeof *self);
        free(self);
        return dp_err_set(err, DP_ERR_INTERNAL,
                          "cannot bind ZAP handler on %s (another handler in this process?)",
                          DP_ZMQ_ZAP_ENDPOINT);
    }
    s_auth_actor = actor;
    s_auth_state = self;
    atomic_store(&s_auth_up, true);
    return 0;
}

//  --------------------------------------------------------------------------
void dp_zmq_auth_stop(void)
{
    if (!s_auth_actor)
        return;
    atomic_store(&s_auth_up, false);
    zactor_destroy(&s_auth_actor);
    sodium_memzero(s_auth_state, sizeof *s_auth_state);
    free(s_auth_state);
    s_auth_state = NULL;
}

//  --------------------------------------------------------------------------
bool dp_zmq_auth_running(void)
{
    return atomic_load(&s_auth_up);
}

//  --------------------------------------------------------------------------
uint64_t dp_zmq_auth_allowed(void)
{
    return atomic_load(&s_allowed);
}

//  --------------------------------------------------------------------------
uint64_t dp_zmq_auth_denied(void)
{
    return atomic_load(&s_denied);
}

//  --------------------------------------------------------------------------
bool dp_zmq_endpoint_valid(const char *ep)
{
    if (!ep || strlen(ep) >= DP_ZMQ_ENDPOINT_MAX)
        return false;
    for (const char *c = ep; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == ',')
            return false;
    const char *host;
    size_t host_len;
    if (strncmp(ep, "tcp://", 6) == 0)
        return s_tcp_split(ep + 6, &host, &host_len);
    if (strncmp(ep, "ipc://", 6) == 0)
        return ep[6] != '\0' && strlen(ep + 6) < sizeof(((struct sockaddr_un *)0)->sun_path);
    if (strncmp(ep, "inproc://", 9) == 0)
        return ep[9] != '\0';
    return false;
}

//  --------------------------------------------------------------------------
bool dp_zmq_endpoint_is_local(const char *ep)
{
    if (!dp_zmq_endpoint_valid(ep))
        return false;
    if (strncmp(ep, "tcp://", 6) != 0)
        return true;
    const char *host;
    size_t host_len;
    return s_tcp_split(ep + 6, &host, &host_len) && s_is_loopback_host(host, host_len);
}

//  --------------------------------------------------------------------------
zsock_t *dp_zmq_server_opts(int type, const char *endpoint, const dp_zmq_keys_t *keys,
                            const dp_zmq_opts_t *opts, dp_err_t *err)
{
    dp_zmq_opts_t o;
    if (s_check_security(endpoint, keys, err) != 0 || s_opts_resolve(opts, &o, err) != 0)
        return NULL;
    if (keys && !dp_zmq_auth_running()) {
        dp_err_set(err, DP_ERR_CONFIG,
                   "ZAP handler not running: refusing to bind %s without client authentication",
                   endpoint);
        return NULL;
    }
    zsock_t *s = s_socket_new(type, &o, false, err);
    if (!s)
        return NULL;
    if (keys) {
        zsock_set_curve_server(s, 1);
        zsock_set_curve_secretkey(s, keys->server_secret);
        zsock_set_zap_domain(s, DP_ZMQ_ZAP_DOMAIN);
    }
    if (zsock_bind(s, "%s", endpoint) == -1) {
        dp_err_set(err, DP_ERR_UNREACHABLE, "bind %s: %s", endpoint, zmq_strerror(errno));
        zsock_destroy(&s);
    }
    return s;
}

//  --------------------------------------------------------------------------
zsock_t *dp_zmq_server(int type, const char *endpoint, const dp_zmq_keys_t *keys, dp_err_t *err)
{
    return dp_zmq_server_opts(type, endpoint, keys, NULL, err);
}

//  --------------------------------------------------------------------------
zsock_t *dp_zmq_client_opts(int type, const char *endpoints, const dp_zmq_keys_t *keys,
                            const dp_zmq_opts_t *opts, dp_err_t *err)
{
    dp_zmq_opts_t o;
    if (!endpoints || strlen(endpoints) >= DP_ZMQ_ENDPOINT_MAX) {
        dp_err_set(err, DP_ERR_CONFIG, "endpoint list missing or too long");
        return NULL;
    }
    if (s_opts_resolve(opts, &o, err) != 0)
        return NULL;
    char list[DP_ZMQ_ENDPOINT_MAX];
    snprintf(list, sizeof list, "%s", endpoints);
    int count = 0;
    char *save = NULL;
    for (char *ep = strtok_r(list, ", ", &save); ep; ep = strtok_r(NULL, ", ", &save), count++)
        if (s_check_security(ep, keys, err) != 0)
            return NULL;
    if (count == 0) {
        dp_err_set(err, DP_ERR_CONFIG, "endpoint list '%s' is empty", endpoints);
        return NULL;
    }
    zsock_t *s = s_socket_new(type, &o, true, err);
    if (!s)
        return NULL;
    if (keys) {
        zsock_set_curve_serverkey(s, keys->server_public);
        zsock_set_curve_publickey(s, keys->client_public);
        zsock_set_curve_secretkey(s, keys->client_secret);
    }
    snprintf(list, sizeof list, "%s", endpoints);
    for (char *ep = strtok_r(list, ", ", &save); ep; ep = strtok_r(NULL, ", ", &save))
        if (zsock_connect(s, "%s", ep) == -1) {
            dp_err_set(err, DP_ERR_UNREACHABLE, "connect %s: %s", ep, zmq_strerror(errno));
            zsock_destroy(&s);
            break;
        }
    return s;
}

//  --------------------------------------------------------------------------
zsock_t *dp_zmq_client(int type, const char *endpoints, const dp_zmq_keys_t *keys, dp_err_t *err)
{
    return dp_zmq_client_opts(type, endpoints, keys, NULL, err);
}

//  --------------------------------------------------------------------------
zsock_t *dp_zmq_monitor(zsock_t *s, dp_err_t *err)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://dp-zmq-monitor-%d-%llu", (int)getpid(),
             (unsigned long long)atomic_fetch_add(&s_monitors, 1));
    if (zmq_socket_monitor(zsock_resolve(s), ep, DP_ZMQ_MONITOR_EVENTS) != 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "zmq_socket_monitor: %s", zmq_strerror(errno));
        return NULL;
    }
    zsock_t *mon = zsock_new(ZMQ_PAIR);
    if (!mon || zsock_connect(mon, "%s", ep) != 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "monitor connect: %s", zmq_strerror(errno));
        zmq_socket_monitor(zsock_resolve(s), NULL, 0);
        zsock_destroy(&mon);
    }
    return mon;
}

//  --------------------------------------------------------------------------
int dp_zmq_monitor_recv(zsock_t *monitor, dp_zmq_event_t *ev)
{
    zmsg_t *m = zmsg_recv(monitor);
    zframe_t *head = m ? zmsg_first(m) : NULL;
    if (!head || zframe_size(head) != DP_ZMQ_EVENT_HEAD) {
        zmsg_destroy(&m);
        return -1;
    }
    uint16_t event;
    memcpy(&event, zframe_data(head), sizeof event);
    memcpy(&ev->value, zframe_data(head) + sizeof event, sizeof ev->value);
    ev->event = event;
    s_frame_text(zmsg_next(m), ev->endpoint, sizeof ev->endpoint);
    zmsg_destroy(&m);
    return 0;
}

//  --------------------------------------------------------------------------
bool dp_zmq_event_is_failure(const dp_zmq_event_t *ev)
{
    return ev->event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
           ev->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
           ev->event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}

//  --------------------------------------------------------------------------
const char *dp_zmq_event_name(int event)
{
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        return "handshake_failed_no_detail";
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        return "handshake_failed_protocol";
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return "handshake_failed_auth";
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        return "handshake_succeeded";
    }
    return "other";
}

//  --------------------------------------------------------------------------
int dp_zmq_send_bytes(zsock_t *s, const void *data, size_t size, int flags)
{
    return zmq_send(zsock_resolve(s), data, size, flags) < 0 ? -1 : 0;
}

//  Waits until s is readable. Returns 0 or -1 (err set).
static int s_wait_readable(zsock_t *s, int timeout_ms, dp_err_t *err)
{
    zmq_pollitem_t item = {zsock_resolve(s), 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll(&item, 1, timeout_ms);
    if (rc == 0)
        return dp_err_set(err, DP_ERR_TIMEOUT, "nothing received within %d ms", timeout_ms);
    if (rc < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "poll: %s", zmq_strerror(errno));
    return 0;
}

//  --------------------------------------------------------------------------
zframe_t *dp_zmq_recv_frame(zsock_t *s, int timeout_ms, dp_err_t *err)
{
    if (s_wait_readable(s, timeout_ms, err) != 0)
        return NULL;
    zframe_t *f = zframe_recv(s);
    if (!f)
        dp_err_set(err, DP_ERR_INTERNAL, "receive: %s", zmq_strerror(errno));
    return f;
}

//  --------------------------------------------------------------------------
zmsg_t *dp_zmq_recv_msg(zsock_t *s, int timeout_ms, dp_err_t *err)
{
    if (s_wait_readable(s, timeout_ms, err) != 0)
        return NULL;
    zmsg_t *m = zmsg_recv(s);
    if (!m)
        dp_err_set(err, DP_ERR_INTERNAL, "receive: %s", zmq_strerror(errno));
    return m;
}
