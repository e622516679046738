/*  test_poller_modules.c - walk definitions, value storage, HC-vs-32-bit selection, rates,
    METRICS building (rrd names, DS order, values) and the DB layer's pure helpers.
    SPDX-License-Identifier: MIT */
#include "../../poller/poller_db.h"
#include "dp_ifmib.h"
#include "../../poller/poller_modules.h"
#include "../../poller/poller_worker.h"
#include "dp_test.h"

#include <math.h>
#include <stdlib.h>

//  Index of the column of def with this kind (and counter, for counters); -1 if absent.
static int s_col(const poller_walkdef_t *d, int kind, int ctr)
{
    for (int i = 0; i < d->n; i++)
        if (d->kind[i] == kind &&
            ((kind != POLLER_COL_CTR_HC && kind != POLLER_COL_CTR_LO) || d->ctr[i] == ctr))
            return i;
    return -1;
}

static void s_take(poller_poll_t *p, const poller_walkdef_t *d, int col, oid index, int type,
                   const void *val, size_t len)
{
    oid name[DP_SNMP_OID_MAX];
    memcpy(name, d->cols[col].prefix, d->cols[col].len * sizeof(oid));
    name[d->cols[col].len] = index;
    netsnmp_variable_list *v = NULL;
    snmp_varlist_add_variable(&v, name, d->cols[col].len + 1, (u_char)type, val, len);
    poller_poll_take(p, d, col, &index, 1, v, 1000);
    snmp_free_varbind(v);
}

static void s_take_c64(poller_poll_t *p, const poller_walkdef_t *d, int ctr, oid index,
                       uint64_t value)
{
    struct counter64 c = {.high = (u_long)(value >> 32), .low = (u_long)(value & 0xffffffff)};
    s_take(p, d, s_col(d, POLLER_COL_CTR_HC, ctr), index, ASN_COUNTER64, &c, sizeof c);
}

static void s_take_c32(poller_poll_t *p, const poller_walkdef_t *d, int ctr, oid index,
                       uint32_t value)
{
    u_long v = value;
    s_take(p, d, s_col(d, POLLER_COL_CTR_LO, ctr), index, ASN_COUNTER, &v, sizeof v);
}

DP_TEST(poller_walk_definitions)
{
    poller_walkdef_t d;
    poller_walk_ports(&d, false, false);
    int base = d.n;
    CHECK(s_col(&d, POLLER_COL_UPTIME, 0) >= 0 && d.cols[s_col(&d, POLLER_COL_UPTIME, 0)].scalar);
    CHECK(s_col(&d, POLLER_COL_CTR_HC, POLLER_CTR_IN_OCTETS) >= 0);
    CHECK(s_col(&d, POLLER_COL_CTR_LO, POLLER_CTR_IN_OCTETS) < 0);  /* 32-bit octets skipped */
    CHECK(s_col(&d, POLLER_COL_CTR_LO, POLLER_CTR_IN_ERRORS) >= 0); /* errors are 32-bit only */
    CHECK(s_col(&d, POLLER_COL_NAME, 0) < 0);
    poller_walk_ports(&d, true, true);
    CHECK_EQ_INT(d.n, base + 8 + 4);
    CHECK(d.n <= DP_SNMP_COLS_MAX);
    CHECK(s_col(&d, POLLER_COL_ALIAS, 0) >= 0);
    poller_walk_host(&d);
    CHECK_EQ_INT(d.n, 6);
}

