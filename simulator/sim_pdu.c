/*  sim_pdu.c - answers one SNMP request datagram for the simulator (v3: sim_usm.c)
    SPDX-License-Identifier: MIT */
#include "sim_pdu.h"
#include "sim_usm.h"

#include <stdlib.h>
#include <string.h>

#include <net-snmp/library/snmp.h>
#include <net-snmp/library/snmp_api.h>

#define S_SEQ           (ASN_SEQUENCE | ASN_CONSTRUCTOR)
#define S_SEQ_HDR       4 /* asn_build_sequence always writes 4 bytes */
#define S_INT_BUF       64
#define S_COMMUNITY_BUF 256
#define S_VB_BUF        65536
#define S_VERSION_1     0
#define S_VERSION_2C    1
#define S_VERSION_3     3

/* One request varbind. */
typedef struct {
    oid name[SIM_OID_MAX]; /* OID */
    size_t len;            /* sub-identifiers */
} s_reqvb_t;

struct sim_pdu_ctx {
    s_reqvb_t vbs[SIM_REQ_VBS_MAX]; /* request varbinds */
    size_t nvbs;                    /* in use */
    u_char vbuf[S_VB_BUF];          /* encoded reply varbind list */
    sim_usm_scratch_t *usm;         /* v3 scratch, made on first use */
};

/* The parsed request. */
typedef struct {
    long version; /* 0 = v1, 1 = v2c */
    u_char type;  /* PDU type */
    long reqid;   /* request-id */
    long nonrep;  /* error-status / non-repeaters */
    long maxrep;  /* error-index / max-repetitions */
} s_req_t;

/* Reply varbind encoder state. */
typedef struct {
    u_char *p;    /* next byte */
    size_t left;  /* room left */
    unsigned n;   /* varbinds written */
    unsigned max; /* varbind cap */
} s_enc_t;

/* What a request asks of one device. */
typedef struct {
    const sim_profile_t *prof; /* its profile */
    sim_dev_t dev;             /* the device */
    sim_fault_view_t fv;       /* faults that apply */
    bool v1;                   /* SNMPv1: no Counter64, errors instead of exceptions */
    int64_t now_ms;            /* request time */
} s_view_t;

static bool s_port_in(uint32_t port, const uint32_t *list, int n)
{
    for (int i = 0; i < n; i++) {
        if (list[i] == port)
            return true;
    }
    return false;
}

static bool s_visible(const s_view_t *v, const sim_entry_t *e)
{
    if (v->v1 && e->type == ASN_COUNTER64)
        return false;
    if (e->spare)
        return s_port_in(e->port, v->fv.appear, v->fv.nappear);
    if (e->port && (v->fv.flags & SIM_FAULT_VANISH))
        return !s_port_in(e->port, v->fv.vanish, v->fv.nvanish);
    return true;
}

/* Index of the first visible entry at or after i, or count. */
static size_t s_skip(const s_view_t *v, size_t i)
{
    while (i < v->prof->count && !s_visible(v, &v->prof->entries[i]))
        i++;
    return i;
}

static int s_put(s_enc_t *enc, const oid *name, size_t len, u_char type, size_t vlen,
                 const void *val)
{
    if (enc->n >= enc->max)
        return -1;
    size_t left = enc->left, nl = len;
    u_char *end = snmp_build_var_op(enc->p, (oid *)name, &nl, type, vlen, (u_char *)val, &left);
    if (!end)
        return -1;
    enc->left -= (size_t)(end - enc->p);
    enc->p = end;
    enc->n++;
    return 0;
}

static int s_put_entry(s_enc_t *enc, const s_view_t *v, const sim_entry_t *e)
{
    sim_value_t val;
    sim_value_eval(e, &v->dev, v->now_ms, &val);
    return s_put(enc, e->name, e->name_len, val.type, val.len, val.ptr);
}

