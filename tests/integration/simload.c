/*  simload.c - load client for dpsim: GETBULK requests at many 127.x addresses
    with K requests in flight; prints PDUs/s. Requests and replies are encoded and
    decoded with net-snmp's BER routines. Not a test by itself: test_sim.sh and the
    benchmarks run it.
    usage: simload --port P [--base 127.1.0.1] [--devices N] [--inflight K]
                   [--seconds S] [--community C] [--max-rep R] [--oid OID]... [--light]
    --light skips decoding the varbinds (the client then costs less than the server).
    SPDX-License-Identifier: MIT */
#include "dp_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/types.h>
#include <net-snmp/library/asn1.h>
#include <net-snmp/library/snmp.h>
#include <net-snmp/library/snmp_api.h>

#define S_MAX_OIDS 16
#define S_OID_MAX  64
#define S_BUF      65536
#define S_SEQ      (ASN_SEQUENCE | ASN_CONSTRUCTOR)
#define S_IDLE_MS  200
#define S_BATCH    64

/* Settings and counters. */
typedef struct {
    int port;                                              /* dpsim port */
    uint32_t base;                                         /* first device address, host order */
    long devices;                                          /* addresses cycled through */
    long inflight;                                         /* requests kept outstanding */
    double seconds;                                        /* run time */
    const char *community;                                 /* community */
    long max_rep;                                          /* max-repetitions */
    oid oids[S_MAX_OIDS][S_OID_MAX];                       /* repeaters */
    size_t oid_len[S_MAX_OIDS];                            /* their lengths */
    int noids;                                             /* number of repeaters */
    bool light;                                            /* skip decoding varbinds */
    long next_dev;                                         /* round-robin cursor */
    long reqid;                                            /* last request id */
    uint64_t sent, replies, varbinds, errors, bad, stalls; /* counters */
} s_load_t;

static int s_parse_oid(const char *text, oid *out, size_t *len)
{
    size_t n = 0;
    const char *s = text[0] == '.' ? text + 1 : text;
    while (*s && n < S_OID_MAX) {
        char *end;
        out[n++] = strtoul(s, &end, 10);
        if (end == s)
            return -1;
        s = *end == '.' ? end + 1 : end;
    }
    *len = n;
    return n > 1 ? 0 : -1;
}

static size_t s_build(s_load_t *l, u_char *out, size_t cap)
{
    u_char vbs[4096], ints[64], head[128];
    size_t left = sizeof(vbs);
    u_char *p = vbs;
    for (int i = 0; i < l->noids; i++) {
        size_t nl = l->oid_len[i];
        p = snmp_build_var_op(p, l->oids[i], &nl, ASN_NULL, 0, NULL, &left);
        if (!p)
            return 0;
    }
    size_t vblen = (size_t)(p - vbs);
    long version = SNMP_VERSION_2c, zero = 0, reqid = ++l->reqid & 0x7fffffff;
    size_t il = sizeof(ints), hl = sizeof(head);
    u_char *q = asn_build_int(ints, &il, ASN_INTEGER, &reqid, sizeof(long));
    q = asn_build_int(q, &il, ASN_INTEGER, &zero, sizeof(long));
    q = asn_build_int(q, &il, ASN_INTEGER, &l->max_rep, sizeof(long));
    u_char *h = asn_build_int(head, &hl, ASN_INTEGER, &version, sizeof(long));
    h = asn_build_string(h, &hl, ASN_OCTET_STR, (const u_char *)l->community, strlen(l->community));
    size_t intlen = (size_t)(q - ints), headlen = (size_t)(h - head);
    size_t pdulen = intlen + 4 + vblen, msglen = headlen + 4 + pdulen;
    if (msglen + 4 > cap)
        return 0;
    left = cap;
    u_char *o = asn_build_sequence(out, &left, S_SEQ, msglen);
    memcpy(o, head, headlen);
    o += headlen;
    o = asn_build_sequence(o, &left, SNMP_MSG_GETBULK, pdulen);
    memcpy(o, ints, intlen);
    o += intlen;
    o = asn_build_sequence(o, &left, S_SEQ, vblen);
    memcpy(o, vbs, vblen);
    return msglen + 4;
}

/* Decodes a reply; returns its varbind count or -1; *errstat set. */
static long s_parse_reply(const u_char *buf, size_t len, long *errstat, bool light)
{
    u_char type, comm[256];
    size_t clen = sizeof(comm);
    long version, reqid, errindex;
    u_char *p = asn_parse_sequence((u_char *)buf, &len, &type, S_SEQ, "msg");
    if (!p || !(p = asn_parse_int(p, &len, &type, &version, sizeof(long))) ||
        !(p = asn_parse_string(p, &len, &type, comm, &clen)) ||
        !(p = asn_parse_header(p, &len, &type)) || type != SNMP_MSG_RESPONSE ||
        !(p = asn_parse_int(p, &len, &type, &reqid, sizeof(long))) ||
        !(p = asn_parse_int(p, &len, &type, errstat, sizeof(long))) ||
        !(p = asn_parse_int(p, &len, &type, &errindex, sizeof(long))) ||
        !(p = asn_parse_sequence(p, &len, &type, S_SEQ, "vbs")))
        return -1;
    long n = 0;
    while (len > 0 && !light) {
        oid name[128];
        size_t nl = 128, vl;
        u_char vt, *vv;
        p = snmp_parse_var_op(p, name, &nl, &vt, &vl, &vv, &len);
        if (!p)
            return -1;
        n++;
    }
    return n;
}

