/*  test_snmp_parse.c - dp_snmp_udp_parse_into (varbinds into reused storage) against
    net-snmp's own snmp_pdu_parse (dp_snmp_udp_parse): the same values for every varbind type,
    and the same accept/reject verdict (and content) for every truncation and for thousands of
    byte-mutated replies; storage reused across parses.
    SPDX-License-Identifier: MIT */
#include "dp_snmp.h"
#include "dp_snmp_udp.h"
#include "dp_test.h"

#include <string.h>

//  A Response with one varbind of every type the engine may meet. Returns its length.
static int s_reply(u_char *buf, size_t cap, long version)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
    oid name[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 7};
    size_t nl = sizeof name / sizeof *name;
    long i = -42;
    u_long u = 4000000000UL;
    struct counter64 c64 = {.high = 0x12345678, .low = 0x9abcdef0};
    char lng[200];
    memset(lng, 'x', sizeof lng);
    oid val_oid[] = {1, 3, 6, 1, 4, 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 4294967295UL};
    u_char ip[4] = {10, 1, 2, 3};
    snmp_pdu_add_variable(pdu, name, nl, ASN_INTEGER, &i, sizeof i);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_COUNTER, &u, sizeof u);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_GAUGE, &u, sizeof u);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_TIMETICKS, &u, sizeof u);
    name[nl - 1]++;
    if (version != SNMP_VERSION_1)
        snmp_pdu_add_variable(pdu, name, nl, ASN_COUNTER64, &c64, sizeof c64);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_OCTET_STR, "eth0", 4);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_OCTET_STR, lng, sizeof lng);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_OCTET_STR, "", 0);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_IPADDRESS, ip, sizeof ip);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_OBJECT_ID, val_oid, sizeof val_oid);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_OPAQUE, "\x01\x02", 2);
    name[nl - 1]++;
    snmp_pdu_add_variable(pdu, name, nl, ASN_NULL, NULL, 0);
    if (version != SNMP_VERSION_1) {
        name[nl - 1]++;
        snmp_pdu_add_variable(pdu, name, nl, SNMP_NOSUCHINSTANCE, NULL, 0);
        name[nl - 1]++;
        snmp_pdu_add_variable(pdu, name, nl, SNMP_ENDOFMIBVIEW, NULL, 0);
    }
    pdu->reqid = 0x1234567;
    pdu->errstat = 0;
    pdu->errindex = 0;
    const u_char *start = NULL;
    int n = dp_snmp_udp_build(pdu, version, "public", 6, buf, cap, &start);
    snmp_free_pdu(pdu);
    return n;
}

//  Whether the two parses agree (verdict, header, every varbind's name, type and value).
static bool s_same(const netsnmp_pdu *p, int rc, const dp_snmp_udp_reply_t *r)
{
    if ((p != NULL) != (rc == 0))
        return false;
    if (!p)
        return true;
    if (p->version != r->version || p->command != r->command || p->reqid != r->reqid ||
        p->errstat != r->errstat || p->errindex != r->errindex)
        return false;
    const netsnmp_variable_list *a = p->variables, *b = r->nvars ? r->vars : NULL;
    for (; a && b; a = a->next_variable, b = b->next_variable) {
        if (a->type != b->type || a->val_len != b->val_len ||
            snmp_oid_compare(a->name, a->name_length, b->name, b->name_length) != 0)
            return false;
        if (a->val_len && a->val.string && memcmp(a->val.string, b->val.string, a->val_len) != 0)
            return false;
    }
    return !a && !b;
}

DP_TEST(snmp_parse_every_type)
{
    dp_snmp_init("distpoll-test");
    dp_snmp_udp_reply_t r = {0};
    long versions[] = {SNMP_VERSION_2c, SNMP_VERSION_1};
    for (int k = 0; k < 2; k++) {
        u_char buf[4096];
        int n = s_reply(buf, sizeof buf, versions[k]);
        CHECK(n > 300);
        netsnmp_pdu *p = dp_snmp_udp_parse(buf, (size_t)n);
        CHECK(p != NULL);
        CHECK_EQ_INT(dp_snmp_udp_parse_into(buf, (size_t)n, &r), 0);
        CHECK_EQ_INT(r.nvars, k == 0 ? 14 : 11);
        CHECK_EQ_INT(r.reqid, 0x1234567);
        CHECK_EQ_INT(r.command, SNMP_MSG_RESPONSE);
        CHECK(s_same(p, 0, &r));
        CHECK_EQ_INT(*r.vars[0].val.integer, -42);
        CHECK_EQ_INT(r.vars[k == 0 ? 6 : 5].val_len, 200); /* the long string: in the arena */
        uint64_t v = 0;
        int bits = 0;
        if (k == 0) {
            CHECK(dp_snmp_var_u64(&r.vars[4], &v, &bits));
            CHECK(v == 0x123456789abcdef0ULL && bits == 64);
        }
        snmp_free_pdu(p);
    }
    dp_snmp_udp_reply_free(&r);
}

