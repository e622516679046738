/*  test_snmp_udp.c - dp_snmp's shared-socket internals: the id map (insert, replace, delete
    with clusters, growth), address keys, request build + parse round trip through net-snmp,
    garbage refused; dp_claim_device_many's argument and Redis-down paths.
    SPDX-License-Identifier: MIT */
#include "dp_claim.h"
#include "dp_snmp.h"
#include "dp_snmp_udp.h"
#include "dp_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

DP_TEST(snmp_udp_map)
{
    dp_snmp_map_t m = {0};
    static int vals[5000];
    CHECK(dp_snmp_map_get(&m, 7) == NULL);
    CHECK(!dp_snmp_map_del(&m, 7, NULL));
    for (int i = 0; i < 5000; i++) /* keys 1 apart and 1024 apart: clusters and growth */
        dp_snmp_map_put(&m, (uint64_t)(i % 2 ? i : i * 1024), &vals[i]);
    CHECK_EQ_INT(m.n, 5000);
    int bad = 0;
    for (int i = 0; i < 5000; i++)
        bad += dp_snmp_map_get(&m, (uint64_t)(i % 2 ? i : i * 1024)) != &vals[i];
    CHECK_EQ_INT(bad, 0);
    CHECK(!dp_snmp_map_del(&m, 3, &vals[4])); /* mapped to another value: kept */
    CHECK(dp_snmp_map_get(&m, 3) == &vals[3]);
    for (int i = 0; i < 5000; i += 3)
        CHECK(dp_snmp_map_del(&m, (uint64_t)(i % 2 ? i : i * 1024), &vals[i]));
    bad = 0;
    for (int i = 0; i < 5000; i++) {
        void *v = dp_snmp_map_get(&m, (uint64_t)(i % 2 ? i : i * 1024));
        bad += i % 3 == 0 ? v != NULL : v != &vals[i];
    }
    CHECK_EQ_INT(bad, 0);
    dp_snmp_map_put(&m, 1, &vals[2]); /* replace */
    CHECK(dp_snmp_map_get(&m, 1) == &vals[2]);
    CHECK_EQ_INT(m.n, 5000 - 1667);
    dp_snmp_map_clear(&m);
    CHECK(dp_snmp_map_get(&m, 1) == NULL);
}

DP_TEST(snmp_udp_addresses)
{
    struct sockaddr_storage a, b;
    socklen_t la, lb;
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_snmp_udp_resolve("127.1.2.3", 0, &a, &la, &err), 0);
    CHECK_EQ_INT(((struct sockaddr_in *)&a)->sin_port, htons(161));
    CHECK_EQ_INT(dp_snmp_udp_resolve("127.1.2.3", 1161, &b, &lb, &err), 0);
    CHECK(!dp_snmp_udp_same((struct sockaddr *)&a, (struct sockaddr *)&b));
    CHECK(dp_snmp_udp_addr_key((struct sockaddr *)&a) !=
          dp_snmp_udp_addr_key((struct sockaddr *)&b));
    CHECK_EQ_INT(dp_snmp_udp_resolve("[::1]", 1161, &a, &la, &err), 0);
    CHECK_EQ_INT(a.ss_family, AF_INET6);
    CHECK_EQ_INT(dp_snmp_udp_resolve("::1", 1161, &b, &lb, &err), 0);
    CHECK(dp_snmp_udp_same((struct sockaddr *)&a, (struct sockaddr *)&b));
    CHECK_EQ_INT(dp_snmp_udp_resolve("no-such-host.invalid", 161, &a, &la, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_UNREACHABLE);
}

