/*  sim_usm.c - SNMPv3 with USM for the simulator: users, keys, message framing,
    the RFC 3414 checks and reports
    SPDX-License-Identifier: MIT */
#include "sim_usm.h"
#include "sim_counter.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <net-snmp/library/snmp.h>
#include <net-snmp/library/snmp_api.h>
#include <net-snmp/library/keytools.h>
#include <net-snmp/library/scapi.h>
#include <net-snmp/library/snmpusm.h>
#include <net-snmp/library/transform_oids.h>

#define S_SEQ         (ASN_SEQUENCE | ASN_CONSTRUCTOR)
#define S_HDR         4 /* asn_build_sequence always writes 4 bytes */
#define S_VERSION_3   3
#define S_MODEL_USM   3
#define S_MIN_MSG     484
#define S_OUR_MAX_MSG 65507
#define S_WINDOW_S    150
#define S_BOOTS_MAX   2147483647L
#define S_BUF         65536
#define S_PASS_MIN    8
#define S_SPEC_MAX    512
#define S_CACHE       1024                   /* localized key cache entries per thread */
#define S_OVERHEAD    160                    /* v3 framing beyond the variable-length fields */
#define S_ENGINE_ENT  0x80, 0x00, 0x1f, 0x88 /* RFC 3411 format, enterprise 8072 */

/* One cached key localization. */
typedef struct {
    const sim_usm_t *usm; /* user set the keys belong to */
    uint32_t addr;        /* device */
    uint32_t user;        /* index into usm->users, + 1 (0 = empty) */
    sim_usm_keys_t keys;  /* localized keys */
} s_cached_t;

struct sim_usm_scratch {
    u_char copy[S_BUF];        /* the request with its MAC zeroed */
    u_char plain[S_BUF];       /* decrypted scopedPDU */
    u_char pdu[S_BUF];         /* reply PDU */
    u_char scoped[S_BUF];      /* reply scopedPDU */
    u_char cipher[S_BUF];      /* encrypted reply scopedPDU */
    uint64_t salt;             /* next privacy salt */
    s_cached_t cache[S_CACHE]; /* localized keys by (device, user) */
};

/* The engine a request reached. */
typedef struct {
    u_char id[SIM_USM_ENGINE_MAX]; /* snmpEngineID */
    size_t len;                    /* its length */
    long boots;                    /* snmpEngineBoots */
    long time;                     /* snmpEngineTime */
} s_engine_t;

/* One request in flight through the checks. */
typedef struct {
    sim_pdu_ctx_t *ctx;     /* borrowed */
    sim_world_t *w;         /* borrowed */
    sim_usm_scratch_t *sc;  /* borrowed */
    uint32_t dst;           /* device address */
    int64_t now_ms;         /* request time */
    const sim_usm_msg_t *m; /* the request */
    const u_char *req;      /* its bytes */
    size_t req_len;         /* their length */
    s_engine_t e;           /* the device's engine */
    size_t cap;             /* largest reply */
    sim_answer_t *ans;      /* what happened */
} s_job_t;

typedef struct {
    const char *name; /* accepted spelling */
    int type;         /* net-snmp type */
} s_alg_t;

static const s_alg_t s_auths[] = {
    {"MD5", NETSNMP_USMAUTH_HMACMD5},           {"SHA", NETSNMP_USMAUTH_HMACSHA1},
    {"SHA1", NETSNMP_USMAUTH_HMACSHA1},         {"SHA-1", NETSNMP_USMAUTH_HMACSHA1},
    {"SHA-224", NETSNMP_USMAUTH_HMAC128SHA224}, {"SHA224", NETSNMP_USMAUTH_HMAC128SHA224},
    {"SHA-256", NETSNMP_USMAUTH_HMAC192SHA256}, {"SHA256", NETSNMP_USMAUTH_HMAC192SHA256},
    {"SHA-384", NETSNMP_USMAUTH_HMAC256SHA384}, {"SHA384", NETSNMP_USMAUTH_HMAC256SHA384},
    {"SHA-512", NETSNMP_USMAUTH_HMAC384SHA512}, {"SHA512", NETSNMP_USMAUTH_HMAC384SHA512},
};

static const s_alg_t s_privs[] = {
    {"DES", USM_CREATE_USER_PRIV_DES},
    {"AES", USM_CREATE_USER_PRIV_AES},
    {"AES128", USM_CREATE_USER_PRIV_AES},
    {"AES-128", USM_CREATE_USER_PRIV_AES},
};

