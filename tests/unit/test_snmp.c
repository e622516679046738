/*  test_snmp.c - dp_snmp: pure helpers, and the engine against tiny loopback agents that stay
    silent, send garbage, answer with a wrong request id, answer late or properly; sessions
    closed with requests in flight.
    SPDX-License-Identifier: MIT */
#include "dp_snmp.h"
#include "dp_test.h"
#include "dp_time.h"

#include <arpa/inet.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static void s_init_once(void)
{
    static bool done = false;
    if (!done) {
        dp_snmp_init("distpoll-test");
        done = true;
    }
}

DP_TEST(snmp_oid_parse_and_under)
{
    oid o[DP_SNMP_OID_MAX];
    CHECK_EQ_INT(dp_snmp_oid_parse("1.3.6.1.2.1.1.3", o, DP_SNMP_OID_MAX), 8);
    CHECK_EQ_INT(o[7], 3);
    CHECK_EQ_INT(dp_snmp_oid_parse(".1.3.6", o, DP_SNMP_OID_MAX), 3);
    CHECK_EQ_INT(dp_snmp_oid_parse("1.3.x", o, DP_SNMP_OID_MAX), -1);
    CHECK_EQ_INT(dp_snmp_oid_parse("1..3", o, DP_SNMP_OID_MAX), -1);
    CHECK_EQ_INT(dp_snmp_oid_parse("1.3.6.1", o, 3), -1);
    CHECK_EQ_INT(dp_snmp_oid_parse("", o, 3), -1);
    oid prefix[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 10};
    oid in[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 7};
    oid next[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 11, 1};
    CHECK(dp_snmp_oid_under(prefix, 10, in, 11));
    CHECK(!dp_snmp_oid_under(prefix, 10, next, 11));
    CHECK(!dp_snmp_oid_under(prefix, 10, prefix, 10)); /* the prefix itself is not under */
}

DP_TEST(snmp_bulk_column_mapping)
{
    /* 2 non-repeaters then 3 repeaters: vb 0,1 scalars; 2,3,4 row 1; 5,6,7 row 2 */
    CHECK_EQ_INT(dp_snmp_bulk_col(0, 2, 3), 0);
    CHECK_EQ_INT(dp_snmp_bulk_col(1, 2, 3), 1);
    CHECK_EQ_INT(dp_snmp_bulk_col(2, 2, 3), 2);
    CHECK_EQ_INT(dp_snmp_bulk_col(4, 2, 3), 4);
    CHECK_EQ_INT(dp_snmp_bulk_col(5, 2, 3), 2);
    CHECK_EQ_INT(dp_snmp_bulk_col(7, 2, 3), 4);
    CHECK_EQ_INT(dp_snmp_bulk_col(2, 2, 0), -1);
    CHECK_EQ_INT(dp_snmp_bulk_col(-1, 0, 3), -1);
}

DP_TEST(snmp_shrink_on_toobig)
{
    int rep = 25, cols = 20;
    CHECK(dp_snmp_shrink(&rep, &cols));
    CHECK_EQ_INT(rep, 12);
    while (rep > 1)
        CHECK(dp_snmp_shrink(&rep, &cols));
    CHECK_EQ_INT(cols, 20);
    CHECK(dp_snmp_shrink(&rep, &cols));
    CHECK_EQ_INT(cols, 10);
    while (cols > 1)
        CHECK(dp_snmp_shrink(&rep, &cols));
    CHECK(!dp_snmp_shrink(&rep, &cols));
}

