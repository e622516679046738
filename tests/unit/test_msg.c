/*  test_msg.c - dp_msg: round trips, golden bytes, named decode errors, garbage corpus
    Golden files live in tests/data/msg/<type>.bin. After an intentional wire change, review
    the new bytes and rewrite them with: DP_MSG_WRITE_GOLDEN=1 build/tests/unit_run -t msg_golden
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_msg.h"

#include <msgpack.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define S_TYPES         6    /* message types 1..6 */
#define S_CORPUS_RANDOM 5000 /* random byte strings */
#define S_CORPUS_PREFIX 5000 /* random bytes after a valid envelope start */
#define S_CORPUS_MUTANT 6000 /* mutations per golden message */
#define S_RANDOM_LEN    96   /* longest random input */
#define S_BIG_COUNT     5000 /* over every array limit */

//  --------------------------------------------------------------------------
//  Helpers: build the fixed message of each type

static void s_update(dp_msg_rrd_update_t *u, const char *rrd, const char *ds0, const char *ds1,
                     double v0, double v1)
{
    u->rrd = dp_test_dup(rrd);
    u->n_ds = u->n_values = ds1 ? 2 : 1;
    u->ds = dp_test_alloc(u->n_ds, sizeof(char *));
    u->values = dp_test_alloc(u->n_values, sizeof(double));
    u->ds[0] = dp_test_dup(ds0);
    u->values[0] = v0;
    if (ds1) {
        u->ds[1] = dp_test_dup(ds1);
        u->values[1] = v1;
    }
}

/* The fixed message of each type, as checked in under tests/data/msg. */
static dp_msg_t *s_make(dp_msg_type_t type)
{
    dp_msg_t *m = dp_msg_new(type);
    m->msg_id = 1000 + (uint64_t)type;
    m->created_ms = 1700000000123;
    m->sender_node = dp_test_dup(type == DP_MSG_JOB ? "sched-1" : "n1");
    switch (type) {
    case DP_MSG_JOB:
        m->job = (dp_msg_job_t){.job_id = 42,
                                .kind = DP_MSG_KIND_POLL,
                                .device_id = 7,
                                .hostname = dp_test_dup("sw1.example.net"),
                                .group = 0,
                                .epoch = 3,
                                .cycle_ts = 1700000100,
                                .deadline_ms = 1700000400000,
                                .attempt = 1};
        break;
    case DP_MSG_CREDIT:
        m->credit = (dp_msg_credit_t){
            .node = dp_test_dup("n1"), .stage = dp_test_dup("poller"), .credit = 16};
        m->credit.n_groups = 3;
        m->credit.groups = dp_test_alloc(3, sizeof(int));
        m->credit.groups[1] = 2;
        m->credit.groups[2] = 70000;
        break;
    case DP_MSG_RESULT:
        m->result = (dp_msg_result_t){.job_id = 42,
                                      .device_id = 7,
                                      .epoch = 3,
                                      .kind = DP_MSG_KIND_POLL,
                                      .status = DP_MSG_STATUS_DOWN,
                                      .reason = dp_test_dup("no answer from \"sw1\"\n\xc3\xa9"),
                                      .took_ms = 2003,
                                      .node = dp_test_dup("n1")};
        break;
    case DP_MSG_METRICS:
        m->metrics = (dp_msg_metrics_t){.device_id = 7,
                                        .hostname = dp_test_dup("sw1"),
                                        .epoch = 3,
                                        .job_id = 42,
                                        .ts = 1700000100};
        m->metrics.n_updates = 2;
        m->metrics.updates = dp_test_alloc(2, sizeof(dp_msg_rrd_update_t));
        s_update(&m->metrics.updates[0], "sw1/port-id5.rrd", "INOCTETS:DERIVE:600:0:U",
                 "OUTOCTETS:DERIVE:600:0:U", 123456789.0, NAN);
        s_update(&m->metrics.updates[1], "sw1/uptime.rrd", "uptime:GAUGE:600:0:U", NULL, -1.5, 0);
        /* update 0 names a shared DS list (dset 1), update 1 carries its own ds */
        m->metrics.n_dsets = 1;
        m->metrics.dsets = dp_test_alloc(1, sizeof(dp_msg_dset_t));
        m->metrics.dsets[0].ds = m->metrics.updates[0].ds;
        m->metrics.dsets[0].n_ds = m->metrics.updates[0].n_ds;
        m->metrics.updates[0].ds = NULL;
        m->metrics.updates[0].n_ds = 0;
        m->metrics.updates[0].dset = 1;
        break;
    case DP_MSG_HEARTBEAT:
        m->heartbeat = (dp_msg_heartbeat_t){.node = dp_test_dup("n1"),
                                            .daemon = dp_test_dup("poller"),
                                            .pid = 1234,
                                            .uptime_s = 3600};
        m->heartbeat.n_counters = 2;
        m->heartbeat.counters = dp_test_alloc(2, sizeof(dp_msg_counter_t));
        m->heartbeat.counters[0] = (dp_msg_counter_t){dp_test_dup("jobs_done"), UINT64_MAX};
        m->heartbeat.counters[1] = (dp_msg_counter_t){dp_test_dup("jobs_failed"), 2};
        break;
    case DP_MSG_ACK:
        m->ack.n_ids = 3;
        m->ack.ids = dp_test_alloc(3, sizeof(uint64_t));
        m->ack.ids[0] = 1;
        m->ack.ids[1] = (UINT64_C(1) << 40) + 5;
        m->ack.ids[2] = UINT64_MAX;
        break;
    default:
        abort();
    }
    return m;
}

