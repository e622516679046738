/*  test_discoverer_ports.c - discoverer walk definitions, value storage (system, IF-MIB with HC
    detection, HOST-RESOURCES), names shared with the poller, text cleaning and the port diff
    that decides inserts, undeletes and deletes.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_ifmib.h"
#include "../../discoverer/discoverer_ports.h"
#include "../../poller/poller_modules.h"

#include <stdlib.h>

/* Sets up a varbind in place with net-snmp's own setter (small values live inside *v, so it
   must not be copied; free its internals with s_var_free). */
static void s_var(netsnmp_variable_list *v, u_char type, const void *value, size_t len)
{
    memset(v, 0, sizeof *v);
    snmp_set_var_typed_value(v, type, value, len);
}

static void s_var_free(netsnmp_variable_list *v)
{
    snmp_free_var_internals(v);
}

//  Feeds one value of column col (of walk which) for row index.
static void s_take(discoverer_inv_t *inv, discoverer_walk_t which, int col, oid index, u_char type,
                   const void *value, size_t len)
{
    netsnmp_variable_list v;
    s_var(&v, type, value, len);
    oid idx[1] = {index};
    discoverer_inv_take(inv, discoverer_walkdef(which), col, idx, 1, &v);
    s_var_free(&v);
}

static void s_take_int(discoverer_inv_t *inv, discoverer_walk_t which, int col, oid index,
                       u_char type, long value)
{
    s_take(inv, which, col, index, type, &value, sizeof value);
}

//  Column number of prefix in a walk (-1 if absent).
static int s_col(discoverer_walk_t which, const char *dotted)
{
    oid o[DP_SNMP_OID_MAX];
    int n = dp_snmp_oid_parse(dotted, o, DP_SNMP_OID_MAX);
    const discoverer_walkdef_t *d = discoverer_walkdef(which);
    for (int c = 0; c < d->n; c++)
        if ((int)d->cols[c].len == n && memcmp(d->cols[c].prefix, o, (size_t)n * sizeof(oid)) == 0)
            return c;
    return -1;
}