DP_TEST(snmp_var_values)
{
    s_init_once();
    oid name[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1};
    netsnmp_variable_list *v = NULL;
    struct counter64 c64 = {.high = 0x1, .low = 0x2};
    snmp_varlist_add_variable(&v, name, 12, ASN_COUNTER64, &c64, sizeof c64);
    uint64_t n = 0;
    int bits = 0;
    CHECK(dp_snmp_var_u64(v, &n, &bits));
    CHECK(n == 0x100000002ULL);
    CHECK_EQ_INT(bits, 64);
    snmp_free_varbind(v);
    v = NULL;
    u_long c32 = 4294967295UL;
    snmp_varlist_add_variable(&v, name, 12, ASN_COUNTER, &c32, sizeof c32);
    CHECK(dp_snmp_var_u64(v, &n, &bits));
    CHECK(n == 4294967295ULL);
    CHECK_EQ_INT(bits, 32);
    snmp_free_varbind(v);
    v = NULL;
    snmp_varlist_add_variable(&v, name, 12, ASN_OCTET_STR, "eth0-long-name", 14);
    CHECK(!dp_snmp_var_u64(v, &n, &bits));
    char buf[5];
    CHECK(dp_snmp_var_str(v, buf, sizeof buf));
    CHECK_EQ_STR(buf, "eth0");
    snmp_free_varbind(v);
}

