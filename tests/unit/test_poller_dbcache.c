/*  test_poller_dbcache.c - poller_dbcache: hits only for the poll time stored, every polled
    port present, bounded by its port budget; stored samples are what the row holds.
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "../../poller/poller_dbcache.h"

#include <string.h>

#define T0_MS INT64_C(1700000000000)

static void s_poll(poller_poll_t *poll, uint64_t dev, int64_t at_ms, int nports, uint64_t v)
{
    poller_poll_reset(poll, dev, at_ms);
    poll->at_ms = at_ms;
    for (int k = 0; k < nports; k++) {
        poller_port_t *p = poller_poll_port(poll, (uint32_t)(k + 1) * 10, true);
        uint32_t idx = p->if_index;
        memset(p, 0, sizeof *p);
        p->if_index = idx;
        p->port_id = 100 + (uint32_t)k;
        p->hc[POLLER_CTR_IN_OCTETS] = v + (uint64_t)k;
        p->have_hc = 1u << POLLER_CTR_IN_OCTETS;
        p->lo[POLLER_CTR_IN_ERRORS] = 7;
        p->have_lo = 1u << POLLER_CTR_IN_ERRORS;
    }
}

DP_TEST(poller_dbcache_hit_and_mismatch)
{
    poller_dbcache_t *c = poller_dbcache_new(8, 1000);
    CHECK(c != NULL);
    poller_poll_t a = {0}, b = {0};
    poller_prev_t prev[4];
    s_poll(&a, 5, T0_MS, 3, 1000);
    poller_dbcache_put(c, &a);
    s_poll(&b, 5, T0_MS + 300000, 3, 2000);
    for (int k = 0; k < 3; k++)
        b.ports[k].port_id = 0;
    /* the device row says someone wrote later (or earlier): a miss, nothing filled */
    CHECK(!poller_dbcache_get(c, &b, T0_MS + 1, prev));
    CHECK_EQ_INT(b.ports[0].port_id, 0);
    CHECK(poller_dbcache_get(c, &b, T0_MS, prev));
    CHECK_EQ_INT(b.ports[2].port_id, 102);
    CHECK(prev[2].valid);
    CHECK(prev[2].at_ms == T0_MS);
    CHECK(prev[2].value[POLLER_CTR_IN_OCTETS] == 1002);
    CHECK(prev[2].value[POLLER_CTR_IN_ERRORS] == 7);
    CHECK_EQ_INT(prev[2].have, (1u << POLLER_CTR_IN_OCTETS) | (1u << POLLER_CTR_IN_ERRORS));
    CHECK_EQ_INT(prev[2].hc_mask, 1u << POLLER_CTR_IN_OCTETS);
    /* a poll not after the stored one is not served */
    s_poll(&b, 5, T0_MS, 3, 2000);
    CHECK(!poller_dbcache_get(c, &b, T0_MS, prev));
    /* a port the entry lacks: miss (its row must be read or created) */
    s_poll(&b, 5, T0_MS + 300000, 4, 2000);
    CHECK(!poller_dbcache_get(c, &b, T0_MS, prev));
    /* fewer ports than stored: hit for those polled */
    s_poll(&b, 5, T0_MS + 300000, 2, 2000);
    CHECK(poller_dbcache_get(c, &b, T0_MS, prev));
    /* another device, and a dropped one */
    s_poll(&b, 6, T0_MS + 300000, 2, 2000);
    CHECK(!poller_dbcache_get(c, &b, T0_MS, prev));
    poller_dbcache_drop(c, 5);
    s_poll(&b, 5, T0_MS + 300000, 2, 2000);
    CHECK(!poller_dbcache_get(c, &b, T0_MS, prev));
    uint64_t hits, misses;
    size_t ports;
    poller_dbcache_stats(c, &hits, &misses, &ports);
    CHECK_EQ_INT(hits, 2);
    CHECK_EQ_INT(misses, 5);
    CHECK_EQ_INT(ports, 0);
    poller_poll_free(&a);
    poller_poll_free(&b);
    poller_dbcache_destroy(&c);
    CHECK(c == NULL);
}

DP_TEST(poller_dbcache_bounded)
{
    poller_dbcache_t *c = poller_dbcache_new(64, 10);
    poller_poll_t a = {0};
    poller_prev_t prev[8];
    uint64_t hits, misses;
    size_t ports;
    s_poll(&a, 1, T0_MS, 6, 1);
    poller_dbcache_put(c, &a);
    s_poll(&a, 2, T0_MS, 6, 1); /* 12 > 10: not kept */
    poller_dbcache_put(c, &a);
    poller_dbcache_stats(c, &hits, &misses, &ports);
    CHECK_EQ_INT(ports, 6);
    s_poll(&a, 2, T0_MS + 1000, 6, 1);
    CHECK(!poller_dbcache_get(c, &a, T0_MS, prev));
    /* replacing an entry frees its ports; ports without an id are not kept */
    s_poll(&a, 1, T0_MS + 1000, 6, 1);
    a.ports[0].port_id = 0;
    poller_dbcache_put(c, &a);
    poller_dbcache_stats(c, &hits, &misses, &ports);
    CHECK_EQ_INT(ports, 5);
    poller_poll_free(&a);
    poller_dbcache_destroy(&c);
}