DP_TEST(discoverer_ports_walkdefs)
{
    const discoverer_walkdef_t *sys = discoverer_walkdef(DISCOVERER_WALK_SYSTEM);
    const discoverer_walkdef_t *ports = discoverer_walkdef(DISCOVERER_WALK_PORTS);
    const discoverer_walkdef_t *host = discoverer_walkdef(DISCOVERER_WALK_HOST);
    CHECK(sys && ports && host);
    CHECK(discoverer_walkdef((discoverer_walk_t)7) == NULL);
    CHECK_EQ_INT(sys->n, 6);
    for (int c = 0; c < sys->n; c++)
        CHECK(sys->cols[c].scalar);
    CHECK_EQ_INT(ports->n, 18);
    CHECK(ports->n <= DP_SNMP_COLS_MAX);
    for (int c = 0; c < ports->n; c++)
        CHECK(!ports->cols[c].scalar);
    /* the columns the issue names are all walked */
    static const char *const want[] = {"1.3.6.1.2.1.2.2.1.2",     "1.3.6.1.2.1.2.2.1.3",
                                       "1.3.6.1.2.1.2.2.1.4",     "1.3.6.1.2.1.2.2.1.5",
                                       "1.3.6.1.2.1.2.2.1.6",     "1.3.6.1.2.1.31.1.1.1.1",
                                       "1.3.6.1.2.1.31.1.1.1.15", "1.3.6.1.2.1.31.1.1.1.18",
                                       "1.3.6.1.2.1.31.1.1.1.6",  "1.3.6.1.2.1.31.1.1.1.13"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK(s_col(DISCOVERER_WALK_PORTS, want[i]) >= 0);
    CHECK(s_col(DISCOVERER_WALK_HOST, "1.3.6.1.2.1.25.3.3.1.2") >= 0);
    CHECK(s_col(DISCOVERER_WALK_HOST, "1.3.6.1.2.1.25.2.3.1.5") >= 0);
    CHECK(s_col(DISCOVERER_WALK_SYSTEM, "1.3.6.1.2.1.1.6") >= 0);
}

DP_TEST(discoverer_ports_take_system)
{
    discoverer_inv_t inv = {0};
    netsnmp_variable_list v;
    oid zero[1] = {0};
    const discoverer_walkdef_t *d = discoverer_walkdef(DISCOVERER_WALK_SYSTEM);
    oid objid[] = {1, 3, 6, 1, 4, 1, 9, 1, 1208};
    s_var(&v, ASN_OBJECT_ID, objid, sizeof objid);
    discoverer_inv_take(&inv, d, s_col(DISCOVERER_WALK_SYSTEM, "1.3.6.1.2.1.1.2"), zero, 1, &v);
    s_var_free(&v);
    const char *descr = "Cisco IOS Software, C2960X Software, Version 15.2(7)E4";
    s_var(&v, ASN_OCTET_STR, descr, strlen(descr));
    discoverer_inv_take(&inv, d, s_col(DISCOVERER_WALK_SYSTEM, "1.3.6.1.2.1.1.1"), zero, 1, &v);
    s_var_free(&v);
    long ticks = 123456;
    s_var(&v, ASN_TIMETICKS, &ticks, sizeof ticks);
    discoverer_inv_take(&inv, d, s_col(DISCOVERER_WALK_SYSTEM, "1.3.6.1.2.1.1.3"), zero, 1, &v);
    s_var_free(&v);
    s_var(&v, ASN_OCTET_STR, "sw1", 3);
    discoverer_inv_take(&inv, d, s_col(DISCOVERER_WALK_SYSTEM, "1.3.6.1.2.1.1.5"), zero, 1, &v);
    s_var_free(&v);
    CHECK_EQ_STR(inv.sys_object_id, ".1.3.6.1.4.1.9.1.1208");
    CHECK_EQ_STR(inv.sys_descr, descr);
    CHECK_EQ_STR(inv.sys_name, "sw1");
    CHECK_EQ_INT(inv.uptime_cs, 123456);
    CHECK_EQ_INT(inv.have_sys, 1 | 2 | 4 | 16);
    discoverer_inv_free(&inv);
}

DP_TEST(discoverer_ports_take_ifmib)
{
    discoverer_inv_t inv = {0};
    const discoverer_walk_t P = DISCOVERER_WALK_PORTS;
    int c_descr = s_col(P, "1.3.6.1.2.1.2.2.1.2"), c_type = s_col(P, "1.3.6.1.2.1.2.2.1.3");
    int c_mtu = s_col(P, "1.3.6.1.2.1.2.2.1.4"), c_speed = s_col(P, "1.3.6.1.2.1.2.2.1.5");
    int c_mac = s_col(P, "1.3.6.1.2.1.2.2.1.6"), c_oper = s_col(P, "1.3.6.1.2.1.2.2.1.8");
    int c_name = s_col(P, "1.3.6.1.2.1.31.1.1.1.1"), c_high = s_col(P, "1.3.6.1.2.1.31.1.1.1.15");
    int c_alias = s_col(P, "1.3.6.1.2.1.31.1.1.1.18");
    int c_hcin = s_col(P, "1.3.6.1.2.1.31.1.1.1.6"), c_hcout = s_col(P, "1.3.6.1.2.1.31.1.1.1.10");
    int c_hcbc = s_col(P, "1.3.6.1.2.1.31.1.1.1.13");
    /* rows arrive column by column: index 3 before 1 in one column, and again in the next */
    s_take(&inv, P, c_descr, 3, ASN_OCTET_STR, "Gi0/3", 5);
    s_take(&inv, P, c_descr, 1, ASN_OCTET_STR, "Gi0/1", 5);
    s_take(&inv, P, c_descr, 2, ASN_OCTET_STR, "Vlan1", 5);
    s_take_int(&inv, P, c_type, 1, ASN_INTEGER, 6);
    s_take_int(&inv, P, c_type, 2, ASN_INTEGER, 136);
    s_take_int(&inv, P, c_mtu, 1, ASN_INTEGER, 9216);
    s_take_int(&inv, P, c_speed, 1, ASN_GAUGE, 4294967295L); /* saturated: 10G */
    s_take_int(&inv, P, c_speed, 2, ASN_GAUGE, 100000000);
    s_take_int(&inv, P, c_high, 1, ASN_GAUGE, 10000);
    s_take_int(&inv, P, c_high, 2, ASN_GAUGE, 0); /* ifHighSpeed 0: ifSpeed counts */
    static const u_char mac[6] = {0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01};
    s_take(&inv, P, c_mac, 1, ASN_OCTET_STR, mac, 6);
    s_take(&inv, P, c_mac, 2, ASN_OCTET_STR, "", 0);
    s_take_int(&inv, P, c_oper, 1, ASN_INTEGER, 1);
    s_take_int(&inv, P, c_oper, 3, ASN_INTEGER, 6);
    s_take(&inv, P, c_name, 1, ASN_OCTET_STR, "Gi0/1", 5);
    s_take(&inv, P, c_alias, 1, ASN_OCTET_STR, "uplink to core", 14);
    struct counter64 big = {.high = 1, .low = 5};
    s_take(&inv, P, c_hcin, 1, ASN_COUNTER64, &big, sizeof big);
    s_take(&inv, P, c_hcout, 1, ASN_COUNTER64, &big, sizeof big);
    s_take(&inv, P, c_hcbc, 1, ASN_COUNTER64, &big, sizeof big);
    s_take_int(&inv, P, c_hcin, 2, ASN_COUNTER, 5); /* a 32-bit value in an HC column: no */
    /* garbage: wrong index length and a wrong type are ignored */
    netsnmp_variable_list v;
    s_var(&v, ASN_OCTET_STR, "x", 1);
    oid two[2] = {1, 1};
    discoverer_inv_take(&inv, discoverer_walkdef(P), c_descr, two, 2, &v);
    discoverer_inv_take(&inv, discoverer_walkdef(P), c_mtu, two, 1, &v);
    discoverer_inv_take(&inv, discoverer_walkdef(P), 99, two, 1, &v);
    s_var_free(&v);

    CHECK_EQ_INT(inv.nports, 3);
    const discoverer_port_t *p1 = &inv.ports[0], *p2 = &inv.ports[1], *p3 = &inv.ports[2];
    CHECK_EQ_INT(p1->if_index, 1);
    CHECK_EQ_INT(p2->if_index, 2);
    CHECK_EQ_INT(p3->if_index, 3);
    CHECK_EQ_STR(p1->descr, "Gi0/1");
    CHECK_EQ_STR(p1->alias, "uplink to core");
    CHECK_EQ_INT(p1->mtu, 9216);
    CHECK_EQ_INT(p1->have & DISCOVERER_HAVE_MTU, DISCOVERER_HAVE_MTU);
    CHECK_EQ_INT(p2->have & DISCOVERER_HAVE_MTU, 0);
    CHECK(discoverer_port_speed(p1) == UINT64_C(10000000000));
    CHECK(discoverer_port_speed(p2) == UINT64_C(100000000));
    CHECK_EQ_INT(discoverer_port_speed(p3), 0);
    CHECK_EQ_STR(p1->mac, "00000c9ff001");
    CHECK_EQ_STR(p2->mac, "");
    CHECK_EQ_INT(p1->hc_mask,
                 DISCOVERER_HC_IN_OCTETS | DISCOVERER_HC_OUT_OCTETS | DISCOVERER_HC_OUT_BCAST);
    CHECK_EQ_INT(p2->hc_mask, 0);
    CHECK_EQ_INT(discoverer_inv_hc_ports(&inv), 1);
    CHECK_EQ_INT(p1->oper, 1);
    CHECK_EQ_INT(p3->oper, 6);
    CHECK_EQ_STR(dp_ifmib_status_name(p3->oper), "notPresent");
    char buf[16];
    CHECK_EQ_STR(dp_ifmib_type_name(p2->if_type, buf, sizeof buf), "l3ipvlan");

    /* reset keeps the buffer, forgets the rows */
    discoverer_inv_reset(&inv);
    CHECK_EQ_INT(inv.nports, 0);
    CHECK(inv.cap_ports > 0);
    discoverer_inv_free(&inv);
}

DP_TEST(discoverer_ports_take_host)
{
    discoverer_inv_t inv = {0};
    const discoverer_walk_t H = DISCOVERER_WALK_HOST;
    int c_load = s_col(H, "1.3.6.1.2.1.25.3.3.1.2"), c_dev = s_col(H, "1.3.6.1.2.1.25.3.2.1.3");
    int c_type = s_col(H, "1.3.6.1.2.1.25.2.3.1.2"), c_descr = s_col(H, "1.3.6.1.2.1.25.2.3.1.3");
    int c_units = s_col(H, "1.3.6.1.2.1.25.2.3.1.4"), c_size = s_col(H, "1.3.6.1.2.1.25.2.3.1.5");
    s_take_int(&inv, H, c_load, 196608, ASN_INTEGER, 12);
    s_take_int(&inv, H, c_load, 196609, ASN_INTEGER, 7);
    s_take(&inv, H, c_dev, 196608, ASN_OCTET_STR, "Intel Xeon", 10);
    oid disk[] = {1, 3, 6, 1, 2, 1, 25, 2, 1, 4};
    s_take(&inv, H, c_type, 31, ASN_OBJECT_ID, disk, sizeof disk);
    s_take(&inv, H, c_descr, 31, ASN_OCTET_STR, "/", 1);
    s_take_int(&inv, H, c_units, 31, ASN_INTEGER, 4096);
    s_take_int(&inv, H, c_size, 31, ASN_INTEGER, -1); /* 2^32-1 units: agents overflow */
    CHECK_EQ_INT(inv.nprocs, 2);
    CHECK_EQ_INT(inv.procs[1].index, 196609);
    CHECK_EQ_INT(inv.procs[1].load, 7);
    CHECK_EQ_INT(inv.ndevs, 1);
    CHECK_EQ_STR(inv.devs[0].descr, "Intel Xeon");
    CHECK_EQ_INT(inv.nstor, 1);
    CHECK_EQ_INT(inv.stor[0].type, 4);
    CHECK_EQ_STR(dp_ifmib_storage_type_name(inv.stor[0].type), "hrStorageFixedDisk");
    CHECK_EQ_STR(inv.stor[0].descr, "/");
    CHECK_EQ_INT(inv.stor[0].units, 4096);
    CHECK(inv.stor[0].size == UINT64_C(4294967295));
    CHECK_EQ_STR(dp_ifmib_storage_type_name(99), "hrStorageOther");
    discoverer_inv_free(&inv);
}

//  The ifHC bits must be the poller's, or each would flip the
//  other's column on every run.
DP_TEST(discoverer_ports_agree_with_poller)
{
    CHECK_EQ_INT(DISCOVERER_HC_IN_OCTETS, 1u << POLLER_CTR_IN_OCTETS);
    CHECK_EQ_INT(DISCOVERER_HC_OUT_OCTETS, 1u << POLLER_CTR_OUT_OCTETS);
    CHECK_EQ_INT(DISCOVERER_HC_IN_UCAST, 1u << POLLER_CTR_IN_UCAST);
    CHECK_EQ_INT(DISCOVERER_HC_OUT_UCAST, 1u << POLLER_CTR_OUT_UCAST);
    CHECK_EQ_INT(DISCOVERER_HC_IN_MCAST, 1u << POLLER_CTR_IN_MCAST);
    CHECK_EQ_INT(DISCOVERER_HC_OUT_MCAST, 1u << POLLER_CTR_OUT_MCAST);
    CHECK_EQ_INT(DISCOVERER_HC_IN_BCAST, 1u << POLLER_CTR_IN_BCAST);
    CHECK_EQ_INT(DISCOVERER_HC_OUT_BCAST, 1u << POLLER_CTR_OUT_BCAST);
}

//  Both daemons write ifType/status/storage text through dp_ifmib, so one table decides it.
DP_TEST(ifmib_names)
{
    char buf[16];
    CHECK_EQ_STR(dp_ifmib_type_name(6, buf, sizeof buf), "ethernetCsmacd");
    CHECK_EQ_STR(dp_ifmib_type_name(161, buf, sizeof buf), "ieee8023adLag");
    CHECK_EQ_STR(dp_ifmib_type_name(999, buf, sizeof buf), "999");
    CHECK(dp_ifmib_status_name(0) == NULL);
    CHECK_EQ_STR(dp_ifmib_status_name(1), "up");
    CHECK_EQ_STR(dp_ifmib_status_name(7), "lowerLayerDown");
    CHECK(dp_ifmib_status_name(8) == NULL);
    CHECK_EQ_STR(dp_ifmib_storage_type_name(4), "hrStorageFixedDisk");
    CHECK_EQ_STR(dp_ifmib_storage_type_name(10), "hrStorageNetworkDisk");
    CHECK_EQ_STR(dp_ifmib_storage_type_name(11), "hrStorageOther");
}

DP_TEST(discoverer_ports_text)
{
    char s[64];
    snprintf(s, sizeof s, "ok \xc3\xa9t\xc3\xa9 \xff\xfe bad\x01\tx  ");
    discoverer_text_clean(s);
    CHECK_EQ_STR(s, "ok \xc3\xa9t\xc3\xa9 ?? bad? x");
    snprintf(s, sizeof s, "\xe2\x82"); /* truncated sequence */
    discoverer_text_clean(s);
    CHECK_EQ_STR(s, "??");
    char mac[DISCOVERER_MAC_TEXT];
    static const uint8_t m[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
    discoverer_mac_text(m, sizeof m, mac, sizeof mac);
    CHECK_EQ_STR(mac, "deadbeef0001");
    discoverer_mac_text(m, sizeof m, mac, 6);
    CHECK_EQ_STR(mac, "dead");
    char o[16];
    oid id[] = {1, 3, 6, 1, 4, 1, 8072};
    discoverer_oid_text(id, 7, o, sizeof o);
    CHECK_EQ_STR(o, ".1.3.6.1.4.1"); /* never a cut sub-id */
    discoverer_oid_text(id, 3, o, sizeof o);
    CHECK_EQ_STR(o, ".1.3.6");
}

static discoverer_port_t s_port(uint32_t idx)
{
    discoverer_port_t p;
    memset(&p, 0, sizeof p);
    p.if_index = idx;
    return p;
}

DP_TEST(discoverer_ports_diff_rows)
{
    /* DB: 1 live, 2 deleted, 3 live, 5 live, 7 deleted; walked now: 1, 2, 4, 5 */
    discoverer_known_t known[] = {
        {1, 10, false}, {2, 11, true}, {3, 12, false}, {5, 13, false}, {7, 14, true}};
    discoverer_port_t walked[] = {s_port(1), s_port(2), s_port(4), s_port(5)};
    bool gone[5];
    memset(gone, 1, sizeof gone);
    discoverer_diff_t d;
    discoverer_ports_diff(known, 5, walked, 4, gone, &d);
    CHECK_EQ_INT(d.added, 1);     /* 4 */
    CHECK_EQ_INT(d.undeleted, 1); /* 2 comes back */
    CHECK_EQ_INT(d.updated, 2);   /* 1, 5 */
    CHECK_EQ_INT(d.deleted, 1);   /* 3 vanished */
    CHECK(!gone[0] && !gone[1] && gone[2] && !gone[3]);
    CHECK(!gone[4]); /* already deleted: not counted again */

    /* first discovery: everything new; an empty walk deletes every live row */
    discoverer_ports_diff(NULL, 0, walked, 4, gone, &d);
    CHECK_EQ_INT(d.added, 4);
    CHECK_EQ_INT(d.deleted + d.updated + d.undeleted, 0);
    discoverer_ports_diff(known, 5, NULL, 0, gone, &d);
    CHECK_EQ_INT(d.deleted, 3);
    CHECK_EQ_INT(d.added, 0);
}
