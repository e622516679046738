/*  dp_snmp_udp.c - dp_snmp internals for v1/v2c over one shared UDP socket (see dp_snmp_udp.h)
    SPDX-License-Identifier: MIT */
#include "dp_snmp_udp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <net-snmp/library/snmp_impl.h>

#define S_RCVBUF (4 << 20) /* capped by net.core.rmem_max */

//  --------------------------------------------------------------------------
//  Map

static size_t s_slot(uint64_t key, size_t cap)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (cap - 1);
}

void *dp_snmp_map_get(const dp_snmp_map_t *m, uint64_t key)
{
    if (m->n == 0)
        return NULL;
    for (size_t i = s_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->vals[i])
            return NULL;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

static void s_grow(dp_snmp_map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    uint64_t *keys = calloc(cap, sizeof *keys);
    void **vals = calloc(cap, sizeof *vals);
    if (!keys || !vals)
        abort();
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->vals[i])
            continue;
        size_t j = s_slot(m->keys[i], cap);
        while (vals[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
}

void dp_snmp_map_put(dp_snmp_map_t *m, uint64_t key, void *val)
{
    if ((m->n + 1) * 2 > m->cap)
        s_grow(m);
    size_t i = s_slot(key, m->cap);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->vals[i])
        m->n++;
    m->keys[i] = key;
    m->vals[i] = val;
}

bool dp_snmp_map_del(dp_snmp_map_t *m, uint64_t key, const void *val)
{
    if (m->n == 0)
        return false;
    size_t mask = m->cap - 1, i = s_slot(key, m->cap);
    while (m->vals[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    if (!m->vals[i] || (val && m->vals[i] != val))
        return false;
    /* backward-shift: move later entries of the cluster into the hole when their home allows */
    for (size_t j = (i + 1) & mask; m->vals[j]; j = (j + 1) & mask) {
        size_t home = s_slot(m->keys[j], m->cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->vals[i] = NULL;
    m->n--;
    return true;
}

void dp_snmp_map_clear(dp_snmp_map_t *m)
{
    free(m->keys);
    free(m->vals);
    *m = (dp_snmp_map_t){0};
}

//  --------------------------------------------------------------------------
//  Addresses and sockets

int dp_snmp_udp_resolve(const char *host, int port, struct sockaddr_storage *out, socklen_t *len,
                        dp_err_t *err)
{
    char h[256];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof h)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "bad host '%s'", host);
    memcpy(h, host, n);
    h[n] = '\0';
    int p = port > 0 ? port : 161;
    memset(out, 0, sizeof *out);
    struct sockaddr_in *a4 = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) { /* the common case: no resolver call */
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *len = sizeof *a4;
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    int rc = getaddrinfo(h, NULL, &hints, &res);
    if (rc != 0 || !res)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "cannot resolve %s: %s", h, gai_strerror(rc));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)p);
    else if (out->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)p);
    else
        return dp_err_set(err, DP_ERR_UNREACHABLE, "%s: unsupported address family", h);
    return 0;
}

uint64_t dp_snmp_udp_addr_key(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        return ((uint64_t)a->sin_addr.s_addr << 16) | a->sin_port;
    }
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over address and port */
    for (size_t i = 0; i < 16; i++)
        h = (h ^ a->sin6_addr.s6_addr[i]) * 1099511628211ULL;
    h = (h ^ (a->sin6_port & 0xff)) * 1099511628211ULL;
    h = (h ^ (a->sin6_port >> 8)) * 1099511628211ULL;
    return h | (1ULL << 63);
}

bool dp_snmp_udp_same(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

int dp_snmp_udp_socket(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int size = S_RCVBUF;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* best effort */
    return fd;
}

//  --------------------------------------------------------------------------
//  Messages

int dp_snmp_udp_build(netsnmp_pdu *pdu, long version, const char *community, size_t clen,
                      u_char *buf, size_t cap, const u_char **start)
{
    netsnmp_session tmpl; /* snmp_build reads the version and error fields only */
    memset(&tmpl, 0, sizeof tmpl);
    tmpl.version = version;
    u_char *keep = pdu->community;
    size_t keep_len = pdu->community_len;
    pdu->version = version;
    pdu->community = clen ? (u_char *)community : NULL; /* borrowed for the build */
    pdu->community_len = clen;
    pdu->flags |= UCD_MSG_FLAG_FORWARD_ENCODE; /* into buf as it is: no realloc */
    size_t len = cap, offset = 0;
    u_char *p = buf;
    int rc = snmp_build(&p, &len, &offset, &tmpl, pdu);
    pdu->community = keep;
    pdu->community_len = keep_len;
    if (rc != 0 || p != buf || len == 0 || len > cap)
        return -1;
    *start = buf;
    return (int)len;
}

netsnmp_pdu *dp_snmp_udp_parse(const u_char *data, size_t len)
{
    u_char community[256];
    size_t clen = sizeof community;
    long version = -1;
    size_t left = len;
    u_char *p = snmp_comstr_parse((u_char *)data, &left, community, &clen, &version);
    if (!p || (version != SNMP_VERSION_1 && version != SNMP_VERSION_2c))
        return NULL;
    netsnmp_pdu *pdu = calloc(1, sizeof *pdu);
    if (!pdu)
        return NULL;
    pdu->version = version;
    if (snmp_pdu_parse(pdu, p, &left) != 0) {
        snmp_free_pdu(pdu);
        return NULL;
    }
    return pdu;
}