/* Parses the PDU TLV at p (at most len bytes) into r and ctx->vbs. */
static int s_parse_pdu(sim_pdu_ctx_t *ctx, u_char *p, size_t len, s_req_t *r)
{
    u_char type;
    size_t pdulen = len;
    p = asn_parse_header(p, &pdulen, &r->type);
    if (!p)
        return SIM_DROP_PARSE;
    len = pdulen;
    if (!(p = asn_parse_int(p, &len, &type, &r->reqid, sizeof(long))) ||
        !(p = asn_parse_int(p, &len, &type, &r->nonrep, sizeof(long))) ||
        !(p = asn_parse_int(p, &len, &type, &r->maxrep, sizeof(long))) ||
        !(p = asn_parse_sequence(p, &len, &type, S_SEQ, "varbinds")))
        return SIM_DROP_PARSE;
    ctx->nvbs = 0;
    while (len > 0) {
        if (ctx->nvbs >= SIM_REQ_VBS_MAX)
            return SIM_DROP_PARSE;
        s_reqvb_t *vb = &ctx->vbs[ctx->nvbs];
        u_char vtype, *vval;
        size_t vlen;
        vb->len = SIM_OID_MAX;
        p = snmp_parse_var_op(p, vb->name, &vb->len, &vtype, &vlen, &vval, &len);
        if (!p)
            return SIM_DROP_PARSE;
        ctx->nvbs++;
    }
    return SIM_DROP_NONE;
}

static int s_parse_request(sim_pdu_ctx_t *ctx, const u_char *req, size_t req_len, s_req_t *r,
                           u_char *community, size_t *clen)
{
    u_char type;
    size_t len = req_len;
    u_char *p = asn_parse_sequence((u_char *)req, &len, &type, S_SEQ, "message");
    if (!p)
        return SIM_DROP_PARSE;
    p = asn_parse_int(p, &len, &type, &r->version, sizeof(long));
    if (!p)
        return SIM_DROP_PARSE;
    if (r->version != S_VERSION_1 && r->version != S_VERSION_2C)
        return SIM_DROP_VERSION;
    p = asn_parse_string(p, &len, &type, community, clen);
    if (!p)
        return SIM_DROP_PARSE;
    return s_parse_pdu(ctx, p, len, r);
}

/* Echoes the request varbinds with NULL values (v1 errors, SET). */
static void s_echo(sim_pdu_ctx_t *ctx, s_enc_t *enc)
{
    for (size_t i = 0; i < ctx->nvbs; i++) {
        if (s_put(enc, ctx->vbs[i].name, ctx->vbs[i].len, ASN_NULL, 0, NULL) != 0)
            break;
    }
}

/* GET. Returns the error-status; *index the 1-based failing varbind. */
static long s_do_get(sim_pdu_ctx_t *ctx, const s_view_t *v, s_enc_t *enc, long *index)
{
    for (size_t i = 0; i < ctx->nvbs; i++) {
        const s_reqvb_t *vb = &ctx->vbs[i];
        long k = sim_profile_find(v->prof, vb->name, vb->len);
        const sim_entry_t *e = k >= 0 ? &v->prof->entries[k] : NULL;
        int rc;
        if (e && s_visible(v, e)) {
            rc = s_put_entry(enc, v, e);
        } else if (v->v1) {
            *index = (long)i + 1;
            return SNMP_ERR_NOSUCHNAME;
        } else {
            bool inst = vb->len > 1 && sim_profile_has_subtree(v->prof, vb->name, vb->len - 1);
            rc = s_put(enc, vb->name, vb->len, inst ? SNMP_NOSUCHINSTANCE : SNMP_NOSUCHOBJECT, 0,
                       NULL);
        }
        if (rc != 0)
            return SNMP_ERR_TOOBIG;
    }
    return SNMP_ERR_NOERROR;
}

/* GETNEXT of one OID into enc; returns 0, 1 at end of view, or -1 when full. */
static int s_next_one(const s_view_t *v, s_enc_t *enc, const oid *name, size_t len, size_t *pos)
{
    size_t i = s_skip(v, *pos == SIZE_MAX ? sim_profile_next(v->prof, name, len) : *pos);
    if (i >= v->prof->count) {
        *pos = i;
        if (v->v1)
            return 1;
        return s_put(enc, name, len, SNMP_ENDOFMIBVIEW, 0, NULL) == 0 ? 1 : -1;
    }
    *pos = i + 1;
    return s_put_entry(enc, v, &v->prof->entries[i]);
}