static int s_alg(const s_alg_t *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(list[i].name, name) == 0)
            return list[i].type;
    }
    return -1;
}

/* Enters the TLV at *p (within *left bytes) whose tag must be expect: returns its
   content, sets *clen, and moves *p and *left past the whole TLV. */
static const u_char *s_enter(const u_char **p, size_t *left, u_char expect, size_t *clen)
{
    size_t n = *left;
    u_char type;
    u_char *c = asn_parse_header((u_char *)*p, &n, &type);
    if (!c || type != expect)
        return NULL;
    size_t used = (size_t)(c - *p) + n;
    if (used > *left)
        return NULL;
    *p += used;
    *left -= used;
    *clen = n;
    return c;
}

static int s_int(const u_char **p, size_t *left, long *out)
{
    u_char type;
    u_char *e = asn_parse_int((u_char *)*p, left, &type, out, sizeof(long));
    if (!e)
        return -1;
    *p = e;
    return 0;
}

static int s_str(const u_char **p, size_t *left, u_char *out, size_t cap, size_t *len)
{
    size_t clen;
    const u_char *c = s_enter(p, left, ASN_OCTET_STR, &clen);
    if (!c || clen > cap)
        return -1;
    memcpy(out, c, clen);
    *len = clen;
    return 0;
}

/* Builders over one output buffer. */
typedef struct {
    u_char *p;   /* next byte */
    size_t left; /* room left */
} s_out_t;

static bool s_put_int(s_out_t *o, long v)
{
    u_char *e = o->p ? asn_build_int(o->p, &o->left, ASN_INTEGER, &v, sizeof(v)) : NULL;
    o->p = e;
    return e != NULL;
}

static bool s_put_str(s_out_t *o, const u_char *s, size_t n)
{
    static const u_char none = 0;
    u_char *e = o->p ? asn_build_string(o->p, &o->left, ASN_OCTET_STR, n ? s : &none, n) : NULL;
    o->p = e;
    return e != NULL;
}

/* Reserves a 4-byte header to be written by s_close. */
static u_char *s_open(s_out_t *o)
{
    if (!o->p || o->left < S_HDR) {
        o->p = NULL;
        return NULL;
    }
    u_char *h = o->p;
    o->p += S_HDR;
    o->left -= S_HDR;
    return h;
}

static bool s_close(s_out_t *o, u_char *h, u_char type)
{
    if (!o->p || !h)
        return false;
    size_t four = S_HDR;
    return asn_build_sequence(h, &four, type, (size_t)(o->p - h - S_HDR)) != NULL;
}

/* AES: boots | time | salt. DES: salt XOR the pre-IV (priv key bytes 8..15). */
static size_t s_iv(const sim_usm_msg_t *m, const sim_usm_keys_t *k, u_char *iv)
{
    if ((k->user->priv & USM_PRIV_MASK_ALG) == USM_CREATE_USER_PRIV_DES) {
        for (int i = 0; i < SIM_USM_SALT_LEN; i++)
            iv[i] = m->salt[i] ^ k->priv[SIM_USM_SALT_LEN + i];
        return SIM_USM_SALT_LEN;
    }
    uint32_t b = (uint32_t)m->boots, t = (uint32_t)m->time;
    u_char be[8] = {b >> 24, b >> 16, b >> 8, b, t >> 24, t >> 16, t >> 8, t};
    memcpy(iv, be, 8);
    memcpy(iv + 8, m->salt, SIM_USM_SALT_LEN);
    return 16;
}

static int s_localize_one(const sim_usm_user_t *user, const u_char *engine, size_t elen,
                          const u_char *ku, size_t kulen, u_char *out, size_t *outlen)
{
    *outlen = SIM_USM_KEY_MAX;
    return generate_kul(user->auth_oid, (u_int)user->auth_oid_len, engine, elen, ku, kulen, out,
                        outlen) == SNMPERR_SUCCESS
               ? 0
               : -1;
}

//  --------------------------------------------------------------------------
sim_usm_t *sim_usm_new(long boots)
{
    sim_usm_t *u = calloc(1, sizeof(*u));
    if (!u)
        abort();
    u->boots = boots < 1 ? 1 : (boots >= S_BOOTS_MAX ? S_BOOTS_MAX - 1 : boots);
    return u;
}

