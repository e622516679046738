/*  test_sim.c - dpsim modules: snmprec parsing (hex, gzip), OID tree lookup, counter
    math and wraps, fault rules, and whole request/reply round trips through
    sim_pdu_answer encoded and decoded with net-snmp.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../simulator/sim_counter.h"
#include "../../simulator/sim_fault.h"
#include "../../simulator/sim_pdu.h"
#include "../../simulator/sim_snmprec.h"
#include "../../simulator/sim_synth.h"
#include "../../simulator/sim_world.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include <net-snmp/library/snmp.h>
#include <net-snmp/library/snmp_api.h>
#include <net-snmp/library/snmp_impl.h>

#define T_NOW   1800000000000LL
#define T_EPOCH 1700000000000LL
#define T_DEV   0x7f000107u /* 127.0.1.7 */
#define T_BUF   65536

static const oid t_sysname[] = {1, 3, 6, 1, 2, 1, 1, 5, 0};
static const oid t_hcin[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6};
static const oid t_hcout[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10};
static const oid t_oper[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 8};
static const oid t_ifdescr[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 2};
#define T_LEN(a) (sizeof(a) / sizeof((a)[0]))

static sim_profile_t *s_load(const char *name, dp_err_t *err)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/snmprec/%s", dp_test_data_dir(), name);
    return sim_snmprec_load(path, err);
}

static const sim_entry_t *s_find(const sim_profile_t *p, const char *text)
{
    oid name[SIM_OID_MAX];
    int n = sim_oid_parse(text, name, SIM_OID_MAX);
    long k = n > 0 ? sim_profile_find(p, name, (size_t)n) : -1;
    return k >= 0 ? &p->entries[k] : NULL;
}

/* Encodes a request with net-snmp: the PDU with snmp_pdu_build, then the v1/v2c
   message header. Returns the length. */
static size_t s_request(u_char *out, long version, const char *community, int command, long nonrep,
                        long maxrep, const oid *const *names, const size_t *lens, int n)
{
    netsnmp_pdu *pdu = snmp_pdu_create(command);
    pdu->version = version;
    pdu->reqid = 4242;
    if (command == SNMP_MSG_GETBULK) {
        pdu->non_repeaters = nonrep;
        pdu->max_repetitions = maxrep;
    }
    for (int i = 0; i < n; i++)
        snmp_add_null_var(pdu, names[i], lens[i]);
    u_char body[T_BUF], head[256];
    size_t bl = sizeof(body), hl = sizeof(head);
    u_char *e = snmp_pdu_build(pdu, body, &bl);
    size_t pdulen = e ? (size_t)(e - body) : 0;
    snmp_free_pdu(pdu);
    u_char *h = asn_build_int(head, &hl, ASN_INTEGER, &version, sizeof(long));
    h = asn_build_string(h, &hl, ASN_OCTET_STR, (const u_char *)community, strlen(community));
    size_t headlen = (size_t)(h - head), left = T_BUF;
    u_char *p = asn_build_sequence(out, &left, ASN_SEQUENCE | ASN_CONSTRUCTOR, headlen + pdulen);
    memcpy(p, head, headlen);
    memcpy(p + headlen, body, pdulen);
    return 4 + headlen + pdulen;
}

/* Decodes a reply with net-snmp; NULL if it does not parse. Free with snmp_free_pdu. */
static netsnmp_pdu *s_reply(u_char *buf, size_t len)
{
    u_char community[128];
    size_t clen = sizeof(community);
    long version;
    u_char *data = snmp_comstr_parse(buf, &len, community, &clen, &version);
    if (!data)
        return NULL;
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
    if (snmp_pdu_parse(pdu, data, &len) != 0 || pdu->command != SNMP_MSG_RESPONSE) {
        snmp_free_pdu(pdu);
        return NULL;
    }
    return pdu;
}

static int s_count_vars(const netsnmp_pdu *pdu)
{
    int n = 0;
    for (netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable)
        n++;
    return n;
}