static char *s_encode(const dp_msg_t *m, size_t *size)
{
    char *data = NULL;
    dp_err_t err = {0};
    if (dp_msg_encode(m, &data, size, &err) != 0) {
        printf("    encode failed: %s\n", err.text);
        return NULL;
    }
    return data;
}

static void s_golden_path(dp_msg_type_t type, char *path, size_t size)
{
    char lower[32];
    const char *name = dp_msg_type_name(type);
    size_t i = 0;
    for (; name[i] && i < sizeof lower - 1; i++)
        lower[i] = (char)(name[i] | 0x20);
    lower[i] = '\0';
    snprintf(path, size, "%s/msg/%s.bin", dp_test_data_dir(), lower);
}

static char *s_read_golden(dp_msg_type_t type, size_t *size)
{
    char path[512];
    s_golden_path(type, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = dp_test_alloc(1, 65536);
    *size = fread(buf, 1, 65536, f);
    fclose(f);
    return buf;
}

/* Decode must fail with DP_ERR_PROTO and a text containing want (if not NULL). */
static bool s_rejects(const void *data, size_t size, const char *want, dp_err_t *err)
{
    dp_err_clear(err);
    dp_msg_t *m = dp_msg_decode(data, size, err);
    if (m) {
        dp_msg_destroy(&m);
        return false;
    }
    return err->code == DP_ERR_PROTO && err->text[0] && (!want || strstr(err->text, want));
}

static char *s_json(const dp_msg_t *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    dp_msg_print_json(m, f);
    fclose(f);
    return text;
}

//  --------------------------------------------------------------------------
//  Helpers: hand-packed bodies for the error cases (tests may speak msgpack directly)

static void s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void s_envelope(msgpack_packer *pk, int version, int type)
{
    msgpack_pack_array(pk, 6);
    msgpack_pack_int(pk, version);
    msgpack_pack_int(pk, type);
    msgpack_pack_uint64(pk, 9);
    msgpack_pack_int64(pk, 1700000000000);
    s_pack_str(pk, "n1");
}

/* A JOB body without key `omit`, with key `wrong` packed as a string, plus `extra` unknown
   keys. Returns the encoded bytes in sbuf (caller destroys). */
static void s_job_bytes(msgpack_sbuffer *sbuf, const char *omit, const char *wrong, int extra)
{
    static const char *keys[] = {"job_id", "kind",     "device_id",   "hostname", "group",
                                 "epoch",  "cycle_ts", "deadline_ms", "attempt"};
    size_t nkeys = sizeof keys / sizeof keys[0];
    msgpack_packer pk;
    msgpack_sbuffer_init(sbuf);
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_envelope(&pk, DP_MSG_SCHEMA_VERSION, DP_MSG_JOB);
    msgpack_pack_map(&pk, nkeys - (omit ? 1 : 0) + (size_t)extra);
    for (int i = 0; i < extra; i++) { /* unknown keys of assorted shapes */
        s_pack_str(&pk, i % 2 ? "future_list" : "zz");
        if (i % 2) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_nil(&pk);
            msgpack_pack_map(&pk, 1);
            s_pack_str(&pk, "a");
            msgpack_pack_double(&pk, 1.5);
        } else
            msgpack_pack_bin(&pk, 0);
    }
    for (size_t i = 0; i < nkeys; i++) {
        if (omit && strcmp(keys[i], omit) == 0)
            continue;
        s_pack_str(&pk, keys[i]);
        if (wrong && strcmp(keys[i], wrong) == 0)
            s_pack_str(&pk, "x");
        else if (strcmp(keys[i], "kind") == 0)
            s_pack_str(&pk, "discover");
        else if (strcmp(keys[i], "hostname") == 0)
            s_pack_str(&pk, "h1");
        else if (strcmp(keys[i], "cycle_ts") == 0)
            msgpack_pack_int64(&pk, -5);
        else
            msgpack_pack_uint64(&pk, 1);
    }
}

