/*  sim_profile.h - device profiles of the SNMP simulator: a sorted OID tree
    A profile is a sorted array of entries (OID, type, value or value rule) shared
    read-only by every device that uses it; per-device values (sysName, counters,
    uptime) are computed at request time from a sim_dev_t and the clock.
    Build with sim_profile_add then sim_profile_finish; after that it is immutable
    and safe to read from many threads.
    SPDX-License-Identifier: MIT */
#ifndef SIM_PROFILE_H
#define SIM_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/types.h>
#include <net-snmp/library/asn1.h>

#include "dp_err.h"

#define SIM_OID_MAX              128 /* longest OID accepted, in sub-identifiers */
#define SIM_VALUE_BUF            64  /* inline buffer for computed string values */
#define SIM_UPTIME_MAX_OFFSET_MS (10LL * 24 * 3600 * 1000) /* per-device boot spread */

/* How an entry's value is obtained. */
typedef enum {
    SIM_VAL_STATIC = 0,   /* num or bytes as stored */
    SIM_VAL_UPTIME,       /* TimeTicks since the device's boot */
    SIM_VAL_COUNTER,      /* sim_counter at request time */
    SIM_VAL_SYSNAME,      /* "dev-127-x-y-z" */
    SIM_VAL_PHYS,         /* 02:xx:yy:zz:pp:pp from address and port */
    SIM_VAL_CPU_LOAD,     /* 0..99, changes every minute */
    SIM_VAL_STORAGE_USED, /* num * (5..94)% per device */
} sim_val_kind_t;

/* One OID of a profile. */
typedef struct {
    oid *name;          /* owned sub-identifiers */
    uint32_t name_len;  /* number of sub-identifiers */
    uint8_t type;       /* ASN type of the value (ASN_INTEGER, ASN_COUNTER64, ...) */
    uint8_t kind;       /* sim_val_kind_t */
    uint8_t bits;       /* counters: 32 or 64 */
    bool spare;         /* row hidden unless a port-appear fault shows it */
    bool has_base;      /* counters: num is the recorded start value (snmprec) */
    uint32_t port;      /* ifIndex of an ifTable/ifXTable row, 0 otherwise */
    uint32_t ctr;       /* counters: sim_ctr_kind_t */
    uint64_t speed_bps; /* counters: interface speed for the rate */
    int64_t num;        /* integer-like value, counter base or storage size */
    u_char *bytes;      /* owned string bytes or oid array (type ASN_OBJECT_ID) */
    size_t bytes_len;   /* length of bytes in bytes */
    uint32_t seq;       /* insertion order, set by sim_profile_add */
} sim_entry_t;

/* One device as the profile sees it. */
typedef struct {
    uint32_t addr;     /* IPv4 address, host byte order */
    uint32_t id;       /* device id: addr & 0xffffff (x*65536 + y*256 + z) */
    uint64_t seed;     /* simulation seed */
    int64_t epoch_ms;  /* counter origin t0, wall ms */
    int64_t boot_ms;   /* wall ms of the device's last boot (uptime origin) */
    int64_t reboot_ms; /* wall ms of a reboot fault, 0 if none: counters restart at 0 */
} sim_dev_t;

/* A computed value in the form snmp_build_var_op wants. */
typedef struct {
    u_char type;               /* ASN type */
    size_t len;                /* bytes at ptr */
    const void *ptr;           /* points into this struct or the entry */
    long l;                    /* storage for ASN_INTEGER */
    u_long ul;                 /* storage for unsigned 32-bit types */
    struct counter64 c64;      /* storage for ASN_COUNTER64 */
    u_char buf[SIM_VALUE_BUF]; /* storage for computed strings */
} sim_value_t;

/* A profile. Fields are read-only for users after sim_profile_finish. */
typedef struct {
    char *name;           /* owned label */
    sim_entry_t *entries; /* sorted by OID after finish */
    size_t count;         /* entries in use */
    size_t cap;           /* entries allocated */
} sim_profile_t;

/* New empty profile; caller owns it, free with sim_profile_destroy. */
sim_profile_t *sim_profile_new(const char *name);

/* Frees the profile and its entries; NULL-safe, sets *p to NULL. */
void sim_profile_destroy(sim_profile_t **p);

/* Copies e (its name and bytes too) into the profile. Returns 0 or -1 (err set). */
int sim_profile_add(sim_profile_t *p, const sim_entry_t *e, dp_err_t *err);

/* Sorts by OID and drops duplicates (the first added wins). Returns the number of
   duplicates dropped. */
size_t sim_profile_finish(sim_profile_t *p);

/* Index of the entry equal to name, or -1. */
long sim_profile_find(const sim_profile_t *p, const oid *name, size_t len);

/* Index of the first entry greater than name (count if none): GETNEXT. */
size_t sim_profile_next(const sim_profile_t *p, const oid *name, size_t len);

/* True when some entry lies strictly under prefix (for noSuchInstance). */
bool sim_profile_has_subtree(const sim_profile_t *p, const oid *prefix, size_t len);

/* Computes the value of e for device d at wall time now_ms into out. */
void sim_value_eval(const sim_entry_t *e, const sim_dev_t *d, int64_t now_ms, sim_value_t *out);

/* Counter rate (units/s) of a counter entry for device d; 0 for other entries. */
uint64_t sim_value_rate(const sim_entry_t *e, const sim_dev_t *d);

/* Parses a numeric OID ("1.3.6.1" or ".1.3.6.1") into out (max sub-ids).
   Returns the number of sub-identifiers or -1. */
int sim_oid_parse(const char *text, oid *out, size_t max);

/* Formats an OID as dotted text into buf; returns buf. */
char *sim_oid_format(const oid *name, size_t len, char *buf, size_t size);

#endif