/* One round trip against a world; returns the decoded reply or NULL (no reply). */
static netsnmp_pdu *s_ask(sim_world_t *w, uint32_t dst, long version, int command, long nonrep,
                          long maxrep, const oid *const *names, const size_t *lens, int n,
                          sim_answer_t *ans)
{
    static u_char req[T_BUF], out[T_BUF];
    sim_pdu_ctx_t *ctx = sim_pdu_ctx_new();
    size_t rl = s_request(req, version, "public", command, nonrep, maxrep, names, lens, n);
    size_t len = sim_pdu_answer(ctx, w, dst, req, rl, out, sizeof(out), T_NOW, ans);
    sim_pdu_ctx_destroy(&ctx);
    return len ? s_reply(out, len) : NULL;
}

static sim_world_t *s_world(const char *profile, const char *fault)
{
    sim_world_t *w = sim_world_new(1, T_EPOCH, T_NOW - 1000);
    if (sim_world_add_profile(w, profile, NULL, NULL) != 0)
        abort();
    if (fault) {
        sim_faults_t *f = sim_faults_new(1);
        if (sim_faults_add(f, fault, T_NOW - 500, NULL, NULL) != 0)
            abort();
        sim_world_set_faults(w, &f);
    }
    return w;
}

DP_TEST(sim_snmprec_parses_types_hex_and_sorts)
{
    dp_err_t err = {0};
    sim_profile_t *p = s_load("router.snmprec", &err);
    CHECK(p != NULL);
    CHECK_EQ_INT(p->count, 26); /* 27 records, one duplicate dropped */
    for (size_t i = 1; i < p->count; i++)
        CHECK(snmp_oid_compare(p->entries[i - 1].name, p->entries[i - 1].name_len,
                               p->entries[i].name, p->entries[i].name_len) < 0);
    const sim_entry_t *e = s_find(p, "1.3.6.1.2.1.1.5.0");
    CHECK(e && e->type == ASN_OCTET_STR && e->bytes_len == 10);
    CHECK(memcmp(e->bytes, "rec-router", 10) == 0); /* first of the duplicates wins */
    e = s_find(p, "1.3.6.1.2.1.1.1.0");
    CHECK(e && e->bytes_len == 9 && memcmp(e->bytes, "Cisco IOS", 9) == 0); /* 4x */
    e = s_find(p, "1.3.6.1.2.1.2.2.1.6.2");
    CHECK(e && e->bytes_len == 6 && e->bytes[0] == 0 && e->bytes[5] == 0x02 && e->bytes[3] == 0x9f);
    CHECK_EQ_INT(e->port, 2);
    e = s_find(p, "1.3.6.1.2.1.4.20.1.1.10.0.0.2");
    CHECK(e && e->type == ASN_IPADDRESS && e->bytes_len == 4 && e->bytes[0] == 10 &&
          e->bytes[3] == 2); /* 64x */
    e = s_find(p, "1.3.6.1.2.1.4.20.1.1.10.0.0.1");
    CHECK(e && e->type == ASN_IPADDRESS && e->bytes[0] == 10 && e->bytes[3] == 1);
    e = s_find(p, "1.3.6.1.4.1.9.9.999.1.0"); /* 6x: hex of "1.3.6.1.4.1.9" */
    CHECK(e && e->type == ASN_OBJECT_ID && e->bytes_len == 7 * sizeof(oid));
    CHECK_EQ_INT(((const oid *)e->bytes)[6], 9);
    e = s_find(p, "1.3.6.1.4.1.9.9.999.2.0");
    CHECK(e && e->type == ASN_INTEGER && e->num == -42);
    e = s_find(p, "1.3.6.1.4.1.9.9.999.3.0");
    CHECK(e && e->type == ASN_NULL);
    e = s_find(p, "1.3.6.1.2.1.31.1.1.1.6.1");
    CHECK(e && e->type == ASN_COUNTER64 && e->kind == SIM_VAL_COUNTER && e->has_base);
    CHECK_EQ_INT(e->ctr, SIM_CTR_IN_OCTETS);
    CHECK((uint64_t)e->num == 18446744073709551000ULL);
    sim_profile_destroy(&p);
    CHECK(p == NULL);
}

DP_TEST(sim_snmprec_reads_gzip)
{
    dp_err_t err = {0};
    sim_profile_t *p = s_load("router-gz.snmprec.gz", &err);
    CHECK(p != NULL);
    CHECK_EQ_INT(p->count, 26);
    const sim_entry_t *e = s_find(p, "1.3.6.1.2.1.1.5.0");
    CHECK(e && e->bytes_len == 9 && memcmp(e->bytes, "gz-router", 9) == 0);
    sim_profile_destroy(&p);
    CHECK(s_load("missing.snmprec", &err) == NULL);
    CHECK_CONTAINS(err.text, "missing.snmprec");
}

