/*  sim_synth.h - synthetic device profiles (system, IF-MIB, HOST-RESOURCES)
    Spec: comma-separated key=value, all optional:
      ports=N     interfaces (default 24)            hc=0|1    ifXTable HC columns (1)
      speed=S[/S] bits/s with K/M/G/T suffix, a slash list is cycled over ports (1G)
      cpus=N      hrProcessorTable rows (2)          storage=N hrStorageTable rows (3)
      spare=N     extra ports hidden until a port-appear fault shows them (0)
    SPDX-License-Identifier: MIT */
#ifndef SIM_SYNTH_H
#define SIM_SYNTH_H

#include "sim_profile.h"

#define SIM_SYNTH_MAX_PORTS  4096
#define SIM_SYNTH_MAX_SPEEDS 16

/* Parsed synthetic spec. */
typedef struct {
    int ports;                             /* visible interfaces */
    int spare;                             /* hidden extra interfaces */
    bool hc;                               /* HC counters present */
    int cpus;                              /* processors */
    int storage;                           /* storage rows */
    uint64_t speeds[SIM_SYNTH_MAX_SPEEDS]; /* bits/s, cycled over ports */
    int nspeeds;                           /* entries in speeds */
} sim_synth_spec_t;

/* Parses spec into out (defaults for missing keys). Returns 0 or -1 (err set). */
int sim_synth_parse(const char *spec, sim_synth_spec_t *out, dp_err_t *err);

/* Parses "100M", "1G", "2500000" into bits/s. Returns 0 or -1. */
int sim_synth_parse_speed(const char *text, uint64_t *bps);

/* Builds the profile for spec; caller owns it. NULL on a bad spec (err set). */
sim_profile_t *sim_synth_new(const char *spec, dp_err_t *err);

#endif
