/*  dp_snmp.c - asynchronous SNMP engine (see dp_snmp.h, dp_snmp_int.h)
    v1/v2c sessions share one long-lived UDP socket per engine and address family: requests are
    built by net-snmp and replies parsed with its parsers into reused storage (dp_snmp_udp.c),
    dispatched by request id; timeouts/retries are the engine's own. v3 sessions use net-snmp's
    single-session API (dp_snmp_sess.c: one socket each, USM stays net-snmp's).
    Sessions live in a slot table; a min-heap of (due, slot, generation) drives net-snmp's
    per-session timeouts and retries, an epoll set tells which sockets to read, so each loop
    turn costs O(ready + due) whatever the number of sessions. net-snmp callbacks only record
    results; sends, completions and closes happen in dp_snmp_process (no re-entrancy).
    SPDX-License-Identifier: MIT */
#include "dp_snmp_int.h"
#include "dp_time.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define S_EPOLL_BATCH 256
#define S_FDSET_MIN   4096
#define S_RX_BATCH    16          /* datagrams per recvmmsg */
#define S_RX_SIZE     65536       /* largest datagram */
#define S_TAG_UDP4    0xfffffff0u /* epoll data of the shared sockets */
#define S_TAG_UDP6    0xfffffff1u

//  Walks are recycled: a poll takes two, and each is ~10 KB.
dp_snmp_i_walk_t *dp_snmp_i_walk_get(dp_snmp_t *e)
{
    dp_snmp_i_walk_t *w = e->free_walks;
    if (!w)
        return calloc(1, sizeof *w);
    e->free_walks = w->qnext;
    memset(w, 0, offsetof(dp_snmp_i_walk_t, cur));
    return w;
}

void dp_snmp_i_walk_put(dp_snmp_t *e, dp_snmp_i_walk_t *w)
{
    w->qnext = e->free_walks;
    e->free_walks = w;
}

//  --------------------------------------------------------------------------
//  Engine

dp_snmp_t *dp_snmp_new(int max_inflight)
{
    dp_snmp_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        free(e);
        return NULL;
    }
    e->max_inflight = max_inflight > 0 ? max_inflight : 1;
    e->ufd4 = e->ufd6 = -1;
    /* ids differ between engines and runs: a late reply to an older run matches nothing */
    e->next_reqid = (uint32_t)((uint64_t)dp_time_wall_ms() * 7919u ^ (uint64_t)getpid() ^
                               (uint64_t)(uintptr_t)e) &
                    0x7fffffff;
    e->fds_size = S_FDSET_MIN;
    netsnmp_large_fd_set_init(&e->fds, e->fds_size);
    return e;
}

void dp_snmp_destroy(dp_snmp_t **p)
{
    if (!p || !*p)
        return;
    dp_snmp_t *e = *p;
    for (int i = 0; i < e->nslots; i++)
        if (e->slots[i])
            dp_snmp_i_sess_free(e->slots[i]);
    netsnmp_large_fd_set_cleanup(&e->fds);
    if (e->ufd4 >= 0)
        close(e->ufd4);
    if (e->ufd6 >= 0)
        close(e->ufd6);
    dp_snmp_map_clear(&e->reqs);
    dp_snmp_map_clear(&e->addrs);
    free(e->rx);
    dp_snmp_udp_reply_free(&e->reply);
    while (e->free_walks) {
        dp_snmp_i_walk_t *w = e->free_walks;
        e->free_walks = w->qnext;
        free(w);
    }
    close(e->epfd);
    free(e->slots);
    free(e->gens);
    free(e->free_slots);
    free(e->heap);
    free(e);
    *p = NULL;
}

void dp_snmp_set_inflight(dp_snmp_t *e, int max_inflight)
{
    e->max_inflight = max_inflight > 0 ? max_inflight : 1;
}

int dp_snmp_fd(const dp_snmp_t *e)
{
    return e->epfd;
}

int dp_snmp_inflight(const dp_snmp_t *e)
{
    return e->inflight;
}

int dp_snmp_waiting(const dp_snmp_t *e)
{
    return e->waiting;
}

const dp_snmp_stats_t *dp_snmp_stats(const dp_snmp_t *e)
{
    return &e->stats;
}

//  ---- timer heap