DP_TEST(snmp_names_and_keys)
{
    s_init_once();
    dp_snmp_version_t ver;
    dp_snmp_level_t lvl;
    CHECK(dp_snmp_version_parse("v2c", &ver) == 0 && ver == DP_SNMP_V2C);
    CHECK(dp_snmp_version_parse("V3", &ver) == 0 && ver == DP_SNMP_V3);
    CHECK(dp_snmp_version_parse("v4", &ver) != 0);
    CHECK(dp_snmp_level_parse("authPriv", &lvl) == 0 && lvl == DP_SNMP_AUTHPRIV);
    CHECK(dp_snmp_level_parse("bogus", &lvl) != 0);
    CHECK(dp_snmp_auth_proto_valid("SHA-512") && dp_snmp_auth_proto_valid("md5"));
    CHECK(!dp_snmp_auth_proto_valid("SHA-1024"));
    CHECK(dp_snmp_priv_proto_valid("AES-256") && !dp_snmp_priv_proto_valid("AES-256C"));
    dp_snmp_target_t t = {.version = DP_SNMP_V3,
                          .level = DP_SNMP_AUTHPRIV,
                          .auth_proto = "SHA-256",
                          .priv_proto = "AES",
                          .auth_pass = "auth-passphrase",
                          .priv_pass = "priv-passphrase"};
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_snmp_target_keys(&t, &err), 0);
    CHECK_EQ_INT(t.auth_ku_len, 32);
    CHECK_EQ_INT(t.priv_ku_len, 32);
    dp_snmp_target_t bad = {.version = DP_SNMP_V3,
                            .level = DP_SNMP_AUTHNOPRIV,
                            .auth_proto = "SHA",
                            .auth_pass = "short"};
    CHECK_EQ_INT(dp_snmp_target_keys(&bad, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_EQ_STR(dp_snmp_status_name(DP_SNMP_TIMEOUT), "timeout");
}

// ---------------------------------------------------------------------------- loopback agents

/* S_SLOW echoes 300 ms late; S_ONCE echoes the first request only */
typedef enum { S_SILENT, S_GARBAGE, S_WRONG_ID, S_ECHO, S_SLOW, S_ONCE } s_mode_t;

typedef struct {
    int fd, port;
    s_mode_t mode;
    volatile bool stop;
    int answered;
} s_agent_t;

//  Offset of the PDU tag in a v1/v2c message (after SEQUENCE, version, community), or -1.
static int s_pdu_at(const unsigned char *p, int n)
{
    int i = 1;
    if (n < 2 || p[0] != 0x30)
        return -1;
    i += (p[1] & 0x80) ? 1 + (p[1] & 0x7f) : 1;
    if (i + 3 > n || p[i] != 0x02)
        return -1;
    i += 2 + p[i + 1];
    if (i + 2 > n || p[i] != 0x04 || (p[i + 1] & 0x80))
        return -1;
    i += 2 + p[i + 1];
    return i < n ? i : -1;
}

static void *s_agent_run(void *arg)
{
    s_agent_t *a = arg;
    unsigned char buf[65536];
    while (!a->stop) {
        struct pollfd pfd = {a->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(a->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        int at = n > 0 ? s_pdu_at(buf, (int)n) : -1;
        if (at < 0 || a->mode == S_SILENT || (a->mode == S_ONCE && a->answered > 0))
            continue;
        if (a->mode == S_SLOW)
            usleep(300 * 1000);
        if (a->mode == S_GARBAGE) {
            memcpy(buf, "\x30\x82\xff\xff garbage", 12);
            n = 12;
        } else {
            buf[at] = 0xA2; /* GetBulk/GetNext -> Response */
            int len_bytes = (buf[at + 1] & 0x80) ? 1 + (buf[at + 1] & 0x7f) : 1;
            int rid = at + 1 + len_bytes; /* request-id INTEGER */
            if (a->mode == S_WRONG_ID)
                buf[rid + 1 + buf[rid + 1]] ^= 0x55;
            /* error-status := 0 (it held non-repeaters) */
            int es = rid + 2 + buf[rid + 1];
            if (buf[es] == 0x02 && buf[es + 1] == 1)
                buf[es + 2] = 0;
        }
        sendto(a->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        a->answered++;
    }
    return NULL;
}

static void s_agent_start(s_agent_t *a, pthread_t *th, s_mode_t mode)
{
    memset(a, 0, sizeof *a);
    a->mode = mode;
    a->fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(a->fd, (struct sockaddr *)&sa, sizeof sa);
    socklen_t l = sizeof sa;
    getsockname(a->fd, (struct sockaddr *)&sa, &l);
    a->port = ntohs(sa.sin_port);
    pthread_create(th, NULL, s_agent_run, a);
}

static void s_agent_stop(s_agent_t *a, pthread_t th)
{
    a->stop = true;
    pthread_join(th, NULL);
    close(a->fd);
}

typedef struct {
    bool done;
    dp_snmp_status_t st;
    char detail[DP_SNMP_DETAIL_MAX];
    int vars;
} s_result_t;

static void s_on_var(void *arg, int col, const oid *idx, size_t idx_len,
                     const netsnmp_variable_list *v, int64_t at_ms)
{
    (void)col, (void)idx, (void)idx_len, (void)v, (void)at_ms;
    ((s_result_t *)arg)->vars++;
}

static void s_on_done(void *arg, dp_snmp_status_t st, const char *detail)
{
    s_result_t *r = arg;
    r->done = true;
    r->st = st;
    snprintf(r->detail, sizeof r->detail, "%s", detail);
}

//  Walks one column of the agent at port; returns the result after the walk ends.
static s_result_t s_walk_agent(int port, dp_snmp_version_t ver)
{
    s_result_t r = {0};
    dp_snmp_t *e = dp_snmp_new(10);
    dp_snmp_target_t t = {.host = "127.0.0.1",
                          .port = port,
                          .version = ver,
                          .community = "public",
                          .timeout_ms = 150,
                          .retries = 1};
    static const oid col[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 10};
    dp_snmp_col_t cols[] = {{col, 10, false}};
    dp_err_t err = {0};
    dp_snmp_sess_t *s = dp_snmp_open(e, &t, &err);
    if (s && dp_snmp_walk(s, cols, 1, 10, s_on_var, s_on_done, &r, &err) == 0) {
        int64_t deadline = dp_time_mono_ms() + 3000;
        while (!r.done && dp_time_mono_ms() < deadline) {
            struct pollfd pfd = {dp_snmp_fd(e), POLLIN, 0};
            poll(&pfd, 1, dp_snmp_timeout_ms(e));
            dp_snmp_process(e);
        }
    }
    dp_snmp_close(&s);
    dp_snmp_process(e);
    dp_snmp_destroy(&e);
    return r;
}

DP_TEST(snmp_engine_classifies_failures)
{
    s_init_once();
    s_agent_t a;
    pthread_t th;
    int64_t t0 = dp_time_mono_ms();
    s_agent_start(&a, &th, S_SILENT);
    s_result_t r = s_walk_agent(a.port, DP_SNMP_V2C);
    s_agent_stop(&a, th);
    CHECK(r.done);
    CHECK_EQ_INT(r.st, DP_SNMP_TIMEOUT);
    CHECK_EQ_STR(r.detail, "no response");
    CHECK(dp_time_mono_ms() - t0 >= 290); /* 150 ms x (1 + 1 retry) */

    s_agent_start(&a, &th, S_GARBAGE);
    r = s_walk_agent(a.port, DP_SNMP_V2C);
    s_agent_stop(&a, th);
    CHECK_EQ_INT(r.st, DP_SNMP_TIMEOUT);
    CHECK_CONTAINS(r.detail, "malformed reply");
    CHECK_EQ_INT(a.answered, 2);

    s_agent_start(&a, &th, S_WRONG_ID);
    r = s_walk_agent(a.port, DP_SNMP_V2C);
    s_agent_stop(&a, th);
    CHECK_EQ_INT(r.st, DP_SNMP_TIMEOUT);
    CHECK_CONTAINS(r.detail, "wrong request id");
}

DP_TEST(snmp_engine_walk_ends_on_reply)
{
    s_init_once();
    s_agent_t a;
    pthread_t th;
    /* the echo agent answers with the request's own OIDs: the column ends at once */
    s_agent_start(&a, &th, S_ECHO);
    s_result_t r = s_walk_agent(a.port, DP_SNMP_V2C);
    s_result_t r1 = s_walk_agent(a.port, DP_SNMP_V1);
    s_agent_stop(&a, th);
    CHECK(r.done);
    CHECK_EQ_INT(r.st, DP_SNMP_OK);
    CHECK_EQ_INT(r.vars, 0);
    CHECK_EQ_INT(r1.st, DP_SNMP_OK);
    CHECK_EQ_INT(a.answered, 2);
}

// ------------------------------------------------------- closing sessions with requests in flight

typedef struct {
    int dones;
    dp_snmp_status_t st;
    dp_snmp_sess_t **close[2]; /* sessions this walk's done callback closes */
} s_count_t;

static void s_count_var(void *arg, int col, const oid *idx, size_t idx_len,
                        const netsnmp_variable_list *v, int64_t at_ms)
{
    (void)arg, (void)col, (void)idx, (void)idx_len, (void)v, (void)at_ms;
}

static void s_count_done(void *arg, dp_snmp_status_t st, const char *detail)
{
    (void)detail;
    s_count_t *c = arg;
    c->dones++;
    c->st = st;
    for (int i = 0; i < 2; i++)
        if (c->close[i])
            dp_snmp_close(c->close[i]);
}

static const oid s_col_oid[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, 10};
static const dp_snmp_col_t s_cols[] = {{s_col_oid, 10, false}};

static dp_snmp_sess_t *s_open_port(dp_snmp_t *e, int port)
{
    dp_snmp_target_t t = {.host = "127.0.0.1",
                          .port = port,
                          .version = DP_SNMP_V2C,
                          .community = "public",
                          .timeout_ms = 2000, /* nothing times out during the test */
                          .retries = 0};
    dp_err_t err = {0};
    return dp_snmp_open(e, &t, &err);
}

static int s_start(dp_snmp_sess_t *s, s_count_t *c)
{
    dp_err_t err = {0};
    return s ? dp_snmp_walk(s, s_cols, 1, 10, s_count_var, s_count_done, c, &err) : -1;
}

static void s_spin(dp_snmp_t *e, int ms)
{
    int64_t end = dp_time_mono_ms() + ms;
    for (int64_t now = dp_time_mono_ms(); now < end; now = dp_time_mono_ms()) {
        int tmo = dp_snmp_timeout_ms(e);
        struct pollfd pfd = {dp_snmp_fd(e), POLLIN, 0};
        poll(&pfd, 1, tmo < 0 || tmo > end - now ? (int)(end - now) : tmo);
        dp_snmp_process(e);
    }
}

DP_TEST(snmp_engine_close_with_requests_in_flight)
{
    s_init_once();
    s_agent_t sil, slow, once, echo;
    pthread_t th_sil, th_slow, th_once, th_echo;
    s_agent_start(&sil, &th_sil, S_SILENT);
    s_agent_start(&slow, &th_slow, S_SLOW);
    s_agent_start(&once, &th_once, S_ONCE);
    s_agent_start(&echo, &th_echo, S_ECHO);
    dp_snmp_t *e = dp_snmp_new(100);
    /* a: silent + b: slow, closed from outside; c: silent + d: slow, closed by e's done
       callback; f1 answered, its done callback closes its own session with f2 in flight;
       g: left running for dp_snmp_destroy (no callback) */
    dp_snmp_sess_t *sa = s_open_port(e, sil.port), *sb = s_open_port(e, slow.port);
    dp_snmp_sess_t *sc = s_open_port(e, sil.port), *sd = s_open_port(e, slow.port);
    dp_snmp_sess_t *se = s_open_port(e, echo.port), *sf = s_open_port(e, once.port);
    dp_snmp_sess_t *sg = s_open_port(e, sil.port);
    s_count_t a1 = {0}, a2 = {0}, b = {0}, c = {0}, d1 = {0}, d2 = {0}, we = {0}, f1 = {0},
              f2 = {0}, g = {0};
    we.close[0] = &sc;
    we.close[1] = &sd;
    f1.close[0] = &sf;
    CHECK_EQ_INT(s_start(sa, &a1) + s_start(sa, &a2) + s_start(sb, &b) + s_start(sc, &c), 0);
    CHECK_EQ_INT(s_start(sd, &d1) + s_start(sd, &d2) + s_start(sf, &f1) + s_start(sf, &f2), 0);
    CHECK_EQ_INT(s_start(sg, &g), 0);
    CHECK_EQ_INT(dp_snmp_inflight(e), 9);
    dp_snmp_process(e);
    dp_snmp_close(&sa);
    dp_snmp_close(&sb);
    CHECK(sa == NULL && sb == NULL);
    CHECK_EQ_INT(s_start(se, &we), 0); /* only now: its callback closes c and d */
    int64_t deadline = dp_time_mono_ms() + 1500;
    while (dp_time_mono_ms() < deadline &&
           !(a1.dones && a2.dones && b.dones && c.dones && d1.dones && d2.dones && we.dones &&
             f1.dones && f2.dones))
        s_spin(e, 10);
    s_spin(e, 400); /* the slow agent's late answers reach closed sockets only */
    s_count_t *cancelled[] = {&a1, &a2, &b, &c, &d1, &d2, &f2};
    for (size_t i = 0; i < sizeof cancelled / sizeof *cancelled; i++) {
        CHECK_EQ_INT(cancelled[i]->dones, 1);
        CHECK_EQ_INT(cancelled[i]->st, DP_SNMP_CANCELLED);
    }
    CHECK_EQ_INT(we.dones, 1);
    CHECK_EQ_INT(we.st, DP_SNMP_OK);
    CHECK_EQ_INT(f1.dones, 1);
    CHECK_EQ_INT(f1.st, DP_SNMP_OK);
    CHECK(sc == NULL && sd == NULL && sf == NULL && se != NULL);
    CHECK_EQ_INT(dp_snmp_inflight(e), 1); /* g only */
    CHECK_EQ_INT(g.dones, 0);
    dp_snmp_close(&se);
    dp_snmp_process(e);
    dp_snmp_destroy(&e); /* g still in flight: dropped without a callback */
    CHECK_EQ_INT(g.dones, 0);
    CHECK_EQ_INT(once.answered, 1);
    CHECK(slow.answered >= 1);
    s_agent_stop(&sil, th_sil);
    s_agent_stop(&slow, th_slow);
    s_agent_stop(&once, th_once);
    s_agent_stop(&echo, th_echo);
}
