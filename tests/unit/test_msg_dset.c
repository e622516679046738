/*  test_msg_dset.c - dp_msg: METRICS DS lists shared through dsets (rules, accessor, old form)
    tests/data/msg/metrics-own-ds.bin is a METRICS as encoded before dsets existed (each update
    with its own "ds"): new decoders must keep accepting it (rolling upgrade).
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_msg.h"

#include <msgpack.h>

#include <math.h>
#include <stdlib.h>

static char **s_strs(size_t n, const char *prefix)
{
    char **v = dp_test_alloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s%zu:DERIVE:600:0:U", prefix, i);
        v[i] = dp_test_dup(buf);
    }
    return v;
}

/* METRICS with two dsets (3 and 1 DS) and three updates: dset 1, dset 2, own ds (2). */
static dp_msg_t *s_make(void)
{
    dp_msg_t *m = dp_msg_new(DP_MSG_METRICS);
    m->sender_node = dp_test_dup("n1");
    m->metrics.device_id = 1;
    m->metrics.hostname = dp_test_dup("h");
    m->metrics.ts = 1700000100;
    m->metrics.n_dsets = 2;
    m->metrics.dsets = dp_test_alloc(2, sizeof(dp_msg_dset_t));
    m->metrics.dsets[0] = (dp_msg_dset_t){.ds = s_strs(3, "A"), .n_ds = 3};
    m->metrics.dsets[1] = (dp_msg_dset_t){.ds = s_strs(1, "B"), .n_ds = 1};
    m->metrics.n_updates = 3;
    m->metrics.updates = dp_test_alloc(3, sizeof(dp_msg_rrd_update_t));
    static const size_t nv[] = {3, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        dp_msg_rrd_update_t *u = &m->metrics.updates[i];
        char path[32];
        snprintf(path, sizeof path, "h/f%zu.rrd", i);
        u->rrd = dp_test_dup(path);
        u->n_values = nv[i];
        u->values = dp_test_alloc(nv[i], sizeof(double));
        u->values[0] = (double)i;
        if (i < 2)
            u->dset = (int)i + 1;
        else
            u->ds = s_strs(2, "C"), u->n_ds = 2;
    }
    return m;
}

