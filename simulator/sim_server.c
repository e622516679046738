/*  sim_server.c - the simulator's UDP server: one socket, every device
    SPDX-License-Identifier: MIT */
#include "sim_server.h"
#include "dp_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_BATCH      32
#define S_IN_BUF     8192
#define S_TICK_MS    100
#define S_SOCK_BUF   (8 * 1024 * 1024)
#define S_SLOW_MAX   100000
#define S_CMSG_SPACE CMSG_SPACE(sizeof(struct in_pktinfo))

/* A reply held back by a slow fault. */
typedef struct {
    int64_t due_ms;          /* monotonic send time */
    struct sockaddr_in peer; /* requester */
    uint32_t src;            /* device address to reply from, host order */
    size_t len;              /* bytes in buf */
    u_char *buf;             /* owned reply */
} s_slow_t;

struct sim_server {
    sim_world_t *world;                   /* borrowed */
    int fd;                               /* UDP socket */
    int port;                             /* bound port */
    sim_pdu_ctx_t *ctx;                   /* scratch */
    sim_stats_t stats;                    /* counters */
    u_char in[S_BATCH][S_IN_BUF];         /* request buffers */
    u_char *out;                          /* S_BATCH reply buffers of max_msg */
    struct sockaddr_in peers[S_BATCH];    /* request sources */
    u_char inctl[S_BATCH][S_CMSG_SPACE];  /* received IP_PKTINFO */
    u_char outctl[S_BATCH][S_CMSG_SPACE]; /* IP_PKTINFO to send with */
    struct iovec iov_in[S_BATCH], iov_out[S_BATCH];
    struct mmsghdr msg_in[S_BATCH], msg_out[S_BATCH];
    s_slow_t *slow;  /* min-heap by due_ms */
    size_t nslow;    /* entries in slow */
    size_t slow_cap; /* entries allocated */
};

static const char *s_drop_names[SIM_DROP_COUNT] = {"none",   "parse",   "version", "community",
                                                   "device", "timeout", "pdu",     "usm"};

static void s_heap_swap(s_slow_t *a, s_slow_t *b)
{
    s_slow_t t = *a;
    *a = *b;
    *b = t;
}

static void s_slow_push(sim_server_t *s, const s_slow_t *item)
{
    if (s->nslow == s->slow_cap) {
        size_t cap = s->slow_cap ? s->slow_cap * 2 : 64;
        s_slow_t *n = realloc(s->slow, cap * sizeof(*n));
        if (!n)
            abort();
        s->slow = n;
        s->slow_cap = cap;
    }
    size_t i = s->nslow++;
    s->slow[i] = *item;
    while (i > 0 && s->slow[(i - 1) / 2].due_ms > s->slow[i].due_ms) {
        s_heap_swap(&s->slow[(i - 1) / 2], &s->slow[i]);
        i = (i - 1) / 2;
    }
}

static void s_slow_pop(sim_server_t *s)
{
    s->slow[0] = s->slow[--s->nslow];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nslow && s->slow[l].due_ms < s->slow[m].due_ms)
            m = l;
        if (r < s->nslow && s->slow[r].due_ms < s->slow[m].due_ms)
            m = r;
        if (m == i)
            break;
        s_heap_swap(&s->slow[i], &s->slow[m]);
        i = m;
    }
}

static void s_prepare_out(sim_server_t *s, int k, const struct sockaddr_in *peer, uint32_t src,
                          u_char *buf, size_t len)
{
    struct msghdr *h = &s->msg_out[k].msg_hdr;
    memset(h, 0, sizeof(*h));
    s->iov_out[k] = (struct iovec){buf, len};
    h->msg_name = (void *)peer;
    h->msg_namelen = sizeof(*peer);
    h->msg_iov = &s->iov_out[k];
    h->msg_iovlen = 1;
    h->msg_control = s->outctl[k];
    h->msg_controllen = S_CMSG_SPACE;
    memset(s->outctl[k], 0, S_CMSG_SPACE);
    struct cmsghdr *c = CMSG_FIRSTHDR(h);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = {0};
    pi.ipi_spec_dst.s_addr = htonl(src);
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
}

static void s_send(sim_server_t *s, int n)
{
    int sent = 0;
    while (sent < n) {
        int rc = sendmmsg(s->fd, s->msg_out + sent, (unsigned)(n - sent), 0);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            /* skip the datagram that failed (e.g. an unroutable peer) */
            atomic_fetch_add_explicit(&s->stats.send_errors, 1, memory_order_relaxed);
            sent++;
            continue;
        }
        sent += rc;
        atomic_fetch_add_explicit(&s->stats.replies, (uint64_t)rc, memory_order_relaxed);
    }
}

static void s_flush_slow(sim_server_t *s, int64_t mono)
{
    while (s->nslow > 0 && s->slow[0].due_ms <= mono) {
        int k = 0;
        s_slow_t batch[S_BATCH];
        while (k < S_BATCH && s->nslow > 0 && s->slow[0].due_ms <= mono) {
            batch[k] = s->slow[0];
            s_slow_pop(s);
            s_prepare_out(s, k, &batch[k].peer, batch[k].src, batch[k].buf, batch[k].len);
            k++;
        }
        s_send(s, k);
        for (int i = 0; i < k; i++)
            free(batch[i].buf);
    }
}

static uint32_t s_dst_of(struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            return ntohl(pi.ipi_addr.s_addr);
        }
    }
    return 0;
}

