/*  dp_snmp_int.h - dp_snmp internals shared by its files (not a public API)
    dp_snmp.c: the engine (slots, timer heap, wait queue, the v1/v2c shared socket, the loop
    turn). dp_snmp_walk.c: a walk's requests and what replies do to it. dp_snmp_sess.c: v3 sessions
   on net-snmp's single-session API (one socket each, USM under a process-wide lock, engine-id
   probe). A session is one or the other: shared (sp NULL) or net-snmp's (sp set, v3).
    SPDX-License-Identifier: MIT */
#ifndef DP_SNMP_INT_H
#define DP_SNMP_INT_H

#include "dp_snmp.h"
#include "dp_snmp_udp.h"

#include <net-snmp/library/large_fd_set.h>

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define DP_SNMP_I_HOST_MAX 128
#define DP_SNMP_I_COMM_MAX 256

typedef enum {
    DP_SNMP_W_HOLD = 0, /* waiting for the v3 engine probe */
    DP_SNMP_W_QUEUED,   /* waiting for an in-flight slot */
    DP_SNMP_W_SENT,     /* request in flight */
    DP_SNMP_W_NEXT,     /* reply handled, another request needed */
    DP_SNMP_W_FINISHED, /* status set, completion pending */
} dp_snmp_wstate_t;

typedef struct dp_snmp_i_walk dp_snmp_i_walk_t;
struct dp_snmp_i_walk {
    dp_snmp_sess_t *sess;
    dp_snmp_wstate_t state;
    bool probe; /* v3 engine-id discovery, not a user walk */
    const dp_snmp_col_t *cols;
    int ncols;
    uint32_t done; /* bit per column */
    int max_rep, cols_per_req;
    int req_cols[DP_SNMP_COLS_MAX], req_n, req_nonrep;
    long reqid;
    int64_t due_ms; /* shared socket: this request's deadline */
    int tries_left; /* shared socket: resends left */
    size_t pkt_len; /* shared socket: the request as sent (for resends) */
    dp_snmp_status_t status;
    char detail[DP_SNMP_DETAIL_MAX];
    dp_snmp_var_fn *on_var;
    dp_snmp_done_fn *on_done;
    void *arg;
    dp_snmp_i_walk_t *qnext, *qprev; /* wait queue; qnext also links a closing session's dead */
    /* large parts last: not cleared on reuse (written before they are read) */
    oid cur[DP_SNMP_COLS_MAX][DP_SNMP_OID_MAX];
    size_t cur_len[DP_SNMP_COLS_MAX];
    u_char pkt[DP_SNMP_UDP_PKT_MAX];
};

struct dp_snmp_sess {
    dp_snmp_t *e;
    void *sp; /* net-snmp single session (v3) */
    int fd;
    int slot;
    bool v3, ready, closing;
    bool freeing;  /* in dp_snmp_i_sess_free: net-snmp's close calls back pending requests */
    bool cb_fired; /* a callback ran during the current read */
    dp_snmp_sess_t *ready_next;
    dp_snmp_i_walk_t *walks[DP_SNMP_WALKS_MAX];
    dp_snmp_i_walk_t *probe;
    dp_snmp_i_walk_t *dead; /* walks reported done while closing: net-snmp may still hold them */
    int64_t due_ms;
    uint32_t parse_errors, bad_reqids;
    int timeout_ms;
    char host[DP_SNMP_I_HOST_MAX];
    /* v1/v2c on the engine's shared socket (sp NULL) */
    bool shared;
    long version;
    int retries;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    size_t comm_len;
    char comm[DP_SNMP_I_COMM_MAX];
};

typedef struct {
    int64_t due_ms;
    int slot;
    uint32_t gen;
} dp_snmp_i_timer_t;