DP_TEST(sim_snmprec_rejects_bad_lines)
{
    sim_profile_t *p = sim_profile_new("t");
    dp_err_t err = {0};
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "\n", &err), 0);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "# comment|4|x\n", &err), 0);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6.1|4|ok\r\n", &err), 1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6.1.2|2:numeric|7", &err), 1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6.1|4", &err), -1);
    CHECK_CONTAINS(err.text, "OID|TAG|VALUE");
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.x.1|4|a", &err), -1);
    CHECK_CONTAINS(err.text, "bad OID");
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|4x|abc", &err), -1);
    CHECK_CONTAINS(err.text, "hex");
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|2|12z", &err), -1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|65|-1", &err), -1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|66|4294967296", &err), -1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|64|300.1.1.1", &err), -1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|64x|0a00", &err), -1);
    CHECK_EQ_INT(sim_snmprec_parse_line(p, "1.3.6|99|1", &err), -1);
    CHECK_CONTAINS(err.text, "tag");
    CHECK_EQ_INT(p->count, 2);
    u_char b[8];
    CHECK_EQ_INT(sim_hex_decode("0x0A:ff", 7, b, sizeof(b)), 2);
    CHECK(b[0] == 0x0a && b[1] == 0xff);
    CHECK_EQ_INT(sim_hex_decode("abc", 3, b, sizeof(b)), -1);
    CHECK_EQ_INT(sim_hex_decode("00112233445566778899", 20, b, sizeof(b)), -1);
    sim_profile_destroy(&p);
}

DP_TEST(sim_profile_lookup_and_next_at_end)
{
    sim_profile_t *p = sim_synth_new("ports=4,hc=1,cpus=1,storage=1", NULL);
    CHECK(p != NULL);
    CHECK(sim_profile_find(p, t_sysname, T_LEN(t_sysname)) >= 0);
    CHECK_EQ_INT(sim_profile_find(p, t_hcin, T_LEN(t_hcin)), -1); /* a column, no instance */
    size_t i = sim_profile_next(p, t_hcin, T_LEN(t_hcin));
    CHECK(i < p->count);
    oid first[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1};
    CHECK_EQ_INT(snmp_oid_compare(p->entries[i].name, p->entries[i].name_len, first, 12), 0);
    CHECK(sim_profile_has_subtree(p, t_hcin, T_LEN(t_hcin)));
    oid none[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 99};
    CHECK(!sim_profile_has_subtree(p, none, 11));
    const sim_entry_t *last = &p->entries[p->count - 1];
    CHECK_EQ_INT(sim_profile_next(p, last->name, last->name_len), p->count);
    oid after[] = {2};
    CHECK_EQ_INT(sim_profile_next(p, after, 1), p->count);
    oid before[] = {0};
    CHECK_EQ_INT(sim_profile_next(p, before, 1), 0);
    sim_profile_destroy(&p);
    sim_profile_t *no_hc = sim_synth_new("ports=4,hc=0", NULL);
    i = sim_profile_next(no_hc, t_hcin, T_LEN(t_hcin));
    CHECK(i < no_hc->count);
    CHECK(snmp_oid_compare(no_hc->entries[i].name, 11, t_hcin, 11) != 0); /* no HC column */
    sim_profile_destroy(&no_hc);
}

DP_TEST(sim_counter_wrap_math)
{
    CHECK_EQ_INT(sim_counter_wrap((1ULL << 32) + 5, 32), 5);
    CHECK(sim_counter_wrap(UINT64_MAX, 64) == UINT64_MAX);
    /* 2^64 wrap: 10 below the top, +20 units */
    CHECK_EQ_INT(sim_counter_advance(UINT64_MAX - 9, 1000, 20), 10);
    /* 2^32 wrap of the 32-bit view of the same counter */
    uint64_t v = sim_counter_advance(0xfffffff0ULL, 1000, 32);
    CHECK_EQ_INT(sim_counter_wrap(v, 32), 0x10);
    CHECK(v == 0x100000010ULL);
    /* floor semantics and exactness for large products */
    CHECK_EQ_INT(sim_counter_advance(0, 3, 999), 2);
    CHECK_EQ_INT(sim_counter_advance(7, 3, -5), 7);
    uint64_t rate = 1250000000ULL;
    int64_t dt = 100000000000LL + 777;
    unsigned __int128 exact = (unsigned __int128)rate * (uint64_t)dt / 1000;
    CHECK(sim_counter_advance(42, rate, dt) == (uint64_t)(42 + exact));
}

