/*  scheduler_plan.h - what is due: per-kind target table, stable phases, due queues
    One plan per job kind (poll, discover, bill). A target (device, or bill for kind bill) has
    a phase = hash(id) mod interval, stable across restarts, so work is spread over the
    interval. Its slot at time t is the latest s <= t with (s - phase) % interval == 0; it is due
    when that slot is not done. Due targets wait in one min-heap per poller group ordered by
    the oldest undone slot; done targets wait in a release heap keyed by their next slot, so a
    tick costs O(k log n) for the k targets that change state, never a scan. Pure in-memory
    code (no I/O); times are unix seconds. Single-threaded.
    SPDX-License-Identifier: MIT */
#ifndef SCHEDULER_PLAN_H
#define SCHEDULER_PLAN_H

#include "dp_msg.h"

#include <stdbool.h>
#include <stdint.h>

#define SCHEDULER_PLAN_NONE       INT64_MIN /* "never done" */
#define SCHEDULER_PLAN_MAX_GROUPS 1024      /* distinct poller groups tracked */

typedef enum {
    SCHEDULER_TARGET_OFF = 0, /* disabled or removed: not scheduled */
    SCHEDULER_TARGET_WAITING, /* done for its slot, or a retry delay: waits for release_s */
    SCHEDULER_TARGET_READY,   /* due: queued in its group's heap */
    SCHEDULER_TARGET_LEASED,  /* a job for it is out at a worker */
} scheduler_target_state_t;

typedef struct {
    uint64_t id;                    /* key: device_id (a (bill, group) key for kind bill) */
    uint64_t ref;                   /* id the job names: = id; bill_id for kind bill */
    char *hostname;                 /* owned */
    int group;                      /* poller group */
    int64_t phase_s;                /* offset of its slots in the interval */
    int64_t done_s;                 /* latest cycle_ts done, SCHEDULER_PLAN_NONE if never */
    int64_t due_s;                  /* READY order: oldest undone slot, or the retried cycle */
    int64_t release_s;              /* WAITING: when it becomes READY */
    int64_t cycle_s;                /* cycle of the leased or retried job; 0 when fresh */
    int64_t force_s;                /* work forced now (scheduler_plan_force); 0 when not */
    int attempt;                    /* dispatches made for cycle_s */
    scheduler_target_state_t state; /* see above */
    bool enabled;                   /* not disabled and present in the last load */
    bool seen;                      /* present in the current load */
    uint32_t gen;                   /* bumped on each (re)queue; older heap entries are stale */
    uint64_t job_id;                /* while LEASED */
} scheduler_target_t;

/* Per group counts for scheduler_plan_stats. */
typedef struct {
    int group;   /* poller group */
    int devices; /* enabled targets */
    int due;     /* READY, or waiting to retry */
    int leased;  /* LEASED */
    int overdue; /* due or leased, slot older than the grace */
} scheduler_plan_group_stats_t;

typedef struct {
    int devices;      /* enabled targets */
    int due;          /* READY, or waiting to retry */
    int leased;       /* LEASED */
    int done_cycle;   /* done for their current slot */
    int overdue;      /* due or leased with a slot older than the grace */
    int64_t oldest_s; /* age of the oldest undone slot among due targets, 0 if none */
    int ngroups;      /* entries in groups */
    scheduler_plan_group_stats_t groups[64]; /* first 64 groups, by group number */
} scheduler_plan_stats_t;

typedef struct scheduler_plan scheduler_plan_t;

/* Creates an empty plan for kind with interval_s (>= 1). Caller owns result; free with
   scheduler_plan_destroy. Aborts on out-of-memory. */
scheduler_plan_t *scheduler_plan_new(dp_msg_kind_t kind, int64_t interval_s);

/* Frees the plan and its targets. NULL-safe; sets *p to NULL. */
void scheduler_plan_destroy(scheduler_plan_t **p);

/* Phase of id for interval_s: a 64-bit hash of id mod interval_s. Pure, stable. */
int64_t scheduler_plan_phase(uint64_t id, int64_t interval_s);

/* Latest s <= now_s with (s - phase_s) % interval_s == 0. Pure. */
int64_t scheduler_plan_slot(int64_t now_s, int64_t phase_s, int64_t interval_s);

