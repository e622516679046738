/*  dp_snmp.c - asynchronous SNMP engine (see dp_snmp.h)
    v1/v2c sessions share one long-lived UDP socket per engine and address family: requests are
    built and replies parsed by net-snmp (dp_snmp_udp.c), replies are dispatched by request id,
    and timeouts/retries are the engine's own. v3 sessions use net-snmp's single-session API
    (one socket each: USM discovery, keys and time windows stay net-snmp's).
    Sessions live in a slot table; a min-heap of (due, slot, generation) drives net-snmp's
    per-session timeouts and retries, an epoll set tells which sockets to read, so each loop
    turn costs O(ready + due) whatever the number of sessions. net-snmp callbacks only record
    results; sends, completions and closes happen in dp_snmp_process (no re-entrancy).
    SPDX-License-Identifier: MIT */
#include "dp_snmp.h"
#include "dp_snmp_udp.h"
#include "dp_time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net-snmp/library/large_fd_set.h>
#include <net-snmp/library/snmpusm.h>
#include <net-snmp/library/transform_oids.h>

#define S_EPOLL_BATCH 256
#define S_FDSET_MIN   4096
#define S_HOST_MAX    128
#define S_COMM_MAX    256
#define S_RX_BATCH    16          /* datagrams per recvmmsg */
#define S_RX_SIZE     65536       /* largest datagram */
#define S_TAG_UDP4    0xfffffff0u /* epoll data of the shared sockets */
#define S_TAG_UDP6    0xfffffff1u

typedef enum {
    S_W_HOLD = 0, /* waiting for the v3 engine probe */
    S_W_QUEUED,   /* waiting for an in-flight slot */
    S_W_SENT,     /* request in flight */
    S_W_NEXT,     /* reply handled, another request needed */
    S_W_FINISHED, /* status set, completion pending */
} s_wstate_t;

typedef struct s_walk s_walk_t;
struct s_walk {
    dp_snmp_sess_t *sess;
    s_wstate_t state;
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
    s_walk_t *qnext, *qprev; /* engine wait queue; qnext also links a closing session's dead */
    /* large parts last: not cleared on reuse (written before they are read) */
    oid cur[DP_SNMP_COLS_MAX][DP_SNMP_OID_MAX];
    size_t cur_len[DP_SNMP_COLS_MAX];
    u_char pkt[DP_SNMP_UDP_PKT_MAX];
};

struct dp_snmp_sess {
    dp_snmp_t *e;
    void *sp; /* net-snmp single session */
    int fd;
    int slot;
    bool v3, ready, closing;
    bool freeing;  /* in s_sess_free: net-snmp's close calls back pending requests */
    bool cb_fired; /* a callback ran during the current read */
    dp_snmp_sess_t *ready_next;
    s_walk_t *walks[DP_SNMP_WALKS_MAX];
    s_walk_t *probe;
    s_walk_t *dead; /* walks reported done while closing: net-snmp may still hold them */
    int64_t due_ms;
    uint32_t parse_errors, bad_reqids;
    int timeout_ms;
    char host[S_HOST_MAX];
    /* v1/v2c on the engine's shared socket (sp NULL) */
    bool shared;
    long version;
    int retries;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    size_t comm_len;
    char comm[S_COMM_MAX];
};

typedef struct {
    int64_t due_ms;
    int slot;
    uint32_t gen;
} s_timer_t;

struct dp_snmp {
    int epfd;
    int max_inflight, inflight, waiting;
    netsnmp_large_fd_set fds;
    int fds_size;
    dp_snmp_sess_t **slots;
    uint32_t *gens;
    int *free_slots;
    int nslots, nfree;
    s_timer_t *heap;
    int nheap, heap_cap;
    s_walk_t *qhead, *qtail;
    dp_snmp_sess_t *ready;
    dp_snmp_stats_t stats;
    int ufd4, ufd6;      /* shared sockets, -1 until needed */
    uint32_t next_reqid; /* shared sockets: request ids (31 bits, never 0) */
    dp_snmp_map_t reqs;  /* request id -> walk in flight */
    dp_snmp_map_t addrs; /* agent address -> a session to it (error attribution) */
    u_char *rx;          /* S_RX_BATCH x S_RX_SIZE */
    s_walk_t *free_walks;
};

static pthread_mutex_t s_v3_lock = PTHREAD_MUTEX_INITIALIZER;

static void s_lock(const dp_snmp_sess_t *s)
{
    if (s->v3)
        pthread_mutex_lock(&s_v3_lock);
}

