/*  dp_zmq.h - ZeroMQ endpoints: CURVE keys from APP_KEY, a ZAP handler, house socket options
    Every socket that crosses nodes is CURVE-encrypted and authenticated: servers use one
    keypair derived from APP_KEY and accept only clients holding the derived client key (the
    ZAP handler checks it; CURVE without ZAP accepts any client that knows the server key).
    Plain sockets (keys NULL) are allowed only on local endpoints: ipc://, inproc:// and
    tcp:// on a loopback address; they are meant for control sockets.
    Sockets follow czmq rules: use them only in the thread that created them.
    SPDX-License-Identifier: MIT */
#ifndef DP_ZMQ_H
#define DP_ZMQ_H

#include "dp_err.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define DP_ZMQ_Z85_KEY_LEN      40         /* Z85 text of a 32-byte key */
#define DP_ZMQ_ZAP_DOMAIN       "distpoll" /* ZAP domain of every CURVE server */
#define DP_ZMQ_LINGER_MS        2000       /* bounded, non-zero: a drain delivers what is queued */
#define DP_ZMQ_MAXMSGSIZE       (4 << 20)  /* bytes; larger inbound messages drop the peer */
#define DP_ZMQ_HEARTBEAT_IVL_MS 1000       /* ZMTP PING interval */
#define DP_ZMQ_HEARTBEAT_TMO_MS 3000       /* peer declared dead after this silence */
#define DP_ZMQ_HEARTBEAT_TTL_MS 3000       /* TTL we ask the peer to apply */
#define DP_ZMQ_HANDSHAKE_IVL_MS 5000       /* sheds connections that never finish the handshake */
#define DP_ZMQ_HWM              1000       /* default SNDHWM/RCVHWM (per peer) */

/* CURVE keys as Z85 text, NUL-terminated. Secret parts must never be logged. */
typedef struct {
    char server_public[DP_ZMQ_Z85_KEY_LEN + 1]; /* shared by every binding socket */
    char server_secret[DP_ZMQ_Z85_KEY_LEN + 1];
    char client_public[DP_ZMQ_Z85_KEY_LEN + 1]; /* the one client key the ZAP handler allows */
    char client_secret[DP_ZMQ_Z85_KEY_LEN + 1];
} dp_zmq_keys_t;

/* Per-socket overrides; a zero field means the house default. */
typedef struct {
    int sndhwm;     /* messages per peer; default DP_ZMQ_HWM */
    int rcvhwm;     /* messages per peer; default DP_ZMQ_HWM */
    int linger_ms;  /* default DP_ZMQ_LINGER_MS; negative values are refused */
    int maxmsgsize; /* bytes; default DP_ZMQ_MAXMSGSIZE */
} dp_zmq_opts_t;

/* Derives the server and client keypairs from app_key with libsodium (BLAKE2b keyed by a
   hash of app_key, one context per role). Deterministic: every node with the same APP_KEY
   gets the same keys. Returns 0 or -1 (err DP_ERR_CONFIG for an empty key). */
int dp_zmq_keys_derive(const char *app_key, dp_zmq_keys_t *out, dp_err_t *err);

/* Overwrites keys with zeros (sodium_memzero). NULL-safe. */
void dp_zmq_keys_wipe(dp_zmq_keys_t *keys);

/* Starts this process's ZAP handler (an actor on inproc://zeromq.zap.01) that answers 200
   only for mechanism CURVE, domain DP_ZMQ_ZAP_DOMAIN and the derived client public key, 400
   otherwise. Denials are counted and logged at most once per peer address per 10 s.
   Call from main before creating CURVE servers. Returns 0 or -1 (err set: already running,
   or another ZAP handler holds the endpoint). */
int dp_zmq_auth_start(const dp_zmq_keys_t *keys, dp_err_t *err);

/* Stops the ZAP handler; CURVE servers created later are refused. Destroy CURVE servers
   first: libzmq lets a server whose handler is gone accept any client that knows the server
   key. Idempotent. */
void dp_zmq_auth_stop(void);

/* True while the ZAP handler runs. */
bool dp_zmq_auth_running(void);

/* ZAP requests allowed / denied since the process started. Thread-safe. */
uint64_t dp_zmq_auth_allowed(void);
uint64_t dp_zmq_auth_denied(void);

