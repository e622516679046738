/*  sim_counter.c - deterministic counters of the SNMP device simulator
    SPDX-License-Identifier: MIT */
#include "sim_counter.h"

#include <string.h>

#define S_PERMILLE  1000
#define S_MS_PER_S  1000
#define S_TABLE_IF  2
#define S_TABLE_IFX 31
#define S_SALT_RATE 0x52415445ULL /* "RATE" */
#define S_SALT_BASE 0x42415345ULL /* "BASE" */
#define S_SALT_AUX  0x41555831ULL

/* One IF-MIB counter column. */
typedef struct {
    const char *name; /* column name */
    int table;        /* 2 = ifTable, 31 = ifXTable */
    int column;       /* column number */
    int bits;         /* 32 or 64 */
    uint32_t kind;    /* sim_ctr_kind_t */
} s_column_t;

static const s_column_t s_columns[] = {
    {"ifInOctets", S_TABLE_IF, 10, 32, SIM_CTR_IN_OCTETS},
    {"ifInUcastPkts", S_TABLE_IF, 11, 32, SIM_CTR_IN_UCAST},
    {"ifInNUcastPkts", S_TABLE_IF, 12, 32, SIM_CTR_IN_NUCAST},
    {"ifInDiscards", S_TABLE_IF, 13, 32, SIM_CTR_IN_DISCARDS},
    {"ifInErrors", S_TABLE_IF, 14, 32, SIM_CTR_IN_ERRORS},
    {"ifInUnknownProtos", S_TABLE_IF, 15, 32, SIM_CTR_IN_UNKNOWN},
    {"ifOutOctets", S_TABLE_IF, 16, 32, SIM_CTR_OUT_OCTETS},
    {"ifOutUcastPkts", S_TABLE_IF, 17, 32, SIM_CTR_OUT_UCAST},
    {"ifOutNUcastPkts", S_TABLE_IF, 18, 32, SIM_CTR_OUT_NUCAST},
    {"ifOutDiscards", S_TABLE_IF, 19, 32, SIM_CTR_OUT_DISCARDS},
    {"ifOutErrors", S_TABLE_IF, 20, 32, SIM_CTR_OUT_ERRORS},
    {"ifInMulticastPkts", S_TABLE_IFX, 2, 32, SIM_CTR_IN_MCAST},
    {"ifInBroadcastPkts", S_TABLE_IFX, 3, 32, SIM_CTR_IN_BCAST},
    {"ifOutMulticastPkts", S_TABLE_IFX, 4, 32, SIM_CTR_OUT_MCAST},
    {"ifOutBroadcastPkts", S_TABLE_IFX, 5, 32, SIM_CTR_OUT_BCAST},
    {"ifHCInOctets", S_TABLE_IFX, 6, 64, SIM_CTR_IN_OCTETS},
    {"ifHCInUcastPkts", S_TABLE_IFX, 7, 64, SIM_CTR_IN_UCAST},
    {"ifHCInMulticastPkts", S_TABLE_IFX, 8, 64, SIM_CTR_IN_MCAST},
    {"ifHCInBroadcastPkts", S_TABLE_IFX, 9, 64, SIM_CTR_IN_BCAST},
    {"ifHCOutOctets", S_TABLE_IFX, 10, 64, SIM_CTR_OUT_OCTETS},
    {"ifHCOutUcastPkts", S_TABLE_IFX, 11, 64, SIM_CTR_OUT_UCAST},
    {"ifHCOutMulticastPkts", S_TABLE_IFX, 12, 64, SIM_CTR_OUT_MCAST},
    {"ifHCOutBroadcastPkts", S_TABLE_IFX, 13, 64, SIM_CTR_OUT_BCAST},
};
#define S_NCOLUMNS (sizeof(s_columns) / sizeof(s_columns[0]))

static uint64_t s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t s_key_hash(const sim_ctr_key_t *key, uint64_t salt)
{
    return sim_hash64(key->seed ^ salt, key->dev, key->port, key->kind);
}

static uint64_t s_range(uint64_t h, uint64_t lo, uint64_t n)
{
    return lo + h % n;
}

