/*  sim_fault.h - faults on demand for the SNMP device simulator
    A rule is SELECTOR=ACTION. SELECTOR: an address (127.0.2.5), a prefix
    (127.0.1.0/24), "all", or frac:F (a seeded-hash choice of a fraction F of
    devices, the same devices for the same action and seed whatever the order).
    ACTION: timeout | slow:MS[ms|s] | malformed | toobig:N (tooBig when a request
    asks for more than N varbinds) | reboot (at the time the rule is first loaded;
    kept across reloads while the rule stays) | reboot@UNIX_MS | port-vanish:K |
    port-appear:K (shows spare port K). A fault set is immutable once built.
    SPDX-License-Identifier: MIT */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_err.h"

#define SIM_FAULT_MAX_PORTS 8 /* port-vanish/appear rules per device that count */

/* Fault kinds, as bits of sim_fault_view_t.flags. */
enum {
    SIM_FAULT_TIMEOUT = 1u << 0,
    SIM_FAULT_SLOW = 1u << 1,
    SIM_FAULT_MALFORMED = 1u << 2,
    SIM_FAULT_TOOBIG = 1u << 3,
    SIM_FAULT_REBOOT = 1u << 4,
    SIM_FAULT_VANISH = 1u << 5,
    SIM_FAULT_APPEAR = 1u << 6,
};

/* What applies to one device (all matching rules combined). */
typedef struct {
    unsigned flags;                       /* SIM_FAULT_* bits */
    int64_t slow_ms;                      /* largest slow delay */
    int64_t toobig_over;                  /* smallest toobig limit */
    int64_t reboot_ms;                    /* latest reboot time */
    uint32_t vanish[SIM_FAULT_MAX_PORTS]; /* hidden ifIndex values */
    int nvanish;                          /* entries in vanish */
    uint32_t appear[SIM_FAULT_MAX_PORTS]; /* shown spare ifIndex values */
    int nappear;                          /* entries in appear */
} sim_fault_view_t;

typedef struct sim_faults sim_faults_t;

/* New empty rule set; caller owns it, free with sim_faults_destroy. */
sim_faults_t *sim_faults_new(uint64_t seed);

/* Frees; NULL-safe, sets *p to NULL. */
void sim_faults_destroy(sim_faults_t **p);

/* Adds one rule. now_ms stamps a plain "reboot"; if prev (may be NULL) holds the
   same rule text, its stamp is kept. Returns 0 or -1 (err set). */
int sim_faults_add(sim_faults_t *f, const char *rule, int64_t now_ms, const sim_faults_t *prev,
                   dp_err_t *err);

/* Adds every rule of a file (one per line, '#' comments). Returns 0 or -1 with err
   naming file and line. */
int sim_faults_load_file(sim_faults_t *f, const char *path, int64_t now_ms,
                         const sim_faults_t *prev, dp_err_t *err);

/* Number of rules. */
size_t sim_faults_count(const sim_faults_t *f);

/* Combines the rules that match device address addr (host order) into out. */
void sim_faults_view(const sim_faults_t *f, uint32_t addr, sim_fault_view_t *out);

/* Parses "a.b.c.d" or "a.b.c.d/n" into net and mask (host order). Returns 0 or -1. */
int sim_prefix_parse(const char *text, uint32_t *net, uint32_t *mask);

#endif