DP_TEST(sim_counter_rates_are_deterministic)
{
    sim_ctr_key_t k = {1, 0x107, 3, SIM_CTR_IN_OCTETS, 1000000000ULL};
    uint64_t r = sim_counter_rate(&k);
    CHECK(r >= 125000 && r <= 50 * 125000);
    CHECK(sim_counter_rate(&k) == r);
    CHECK(sim_counter_base(&k) == sim_counter_base(&k));
    sim_ctr_key_t other = k;
    other.port = 4;
    CHECK(sim_counter_base(&other) != sim_counter_base(&k));
    int bits, table, column;
    CHECK_EQ_INT(sim_counter_kind_by_name("ifHCOutOctets", &bits, &table, &column),
                 SIM_CTR_OUT_OCTETS);
    CHECK(bits == 64 && table == 31 && column == 10);
    CHECK_EQ_INT(sim_counter_kind_by_name("ifNope", &bits, &table, &column), SIM_CTR_NONE);
}

DP_TEST(sim_synth_counters_32_and_64_agree)
{
    sim_profile_t *p = sim_synth_new("ports=2,speed=10G/100M", NULL);
    sim_dev_t d = {.addr = T_DEV, .id = T_DEV & 0xffffff, .seed = 1, .epoch_ms = T_EPOCH};
    const sim_entry_t *in32 = s_find(p, "1.3.6.1.2.1.2.2.1.10.2");
    const sim_entry_t *in64 = s_find(p, "1.3.6.1.2.1.31.1.1.1.6.2");
    CHECK(in32 && in64);
    CHECK(in64->speed_bps == 100000000ULL);
    sim_value_t a, b;
    sim_value_eval(in32, &d, T_NOW, &a);
    sim_value_eval(in64, &d, T_NOW, &b);
    CHECK(a.type == ASN_COUNTER && b.type == ASN_COUNTER64);
    CHECK_EQ_INT(a.ul, b.c64.low);
    sim_ctr_key_t k = {1, d.id, 2, SIM_CTR_IN_OCTETS, 100000000ULL};
    uint64_t want =
        sim_counter_advance(sim_counter_base(&k), sim_counter_rate(&k), T_NOW - T_EPOCH);
    CHECK(((uint64_t)b.c64.high << 32 | b.c64.low) == want);
    CHECK_EQ_INT(sim_value_rate(in64, &d), sim_counter_rate(&k));
    d.reboot_ms = T_NOW - 2000; /* after a reboot: rate * elapsed from 0 */
    sim_value_eval(in64, &d, T_NOW, &b);
    CHECK(((uint64_t)b.c64.high << 32 | b.c64.low) == sim_counter_rate(&k) * 2);
    const sim_entry_t *speed = s_find(p, "1.3.6.1.2.1.2.2.1.5.1");
    CHECK(speed && speed->num == 4294967295LL); /* 10G saturates ifSpeed */
    CHECK(s_find(p, "1.3.6.1.2.1.31.1.1.1.15.1")->num == 10000);
    sim_profile_destroy(&p);
    dp_err_t err = {0};
    CHECK(sim_synth_new("ports=x", &err) == NULL);
    CHECK_CONTAINS(err.text, "ports");
    CHECK(sim_synth_new("speed=1Q", &err) == NULL);
    CHECK(sim_synth_new("bogus", &err) == NULL);
}

