/*  dp_daemon.h - daemon lifecycle: signals in the zloop, control socket, drain on SIGTERM
    One dp_daemon_t per process, used from the main thread only. Signals are read from a
    signalfd inside the zloop (no code runs in a signal handler). States follow rrdcached:
    RUNNING -> DRAINING (SIGTERM/SIGINT: stop taking work, finish in-flight) -> STOPPED.
    The control socket is a plain ZeroMQ ROUTER on a local endpoint (ipc:// recommended);
    requests and replies are one text frame each: PING, STATS, CONFIG, custom verbs.
    SPDX-License-Identifier: MIT */
#ifndef DP_DAEMON_H
#define DP_DAEMON_H

#include "dp_err.h"
#include "dp_stats.h"

#include <czmq.h>

#define DP_DAEMON_DRAIN_MS   30000 /* default drain deadline */
#define DP_DAEMON_CMD_MAX    1024  /* longest control request, bytes */
#define DP_DAEMON_CTL_MAXMSG 65536 /* control socket MAXMSGSIZE */

typedef enum {
    DP_DAEMON_RUNNING = 0, /* taking work */
    DP_DAEMON_DRAINING,    /* SIGTERM seen: finishing in-flight work */
    DP_DAEMON_STOPPED,     /* loop ended or ending */
} dp_daemon_state_t;

typedef struct dp_daemon dp_daemon_t;

/* Called in the loop on SIGTERM/SIGINT (drain) or SIGHUP (reload). */
typedef void(dp_daemon_fn)(dp_daemon_t *d, void *arg);

/* Answers a custom control verb; args is the text after the first space ("" if none).
   Returns a malloc'd reply (the daemon frees it) or NULL for an unknown verb. */
typedef char *(dp_daemon_command_fn)(dp_daemon_t *d, const char *verb, const char *args, void *arg);

/* Returns the malloc'd config text for CONFIG, secrets masked (the daemon frees it). */
typedef char *(dp_daemon_config_fn)(dp_daemon_t *d, void *arg);

/* Call first thing in main, before any thread or socket exists: blocks SIGTERM, SIGINT,
   SIGHUP and SIGPIPE in the calling thread (threads inherit the mask), stops czmq from
   installing its own handlers and routes czmq's log to stderr. Returns 0 or -1. */
int dp_daemon_block_signals(void);

/* Creates the daemon: a zloop, a signalfd reader and, when control_endpoint is not NULL, the
   control socket bound there. An ipc:// file left by a dead daemon is removed; a live daemon
   on it is refused (DP_ERR_BUSY). Signals must be blocked first (DP_ERR_INTERNAL if not).
   Caller owns result; free with dp_daemon_destroy. NULL on error (err set). */
dp_daemon_t *dp_daemon_new(const char *name, const char *node_id, const char *control_endpoint,
                           dp_err_t *err);

/* Destroys the daemon, its loop, control socket and stats. NULL-safe; sets *p to NULL. */
void dp_daemon_destroy(dp_daemon_t **p);

/* Sets the drain callback: it must stop taking new work and call dp_daemon_drained once
   in-flight work is done. Without one, SIGTERM stops the loop at once. */
void dp_daemon_on_drain(dp_daemon_t *d, dp_daemon_fn *fn, void *arg);

/* Sets the SIGHUP callback (re-read the reloadable settings). */
void dp_daemon_on_reload(dp_daemon_t *d, dp_daemon_fn *fn, void *arg);

/* Sets the handler of custom control verbs. */
void dp_daemon_on_command(dp_daemon_t *d, dp_daemon_command_fn *fn, void *arg);

/* Sets the CONFIG handler; without one CONFIG answers "ERR no config". */
void dp_daemon_on_config(dp_daemon_t *d, dp_daemon_config_fn *fn, void *arg);

/* Sets the drain deadline (ms, > 0); default DP_DAEMON_DRAIN_MS. */
void dp_daemon_set_drain_timeout(dp_daemon_t *d, int timeout_ms);

/* The daemon's loop, for adding its own readers and timers. Borrowed. */
zloop_t *dp_daemon_loop(dp_daemon_t *d);

/* Runs the loop until STOPPED. Returns 0 after a clean drain, -1 when the drain deadline
   expired with work still in flight or the loop failed. */
int dp_daemon_run(dp_daemon_t *d);

/* Tells the daemon its in-flight work is done: the loop ends and the state becomes
   STOPPED. Called while RUNNING it is a clean self-stop. Idempotent. */
void dp_daemon_drained(dp_daemon_t *d);

/* Current state. */
dp_daemon_state_t dp_daemon_state(const dp_daemon_t *d);

/* "running", "draining" or "stopped". Static string. */
const char *dp_daemon_state_name(dp_daemon_state_t state);

/* The daemon's counters, listed by STATS. Borrowed; lives as long as the daemon. */
dp_stats_t *dp_daemon_stats(dp_daemon_t *d);

/* Name and node given to dp_daemon_new. Borrowed. */
const char *dp_daemon_name(const dp_daemon_t *d);
const char *dp_daemon_node(const dp_daemon_t *d);

/* Sends one control command to the daemon at endpoint and waits up to timeout_ms for the
   reply. Caller owns result; free with free(). NULL with err DP_ERR_UNREACHABLE (nothing
   accepted the connection), DP_ERR_TIMEOUT (no answer) or DP_ERR_CONFIG (bad arguments). */
char *dp_daemon_ctl(const char *endpoint, const char *command, int timeout_ms, dp_err_t *err);

#endif
