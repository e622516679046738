/*  dp_snmp_sess.c - dp_snmp's v3 sessions on net-snmp's single-session API (see dp_snmp_int.h)
    One socket per session; USM discovery, keys and time windows stay net-snmp's. net-snmp's
    USM tables are process-wide, so every net-snmp call on a session holds s_v3_lock.
    net-snmp callbacks only record results; dp_snmp.c acts on them in the loop turn.
    SPDX-License-Identifier: MIT */
#include "dp_snmp_int.h"
#include "dp_time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <net-snmp/library/snmpusm.h>

static pthread_mutex_t s_v3_lock = PTHREAD_MUTEX_INITIALIZER;

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

//  --------------------------------------------------------------------------
//  Callbacks

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

//  A response (or a report) to w's request.
static void s_received(dp_snmp_i_walk_t *w, netsnmp_pdu *pdu)
{
    dp_snmp_sess_t *s = w->sess;
    if (pdu->command == SNMP_MSG_REPORT) {
        int type = snmpv3_get_report_type(pdu);
        if (type != SNMPERR_NOT_IN_TIME_WINDOW) /* else net-snmp resends with boots/time */
            dp_snmp_i_finish(w, DP_SNMP_AUTH, "%s", snmp_api_errstring(type));
        return;
    }
    s->e->inflight--;
    w->state = DP_SNMP_W_NEXT;
    dp_snmp_i_on_reply(w, pdu->version != SNMP_VERSION_1, pdu->errstat, pdu->errindex,
                       pdu->variables);
}

//  net-snmp callback: records the outcome only.
static int s_cb(int op, netsnmp_session *sp, int reqid, netsnmp_pdu *pdu, void *magic)
{
    dp_snmp_i_walk_t *w = magic;
    /* snmp_sess_close calls pending requests back (TIMED_OUT): their walks are still allocated
       (dp_snmp_i_sess_free frees them afterwards) but must not change state any more */
    if (!w || w->sess->freeing)
        return 1;
    dp_snmp_sess_t *s = w->sess;
    s->cb_fired = true;
    /* one request per walk is in flight; v3 reports may carry another request id */
    if (w->state != DP_SNMP_W_SENT || (reqid != w->reqid && !s->v3))
        return 1;
    if (w->probe && pdu && pdu->securityEngineIDLen > 0 &&
        (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || op == NETSNMP_CALLBACK_OP_SEC_ERROR)) {
        s_probe_learnt(sp, pdu);
        dp_snmp_i_finish(w, DP_SNMP_OK, "%s", "");
        return 1;
    }
    switch (op) {
    case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
        s_received(w, pdu);
        return 1;
    case NETSNMP_CALLBACK_OP_TIMED_OUT: {
        char d[DP_SNMP_DETAIL_MAX];
        dp_snmp_i_timeout_detail(s, d, sizeof d);
        s->e->stats.timeouts++;
        dp_snmp_i_finish(w, DP_SNMP_TIMEOUT, "%s", d);
        return 1;
    }
    case NETSNMP_CALLBACK_OP_RESEND: /* a retry went out: keep waiting */
    case NETSNMP_CALLBACK_OP_CONNECT:
        return 1;
    case NETSNMP_CALLBACK_OP_SEC_ERROR:
        dp_snmp_i_finish(w, DP_SNMP_AUTH, "security error: %s",
                         snmp_api_errstring(pdu ? snmpv3_get_report_type(pdu) : SNMPERR_GENERR));
        return 1;
    default:
        dp_snmp_i_finish(w, DP_SNMP_SEND, "transport failure (op %d)", op);
        return 1;
    }
}

//  --------------------------------------------------------------------------
//  Requests, reads, timers

void dp_snmp_i_ns_send(dp_snmp_i_walk_t *w)
{
    dp_snmp_sess_t *s = w->sess;
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
        pdu = dp_snmp_i_build(w, true);
    }
    if (!pdu) {
        dp_snmp_i_finish(w, DP_SNMP_SEND, "out of memory");
        return;
    }
    pthread_mutex_lock(&s_v3_lock);
    int id = snmp_sess_async_send(s->sp, pdu, s_cb, w);
    pthread_mutex_unlock(&s_v3_lock);
    if (id == 0) {
        int liberr = 0, syserr = 0;
        char *txt = NULL;
        snmp_sess_error(s->sp, &liberr, &syserr, &txt);
        snmp_free_pdu(pdu);
        dp_snmp_i_finish(w, DP_SNMP_SEND, "send failed: %s", txt ? txt : "?");
        free(txt);
        return;
    }
    w->reqid = id;
    w->state = DP_SNMP_W_SENT;
    s->e->inflight++;
    s->e->stats.requests++;
    dp_snmp_i_ns_reschedule(s);
}

