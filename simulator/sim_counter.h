/*  sim_counter.h - deterministic counters of the SNMP device simulator
    A counter is identified by (seed, device id, port, kind). Its value at wall time
    t ms is (base + floor(rate * (t - t0) / 1000)) mod 2^bits, where rate (units per
    second) and base come from a seeded hash, so a test can compute any value exactly.
    Pure functions, thread-safe.
    SPDX-License-Identifier: MIT */
#ifndef SIM_COUNTER_H
#define SIM_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

/* Counter kinds: one per IF-MIB counter meaning; 32-bit and HC columns of the
   same meaning share a kind, so ifInOctets == ifHCInOctets mod 2^32. */
typedef enum {
    SIM_CTR_NONE = 0,
    SIM_CTR_IN_OCTETS,
    SIM_CTR_IN_UCAST,
    SIM_CTR_IN_MCAST,
    SIM_CTR_IN_BCAST,
    SIM_CTR_IN_NUCAST, /* rate and base are the mcast + bcast sums */
    SIM_CTR_IN_DISCARDS,
    SIM_CTR_IN_ERRORS,
    SIM_CTR_IN_UNKNOWN,
    SIM_CTR_OUT_OCTETS,
    SIM_CTR_OUT_UCAST,
    SIM_CTR_OUT_MCAST,
    SIM_CTR_OUT_BCAST,
    SIM_CTR_OUT_NUCAST,
    SIM_CTR_OUT_DISCARDS,
    SIM_CTR_OUT_ERRORS,
    SIM_CTR_GENERIC = 1000, /* + 16-bit hash of the column OID: 1..1000 per second */
} sim_ctr_kind_t;

/* Identity of one counter. */
typedef struct {
    uint64_t seed;      /* simulation seed (--seed) */
    uint32_t dev;       /* device id: low 24 bits of the IPv4 address */
    uint32_t port;      /* ifIndex, 0 for scalars */
    uint32_t kind;      /* sim_ctr_kind_t or SIM_CTR_GENERIC + n */
    uint64_t speed_bps; /* interface speed, scales octet and packet rates */
} sim_ctr_key_t;

/* Mixes four words into one 64-bit hash (splitmix64 finaliser chain). */
uint64_t sim_hash64(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* Rate in units per second: octets = speed/8 * (1..50)/1000; ucast pkts = octets /
   (200..1399); mcast = ucast / (50..99); bcast = ucast / (100..199); discards and
   errors 0..2; unknown protos 0..1; generic 1..1000. */
uint64_t sim_counter_rate(const sim_ctr_key_t *key);

/* Start value at t0: a full 64-bit hash (so 32-bit and 64-bit wraps happen). */
uint64_t sim_counter_base(const sim_ctr_key_t *key);

/* base + floor(rate * dt_ms / 1000) mod 2^64, exact for any dt_ms >= 0 (negative
   dt counts as 0). */
uint64_t sim_counter_advance(uint64_t base, uint64_t rate, int64_t dt_ms);

/* Reduces v modulo 2^bits (bits 32 or 64). */
uint64_t sim_counter_wrap(uint64_t v, int bits);

/* Kind for an IF-MIB column name ("ifHCInOctets", "ifInOctets"...), with *bits set
   to 32 or 64, *table to the column table (2 = ifTable,
   31 = ifXTable) and *column to its number. Returns SIM_CTR_NONE if unknown. */
uint32_t sim_counter_kind_by_name(const char *name, int *bits, int *table, int *column);

/* Kind for an ifTable (table 2) or ifXTable (table 31) column; SIM_CTR_NONE if the
   column is not a counter. *bits is set to 32 or 64. */
uint32_t sim_counter_kind_of_column(int table, int column, int *bits);

#endif