void dp_snmp_i_heap_push(dp_snmp_t *e, int64_t due, int slot)
{
    if (e->nheap == e->heap_cap) {
        int cap = e->heap_cap ? e->heap_cap * 2 : 256;
        dp_snmp_i_timer_t *h = realloc(e->heap, (size_t)cap * sizeof *h);
        if (!h)
            abort();
        e->heap = h;
        e->heap_cap = cap;
    }
    int i = e->nheap++;
    dp_snmp_i_timer_t t = {due, slot, e->gens[slot]};
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (e->heap[parent].due_ms <= due)
            break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = t;
}

static dp_snmp_i_timer_t s_heap_pop(dp_snmp_t *e)
{
    dp_snmp_i_timer_t top = e->heap[0];
    dp_snmp_i_timer_t last = e->heap[--e->nheap];
    int i = 0;
    while (true) {
        int c = 2 * i + 1;
        if (c >= e->nheap)
            break;
        if (c + 1 < e->nheap && e->heap[c + 1].due_ms < e->heap[c].due_ms)
            c++;
        if (e->heap[c].due_ms >= last.due_ms)
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (e->nheap > 0)
        e->heap[i] = last;
    return top;
}

//  Drops stale heap tops (closed sessions, superseded deadlines).
static void s_heap_trim(dp_snmp_t *e)
{
    while (e->nheap > 0) {
        dp_snmp_i_timer_t *t = &e->heap[0];
        dp_snmp_sess_t *s = e->slots[t->slot];
        if (e->gens[t->slot] == t->gen && s && s->due_ms == t->due_ms)
            return;
        s_heap_pop(e);
    }
}

int dp_snmp_timeout_ms(dp_snmp_t *e)
{
    if (e->ready)
        return 0;
    s_heap_trim(e);
    if (e->nheap == 0)
        return -1;
    int64_t d = e->heap[0].due_ms - dp_time_mono_ms();
    return d <= 0 ? 0 : (d > 60000 ? 60000 : (int)d);
}

//  Re-arms the session's timer from its earliest request deadline.
static void s_reschedule(dp_snmp_sess_t *s)
{
    dp_snmp_t *e = s->e;
    if (s->shared) {
        int64_t due = 0;
        for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
            const dp_snmp_i_walk_t *w = s->walks[i];
            if (w && w->state == DP_SNMP_W_SENT && (due == 0 || w->due_ms < due))
                due = w->due_ms;
        }
        if (due != s->due_ms) {
            s->due_ms = due;
            if (due)
                dp_snmp_i_heap_push(e, due, s->slot);
        }
        return;
    }
    dp_snmp_i_ns_reschedule(s);
}

void dp_snmp_i_mark_ready(dp_snmp_sess_t *s)
{
    if (s->ready)
        return;
    s->ready = true;
    s->ready_next = s->e->ready;
    s->e->ready = s;
}

//  ---- wait queue

static void s_queue(dp_snmp_t *e, dp_snmp_i_walk_t *w, bool front)
{
    w->state = DP_SNMP_W_QUEUED;
    w->qprev = w->qnext = NULL;
    if (!e->qhead) {
        e->qhead = e->qtail = w;
    } else if (front) {
        w->qnext = e->qhead;
        e->qhead->qprev = w;
        e->qhead = w;
    } else {
        w->qprev = e->qtail;
        e->qtail->qnext = w;
        e->qtail = w;
    }
    e->waiting++;
}

static void s_unqueue(dp_snmp_t *e, dp_snmp_i_walk_t *w)
{
    if (w->qprev)
        w->qprev->qnext = w->qnext;
    else
        e->qhead = w->qnext;
    if (w->qnext)
        w->qnext->qprev = w->qprev;
    else
        e->qtail = w->qprev;
    w->qnext = w->qprev = NULL;
    e->waiting--;
}

//  ---- finishing a walk

void dp_snmp_i_finish(dp_snmp_i_walk_t *w, dp_snmp_status_t st, const char *fmt, ...)
{
    if (w->state == DP_SNMP_W_SENT) {
        w->sess->e->inflight--;
        if (w->sess->shared)
            dp_snmp_map_del(&w->sess->e->reqs, (uint64_t)w->reqid, w);
    }
    if (w->state == DP_SNMP_W_QUEUED)
        s_unqueue(w->sess->e, w);
    w->state = DP_SNMP_W_FINISHED;
    w->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->detail, sizeof w->detail, fmt, ap);
    va_end(ap);
    dp_snmp_i_mark_ready(w->sess);
}