/* METRICS with n updates (the last one has nvalues values) and a chosen rrd path. */
static void s_metrics_bytes(msgpack_sbuffer *sbuf, size_t n, size_t nvalues, const char *rrd)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sbuf);
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    s_envelope(&pk, DP_MSG_SCHEMA_VERSION, DP_MSG_METRICS);
    msgpack_pack_map(&pk, 6);
    s_pack_str(&pk, "device_id"), msgpack_pack_uint64(&pk, 7);
    s_pack_str(&pk, "hostname"), s_pack_str(&pk, "sw1");
    s_pack_str(&pk, "epoch"), msgpack_pack_uint64(&pk, 3);
    s_pack_str(&pk, "job_id"), msgpack_pack_uint64(&pk, 42);
    s_pack_str(&pk, "ts"), msgpack_pack_uint64(&pk, 1700000100);
    s_pack_str(&pk, "updates"), msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        size_t nv = i + 1 == n ? nvalues : 1;
        msgpack_pack_map(&pk, 3);
        s_pack_str(&pk, "rrd"), s_pack_str(&pk, rrd);
        s_pack_str(&pk, "ds"), msgpack_pack_array(&pk, nv);
        for (size_t k = 0; k < nv; k++)
            s_pack_str(&pk, "v:GAUGE:600:U:U");
        s_pack_str(&pk, "values"), msgpack_pack_array(&pk, nv);
        for (size_t k = 0; k < nv; k++)
            msgpack_pack_float(&pk, (float)k); /* float32 is accepted too */
    }
}

//  --------------------------------------------------------------------------
DP_TEST(msg_round_trip_every_type)
{
    for (int t = 1; t <= S_TYPES; t++) {
        dp_msg_t *m = s_make((dp_msg_type_t)t);
        size_t size1 = 0, size2 = 0;
        char *bytes1 = s_encode(m, &size1);
        CHECK(bytes1);
        dp_err_t err = {0};
        dp_msg_t *back = dp_msg_decode(bytes1, size1, &err);
        if (!back)
            printf("    decode: %s\n", err.text);
        CHECK(back);
        CHECK_EQ_INT(back->type, t);
        CHECK_EQ_INT(back->schema_version, DP_MSG_SCHEMA_VERSION);
        CHECK_EQ_INT(back->msg_id, m->msg_id);
        CHECK_EQ_INT(back->created_ms, m->created_ms);
        CHECK_EQ_STR(back->sender_node, m->sender_node);
        char *bytes2 = s_encode(back, &size2);
        CHECK(bytes2);
        CHECK_EQ_INT(size2, size1);
        CHECK(memcmp(bytes1, bytes2, size1) == 0);
        char *j1 = s_json(m), *j2 = s_json(back);
        CHECK_EQ_STR(j1, j2);
        if (t == DP_MSG_METRICS) {
            const dp_msg_rrd_update_t *u = &back->metrics.updates[0];
            CHECK_EQ_INT(back->metrics.n_updates, 2);
            CHECK_EQ_STR(u->rrd, "sw1/port-id5.rrd");
            size_t nds = 0;
            const char *const *ds = dp_msg_update_ds(&back->metrics, u, &nds);
            CHECK(ds && nds == 2 && u->dset == 1 && u->ds == NULL);
            CHECK_EQ_STR(ds[1], "OUTOCTETS:DERIVE:600:0:U");
            ds = dp_msg_update_ds(&back->metrics, &back->metrics.updates[1], &nds);
            CHECK(ds && nds == 1);
            CHECK_EQ_STR(ds[0], "uptime:GAUGE:600:0:U");
            CHECK(u->values[0] == 123456789.0 && isnan(u->values[1]));
            CHECK(back->metrics.updates[1].values[0] == -1.5);
        } else if (t == DP_MSG_HEARTBEAT) {
            CHECK(back->heartbeat.counters[0].value == UINT64_MAX);
            CHECK_EQ_STR(back->heartbeat.counters[1].name, "jobs_failed");
        } else if (t == DP_MSG_RESULT) {
            CHECK_EQ_STR(back->result.reason, m->result.reason);
            CHECK_EQ_INT(back->result.status, DP_MSG_STATUS_DOWN);
        } else if (t == DP_MSG_ACK) {
            CHECK_EQ_INT(back->ack.n_ids, 3);
            CHECK(back->ack.ids[1] == (UINT64_C(1) << 40) + 5);
            CHECK(back->ack.ids[2] == UINT64_MAX);
        } else if (t == DP_MSG_JOB) {
            CHECK_EQ_INT(back->job.kind, DP_MSG_KIND_POLL);
            CHECK_EQ_INT(back->job.deadline_ms, 1700000400000);
            CHECK_EQ_INT(back->job.bill_id, 0);
        }
        free(j1), free(j2), free(bytes1), free(bytes2);
        dp_msg_destroy(&back);
        dp_msg_destroy(&m);
        CHECK(m == NULL);
        dp_msg_destroy(&m); /* idempotent */
    }
}