/* True for tcp://HOST:PORT (HOST a name, IPv4, [IPv6] or *, PORT 1-65535 or *),
   ipc://PATH (fits in a unix socket path) and inproc://NAME. No spaces. */
bool dp_zmq_endpoint_valid(const char *ep);

/* True when ep is valid and local-only: ipc://, inproc://, or tcp:// on 127.x, ::1 or
   localhost. Such endpoints may be plain. */
bool dp_zmq_endpoint_is_local(const char *ep);

/* Creates a socket of type (ZMQ_PULL, ZMQ_ROUTER, ...) bound to endpoint with the house
   options. With keys: a CURVE server in ZAP domain DP_ZMQ_ZAP_DOMAIN, refused unless the
   ZAP handler runs. keys NULL: plain, refused unless the endpoint is local. opts may be NULL.
   Caller owns result; free with zsock_destroy. NULL on error (err set). */
zsock_t *dp_zmq_server_opts(int type, const char *endpoint, const dp_zmq_keys_t *keys,
                            const dp_zmq_opts_t *opts, dp_err_t *err);

/* dp_zmq_server_opts with default options. */
zsock_t *dp_zmq_server(int type, const char *endpoint, const dp_zmq_keys_t *keys, dp_err_t *err);

/* Creates a socket of type connected to each endpoint of a comma-separated list, with the
   house options plus ZMQ_IMMEDIATE=1. With keys: a CURVE client using the derived client
   keypair and server key. keys NULL: plain, only to local endpoints. opts may be NULL.
   Caller owns result; free with zsock_destroy. NULL on error (err set). */
zsock_t *dp_zmq_client_opts(int type, const char *endpoints, const dp_zmq_keys_t *keys,
                            const dp_zmq_opts_t *opts, dp_err_t *err);

/* dp_zmq_client_opts with default options. */
zsock_t *dp_zmq_client(int type, const char *endpoints, const dp_zmq_keys_t *keys, dp_err_t *err);

/* One ZMTP handshake event from a monitor (see dp_zmq_monitor). */
typedef struct {
    int event;          /* ZMQ_EVENT_HANDSHAKE_SUCCEEDED or ZMQ_EVENT_HANDSHAKE_FAILED_* */
    uint32_t value;     /* errno, ZMTP protocol error or ZAP status (400) */
    char endpoint[128]; /* endpoint the event is about (may be truncated) */
} dp_zmq_event_t;

/* Starts a handshake monitor on s, so a server can count and log peers refused before ZAP
   (another APP_KEY, plaintext). Returns a PAIR socket to poll (zloop_reader) and read with
   dp_zmq_monitor_recv. Caller owns result; free with zsock_destroy. NULL on error. */
zsock_t *dp_zmq_monitor(zsock_t *s, dp_err_t *err);

/* Reads one event from a monitor socket. Returns 0 or -1 (nothing readable or garbled). */
int dp_zmq_monitor_recv(zsock_t *monitor, dp_zmq_event_t *ev);

/* True for the ZMQ_EVENT_HANDSHAKE_FAILED_* events. */
bool dp_zmq_event_is_failure(const dp_zmq_event_t *ev);

/* Short name of an event ("handshake_failed_auth"). Static string. */
const char *dp_zmq_event_name(int event);

/* Sends size bytes as one frame; flags are ZMQ_SNDMORE / ZMQ_DONTWAIT. Returns 0 or -1
   (errno from zmq_send: EAGAIN when DONTWAIT or a send timeout finds no room). */
int dp_zmq_send_bytes(zsock_t *s, const void *data, size_t size, int flags);

/* Receives one frame, waiting up to timeout_ms (-1 forever, 0 no wait). Caller owns result;
   free with zframe_destroy. NULL with err DP_ERR_TIMEOUT when nothing arrived in time, or
   DP_ERR_INTERNAL when the socket failed or the process is shutting down. */
zframe_t *dp_zmq_recv_frame(zsock_t *s, int timeout_ms, dp_err_t *err);

/* Receives a whole multi-frame message, waiting up to timeout_ms (-1 forever, 0 no wait).
   Caller owns result; free with zmsg_destroy. NULL with err as dp_zmq_recv_frame. */
zmsg_t *dp_zmq_recv_msg(zsock_t *s, int timeout_ms, dp_err_t *err);

#endif