//  Why a session got no usable answer.
void dp_snmp_i_timeout_detail(const dp_snmp_sess_t *s, char *buf, size_t size)
{
    if (s->parse_errors)
        snprintf(buf, size, "malformed reply (%u unparseable)", s->parse_errors);
    else if (s->bad_reqids)
        snprintf(buf, size, "wrong request id (%u replies)", s->bad_reqids);
    else if (s->v3)
        snprintf(buf, size, "no response (v3 priv mismatch?)");
    else
        snprintf(buf, size, "no response");
}

//  ---- shared socket (v1/v2c)

static int s_ufd(const dp_snmp_sess_t *s)
{
    return s->addr.ss_family == AF_INET6 ? s->e->ufd6 : s->e->ufd4;
}

//  Sends (or resends) the walk's encoded request. false when the kernel refuses it for good.
static bool s_transmit(dp_snmp_i_walk_t *w)
{
    dp_snmp_sess_t *s = w->sess;
    ssize_t n =
        sendto(s_ufd(s), w->pkt, w->pkt_len, 0, (const struct sockaddr *)&s->addr, s->addr_len);
    /* a full send buffer or a transient refusal is a lost datagram: the retry covers it */
    return n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
           errno == EINTR || errno == ECONNREFUSED;
}

//  Builds the walk's next request with a fresh id and sends it on the shared socket.
static void s_send_shared(dp_snmp_i_walk_t *w)
{
    dp_snmp_sess_t *s = w->sess;
    dp_snmp_t *e = s->e;
    netsnmp_pdu *pdu = dp_snmp_i_build(w, s->version != SNMP_VERSION_1);
    if (!pdu) {
        dp_snmp_i_finish(w, DP_SNMP_SEND, "out of memory");
        return;
    }
    e->next_reqid = (e->next_reqid + 1) & 0x7fffffff;
    if (e->next_reqid == 0)
        e->next_reqid = 1;
    pdu->reqid = e->next_reqid;
    const u_char *start = NULL;
    int len =
        dp_snmp_udp_build(pdu, s->version, s->comm, s->comm_len, w->pkt, sizeof w->pkt, &start);
    snmp_free_pdu(pdu);
    if (len <= 0) {
        dp_snmp_i_finish(w, DP_SNMP_SEND, "cannot encode the request");
        return;
    }
    w->pkt_len = (size_t)len;
    w->reqid = e->next_reqid;
    if (!s_transmit(w)) {
        dp_snmp_i_finish(w, DP_SNMP_SEND, "send failed: %s", strerror(errno));
        return;
    }
    dp_snmp_map_put(&e->reqs, (uint64_t)w->reqid, w);
    w->state = DP_SNMP_W_SENT;
    w->tries_left = s->retries;
    w->due_ms = dp_time_mono_ms() + s->timeout_ms;
    e->inflight++;
    e->stats.requests++;
    s_reschedule(s);
}

//  Sends the walk's next request (a slot must be free). Finishes the walk on failure.
static void s_send(dp_snmp_i_walk_t *w)
{
    if (w->sess->shared) {
        s_send_shared(w);
        return;
    }
    dp_snmp_i_ns_send(w);
}

//  Takes a slot for w now or queues it.
void dp_snmp_i_want_send(dp_snmp_i_walk_t *w, bool front)
{
    dp_snmp_t *e = w->sess->e;
    if (e->inflight < e->max_inflight && !(e->qhead && !front))
        s_send(w);
    else
        s_queue(e, w, front);
}

//  A datagram on a shared socket: parsed (dp_snmp_udp_parse_into), handed to the walk its
//  request id names. Anything else is counted on the session of the sender's address, if any,
//  so that its timeout says why.
static void s_udp_datagram(dp_snmp_t *e, const u_char *data, size_t len,
                           const struct sockaddr *from)
{
    dp_snmp_udp_reply_t *r = &e->reply;
    bool parsed = dp_snmp_udp_parse_into(data, len, r) == 0;
    dp_snmp_i_walk_t *w = parsed ? dp_snmp_map_get(&e->reqs, (uint64_t)r->reqid) : NULL;
    /* like net-snmp's unconnected UDP transport, the source address is not checked: agents
       on several interfaces may answer from another one; ids are unique per engine */
    if (w && (w->state != DP_SNMP_W_SENT || r->command != SNMP_MSG_RESPONSE))
        w = NULL;
    if (!w) {
        dp_snmp_sess_t *s = dp_snmp_map_get(&e->addrs, dp_snmp_udp_addr_key(from));
        if (s && !dp_snmp_udp_same(from, (const struct sockaddr *)&s->addr))
            s = NULL;
        if (parsed) {
            e->stats.bad_reqids++;
            if (s)
                s->bad_reqids++;
        } else {
            e->stats.parse_errors++;
            if (s)
                s->parse_errors++;
        }
        return;
    }
    dp_snmp_map_del(&e->reqs, (uint64_t)w->reqid, w);
    e->inflight--;
    w->state = DP_SNMP_W_NEXT;
    dp_snmp_i_on_reply(w, r->version != SNMP_VERSION_1, r->errstat, r->errindex,
                       r->nvars > 0 ? r->vars : NULL);
}