//  --------------------------------------------------------------------------
DP_TEST(msg_round_trip_empty_arrays_and_optionals)
{
    dp_msg_t *c = s_make(DP_MSG_CREDIT), *h = s_make(DP_MSG_HEARTBEAT);
    dp_msg_t *x = s_make(DP_MSG_METRICS), *r = s_make(DP_MSG_RESULT), *j = s_make(DP_MSG_JOB);
    dp_msg_t *in[] = {c, h, x, r, j};
    free(c->credit.groups), c->credit.groups = NULL, c->credit.n_groups = 0;
    h->heartbeat.n_counters = 0; /* optional array omitted; items still freed by destroy */
    /* METRICS without dsets: update 0 takes the shared list back as its own ds */
    x->metrics.updates[0].ds = x->metrics.dsets[0].ds;
    x->metrics.updates[0].n_ds = x->metrics.dsets[0].n_ds;
    x->metrics.updates[0].dset = 0;
    free(x->metrics.dsets), x->metrics.dsets = NULL, x->metrics.n_dsets = 0;
    free(r->result.reason), r->result.reason = NULL;
    j->job.kind = DP_MSG_KIND_BILL, j->job.bill_id = 9;
    h->heartbeat.counters[0].value = 1;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        size_t size = 0;
        char *bytes = s_encode(in[i], &size);
        CHECK(bytes);
        dp_err_t err = {0};
        dp_msg_t *back = dp_msg_decode(bytes, size, &err);
        free(bytes);
        CHECK(back);
        if (back->type == DP_MSG_CREDIT)
            CHECK(back->credit.n_groups == 0 && back->credit.groups == NULL);
        if (back->type == DP_MSG_HEARTBEAT)
            CHECK(back->heartbeat.n_counters == 0 && back->heartbeat.counters == NULL);
        if (back->type == DP_MSG_METRICS)
            CHECK(back->metrics.n_dsets == 0 && back->metrics.dsets == NULL &&
                  back->metrics.updates[0].dset == 0 && back->metrics.updates[0].n_ds == 2);
        if (back->type == DP_MSG_RESULT)
            CHECK(back->result.reason == NULL);
        if (back->type == DP_MSG_JOB)
            CHECK(back->job.bill_id == 9 && back->job.kind == DP_MSG_KIND_BILL);
        dp_msg_destroy(&back);
    }
    h->heartbeat.n_counters = 2;
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        dp_msg_destroy(&in[i]);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_golden_bytes_per_type)
{
    bool write = getenv("DP_MSG_WRITE_GOLDEN") != NULL;
    for (int t = 1; t <= S_TYPES; t++) {
        dp_msg_t *m = s_make((dp_msg_type_t)t);
        size_t size = 0, gsize = 0;
        char *bytes = s_encode(m, &size);
        dp_msg_destroy(&m);
        CHECK(bytes);
        char path[512];
        s_golden_path((dp_msg_type_t)t, path, sizeof path);
        if (write) {
            FILE *f = fopen(path, "wb");
            CHECK(f);
            CHECK_EQ_INT(fwrite(bytes, 1, size, f), size);
            fclose(f);
        }
        char *golden = s_read_golden((dp_msg_type_t)t, &gsize);
        if (!golden)
            printf("    missing golden file %s\n", path);
        CHECK(golden);
        for (size_t i = 0; i < size && i < gsize; i++)
            if (bytes[i] != golden[i]) {
                printf("    %s differs at byte %zu\n", path, i);
                break;
            }
        CHECK_EQ_INT(gsize, size);
        CHECK(memcmp(bytes, golden, size) == 0);
        free(bytes);
        free(golden);
    }
}

//  --------------------------------------------------------------------------
DP_TEST(msg_golden_header_and_json)
{
    size_t size = 0;
    unsigned char *g = (unsigned char *)s_read_golden(DP_MSG_JOB, &size);
    CHECK(g);
    /* fixarray(6), version 1, type 1, msg_id 1001 as uint16, created_ms as uint64 */
    static const unsigned char head[] = {0x96, 0x01, 0x01, 0xcd, 0x03, 0xe9, 0xcf};
    CHECK(size > sizeof head && memcmp(g, head, sizeof head) == 0);
    free(g);

    dp_msg_t *m = s_make(DP_MSG_METRICS);
    char *json = s_json(m);
    CHECK_EQ_STR(json, "{\"type\":\"METRICS\",\"schema_version\":1,\"msg_id\":1004,"
                       "\"created_ms\":1700000000123,\"sender_node\":\"n1\",\"body\":{"
                       "\"device_id\":7,\"hostname\":\"sw1\",\"epoch\":3,\"job_id\":42,"
                       "\"ts\":1700000100,\"dsets\":[{\"ds\":[\"INOCTETS:DERIVE:600:0:U\","
                       "\"OUTOCTETS:DERIVE:600:0:U\"]}],\"updates\":[{\"rrd\":"
                       "\"sw1/port-id5.rrd\",\"dset\":1,\"values\":["
                       "123456789,null]},{\"rrd\":\"sw1/uptime.rrd\",\"ds\":["
                       "\"uptime:GAUGE:600:0:U\"],\"values\":[-1.5]}]}}\n");
    free(json);
    dp_msg_destroy(&m);

    m = s_make(DP_MSG_RESULT);
    free(m->result.reason);
    m->result.reason = dp_test_dup("q\"b\\s\x01\xff\xc3\xa9");
    json = s_json(m);
    CHECK_CONTAINS(json, "\"status\":\"down\",\"reason\":\"q\\\"b\\\\s\\u0001\\ufffd\xc3\xa9\"");
    free(json);
    dp_msg_destroy(&m);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_unknown_keys_ignored)
{
    msgpack_sbuffer sbuf;
    s_job_bytes(&sbuf, NULL, NULL, 4);
    dp_err_t err = {0};
    dp_msg_t *m = dp_msg_decode(sbuf.data, sbuf.size, &err);
    msgpack_sbuffer_destroy(&sbuf);
    if (!m)
        printf("    %s\n", err.text);
    CHECK(m);
    CHECK_EQ_INT(m->type, DP_MSG_JOB);
    CHECK_EQ_INT(m->job.kind, DP_MSG_KIND_DISCOVER);
    CHECK_EQ_STR(m->job.hostname, "h1");
    CHECK_EQ_INT(m->job.cycle_ts, -5);
    CHECK_EQ_INT(m->job.bill_id, 0);
    dp_msg_destroy(&m);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_missing_required_key_named)
{
    static const char *keys[] = {"job_id", "kind", "hostname", "epoch", "deadline_ms"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        msgpack_sbuffer sbuf;
        s_job_bytes(&sbuf, keys[i], NULL, 1);
        char want[64];
        snprintf(want, sizeof want, "JOB.%s: missing required key", keys[i]);
        dp_err_t err;
        bool ok = s_rejects(sbuf.data, sbuf.size, want, &err);
        msgpack_sbuffer_destroy(&sbuf);
        CHECK_EQ_STR(err.text, want);
        CHECK(ok);
    }
}

