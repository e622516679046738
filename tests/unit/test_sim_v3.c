/*  test_sim_v3.c - dpsim's SNMPv3/USM path: user specs, RFC 3414 key localization,
    authPriv round trips (AES and DES, SHA/SHA-256/MD5) decoded with net-snmp,
    discovery and error Reports (unknown engine/user, level, digest, time window),
    wrong privacy key dropped and counted, authorizationError below the user's
    level, reboot fault bumps boots, and mutated/truncated messages never crash.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../simulator/sim_usm.h"

#include <stdlib.h>

#include <net-snmp/library/snmp.h>
#include <net-snmp/library/snmp_api.h>
#include <net-snmp/library/snmp_impl.h>
#include <net-snmp/library/transform_oids.h>

#define T_NOW   1800000000000LL
#define T_EPOCH 1700000000000LL
#define T_DEV   0x7f000107u /* 127.0.1.7 */
#define T_BUF   65536
#define T_BOOTS 7

static const oid t_sysname[] = {1, 3, 6, 1, 2, 1, 1, 5, 0};
static const char *t_users[] = {"alice:SHA:alicepass1:AES:alicepriv1", "bob:SHA-256:bobpass123",
                                "carol:MD5:carolpass1:DES:carolpriv1", "nobody",
                                "dave:SHA-256:davepass12:AES:davepriv12"};

/* What a test request carries. */
typedef struct {
    const sim_usm_user_t *user; /* keys from this user (may be of another set) */
    u_char flags;               /* msgFlags */
    const u_char *engine;       /* NULL: the device's engine id */
    size_t engine_len;          /* with engine */
    long boots, time;           /* -1: the device's */
    int command;                /* PDU type */
} t_req_t;

static sim_world_t *t_world(const char *fault)
{
    sim_world_t *w = sim_world_new(1, T_EPOCH, T_NOW - 1000);
    if (sim_world_add_profile(w, "synthetic:ports=4", NULL, NULL) != 0)
        abort();
    if (fault) {
        sim_faults_t *f = sim_faults_new(1);
        if (sim_faults_add(f, fault, T_NOW - 500, NULL, NULL) != 0)
            abort();
        sim_world_set_faults(w, &f);
    }
    w->usm = sim_usm_new(T_BOOTS);
    for (size_t i = 0; i < sizeof(t_users) / sizeof(t_users[0]); i++) {
        if (sim_usm_add_user(w->usm, t_users[i], NULL) != 0)
            abort();
    }
    return w;
}

static const sim_usm_user_t *t_user(const sim_usm_t *u, const char *name)
{
    return sim_usm_user(u, (const u_char *)name, strlen(name));
}

static long t_engine_time(sim_world_t *w, uint32_t dev)
{
    sim_dev_t d;
    sim_fault_view_t fv;
    sim_world_device(w, dev, T_NOW, &d, &fv);
    return (long)((T_NOW - d.boot_ms) / 1000);
}

/* Encodes a GET of sysName.0 (or command) as a v3 message from r. */
static size_t t_request(sim_world_t *w, uint32_t dev, const t_req_t *r, u_char *out)
{
    static u_char body[T_BUF], scoped[T_BUF], scratch[T_BUF];
    u_char eid[SIM_USM_ENGINE_MAX];
    size_t elen = sim_usm_engine_id(w->usm, dev, eid);
    netsnmp_pdu *pdu = snmp_pdu_create(r->command ? r->command : (int)SNMP_MSG_GET);
    pdu->reqid = 4242;
    snmp_add_null_var(pdu, t_sysname, sizeof(t_sysname) / sizeof(oid));
    size_t bl = sizeof(body);
    u_char *e = snmp_pdu_build(pdu, body, &bl);
    snmp_free_pdu(pdu);
    sim_usm_scoped_t s = {eid, elen, (const u_char *)"", 0, body, (size_t)(e - body)};
    size_t sl = sim_usm_build_scoped(&s, scoped, sizeof(scoped));
    sim_usm_msg_t m = {.msgid = 77,
                       .max_size = 65507,
                       .flags = r->flags,
                       .model = 3,
                       .boots = r->boots >= 0 ? r->boots : T_BOOTS,
                       .time = r->time >= 0 ? r->time : t_engine_time(w, dev),
                       .salt = {1, 2, 3, 4, 5, 6, 7, 8},
                       .salt_len = 8};
    if (r->engine) {
        memcpy(m.engine, r->engine, r->engine_len);
        m.engine_len = r->engine_len;
    } else {
        memcpy(m.engine, eid, elen);
        m.engine_len = elen;
    }
    sim_usm_keys_t k = {0};
    if (r->user) {
        memcpy(m.user, r->user->name, r->user->name_len);
        m.user_len = r->user->name_len;
        if (sim_usm_localize(r->user, eid, elen, &k) != 0)
            return 0;
    }
    return sim_usm_build(&m, &k, scoped, sl, out, T_BUF, scratch, sizeof(scratch));
}