static void s_udp_read(dp_snmp_t *e, int fd)
{
    struct mmsghdr msgs[S_RX_BATCH];
    struct iovec iov[S_RX_BATCH];
    struct sockaddr_storage from[S_RX_BATCH];
    for (int round = 0; round < 64; round++) { /* bounded: timers and sends get their turn */
        for (int i = 0; i < S_RX_BATCH; i++) {
            iov[i] = (struct iovec){e->rx + (size_t)i * S_RX_SIZE, S_RX_SIZE};
            msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                   .msg_namelen = sizeof from[i],
                                                   .msg_iov = &iov[i],
                                                   .msg_iovlen = 1}};
        }
        int n = recvmmsg(fd, msgs, S_RX_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            if (!(msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
                s_udp_datagram(e, iov[i].iov_base, msgs[i].msg_len,
                               (const struct sockaddr *)&from[i]);
        if (n < S_RX_BATCH)
            return;
    }
}

//  Timer of a shared session: resends what is due, times out what has no tries left.
static void s_shared_timeout(dp_snmp_sess_t *s, int64_t now)
{
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
        dp_snmp_i_walk_t *w = s->walks[i];
        if (!w || w->state != DP_SNMP_W_SENT || w->due_ms > now)
            continue;
        if (w->tries_left > 0) {
            w->tries_left--;
            w->due_ms = now + s->timeout_ms;
            if (!s_transmit(w))
                dp_snmp_i_finish(w, DP_SNMP_SEND, "send failed: %s", strerror(errno));
            continue;
        }
        char d[DP_SNMP_DETAIL_MAX];
        dp_snmp_i_timeout_detail(s, d, sizeof d);
        s->e->stats.timeouts++;
        dp_snmp_i_finish(w, DP_SNMP_TIMEOUT, "%s", d);
    }
    s_reschedule(s);
}

//  --------------------------------------------------------------------------
//  Sessions

int dp_snmp_i_slot_alloc(dp_snmp_t *e, dp_snmp_sess_t *s)
{
    if (e->nfree > 0) {
        int slot = e->free_slots[--e->nfree];
        e->slots[slot] = s;
        return slot;
    }
    int n = e->nslots ? e->nslots * 2 : 64;
    dp_snmp_sess_t **sl = realloc(e->slots, (size_t)n * sizeof *sl);
    uint32_t *g = realloc(e->gens, (size_t)n * sizeof *g);
    int *fr = realloc(e->free_slots, (size_t)n * sizeof *fr);
    if (!sl || !g || !fr)
        abort();
    e->slots = sl;
    e->gens = g;
    e->free_slots = fr;
    for (int i = e->nslots; i < n; i++) {
        e->slots[i] = NULL;
        e->gens[i] = 0;
    }
    for (int i = n - 1; i > e->nslots; i--)
        e->free_slots[e->nfree++] = i;
    int slot = e->nslots;
    e->nslots = n;
    e->slots[slot] = s;
    return slot;
}

//  The engine's shared socket of family (created and watched on first use). -1 with err.
static int s_shared_fd(dp_snmp_t *e, int family, dp_err_t *err)
{
    int *fd = family == AF_INET6 ? &e->ufd6 : &e->ufd4;
    if (*fd >= 0)
        return *fd;
    if (!e->rx && !(e->rx = malloc((size_t)S_RX_BATCH * S_RX_SIZE)))
        return dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
    int f = dp_snmp_udp_socket(family);
    if (f < 0)
        return dp_err_set(err, DP_ERR_UNREACHABLE, "cannot open a UDP socket: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u32 = family == AF_INET6 ? S_TAG_UDP6 : S_TAG_UDP4};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, f, &ev) != 0) {
        close(f);
        return dp_err_set(err, DP_ERR_INTERNAL, "epoll_ctl: %s", strerror(errno));
    }
    *fd = f;
    return f;
}