DP_TEST(sim_fault_rules_parse_and_match)
{
    sim_faults_t *f = sim_faults_new(7);
    dp_err_t err = {0};
    CHECK_EQ_INT(sim_faults_add(f, "127.0.1.0/24=timeout", 0, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "127.0.2.5=slow:1500ms", 0, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "127.0.2.5=slow:2s", 0, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "127.0.2.5=port-vanish:3", 0, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "127.0.2.5=reboot", 5000, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "frac:0.25=malformed", 0, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "all=toobig:50", 0, NULL, &err), 0);
    CHECK_EQ_INT(sim_faults_add(f, "127.0.2.5", 0, NULL, &err), -1);
    CHECK_CONTAINS(err.text, "SELECTOR=ACTION");
    CHECK_EQ_INT(sim_faults_add(f, "127.0.2.300=timeout", 0, NULL, &err), -1);
    CHECK_EQ_INT(sim_faults_add(f, "frac:1.5=timeout", 0, NULL, &err), -1);
    CHECK_EQ_INT(sim_faults_add(f, "all=explode", 0, NULL, &err), -1);
    CHECK_CONTAINS(err.text, "bad action");
    CHECK_EQ_INT(sim_faults_add(f, "all=slow:5min", 0, NULL, &err), -1);
    CHECK_EQ_INT(sim_faults_count(f), 7);
    sim_fault_view_t v;
    sim_faults_view(f, 0x7f000109, &v);
    CHECK(v.flags & SIM_FAULT_TIMEOUT);
    sim_faults_view(f, 0x7f000205, &v);
    CHECK(!(v.flags & SIM_FAULT_TIMEOUT) && (v.flags & SIM_FAULT_SLOW));
    CHECK_EQ_INT(v.slow_ms, 2000);
    CHECK(v.nvanish == 1 && v.vanish[0] == 3);
    CHECK(v.reboot_ms == 5000 && v.toobig_over == 50);
    int hits = 0;
    for (uint32_t a = 0; a < 1000; a++) {
        sim_faults_view(f, 0x7f100000 + a, &v);
        hits += (v.flags & SIM_FAULT_MALFORMED) != 0;
    }
    CHECK(hits > 180 && hits < 320);
    /* a plain reboot keeps its stamp across a reload */
    sim_faults_t *g = sim_faults_new(7);
    CHECK_EQ_INT(sim_faults_add(g, "127.0.2.5=reboot", 9000, f, &err), 0);
    sim_faults_view(g, 0x7f000205, &v);
    CHECK_EQ_INT(v.reboot_ms, 5000);
    sim_faults_destroy(&g);
    sim_faults_destroy(&f);
    uint32_t net, mask;
    CHECK(sim_prefix_parse("10.1.2.3/8", &net, &mask) == 0 && net == 0x0a000000 &&
          mask == 0xff000000);
    CHECK(sim_prefix_parse("10.1.2.3/33", &net, &mask) == -1);
}