static long s_do_getnext(sim_pdu_ctx_t *ctx, const s_view_t *v, s_enc_t *enc, long *index)
{
    for (size_t i = 0; i < ctx->nvbs; i++) {
        size_t pos = SIZE_MAX;
        int rc = s_next_one(v, enc, ctx->vbs[i].name, ctx->vbs[i].len, &pos);
        if (rc < 0)
            return SNMP_ERR_TOOBIG;
        if (rc > 0 && v->v1) {
            *index = (long)i + 1;
            return SNMP_ERR_NOSUCHNAME;
        }
    }
    return SNMP_ERR_NOERROR;
}

static long s_do_getbulk(sim_pdu_ctx_t *ctx, const s_view_t *v, s_enc_t *enc, long nonrep,
                         long maxrep)
{
    size_t n = ctx->nvbs;
    size_t nr = nonrep < 0 ? 0 : ((size_t)nonrep > n ? n : (size_t)nonrep);
    size_t pos[SIM_REQ_VBS_MAX];
    for (size_t i = 0; i < nr; i++) {
        pos[i] = SIZE_MAX;
        if (s_next_one(v, enc, ctx->vbs[i].name, ctx->vbs[i].len, &pos[i]) < 0)
            return enc->n == 0 ? SNMP_ERR_TOOBIG : SNMP_ERR_NOERROR;
    }
    for (size_t i = nr; i < n; i++)
        pos[i] = SIZE_MAX;
    /* last returned name per repeater, for endOfMibView */
    for (long rep = 0; rep < maxrep && nr < n; rep++) {
        bool all_end = true;
        for (size_t i = nr; i < n; i++) {
            const oid *name = ctx->vbs[i].name;
            size_t len = ctx->vbs[i].len;
            if (pos[i] != SIZE_MAX && pos[i] > 0 && pos[i] <= v->prof->count) {
                const sim_entry_t *last = &v->prof->entries[pos[i] - 1];
                name = last->name;
                len = last->name_len;
            }
            int rc = s_next_one(v, enc, name, len, &pos[i]);
            if (rc < 0)
                return enc->n == 0 ? SNMP_ERR_TOOBIG : SNMP_ERR_NOERROR;
            if (rc == 0)
                all_end = false;
            else
                pos[i] = v->prof->count + 1; /* stays at the end */
        }
        if (all_end)
            break;
    }
    return SNMP_ERR_NOERROR;
}

/* Wraps the varbind list into a full message in out. Returns its length or 0. */
static size_t s_wrap(const s_req_t *r, const sim_world_t *w, const u_char *vbs, size_t vblen,
                     long errstat, long errindex, u_char *out, size_t cap)
{
    u_char head[S_INT_BUF + S_COMMUNITY_BUF], ints[S_INT_BUF];
    size_t hl = sizeof(head), il = sizeof(ints);
    u_char *h = asn_build_int(head, &hl, ASN_INTEGER, &r->version, sizeof(long));
    h = h ? asn_build_string(h, &hl, ASN_OCTET_STR, (const u_char *)w->community, w->community_len)
          : NULL;
    u_char *q = asn_build_int(ints, &il, ASN_INTEGER, &r->reqid, sizeof(long));
    q = q ? asn_build_int(q, &il, ASN_INTEGER, &errstat, sizeof(long)) : NULL;
    q = q ? asn_build_int(q, &il, ASN_INTEGER, &errindex, sizeof(long)) : NULL;
    if (!h || !q)
        return 0;
    size_t headlen = (size_t)(h - head), intlen = (size_t)(q - ints);
    size_t pdulen = intlen + S_SEQ_HDR + vblen;
    size_t msglen = headlen + S_SEQ_HDR + pdulen;
    size_t total = S_SEQ_HDR + msglen;
    if (total > cap)
        return 0;
    size_t left = cap;
    u_char *p = asn_build_sequence(out, &left, S_SEQ, msglen);
    memcpy(p, head, headlen);
    p += headlen;
    left -= headlen;
    p = asn_build_sequence(p, &left, SNMP_MSG_RESPONSE, pdulen);
    memcpy(p, ints, intlen);
    p += intlen;
    left -= intlen;
    p = asn_build_sequence(p, &left, S_SEQ, vblen);
    memcpy(p, vbs, vblen);
    return total;
}

static size_t s_requested(const sim_pdu_ctx_t *ctx, const s_req_t *r)
{
    if (r->type != SNMP_MSG_GETBULK)
        return ctx->nvbs;
    size_t nr = r->nonrep < 0 ? 0 : ((size_t)r->nonrep > ctx->nvbs ? ctx->nvbs : (size_t)r->nonrep);
    size_t reps = r->maxrep < 0 ? 0 : (size_t)r->maxrep;
    return nr + reps * (ctx->nvbs - nr);
}