dp_snmp_sess_t *dp_snmp_i_sess_new(dp_snmp_t *e, const char *host, dp_err_t *err)
{
    dp_snmp_sess_t *s = calloc(1, sizeof *s);
    if (!s) {
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->e = e;
    s->fd = -1;
    snprintf(s->host, sizeof s->host, "%s", host);
    return s;
}

//  A v1/v2c session: no socket of its own, nothing allocated by net-snmp.
static dp_snmp_sess_t *s_open_shared(dp_snmp_t *e, const dp_snmp_target_t *t, dp_err_t *err)
{
    const char *c = t->community ? t->community : "public";
    size_t clen = strlen(c);
    if (clen >= DP_SNMP_I_COMM_MAX) {
        dp_err_set(err, DP_ERR_CONFIG, "community longer than %d bytes", DP_SNMP_I_COMM_MAX - 1);
        return NULL;
    }
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    if (dp_snmp_udp_resolve(t->host, t->port, &addr, &alen, err) != 0 ||
        s_shared_fd(e, addr.ss_family, err) < 0)
        return NULL;
    dp_snmp_sess_t *s = dp_snmp_i_sess_new(e, t->host, err);
    if (!s)
        return NULL;
    s->shared = true;
    s->version = t->version == DP_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
    s->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 1000;
    s->retries = t->retries >= 0 ? t->retries : 0;
    s->addr = addr;
    s->addr_len = alen;
    memcpy(s->comm, c, clen);
    s->comm_len = clen;
    s->slot = dp_snmp_i_slot_alloc(e, s);
    dp_snmp_map_put(&e->addrs, dp_snmp_udp_addr_key((struct sockaddr *)&addr), s);
    e->stats.sessions++;
    return s;
}

dp_snmp_sess_t *dp_snmp_open(dp_snmp_t *e, const dp_snmp_target_t *t, dp_err_t *err)
{
    if (!t || !t->host || !*t->host) {
        dp_err_set(err, DP_ERR_CONFIG, "no host to poll");
        return NULL;
    }
    return t->version == DP_SNMP_V3 ? dp_snmp_i_ns_open(e, t, err) : s_open_shared(e, t, err);
}

//  Frees the session now: no done callbacks. net-snmp's close calls back the requests still
//  pending (walks cancelled in flight, or running ones on dp_snmp_destroy): s_cb ignores them
//  (freeing), and the walks are freed only after it.
void dp_snmp_i_sess_free(dp_snmp_sess_t *s)
{
    dp_snmp_t *e = s->e;
    dp_snmp_i_walk_t *all[DP_SNMP_WALKS_MAX + 1];
    int n = 0;
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++)
        if (s->walks[i])
            all[n++] = s->walks[i];
    if (s->probe)
        all[n++] = s->probe;
    for (int i = 0; i < n; i++) {
        if (all[i]->state == DP_SNMP_W_SENT) {
            e->inflight--;
            if (s->shared)
                dp_snmp_map_del(&e->reqs, (uint64_t)all[i]->reqid, all[i]);
        }
        if (all[i]->state == DP_SNMP_W_QUEUED)
            s_unqueue(e, all[i]);
    }
    if (s->shared) {
        dp_snmp_map_del(&e->addrs, dp_snmp_udp_addr_key((struct sockaddr *)&s->addr), s);
    } else {
        dp_snmp_i_ns_close(s);
    }
    for (int i = 0; i < n; i++)
        dp_snmp_i_walk_put(e, all[i]);
    while (s->dead) {
        dp_snmp_i_walk_t *w = s->dead;
        s->dead = w->qnext;
        dp_snmp_i_walk_put(e, w);
    }
    if (e->slots[s->slot] == s) {
        e->slots[s->slot] = NULL;
        e->gens[s->slot]++;
        e->free_slots[e->nfree++] = s->slot;
    }
    free(s);
}

void dp_snmp_close(dp_snmp_sess_t **p)
{
    if (!p || !*p)
        return;
    dp_snmp_sess_t *s = *p;
    *p = NULL;
    if (s->closing)
        return;
    s->closing = true;
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
        dp_snmp_i_walk_t *w = s->walks[i];
        if (w && w->state != DP_SNMP_W_FINISHED)
            dp_snmp_i_finish(w, DP_SNMP_CANCELLED, "session closed");
    }
    dp_snmp_i_mark_ready(s); /* freed by dp_snmp_process after the callbacks */
}

