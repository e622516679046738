/*  test_discoverer_os.c - OS detection rules: the shipped discoverer/os-rules.conf against real
    sysObjectID / sysDescr pairs, "most specific first" ordering, matching semantics, parse
    errors that name the line, and reference counting.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../discoverer/discoverer_os.h"

#include <stdio.h>

typedef struct {
    const char *objid;
    const char *descr;
    const char *os;
} s_case_t;

/* sysObjectID / sysDescr pairs as real agents answer them. */
static const s_case_t s_cases[] = {
    {".1.3.6.1.4.1.8072.3.2.10",
     "Linux web01 5.10.0-28-amd64 #1 SMP Debian 5.10.209-2 (2024-01-31) x86_64", "linux"},
    {".1.3.6.1.4.1.8072.3.2.10", "Linux dpsim 1.0 synthetic ports=24 hc=1", "linux"},
    {NULL, "Linux nas 4.4.302+ #72806 SMP Thu Sep 5 13:44:21 CST 2024 x86_64", "linux"},
    {".1.3.6.1.4.1.311.1.1.3.1.2",
     "Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows "
     "Version 6.3 (Build 17763 Multiprocessor Free)",
     "windows"},
    {".1.3.6.1.4.1.311.1.1.3.1.1",
     "Hardware: AMD64 Family 23 Model 113 - Software: Windows Version 6.3 (Build 19045 "
     "Multiprocessor Free)",
     "windows"},
    {".1.3.6.1.4.1.9.1.1208",
     "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, RELEASE "
     "SOFTWARE (fc2)\r\nTechnical Support: http://www.cisco.com/techsupport\r\nCopyright (c) "
     "1986-2021 by Cisco Systems, Inc.",
     "ios"},
    {".1.3.6.1.4.1.9.1.516",
     "Cisco Internetwork Operating System Software \r\nIOS (tm) C3750 Software "
     "(C3750-IPSERVICESK9-M), Version 12.2(25)SEE2, RELEASE SOFTWARE (fc1)",
     "ios"},
    {".1.3.6.1.4.1.9.1.2494",
     "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.3.4, "
     "RELEASE SOFTWARE (fc3)",
     "iosxe"},
    {".1.3.6.1.4.1.9.1.1745",
     "Cisco IOS Software, IOS-XE Software, Catalyst 4500 L3 Switch Software "
     "(cat4500es8-UNIVERSALK9-M), Version 03.06.06.E RELEASE SOFTWARE (fc1)",
     "iosxe"},
    {".1.3.6.1.4.1.9.1.2068",
     "Cisco IOS XE Software, Version 16.09.05\nCisco IOS Software [Fuji], ISR Software "
     "(X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 16.9.5, RELEASE SOFTWARE (fc1)",
     "iosxe"},
    {".1.3.6.1.4.1.9.12.3.1.3.1812",
     "Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(8), RELEASE SOFTWARE Copyright (c) "
     "2002-2021 by Cisco Systems, Inc.",
     "nxos"},
    {".1.3.6.1.4.1.9.12.3.1.3.1084",
     "Cisco NX-OS(tm) n5000, Software (n5000-uk9), Version 7.3(8)N1(1), RELEASE SOFTWARE", "nxos"},
    {".1.3.6.1.4.1.2636.1.1.1.2.25",
     "Juniper Networks, Inc. mx480 internet router, kernel JUNOS 18.4R3-S4.2, Build date: "
     "2020-07-24 19:20:32 UTC Copyright (c) 1996-2020 Juniper Networks, Inc.",
     "junos"},
    {".1.3.6.1.4.1.2636.1.1.1.2.63",
     "Juniper Networks, Inc. ex4300-48t Ethernet Switch, kernel JUNOS 20.4R3-S2.6, Build date: "
     "2022-03-24 02:16:56 UTC",
     "junos"},
    {".1.3.6.1.4.1.30065.1.3011.7048.427.3648",
     "Arista Networks EOS version 4.24.2F running on an Arista Networks DCS-7048T-A", "arista_eos"},
    {".1.3.6.1.4.1.11.2.3.7.11.181.13",
     "Aruba JL258A 2930F-8G-PoE+-2SFP+ Switch, revision WC.16.10.0009, ROM WC.16.01.0008 "
     "(/ws/swbuildm/rel_ukiah_qaoff/code/build/bom(swbuildm_rel_ukiah_qaoff_rel_ukiah))",
     "procurve"},
    {".1.3.6.1.4.1.11.2.3.7.11.51",
     "ProCurve J8697A Switch 5406zl, revision K.15.10.0009, ROM K.15.19 "
     "(/sw/code/build/btm(K_15_10))",
     "procurve"},
    {".1.3.6.1.4.1.47196.4.1.1.1.100", "ArubaOS-CX Version FL.10.06.0110", "arubaos-cx"},
    {".1.3.6.1.4.1.14988.1", "RouterOS CCR1036-12G-4S", "routeros"},
    {".1.3.6.1.4.1.14988.1", "RouterOS RB4011iGS+", "routeros"},
    {".1.3.6.1.4.1.8072.3.2.8",
     "FreeBSD fw1.example.net 13.2-RELEASE-p4 FreeBSD 13.2-RELEASE-p4 GENERIC amd64", "freebsd"},
    {".1.3.6.1.4.1.12325.1.1.2.1.1", "FreeBSD nas.example.net 12.4-RELEASE FreeBSD 12.4-RELEASE",
     "freebsd"},
    {".1.3.6.1.4.1.99999.1", "Acme Widget 3000", "generic"},
    {".1.3.6.1.4.1.99.1", "Cisco look-alike", "generic"}, /* 9 is not a prefix of 99 */
    {NULL, NULL, "generic"},
};

