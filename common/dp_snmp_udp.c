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

//  --------------------------------------------------------------------------
//  Parsing into reused storage

//  n bytes of the arena, 8-aligned (the arena is sized from the datagram: always fits).
static u_char *s_arena(dp_snmp_udp_reply_t *r, size_t n)
{
    size_t at = (r->arena_used + 7) & ~(size_t)7;
    if (at + n > r->arena_cap)
        return NULL;
    r->arena_used = at + n;
    return r->arena + at;
}

//  Makes room for a message of len bytes: every value's storage is bounded by its encoding
//  (a string by its length, an OID by 8 bytes per byte plus one sub-id, 8-byte alignment).
static int s_reserve(dp_snmp_udp_reply_t *r, size_t len)
{
    size_t need = 16 * len + 64;
    if (need > r->arena_cap) {
        u_char *a = realloc(r->arena, need);
        if (!a)
            return -1;
        r->arena = a;
        r->arena_cap = need;
    }
    r->arena_used = 0;
    r->nvars = 0;
    return 0;
}

//  Doubles the varbind array. Varbinds point into themselves (name_loc, buf): moved by hand.
static int s_grow_vars(dp_snmp_udp_reply_t *r)
{
    int cap = r->cap ? r->cap * 2 : 64;
    netsnmp_variable_list *v = malloc((size_t)cap * sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < r->nvars; i++) {
        const netsnmp_variable_list *from = &r->vars[i];
        v[i] = *from;
        v[i].name = v[i].name_loc;
        if (from->val.string == from->buf)
            v[i].val.string = v[i].buf;
    }
    free(r->vars);
    r->vars = v;
    r->cap = cap;
    return 0;
}

static netsnmp_variable_list *s_next_var(dp_snmp_udp_reply_t *r)
{
    if (r->nvars == r->cap && s_grow_vars(r) != 0)
        return NULL;
    netsnmp_variable_list *vp = &r->vars[r->nvars];
    vp->next_variable = NULL;
    vp->name = vp->name_loc;
    vp->name_length = MAX_OID_LEN;
    vp->val.string = NULL;
    vp->data = NULL;
    vp->dataFreeHook = NULL;
    vp->index = 0;
    return vp;
}

//  A string-like value: in the varbind's buf when it fits (as net-snmp does), else the arena.
static u_char *s_parse_str(dp_snmp_udp_reply_t *r, netsnmp_variable_list *vp, u_char *val)
{
    size_t len = SNMP_MAX_PACKET_LEN;
    vp->val.string = vp->val_len < sizeof vp->buf ? vp->buf : s_arena(r, vp->val_len);
    if (!vp->val.string)
        return NULL;
    if (vp->type == ASN_BIT_STR)
        return asn_parse_bitstring(val, &len, &vp->type, vp->val.bitstring, &vp->val_len);
    return asn_parse_string(val, &len, &vp->type, vp->val.string, &vp->val_len);
}

static u_char *s_parse_oid(dp_snmp_udp_reply_t *r, netsnmp_variable_list *vp, u_char *val)
{
    oid objid[MAX_OID_LEN];
    size_t len = SNMP_MAX_PACKET_LEN, n = MAX_OID_LEN;
    u_char *p = asn_parse_objid(val, &len, &vp->type, objid, &n);
    vp->val_len = n * sizeof(oid);
    vp->val.objid = p ? (oid *)(void *)s_arena(r, vp->val_len) : NULL;
    if (!vp->val.objid)
        return NULL;
    memcpy(vp->val.objid, objid, vp->val_len);
    return p;
}