void dp_snmp_i_ns_reschedule(dp_snmp_sess_t *s)
{
    dp_snmp_t *e = s->e;
    int numfds = 0, block = 1;
    struct timeval tv = {0, 0};
    pthread_mutex_lock(&s_v3_lock);
    snmp_sess_select_info2_flags(s->sp, &numfds, &e->fds, &tv, &block, NETSNMP_SELECT_NOALARMS);
    pthread_mutex_unlock(&s_v3_lock);
    NETSNMP_LARGE_FD_CLR(s->fd, &e->fds);
    if (block) {
        s->due_ms = 0;
        return;
    }
    s->due_ms = dp_time_mono_ms() + (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + 1;
    dp_snmp_i_heap_push(e, s->due_ms, s->slot);
}

void dp_snmp_i_ns_read(dp_snmp_sess_t *s)
{
    dp_snmp_t *e = s->e;
    NETSNMP_LARGE_FD_SET(s->fd, &e->fds);
    s->cb_fired = false;
    pthread_mutex_lock(&s_v3_lock);
    int rc = snmp_sess_read2(s->sp, &e->fds);
    pthread_mutex_unlock(&s_v3_lock);
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
    dp_snmp_i_ns_reschedule(s);
}

void dp_snmp_i_ns_timeout(dp_snmp_sess_t *s)
{
    pthread_mutex_lock(&s_v3_lock);
    snmp_sess_timeout(s->sp);
    pthread_mutex_unlock(&s_v3_lock);
    if (!s->closing)
        dp_snmp_i_ns_reschedule(s);
}

void dp_snmp_i_ns_close(dp_snmp_sess_t *s)
{
    if (s->fd >= 0)
        epoll_ctl(s->e->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->freeing = true;
    pthread_mutex_lock(&s_v3_lock);
    snmp_sess_close(s->sp); /* calls back pending requests with walk pointers */
    pthread_mutex_unlock(&s_v3_lock);
}

void dp_snmp_i_probe_done(dp_snmp_sess_t *s)
{
    dp_snmp_i_walk_t *p = s->probe;
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
        dp_snmp_i_walk_t *w = s->walks[i];
        if (!w || w->state != DP_SNMP_W_HOLD)
            continue;
        if (p->status == DP_SNMP_OK)
            dp_snmp_i_want_send(w, false);
        else
            dp_snmp_i_finish(w, p->status, "engine discovery: %s", p->detail);
    }
    dp_snmp_i_walk_put(s->e, p);
}

//  --------------------------------------------------------------------------
//  Opening

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

//  The session's socket joins the engine's epoll set (and fits its fd set).
static int s_watch(dp_snmp_t *e, dp_snmp_sess_t *s, dp_err_t *err)
{
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
    s->slot = dp_snmp_i_slot_alloc(e, s);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s->slot};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "epoll_ctl: %s", strerror(errno));
    return 0;
}

dp_snmp_sess_t *dp_snmp_i_ns_open(dp_snmp_t *e, const dp_snmp_target_t *t, dp_err_t *err)
{
    netsnmp_session in;
    char peer[DP_SNMP_I_HOST_MAX + 16];
    if (s_fill_session(&in, t, peer, sizeof peer, err) != 0)
        return NULL;
    dp_snmp_sess_t *s = dp_snmp_i_sess_new(e, t->host, err);
    if (!s)
        return NULL;
    s->v3 = true;
    s->timeout_ms = t->timeout_ms;
    pthread_mutex_lock(&s_v3_lock);
    if (t->engine_id_len > 0) /* the session's keys replace any older ones */
        s_forget_user(t->engine_id, t->engine_id_len, t->sec_name);
    s->sp = snmp_sess_open(&in);
    if (s->sp) /* snmp_sess_open clears it: keep net-snmp from probing synchronously */
        snmp_sess_session(s->sp)->flags |= SNMP_FLAGS_DONT_PROBE;
    pthread_mutex_unlock(&s_v3_lock);
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
    if (s_watch(e, s, err) != 0) {
        dp_snmp_i_sess_free(s);
        return NULL;
    }
    e->stats.sessions++;
    if (t->engine_id_len == 0) {
        s->probe = dp_snmp_i_walk_get(e);
        if (!s->probe) {
            dp_err_set(err, DP_ERR_INTERNAL, "out of memory");
            dp_snmp_i_sess_free(s);
            return NULL;
        }
        s->probe->sess = s;
        s->probe->probe = true;
        dp_snmp_i_want_send(s->probe, false);
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