static discoverer_os_rules_t *s_shipped(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../../discoverer/os-rules.conf", dp_test_data_dir());
    dp_err_t err = {0};
    discoverer_os_rules_t *r = discoverer_os_load(path, &err);
    if (!r)
        dp_test_fail(__FILE__, __LINE__, "load %s: %s", path, err.text);
    return r;
}

DP_TEST(discoverer_os_shipped_rules)
{
    discoverer_os_rules_t *r = s_shipped();
    CHECK(r != NULL);
    CHECK(discoverer_os_count(r) >= 20);
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        discoverer_os_match_t m;
        discoverer_os_detect(r, s_cases[i].objid, s_cases[i].descr, &m);
        if (strcmp(m.os, s_cases[i].os) != 0) {
            dp_test_fail(__FILE__, __LINE__, "case %zu (%s): got %s (line %d), want %s", i,
                         s_cases[i].objid ? s_cases[i].objid : "-", m.os, m.line, s_cases[i].os);
            break;
        }
        CHECK(m.fallback == (strcmp(s_cases[i].os, "generic") == 0));
        CHECK(m.name && *m.name);
    }
    discoverer_os_match_t m;
    discoverer_os_detect(r, ".1.3.6.1.4.1.99999.1", "x", &m);
    CHECK_EQ_STR(m.name, "Unknown SNMP device");
    CHECK(m.line > 0); /* the file's fallback rule, not the built-in one */
    discoverer_os_unref(&r);
    CHECK(r == NULL);
}

static discoverer_os_rules_t *s_parse(const char *text)
{
    dp_err_t err = {0};
    discoverer_os_rules_t *r = discoverer_os_parse(text, "rules", &err);
    if (!r)
        dp_test_fail(__FILE__, __LINE__, "parse: %s", err.text);
    return r;
}

static const char *s_os(const discoverer_os_rules_t *r, const char *objid, const char *descr)
{
    discoverer_os_match_t m;
    discoverer_os_detect(r, objid, descr, &m);
    return m.os;
}

DP_TEST(discoverer_os_most_specific_first)
{
    /* written least specific first: file order must not decide */
    discoverer_os_rules_t *r = s_parse("# comment\n"
                                       "\n"
                                       "os=anyfoo sysDescr=\"Foo\"\n"
                                       "os=vendor sysObjectID=1.3.6.1.4.1.777\n"
                                       "os=vendor-x sysObjectID=1.3.6.1.4.1.777 sysDescr=\"X\"\n"
                                       "os=model sysObjectID=1.3.6.1.4.1.777.1.5.\n"
                                       "os=vendor-nox sysObjectID=1.3.6.1.4.1.777 "
                                       "sysDescr=\"X\" sysDescr!=\"NoX\"\n");
    CHECK(r != NULL);
    CHECK_EQ_INT(discoverer_os_count(r), 5);
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.777.1.5.9", "Foo X"), "model");    /* longest OID */
    CHECK_EQ_STR(s_os(r, "1.3.6.1.4.1.777.1.5", "Foo"), "model");         /* the OID itself */
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.777.2", "Foo X"), "vendor-nox");   /* negation counts */
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.777.2", "Foo X NoX"), "vendor-x"); /* negation fails */
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.777.2", "Foo"), "vendor");
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.7770.2", "Foo"), "anyfoo"); /* whole sub-ids only */
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.778", "Bar"), "generic");   /* built-in fallback */
    discoverer_os_match_t m;
    discoverer_os_detect(r, NULL, "Bar", &m);
    CHECK(m.fallback);
    CHECK_EQ_INT(m.line, 0);
    discoverer_os_detect(r, ".1.3.6.1.4.1.777.1.5.1", "", &m);
    CHECK_EQ_INT(m.line, 6); /* the rule's line in the text */
    discoverer_os_unref(&r);

    /* equal specificity: file order */
    r = s_parse("os=first sysDescr=\"A\"\nos=second sysDescr=\"A\"\n");
    CHECK_EQ_STR(s_os(r, NULL, "A"), "first");
    discoverer_os_unref(&r);
}