struct dp_snmp {
    int epfd;
    int max_inflight, inflight, waiting;
    netsnmp_large_fd_set fds; /* net-snmp sessions: the one being read or asked */
    int fds_size;
    dp_snmp_sess_t **slots;
    uint32_t *gens;
    int *free_slots;
    int nslots, nfree;
    dp_snmp_i_timer_t *heap;
    int nheap, heap_cap;
    dp_snmp_i_walk_t *qhead, *qtail;
    dp_snmp_sess_t *ready;
    dp_snmp_stats_t stats;
    int ufd4, ufd6;            /* shared sockets, -1 until needed */
    uint32_t next_reqid;       /* shared sockets: request ids (31 bits, never 0) */
    dp_snmp_map_t reqs;        /* request id -> walk in flight */
    dp_snmp_map_t addrs;       /* agent address -> a session to it (error attribution) */
    u_char *rx;                /* shared sockets: receive buffers */
    dp_snmp_udp_reply_t reply; /* shared sockets: the reply being handled */
    dp_snmp_i_walk_t *free_walks;
};

/* ---- dp_snmp.c and dp_snmp_walk.c, for the other files */

/* A recycled (or new, zeroed) walk; NULL when out of memory. */
dp_snmp_i_walk_t *dp_snmp_i_walk_get(dp_snmp_t *e);
void dp_snmp_i_walk_put(dp_snmp_t *e, dp_snmp_i_walk_t *w);
/* The session's slot (table grown as needed; aborts when out of memory). */
int dp_snmp_i_slot_alloc(dp_snmp_t *e, dp_snmp_sess_t *s);
/* Arms a timer for slot at due (stale ones are dropped when they reach the top). */
void dp_snmp_i_heap_push(dp_snmp_t *e, int64_t due, int slot);
/* Ends the walk with st and a detail text; the session is serviced in the loop turn. */
void dp_snmp_i_finish(dp_snmp_i_walk_t *w, dp_snmp_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dp_snmp_i_mark_ready(dp_snmp_sess_t *s);
/* Why a session got no usable answer (malformed replies, wrong ids, v3 silence, none). */
void dp_snmp_i_timeout_detail(const dp_snmp_sess_t *s, char *buf, size_t size);
/* The walk's next GETBULK (GETNEXT when !bulk) of its open columns; NULL out of memory. */
netsnmp_pdu *dp_snmp_i_build(dp_snmp_i_walk_t *w, bool bulk);
/* A reply to w's request (state DP_SNMP_W_NEXT): hands its varbinds (a next_variable list)
   to the walk; ends the walk when it is complete or the reply is unusable. */
void dp_snmp_i_on_reply(dp_snmp_i_walk_t *w, bool bulk, long errstat, long errindex,
                        const netsnmp_variable_list *vars);
/* Sends w now when a slot is free, else queues it (front: ahead of new walks). */
void dp_snmp_i_want_send(dp_snmp_i_walk_t *w, bool front);
/* A zeroed session of e to host (fd -1; not in a slot yet). NULL with err. */
dp_snmp_sess_t *dp_snmp_i_sess_new(dp_snmp_t *e, const char *host, dp_err_t *err);
/* Frees the session now (no done callbacks). */
void dp_snmp_i_sess_free(dp_snmp_sess_t *s);

/* ---- dp_snmp_sess.c: net-snmp (v3) sessions */

/* Opens a v3 session (t->version DP_SNMP_V3); starts the engine probe when no engine id is
   known. NULL with err. */
dp_snmp_sess_t *dp_snmp_i_ns_open(dp_snmp_t *e, const dp_snmp_target_t *t, dp_err_t *err);
/* Sends w's next request (or the probe) through net-snmp; finishes w on failure. */
void dp_snmp_i_ns_send(dp_snmp_i_walk_t *w);
/* Re-arms the session's timer from net-snmp's earliest request expiry. */
void dp_snmp_i_ns_reschedule(dp_snmp_sess_t *s);
/* The session's socket is readable. */
void dp_snmp_i_ns_read(dp_snmp_sess_t *s);
/* The session's timer is due: net-snmp resends or times out. */
void dp_snmp_i_ns_timeout(dp_snmp_sess_t *s);
/* Closes the net-snmp session (pending requests are called back and ignored). */
void dp_snmp_i_ns_close(dp_snmp_sess_t *s);
/* The engine probe ended: release or fail the walks held behind it. */
void dp_snmp_i_probe_done(dp_snmp_sess_t *s);

#endif
