/*  sim_server.h - the simulator's UDP server: one socket, every device
    One server is one UDP socket served by one thread. Bound to 0.0.0.0 (or an
    address) with IP_PKTINFO, it learns the destination address of each request,
    which selects the device, and replies from that address. Several servers may
    share a port with SO_REUSEPORT, one per thread. recvmmsg/sendmmsg batch the
    syscalls; slow replies wait in a per-server heap.
    SPDX-License-Identifier: MIT */
#ifndef SIM_SERVER_H
#define SIM_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "sim_pdu.h"

/* Counters of one server; read from other threads with atomic loads. */
typedef struct {
    _Atomic uint64_t requests;              /* datagrams received */
    _Atomic uint64_t replies;               /* datagrams sent */
    _Atomic uint64_t varbinds;              /* varbinds sent */
    _Atomic uint64_t delayed;               /* replies held by a slow fault */
    _Atomic uint64_t malformed;             /* replies corrupted on purpose */
    _Atomic uint64_t errors;                /* replies with error-status != 0 */
    _Atomic uint64_t send_errors;           /* sendmmsg failures */
    _Atomic uint64_t reports;               /* v3 Reports sent (discovery, USM errors) */
    _Atomic uint64_t drops[SIM_DROP_COUNT]; /* requests not answered, by reason */
} sim_stats_t;

typedef struct sim_server sim_server_t;

/* Opens a socket bound to addr:port (addr NULL = 0.0.0.0; port 0 = ephemeral).
   Caller owns the server. NULL on error (err set). */
sim_server_t *sim_server_new(sim_world_t *w, const char *addr, int port, bool reuseport,
                             dp_err_t *err);

/* Closes the socket and frees pending replies; NULL-safe, sets *p to NULL. */
void sim_server_destroy(sim_server_t **p);

/* The bound UDP port. */
int sim_server_port(const sim_server_t *s);

/* Serves until *stop becomes true (checked at least every 100 ms). */
void sim_server_run(sim_server_t *s, atomic_bool *stop);

/* The server's counters (borrowed). */
sim_stats_t *sim_server_stats(sim_server_t *s);

/* Adds src's counters to *requests, *replies, *varbinds and drops[SIM_DROP_COUNT]. */
void sim_stats_sum(const sim_stats_t *src, uint64_t *requests, uint64_t *replies,
                   uint64_t *varbinds, uint64_t *drops);

/* Short name of a drop reason ("timeout", "community", ...). */
const char *sim_drop_name(sim_drop_t d);

#endif