//  --------------------------------------------------------------------------
void sim_usm_destroy(sim_usm_t **p)
{
    if (!p || !*p)
        return;
    free(*p);
    *p = NULL;
}

static int s_user_auth(sim_usm_user_t *nu, const char *auth, const char *pass, dp_err_t *err)
{
    nu->auth = s_alg(s_auths, sizeof(s_auths) / sizeof(s_auths[0]), auth);
    if (nu->auth < 0)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: unknown auth protocol '%s'", nu->name,
                          auth);
    nu->auth_oid = sc_get_auth_oid(nu->auth, &nu->auth_oid_len);
    int maclen = sc_get_auth_maclen(nu->auth);
    if (!nu->auth_oid || maclen <= 0 || maclen > SIM_USM_MAC_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: %s not supported by net-snmp", nu->name,
                          auth);
    nu->mac_len = (size_t)maclen;
    if (!pass || strlen(pass) < S_PASS_MIN)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: auth passphrase shorter than %d",
                          nu->name, S_PASS_MIN);
    nu->auth_ku_len = SIM_USM_KEY_MAX;
    if (generate_Ku(nu->auth_oid, (u_int)nu->auth_oid_len, (const u_char *)pass, strlen(pass),
                    nu->auth_ku, &nu->auth_ku_len) != SNMPERR_SUCCESS)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: generate_Ku failed", nu->name);
    nu->level = SIM_USM_AUTH;
    return 0;
}

static int s_user_priv(sim_usm_user_t *nu, const char *priv, const char *pass, dp_err_t *err)
{
    nu->priv = s_alg(s_privs, sizeof(s_privs) / sizeof(s_privs[0]), priv);
    if (nu->priv < 0)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: unknown privacy protocol '%s'", nu->name,
                          priv);
    nu->priv_oid = sc_get_priv_oid(nu->priv, &nu->priv_oid_len);
    if (!nu->priv_oid)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: %s not supported by net-snmp", nu->name,
                          priv);
    if (!pass || strlen(pass) < S_PASS_MIN)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: privacy passphrase shorter than %d",
                          nu->name, S_PASS_MIN);
    /* the privacy key is hashed with the authentication protocol (RFC 3414 2.6) */
    nu->priv_ku_len = SIM_USM_KEY_MAX;
    if (generate_Ku(nu->auth_oid, (u_int)nu->auth_oid_len, (const u_char *)pass, strlen(pass),
                    nu->priv_ku, &nu->priv_ku_len) != SNMPERR_SUCCESS)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s: generate_Ku failed", nu->name);
    nu->level = SIM_USM_AUTH | SIM_USM_PRIV;
    return 0;
}

//  --------------------------------------------------------------------------
int sim_usm_add_user(sim_usm_t *u, const char *spec, dp_err_t *err)
{
    char buf[S_SPEC_MAX];
    char *f[6] = {0};
    int n = 0;
    if (strlen(spec) >= sizeof(buf))
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user spec too long");
    if (u->nusers >= SIM_USM_USERS_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "more than %d v3 users", SIM_USM_USERS_MAX);
    strcpy(buf, spec);
    for (char *s = buf, *save = NULL; n < 6 && (f[n] = strtok_r(n ? NULL : s, ":", &save)); n++)
        ;
    if (n == 0 || n == 2 || n == 4 || n > 5 || strlen(f[0]) > SIM_USM_NAME_MAX)
        return dp_err_set(err, DP_ERR_CONFIG,
                          "bad v3 user '%s' (NAME[:AUTH:AUTHPASS[:PRIV:PRIVPASS]])",
                          f[0] ? f[0] : "");
    sim_usm_user_t nu = {.auth = NETSNMP_USMAUTH_NOAUTH};
    strcpy(nu.name, f[0]);
    nu.name_len = strlen(f[0]);
    if (sim_usm_user(u, (const u_char *)nu.name, nu.name_len))
        return dp_err_set(err, DP_ERR_CONFIG, "v3 user %s given twice", nu.name);
    if (n >= 3 && s_user_auth(&nu, f[1], f[2], err) != 0)
        return -1;
    if (n == 5 && s_user_priv(&nu, f[3], f[4], err) != 0)
        return -1;
    u->users[u->nusers++] = nu;
    return 0;
}