/* Decodes a reply: checks its MAC and decrypts with user's keys when flagged;
   returns the PDU (free with snmp_free_pdu) or NULL. */
static netsnmp_pdu *t_reply(sim_world_t *w, const sim_usm_user_t *user, u_char *buf, size_t len,
                            sim_usm_msg_t *m)
{
    static u_char plain[T_BUF], copy[T_BUF];
    if (sim_usm_parse(buf, len, m) != 0)
        return NULL;
    sim_usm_keys_t k = {0};
    if (user && sim_usm_localize(user, m->engine, m->engine_len, &k) != 0)
        return NULL;
    if ((m->flags & SIM_USM_AUTH) && sim_usm_verify(m, &k, buf, len, copy, sizeof(copy)) != 0)
        return NULL;
    const u_char *data = m->data;
    size_t dlen = m->data_len;
    if (m->flags & SIM_USM_PRIV) {
        dlen = sim_usm_decrypt(m, &k, plain, sizeof(plain));
        data = plain;
    }
    sim_usm_scoped_t s;
    if (dlen == 0 || sim_usm_parse_scoped(data, dlen, &s) != 0)
        return NULL;
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
    size_t pl = s.pdu_len;
    if (snmp_pdu_parse(pdu, (u_char *)s.pdu, &pl) != 0) {
        snmp_free_pdu(pdu);
        return NULL;
    }
    (void)w;
    return pdu;
}

/* One request through sim_pdu_answer; returns the decoded reply or NULL. */
static netsnmp_pdu *t_ask(sim_world_t *w, uint32_t dev, const t_req_t *r,
                          const sim_usm_user_t *reader, sim_usm_msg_t *m, sim_answer_t *ans)
{
    static u_char req[T_BUF], out[T_BUF];
    sim_pdu_ctx_t *ctx = sim_pdu_ctx_new();
    size_t rl = t_request(w, dev, r, req);
    size_t n = rl ? sim_pdu_answer(ctx, w, dev, req, rl, out, sizeof(out), T_NOW, ans) : 0;
    sim_pdu_ctx_destroy(&ctx);
    return n ? t_reply(w, reader, out, n, m) : NULL;
}

static bool t_is_report(const netsnmp_pdu *p, int stat_subid)
{
    const netsnmp_variable_list *v = p ? p->variables : NULL;
    return p && p->command == SNMP_MSG_REPORT && v && v->name_length == 11 &&
           v->name[9] == (oid)stat_subid && v->type == ASN_COUNTER;
}

DP_TEST(sim_usm_user_specs)
{
    sim_usm_t *u = sim_usm_new(1);
    dp_err_t err = {0};
    CHECK(sim_usm_add_user(u, "a:SHA-256:12345678:AES:abcdefgh", &err) == 0);
    CHECK(sim_usm_add_user(u, "b:md5:12345678", &err) == 0);
    CHECK(sim_usm_add_user(u, "c", &err) == 0);
    CHECK_EQ_INT(u->users[0].level, SIM_USM_AUTH | SIM_USM_PRIV);
    CHECK_EQ_INT(u->users[0].mac_len, 24);
    CHECK_EQ_INT(u->users[1].level, SIM_USM_AUTH);
    CHECK_EQ_INT(u->users[1].mac_len, 12);
    CHECK_EQ_INT(u->users[2].level, 0);
    CHECK(sim_usm_add_user(u, "d:SHA:short", &err) != 0 && strstr(err.text, "shorter"));
    CHECK(sim_usm_add_user(u, "d:SHA3:12345678", &err) != 0 && strstr(err.text, "auth protocol"));
    CHECK(sim_usm_add_user(u, "d:SHA:12345678:RC4:12345678", &err) != 0);
    CHECK(sim_usm_add_user(u, "d:SHA", &err) != 0);
    CHECK(sim_usm_add_user(u, "a", &err) != 0 && strstr(err.text, "twice"));
    CHECK(sim_usm_add_user(u, "0123456789012345678901234567890123", &err) != 0);
    CHECK_EQ_INT(u->nusers, 3);
    CHECK(sim_usm_set_engine(u, "0x8000000001020304", &err) == 0 && u->engine_len == 8);
    CHECK(sim_usm_set_engine(u, "80zz000001", &err) != 0);
    CHECK(sim_usm_set_engine(u, "8000", &err) != 0);
    sim_usm_destroy(&u);
    CHECK(u == NULL);
}