static void s_arm_in(sim_server_t *s)
{
    for (int i = 0; i < S_BATCH; i++) {
        struct msghdr *h = &s->msg_in[i].msg_hdr;
        s->iov_in[i] = (struct iovec){s->in[i], S_IN_BUF};
        h->msg_name = &s->peers[i];
        h->msg_namelen = sizeof(s->peers[i]);
        h->msg_iov = &s->iov_in[i];
        h->msg_iovlen = 1;
        h->msg_control = s->inctl[i];
        h->msg_controllen = S_CMSG_SPACE;
        h->msg_flags = 0;
    }
}

/* Answers n received datagrams; returns how many replies were queued in msg_out. */
static int s_handle(sim_server_t *s, int n, int64_t now_ms, int64_t mono)
{
    int k = 0;
    uint64_t vbs = 0, errors = 0, delayed = 0, malformed = 0, reports = 0;
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &s->msg_in[i].msg_hdr;
        uint32_t dst = s_dst_of(h);
        sim_answer_t ans;
        u_char *buf = s->out + (size_t)k * s->world->max_msg;
        size_t len = 0;
        if (h->msg_flags & MSG_TRUNC)
            ans = (sim_answer_t){.drop = SIM_DROP_PARSE};
        else
            len = sim_pdu_answer(s->ctx, s->world, dst, s->in[i], s->msg_in[i].msg_len, buf,
                                 s->world->max_msg, now_ms, &ans);
        if (len == 0) {
            atomic_fetch_add_explicit(&s->stats.drops[ans.drop], 1, memory_order_relaxed);
            continue;
        }
        vbs += ans.nvbs;
        errors += ans.error_status != 0;
        malformed += ans.malformed;
        reports += ans.report;
        if (ans.delay_ms > 0) {
            if (s->nslow >= S_SLOW_MAX)
                continue;
            s_slow_t item = {mono + ans.delay_ms, s->peers[i], dst, len, malloc(len)};
            if (!item.buf)
                abort();
            memcpy(item.buf, buf, len);
            s_slow_push(s, &item);
            delayed++;
            continue;
        }
        s_prepare_out(s, k, &s->peers[i], dst, buf, len);
        k++;
    }
    atomic_fetch_add_explicit(&s->stats.varbinds, vbs, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.errors, errors, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.delayed, delayed, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.malformed, malformed, memory_order_relaxed);
    if (reports)
        atomic_fetch_add_explicit(&s->stats.reports, reports, memory_order_relaxed);
    return k;
}

//  --------------------------------------------------------------------------
sim_server_t *sim_server_new(sim_world_t *w, const char *addr, int port, bool reuseport,
                             dp_err_t *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr ? addr : "0.0.0.0", &sa.sin_addr) != 1) {
        dp_err_set(err, DP_ERR_CONFIG, "bad listen address '%s'", addr);
        return NULL;
    }
    sim_server_t *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->world = w;
    s->fd = -1;
    s->ctx = sim_pdu_ctx_new();
    s->out = malloc(S_BATCH * w->max_msg);
    if (!s->out)
        abort();
    int one = 1, bufsize = S_SOCK_BUF;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)) {
        dp_err_set(err, DP_ERR_INTERNAL, "socket: %s", strerror(errno));
        goto fail;
    }
    /* best effort: larger buffers absorb bursts from many pollers */
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        dp_err_set(err, DP_ERR_UNREACHABLE, "bind %s:%d: %s", addr ? addr : "0.0.0.0", port,
                   strerror(errno));
        goto fail;
    }
    socklen_t sl = sizeof(sa);
    getsockname(s->fd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
    return s;
fail:
    sim_server_destroy(&s);
    return NULL;
}

//  --------------------------------------------------------------------------
void sim_server_destroy(sim_server_t **p)
{
    if (!p || !*p)
        return;
    sim_server_t *s = *p;
    if (s->fd >= 0)
        close(s->fd);
    for (size_t i = 0; i < s->nslow; i++)
        free(s->slow[i].buf);
    free(s->slow);
    free(s->out);
    sim_pdu_ctx_destroy(&s->ctx);
    free(s);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int sim_server_port(const sim_server_t *s)
{
    return s->port;
}

//  --------------------------------------------------------------------------
void sim_server_run(sim_server_t *s, atomic_bool *stop)
{
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
    int n = 0;
    while (!atomic_load_explicit(stop, memory_order_relaxed)) {
        int64_t mono = dp_time_mono_ms();
        s_flush_slow(s, mono);
        if (n < S_BATCH) {
            int timeout = S_TICK_MS;
            if (s->nslow > 0 && s->slow[0].due_ms - mono < timeout)
                timeout = (int)(s->slow[0].due_ms - mono);
            if (poll(&pfd, 1, timeout < 0 ? 0 : timeout) <= 0)
                continue;
        }
        s_arm_in(s);
        n = recvmmsg(s->fd, s->msg_in, S_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            n = 0;
            continue;
        }
        atomic_fetch_add_explicit(&s->stats.requests, (uint64_t)n, memory_order_relaxed);
        int k = s_handle(s, n, dp_time_wall_ms(), dp_time_mono_ms());
        s_send(s, k);
    }
}

//  --------------------------------------------------------------------------
sim_stats_t *sim_server_stats(sim_server_t *s)
{
    return &s->stats;
}

//  --------------------------------------------------------------------------
void sim_stats_sum(const sim_stats_t *src, uint64_t *requests, uint64_t *replies,
                   uint64_t *varbinds, uint64_t *drops)
{
    *requests += atomic_load(&src->requests);
    *replies += atomic_load(&src->replies);
    *varbinds += atomic_load(&src->varbinds);
    for (int i = 0; i < SIM_DROP_COUNT; i++)
        drops[i] += atomic_load(&src->drops[i]);
}

//  --------------------------------------------------------------------------
const char *sim_drop_name(sim_drop_t d)
{
    return (d >= 0 && d < SIM_DROP_COUNT) ? s_drop_names[d] : "?";
}