static void s_send_one(s_load_t *l, int fd)
{
    u_char buf[4096];
    size_t n = s_build(l, buf, sizeof(buf));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)l->port)};
    sa.sin_addr.s_addr = htonl(l->base + (uint32_t)(l->next_dev++ % l->devices));
    if (n && sendto(fd, buf, n, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)n)
        l->sent++;
}

static int s_parse_args(int argc, char **argv, s_load_t *l)
{
    static const struct option opts[] = {{"port", 1, 0, 'p'},    {"base", 1, 0, 'b'},
                                         {"devices", 1, 0, 'n'}, {"inflight", 1, 0, 'k'},
                                         {"seconds", 1, 0, 's'}, {"community", 1, 0, 'c'},
                                         {"max-rep", 1, 0, 'r'}, {"oid", 1, 0, 'o'},
                                         {"light", 0, 0, 'l'},   {0, 0, 0, 0}};
    struct in_addr ia;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            l->port = atoi(optarg);
            break;
        case 'b':
            if (inet_pton(AF_INET, optarg, &ia) != 1)
                return -1;
            l->base = ntohl(ia.s_addr);
            break;
        case 'n':
            l->devices = atol(optarg);
            break;
        case 'k':
            l->inflight = atol(optarg);
            break;
        case 's':
            l->seconds = atof(optarg);
            break;
        case 'c':
            l->community = optarg;
            break;
        case 'r':
            l->max_rep = atol(optarg);
            break;
        case 'l':
            l->light = true;
            break;
        case 'o':
            if (l->noids >= S_MAX_OIDS ||
                s_parse_oid(optarg, l->oids[l->noids], &l->oid_len[l->noids]) != 0)
                return -1;
            l->noids++;
            break;
        default:
            return -1;
        }
    }
    return (l->port > 0 && l->devices > 0 && l->inflight > 0) ? 0 : -1;
}

int main(int argc, char **argv)
{
    static s_load_t l = {.base = 0x7f010001,
                         .devices = 1000,
                         .inflight = 32,
                         .seconds = 5,
                         .community = "public",
                         .max_rep = 25};
    if (s_parse_args(argc, argv, &l) != 0) {
        fprintf(stderr, "usage: simload --port P [--base ADDR] [--devices N] [--inflight K] "
                        "[--seconds S] [--community C] [--max-rep R] [--oid OID]... [--light]\n");
        return 2;
    }
    if (l.noids == 0) {
        const char *def[] = {"1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.31.1.1.1.10",
                             "1.3.6.1.2.1.2.2.1.8"};
        for (int i = 0; i < 3; i++)
            s_parse_oid(def[i], l.oids[i], &l.oid_len[i]);
        l.noids = 3;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int bufsize = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    long outstanding = 0;
    int64_t start = dp_time_mono_ms(), end = start + (int64_t)(l.seconds * 1000);
    static u_char buf[S_BATCH][S_BUF];
    struct mmsghdr msgs[S_BATCH];
    struct iovec iov[S_BATCH];
    while (dp_time_mono_ms() < end) {
        while (outstanding < l.inflight) {
            s_send_one(&l, fd);
            outstanding++;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, S_IDLE_MS) <= 0) {
            l.stalls++; /* lost requests: refill the window */
            outstanding = 0;
            continue;
        }
        for (int i = 0; i < S_BATCH; i++) {
            iov[i] = (struct iovec){buf[i], S_BUF};
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs, S_BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < n; i++) {
            long errstat = 0;
            long vbs = s_parse_reply(buf[i], msgs[i].msg_len, &errstat, l.light);
            outstanding--;
            if (vbs < 0) {
                l.bad++;
                continue;
            }
            l.replies++;
            l.varbinds += (uint64_t)vbs;
            l.errors += errstat != 0;
        }
    }
    double secs = (double)(dp_time_mono_ms() - start) / 1000.0;
    printf("simload: seconds=%.2f sent=%llu replies=%llu pdus_per_s=%.0f varbinds_per_s=%.0f "
           "vbs_per_reply=%.1f errors=%llu bad=%llu stalls=%llu\n",
           secs, (unsigned long long)l.sent, (unsigned long long)l.replies,
           (double)l.replies / secs, (double)l.varbinds / secs,
           l.replies ? (double)l.varbinds / (double)l.replies : 0.0, (unsigned long long)l.errors,
           (unsigned long long)l.bad, (unsigned long long)l.stalls);
    close(fd);
    return l.replies > 0 ? 0 : 1;
}
