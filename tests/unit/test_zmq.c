/*  test_zmq.c - dp_zmq: CURVE keys from APP_KEY, endpoint checks, ZAP allow/deny, house sockets
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_time.h"
#include "dp_zmq.h"

#define TEST_WAIT_MS 3000

//  Reads monitor events until one of type event or the deadline.
static bool s_wait_event(zsock_t *mon, int event)
{
    int64_t deadline = dp_time_mono_ms() + TEST_WAIT_MS;
    dp_zmq_event_t ev;
    while (dp_time_mono_ms() < deadline) {
        zmq_pollitem_t item = {zsock_resolve(mon), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) == 1 && dp_zmq_monitor_recv(mon, &ev) == 0 && ev.event == event)
            return true;
    }
    return false;
}

static bool s_wait_denied(uint64_t before)
{
    int64_t deadline = dp_time_mono_ms() + TEST_WAIT_MS;
    while (dp_zmq_auth_denied() == before && dp_time_mono_ms() < deadline)
        zclock_sleep(10);
    return dp_zmq_auth_denied() > before;
}

DP_TEST(zmq_keys_are_deterministic_and_distinct)
{
    dp_zmq_keys_t a, a2, b;
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_zmq_keys_derive("base64:app-key-one", &a, &err), 0);
    CHECK_EQ_INT(dp_zmq_keys_derive("base64:app-key-one", &a2, &err), 0);
    CHECK_EQ_INT(dp_zmq_keys_derive("base64:app-key-two", &b, &err), 0);
    CHECK(memcmp(&a, &a2, sizeof a) == 0);
    CHECK_EQ_INT(strlen(a.server_public), DP_ZMQ_Z85_KEY_LEN);
    CHECK_EQ_INT(strlen(a.client_secret), DP_ZMQ_Z85_KEY_LEN);
    CHECK(strcmp(a.server_public, b.server_public) != 0);
    CHECK(strcmp(a.client_public, b.client_public) != 0);
    CHECK(strcmp(a.server_secret, b.server_secret) != 0);
    CHECK(strcmp(a.server_public, a.client_public) != 0);
    CHECK(strcmp(a.server_secret, a.client_secret) != 0);

    char pub[DP_ZMQ_Z85_KEY_LEN + 1];
    CHECK_EQ_INT(zmq_curve_public(pub, a.server_secret), 0);
    CHECK_EQ_STR(pub, a.server_public);
    CHECK_EQ_INT(zmq_curve_public(pub, a.client_secret), 0);
    CHECK_EQ_STR(pub, a.client_public);

    dp_zmq_keys_wipe(&a2);
    CHECK_EQ_INT(a2.server_secret[0], 0);
    CHECK_EQ_INT(dp_zmq_keys_derive("", &b, &err), -1);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_EQ_INT(dp_zmq_keys_derive(NULL, &b, &err), -1);
}

DP_TEST(zmq_endpoint_validation)
{
    CHECK(dp_zmq_endpoint_valid("tcp://127.0.0.1:5555"));
    CHECK(dp_zmq_endpoint_valid("tcp://*:5555"));
    CHECK(dp_zmq_endpoint_valid("tcp://127.0.0.1:*"));
    CHECK(dp_zmq_endpoint_valid("tcp://poller-1.example.net:65535"));
    CHECK(dp_zmq_endpoint_valid("tcp://[::1]:5555"));
    CHECK(dp_zmq_endpoint_valid("ipc:///run/distpoll/poller-n1.ctl"));
    CHECK(dp_zmq_endpoint_valid("inproc://jobs"));
    CHECK(!dp_zmq_endpoint_valid(NULL));
    CHECK(!dp_zmq_endpoint_valid(""));
    CHECK(!dp_zmq_endpoint_valid("tcp://127.0.0.1"));
    CHECK(!dp_zmq_endpoint_valid("tcp://127.0.0.1:0"));
    CHECK(!dp_zmq_endpoint_valid("tcp://127.0.0.1:65536"));
    CHECK(!dp_zmq_endpoint_valid("tcp://127.0.0.1:55x"));
    CHECK(!dp_zmq_endpoint_valid("tcp://:5555"));
    CHECK(!dp_zmq_endpoint_valid("tcp://a b:5555"));
    CHECK(!dp_zmq_endpoint_valid("tcp://[::1:5555"));
    CHECK(!dp_zmq_endpoint_valid("tcp://h:1,tcp://h:2"));
    CHECK(!dp_zmq_endpoint_valid("udp://127.0.0.1:5555"));
    CHECK(!dp_zmq_endpoint_valid("ipc://"));
    CHECK(!dp_zmq_endpoint_valid("inproc://"));
    char long_ipc[200] = "ipc:///";
    memset(long_ipc + 7, 'x', 150);
    long_ipc[157] = '\0';
    CHECK(!dp_zmq_endpoint_valid(long_ipc));

    CHECK(dp_zmq_endpoint_is_local("ipc:///tmp/x.ctl"));
    CHECK(dp_zmq_endpoint_is_local("inproc://x"));
    CHECK(dp_zmq_endpoint_is_local("tcp://127.0.0.5:7000"));
    CHECK(dp_zmq_endpoint_is_local("tcp://localhost:7000"));
    CHECK(dp_zmq_endpoint_is_local("tcp://[::1]:7000"));
    CHECK(!dp_zmq_endpoint_is_local("tcp://*:7000"));
    CHECK(!dp_zmq_endpoint_is_local("tcp://10.0.0.1:7000"));
    CHECK(!dp_zmq_endpoint_is_local("tcp://127.example.com:7000"));
}

DP_TEST(zmq_refuses_unsafe_sockets)
{
    dp_zmq_keys_t keys;
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_zmq_keys_derive("k", &keys, &err), 0);
    CHECK(!dp_zmq_auth_running());
    /* a CURVE server without the ZAP handler would accept any client knowing the server key */
    CHECK(dp_zmq_server(ZMQ_PULL, "tcp://127.0.0.1:*", &keys, &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK_CONTAINS(err.text, "ZAP handler not running");
    CHECK(dp_zmq_server(ZMQ_PULL, "tcp://*:*", NULL, &err) == NULL);
    CHECK_CONTAINS(err.text, "plain");
    CHECK(dp_zmq_client(ZMQ_PUSH, "tcp://10.1.2.3:5555", NULL, &err) == NULL);
    CHECK_CONTAINS(err.text, "plain");
    CHECK(dp_zmq_client(ZMQ_PUSH, "tcp://127.0.0.1:5555,bogus", &keys, &err) == NULL);
    CHECK_CONTAINS(err.text, "bogus");
    CHECK(dp_zmq_client(ZMQ_PUSH, " , ", &keys, &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    dp_zmq_opts_t bad = {.linger_ms = -1};
    CHECK(dp_zmq_client_opts(ZMQ_PUSH, "tcp://127.0.0.1:5555", &keys, &bad, &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
}

DP_TEST(zmq_plain_local_socket_and_house_options)
{
    dp_err_t err = {0};
    dp_zmq_opts_t opts = {.sndhwm = 7, .rcvhwm = 9};
    zsock_t *server = dp_zmq_server_opts(ZMQ_PULL, "tcp://127.0.0.1:*", NULL, &opts, &err);
    CHECK(server != NULL);
    CHECK_EQ_INT(zsock_linger(server), DP_ZMQ_LINGER_MS);
    CHECK_EQ_INT(zsock_maxmsgsize(server), DP_ZMQ_MAXMSGSIZE);
    CHECK_EQ_INT(zsock_rcvhwm(server), 9);
    CHECK_EQ_INT(zsock_heartbeat_ivl(server), DP_ZMQ_HEARTBEAT_IVL_MS);
    CHECK_EQ_INT(zsock_handshake_ivl(server), DP_ZMQ_HANDSHAKE_IVL_MS);
    CHECK_EQ_INT(zsock_curve_server(server), 0);
    zsock_t *client = dp_zmq_client(ZMQ_PUSH, zsock_endpoint(server), NULL, &err);
    CHECK(client != NULL);
    CHECK_EQ_INT(zsock_immediate(client), 1);
    CHECK_EQ_INT(zsock_sndhwm(client), DP_ZMQ_HWM);
    CHECK_EQ_INT(dp_zmq_send_bytes(client, "abc", 3, 0), 0);
    zframe_t *f = dp_zmq_recv_frame(server, TEST_WAIT_MS, &err);
    CHECK(f != NULL);
    CHECK(zframe_streq(f, "abc"));
    zframe_destroy(&f);
    CHECK(dp_zmq_recv_frame(server, 50, &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_TIMEOUT);
    CHECK(dp_zmq_recv_msg(server, 0, &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_TIMEOUT);
    zsock_destroy(&client);
    zsock_destroy(&server);
}

DP_TEST(zmq_curve_admits_only_the_derived_client_key)
{
    dp_zmq_keys_t keys, rogue, other;
    dp_err_t err = {0};
    CHECK_EQ_INT(dp_zmq_keys_derive("shared-app-key", &keys, &err), 0);
    CHECK_EQ_INT(dp_zmq_keys_derive("other-app-key", &other, &err), 0);
    rogue = keys; /* knows the server key, but not the client keypair */
    CHECK_EQ_INT(zmq_curve_keypair(rogue.client_public, rogue.client_secret), 0);

    CHECK_EQ_INT(dp_zmq_auth_start(&keys, &err), 0);
    CHECK(dp_zmq_auth_running());
    CHECK_EQ_INT(dp_zmq_auth_start(&keys, &err), -1);
    zsock_t *server = dp_zmq_server(ZMQ_PULL, "tcp://127.0.0.1:*", &keys, &err);
    CHECK(server != NULL);
    CHECK_EQ_INT(zsock_curve_server(server), 1);
    const char *ep = zsock_endpoint(server);
    zsock_t *mon = dp_zmq_monitor(server, &err);
    CHECK(mon != NULL);

    uint64_t allowed = dp_zmq_auth_allowed(), denied = dp_zmq_auth_denied();
    zsock_t *good = dp_zmq_client(ZMQ_PUSH, ep, &keys, &err);
    CHECK(good != NULL);
    zsock_set_sndtimeo(good, TEST_WAIT_MS);
    CHECK_EQ_INT(dp_zmq_send_bytes(good, "hello", 5, 0), 0);
    zframe_t *f = dp_zmq_recv_frame(server, TEST_WAIT_MS, &err);
    CHECK(f != NULL && zframe_streq(f, "hello"));
    zframe_destroy(&f);
    CHECK(dp_zmq_auth_allowed() > allowed);

    zsock_t *bad = dp_zmq_client(ZMQ_PUSH, ep, &rogue, &err);
    CHECK(bad != NULL);
    CHECK(s_wait_denied(denied));
    /* with IMMEDIATE=1 the refused peer never gets a pipe: nothing can be queued */
    CHECK_EQ_INT(dp_zmq_send_bytes(bad, "inject", 6, ZMQ_DONTWAIT), -1);
    /* another APP_KEY means another server key: refused before ZAP, seen by the monitor */
    zsock_t *stranger = dp_zmq_client(ZMQ_PUSH, ep, &other, &err);
    CHECK(stranger != NULL);
    CHECK(s_wait_event(mon, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL));
    CHECK_EQ_INT(dp_zmq_send_bytes(stranger, "inject", 6, ZMQ_DONTWAIT), -1);
    CHECK(dp_zmq_recv_frame(server, 300, &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_TIMEOUT);

    CHECK_EQ_STR(dp_zmq_event_name(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), "handshake_failed_auth");
    CHECK(dp_zmq_event_is_failure(&(dp_zmq_event_t){.event = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH}));
    CHECK(!dp_zmq_event_is_failure(&(dp_zmq_event_t){.event = ZMQ_EVENT_HANDSHAKE_SUCCEEDED}));
    zsock_destroy(&mon);
    zsock_destroy(&stranger);
    zsock_destroy(&bad);
    zsock_destroy(&good);
    zsock_destroy(&server);
    dp_zmq_auth_stop();
    dp_zmq_auth_stop();
    CHECK(!dp_zmq_auth_running());
    CHECK(dp_zmq_server(ZMQ_PULL, "tcp://127.0.0.1:*", &keys, &err) == NULL);
}