static uint64_t s_rate_of(const sim_ctr_key_t *key, uint32_t kind)
{
    sim_ctr_key_t k = *key;
    k.kind = kind;
    uint64_t h = s_key_hash(&k, S_SALT_RATE);
    uint64_t octets_in, ucast;
    switch (kind) {
    case SIM_CTR_IN_OCTETS:
    case SIM_CTR_OUT_OCTETS:
        return key->speed_bps / 8 * s_range(h, 1, 50) / S_PERMILLE;
    case SIM_CTR_IN_UCAST:
    case SIM_CTR_OUT_UCAST:
        octets_in =
            s_rate_of(key, kind == SIM_CTR_IN_UCAST ? SIM_CTR_IN_OCTETS : SIM_CTR_OUT_OCTETS);
        return octets_in / s_range(h, 200, 1200);
    case SIM_CTR_IN_MCAST:
    case SIM_CTR_OUT_MCAST:
        ucast = s_rate_of(key, kind == SIM_CTR_IN_MCAST ? SIM_CTR_IN_UCAST : SIM_CTR_OUT_UCAST);
        return ucast / s_range(h, 50, 50);
    case SIM_CTR_IN_BCAST:
    case SIM_CTR_OUT_BCAST:
        ucast = s_rate_of(key, kind == SIM_CTR_IN_BCAST ? SIM_CTR_IN_UCAST : SIM_CTR_OUT_UCAST);
        return ucast / s_range(h, 100, 100);
    case SIM_CTR_IN_NUCAST:
        return s_rate_of(key, SIM_CTR_IN_MCAST) + s_rate_of(key, SIM_CTR_IN_BCAST);
    case SIM_CTR_OUT_NUCAST:
        return s_rate_of(key, SIM_CTR_OUT_MCAST) + s_rate_of(key, SIM_CTR_OUT_BCAST);
    case SIM_CTR_IN_DISCARDS:
    case SIM_CTR_IN_ERRORS:
    case SIM_CTR_OUT_DISCARDS:
    case SIM_CTR_OUT_ERRORS:
        return h % 3;
    case SIM_CTR_IN_UNKNOWN:
        return h % 2;
    default:
        return s_range(h, 1, 1000);
    }
}

static uint64_t s_base_of(const sim_ctr_key_t *key, uint32_t kind)
{
    sim_ctr_key_t k = *key;
    k.kind = kind;
    if (kind == SIM_CTR_IN_NUCAST)
        return s_base_of(key, SIM_CTR_IN_MCAST) + s_base_of(key, SIM_CTR_IN_BCAST);
    if (kind == SIM_CTR_OUT_NUCAST)
        return s_base_of(key, SIM_CTR_OUT_MCAST) + s_base_of(key, SIM_CTR_OUT_BCAST);
    return s_key_hash(&k, S_SALT_BASE);
}

//  --------------------------------------------------------------------------
uint64_t sim_hash64(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t h = s_mix(a + 0x9e3779b97f4a7c15ULL);
    h = s_mix(h ^ (b + 0x9e3779b97f4a7c15ULL));
    h = s_mix(h ^ (c + S_SALT_AUX));
    return s_mix(h ^ d);
}

//  --------------------------------------------------------------------------
uint64_t sim_counter_rate(const sim_ctr_key_t *key)
{
    return s_rate_of(key, key->kind);
}

//  --------------------------------------------------------------------------
uint64_t sim_counter_base(const sim_ctr_key_t *key)
{
    return s_base_of(key, key->kind);
}

//  --------------------------------------------------------------------------
uint64_t sim_counter_advance(uint64_t base, uint64_t rate, int64_t dt_ms)
{
    if (dt_ms <= 0)
        return base;
    uint64_t q = (uint64_t)dt_ms / S_MS_PER_S, r = (uint64_t)dt_ms % S_MS_PER_S;
    /* floor(rate*dt/1000) = rate*q + floor(rate*r/1000); the first term is taken
       mod 2^64, which is all any counter keeps. rate*r fits while rate < 1.8e16. */
    unsigned __int128 frac = (unsigned __int128)rate * r / S_MS_PER_S;
    return base + rate * q + (uint64_t)frac;
}

//  --------------------------------------------------------------------------
uint64_t sim_counter_wrap(uint64_t v, int bits)
{
    return bits >= 64 ? v : (v & ((1ULL << bits) - 1));
}

//  --------------------------------------------------------------------------
uint32_t sim_counter_kind_by_name(const char *name, int *bits, int *table, int *column)
{
    for (size_t i = 0; i < S_NCOLUMNS; i++) {
        if (strcmp(s_columns[i].name, name) == 0) {
            *bits = s_columns[i].bits;
            *table = s_columns[i].table;
            *column = s_columns[i].column;
            return s_columns[i].kind;
        }
    }
    return SIM_CTR_NONE;
}

//  --------------------------------------------------------------------------
uint32_t sim_counter_kind_of_column(int table, int column, int *bits)
{
    for (size_t i = 0; i < S_NCOLUMNS; i++) {
        if (s_columns[i].table == table && s_columns[i].column == column) {
            *bits = s_columns[i].bits;
            return s_columns[i].kind;
        }
    }
    return SIM_CTR_NONE;
}