DP_TEST(discoverer_os_match_semantics)
{
    discoverer_os_rules_t *r = s_parse("os=re sysDescr~\"^acme os [0-9]+\"\n"
                                       "os=re2 name=\"Regex two\" sysDescr=~\"widget|gadget\" "
                                       "sysDescr!~\"broken\"\n"
                                       "os=sub sysDescr=\"Exact Case\"\n"
                                       "os=notoid sysObjectID!=1.3.6.1.4.1.5 sysDescr=\"zzz\"\n"
                                       "os=other name=\"Other \\\"quoted\\\"\" fallback\n");
    CHECK(r != NULL);
    CHECK_EQ_STR(s_os(r, NULL, "ACME OS 12 build"), "re"); /* regex ignores case */
    CHECK_EQ_STR(s_os(r, NULL, "my acme os 12"), "other"); /* anchored */
    CHECK_EQ_STR(s_os(r, NULL, "Gadget v2"), "re2");
    CHECK_EQ_STR(s_os(r, NULL, "gadget (broken)"), "other");
    CHECK_EQ_STR(s_os(r, NULL, "has Exact Case here"), "sub");
    CHECK_EQ_STR(s_os(r, NULL, "has exact case here"), "other"); /* substring is case-sensitive */
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.6.1", "zzz"), "notoid");
    CHECK_EQ_STR(s_os(r, NULL, "zzz"), "notoid"); /* unknown sysObjectID is "not under" */
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.5.1", "zzz"), "other");
    discoverer_os_match_t m;
    discoverer_os_detect(r, NULL, "nothing", &m);
    CHECK_EQ_STR(m.name, "Other \"quoted\"");
    CHECK(m.fallback);
    discoverer_os_detect(r, NULL, "widget", &m);
    CHECK_EQ_STR(m.name, "Regex two");
    discoverer_os_detect(r, NULL, "x", &m);
    CHECK(m.fallback);

    /* shared between holders: the last unref frees */
    discoverer_os_rules_t *r2 = discoverer_os_ref(r);
    CHECK(r2 == r);
    discoverer_os_unref(&r);
    CHECK_EQ_STR(s_os(r2, NULL, "widget"), "re2");
    discoverer_os_unref(&r2);
    discoverer_os_unref(&r2); /* NULL-safe */
    discoverer_os_detect(NULL, ".1.3", "x", &m);
    CHECK_EQ_STR(m.os, "generic");
}

DP_TEST(discoverer_os_parse_errors)
{
    static const struct {
        const char *text;
        const char *want; /* substring of the error */
    } bad[] = {
        {"os=a sysDescr=\"x\"\nos=b colour=red\n", "rules:2: unknown key"},
        {"sysDescr=\"x\"\n", "rules:1: rule without os="},
        {"os=a sysDescr~\"(unclosed\"\n", "rules:1: sysDescr: bad regex"},
        {"os=a sysObjectID=1.3.x.6\n", "rules:1: sysObjectID: expected a dotted numeric OID"},
        {"os=a sysObjectID~\"1.3\"\n", "not a regex"},
        {"os=a fallback sysDescr=\"x\"\n", "a fallback rule takes no conditions"},
        {"os=a fallback\nos=b fallback\n", "rules:2: a second fallback rule"},
        {"os=a sysDescr=\"unterminated\n", "rules:1: unterminated quoted value"},
        {"os=a\n", "rule without conditions"},
        {"os=Bad_Upper sysDescr=x\n", "os: expected 1-32 chars"},
        {"os=a sysDescr=\"\"\n", "sysDescr: empty pattern"},
        {"os=a sysDescr=\"x\"y\n", "expected a space after the closing quote"},
        {"os=a bogus\n", "expected key=value"},
        {"os=a sysDescr=\"1\" sysDescr=\"2\" sysDescr=\"3\" sysDescr=\"4\" sysDescr=\"5\" "
         "sysDescr=\"6\" sysDescr=\"7\" sysDescr=\"8\" sysDescr=\"9\"\n",
         "too many conditions"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dp_err_t err = {0};
        discoverer_os_rules_t *r = discoverer_os_parse(bad[i].text, "rules", &err);
        if (r || err.code != DP_ERR_CONFIG || !strstr(err.text, bad[i].want)) {
            dp_test_fail(__FILE__, __LINE__, "case %zu: got %s \"%s\", want \"%s\"", i,
                         r ? "a rule set" : "error", err.text, bad[i].want);
            discoverer_os_unref(&r);
            return;
        }
    }
    dp_err_t err = {0};
    CHECK(discoverer_os_load("/nonexistent/os-rules.conf", &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_NOTFOUND);
    CHECK(strstr(err.text, "/nonexistent/os-rules.conf") != NULL);
    /* an empty file is valid: everything is generic */
    discoverer_os_rules_t *r = s_parse("# nothing\n");
    CHECK_EQ_INT(discoverer_os_count(r), 0);
    CHECK_EQ_STR(s_os(r, ".1.3.6.1.4.1.9.1.1", "Cisco IOS Software"), "generic");
    discoverer_os_unref(&r);
}