static void s_unlock(const dp_snmp_sess_t *s)
{
    if (s->v3)
        pthread_mutex_unlock(&s_v3_lock);
}

//  Walks are recycled: a poll takes two, and each is ~10 KB.
static s_walk_t *s_walk_get(dp_snmp_t *e)
{
    s_walk_t *w = e->free_walks;
    if (!w)
        return calloc(1, sizeof *w);
    e->free_walks = w->qnext;
    memset(w, 0, offsetof(s_walk_t, cur));
    return w;
}

static void s_walk_put(dp_snmp_t *e, s_walk_t *w)
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

static void s_sess_free(dp_snmp_sess_t *s);

void dp_snmp_destroy(dp_snmp_t **p)
{
    if (!p || !*p)
        return;
    dp_snmp_t *e = *p;
    for (int i = 0; i < e->nslots; i++)
        if (e->slots[i])
            s_sess_free(e->slots[i]);
    netsnmp_large_fd_set_cleanup(&e->fds);
    if (e->ufd4 >= 0)
        close(e->ufd4);
    if (e->ufd6 >= 0)
        close(e->ufd6);
    dp_snmp_map_clear(&e->reqs);
    dp_snmp_map_clear(&e->addrs);
    free(e->rx);
    while (e->free_walks) {
        s_walk_t *w = e->free_walks;
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

static void s_heap_push(dp_snmp_t *e, int64_t due, int slot)
{
    if (e->nheap == e->heap_cap) {
        int cap = e->heap_cap ? e->heap_cap * 2 : 256;
        s_timer_t *h = realloc(e->heap, (size_t)cap * sizeof *h);
        if (!h)
            abort();
        e->heap = h;
        e->heap_cap = cap;
    }
    int i = e->nheap++;
    s_timer_t t = {due, slot, e->gens[slot]};
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (e->heap[parent].due_ms <= due)
            break;
        e->heap[i] = e->heap[parent];
        i = parent;
    }
    e->heap[i] = t;
}

static s_timer_t s_heap_pop(dp_snmp_t *e)
{
    s_timer_t top = e->heap[0];
    s_timer_t last = e->heap[--e->nheap];
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
        s_timer_t *t = &e->heap[0];
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

//  Re-arms the session's timer from net-snmp's earliest request expiry.
static void s_reschedule(dp_snmp_sess_t *s)
{
    dp_snmp_t *e = s->e;
    if (s->shared) {
        int64_t due = 0;
        for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
            const s_walk_t *w = s->walks[i];
            if (w && w->state == S_W_SENT && (due == 0 || w->due_ms < due))
                due = w->due_ms;
        }
        if (due != s->due_ms) {
            s->due_ms = due;
            if (due)
                s_heap_push(e, due, s->slot);
        }
        return;
    }
    int numfds = 0, block = 1;
    struct timeval tv = {0, 0};
    s_lock(s);
    snmp_sess_select_info2_flags(s->sp, &numfds, &e->fds, &tv, &block, NETSNMP_SELECT_NOALARMS);
    s_unlock(s);
    NETSNMP_LARGE_FD_CLR(s->fd, &e->fds);
    if (block) {
        s->due_ms = 0;
        return;
    }
    s->due_ms = dp_time_mono_ms() + (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + 1;
    s_heap_push(e, s->due_ms, s->slot);
}

static void s_mark_ready(dp_snmp_sess_t *s)
{
    if (s->ready)
        return;
    s->ready = true;
    s->ready_next = s->e->ready;
    s->e->ready = s;
}

//  ---- wait queue

static void s_queue(dp_snmp_t *e, s_walk_t *w, bool front)
{
    w->state = S_W_QUEUED;
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

static void s_unqueue(dp_snmp_t *e, s_walk_t *w)
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

static void s_finish(s_walk_t *w, dp_snmp_status_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_finish(s_walk_t *w, dp_snmp_status_t st, const char *fmt, ...)
{
    if (w->state == S_W_SENT) {
        w->sess->e->inflight--;
        if (w->sess->shared)
            dp_snmp_map_del(&w->sess->e->reqs, (uint64_t)w->reqid, w);
    }
    if (w->state == S_W_QUEUED)
        s_unqueue(w->sess->e, w);
    w->state = S_W_FINISHED;
    w->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->detail, sizeof w->detail, fmt, ap);
    va_end(ap);
    s_mark_ready(w->sess);
}

//  Why a session got no usable answer.
static void s_timeout_detail(const dp_snmp_sess_t *s, char *buf, size_t size)
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

//  ---- request building and reply handling

static int s_active_cols(const s_walk_t *w)
{
    int n = 0;
    for (int c = 0; c < w->ncols; c++)
        if (!(w->done & (1u << c)))
            n++;
    return n;
}

static netsnmp_pdu *s_build(s_walk_t *w, bool bulk)
{
    netsnmp_pdu *pdu = snmp_pdu_create(bulk ? SNMP_MSG_GETBULK : SNMP_MSG_GETNEXT);
    if (!pdu)
        return NULL;
    w->req_n = w->req_nonrep = 0;
    for (int pass = 0; pass < 2; pass++) /* scalars first: they are the non-repeaters */
        for (int c = 0; c < w->ncols && w->req_n < w->cols_per_req; c++) {
            if ((w->done & (1u << c)) || w->cols[c].scalar != (pass == 0))
                continue;
            snmp_add_null_var(pdu, w->cur[c], w->cur_len[c]);
            w->req_cols[w->req_n++] = c;
            if (pass == 0)
                w->req_nonrep++;
        }
    if (bulk) {
        pdu->non_repeaters = w->req_nonrep;
        pdu->max_repetitions = w->req_n > w->req_nonrep ? w->max_rep : 0;
    }
    return pdu;
}

static int s_cb(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic);

//  ---- shared socket (v1/v2c)

static int s_ufd(const dp_snmp_sess_t *s)
{
    return s->addr.ss_family == AF_INET6 ? s->e->ufd6 : s->e->ufd4;
}

//  Sends (or resends) the walk's encoded request. false when the kernel refuses it for good.
static bool s_transmit(s_walk_t *w)
{
    dp_snmp_sess_t *s = w->sess;
    ssize_t n =
        sendto(s_ufd(s), w->pkt, w->pkt_len, 0, (const struct sockaddr *)&s->addr, s->addr_len);
    /* a full send buffer or a transient refusal is a lost datagram: the retry covers it */
    return n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
           errno == EINTR || errno == ECONNREFUSED;
}

//  Builds the walk's next request with a fresh id and sends it on the shared socket.
static void s_send_shared(s_walk_t *w)
{
    dp_snmp_sess_t *s = w->sess;
    dp_snmp_t *e = s->e;
    netsnmp_pdu *pdu = s_build(w, s->version != SNMP_VERSION_1);
    if (!pdu) {
        s_finish(w, DP_SNMP_SEND, "out of memory");
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
        s_finish(w, DP_SNMP_SEND, "cannot encode the request");
        return;
    }
    w->pkt_len = (size_t)len;
    w->reqid = e->next_reqid;
    if (!s_transmit(w)) {
        s_finish(w, DP_SNMP_SEND, "send failed: %s", strerror(errno));
        return;
    }
    dp_snmp_map_put(&e->reqs, (uint64_t)w->reqid, w);
    w->state = S_W_SENT;
    w->tries_left = s->retries;
    w->due_ms = dp_time_mono_ms() + s->timeout_ms;
    e->inflight++;
    e->stats.requests++;
    s_reschedule(s);
}

//  Sends the walk's next request (a slot must be free). Finishes the walk on failure.
static void s_send(s_walk_t *w)
{
    dp_snmp_sess_t *s = w->sess;
    dp_snmp_t *e = s->e;
    if (s->shared) {
        s_send_shared(w);
        return;
    }
    netsnmp_pdu *pdu;
    if (w->probe) {
        pdu = snmp_pdu_create(SNMP_MSG_GET);
        if (pdu) {
            pdu->version = SNMP_VERSION_3;
            pdu->securityName = strdup("");
            pdu->securityNameLen = 0;
            pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
            pdu->securityModel = SNMP_SEC_MODEL_USM;
        }
    } else {
        pdu = s_build(w, snmp_sess_session(s->sp)->version != SNMP_VERSION_1);
    }
    if (!pdu) {
        s_finish(w, DP_SNMP_SEND, "out of memory");
        return;
    }
    s_lock(s);
    int id = snmp_sess_async_send(s->sp, pdu, s_cb, w);
    s_unlock(s);
    if (id == 0) {
        int liberr = 0, syserr = 0;
        char *txt = NULL;
        snmp_sess_error(s->sp, &liberr, &syserr, &txt);
        snmp_free_pdu(pdu);
        s_finish(w, DP_SNMP_SEND, "send failed: %s", txt ? txt : "?");
        free(txt);
        return;
    }
    w->reqid = id;
    w->state = S_W_SENT;
    e->inflight++;
    e->stats.requests++;
    s_reschedule(s);
}

//  Takes a slot for w now or queues it.
static void s_want_send(s_walk_t *w, bool front)
{
    dp_snmp_t *e = w->sess->e;
    if (e->inflight < e->max_inflight && !(e->qhead && !front))
        s_send(w);
    else
        s_queue(e, w, front);
}

//  One varbind of a reply for column c. Returns true when it advanced the column.
static bool s_take_var(s_walk_t *w, int c, const netsnmp_variable_list *vp, int64_t at_ms)
{
    const dp_snmp_col_t *col = &w->cols[c];
    uint32_t bit = 1u << c;
    if (w->done & bit)
        return false;
    bool exc = vp->type == SNMP_ENDOFMIBVIEW || vp->type == SNMP_NOSUCHOBJECT ||
               vp->type == SNMP_NOSUCHINSTANCE;
    if (exc || vp->name_length > DP_SNMP_OID_MAX ||
        !dp_snmp_oid_under(col->prefix, col->len, vp->name, vp->name_length) ||
        snmp_oid_compare(vp->name, vp->name_length, w->cur[c], w->cur_len[c]) <= 0) {
        w->done |= bit;
        return true;
    }
    w->on_var(w->arg, c, vp->name + col->len, vp->name_length - col->len, vp, at_ms);
    memcpy(w->cur[c], vp->name, vp->name_length * sizeof(oid));
    w->cur_len[c] = vp->name_length;
    if (col->scalar)
        w->done |= bit;
    return true;
}

static void s_on_reply(s_walk_t *w, netsnmp_pdu *pdu)
{
    dp_snmp_sess_t *s = w->sess;
    bool bulk = pdu->version != SNMP_VERSION_1;
    if (pdu->errstat == SNMP_ERR_TOOBIG) {
        s->e->stats.toobig++;
        if (!dp_snmp_shrink(&w->max_rep, &w->cols_per_req))
            s_finish(w, DP_SNMP_TOOBIG, "tooBig for a single varbind");
        return;
    }
    if (pdu->errstat != SNMP_ERR_NOERROR) {
        /* name the column and drop it (spine's snmp_fix_pdu); v1's end of MIB is noSuchName */
        long ei = pdu->errindex;
        if (ei >= 1 && ei <= w->req_n) {
            w->done |= 1u << w->req_cols[ei - 1];
            return;
        }
        s_finish(w, DP_SNMP_ERRSTAT, "error-status %s (%ld)", snmp_errstring((int)pdu->errstat),
                 pdu->errstat);
        return;
    }
    int64_t at_ms = dp_time_wall_ms();
    bool progressed = false;
    int i = 0;
    for (netsnmp_variable_list *vp = pdu->variables; vp; vp = vp->next_variable, i++) {
        int k = bulk ? dp_snmp_bulk_col(i, w->req_nonrep, w->req_n - w->req_nonrep) : i;
        if (k < 0 || k >= w->req_n)
            break;
        progressed |= s_take_var(w, w->req_cols[k], vp, at_ms);
    }
    if (!progressed && s_active_cols(w) > 0)
        s_finish(w, DP_SNMP_ERRSTAT, "reply without usable varbinds");
}

//  Copies the engine id a probe's report carried into the session (net-snmp does the same
//  after the callbacks on some paths only).
static void s_probe_learnt(netsnmp_session *sp, const netsnmp_pdu *pdu)
{
    if (sp->securityEngineIDLen > 0)
        return;
    u_char *id = malloc(pdu->securityEngineIDLen);
    if (!id)
        return;
    memcpy(id, pdu->securityEngineID, pdu->securityEngineIDLen);
    sp->securityEngineID = id;
    sp->securityEngineIDLen = pdu->securityEngineIDLen;
    if (sp->contextEngineIDLen == 0) {
        u_char *ctx = malloc(pdu->securityEngineIDLen);
        if (!ctx)
            return;
        memcpy(ctx, pdu->securityEngineID, pdu->securityEngineIDLen);
        sp->contextEngineID = ctx;
        sp->contextEngineIDLen = pdu->securityEngineIDLen;
    }
}

//  net-snmp callback: records the outcome only.
static int s_cb(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic)
{
    s_walk_t *w = magic;
    /* snmp_sess_close calls pending requests back (TIMED_OUT): their walks are still allocated
       (s_sess_free frees them afterwards) but must not change state any more */
    if (!w || w->sess->freeing)
        return 1;
    dp_snmp_sess_t *s = w->sess;
    s->cb_fired = true;
    /* one request per walk is in flight; v3 reports may carry another request id */
    if (w->state != S_W_SENT || (reqid != w->reqid && !s->v3))
        return 1;
    if (w->probe && pdu && pdu->securityEngineIDLen > 0 &&
        (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || op == NETSNMP_CALLBACK_OP_SEC_ERROR)) {
        s_probe_learnt(sp, pdu);
        s_finish(w, DP_SNMP_OK, "%s", "");
        return 1;
    }
    switch (op) {
    case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
        if (pdu->command == SNMP_MSG_REPORT) {
            int type = snmpv3_get_report_type(pdu);
            if (type == SNMPERR_NOT_IN_TIME_WINDOW)
                return 1; /* net-snmp resends with the agent's boots/time */
            s_finish(w, DP_SNMP_AUTH, "%s", snmp_api_errstring(type));
            return 1;
        }
        s->e->inflight--;
        w->state = S_W_NEXT;
        s_on_reply(w, pdu);
        if (w->state == S_W_NEXT && s_active_cols(w) == 0)
            s_finish(w, DP_SNMP_OK, "%s", "");
        s_mark_ready(s);
        return 1;
    case NETSNMP_CALLBACK_OP_TIMED_OUT: {
        char d[DP_SNMP_DETAIL_MAX];
        s_timeout_detail(s, d, sizeof d);
        s->e->stats.timeouts++;
        s_finish(w, DP_SNMP_TIMEOUT, "%s", d);
        return 1;
    }
    case NETSNMP_CALLBACK_OP_RESEND: /* a retry went out: keep waiting */
    case NETSNMP_CALLBACK_OP_CONNECT:
        return 1;
    case NETSNMP_CALLBACK_OP_SEC_ERROR:
        s_finish(w, DP_SNMP_AUTH, "security error: %s",
                 snmp_api_errstring(pdu ? snmpv3_get_report_type(pdu) : SNMPERR_GENERR));
        return 1;
    default:
        s_finish(w, DP_SNMP_SEND, "transport failure (op %d)", op);
        return 1;
    }
}

//  A datagram on a shared socket: parsed by net-snmp, handed to the walk its request id names.
//  Anything else is counted on the session of the
//  sender's address, if any, so that its timeout says why.
static void s_udp_datagram(dp_snmp_t *e, const u_char *data, size_t len,
                           const struct sockaddr *from)
{
    netsnmp_pdu *pdu = dp_snmp_udp_parse(data, len);
    s_walk_t *w = pdu ? dp_snmp_map_get(&e->reqs, (uint64_t)pdu->reqid) : NULL;
    /* like net-snmp's unconnected UDP transport, the source address is not checked: agents
       on several interfaces may answer from another one; ids are unique per engine */
    if (w && (w->state != S_W_SENT || pdu->command != SNMP_MSG_RESPONSE))
        w = NULL;
    if (!w) {
        dp_snmp_sess_t *s = dp_snmp_map_get(&e->addrs, dp_snmp_udp_addr_key(from));
        if (s && !dp_snmp_udp_same(from, (const struct sockaddr *)&s->addr))
            s = NULL;
        if (pdu) {
            e->stats.bad_reqids++;
            if (s)
                s->bad_reqids++;
        } else {
            e->stats.parse_errors++;
            if (s)
                s->parse_errors++;
        }
        if (pdu)
            snmp_free_pdu(pdu);
        return;
    }
    dp_snmp_sess_t *s = w->sess;
    dp_snmp_map_del(&e->reqs, (uint64_t)w->reqid, w);
    e->inflight--;
    w->state = S_W_NEXT;
    s_on_reply(w, pdu);
    if (w->state == S_W_NEXT && s_active_cols(w) == 0)
        s_finish(w, DP_SNMP_OK, "%s", "");
    s_mark_ready(s);
    snmp_free_pdu(pdu);
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
        s_walk_t *w = s->walks[i];
        if (!w || w->state != S_W_SENT || w->due_ms > now)
            continue;
        if (w->tries_left > 0) {
            w->tries_left--;
            w->due_ms = now + s->timeout_ms;
            if (!s_transmit(w))
                s_finish(w, DP_SNMP_SEND, "send failed: %s", strerror(errno));
            continue;
        }
        char d[DP_SNMP_DETAIL_MAX];
        s_timeout_detail(s, d, sizeof d);
        s->e->stats.timeouts++;
        s_finish(w, DP_SNMP_TIMEOUT, "%s", d);
    }
    s_reschedule(s);
}

//  --------------------------------------------------------------------------
//  Sessions

//  Drops net-snmp's USM entry for (engine, user) so the next session's keys are used: the
//  table is process-wide, keyed by engine id and user name only. Call under s_v3_lock.
static void s_forget_user(const u_char *engine, size_t len, const char *name)
{
    struct usmUser *u = usm_get_user(engine, len, name);
    if (u) {
        usm_remove_user(u);
        usm_free_user(u);
    }
}

static int s_slot_alloc(dp_snmp_t *e, dp_snmp_sess_t *s)
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

static int s_fill_session(netsnmp_session *in, const dp_snmp_target_t *t, char *peer,
                          size_t peer_size, dp_err_t *err)
{
    snmp_sess_init(in);
    bool v6 = strchr(t->host, ':') != NULL;
    snprintf(peer, peer_size, v6 ? "udp6:[%s]:%d" : "udp:%s:%d", t->host,
             t->port > 0 ? t->port : 161);
    in->peername = peer;
    in->timeout = (long)(t->timeout_ms > 0 ? t->timeout_ms : 1000) * 1000L;
    in->retries = t->retries >= 0 ? t->retries : 0;
    in->flags |= SNMP_FLAGS_DONT_PROBE;
    if (t->version != DP_SNMP_V3) {
        in->version = t->version == DP_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
        const char *c = t->community ? t->community : "public";
        in->community = (u_char *)c;
        in->community_len = strlen(c);
        return 0;
    }
    in->version = SNMP_VERSION_3;
    if (!t->sec_name || !*t->sec_name)
        return dp_err_set(err, DP_ERR_CONFIG, "SNMPv3 needs a user name");
    in->securityName = (char *)t->sec_name;
    in->securityNameLen = strlen(t->sec_name);
    in->securityModel = SNMP_SEC_MODEL_USM;
    in->securityLevel = t->level == DP_SNMP_AUTHPRIV     ? SNMP_SEC_LEVEL_AUTHPRIV
                        : t->level == DP_SNMP_AUTHNOPRIV ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                         : SNMP_SEC_LEVEL_NOAUTH;
    if (t->level != DP_SNMP_NOAUTH) {
        size_t alen;
        const oid *ap = dp_snmp_auth_oid(t->auth_proto ? t->auth_proto : "MD5", &alen);
        if (!ap || t->auth_ku_len == 0 || t->auth_ku_len > sizeof in->securityAuthKey)
            return dp_err_set(err, DP_ERR_CONFIG, "SNMPv3 auth protocol/key not set");
        in->securityAuthProto = (oid *)ap;
        in->securityAuthProtoLen = alen;
        memcpy(in->securityAuthKey, t->auth_ku, t->auth_ku_len);
        in->securityAuthKeyLen = t->auth_ku_len;
    }
    if (t->level == DP_SNMP_AUTHPRIV) {
        size_t plen;
        const oid *pp = dp_snmp_priv_oid(t->priv_proto ? t->priv_proto : "DES", &plen);
        if (!pp || t->priv_ku_len == 0 || t->priv_ku_len > sizeof in->securityPrivKey)
            return dp_err_set(err, DP_ERR_CONFIG, "SNMPv3 priv protocol/key not set");
        in->securityPrivProto = (oid *)pp;
        in->securityPrivProtoLen = plen;
        memcpy(in->securityPrivKey, t->priv_ku, t->priv_ku_len);
        in->securityPrivKeyLen = t->priv_ku_len;
    }
    if (t->engine_id_len > 0) {
        in->securityEngineID = (u_char *)t->engine_id;
        in->securityEngineIDLen = t->engine_id_len;
    }
    return 0;
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

//  A v1/v2c session: no socket of its own, nothing allocated by net-snmp.
static dp_snmp_sess_t *s_open_shared(dp_snmp_t *e, const dp_snmp_target_t *t, dp_err_t *err)
{
    const char *c = t->community ? t->community : "public";
    size_t clen = strlen(c);
    if (clen >= S_COMM_MAX) {
        dp_err_set(err, DP_ERR_CONFIG, "community longer than %d bytes", S_COMM_MAX - 1);
        return NULL;
    }
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    if (dp_snmp_udp_resolve(t->host, t->port, &addr, &alen, err) != 0 ||
        s_shared_fd(e, addr.ss_family, err) < 0)
        return NULL;
    dp_snmp_sess_t *s = calloc(1, sizeof *s);
    if (!s) {
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->e = e;
    s->fd = -1;
    s->shared = true;
    s->version = t->version == DP_SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
    s->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 1000;
    s->retries = t->retries >= 0 ? t->retries : 0;
    s->addr = addr;
    s->addr_len = alen;
    memcpy(s->comm, c, clen);
    s->comm_len = clen;
    snprintf(s->host, sizeof s->host, "%s", t->host);
    s->slot = s_slot_alloc(e, s);
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
    if (t->version != DP_SNMP_V3)
        return s_open_shared(e, t, err);
    netsnmp_session in;
    char peer[S_HOST_MAX + 16];
    if (s_fill_session(&in, t, peer, sizeof peer, err) != 0)
        return NULL;
    dp_snmp_sess_t *s = calloc(1, sizeof *s);
    if (!s) {
        dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->e = e;
    s->v3 = t->version == DP_SNMP_V3;
    s->timeout_ms = t->timeout_ms;
    snprintf(s->host, sizeof s->host, "%s", t->host);
    s_lock(s);
    if (s->v3 && t->engine_id_len > 0) /* the session's keys replace any older ones */
        s_forget_user(t->engine_id, t->engine_id_len, t->sec_name);
    s->sp = snmp_sess_open(&in);
    if (s->sp && s->v3) /* snmp_sess_open clears it: keep net-snmp from probing synchronously */
        snmp_sess_session(s->sp)->flags |= SNMP_FLAGS_DONT_PROBE;
    s_unlock(s);
    netsnmp_transport *tr = s->sp ? snmp_sess_transport(s->sp) : NULL;
    if (!tr || tr->sock < 0) {
        dp_err_set(err, DP_ERR_UNREACHABLE, "cannot open an SNMP session to %s: %s", peer,
                   snmp_api_errstring(snmp_errno));
        if (s->sp)
            snmp_sess_close(s->sp);
        free(s);
        return NULL;
    }
    s->fd = tr->sock;
    int fl = fcntl(s->fd, F_GETFL);
    if (fl >= 0) /* a spurious wake-up must never block the thread in recvfrom */
        fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
    if (s->fd >= e->fds_size) {
        int n = e->fds_size;
        while (n <= s->fd)
            n *= 2;
        netsnmp_large_fd_set_resize(&e->fds, n);
        e->fds_size = n;
    }
    s->slot = s_slot_alloc(e, s);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s->slot};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "epoll_ctl: %s", strerror(errno));
        s_sess_free(s);
        return NULL;
    }
    e->stats.sessions++;
    if (s->v3 && t->engine_id_len == 0) {
        s->probe = s_walk_get(e);
        if (!s->probe) {
            dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
            s_sess_free(s);
            return NULL;
        }
        s->probe->sess = s;
        s->probe->probe = true;
        s_want_send(s->probe, false);
    }
    return s;
}

size_t dp_snmp_engine_id(const dp_snmp_sess_t *s, uint8_t *buf, size_t size)
{
    if (!s || !s->v3)
        return 0;
    netsnmp_session *ss = snmp_sess_session(s->sp);
    if (!ss || ss->securityEngineIDLen == 0 || ss->securityEngineIDLen > size)
        return 0;
    memcpy(buf, ss->securityEngineID, ss->securityEngineIDLen);
    return ss->securityEngineIDLen;
}

//  Frees the session now: no done callbacks. net-snmp's close calls back the requests still
//  pending (walks cancelled in flight, or running ones on dp_snmp_destroy): s_cb ignores them
//  (freeing), and the walks are freed only after it.
static void s_sess_free(dp_snmp_sess_t *s)
{
    dp_snmp_t *e = s->e;
    s_walk_t *all[DP_SNMP_WALKS_MAX + 1];
    int n = 0;
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++)
        if (s->walks[i])
            all[n++] = s->walks[i];
    if (s->probe)
        all[n++] = s->probe;
    for (int i = 0; i < n; i++) {
        if (all[i]->state == S_W_SENT) {
            e->inflight--;
            if (s->shared)
                dp_snmp_map_del(&e->reqs, (uint64_t)all[i]->reqid, all[i]);
        }
        if (all[i]->state == S_W_QUEUED)
            s_unqueue(e, all[i]);
    }
    if (s->shared) {
        dp_snmp_map_del(&e->addrs, dp_snmp_udp_addr_key((struct sockaddr *)&s->addr), s);
    } else {
        if (s->fd >= 0)
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        s->freeing = true;
        s_lock(s);
        snmp_sess_close(s->sp); /* calls back pending requests with walk pointers */
        s_unlock(s);
    }
    for (int i = 0; i < n; i++)
        s_walk_put(e, all[i]);
    while (s->dead) {
        s_walk_t *w = s->dead;
        s->dead = w->qnext;
        s_walk_put(e, w);
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
        s_walk_t *w = s->walks[i];
        if (w && w->state != S_W_FINISHED)
            s_finish(w, DP_SNMP_CANCELLED, "session closed");
    }
    s_mark_ready(s); /* freed by dp_snmp_process after the callbacks */
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
    s_walk_t *w = s_walk_get(s->e);
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
        w->state = S_W_HOLD;
    else
        s_want_send(w, false);
    return 0;
}

//  --------------------------------------------------------------------------
//  The loop turn

//  The engine probe ended: release or fail the walks held behind it.
static void s_probe_done(dp_snmp_sess_t *s)
{
    s_walk_t *p = s->probe;
    s->probe = NULL;
    if (p->status == DP_SNMP_OK) {
        pthread_mutex_lock(&s_v3_lock);
        netsnmp_session *ss = snmp_sess_session(s->sp);
        ss->flags &= ~SNMP_FLAGS_USER_CREATED;
        s_forget_user(ss->securityEngineID, ss->securityEngineIDLen, ss->securityName);
        int rc = create_user_from_session(ss);
        pthread_mutex_unlock(&s_v3_lock);
        if (rc != SNMPERR_SUCCESS) {
            p->status = DP_SNMP_AUTH;
            snprintf(p->detail, sizeof p->detail, "cannot set up the SNMPv3 user");
        }
    }
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
        s_walk_t *w = s->walks[i];
        if (!w || w->state != S_W_HOLD)
            continue;
        if (p->status == DP_SNMP_OK)
            s_want_send(w, false);
        else
            s_finish(w, p->status, "engine discovery: %s", p->detail);
    }
    s_walk_put(s->e, p);
}