//  One value, by type, as snmp_pdu_parse reads it. NULL when it does not parse.
static u_char *s_parse_value(dp_snmp_udp_reply_t *r, netsnmp_variable_list *vp, u_char *val)
{
    size_t len = SNMP_MAX_PACKET_LEN;
    switch ((short)vp->type) {
    case ASN_INTEGER:
        vp->val.integer = (long *)(void *)vp->buf;
        vp->val_len = sizeof(long);
        return asn_parse_int(val, &len, &vp->type, vp->val.integer, sizeof(long));
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        vp->val.integer = (long *)(void *)vp->buf;
        vp->val_len = sizeof(u_long);
        return asn_parse_unsigned_int(val, &len, &vp->type, (u_long *)vp->val.integer, vp->val_len);
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
    case ASN_OPAQUE_COUNTER64:
    case ASN_OPAQUE_U64:
#endif
    case ASN_COUNTER64:
        vp->val.counter64 = (struct counter64 *)(void *)vp->buf;
        vp->val_len = sizeof(struct counter64);
        return asn_parse_unsigned_int64(val, &len, &vp->type, vp->val.counter64, vp->val_len);
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
    case ASN_OPAQUE_FLOAT:
        vp->val.floatVal = (float *)(void *)vp->buf;
        vp->val_len = sizeof(float);
        return asn_parse_float(val, &len, &vp->type, vp->val.floatVal, vp->val_len);
    case ASN_OPAQUE_DOUBLE:
        vp->val.doubleVal = (double *)(void *)vp->buf;
        vp->val_len = sizeof(double);
        return asn_parse_double(val, &len, &vp->type, vp->val.doubleVal, vp->val_len);
    case ASN_OPAQUE_I64:
        vp->val.counter64 = (struct counter64 *)(void *)vp->buf;
        vp->val_len = sizeof(struct counter64);
        return asn_parse_signed_int64(val, &len, &vp->type, vp->val.counter64,
                                      sizeof(struct counter64));
#endif
    case ASN_IPADDRESS:
        if (vp->val_len != 4)
            return NULL;
        return s_parse_str(r, vp, val);
    case ASN_OCTET_STR:
    case ASN_OPAQUE:
    case ASN_NSAP:
    case ASN_BIT_STR:
        return s_parse_str(r, vp, val);
    case ASN_OBJECT_ID:
        return s_parse_oid(r, vp, val);
    case SNMP_NOSUCHOBJECT:
    case SNMP_NOSUCHINSTANCE:
    case SNMP_ENDOFMIBVIEW:
    case ASN_NULL:
        return val; /* no value */
    default:
        return NULL; /* net-snmp: "bad type returned" */
    }
}

//  The PDU after its tag: request id, error status and index, then the varbind list.
static int s_parse_pdu(dp_snmp_udp_reply_t *r, u_char *p, size_t left)
{
    u_char type;
    if (!(p = asn_parse_int(p, &left, &type, &r->reqid, sizeof r->reqid)) ||
        !(p = asn_parse_int(p, &left, &type, &r->errstat, sizeof r->errstat)) ||
        !(p = asn_parse_int(p, &left, &type, &r->errindex, sizeof r->errindex)) ||
        !(p = asn_parse_sequence(p, &left, &type, ASN_SEQUENCE | ASN_CONSTRUCTOR, "varbinds")))
        return -1;
    while ((int)left > 0) {
        netsnmp_variable_list *vp = s_next_var(r);
        u_char *val = NULL;
        if (!vp)
            return -1;
        p = snmp_parse_var_op(p, vp->name_loc, &vp->name_length, &vp->type, &vp->val_len, &val,
                              &left);
        if (!p || !s_parse_value(r, vp, val))
            return -1;
        r->nvars++;
    }
    for (int i = 0; i + 1 < r->nvars; i++)
        r->vars[i].next_variable = &r->vars[i + 1];
    return 0;
}

int dp_snmp_udp_parse_into(const u_char *data, size_t len, dp_snmp_udp_reply_t *r)
{
    u_char community[256], msg_type;
    size_t clen = sizeof community, left = len;
    if (s_reserve(r, len) != 0)
        return -1;
    u_char *p = snmp_comstr_parse((u_char *)data, &left, community, &clen, &r->version);
    if (!p || (r->version != SNMP_VERSION_1 && r->version != SNMP_VERSION_2c))
        return -1;
    if (!(p = asn_parse_header(p, &left, &msg_type)))
        return -1;
    r->command = msg_type;
    r->reqid = r->errstat = r->errindex = 0;
    switch (msg_type) {
    case SNMP_MSG_TRAP:
        return 0;
    case SNMP_MSG_RESPONSE:
    case SNMP_MSG_REPORT:
    case SNMP_MSG_TRAP2:
    case SNMP_MSG_INFORM:
    case SNMP_MSG_GET:
    case SNMP_MSG_GETNEXT:
    case SNMP_MSG_GETBULK:
    case SNMP_MSG_SET:
        return s_parse_pdu(r, p, left);
    default:
        return -1;
    }
}

void dp_snmp_udp_reply_free(dp_snmp_udp_reply_t *r)
{
    free(r->vars);
    free(r->arena);
    *r = (dp_snmp_udp_reply_t){0};
}
