/*  poller_dbcache.c - last written port samples per device (see poller_dbcache.h)
    SPDX-License-Identifier: MIT */
#include "poller_dbcache.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t if_index, port_id;
    uint16_t hc_mask, have;
    uint64_t value[POLLER_CTR_COUNT];
} s_port_t;

typedef struct {
    uint64_t device_id; /* 0 = empty */
    int64_t at_ms;      /* the poll time written as devices.last_polled */
    int nports;
    s_port_t *ports; /* sorted by if_index, like poll->ports */
} s_entry_t;

struct poller_dbcache {
    s_entry_t *slots;
    size_t mask, max_ports, ports;
    uint64_t hits, misses;
};

poller_dbcache_t *poller_dbcache_new(int slots, size_t max_ports)
{
    size_t n = 1;
    while (n < (size_t)(slots > 0 ? slots : 1))
        n *= 2;
    poller_dbcache_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slots = calloc(n, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    c->max_ports = max_ports;
    return c;
}

static void s_clear(poller_dbcache_t *c, s_entry_t *e)
{
    c->ports -= (size_t)e->nports;
    free(e->ports);
    memset(e, 0, sizeof *e);
}

void poller_dbcache_destroy(poller_dbcache_t **p)
{
    if (!p || !*p)
        return;
    poller_dbcache_t *c = *p;
    for (size_t i = 0; i <= c->mask; i++)
        free(c->slots[i].ports);
    free(c->slots);
    free(c);
    *p = NULL;
}

static s_entry_t *s_slot(const poller_dbcache_t *c, uint64_t device_id)
{
    return &c->slots[(device_id * UINT64_C(0x9E3779B97F4A7C15)) >> 17 & c->mask];
}

bool poller_dbcache_get(poller_dbcache_t *c, poller_poll_t *poll, int64_t last_polled_ms,
                        poller_prev_t *prev)
{
    s_entry_t *e = s_slot(c, poll->device_id);
    bool ok = e->device_id == poll->device_id && e->at_ms == last_polled_ms &&
              e->at_ms < poll->at_ms && poll->nports <= e->nports;
    /* both sorted by if_index: every polled port must be in the entry */
    for (int k = 0, j = 0; ok && k < poll->nports; k++) {
        while (j < e->nports && e->ports[j].if_index < poll->ports[k].if_index)
            j++;
        ok = j < e->nports && e->ports[j].if_index == poll->ports[k].if_index;
    }
    if (!ok) {
        c->misses++;
        return false;
    }
    for (int k = 0, j = 0; k < poll->nports; k++) {
        while (e->ports[j].if_index < poll->ports[k].if_index)
            j++;
        const s_port_t *s = &e->ports[j];
        poll->ports[k].port_id = s->port_id;
        poller_prev_t *pv = &prev[k];
        memset(pv, 0, sizeof *pv);
        pv->valid = true;
        pv->at_ms = e->at_ms;
        pv->hc_mask = s->hc_mask;
        pv->have = s->have;
        memcpy(pv->value, s->value, sizeof pv->value);
    }
    c->hits++;
    return true;
}

void poller_dbcache_put(poller_dbcache_t *c, const poller_poll_t *poll)
{
    s_entry_t *e = s_slot(c, poll->device_id);
    int n = 0;
    for (int k = 0; k < poll->nports; k++)
        n += poll->ports[k].port_id != 0;
    if (e->device_id)
        s_clear(c, e);
    if (n == 0 || c->ports + (size_t)n > c->max_ports)
        return;
    e->ports = malloc((size_t)n * sizeof *e->ports);
    if (!e->ports)
        return;
    e->device_id = poll->device_id;
    e->at_ms = poll->at_ms;
    e->nports = n;
    c->ports += (size_t)n;
    s_port_t *s = e->ports;
    for (int k = 0; k < poll->nports; k++) {
        const poller_port_t *p = &poll->ports[k];
        if (p->port_id == 0)
            continue;
        memset(s, 0, sizeof *s);
        s->if_index = p->if_index;
        s->port_id = p->port_id;
        s->hc_mask = poller_port_hc_mask(p);
        for (int ctr = 0; ctr < POLLER_CTR_COUNT; ctr++) {
            int bits;
            if (poller_port_counter(p, ctr, &s->value[ctr], &bits))
                s->have |= (uint16_t)(1u << ctr);
        }
        s++;
    }
}

void poller_dbcache_drop(poller_dbcache_t *c, uint64_t device_id)
{
    s_entry_t *e = s_slot(c, device_id);
    if (e->device_id == device_id)
        s_clear(c, e);
}

void poller_dbcache_stats(const poller_dbcache_t *c, uint64_t *hits, uint64_t *misses,
                          size_t *ports)
{
    *hits = c->hits;
    *misses = c->misses;
    *ports = c->ports;
}