DP_TEST(sim_usm_localizes_like_rfc3414)
{
    /* RFC 3414 A.3.2: SHA, "maplesyrup", engine 00..02 */
    static const u_char engine[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    static const u_char want[20] = {0x66, 0x95, 0xfe, 0xbc, 0x92, 0x88, 0xe3, 0x62, 0x82, 0x23,
                                    0x5f, 0xc7, 0x15, 0x1f, 0x12, 0x84, 0x97, 0xb3, 0x8f, 0x3f};
    sim_usm_t *u = sim_usm_new(1);
    CHECK(sim_usm_add_user(u, "x:SHA:maplesyrup", NULL) == 0);
    sim_usm_keys_t k;
    CHECK(sim_usm_localize(&u->users[0], engine, sizeof(engine), &k) == 0);
    CHECK(k.auth_len == 20 && memcmp(k.auth, want, 20) == 0);
    /* per-device engine ids: RFC 3411 format 1 with the device's IPv4 address */
    u_char id[SIM_USM_ENGINE_MAX];
    CHECK_EQ_INT(sim_usm_engine_id(u, T_DEV, id), 9);
    CHECK(memcmp(id, "\x80\x00\x1f\x88\x01\x7f\x00\x01\x07", 9) == 0);
    sim_usm_destroy(&u);
}

DP_TEST(sim_usm_auth_priv_round_trips)
{
    sim_world_t *w = t_world(NULL);
    const char *names[] = {"alice", "carol", "dave", "bob"};
    u_char flags[] = {7, 7, 7, 5};
    for (int i = 0; i < 4; i++) {
        const sim_usm_user_t *u = t_user(w->usm, names[i]);
        t_req_t r = {.user = u, .flags = flags[i], .boots = -1, .time = -1};
        sim_usm_msg_t m;
        sim_answer_t ans;
        netsnmp_pdu *p = t_ask(w, T_DEV, &r, u, &m, &ans);
        CHECK(p != NULL);
        CHECK_EQ_INT(p->command, SNMP_MSG_RESPONSE);
        CHECK_EQ_INT(p->reqid, 4242);
        CHECK_EQ_INT(m.msgid, 77);
        CHECK_EQ_INT(m.flags, flags[i] & 3);
        CHECK_EQ_INT(m.boots, T_BOOTS);
        CHECK_EQ_INT(m.time, t_engine_time(w, T_DEV));
        CHECK(p->variables && p->variables->type == ASN_OCTET_STR && p->variables->val_len == 13 &&
              memcmp(p->variables->val.string, "dev-127-0-1-7", 13) == 0);
        snmp_free_pdu(p);
    }
    /* noAuthNoPriv user */
    t_req_t r = {.user = t_user(w->usm, "nobody"), .flags = 4, .boots = 0, .time = 0};
    sim_usm_msg_t m;
    sim_answer_t ans;
    netsnmp_pdu *p = t_ask(w, T_DEV + 1, &r, NULL, &m, &ans);
    CHECK(p && p->command == SNMP_MSG_RESPONSE && p->errstat == 0 && m.flags == 0);
    snmp_free_pdu(p);
    sim_world_destroy(&w);
}

DP_TEST(sim_usm_reports_discovery_and_errors)
{
    sim_world_t *w = t_world(NULL);
    const sim_usm_user_t *alice = t_user(w->usm, "alice");
    sim_usm_msg_t m;
    sim_answer_t ans;
    /* discovery: empty engine id, no user -> usmStatsUnknownEngineIDs with boots/time */
    t_req_t r = {.flags = 4, .engine = (const u_char *)"", .engine_len = 0, .boots = 0, .time = 0};
    netsnmp_pdu *p = t_ask(w, T_DEV, &r, NULL, &m, &ans);
    CHECK(t_is_report(p, 4) && ans.report && m.flags == 0 && p->reqid == 4242);
    CHECK(m.engine_len == 9 && m.engine[8] == 7 && m.boots == T_BOOTS);
    CHECK_EQ_INT(m.time, t_engine_time(w, T_DEV));
    CHECK_EQ_INT(*p->variables->val.integer, 1);
    snmp_free_pdu(p);
    /* stale time -> authenticated notInTimeWindow report */
    r = (t_req_t){.user = alice, .flags = 7, .boots = T_BOOTS, .time = 5};
    p = t_ask(w, T_DEV, &r, alice, &m, &ans);
    CHECK(t_is_report(p, 2) && m.flags == SIM_USM_AUTH);
    snmp_free_pdu(p);
    r.boots = T_BOOTS - 1;
    r.time = -1;
    p = t_ask(w, T_DEV, &r, alice, &m, &ans);
    CHECK(t_is_report(p, 2));
    snmp_free_pdu(p);
    /* unknown user; level above the user's; wrong auth key */
    sim_usm_t *other = sim_usm_new(1);
    CHECK(sim_usm_add_user(other, "zed:SHA:zedpass123", NULL) == 0);
    CHECK(sim_usm_add_user(other, "alice:SHA:wrongpass1:AES:alicepriv1", NULL) == 0);
    CHECK(sim_usm_add_user(other, "alice2:SHA:alicepass1:AES:wrongpriv1", NULL) == 0);
    CHECK(sim_usm_add_user(other, "bob:SHA-256:bobpass123:AES:bobpriv123", NULL) == 0);
    r = (t_req_t){.user = &other->users[0], .flags = 5, .boots = -1, .time = -1};
    p = t_ask(w, T_DEV, &r, NULL, &m, &ans);
    CHECK(t_is_report(p, 3));
    snmp_free_pdu(p);
    r = (t_req_t){.user = &other->users[3], .flags = 7, .boots = -1, .time = -1};
    p = t_ask(w, T_DEV, &r, NULL, &m, &ans);
    CHECK(t_is_report(p, 1));
    snmp_free_pdu(p);
    r = (t_req_t){.user = &other->users[1], .flags = 5, .boots = -1, .time = -1};
    p = t_ask(w, T_DEV, &r, NULL, &m, &ans);
    CHECK(t_is_report(p, 5) && m.flags == 0);
    snmp_free_pdu(p);
    /* not reportable: counted and dropped */
    r.flags = 1;
    CHECK(t_ask(w, T_DEV, &r, NULL, &m, &ans) == NULL);
    CHECK_EQ_INT(ans.drop, SIM_DROP_USM);
    CHECK_EQ_INT(atomic_load(&w->usm->stats[SIM_USM_WRONG_DIGEST]), 2);
    /* wrong privacy key: same auth key, garbage plaintext -> dropped like snmpd */
    memcpy(other->users[2].name, "alice", 6);
    other->users[2].name_len = 5;
    r = (t_req_t){.user = &other->users[2], .flags = 7, .boots = -1, .time = -1};
    CHECK(t_ask(w, T_DEV, &r, NULL, &m, &ans) == NULL);
    CHECK_EQ_INT(ans.drop, SIM_DROP_USM);
    CHECK_EQ_INT(atomic_load(&w->usm->stats[SIM_USM_DECRYPT]), 1);
    sim_usm_destroy(&other);
    /* below the user's level: authorizationError */
    r = (t_req_t){.user = alice, .flags = 5, .boots = -1, .time = -1};
    p = t_ask(w, T_DEV, &r, alice, &m, &ans);
    CHECK(p && p->command == SNMP_MSG_RESPONSE && p->errstat == SNMP_ERR_AUTHORIZATIONERROR);
    snmp_free_pdu(p);
    sim_world_destroy(&w);
}

DP_TEST(sim_usm_faults_apply)
{
    sim_world_t *w = t_world("127.0.1.7=reboot");
    const sim_usm_user_t *alice = t_user(w->usm, "alice");
    sim_usm_msg_t m;
    sim_answer_t ans;
    t_req_t r = {.flags = 4, .engine = (const u_char *)"", .boots = 0, .time = 0};
    netsnmp_pdu *p = t_ask(w, T_DEV, &r, NULL, &m, &ans);
    CHECK(t_is_report(p, 4) && m.boots == T_BOOTS + 1 && m.time == 0);
    snmp_free_pdu(p);
    r = (t_req_t){.user = alice, .flags = 7, .boots = T_BOOTS + 1, .time = 0};
    p = t_ask(w, T_DEV, &r, alice, &m, &ans);
    CHECK(p && p->command == SNMP_MSG_RESPONSE);
    snmp_free_pdu(p);
    sim_world_destroy(&w);
    w = t_world("127.0.1.7=timeout");
    r = (t_req_t){.flags = 4, .engine = (const u_char *)"", .boots = 0, .time = 0};
    CHECK(t_ask(w, T_DEV, &r, NULL, &m, &ans) == NULL);
    CHECK_EQ_INT(ans.drop, SIM_DROP_TIMEOUT);
    sim_world_destroy(&w);
    /* without users v3 is not answered */
    w = t_world(NULL);
    u_char req[T_BUF], out[T_BUF];
    size_t rl = t_request(w, T_DEV, &r, req);
    sim_usm_destroy(&w->usm);
    sim_pdu_ctx_t *ctx = sim_pdu_ctx_new();
    CHECK(sim_pdu_answer(ctx, w, T_DEV, req, rl, out, sizeof(out), T_NOW, &ans) == 0);
    CHECK_EQ_INT(ans.drop, SIM_DROP_VERSION);
    sim_pdu_ctx_destroy(&ctx);
    sim_world_destroy(&w);
}

/* Every truncation and many byte mutations of valid requests: an answer or a
   counted drop, never a crash (run under ASan/UBSan too). */
DP_TEST(sim_usm_malformed_messages_are_dropped)
{
    sim_world_t *w = t_world(NULL);
    const sim_usm_user_t *alice = t_user(w->usm, "alice"), *bob = t_user(w->usm, "bob");
    t_req_t reqs[] = {{.user = alice, .flags = 7, .boots = -1, .time = -1},
                      {.user = bob, .flags = 5, .boots = -1, .time = -1},
                      {.flags = 4, .engine = (const u_char *)"", .boots = 0, .time = 0}};
    static u_char req[T_BUF], bad[T_BUF], out[T_BUF];
    sim_pdu_ctx_t *ctx = sim_pdu_ctx_new();
    sim_answer_t ans;
    uint64_t rng = 12345;
    long answered = 0, dropped = 0;
    for (int i = 0; i < 3; i++) {
        size_t rl = t_request(w, T_DEV, &reqs[i], req);
        CHECK(rl > 0);
        CHECK(sim_pdu_answer(ctx, w, T_DEV, req, rl, out, sizeof(out), T_NOW, &ans) > 0);
        for (size_t cut = 0; cut < rl; cut++) {
            size_t n = sim_pdu_answer(ctx, w, T_DEV, req, cut, out, sizeof(out), T_NOW, &ans);
            CHECK(n == 0 && ans.drop != SIM_DROP_NONE);
        }
        for (int k = 0; k < 3000; k++) {
            memcpy(bad, req, rl);
            for (int f = 0; f < 1 + k % 3; f++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                size_t at = (size_t)(rng >> 33) % rl;
                bad[at] =
                    (k & 1) ? (u_char)(rng >> 17) : (u_char)(bad[at] ^ (1u << (rng >> 60 & 7)));
            }
            size_t n = sim_pdu_answer(ctx, w, T_DEV, bad, rl, out, sizeof(out), T_NOW, &ans);
            CHECK(n > 0 || ans.drop != SIM_DROP_NONE);
            if (n > 0)
                answered++;
            else
                dropped++;
        }
    }
    /* authenticated requests: a flipped byte fails the digest (a report) or the parse */
    CHECK(dropped > 0 && answered > 0);
    sim_pdu_ctx_destroy(&ctx);
    sim_world_destroy(&w);
}