/* Runs the PDU; returns error-status and fills enc. */
static long s_dispatch(sim_pdu_ctx_t *ctx, const s_view_t *v, const s_req_t *r, s_enc_t *enc,
                       long *index)
{
    if ((v->fv.flags & SIM_FAULT_TOOBIG) && s_requested(ctx, r) > (size_t)v->fv.toobig_over)
        return SNMP_ERR_TOOBIG;
    switch (r->type) {
    case SNMP_MSG_GET:
        return s_do_get(ctx, v, enc, index);
    case SNMP_MSG_GETNEXT:
        return s_do_getnext(ctx, v, enc, index);
    case SNMP_MSG_GETBULK:
        return s_do_getbulk(ctx, v, enc, r->nonrep, r->maxrep);
    default: /* SET */
        *index = 1;
        return v->v1 ? SNMP_ERR_READONLY : SNMP_ERR_NOTWRITABLE;
    }
}

//  --------------------------------------------------------------------------
sim_pdu_ctx_t *sim_pdu_ctx_new(void)
{
    sim_pdu_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        abort();
    return ctx;
}

//  --------------------------------------------------------------------------
void sim_pdu_ctx_destroy(sim_pdu_ctx_t **p)
{
    if (!p || !*p)
        return;
    sim_usm_scratch_destroy(&(*p)->usm);
    free(*p);
    *p = NULL;
}

/* Runs the parsed request r for device dst with room bytes for the varbinds;
   fills enc (over ctx->vbuf), *status and *index. Returns a drop reason. */
static int s_run(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const s_req_t *r, int64_t now_ms,
                 size_t room, long deny, s_enc_t *enc, sim_answer_t *ans)
{
    bool v1 = r->version == S_VERSION_1;
    if (!(r->type == SNMP_MSG_GET || r->type == SNMP_MSG_GETNEXT || r->type == SNMP_MSG_SET ||
          (r->type == SNMP_MSG_GETBULK && !v1)))
        return SIM_DROP_PDU;
    s_view_t v = {.v1 = v1, .now_ms = now_ms};
    if (!(v.prof = sim_world_device(w, dst, now_ms, &v.dev, &v.fv)))
        return SIM_DROP_DEVICE;
    if (v.fv.flags & SIM_FAULT_TIMEOUT)
        return SIM_DROP_TIMEOUT;
    *enc = (s_enc_t){ctx->vbuf, room, 0, (unsigned)w->max_vbs};
    if (enc->left > sizeof(ctx->vbuf))
        enc->left = sizeof(ctx->vbuf);
    long index = 0;
    long status = deny ? deny : s_dispatch(ctx, &v, r, enc, &index);
    if (status != SNMP_ERR_NOERROR) {
        *enc =
            (s_enc_t){ctx->vbuf, enc->left + (size_t)(enc->p - ctx->vbuf), 0, (unsigned)w->max_vbs};
        if (status != SNMP_ERR_TOOBIG)
            s_echo(ctx, enc);
        else
            index = 0;
    }
    ans->nvbs = enc->n;
    ans->error_status = status;
    ans->error_index = index;
    if (v.fv.flags & SIM_FAULT_SLOW)
        ans->delay_ms = v.fv.slow_ms;
    ans->malformed = (v.fv.flags & SIM_FAULT_MALFORMED) != 0;
    return SIM_DROP_NONE;
}