//  --------------------------------------------------------------------------
DP_TEST(msg_wrong_type_named)
{
    dp_err_t err;
    msgpack_sbuffer sbuf;
    s_job_bytes(&sbuf, NULL, "device_id", 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, NULL, &err));
    CHECK_EQ_STR(err.text, "JOB.device_id: expected unsigned integer, got string");
    msgpack_sbuffer_destroy(&sbuf);

    s_job_bytes(&sbuf, NULL, "cycle_ts", 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "JOB.cycle_ts: expected integer, got string", &err));
    msgpack_sbuffer_destroy(&sbuf);

    /* a wrong type deep inside a record array is named with its index */
    s_metrics_bytes(&sbuf, 2, 1, "sw1/a.rrd");
    size_t size = sbuf.size;
    /* last value is float32 0.0 (ca 00 00 00 00): turn it into a nil and expect a named error */
    sbuf.data[size - 5] = (char)0xc0;
    CHECK(s_rejects(sbuf.data, size - 4, "METRICS.updates[1].values[0]: expected number, got nil",
                    &err));
    msgpack_sbuffer_destroy(&sbuf);

    /* unknown enum string, negative INT, binary instead of string */
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    s_envelope(&pk, 1, DP_MSG_CREDIT);
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, "node"), msgpack_pack_bin(&pk, 2), msgpack_pack_bin_body(&pk, "n1", 2);
    CHECK(s_rejects(sbuf.data, sbuf.size, "CREDIT.node: expected string, got binary", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, DP_MSG_CREDIT);
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, "credit"), msgpack_pack_int(&pk, -1);
    CHECK(s_rejects(sbuf.data, sbuf.size,
                    "CREDIT.credit: expected unsigned integer, got negative integer", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, DP_MSG_RESULT);
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, "status"), s_pack_str(&pk, "fine");
    CHECK(s_rejects(sbuf.data, sbuf.size,
                    "RESULT.status: unknown value (expected ok|down|error|timeout)", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, DP_MSG_CREDIT);
    msgpack_pack_map(&pk, 2);
    s_pack_str(&pk, "node"), s_pack_str(&pk, "n1");
    s_pack_str(&pk, "node"), s_pack_str(&pk, "n2");
    CHECK(s_rejects(sbuf.data, sbuf.size, "CREDIT.node: duplicate key", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, DP_MSG_CREDIT);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1), s_pack_str(&pk, "n2");
    CHECK(s_rejects(sbuf.data, sbuf.size, "CREDIT: key expected string, got unsigned", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, DP_MSG_CREDIT);
    msgpack_pack_array(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "CREDIT: expected map, got array", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, DP_MSG_HEARTBEAT);
    msgpack_pack_map(&pk, 1);
    s_pack_str(&pk, "node"), msgpack_pack_str(&pk, 3), msgpack_pack_str_body(&pk, "a\0b", 3);
    CHECK(s_rejects(sbuf.data, sbuf.size, "HEARTBEAT.node: string contains a NUL byte", &err));
    msgpack_sbuffer_destroy(&sbuf);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_envelope_errors_named)
{
    dp_err_t err;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sbuf);
    msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
    s_envelope(&pk, DP_MSG_SCHEMA_VERSION + 1, DP_MSG_JOB);
    msgpack_pack_map(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope: schema_version 2 not supported", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 0, DP_MSG_JOB);
    msgpack_pack_map(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope: schema_version 0 not supported", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, 9);
    msgpack_pack_map(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope: unknown type_id 9", &err));
    msgpack_sbuffer_clear(&sbuf);
    s_envelope(&pk, 1, 1000);
    msgpack_pack_map(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope.type_id: out of range (1000 > 255)", &err));
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 5);
    for (int i = 0; i < 5; i++)
        msgpack_pack_int(&pk, 1);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope: expected 6 items, got 5", &err));
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int(&pk, 1), msgpack_pack_int(&pk, 1), s_pack_str(&pk, "id");
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope: truncated", &err));
    msgpack_pack_int(&pk, 1), msgpack_pack_int(&pk, 1), msgpack_pack_map(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope.msg_id: expected unsigned integer, got string",
                    &err));
    msgpack_sbuffer_clear(&sbuf);
    msgpack_pack_map(&pk, 0);
    CHECK(s_rejects(sbuf.data, sbuf.size, "envelope: expected array, got map", &err));
    msgpack_sbuffer_destroy(&sbuf);

    CHECK(s_rejects("", 0, "envelope: truncated", &err));
    CHECK(s_rejects(NULL, 0, "envelope: truncated", &err));
    CHECK(s_rejects("\xc1", 1, "envelope: malformed msgpack", &err));
}

//  --------------------------------------------------------------------------
DP_TEST(msg_oversized_rejected)
{
    dp_err_t err;
    msgpack_sbuffer sbuf;
    s_metrics_bytes(&sbuf, 4, S_BIG_COUNT, "sw1/a.rrd");
    CHECK(s_rejects(sbuf.data, sbuf.size, NULL, &err));
    CHECK_EQ_STR(err.text, "METRICS.updates[3].ds: too many (5000 > 64)");
    msgpack_sbuffer_destroy(&sbuf);
    s_metrics_bytes(&sbuf, S_BIG_COUNT, 1, "sw1/a.rrd");
    CHECK(s_rejects(sbuf.data, sbuf.size, "METRICS.updates: too many (5000 > 4096)", &err));
    msgpack_sbuffer_destroy(&sbuf);

    char host[300];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    s_metrics_bytes(&sbuf, 1, 1, host);
    CHECK(s_rejects(sbuf.data, sbuf.size, "METRICS.updates[0].rrd: too long (299 > 255 bytes)",
                    &err));
    msgpack_sbuffer_destroy(&sbuf);

    /* huge declared lengths and counts must not make msgpack-c allocate for them */
    static const char *huge[] = {"\xdd\xff\xff\xff\xff", "\xdf\x7f\xff\xff\xff",
                                 "\xdb\xff\xff\xff\xff", "\xc6\xff\xff\xff\xff",
                                 "\xc9\xff\xff\xff\xff", "\x96\x01\x01\xdd\x00\x10\x00\x00"};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t len = i == 5 ? 8 : 5;
        CHECK(s_rejects(huge[i], len, "envelope: truncated", &err));
    }

    /* deeper nesting than any message needs, inside an ignored key */
    unsigned char deep[64];
    size_t n = 0;
    memcpy(deep, "\x96\x01\x02\x01\x01\xa1n\x81\xa1z", 10), n = 10;
    while (n < sizeof deep - 1)
        deep[n++] = 0x91;
    deep[n++] = 0x00;
    CHECK(s_rejects(deep, n, "envelope: nesting deeper than 16", &err));

    /* whole-message limit, on decode and on encode */
    char *big = dp_test_alloc(1, DP_MSG_MAX_BYTES + 1);
    CHECK(s_rejects(big, DP_MSG_MAX_BYTES + 1, "envelope: too large (4194305 > 4194304 bytes)",
                    &err));
    free(big);
    /* a message built from borrowed arrays (encode only reads), 4096 x 64 values: too big */
    static char def[] = "INOCTETS:DERIVE:600:0:U", path[] = "sw1/a.rrd", node[] = "n1";
    char *ds[DP_MSG_DS_MAX];
    double values[DP_MSG_DS_MAX];
    for (size_t k = 0; k < DP_MSG_DS_MAX; k++)
        ds[k] = def, values[k] = (double)k;
    dp_msg_rrd_update_t *all = dp_test_alloc(DP_MSG_UPDATES_MAX, sizeof *all);
    for (size_t k = 0; k < DP_MSG_UPDATES_MAX; k++)
        all[k] = (dp_msg_rrd_update_t){.rrd = path,
                                       .ds = ds,
                                       .n_ds = DP_MSG_DS_MAX,
                                       .values = values,
                                       .n_values = DP_MSG_DS_MAX};
    dp_msg_t m = {.type = DP_MSG_METRICS, .sender_node = node};
    m.metrics = (dp_msg_metrics_t){
        .device_id = 1, .hostname = node, .updates = all, .n_updates = DP_MSG_UPDATES_MAX};
    char *data = NULL;
    size_t size = 0;
    dp_err_clear(&err);
    CHECK_EQ_INT(dp_msg_encode(&m, &data, &size, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_PROTO);
    CHECK_CONTAINS(err.text, "METRICS: too large (");
    m.metrics.n_updates = 1; /* the same message, small enough */
    CHECK_EQ_INT(dp_msg_encode(&m, &data, &size, &err), 0);
    free(data);
    free(all);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_validate_rules)
{
    dp_err_t err;
    dp_msg_t *m = s_make(DP_MSG_JOB);
    CHECK_EQ_INT(dp_msg_validate(m, &err), 0);
    m->job.hostname[0] = '\0';
    CHECK_EQ_INT(dp_msg_validate(m, &err), -1);
    CHECK_EQ_STR(err.text, "JOB.hostname: empty string");
    char *data = NULL;
    size_t size = 0;
    CHECK_EQ_INT(dp_msg_encode(m, &data, &size, &err), -1);
    CHECK(data == NULL);
    m->job.hostname[0] = 'h';
    m->job.kind = DP_MSG_KIND_NONE;
    CHECK_EQ_INT(dp_msg_validate(m, &err), -1);
    CHECK_EQ_STR(err.text, "JOB.kind: invalid value 0");
    m->job.kind = DP_MSG_KIND_POLL;
    m->job.attempt = DP_MSG_ATTEMPT_MAX + 1;
    CHECK_EQ_INT(dp_msg_validate(m, &err), -1);
    CHECK_EQ_STR(err.text, "JOB.attempt: out of range (1001 not in 0..1000)");
    m->job.attempt = 1;
    free(m->sender_node), m->sender_node = NULL;
    CHECK_EQ_INT(dp_msg_validate(m, &err), -1);
    CHECK_EQ_STR(err.text, "envelope.sender_node: missing required string");
    dp_msg_destroy(&m);

    m = s_make(DP_MSG_METRICS);
    dp_msg_rrd_update_t *u = &m->metrics.updates[1];
    u->n_values = 2;
    CHECK_EQ_INT(dp_msg_validate(m, &err), -1);
    CHECK_EQ_STR(err.text, "METRICS.updates[1].values: 2 values for 1 ds");
    u->n_values = 1;
    static const char *bad[] = {"/etc/passwd", "../x.rrd", "a/../../x.rrd", "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        free(u->rrd);
        u->rrd = dp_test_dup(bad[i]);
        CHECK_EQ_INT(dp_msg_validate(m, &err), -1);
        CHECK_CONTAINS(err.text, "METRICS.updates[1].rrd: path must");
    }
    free(u->rrd);
    u->rrd = dp_test_dup("a/..b/c..rrd");
    CHECK_EQ_INT(dp_msg_validate(m, &err), 0);
    dp_msg_destroy(&m);

    /* decode applies validate: a relative-path violation from the wire is rejected */
    msgpack_sbuffer sbuf;
    s_metrics_bytes(&sbuf, 1, 1, "../../etc/x.rrd");
    CHECK(s_rejects(sbuf.data, sbuf.size, "METRICS.updates[0].rrd: path must not contain", &err));
    msgpack_sbuffer_destroy(&sbuf);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_type_and_enum_names)
{
    for (int t = 1; t <= S_TYPES; t++)
        CHECK_EQ_INT(dp_msg_type_from_name(dp_msg_type_name((dp_msg_type_t)t)), t);
    CHECK_EQ_INT(dp_msg_type_from_name("metrics"), DP_MSG_METRICS);
    CHECK_EQ_INT(dp_msg_type_from_name("nope"), -1);
    CHECK_EQ_STR(dp_msg_type_name((dp_msg_type_t)77), "UNKNOWN");
    CHECK(dp_msg_new((dp_msg_type_t)77) == NULL);
    CHECK_EQ_STR(dp_msg_kind_name(DP_MSG_KIND_DISCOVER), "discover");
    CHECK_EQ_INT(dp_msg_kind_from_name("bill"), DP_MSG_KIND_BILL);
    CHECK_EQ_STR(dp_msg_status_name(DP_MSG_STATUS_TIMEOUT), "timeout");
    CHECK_EQ_INT(dp_msg_status_from_name("ok"), DP_MSG_STATUS_OK);
    CHECK(dp_msg_status_name(DP_MSG_STATUS_COUNT) == NULL);
}

//  --------------------------------------------------------------------------
DP_TEST(msg_truncated_at_every_offset)
{
    for (int t = 1; t <= S_TYPES; t++) {
        size_t size = 0;
        char *g = s_read_golden((dp_msg_type_t)t, &size);
        CHECK(g);
        dp_err_t err;
        for (size_t len = 0; len < size; len++) {
            if (!s_rejects(g, len, NULL, &err))
                printf("    %s cut at %zu: \"%s\"\n", dp_msg_type_name((dp_msg_type_t)t), len,
                       err.text);
            CHECK(s_rejects(g, len, NULL, &err));
        }
        g[size] = 0; /* one trailing byte */
        CHECK(s_rejects(g, size + 1, "envelope: trailing bytes (1)", &err));
        free(g);
    }
}

//  --------------------------------------------------------------------------
//  Garbage corpus: deterministic random and mutated inputs; each must decode cleanly (and
//  then re-encode to bytes that decode again) or fail with DP_ERR_PROTO and a text.

static uint64_t s_rng = 0x9e3779b97f4a7c15u;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13; /* xorshift64 */
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static size_t s_below(size_t n)
{
    return n ? (size_t)(s_rand() % n) : 0;
}

typedef struct {
    int decoded;     /* inputs that decoded */
    int rejected;    /* inputs rejected with DP_ERR_PROTO */
    int body_errors; /* rejections naming a body field ("JOB.x") */
    int bad;         /* contract violations */
} s_tally_t;

static void s_try(const unsigned char *data, size_t size, s_tally_t *tally)
{
    dp_err_t err = {0};
    dp_msg_t *m = dp_msg_decode(data, size, &err);
    if (!m) {
        bool ok = err.code == DP_ERR_PROTO && err.text[0];
        tally->rejected += ok;
        tally->bad += !ok;
        tally->body_errors += ok && strncmp(err.text, "envelope", 8) != 0;
        return;
    }
    tally->decoded++;
    char *bytes = NULL;
    size_t n = 0;
    if (dp_msg_encode(m, &bytes, &n, &err) != 0) {
        tally->bad++;
        printf("    decoded but not re-encodable: %s\n", err.text);
    } else {
        dp_msg_t *again = dp_msg_decode(bytes, n, &err);
        char *j1 = s_json(m), *j2 = again ? s_json(again) : NULL;
        tally->bad += !again || strcmp(j1, j2) != 0;
        free(j1), free(j2), free(bytes);
        dp_msg_destroy(&again);
    }
    dp_msg_destroy(&m);
}

static size_t s_mutate(unsigned char *buf, size_t size, size_t cap)
{
    static const unsigned char magic[] = {
        0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc4, 0xc7, 0xca, 0xcb,
        0xcc, 0xcf, 0xd0, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
    size_t pos = s_below(size), n;
    switch (s_below(6)) {
    case 0: /* flip 1..4 bits */
        for (n = 1 + s_below(4); n > 0; n--)
            buf[s_below(size)] ^= (unsigned char)(1u << s_below(8));
        return size;
    case 1: /* set 1..3 bytes to msgpack-significant values */
        for (n = 1 + s_below(3); n > 0; n--)
            buf[s_below(size)] = magic[s_below(sizeof magic)];
        return size;
    case 2: /* random byte values */
        for (n = 1 + s_below(3); n > 0; n--)
            buf[s_below(size)] = (unsigned char)s_rand();
        return size;
    case 3: /* truncate */
        return s_below(size);
    case 4: /* insert 1..8 random bytes */
        n = 1 + s_below(8);
        if (size + n > cap)
            return size;
        memmove(buf + pos + n, buf + pos, size - pos);
        for (size_t i = 0; i < n; i++)
            buf[pos + i] = (unsigned char)s_rand();
        return size + n;
    default: /* delete a range */
        n = 1 + s_below(size - pos);
        memmove(buf + pos, buf + pos + n, size - pos - n);
        return size - n;
    }
}

DP_TEST(msg_garbage_corpus)
{
    s_tally_t tally = {0};
    unsigned char buf[4096];
    int inputs = 0;
    s_rng = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < S_CORPUS_RANDOM; i++, inputs++) {
        size_t n = s_below(S_RANDOM_LEN);
        for (size_t k = 0; k < n; k++)
            buf[k] = (unsigned char)s_rand();
        s_try(buf, n, &tally);
    }
    for (int i = 0; i < S_CORPUS_PREFIX; i++, inputs++) {
        size_t n = 3 + s_below(S_RANDOM_LEN);
        buf[0] = 0x96, buf[1] = 0x01, buf[2] = (unsigned char)(1 + s_below(S_TYPES + 1));
        for (size_t k = 3; k < n; k++)
            buf[k] = (unsigned char)s_rand();
        s_try(buf, n, &tally);
    }
    for (int t = 1; t <= S_TYPES; t++) {
        size_t gsize = 0;
        char *g = s_read_golden((dp_msg_type_t)t, &gsize);
        CHECK(g && gsize < sizeof buf / 2);
        for (int i = 0; i < S_CORPUS_MUTANT; i++, inputs++) {
            memcpy(buf, g, gsize);
            size_t n = gsize;
            for (size_t rounds = 1 + s_below(3); rounds > 0 && n > 0; rounds--)
                n = s_mutate(buf, n, sizeof buf);
            s_try(buf, n, &tally);
        }
        free(g);
    }
    if (dp_test_verbose())
        printf("    %d inputs: %d decoded, %d rejected (%d in a body field), %d bad\n", inputs,
               tally.decoded, tally.rejected, tally.body_errors, tally.bad);
    CHECK(inputs >= 10000);
    CHECK_EQ_INT(tally.bad, 0);
    CHECK_EQ_INT(tally.decoded + tally.rejected, inputs);
    CHECK(tally.decoded >= 100);     /* mutations that keep a valid message */
    CHECK(tally.body_errors >= 500); /* the corpus reaches past the envelope */
}
