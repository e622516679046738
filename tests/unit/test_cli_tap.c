/*  test_cli_tap.c - dp_tap: nothing is copied while nobody listens; a subscriber gets every
    message with its topic; a slow or absent reader never blocks the publisher.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_msg.h"
#include "dp_tap.h"
#include "dp_time.h"

#include <czmq.h>
#include <stdlib.h>
#include <unistd.h>

#define TEST_WAIT_MS 3000
#define TEST_FLOOD   50000

DP_TEST(tap_endpoint_and_bad_names)
{
    char buf[256];
    CHECK_EQ_INT(dp_tap_endpoint("/run/distpoll", "poller", "n1", buf, sizeof buf), 0);
    CHECK_EQ_STR(buf, "ipc:///run/distpoll/poller-n1.tap");
    char longdir[200];
    memset(longdir, 'x', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    CHECK_EQ_INT(dp_tap_endpoint(longdir, "poller", "n1", buf, sizeof buf), -1);
    dp_err_t err = {0};
    CHECK(dp_tap_new("/tmp", "bad name", "n1", &err) == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_CONFIG);
    CHECK(!dp_tap_publish(NULL, DP_TAP_IN, "x", 1));
}

DP_TEST(tap_copies_only_while_someone_listens)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/dp-tap-%d", (int)getpid());
    mkdir(dir, 0700);
    dp_err_t err = {0};
    dp_tap_t *tap = dp_tap_new(dir, "poller", "n1", &err);
    CHECK(tap != NULL);
    CHECK(!dp_tap_publish(tap, DP_TAP_OUT, "nobody", 6));
    CHECK_EQ_INT(dp_tap_published(tap), 0);

    dp_msg_t *m = dp_msg_new(DP_MSG_ACK);
    m->msg_id = 9;
    m->sender_node = strdup("n1");
    m->ack.ids = calloc(1, sizeof(uint64_t));
    m->ack.ids[0] = 5;
    m->ack.n_ids = 1;
    char *bytes;
    size_t size;
    CHECK_EQ_INT(dp_msg_encode(m, &bytes, &size, &err), 0);

    zsock_t *sub = zsock_new_sub(dp_tap_bound(tap), "poller.in");
    CHECK(sub != NULL);
    int64_t deadline = dp_time_mono_ms() + TEST_WAIT_MS;
    while (!dp_tap_poll(tap) && dp_time_mono_ms() < deadline)
        usleep(2000);
    CHECK(dp_tap_listening(tap));
    /* subscribed to "in" only: "out" is filtered by the publisher */
    dp_tap_publish(tap, DP_TAP_OUT, bytes, size);
    CHECK(dp_tap_publish(tap, DP_TAP_IN, bytes, size));
    zsock_set_rcvtimeo(sub, TEST_WAIT_MS);
    zmsg_t *got = zmsg_recv(sub);
    CHECK(got != NULL);
    CHECK_EQ_INT(zmsg_size(got), 2);
    char *topic = zmsg_popstr(got);
    CHECK_EQ_STR(topic, "poller.in");
    free(topic);
    zframe_t *f = zmsg_pop(got);
    dp_msg_t *back = dp_msg_decode(zframe_data(f), zframe_size(f), &err);
    CHECK(back != NULL);
    CHECK_EQ_INT(back->ack.ids[0], 5);
    dp_msg_destroy(&back);
    zframe_destroy(&f);
    zmsg_destroy(&got);

    /* a reader that does not read: the publisher never blocks (a block would hang the run;
       timing belongs in make bench, so it is printed, not asserted) */
    int64_t t0 = dp_time_mono_ms();
    for (int i = 0; i < TEST_FLOOD; i++)
        dp_tap_publish(tap, DP_TAP_IN, bytes, size);
    int64_t took_ms = dp_time_mono_ms() - t0;
    if (dp_test_verbose())
        printf("    %d tap copies with a stalled reader: %lld ms\n", TEST_FLOOD,
               (long long)took_ms);

    zsock_destroy(&sub);
    deadline = dp_time_mono_ms() + TEST_WAIT_MS;
    while (dp_tap_poll(tap) && dp_time_mono_ms() < deadline)
        usleep(2000);
    CHECK(!dp_tap_listening(tap));
    CHECK(!dp_tap_publish(tap, DP_TAP_IN, bytes, size));
    free(bytes);
    dp_msg_destroy(&m);
    dp_tap_destroy(&tap);
    CHECK(tap == NULL);
    rmdir(dir);
}
