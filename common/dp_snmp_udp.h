/*  dp_snmp_udp.h - dp_snmp internals for v1/v2c over one shared UDP socket per engine
    (not a public API: used by dp_snmp.c and the unit tests). net-snmp still builds and parses
    every message (snmp_build, snmp_comstr_parse + snmp_pdu_parse); this module adds what the
    single-session API did per session: the socket, address resolution and a map from request
    id (and from agent address) to the caller's object.
    SPDX-License-Identifier: MIT */
#ifndef DP_SNMP_UDP_H
#define DP_SNMP_UDP_H

#include "dp_err.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DP_SNMP_UDP_PKT_MAX 1472 /* largest request we send (one Ethernet datagram) */

/* Open-addressing map uint64 -> pointer (linear probing, backward-shift delete). Keys are
   arbitrary (0 included); values must not be NULL. Zero-initialise; free with _clear. */
typedef struct {
    uint64_t *keys;
    void **vals;
    size_t cap, n; /* cap: power of two or 0 */
} dp_snmp_map_t;

void *dp_snmp_map_get(const dp_snmp_map_t *m, uint64_t key);
/* Inserts or replaces; aborts when out of memory (like the engine's other tables). */
void dp_snmp_map_put(dp_snmp_map_t *m, uint64_t key, void *val);
/* Removes key if present and (val NULL or) mapped to val. Returns true when removed. */
bool dp_snmp_map_del(dp_snmp_map_t *m, uint64_t key, const void *val);
void dp_snmp_map_clear(dp_snmp_map_t *m);

/* Resolves host (IPv4/IPv6 literal, "[v6]", or a name) and port (0 = 161). 0 or -1 with err
   (DP_ERR_UNREACHABLE). */
int dp_snmp_udp_resolve(const char *host, int port, struct sockaddr_storage *out, socklen_t *len,
                        dp_err_t *err);

/* 64-bit key of an address (IPv4: exact; IPv6: a hash, compare with dp_snmp_udp_same). */
uint64_t dp_snmp_udp_addr_key(const struct sockaddr *sa);
bool dp_snmp_udp_same(const struct sockaddr *a, const struct sockaddr *b);

/* A non-blocking, close-on-exec UDP socket of family with a large receive buffer. -1 on error. */
int dp_snmp_udp_socket(int family);

/* Encodes pdu (v1 or v2c; pdu->reqid set by the caller) with community into buf. Returns the
   length (the message starts at *start inside buf), or -1 when it does not fit or net-snmp
   refuses it. pdu is not freed; pdu->community is left as it was. */
int dp_snmp_udp_build(netsnmp_pdu *pdu, long version, const char *community, size_t clen,
                      u_char *buf, size_t cap, const u_char **start);

/* Parses a v1/v2c message. Returns the PDU (free with snmp_free_pdu) or NULL when it does not
   parse. */
netsnmp_pdu *dp_snmp_udp_parse(const u_char *data, size_t len);

/* A v1/v2c message parsed into reused storage (zero-initialise; free with _reply_free). */
typedef struct {
    long version, command, reqid, errstat, errindex;
    netsnmp_variable_list *vars; /* nvars varbinds linked by next_variable (NULL when none);
                                    valid until the next parse into this reply */
    int nvars, cap;
    u_char *arena; /* values that do not fit a varbind's buf (long strings, OIDs) */
    size_t arena_cap, arena_used;
} dp_snmp_udp_reply_t;

/* Parses a v1/v2c message into r with net-snmp's own parsers (snmp_comstr_parse,
   asn_parse_*, snmp_parse_var_op) as snmp_pdu_parse does, so it accepts and rejects the same
   messages, but with no allocation per message or varbind once r has grown. An SNMPv1 Trap is
   accepted with no varbinds parsed (command SNMP_MSG_TRAP, reqid 0). 0, or -1 when the message
   does not parse (or out of memory). */
int dp_snmp_udp_parse_into(const u_char *data, size_t len, dp_snmp_udp_reply_t *r);
void dp_snmp_udp_reply_free(dp_snmp_udp_reply_t *r);

#endif