static bool s_invalid(const dp_msg_t *m, const char *want)
{
    dp_err_t err = {0};
    if (dp_msg_validate(m, &err) == 0) {
        printf("    accepted, expected '%s'\n", want);
        return false;
    }
    if (strcmp(err.text, want) != 0) {
        printf("    got '%s', expected '%s'\n", err.text, want);
        return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
DP_TEST(msg_dset_round_trip_and_accessor)
{
    dp_msg_t *m = s_make();
    char *data = NULL;
    size_t size = 0, n = 0;
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_msg_encode(m, &data, &size, &err), 0);
    dp_msg_t *back = dp_msg_decode(data, size, &err);
    free(data);
    CHECK(back);
    const dp_msg_metrics_t *bm = &back->metrics;
    CHECK_EQ_INT(bm->n_dsets, 2);
    const char *const *ds = dp_msg_update_ds(bm, &bm->updates[0], &n);
    CHECK(ds && n == 3);
    CHECK_EQ_STR(ds[2], "A2:DERIVE:600:0:U");
    ds = dp_msg_update_ds(bm, &bm->updates[1], &n);
    CHECK(ds && n == 1);
    CHECK_EQ_STR(ds[0], "B0:DERIVE:600:0:U");
    ds = dp_msg_update_ds(bm, &bm->updates[2], &n);
    CHECK(ds && n == 2 && bm->updates[2].dset == 0);
    CHECK_EQ_STR(ds[1], "C1:DERIVE:600:0:U");
    dp_msg_rrd_update_t u = {.dset = 3};
    CHECK(dp_msg_update_ds(bm, &u, &n) == NULL && n == 0);
    dp_msg_destroy(&back);
    dp_msg_destroy(&m);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_dset_validate_rules)
{
    dp_msg_t *m = s_make();
    CHECK_EQ_INT(dp_msg_validate(m, NULL), 0);
    dp_msg_rrd_update_t *u = &m->metrics.updates[1];
    u->dset = 3; /* out of range */
    CHECK(s_invalid(m, "METRICS.updates[1].dset: out of range (3 not in 1..2)"));
    u->dset = DP_MSG_DSETS_MAX + 1; /* over the field's own limit */
    CHECK(s_invalid(m, "METRICS.updates[1].dset: out of range (65 not in 0..64)"));
    u->dset = 1; /* 3 DS for 1 value */
    CHECK(s_invalid(m, "METRICS.updates[1].values: 1 values for 3 ds"));
    u->dset = 2;
    u->ds = s_strs(1, "X"), u->n_ds = 1; /* both */
    CHECK(s_invalid(m, "METRICS.updates[1].ds: given with dset 2 (expected one of them)"));
    u->dset = 0; /* own ds only: fine */
    CHECK_EQ_INT(dp_msg_validate(m, NULL), 0);
    free(u->ds[0]), free(u->ds), u->ds = NULL, u->n_ds = 0; /* neither */
    CHECK(s_invalid(m, "METRICS.updates[1].ds: missing (and no dset)"));
    u->dset = 2;
    free(m->metrics.dsets[1].ds[0]);
    m->metrics.dsets[1].n_ds = 0; /* an empty shared list */
    CHECK(s_invalid(m, "METRICS.dsets: item 1: empty ds"));
    m->metrics.dsets[1].ds[0] = dp_test_dup("");
    m->metrics.dsets[1].n_ds = 1;
    CHECK(s_invalid(m, "METRICS.dsets[1].ds[0]: empty string"));
    dp_msg_destroy(&m);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_dset_wire_errors_named)
{
    /* a hand-built METRICS whose update names dset 2 of 1 */
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
#define S_STR(s) msgpack_pack_str(&pk, strlen(s)), msgpack_pack_str_body(&pk, s, strlen(s))
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint64(&pk, DP_MSG_SCHEMA_VERSION), msgpack_pack_uint64(&pk, DP_MSG_METRICS);
    msgpack_pack_uint64(&pk, 9), msgpack_pack_int64(&pk, 1);
    S_STR("n1");
    msgpack_pack_map(&pk, 7);
    S_STR("device_id"), msgpack_pack_uint64(&pk, 7);
    S_STR("hostname"), S_STR("sw1");
    S_STR("epoch"), msgpack_pack_uint64(&pk, 3);
    S_STR("job_id"), msgpack_pack_uint64(&pk, 42);
    S_STR("ts"), msgpack_pack_uint64(&pk, 1700000100);
    S_STR("dsets"), msgpack_pack_array(&pk, 1), msgpack_pack_map(&pk, 1);
    S_STR("ds"), msgpack_pack_array(&pk, 1), S_STR("v:GAUGE:600:U:U");
    S_STR("updates"), msgpack_pack_array(&pk, 1), msgpack_pack_map(&pk, 3);
    S_STR("rrd"), S_STR("sw1/a.rrd");
    S_STR("dset");
    size_t at = sbuf.size; /* the dset value byte */
    msgpack_pack_uint64(&pk, 2);
    S_STR("values"), msgpack_pack_array(&pk, 1), msgpack_pack_double(&pk, 1.5);
#undef S_STR
    dp_err_t err = {0};
    dp_msg_t *m = dp_msg_decode(sbuf.data, sbuf.size, &err);
    CHECK(m == NULL);
    CHECK_EQ_STR(err.text, "METRICS.updates[0].dset: out of range (2 not in 1..1)");
    sbuf.data[at] = 1; /* now valid */
    m = dp_msg_decode(sbuf.data, sbuf.size, &err);
    CHECK(m);
    size_t n = 0;
    const char *const *ds = dp_msg_update_ds(&m->metrics, &m->metrics.updates[0], &n);
    CHECK(ds && n == 1);
    CHECK_EQ_STR(ds[0], "v:GAUGE:600:U:U");
    dp_msg_destroy(&m);
    msgpack_sbuffer_destroy(&sbuf);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_dset_old_form_still_decodes)
{
    char path[512];
    snprintf(path, sizeof path, "%s/msg/metrics-own-ds.bin", dp_test_data_dir());
    FILE *f = fopen(path, "rb");
    CHECK(f);
    char buf[1024];
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    dp_err_t err = {0};
    dp_msg_t *m = dp_msg_decode(buf, size, &err);
    if (!m)
        printf("    %s\n", err.text);
    CHECK(m);
    CHECK_EQ_INT(m->metrics.n_dsets, 0);
    CHECK_EQ_INT(m->metrics.n_updates, 2);
    size_t n = 0;
    const char *const *ds = dp_msg_update_ds(&m->metrics, &m->metrics.updates[0], &n);
    CHECK(ds && n == 2);
    CHECK_EQ_STR(ds[1], "OUTOCTETS:DERIVE:600:0:U");
    CHECK(isnan(m->metrics.updates[0].values[1]));
    dp_msg_destroy(&m);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_values_integers_on_the_wire)
{
    /* integral values go as msgpack integers, everything else as float64: all come back exact */
    static const double vals[] = {0.0,
                                  1e9,
                                  12500000000.0,
                                  1e19,
                                  18446744073709549568.0,
                                  1.8446744073709552e19,
                                  -0.0,
                                  -3.0,
                                  -9.2233720368547758e18,
                                  1.5,
                                  1e300,
                                  -1e300};
    size_t nv = sizeof vals / sizeof vals[0];
    dp_msg_t *m = s_make();
    dp_msg_rrd_update_t *u = &m->metrics.updates[2];
    free(u->values);
    u->values = dp_test_alloc(nv + 1, sizeof(double));
    memcpy(u->values, vals, sizeof vals);
    u->values[nv] = NAN;
    u->n_values = nv + 1;
    for (size_t i = 0; i < u->n_ds; i++)
        free(u->ds[i]);
    free(u->ds);
    u->ds = s_strs(nv + 1, "V"), u->n_ds = nv + 1;
    char *data = NULL;
    size_t size = 0;
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_msg_encode(m, &data, &size, &err), 0);
    dp_msg_t *back = dp_msg_decode(data, size, &err);
    free(data);
    CHECK(back);
    const double *got = back->metrics.updates[2].values;
    for (size_t i = 0; i < nv; i++) {
        if (memcmp(&got[i], &vals[i], sizeof(double)) != 0)
            printf("    value %zu: %.17g != %.17g\n", i, got[i], vals[i]);
        CHECK(memcmp(&got[i], &vals[i], sizeof(double)) == 0);
    }
    CHECK(isnan(got[nv]));
    dp_msg_destroy(&back);
    dp_msg_destroy(&m);
}