//  --------------------------------------------------------------------------
int sim_usm_set_engine(sim_usm_t *u, const char *hex, dp_err_t *err)
{
    size_t n = 0, len = strlen(hex);
    const char *s = (len > 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) ? hex + 2 : hex;
    len = strlen(s);
    if (len % 2 || len / 2 < 5 || len / 2 > SIM_USM_ENGINE_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "v3 engine id '%s': want 5..32 hex bytes", hex);
    for (; n < len / 2; n++) {
        unsigned v;
        char two[3] = {s[2 * n], s[2 * n + 1], 0};
        char *end;
        v = (unsigned)strtoul(two, &end, 16);
        if (*end)
            return dp_err_set(err, DP_ERR_CONFIG, "v3 engine id '%s': not hex", hex);
        u->engine[n] = (u_char)v;
    }
    u->engine_len = n;
    return 0;
}

//  --------------------------------------------------------------------------
size_t sim_usm_engine_id(const sim_usm_t *u, uint32_t addr, u_char *out)
{
    if (u->engine_len) {
        memcpy(out, u->engine, u->engine_len);
        return u->engine_len;
    }
    const u_char id[] = {S_ENGINE_ENT, 0x01, addr >> 24, addr >> 16, addr >> 8, addr};
    memcpy(out, id, sizeof(id));
    return sizeof(id);
}

//  --------------------------------------------------------------------------
const sim_usm_user_t *sim_usm_user(const sim_usm_t *u, const u_char *name, size_t len)
{
    for (size_t i = 0; i < u->nusers; i++) {
        if (u->users[i].name_len == len && memcmp(u->users[i].name, name, len) == 0)
            return &u->users[i];
    }
    return NULL;
}

