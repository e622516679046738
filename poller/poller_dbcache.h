/*  poller_dbcache.h - the last port samples a poller_db connection wrote, per device
    Lets poller_db_write_batch skip reading previous counters back from `ports`. An entry is
    trusted only when the device row's last_polled (read under FOR UPDATE in the same
    transaction) equals the poll time the entry was stored for, i.e. nobody (another poller,
    a poll that failed to commit) has written the device since: anything else is a miss and
    the caller reads the rows. Bounded: a fixed number of direct-mapped slots and a total port
    budget; a device that does not fit is simply not cached. One per connection (thread).
    SPDX-License-Identifier: MIT */
#ifndef POLLER_DBCACHE_H
#define POLLER_DBCACHE_H

#include "poller_modules.h"

#include <stddef.h>
#include <stdint.h>

#define POLLER_DBCACHE_SLOTS 32768
#define POLLER_DBCACHE_PORTS 327680 /* ~38 MB per connection: 13,653 devices of 24 ports */

typedef struct poller_dbcache poller_dbcache_t;

/* slots > 0 (rounded up to a power of two), max_ports: total ports kept. NULL on OOM. */
poller_dbcache_t *poller_dbcache_new(int slots, size_t max_ports);
void poller_dbcache_destroy(poller_dbcache_t **p);

/* When the entry of poll->device_id was stored for a poll at last_polled_ms and holds every
   port of poll: sets each port's port_id and prev[k] (k = index in poll->ports) and returns
   true. Otherwise returns false and changes nothing. */
bool poller_dbcache_get(poller_dbcache_t *c, poller_poll_t *poll, int64_t last_polled_ms,
                        poller_prev_t *prev);

/* Stores what a committed poll wrote (ports with a port_id; the device's last_polled is
   poll->at_ms). Replaces the slot's entry; drops it when the ports do not fit. */
void poller_dbcache_put(poller_dbcache_t *c, const poller_poll_t *poll);

/* Forgets device_id. */
void poller_dbcache_drop(poller_dbcache_t *c, uint64_t device_id);

/* Lookups that hit / missed, ports held. */
void poller_dbcache_stats(const poller_dbcache_t *c, uint64_t *hits, uint64_t *misses,
                          size_t *ports);

#endif