//  --------------------------------------------------------------------------
size_t sim_pdu_answer(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const u_char *req,
                      size_t req_len, u_char *out, size_t out_cap, int64_t now_ms,
                      sim_answer_t *ans)
{
    *ans = (sim_answer_t){0};
    s_req_t r = {0};
    u_char community[S_COMMUNITY_BUF];
    size_t clen = sizeof(community);
    int drop = s_parse_request(ctx, req, req_len, &r, community, &clen);
    if (drop == SIM_DROP_VERSION && r.version == S_VERSION_3 && w->usm)
        return sim_usm_answer(ctx, w, dst, req, req_len, out, out_cap, now_ms, ans);
    if (drop == SIM_DROP_NONE &&
        (clen != w->community_len || memcmp(community, w->community, clen) != 0))
        drop = SIM_DROP_COMMUNITY;
    size_t cap = out_cap < w->max_msg ? out_cap : w->max_msg;
    /* room for the headers: 3 sequences, version, community and 3 ints */
    size_t overhead = 3 * S_SEQ_HDR + 3 + 4 + w->community_len + 3 * 10;
    s_enc_t enc;
    if (drop == SIM_DROP_NONE)
        drop = s_run(ctx, w, dst, &r, now_ms, cap > overhead ? cap - overhead : 0, 0, &enc, ans);
    if (drop != SIM_DROP_NONE) {
        ans->drop = (sim_drop_t)drop;
        return 0;
    }
    size_t n = s_wrap(&r, w, ctx->vbuf, (size_t)(enc.p - ctx->vbuf), ans->error_status,
                      ans->error_index, out, cap);
    if (ans->malformed) {
        size_t m = sim_pdu_corrupt(out, n);
        ans->malformed = m != n;
        n = m;
    }
    if (n == 0)
        ans->drop = SIM_DROP_PARSE;
    return n;
}

//  --------------------------------------------------------------------------
size_t sim_pdu_answer_pdu(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const u_char *pdu,
                          size_t pdu_len, long deny_status, u_char *out, size_t cap, int64_t now_ms,
                          sim_answer_t *ans)
{
    s_req_t r = {.version = S_VERSION_2C};
    int drop = s_parse_pdu(ctx, (u_char *)pdu, pdu_len, &r);
    size_t overhead = 2 * S_SEQ_HDR + 3 * 10;
    s_enc_t enc;
    if (drop == SIM_DROP_NONE)
        drop = s_run(ctx, w, dst, &r, now_ms, cap > overhead ? cap - overhead : 0, deny_status,
                     &enc, ans);
    if (drop != SIM_DROP_NONE) {
        ans->drop = (sim_drop_t)drop;
        return 0;
    }
    size_t n = sim_pdu_build(SNMP_MSG_RESPONSE, r.reqid, ans->error_status, ans->error_index,
                             ctx->vbuf, (size_t)(enc.p - ctx->vbuf), out, cap);
    if (n == 0)
        ans->drop = SIM_DROP_PARSE;
    return n;
}

//  --------------------------------------------------------------------------
size_t sim_pdu_build(u_char type, long reqid, long errstat, long errindex, const u_char *vbs,
                     size_t vblen, u_char *out, size_t cap)
{
    u_char ints[S_INT_BUF];
    size_t il = sizeof(ints);
    u_char *q = asn_build_int(ints, &il, ASN_INTEGER, &reqid, sizeof(long));
    q = q ? asn_build_int(q, &il, ASN_INTEGER, &errstat, sizeof(long)) : NULL;
    q = q ? asn_build_int(q, &il, ASN_INTEGER, &errindex, sizeof(long)) : NULL;
    if (!q)
        return 0;
    size_t intlen = (size_t)(q - ints);
    size_t pdulen = intlen + S_SEQ_HDR + vblen;
    if (S_SEQ_HDR + pdulen > cap)
        return 0;
    size_t left = cap;
    u_char *p = asn_build_sequence(out, &left, type, pdulen);
    memcpy(p, ints, intlen);
    p += intlen;
    left -= intlen;
    p = asn_build_sequence(p, &left, S_SEQ, vblen);
    memmove(p, vbs, vblen);
    return S_SEQ_HDR + pdulen;
}

//  --------------------------------------------------------------------------
long sim_pdu_reqid(const u_char *pdu, size_t len)
{
    u_char type;
    long reqid = 0;
    u_char *p = asn_parse_header((u_char *)pdu, &len, &type);
    if (!p || !asn_parse_int(p, &len, &type, &reqid, sizeof(long)))
        return 0;
    return reqid;
}

//  --------------------------------------------------------------------------
size_t sim_pdu_corrupt(u_char *out, size_t len)
{
    if (len <= 8)
        return len;
    /* claim a longer message than sent and cut the varbinds short */
    out[2] = 0xff;
    return len / 2;
}

//  --------------------------------------------------------------------------
sim_usm_scratch_t **sim_pdu_ctx_usm(sim_pdu_ctx_t *ctx)
{
    return &ctx->usm;
}