DP_TEST(poller_hc_selection_per_port_and_counter)
{
    poller_poll_t p = {0};
    poller_walkdef_t d;
    poller_walk_ports(&d, true, false);
    poller_poll_reset(&p, 9, 0);
    s_take_c64(&p, &d, POLLER_CTR_IN_OCTETS, 2, 5000000000ULL);
    s_take_c32(&p, &d, POLLER_CTR_IN_OCTETS, 2, 705032704u); /* low 32 bits */
    s_take_c32(&p, &d, POLLER_CTR_IN_OCTETS, 1, 1234u);      /* port 1: no HC column */
    s_take_c32(&p, &d, POLLER_CTR_IN_MCAST, 2, 77u);         /* HC mcast missing on port 2 */
    CHECK_EQ_INT(p.nports, 2);
    CHECK_EQ_INT(p.ports[0].if_index, 1); /* kept sorted */
    uint64_t v;
    int bits;
    const poller_port_t *p2 = poller_poll_port(&p, 2, false);
    CHECK(poller_port_counter(p2, POLLER_CTR_IN_OCTETS, &v, &bits));
    CHECK(v == 5000000000ULL && bits == 64);
    CHECK(poller_port_counter(p2, POLLER_CTR_IN_MCAST, &v, &bits));
    CHECK(v == 77 && bits == 32);
    CHECK(!poller_port_counter(p2, POLLER_CTR_OUT_OCTETS, &v, &bits));
    CHECK(poller_port_counter(&p.ports[0], POLLER_CTR_IN_OCTETS, &v, &bits));
    CHECK(v == 1234 && bits == 32);
    CHECK_EQ_INT(poller_port_hc_mask(p2), 1u << POLLER_CTR_IN_OCTETS);
    CHECK(!poller_poll_all_hc(&p));
    /* a 64-bit value in a 32-bit column is not taken as a Counter32 */
    struct counter64 c = {0, 5};
    s_take(&p, &d, s_col(&d, POLLER_COL_CTR_LO, POLLER_CTR_OUT_OCTETS), 1, ASN_COUNTER64, &c,
           sizeof c);
    CHECK(!poller_port_counter(&p.ports[0], POLLER_CTR_OUT_OCTETS, &v, &bits));
    poller_poll_free(&p);
}

DP_TEST(poller_speed_and_status)
{
    poller_port_t p = {.if_speed = 100000000, .have_speed = true};
    CHECK(poller_port_speed(&p) == 100000000ULL);
    p.high_speed = 10000;
    p.have_high = true;
    CHECK(poller_port_speed(&p) == 10000000000ULL);
    CHECK_EQ_STR(dp_ifmib_status_name(1), "up");
    CHECK_EQ_STR(dp_ifmib_status_name(7), "lowerLayerDown");
    CHECK(dp_ifmib_status_name(0) == NULL && dp_ifmib_status_name(99) == NULL);
    char buf[16];
    CHECK_EQ_STR(dp_ifmib_type_name(6, buf, sizeof buf), "ethernetCsmacd");
    CHECK_EQ_STR(dp_ifmib_type_name(4242, buf, sizeof buf), "4242");
    CHECK_EQ_STR(poller_ctr_column(POLLER_CTR_OUT_BCAST), "ifOutBroadcastPkts");
}

DP_TEST(poller_rates_against_previous_sample)
{
    poller_port_t p = {.if_index = 1, .high_speed = 1000, .have_high = true};
    p.hc[POLLER_CTR_IN_OCTETS] = 1000000 + 300 * 1000000ULL; /* +1 MB/s over 300 s */
    p.have_hc = 1u << POLLER_CTR_IN_OCTETS;
    p.lo[POLLER_CTR_IN_ERRORS] = 10; /* wrapped past 2^32 */
    p.have_lo = 1u << POLLER_CTR_IN_ERRORS;
    poller_prev_t prev = {.valid = true, .at_ms = 0, .hc_mask = 1u << POLLER_CTR_IN_OCTETS};
    prev.value[POLLER_CTR_IN_OCTETS] = 1000000;
    prev.value[POLLER_CTR_IN_ERRORS] = 4294967286u;
    prev.have = (1u << POLLER_CTR_IN_OCTETS) | (1u << POLLER_CTR_IN_ERRORS);
    poller_rate_t r[POLLER_CTR_COUNT];
    poller_port_rates(&prev, &p, 300000, false, r);
    CHECK(r[POLLER_CTR_IN_OCTETS].have_rate);
    CHECK(fabs(r[POLLER_CTR_IN_OCTETS].rate - 1000000.0) < 1e-6);
    CHECK(r[POLLER_CTR_IN_OCTETS].prev == 1000000);
    CHECK_EQ_INT(r[POLLER_CTR_IN_ERRORS].status, POLLER_COUNTER_WRAP);
    CHECK(r[POLLER_CTR_IN_ERRORS].delta == 20);
    CHECK(!r[POLLER_CTR_OUT_OCTETS].have_value);
    /* rebooted: values kept, no rates (no spike) */
    poller_port_rates(&prev, &p, 300000, true, r);
    CHECK(r[POLLER_CTR_IN_OCTETS].have_value && !r[POLLER_CTR_IN_OCTETS].have_rate);
    /* the counter changed width since the last poll: no rate */
    prev.hc_mask = 0;
    poller_port_rates(&prev, &p, 300000, false, r);
    CHECK(!r[POLLER_CTR_IN_OCTETS].have_rate);
    /* above ifSpeed (1 Gbit/s = 125 MB/s): discarded */
    prev.hc_mask = 1u << POLLER_CTR_IN_OCTETS;
    p.hc[POLLER_CTR_IN_OCTETS] = 1000000 + 300 * 200000000ULL;
    poller_port_rates(&prev, &p, 300000, false, r);
    CHECK_EQ_INT(r[POLLER_CTR_IN_OCTETS].status, POLLER_COUNTER_OVERSPEED);
    CHECK(!r[POLLER_CTR_IN_OCTETS].have_rate);
    /* first poll */
    poller_port_rates(NULL, &p, 300000, false, r);
    CHECK_EQ_INT(r[POLLER_CTR_IN_OCTETS].status, POLLER_COUNTER_FIRST);
}