dp_msg_kind_t scheduler_plan_kind(const scheduler_plan_t *p);
int64_t scheduler_plan_interval(const scheduler_plan_t *p);

/* Changes the interval: recomputes every phase and re-queues every target not leased. */
void scheduler_plan_set_interval(scheduler_plan_t *p, int64_t interval_s, int64_t now_s);

/* Starts a load: targets not upserted before scheduler_plan_end_load are switched off. */
void scheduler_plan_begin_load(scheduler_plan_t *p);

/* Adds or updates a target. last_done_s: unix s of the last completed work known to the
   database (devices.last_polled), or SCHEDULER_PLAN_NONE; the slot containing it counts as
   done (done only grows). Re-queues only when something that matters changed. */
void scheduler_plan_upsert(scheduler_plan_t *p, uint64_t id, const char *hostname, int group,
                           bool enabled, int64_t last_done_s, int64_t now_s);

/* Forces work on target id now, whatever is done: the database asks for it (e.g.
   devices.last_discovered set to NULL by `distpoll device rediscover`). done_s is forgotten
   and the next job gets cycle max(current slot, now_s), later than any cycle done, so the
   workers' done claims (dp_claim) do not refuse it. No-op (returns false) for an unknown,
   disabled or leased target (its job is under way), a never-done one (due anyway) or one
   already forced. */
bool scheduler_plan_force(scheduler_plan_t *p, uint64_t id, int64_t now_s);

/* The cycle a job for t would carry now: cycle_s of a retry, else the current slot, or the
   forced cycle when later. */
int64_t scheduler_plan_cycle(const scheduler_plan_t *p, const scheduler_target_t *t, int64_t now_s);

/* Ends a load; returns the number of targets switched off because they were not seen. */
int scheduler_plan_end_load(scheduler_plan_t *p, int64_t now_s);

/* Moves targets whose release time has come to their group's due heap. Returns how many. */
int scheduler_plan_advance(scheduler_plan_t *p, int64_t now_s);

/* Number of groups known and the i-th group number (for dispatch). */
int scheduler_plan_ngroups(const scheduler_plan_t *p);
int scheduler_plan_group_at(const scheduler_plan_t *p, int i);

/* Oldest READY target of group, or NULL. Borrowed; valid until the plan changes. */
scheduler_target_t *scheduler_plan_next(scheduler_plan_t *p, int group);

/* Takes t (the head returned by scheduler_plan_next) for job_id: state LEASED, attempt + 1,
   cycle_s = its slot now for a fresh target, kept for a retry. Returns cycle_s. */
int64_t scheduler_plan_lease(scheduler_plan_t *p, scheduler_target_t *t, uint64_t job_id,
                             int64_t now_s);

/* The leased job of t is done (ok, or down: either way this cycle is over): done_s grows to
   cycle_s and t waits for its next slot (or is due at once if that slot has started). */
void scheduler_plan_done(scheduler_plan_t *p, scheduler_target_t *t, int64_t now_s);

/* The leased job of t must be re-issued for the same cycle after delay_s (0 = at once). */
void scheduler_plan_retry(scheduler_plan_t *p, scheduler_target_t *t, int64_t delay_s,
                          int64_t now_s);

/* Forgets every lease and retry (leadership lost): targets become fresh and are re-queued. */
void scheduler_plan_reset_leases(scheduler_plan_t *p, int64_t now_s);

/* Target by id, or NULL. Borrowed. */
scheduler_target_t *scheduler_plan_find(scheduler_plan_t *p, uint64_t id);

/* Targets in the table (including switched-off ones) and the i-th; for iteration. */
int scheduler_plan_size(const scheduler_plan_t *p);
scheduler_target_t *scheduler_plan_at(scheduler_plan_t *p, int i);

/* Counts over every target (one pass; call about once a second, not per tick). grace_s: a
   due or leased target whose slot started more than grace_s ago is overdue. */
void scheduler_plan_stats(const scheduler_plan_t *p, int64_t now_s, int64_t grace_s,
                          scheduler_plan_stats_t *out);

/* Entries in the heaps (stale included); for tests and compaction checks. */
size_t scheduler_plan_heap_entries(const scheduler_plan_t *p);

#endif