int dp_snmp_walk(dp_snmp_sess_t *s, const dp_snmp_col_t *cols, int ncols, int max_rep,
                 dp_snmp_var_fn *on_var, dp_snmp_done_fn *on_done, void *arg, dp_err_t *err)
{
    if (s->closing || ncols < 1 || ncols > DP_SNMP_COLS_MAX)
        return dp_err_set(err, DP_ERR_INTERNAL, "bad walk (%d columns)", ncols);
    int slot = -1;
    for (int i = 0; i < DP_SNMP_WALKS_MAX && slot < 0; i++)
        if (!s->walks[i])
            slot = i;
    if (slot < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "too many walks on one session");
    for (int c = 0; c < ncols; c++)
        if (cols[c].len < 1 || cols[c].len >= DP_SNMP_OID_MAX)
            return dp_err_set(err, DP_ERR_INTERNAL, "column %d OID too long", c);
    dp_snmp_i_walk_t *w = dp_snmp_i_walk_get(s->e);
    if (!w)
        return dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
    for (int c = 0; c < ncols; c++) {
        memcpy(w->cur[c], cols[c].prefix, cols[c].len * sizeof(oid));
        w->cur_len[c] = cols[c].len;
    }
    w->sess = s;
    w->cols = cols;
    w->ncols = ncols;
    w->max_rep = max_rep < 1 ? 1 : (max_rep > DP_SNMP_MAXREP_MAX ? DP_SNMP_MAXREP_MAX : max_rep);
    w->cols_per_req = ncols;
    w->on_var = on_var;
    w->on_done = on_done;
    w->arg = arg;
    s->walks[slot] = w;
    if (s->probe)
        w->state = DP_SNMP_W_HOLD;
    else
        dp_snmp_i_want_send(w, false);
    return 0;
}

//  --------------------------------------------------------------------------
//  The loop turn

//  Acts on a session whose walks changed state.
static void s_service(dp_snmp_sess_t *s)
{
    if (s->probe && s->probe->state == DP_SNMP_W_FINISHED)
        dp_snmp_i_probe_done(s);
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
        dp_snmp_i_walk_t *w = s->walks[i];
        if (!w)
            continue;
        if (w->state == DP_SNMP_W_NEXT) {
            dp_snmp_i_want_send(w, true);
        } else if (w->state == DP_SNMP_W_FINISHED) {
            s->walks[i] = NULL;
            if (w->on_done)
                w->on_done(w->arg, w->status, w->detail);
            if (s->closing) { /* its request may still be pending in net-snmp */
                w->qnext = s->dead;
                s->dead = w;
            } else {
                dp_snmp_i_walk_put(s->e, w);
            }
        }
    }
}

static void s_drain_ready(dp_snmp_t *e)
{
    while (e->ready) {
        dp_snmp_sess_t *s = e->ready;
        e->ready = s->ready_next;
        s->ready = false;
        s_service(s); /* callbacks may close s (marks it ready again) */
        if (s->closing && !s->ready)
            dp_snmp_i_sess_free(s);
    }
    while (e->qhead && e->inflight < e->max_inflight) {
        dp_snmp_i_walk_t *w = e->qhead;
        s_unqueue(e, w);
        s_send(w);
        if (e->ready)
            s_drain_ready(e);
    }
}

void dp_snmp_process(dp_snmp_t *e)
{
    struct epoll_event evs[S_EPOLL_BATCH];
    int n = epoll_wait(e->epfd, evs, S_EPOLL_BATCH, 0);
    for (int i = 0; i < n; i++) {
        uint32_t tag = evs[i].data.u32;
        if (tag == S_TAG_UDP4 || tag == S_TAG_UDP6) {
            s_udp_read(e, tag == S_TAG_UDP4 ? e->ufd4 : e->ufd6);
            continue;
        }
        int slot = (int)tag;
        dp_snmp_sess_t *s = slot < e->nslots ? e->slots[slot] : NULL;
        if (s && !s->closing)
            dp_snmp_i_ns_read(s);
    }
    int64_t now = dp_time_mono_ms();
    while (true) {
        s_heap_trim(e);
        if (e->nheap == 0 || e->heap[0].due_ms > now)
            break;
        dp_snmp_i_timer_t t = s_heap_pop(e);
        dp_snmp_sess_t *s = e->slots[t.slot];
        s->due_ms = 0;
        if (s->shared) {
            if (!s->closing)
                s_shared_timeout(s, now);
            continue;
        }
        dp_snmp_i_ns_timeout(s);
    }
    s_drain_ready(e);
}