DP_TEST(poller_metrics_names_order_values)
{
    CHECK_EQ_INT(poller_metrics_init(300), 0);
    poller_poll_t p = {0};
    poller_walkdef_t d, h;
    poller_walk_ports(&d, true, false);
    poller_walk_host(&h);
    poller_poll_reset(&p, 42, 0);
    s_take_c64(&p, &d, POLLER_CTR_IN_OCTETS, 1, 123456789012ULL);
    s_take_c64(&p, &d, POLLER_CTR_IN_MCAST, 1, 10);
    s_take_c64(&p, &d, POLLER_CTR_IN_BCAST, 1, 5);
    s_take_c32(&p, &d, POLLER_CTR_IN_OCTETS, 2, 4000000000u);
    s_take_c32(&p, &d, POLLER_CTR_OUT_ERRORS, 2, 3);
    p.ports[0].port_id = 11;
    p.ports[1].port_id = 12;
    u_long ticks = 123400;
    s_take(&p, &d, s_col(&d, POLLER_COL_UPTIME, 0), 0, ASN_TIMETICKS, &ticks, sizeof ticks);
    long load = 37;
    s_take(&p, &h, s_col(&h, POLLER_COL_PROC_LOAD, 0), 196608, ASN_INTEGER, &load, sizeof load);
    oid ram[] = {1, 3, 6, 1, 2, 1, 25, 2, 1, 2}, disk[] = {1, 3, 6, 1, 2, 1, 25, 2, 1, 4};
    long units = 4096, size = 1000, used = 250;
    s_take(&p, &h, s_col(&h, POLLER_COL_STOR_TYPE, 0), 1, ASN_OBJECT_ID, ram, sizeof ram);
    s_take(&p, &h, s_col(&h, POLLER_COL_STOR_TYPE, 0), 3, ASN_OBJECT_ID, disk, sizeof disk);
    for (oid i = 1; i <= 3; i += 2) {
        s_take(&p, &h, s_col(&h, POLLER_COL_STOR_DESCR, 0), i, ASN_OCTET_STR, i == 1 ? "RAM" : "/",
               i == 1 ? 3 : 1);
        s_take(&p, &h, s_col(&h, POLLER_COL_STOR_UNITS, 0), i, ASN_INTEGER, &units, sizeof units);
        s_take(&p, &h, s_col(&h, POLLER_COL_STOR_SIZE, 0), i, ASN_INTEGER, &size, sizeof size);
        s_take(&p, &h, s_col(&h, POLLER_COL_STOR_USED, 0), i, ASN_INTEGER, &used, sizeof used);
    }
    dp_err_t err = {0};
    p.at_ms = 1700000123600; /* the device answered 23.6 s into the cycle: ts is that second */
    dp_msg_t *m = poller_metrics_build(&p, "sw1.example.net", 3, 99, 1700000100, 1.5, &err);
    CHECK(m != NULL);
    dp_msg_metrics_t *mm = &m->metrics;
    CHECK_EQ_INT(mm->n_updates, 7);
    CHECK(mm->ts == 1700000124 && mm->device_id == 42 && mm->epoch == 3 && mm->job_id == 99);
    dp_msg_rrd_update_t *u = &mm->updates[0];
    CHECK_EQ_STR(u->rrd, "sw1.example.net/port-id11.rrd");
    size_t nds = 0;
    const char *const *ds = dp_msg_update_ds(mm, u, &nds);
    CHECK(ds && nds == 15 && u->n_ds == 0);
    CHECK_EQ_STR(ds[0], "INOCTETS:DERIVE:600:0:12500000000");
    CHECK_EQ_STR(ds[14], "OUTMULTICASTPKTS:DERIVE:600:0:12500000000");
    CHECK(mm->updates[1].dset == u->dset); /* ports share one DS list */
    CHECK_EQ_INT(mm->n_dsets, 6); /* port, poller-perf, uptime, processor, mempool, storage */
    CHECK(u->values[0] == 123456789012.0);
    CHECK(isnan(u->values[1]));
    CHECK(u->values[6] == 15.0);  /* INNUCASTPKTS = multicast + broadcast */
    CHECK(u->values[11] == 5.0);  /* INBROADCASTPKTS */
    CHECK(u->values[13] == 10.0); /* INMULTICASTPKTS */
    u = &mm->updates[1];
    CHECK_EQ_STR(u->rrd, "sw1.example.net/port-id12.rrd");
    CHECK(u->values[0] == 4000000000.0); /* the 32-bit value where HC is missing */
    CHECK(u->values[3] == 3.0);          /* OUTERRORS */
    CHECK_EQ_STR(mm->updates[2].rrd, "sw1.example.net/poller-perf.rrd");
    CHECK(mm->updates[2].values[0] == 1.5);
    CHECK_EQ_STR(mm->updates[3].rrd, "sw1.example.net/uptime.rrd");
    CHECK(mm->updates[3].values[0] == 1234.0);
    CHECK_EQ_STR(mm->updates[4].rrd, "sw1.example.net/processor-hr-196608.rrd");
    CHECK(mm->updates[4].values[0] == 37.0);
    CHECK_EQ_STR(mm->updates[5].rrd, "sw1.example.net/mempool-hrstorage-1.rrd");
    CHECK(mm->updates[5].values[0] == 250.0 * 4096 && mm->updates[5].values[1] == 750.0 * 4096);
    CHECK_EQ_STR(mm->updates[6].rrd, "sw1.example.net/storage-hrstorage-_.rrd");
    m->sender_node = strdup("poller-1"); /* the sink stamps it */
    CHECK_EQ_INT(dp_msg_validate(m, &err), 0);
    dp_msg_destroy(&m);
    poller_poll_free(&p);
}

