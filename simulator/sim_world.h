/*  sim_world.h - what the simulator serves: profiles per address prefix, faults,
    community and clocks. Built in main before the server threads start; after that
    only the fault set changes, swapped atomically by sim_world_set_faults (old sets
    are kept until sim_world_destroy, so readers never see freed memory).
    SPDX-License-Identifier: MIT */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdatomic.h>

#include "sim_fault.h"
#include "sim_profile.h"

#define SIM_COMMUNITY_MAX 64

/* Address prefix to profile. */
typedef struct {
    uint32_t net;                 /* network, host order */
    uint32_t mask;                /* netmask, host order */
    const sim_profile_t *profile; /* borrowed from the world's profile list */
} sim_map_t;

/* The simulated world. Fields are read-only once the servers run, except faults. */
typedef struct {
    uint64_t seed;                     /* --seed */
    int64_t epoch_ms;                  /* counter origin t0 (--epoch) */
    int64_t start_ms;                  /* process start, wall ms */
    char community[SIM_COMMUNITY_MAX]; /* accepted community */
    size_t community_len;              /* its length */
    size_t max_msg;                    /* largest reply, bytes */
    size_t max_vbs;                    /* most varbinds in one reply */
    sim_profile_t **profiles;          /* owned */
    size_t nprofiles;                  /* entries in profiles */
    sim_map_t *map;                    /* prefix map */
    size_t nmap;                       /* entries in map */
    _Atomic(sim_faults_t *) faults;    /* current fault set (owned) */
    sim_faults_t **retired;            /* replaced fault sets (owned) */
    size_t nretired;                   /* entries in retired */
    struct sim_usm *usm;               /* SNMPv3 users (owned); NULL: v3 not answered */
} sim_world_t;

/* New world with the community "public" and no profiles; caller owns it. */
sim_world_t *sim_world_new(uint64_t seed, int64_t epoch_ms, int64_t start_ms);

/* Frees the world, its profiles and fault sets; NULL-safe, sets *p to NULL. */
void sim_world_destroy(sim_world_t **p);

/* Sets the accepted community. Returns 0 or -1 (err set). */
int sim_world_set_community(sim_world_t *w, const char *community, dp_err_t *err);

/* Adds "[PREFIX=]synthetic[:k=v,...]" or "[PREFIX=]snmprec:NAME|PATH" (NAME is
   looked up as DIR/NAME.snmprec then DIR/NAME.snmprec.gz). PREFIX defaults to
   127.0.0.0/8. The longest matching prefix wins. Returns 0 or -1 (err set). */
int sim_world_add_profile(sim_world_t *w, const char *spec, const char *snmprec_dir, dp_err_t *err);

/* Adds every non-comment line of a map file as a profile spec. Returns 0 or -1. */
int sim_world_load_map(sim_world_t *w, const char *path, const char *snmprec_dir, dp_err_t *err);

/* Publishes a new fault set; the world takes it (*f set to NULL). */
void sim_world_set_faults(sim_world_t *w, sim_faults_t **f);

/* Current fault set (borrowed; valid until sim_world_destroy). */
const sim_faults_t *sim_world_faults(sim_world_t *w);

/* Profile for addr (host order) or NULL; fills dev and fv for time now_ms. */
const sim_profile_t *sim_world_device(sim_world_t *w, uint32_t addr, int64_t now_ms, sim_dev_t *dev,
                                      sim_fault_view_t *fv);

#endif