DP_TEST(snmp_udp_build_parse)
{
    dp_snmp_init("distpoll-test");
    static const oid o1[] = {1, 3, 6, 1, 2, 1, 1, 3};
    static const oid o2[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6};
    long versions[] = {SNMP_VERSION_2c, SNMP_VERSION_1};
    for (int k = 0; k < 2; k++) {
        netsnmp_pdu *pdu =
            snmp_pdu_create(versions[k] == SNMP_VERSION_1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK);
        snmp_add_null_var(pdu, o1, 8);
        snmp_add_null_var(pdu, o2, 11);
        if (versions[k] != SNMP_VERSION_1) {
            pdu->non_repeaters = 1;
            pdu->max_repetitions = 25;
        }
        pdu->reqid = 0x12345678;
        u_char buf[DP_SNMP_UDP_PKT_MAX];
        const u_char *start = NULL;
        int n = dp_snmp_udp_build(pdu, versions[k], "s3cret", 6, buf, sizeof buf, &start);
        CHECK(n > 30 && start == buf);
        CHECK(pdu->community == NULL); /* the borrowed community is not left in the PDU */
        snmp_free_pdu(pdu);
        /* the agent's answer: the same message as a Response (non-repeaters and
           max-repetitions read as error-status and error-index) */
        int at = 1 + ((buf[1] & 0x80) ? 1 + (buf[1] & 0x7f) : 1); /* version INTEGER */
        at += 2 + buf[at + 1];                                    /* community */
        at += 2 + buf[at + 1];                                    /* PDU tag */
        CHECK(buf[at] == (versions[k] == SNMP_VERSION_1 ? SNMP_MSG_GETNEXT : SNMP_MSG_GETBULK));
        buf[at] = SNMP_MSG_RESPONSE;
        netsnmp_pdu *back = dp_snmp_udp_parse(buf, (size_t)n);
        CHECK(back != NULL);
        if (!back)
            continue;
        CHECK_EQ_INT(back->version, versions[k]);
        CHECK_EQ_INT(back->reqid, 0x12345678);
        CHECK(back->variables && back->variables->next_variable);
        CHECK(snmp_oid_compare(back->variables->name, back->variables->name_length, o1, 8) == 0);
        CHECK(snmp_oid_compare(back->variables->next_variable->name,
                               back->variables->next_variable->name_length, o2, 11) == 0);
        CHECK_EQ_INT(back->command, SNMP_MSG_RESPONSE);
        if (versions[k] != SNMP_VERSION_1)
            CHECK_EQ_INT(back->errindex, 25);
        snmp_free_pdu(back);
        CHECK(dp_snmp_udp_parse(buf, (size_t)n / 2) == NULL); /* cut short */
    }
    /* too small a buffer is refused, not overrun */
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GETNEXT);
    snmp_add_null_var(pdu, o2, 11);
    u_char small[12];
    const u_char *start = NULL;
    CHECK_EQ_INT(dp_snmp_udp_build(pdu, SNMP_VERSION_2c, "public", 6, small, sizeof small, &start),
                 -1);
    snmp_free_pdu(pdu);
    CHECK(dp_snmp_udp_parse((const u_char *)"\x30\x82\xff\xff garbage", 12) == NULL);
}

DP_TEST(claim_many_arguments_and_redis_down)
{
    dp_claim_req_t req[3] = {{.device_id = 1, .cycle_ts = 10}, {.device_id = 2, .cycle_ts = 10}};
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_claim_device_many(NULL, "poll", req, 2, "tok", 1000, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    dp_redis_opts_t o = {.host = "127.0.0.1", .port = 1, .timeout_ms = 200};
    dp_redis_t *r = dp_redis_new(&o);
    CHECK(r != NULL);
    CHECK_EQ_INT(dp_claim_device_many(r, "poll", req, 0, "tok", 1000, &err), 0);
    err = (dp_err_t){0};
    CHECK_EQ_INT(dp_claim_device_many(r, "poll", req, 2, "tok", 1000, &err), 2);
    CHECK_EQ_INT(req[0].rc, -1);
    CHECK_EQ_INT(req[1].rc, -1);
    CHECK(err.text[0] != '\0');
    dp_redis_destroy(&r);
}