DP_TEST(poller_db_json_and_time)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(poller_db_json_str(&buf, &len, &cap, "a\"b\\c\n\xc3\xa9\xff"), 0);
    CHECK_EQ_STR(buf, "\"a\\\"b\\\\c\\u000a\xc3\xa9?\"");
    CHECK_EQ_INT(poller_db_json_str(&buf, &len, &cap, "\xed\xa0\x80"), 0); /* a surrogate */
    CHECK(strstr(buf, "\"???\"") != NULL);
    free(buf);
    char t[32];
    poller_db_time_text(1700000000123, t, sizeof t);
    CHECK_EQ_STR(t, "2023-11-14 22:13:20.123");
}

DP_TEST(poller_histogram_percentiles)
{
    CHECK_EQ_INT(poller_hist_bucket(0), 0);
    CHECK(poller_hist_bucket(100) < poller_hist_bucket(1000));
    CHECK_EQ_INT(poller_hist_bucket(INT64_MAX / 2), POLLER_HIST_BUCKETS - 1);
    poller_shared_t sh;
    for (int i = 0; i < POLLER_HIST_BUCKETS; i++)
        atomic_init(&sh.poll_hist[i], 0);
    CHECK(poller_shared_percentile(&sh, 50) == 0);
    for (int i = 0; i < 90; i++)
        atomic_fetch_add(&sh.poll_hist[poller_hist_bucket(10)], 1);
    for (int i = 0; i < 10; i++)
        atomic_fetch_add(&sh.poll_hist[poller_hist_bucket(1000)], 1);
    double p50 = poller_shared_percentile(&sh, 50), p95 = poller_shared_percentile(&sh, 95);
    CHECK(p50 > 8 && p50 < 13);
    CHECK(p95 > 800 && p95 < 1250);
}