//  Acts on a session whose walks changed state.
static void s_service(dp_snmp_sess_t *s)
{
    if (s->probe && s->probe->state == S_W_FINISHED)
        s_probe_done(s);
    for (int i = 0; i < DP_SNMP_WALKS_MAX; i++) {
        s_walk_t *w = s->walks[i];
        if (!w)
            continue;
        if (w->state == S_W_NEXT) {
            s_want_send(w, true);
        } else if (w->state == S_W_FINISHED) {
            s->walks[i] = NULL;
            if (w->on_done)
                w->on_done(w->arg, w->status, w->detail);
            if (s->closing) { /* its request may still be pending in net-snmp */
                w->qnext = s->dead;
                s->dead = w;
            } else {
                s_walk_put(s->e, w);
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
            s_sess_free(s);
    }
    while (e->qhead && e->inflight < e->max_inflight) {
        s_walk_t *w = e->qhead;
        s_unqueue(e, w);
        s_send(w);
        if (e->ready)
            s_drain_ready(e);
    }
}

static void s_read(dp_snmp_t *e, dp_snmp_sess_t *s)
{
    NETSNMP_LARGE_FD_SET(s->fd, &e->fds);
    s->cb_fired = false;
    s_lock(s);
    int rc = snmp_sess_read2(s->sp, &e->fds);
    s_unlock(s);
    NETSNMP_LARGE_FD_CLR(s->fd, &e->fds);
    /* a parsed reply that matched none of our requests reaches no callback (net-snmp returns 0
       and only bumps a process-wide counter) */
    if (rc == -2 || (rc == 0 && !s->cb_fired)) {
        s->bad_reqids++;
        e->stats.bad_reqids++;
    } else if (rc < 0) {
        s->parse_errors++;
        e->stats.parse_errors++;
    }
    s_reschedule(s);
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
            s_read(e, s);
    }
    int64_t now = dp_time_mono_ms();
    while (true) {
        s_heap_trim(e);
        if (e->nheap == 0 || e->heap[0].due_ms > now)
            break;
        s_timer_t t = s_heap_pop(e);
        dp_snmp_sess_t *s = e->slots[t.slot];
        s->due_ms = 0;
        if (s->shared) {
            if (!s->closing)
                s_shared_timeout(s, now);
            continue;
        }
        s_lock(s);
        snmp_sess_timeout(s->sp);
        s_unlock(s);
        if (!s->closing)
            s_reschedule(s);
    }
    s_drain_ready(e);
}