DP_TEST(sim_pdu_get_and_getnext_round_trip)
{
    sim_world_t *w = s_world("synthetic:ports=4", NULL);
    sim_answer_t ans;
    const oid *names[] = {t_sysname};
    size_t lens[] = {T_LEN(t_sysname)};
    netsnmp_pdu *r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GET, 0, 0, names, lens, 1, &ans);
    CHECK(r != NULL);
    CHECK_EQ_INT(r->reqid, 4242);
    CHECK(r->variables && r->variables->type == ASN_OCTET_STR);
    CHECK(r->variables->val_len == 13 &&
          memcmp(r->variables->val.string, "dev-127-0-1-7", 13) == 0);
    snmp_free_pdu(r);
    /* another address is another device */
    r = s_ask(w, 0x7f0a0b0c, SNMP_VERSION_1, SNMP_MSG_GET, 0, 0, names, lens, 1, &ans);
    CHECK(r && r->errstat == 0 && memcmp(r->variables->val.string, "dev-127-10-11-12", 16) == 0);
    snmp_free_pdu(r);
    /* GETNEXT past the last OID: endOfMibView (v2c), noSuchName (v1) */
    oid end[] = {1, 3, 6, 1, 9};
    const oid *endn[] = {end};
    size_t endl[] = {5};
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETNEXT, 0, 0, endn, endl, 1, &ans);
    CHECK(r && r->errstat == 0 && r->variables->type == SNMP_ENDOFMIBVIEW);
    snmp_free_pdu(r);
    r = s_ask(w, T_DEV, SNMP_VERSION_1, SNMP_MSG_GETNEXT, 0, 0, endn, endl, 1, &ans);
    CHECK(r && r->errstat == SNMP_ERR_NOSUCHNAME && r->errindex == 1);
    snmp_free_pdu(r);
    /* v1 never sees Counter64: GET gives noSuchName, GETNEXT skips the HC columns */
    oid hc1[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1};
    const oid *hcn[] = {hc1};
    size_t hcl[] = {12};
    r = s_ask(w, T_DEV, SNMP_VERSION_1, SNMP_MSG_GET, 0, 0, hcn, hcl, 1, &ans);
    CHECK(r && r->errstat == SNMP_ERR_NOSUCHNAME);
    snmp_free_pdu(r);
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GET, 0, 0, hcn, hcl, 1, &ans);
    CHECK(r && r->variables->type == ASN_COUNTER64);
    snmp_free_pdu(r);
    hc1[11] = 9; /* no such row: noSuchInstance; no such column: noSuchObject */
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GET, 0, 0, hcn, hcl, 1, &ans);
    CHECK(r && r->variables->type == SNMP_NOSUCHINSTANCE);
    snmp_free_pdu(r);
    /* wrong community or unknown address: no reply */
    u_char req[T_BUF], out[T_BUF];
    size_t rl = s_request(req, SNMP_VERSION_2c, "private", SNMP_MSG_GET, 0, 0, names, lens, 1);
    sim_pdu_ctx_t *ctx = sim_pdu_ctx_new();
    CHECK_EQ_INT(sim_pdu_answer(ctx, w, T_DEV, req, rl, out, sizeof(out), T_NOW, &ans), 0);
    CHECK_EQ_INT(ans.drop, SIM_DROP_COMMUNITY);
    rl = s_request(req, SNMP_VERSION_2c, "public", SNMP_MSG_GET, 0, 0, names, lens, 1);
    CHECK_EQ_INT(sim_pdu_answer(ctx, w, 0x0a000001, req, rl, out, sizeof(out), T_NOW, &ans), 0);
    CHECK_EQ_INT(ans.drop, SIM_DROP_DEVICE);
    CHECK_EQ_INT(sim_pdu_answer(ctx, w, T_DEV, req, rl / 2, out, sizeof(out), T_NOW, &ans), 0);
    CHECK_EQ_INT(ans.drop, SIM_DROP_PARSE);
    sim_pdu_ctx_destroy(&ctx);
    sim_world_destroy(&w);
}

DP_TEST(sim_pdu_getbulk_walks_columns)
{
    sim_world_t *w = s_world("synthetic:ports=24", NULL);
    sim_answer_t ans;
    const oid *names[] = {t_hcin, t_hcout, t_oper};
    size_t lens[] = {T_LEN(t_hcin), T_LEN(t_hcout), T_LEN(t_oper)};
    netsnmp_pdu *r =
        s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 25, names, lens, 3, &ans);
    CHECK(r && r->errstat == 0);
    CHECK_EQ_INT(s_count_vars(r), 75);
    CHECK_EQ_INT(ans.nvbs, 75);
    netsnmp_variable_list *v = r->variables;
    CHECK(v->type == ASN_COUNTER64 && v->name_length == 12 && v->name[11] == 1);
    v = v->next_variable->next_variable;
    CHECK(v->type == ASN_INTEGER && *v->val.integer == 1 && v->name[9] == 8);
    int k = 0;
    for (v = r->variables; v && k < 69; v = v->next_variable)
        k++;
    CHECK(v && v->name[11] == 24); /* row 24 is the 24th repetition */
    snmp_free_pdu(r);
    /* non-repeaters + a walk off the end of the view: endOfMibView rows then stop */
    oid last[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 19, 24};
    const oid *n2[] = {t_sysname, last};
    size_t l2[] = {T_LEN(t_sysname), 12};
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 1, 10, n2, l2, 2, &ans);
    CHECK(r && r->errstat == 0);
    CHECK_EQ_INT(s_count_vars(r), 2);
    CHECK(r->variables->name[7] == 6); /* next after sysName is sysLocation */
    CHECK(r->variables->next_variable->type == SNMP_ENDOFMIBVIEW);
    snmp_free_pdu(r);
    /* a small --max-msg truncates the bulk reply instead of failing */
    w->max_msg = 600;
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 25, names, lens, 3, &ans);
    CHECK(r && r->errstat == 0 && s_count_vars(r) > 5 && s_count_vars(r) < 75);
    snmp_free_pdu(r);
    sim_world_destroy(&w);
}