DP_TEST(snmp_parse_many_varbinds)
{
    dp_snmp_init("distpoll-test");
    dp_snmp_udp_reply_t r = {0};
    for (int round = 0; round < 2; round++) { /* the storage grows, then is reused */
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
        oid name[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 0};
        char text[64];
        for (int i = 0; i < 300; i++) {
            name[10] = (oid)i + 1;
            int n = snprintf(text, sizeof text, "%s%d", i % 2 ? "GigabitEthernet0/0/" : "x", i);
            snmp_pdu_add_variable(pdu, name, 11, ASN_OCTET_STR, text, (size_t)n);
        }
        pdu->reqid = 77;
        u_char buf[16384];
        const u_char *start = NULL;
        int n = dp_snmp_udp_build(pdu, SNMP_VERSION_2c, "public", 6, buf, sizeof buf, &start);
        snmp_free_pdu(pdu);
        CHECK(n > 300 * 15);
        netsnmp_pdu *p = dp_snmp_udp_parse(buf, (size_t)n);
        CHECK_EQ_INT(dp_snmp_udp_parse_into(buf, (size_t)n, &r), 0);
        CHECK_EQ_INT(r.nvars, 300);
        CHECK(s_same(p, 0, &r)); /* names and values still right after the array moved */
        CHECK(r.vars[299].name == r.vars[299].name_loc && r.vars[0].name == r.vars[0].name_loc);
        CHECK(r.vars[0].val.string == r.vars[0].buf);
        snmp_free_pdu(p);
    }
    CHECK(r.cap >= 300);
    dp_snmp_udp_reply_free(&r);
}

DP_TEST(snmp_parse_truncated_and_mutated)
{
    dp_snmp_init("distpoll-test");
    dp_snmp_udp_reply_t r = {0};
    u_char buf[4096], m[4096];
    int n = s_reply(buf, sizeof buf, SNMP_VERSION_2c);
    int differ = 0, accepted = 0, rejected = 0;
    snmp_disable_log(); /* snmp_pdu_parse logs every bad type */
    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_EMERG);
    for (int len = 0; len <= n; len++) { /* every truncation: rejected by both but the full */
        netsnmp_pdu *p = dp_snmp_udp_parse(buf, (size_t)len);
        int rc = dp_snmp_udp_parse_into(buf, (size_t)len, &r);
        differ += !s_same(p, rc, &r);
        accepted += rc == 0;
        if (p)
            snmp_free_pdu(p);
    }
    CHECK_EQ_INT(differ, 0);
    CHECK_EQ_INT(accepted, 1);
    uint32_t x = 2463534242u;
    for (int it = 0; it < 20000; it++) { /* 1-3 random bytes changed */
        memcpy(m, buf, (size_t)n);
        int flips = 1 + it % 3;
        for (int f = 0; f < flips; f++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            m[x % (uint32_t)n] = (u_char)(x >> 8);
        }
        netsnmp_pdu *p = dp_snmp_udp_parse(m, (size_t)n);
        int rc = dp_snmp_udp_parse_into(m, (size_t)n, &r);
        if (rc == 0 && r.command == SNMP_MSG_TRAP) { /* v1 Trap: not parsed further here */
            if (p)
                snmp_free_pdu(p);
            continue;
        }
        differ += !s_same(p, rc, &r);
        accepted += rc == 0;
        rejected += rc != 0;
        if (p)
            snmp_free_pdu(p);
    }
    snmp_enable_stderrlog();
    CHECK_EQ_INT(differ, 0);
    CHECK(accepted > 100 && rejected > 100); /* both verdicts were exercised */
    CHECK_EQ_INT(dp_snmp_udp_parse_into((const u_char *)"\x30\x82\xff\xff garbage", 12, &r), -1);
    dp_snmp_udp_reply_free(&r);
}