//  --------------------------------------------------------------------------
int sim_usm_localize(const sim_usm_user_t *user, const u_char *engine, size_t engine_len,
                     sim_usm_keys_t *k)
{
    k->user = user;
    k->auth_len = k->priv_len = 0;
    if (user->level & SIM_USM_AUTH && s_localize_one(user, engine, engine_len, user->auth_ku,
                                                     user->auth_ku_len, k->auth, &k->auth_len) != 0)
        return -1;
    if (user->level & SIM_USM_PRIV && s_localize_one(user, engine, engine_len, user->priv_ku,
                                                     user->priv_ku_len, k->priv, &k->priv_len) != 0)
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
int sim_usm_parse(const u_char *msg, size_t len, sim_usm_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    size_t left = len, mlen, glen, slen, qlen, flen;
    long version;
    const u_char *p = msg, *c, *g, *sp, *q;
    if (!(c = s_enter(&p, &left, S_SEQ, &mlen)))
        return -1;
    p = c;
    left = mlen;
    if (s_int(&p, &left, &version) != 0 || version != S_VERSION_3)
        return -1;
    if (!(g = s_enter(&p, &left, S_SEQ, &glen)) || s_int(&g, &glen, &m->msgid) != 0 ||
        s_int(&g, &glen, &m->max_size) != 0)
        return -1;
    const u_char *f = s_enter(&g, &glen, ASN_OCTET_STR, &flen);
    if (!f || flen != 1 || s_int(&g, &glen, &m->model) != 0 || glen != 0)
        return -1;
    m->flags = f[0];
    if (!(sp = s_enter(&p, &left, ASN_OCTET_STR, &slen)) ||
        !(q = s_enter(&sp, &slen, S_SEQ, &qlen)))
        return -1;
    if (s_str(&q, &qlen, m->engine, sizeof(m->engine), &m->engine_len) != 0 ||
        s_int(&q, &qlen, &m->boots) != 0 || s_int(&q, &qlen, &m->time) != 0 ||
        s_str(&q, &qlen, m->user, sizeof(m->user), &m->user_len) != 0 ||
        !(m->mac = s_enter(&q, &qlen, ASN_OCTET_STR, &m->mac_len)) ||
        s_str(&q, &qlen, m->salt, sizeof(m->salt), &m->salt_len) != 0)
        return -1;
    if (m->msgid < 0 || m->max_size < S_MIN_MSG || m->boots < 0 || m->time < 0)
        return -1;
    if (m->flags & SIM_USM_PRIV) {
        m->data = s_enter(&p, &left, ASN_OCTET_STR, &m->data_len);
        return m->data ? 0 : -1;
    }
    m->data = p;
    size_t dlen;
    if (!s_enter(&p, &left, S_SEQ, &dlen))
        return -1;
    m->data_len = (size_t)(p - m->data);
    return 0;
}

//  --------------------------------------------------------------------------
int sim_usm_verify(const sim_usm_msg_t *m, const sim_usm_keys_t *k, const u_char *msg, size_t len,
                   u_char *scratch, size_t scratch_cap)
{
    if (!k->auth_len || m->mac_len != k->user->mac_len || len > scratch_cap || !m->mac ||
        m->mac < msg || m->mac + m->mac_len > msg + len)
        return -1;
    memcpy(scratch, msg, len);
    memset(scratch + (m->mac - msg), 0, m->mac_len);
    return sc_check_keyed_hash(k->user->auth_oid, k->user->auth_oid_len, k->auth,
                               (u_int)k->auth_len, scratch, (u_int)len, m->mac,
                               (u_int)m->mac_len) == SNMPERR_SUCCESS
               ? 0
               : -1;
}

//  --------------------------------------------------------------------------
size_t sim_usm_decrypt(const sim_usm_msg_t *m, const sim_usm_keys_t *k, u_char *out, size_t cap)
{
    if (!k->priv_len || m->salt_len != SIM_USM_SALT_LEN || m->data_len == 0 || m->data_len > cap)
        return 0;
    bool des = (k->user->priv & USM_PRIV_MASK_ALG) == USM_CREATE_USER_PRIV_DES;
    if (des && m->data_len % 8)
        return 0;
    u_char iv[16];
    size_t ivlen = s_iv(m, k, iv), n = cap;
    if (sc_decrypt(k->user->priv_oid, k->user->priv_oid_len, (u_char *)k->priv, (u_int)k->priv_len,
                   iv, (u_int)ivlen, (u_char *)m->data, (u_int)m->data_len, out,
                   &n) != SNMPERR_SUCCESS)
        return 0;
    return n;
}

//  --------------------------------------------------------------------------
int sim_usm_parse_scoped(const u_char *data, size_t len, sim_usm_scoped_t *s)
{
    size_t clen;
    const u_char *p = data, *c = s_enter(&p, &len, S_SEQ, &clen);
    if (!c || !(s->ctx_engine = s_enter(&c, &clen, ASN_OCTET_STR, &s->ctx_engine_len)) ||
        !(s->ctx_name = s_enter(&c, &clen, ASN_OCTET_STR, &s->ctx_name_len)) || clen < 2)
        return -1;
    /* the PDU: its own TLV; anything after it (DES padding) is ignored */
    size_t plen = clen, inner;
    const u_char *pdu = c;
    u_char type;
    if (!asn_parse_header((u_char *)c, &plen, &type))
        return -1;
    if (!s_enter(&c, &clen, type, &inner))
        return -1;
    s->pdu = pdu;
    s->pdu_len = (size_t)(c - pdu);
    return 0;
}

//  --------------------------------------------------------------------------
size_t sim_usm_build_scoped(const sim_usm_scoped_t *s, u_char *out, size_t cap)
{
    s_out_t o = {out, cap};
    u_char *h = s_open(&o);
    if (!s_put_str(&o, s->ctx_engine, s->ctx_engine_len) ||
        !s_put_str(&o, s->ctx_name, s->ctx_name_len) || o.left < s->pdu_len)
        return 0;
    memcpy(o.p, s->pdu, s->pdu_len);
    o.p += s->pdu_len;
    return s_close(&o, h, S_SEQ) ? (size_t)(o.p - out) : 0;
}

static size_t s_encrypt(const sim_usm_msg_t *m, const sim_usm_keys_t *k, const u_char *plain,
                        size_t len, u_char *out, size_t cap)
{
    u_char iv[16];
    size_t ivlen = s_iv(m, k, iv), n = cap;
    if (!k->priv_len ||
        sc_encrypt(k->user->priv_oid, k->user->priv_oid_len, (u_char *)k->priv, (u_int)k->priv_len,
                   iv, (u_int)ivlen, plain, (u_int)len, out, &n) != SNMPERR_SUCCESS)
        return 0;
    return n;
}

//  --------------------------------------------------------------------------
size_t sim_usm_build(const sim_usm_msg_t *m, const sim_usm_keys_t *k, const u_char *scoped,
                     size_t scoped_len, u_char *out, size_t cap, u_char *scratch,
                     size_t scratch_cap)
{
    static const u_char zeros[SIM_USM_MAC_MAX] = {0};
    bool auth = m->flags & SIM_USM_AUTH, priv = auth && (m->flags & SIM_USM_PRIV);
    size_t maclen = auth ? k->user->mac_len : 0;
    if (priv) {
        scoped_len = s_encrypt(m, k, scoped, scoped_len, scratch, scratch_cap);
        scoped = scratch;
        if (!scoped_len)
            return 0;
    }
    u_char flags = m->flags;
    s_out_t o = {out, cap};
    u_char *msg = s_open(&o);
    s_put_int(&o, S_VERSION_3);
    u_char *gh = s_open(&o);
    s_put_int(&o, m->msgid);
    s_put_int(&o, m->max_size);
    s_put_str(&o, &flags, 1);
    s_put_int(&o, S_MODEL_USM);
    if (!s_close(&o, gh, S_SEQ))
        return 0;
    u_char *oh = s_open(&o), *sh = s_open(&o);
    s_put_str(&o, m->engine, m->engine_len);
    s_put_int(&o, m->boots);
    s_put_int(&o, m->time);
    s_put_str(&o, m->user, m->user_len);
    s_put_str(&o, zeros, maclen);
    u_char *mac = o.p ? o.p - maclen : NULL;
    s_put_str(&o, m->salt, priv ? SIM_USM_SALT_LEN : 0);
    if (!s_close(&o, sh, S_SEQ) || !s_close(&o, oh, ASN_OCTET_STR))
        return 0;
    if (priv) {
        s_put_str(&o, scoped, scoped_len);
    } else if (o.p && o.left >= scoped_len) {
        memcpy(o.p, scoped, scoped_len);
        o.p += scoped_len;
    } else {
        return 0;
    }
    if (!s_close(&o, msg, S_SEQ))
        return 0;
    size_t n = (size_t)(o.p - out), outlen = maclen;
    if (auth &&
        sc_generate_keyed_hash(k->user->auth_oid, k->user->auth_oid_len, k->auth,
                               (u_int)k->auth_len, out, (u_int)n, mac, &outlen) != SNMPERR_SUCCESS)
        return 0;
    return n;
}

static sim_usm_scratch_t *s_scratch(sim_pdu_ctx_t *ctx)
{
    sim_usm_scratch_t **slot = sim_pdu_ctx_usm(ctx);
    if (!*slot) {
        *slot = calloc(1, sizeof(**slot));
        if (!*slot)
            abort();
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        (*slot)->salt = sim_hash64((uint64_t)ts.tv_nsec, (uint64_t)ts.tv_sec,
                                   (uint64_t)(uintptr_t)*slot, 0x53414c54);
    }
    return *slot;
}

//  --------------------------------------------------------------------------
void sim_usm_scratch_destroy(sim_usm_scratch_t **p)
{
    if (!p || !*p)
        return;
    free(*p);
    *p = NULL;
}

/* The keys of user for the job's engine, from the per-thread cache. */
static const sim_usm_keys_t *s_keys(s_job_t *j, const sim_usm_user_t *user)
{
    const sim_usm_t *u = j->w->usm;
    uint32_t idx = (uint32_t)(user - u->users) + 1;
    s_cached_t *c = &j->sc->cache[(j->dst * 31u + idx) % S_CACHE];
    if (c->usm == u && c->addr == j->dst && c->user == idx)
        return &c->keys;
    c->usm = NULL;
    if (sim_usm_localize(user, j->e.id, j->e.len, &c->keys) != 0)
        return NULL;
    c->usm = u;
    c->addr = j->dst;
    c->user = idx;
    return &c->keys;
}

static size_t s_drop(sim_answer_t *ans, sim_drop_t why)
{
    ans->drop = why;
    return 0;
}

/* Wraps the PDU at j->sc->pdu (pdu_len bytes) into the reply message. */
static size_t s_reply(s_job_t *j, const sim_usm_keys_t *k, u_char flags, const u_char *ctx_engine,
                      size_t ctx_engine_len, const u_char *ctx_name, size_t ctx_name_len,
                      size_t pdu_len, u_char *out)
{
    sim_usm_scoped_t s = {ctx_engine, ctx_engine_len, ctx_name, ctx_name_len, j->sc->pdu, pdu_len};
    size_t sl = sim_usm_build_scoped(&s, j->sc->scoped, sizeof(j->sc->scoped));
    sim_usm_msg_t r = {.msgid = j->m->msgid,
                       .max_size = S_OUR_MAX_MSG,
                       .flags = flags,
                       .model = S_MODEL_USM,
                       .engine_len = j->e.len,
                       .boots = j->e.boots,
                       .time = j->e.time,
                       .user_len = j->m->user_len,
                       .salt_len = SIM_USM_SALT_LEN};
    memcpy(r.engine, j->e.id, j->e.len);
    memcpy(r.user, j->m->user, j->m->user_len);
    uint64_t salt = j->sc->salt++;
    for (int i = 0; i < SIM_USM_SALT_LEN; i++)
        r.salt[i] = (u_char)(salt >> (56 - 8 * i));
    size_t n = sl ? sim_usm_build(&r, k, j->sc->scoped, sl, out, j->cap, j->sc->cipher,
                                  sizeof(j->sc->cipher))
                  : 0;
    return n ? n : s_drop(j->ans, SIM_DROP_PARSE);
}

/* Counts stat and answers with a Report (authenticated with k when not NULL). */
static size_t s_report(s_job_t *j, sim_usm_stat_t stat, const sim_usm_keys_t *k, u_char *out)
{
    uint64_t v = atomic_fetch_add_explicit(&j->w->usm->stats[stat], 1, memory_order_relaxed) + 1;
    if (!(j->m->flags & SIM_USM_REPORTABLE))
        return s_drop(j->ans, SIM_DROP_USM);
    oid name[] = {1, 3, 6, 1, 6, 3, 15, 1, 1, (oid)stat + 1, 0};
    size_t nl = sizeof(name) / sizeof(name[0]), left = 256;
    u_long ul = (u_long)(v & 0xffffffffu);
    u_char vb[256];
    u_char *e = snmp_build_var_op(vb, name, &nl, ASN_COUNTER, sizeof(ul), (u_char *)&ul, &left);
    long reqid = 0;
    sim_usm_scoped_t s;
    if (!(j->m->flags & SIM_USM_PRIV) && sim_usm_parse_scoped(j->m->data, j->m->data_len, &s) == 0)
        reqid = sim_pdu_reqid(s.pdu, s.pdu_len);
    size_t pl = e ? sim_pdu_build(SNMP_MSG_REPORT, reqid, 0, 0, vb, (size_t)(e - vb), j->sc->pdu,
                                  sizeof(j->sc->pdu))
                  : 0;
    if (!pl)
        return s_drop(j->ans, SIM_DROP_PARSE);
    j->ans->report = true;
    j->ans->nvbs = 1;
    return s_reply(j, k, k ? SIM_USM_AUTH : 0, j->e.id, j->e.len, (const u_char *)"", 0, pl, out);
}

/* The RFC 3414 3.2 checks; on success returns NULL with *pass set, else the
   report or drop length through *n. */
static const sim_usm_keys_t *s_check(s_job_t *j, const sim_usm_user_t **userp, u_char *out,
                                     size_t *n, bool *pass)
{
    const sim_usm_msg_t *m = j->m;
    *pass = false;
    if (m->engine_len != j->e.len || memcmp(m->engine, j->e.id, j->e.len) != 0) {
        *n = s_report(j, SIM_USM_UNKNOWN_ENGINE, NULL, out);
        return NULL;
    }
    const sim_usm_user_t *user = sim_usm_user(j->w->usm, m->user, m->user_len);
    if (!user) {
        *n = s_report(j, SIM_USM_UNKNOWN_USER, NULL, out);
        return NULL;
    }
    *userp = user;
    int level = m->flags & (SIM_USM_AUTH | SIM_USM_PRIV);
    if (level & ~user->level) {
        *n = s_report(j, SIM_USM_UNSUPPORTED_LEVEL, NULL, out);
        return NULL;
    }
    const sim_usm_keys_t *k = s_keys(j, user);
    if (!k) {
        *n = s_drop(j->ans, SIM_DROP_USM);
        return NULL;
    }
    if (level & SIM_USM_AUTH) {
        if (sim_usm_verify(m, k, j->req, j->req_len, j->sc->copy, sizeof(j->sc->copy)) != 0) {
            *n = s_report(j, SIM_USM_WRONG_DIGEST, NULL, out);
            return NULL;
        }
        long dt = m->time > j->e.time ? m->time - j->e.time : j->e.time - m->time;
        if (m->boots != j->e.boots || j->e.boots >= S_BOOTS_MAX || dt > S_WINDOW_S) {
            *n = s_report(j, SIM_USM_NOT_IN_TIME, k, out);
            return NULL;
        }
    }
    *pass = true;
    return k;
}

/* After the checks: decrypts, runs the PDU and wraps the response. */
static size_t s_respond(s_job_t *j, const sim_usm_user_t *user, const sim_usm_keys_t *k,
                        u_char *out)
{
    const sim_usm_msg_t *m = j->m;
    int level = m->flags & (SIM_USM_AUTH | SIM_USM_PRIV);
    const u_char *scoped = m->data;
    size_t slen = m->data_len;
    if (level & SIM_USM_PRIV) {
        slen = sim_usm_decrypt(m, k, j->sc->plain, sizeof(j->sc->plain));
        if (slen == 0)
            return s_report(j, SIM_USM_DECRYPT, NULL, out);
        scoped = j->sc->plain;
    }
    sim_usm_scoped_t s;
    if (sim_usm_parse_scoped(scoped, slen, &s) != 0) {
        /* a wrong privacy key decrypts to garbage: snmpd drops it silently */
        if (!(level & SIM_USM_PRIV))
            return s_drop(j->ans, SIM_DROP_PARSE);
        atomic_fetch_add_explicit(&j->w->usm->stats[SIM_USM_DECRYPT], 1, memory_order_relaxed);
        return s_drop(j->ans, SIM_DROP_USM);
    }
    long deny = level < user->level ? SNMP_ERR_AUTHORIZATIONERROR : 0;
    size_t over =
        S_OVERHEAD + j->e.len + m->user_len + user->mac_len + s.ctx_engine_len + s.ctx_name_len;
    size_t room = j->cap > over ? j->cap - over : 0;
    size_t pl = sim_pdu_answer_pdu(j->ctx, j->w, j->dst, s.pdu, s.pdu_len, deny, j->sc->pdu, room,
                                   j->now_ms, j->ans);
    if (pl == 0)
        return 0;
    size_t n = s_reply(j, k, (u_char)level, s.ctx_engine, s.ctx_engine_len, s.ctx_name,
                       s.ctx_name_len, pl, out);
    if (n && j->ans->malformed) {
        size_t c = sim_pdu_corrupt(out, n);
        j->ans->malformed = c != n;
        n = c;
    }
    return n;
}

//  --------------------------------------------------------------------------
size_t sim_usm_answer(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const u_char *req,
                      size_t req_len, u_char *out, size_t out_cap, int64_t now_ms,
                      sim_answer_t *ans)
{
    *ans = (sim_answer_t){0};
    sim_usm_msg_t m;
    if (req_len > S_BUF || sim_usm_parse(req, req_len, &m) != 0)
        return s_drop(ans, SIM_DROP_PARSE);
    if (m.model != S_MODEL_USM || ((m.flags & SIM_USM_PRIV) && !(m.flags & SIM_USM_AUTH)))
        return s_drop(ans, SIM_DROP_USM);
    sim_dev_t dev;
    sim_fault_view_t fv;
    if (!sim_world_device(w, dst, now_ms, &dev, &fv))
        return s_drop(ans, SIM_DROP_DEVICE);
    if (fv.flags & SIM_FAULT_TIMEOUT)
        return s_drop(ans, SIM_DROP_TIMEOUT);
    s_job_t j = {ctx, w, s_scratch(ctx), dst, now_ms, &m, req, req_len, {{0}, 0, 0, 0}, 0, ans};
    j.e.len = sim_usm_engine_id(w->usm, dst, j.e.id);
    j.e.boots = w->usm->boots + (dev.reboot_ms ? 1 : 0);
    j.e.time = now_ms > dev.boot_ms ? (long)((now_ms - dev.boot_ms) / 1000) : 0;
    j.cap = out_cap < w->max_msg ? out_cap : w->max_msg;
    if ((size_t)m.max_size < j.cap)
        j.cap = (size_t)m.max_size;
    const sim_usm_user_t *user = NULL;
    size_t n = 0;
    bool pass;
    const sim_usm_keys_t *k = s_check(&j, &user, out, &n, &pass);
    if (pass)
        n = s_respond(&j, user, k, out);
    if (n && (fv.flags & SIM_FAULT_SLOW))
        ans->delay_ms = fv.slow_ms;
    return n;
}