DP_TEST(sim_pdu_faults_change_answers)
{
    const oid *names[] = {t_hcin, t_hcout, t_oper};
    size_t lens[] = {T_LEN(t_hcin), T_LEN(t_hcout), T_LEN(t_oper)};
    sim_answer_t ans;
    sim_world_t *w = s_world("synthetic:ports=8", "127.0.1.0/24=toobig:20");
    netsnmp_pdu *r =
        s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 10, names, lens, 3, &ans);
    CHECK(r && r->errstat == SNMP_ERR_TOOBIG && s_count_vars(r) == 0);
    snmp_free_pdu(r);
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 5, names, lens, 3, &ans);
    CHECK(r && r->errstat == 0 && s_count_vars(r) == 15);
    snmp_free_pdu(r);
    sim_world_destroy(&w);

    w = s_world("synthetic:ports=8", "127.0.1.7=timeout");
    CHECK(s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETNEXT, 0, 0, names, lens, 1, &ans) == NULL);
    CHECK_EQ_INT(ans.drop, SIM_DROP_TIMEOUT);
    r = s_ask(w, T_DEV + 1, SNMP_VERSION_2c, SNMP_MSG_GETNEXT, 0, 0, names, lens, 1, &ans);
    CHECK(r != NULL);
    snmp_free_pdu(r);
    sim_world_destroy(&w);

    w = s_world("synthetic:ports=8", "127.0.1.7=malformed");
    CHECK(s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETNEXT, 0, 0, names, lens, 1, &ans) == NULL);
    CHECK(ans.drop == SIM_DROP_NONE && ans.malformed);
    sim_world_destroy(&w);

    w = s_world("synthetic:ports=8", "127.0.1.7=slow:1500ms");
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETNEXT, 0, 0, names, lens, 1, &ans);
    CHECK(r && ans.delay_ms == 1500);
    snmp_free_pdu(r);
    sim_world_destroy(&w);

    /* port 3 vanishes; spare port 9 appears */
    w = s_world("synthetic:ports=8,spare=1", "127.0.1.7=port-vanish:3");
    oid descr2[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 2};
    const oid *dn[] = {descr2};
    size_t dl[] = {11};
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETNEXT, 0, 0, dn, dl, 1, &ans);
    CHECK(r && r->variables->name[10] == 4);
    snmp_free_pdu(r);
    const oid *cn[] = {t_ifdescr};
    size_t cl[] = {T_LEN(t_ifdescr)};
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 20, cn, cl, 1, &ans);
    int rows = 0;
    for (netsnmp_variable_list *v = r ? r->variables : NULL; v; v = v->next_variable)
        rows += v->name_length == 11 && v->name[9] == 2;
    CHECK_EQ_INT(rows, 7);
    snmp_free_pdu(r);
    r = s_ask(w, T_DEV + 1, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 20, cn, cl, 1, &ans);
    rows = 0;
    for (netsnmp_variable_list *v = r ? r->variables : NULL; v; v = v->next_variable)
        rows += v->name_length == 11 && v->name[9] == 2;
    CHECK_EQ_INT(rows, 8);
    snmp_free_pdu(r);
    sim_world_destroy(&w);
    w = s_world("synthetic:ports=8,spare=1", "127.0.1.7=port-appear:9");
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GETBULK, 0, 20, cn, cl, 1, &ans);
    rows = 0;
    for (netsnmp_variable_list *v = r ? r->variables : NULL; v; v = v->next_variable)
        rows += v->name_length == 11 && v->name[9] == 2;
    CHECK_EQ_INT(rows, 9);
    snmp_free_pdu(r);
    sim_world_destroy(&w);

    /* reboot: uptime counts from the reboot (500 ms before T_NOW) */
    w = s_world("synthetic:ports=2", "127.0.1.7=reboot");
    oid up[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
    const oid *un[] = {up};
    size_t ul[] = {9};
    r = s_ask(w, T_DEV, SNMP_VERSION_2c, SNMP_MSG_GET, 0, 0, un, ul, 1, &ans);
    CHECK(r && r->variables->type == ASN_TIMETICKS && *r->variables->val.integer == 50);
    snmp_free_pdu(r);
    sim_world_destroy(&w);
}
