/*  poller_modules.h - what one device poll collects and how it is turned into rows and RRDs
    Modules: system/availability (sysUpTime, sysName), ports (IF-MIB ifXTable HC counters with a
    per-port, per-counter fallback to the 32-bit ifTable/ifXTable columns), processors
    (hrProcessorLoad) and storage/memory (hrStorageTable). A poll is two walks on one session:
    "ports" (system scalars as non-repeaters + the IF-MIB columns, max-repetitions sized to the
    port count) and "host" (HOST-RESOURCES columns). Values are stored straight into a
    poller_poll_t by the walk callbacks (no per-OID allocation).
    Everything here is pure (no I/O) and thread-safe after poller_metrics_init.
    SPDX-License-Identifier: MIT */
#ifndef POLLER_MODULES_H
#define POLLER_MODULES_H

#include "dp_err.h"
#include "dp_msg.h"
#include "dp_snmp.h"
#include "poller_counter.h"

#include <stdbool.h>
#include <stdint.h>

#define POLLER_PROC_MAX  64
#define POLLER_STOR_MAX  64
#define POLLER_NAME_MAX  96  /* ifName / ifAlias / storage descr kept */
#define POLLER_DESCR_MAX 128 /* ifDescr, sysName */

/* Port counters; the first POLLER_CTR_MAIN have value/_prev/_delta/_rate columns in `ports`,
   the others value and _rate. */
typedef enum {
    POLLER_CTR_IN_OCTETS = 0,
    POLLER_CTR_OUT_OCTETS,
    POLLER_CTR_IN_UCAST,
    POLLER_CTR_OUT_UCAST,
    POLLER_CTR_IN_ERRORS,
    POLLER_CTR_OUT_ERRORS,
    POLLER_CTR_IN_DISCARDS,
    POLLER_CTR_OUT_DISCARDS,
    POLLER_CTR_IN_UNKNOWN,
    POLLER_CTR_IN_MCAST,
    POLLER_CTR_OUT_MCAST,
    POLLER_CTR_IN_BCAST,
    POLLER_CTR_OUT_BCAST,
    POLLER_CTR_COUNT
} poller_ctr_t;
#define POLLER_CTR_MAIN 6

/* One interface as read in this poll. */
typedef struct {
    uint32_t if_index;
    uint32_t port_id;              /* from the DB phase; 0 = unknown */
    uint64_t hc[POLLER_CTR_COUNT]; /* 64-bit column values */
    uint64_t lo[POLLER_CTR_COUNT]; /* 32-bit column values */
    uint16_t have_hc, have_lo;     /* bit per counter */
    uint64_t if_speed;             /* ifSpeed, bits/s (Gauge32) */
    uint32_t high_speed;           /* ifHighSpeed, Mbit/s */
    bool have_speed, have_high;
    uint8_t admin, oper; /* ifAdminStatus / ifOperStatus, 0 = not read */
    int if_type;         /* 0 = not read */
    bool have_name, have_descr, have_alias;
    char name[POLLER_NAME_MAX];
    char descr[POLLER_DESCR_MAX];
    char alias[POLLER_NAME_MAX];
} poller_port_t;

typedef struct {
    uint32_t index; /* hrDeviceIndex */
    int load;       /* percent */
} poller_proc_t;

typedef struct {
    uint32_t index;      /* hrStorageIndex */
    int type;            /* last sub-id of hrStorageType (2 RAM, 3 virtual, 4 disk, ...) */
    uint32_t units;      /* bytes per allocation unit */
    uint64_t size, used; /* in units */
    uint8_t have;        /* bits: 1 type, 2 units, 4 size, 8 used, 16 descr */
    char descr[POLLER_NAME_MAX];
} poller_stor_t;

/* Column meanings of the walks. */
typedef enum {
    POLLER_COL_UPTIME = 0,
    POLLER_COL_SYSNAME,
    POLLER_COL_CTR_HC,
    POLLER_COL_CTR_LO,
    POLLER_COL_ADMIN,
    POLLER_COL_OPER,
    POLLER_COL_SPEED,
    POLLER_COL_HIGHSPEED,
    POLLER_COL_DESCR,
    POLLER_COL_NAME,
    POLLER_COL_ALIAS,
    POLLER_COL_TYPE,
    POLLER_COL_PROC_LOAD,
    POLLER_COL_STOR_TYPE,
    POLLER_COL_STOR_DESCR,
    POLLER_COL_STOR_UNITS,
    POLLER_COL_STOR_SIZE,
    POLLER_COL_STOR_USED,
} poller_col_kind_t;

/* A walk's column list with meanings (lives as long as the walk). */
typedef struct {
    dp_snmp_col_t cols[DP_SNMP_COLS_MAX];
    uint8_t kind[DP_SNMP_COLS_MAX];
    uint8_t ctr[DP_SNMP_COLS_MAX];
    int n;
} poller_walkdef_t;

/* Everything one poll collected. */
typedef struct {
    uint64_t device_id;
    int64_t start_ms; /* wall ms the poll started */
    int64_t at_ms;    /* wall ms of the first reply (sample time of uptime/counters) */
    bool have_uptime, have_sysname;
    uint32_t uptime_cs; /* sysUpTime, TimeTicks */
    char sysname[POLLER_DESCR_MAX];
    poller_port_t *ports; /* sorted by if_index */
    int nports, cap;
    poller_proc_t procs[POLLER_PROC_MAX];
    int nprocs;
    poller_stor_t stor[POLLER_STOR_MAX];
    int nstor;
    bool identity; /* the ports walk included ifDescr/ifName/ifAlias/ifType */
    poller_walkdef_t ports_def, host_def;
} poller_poll_t;

/* Builds the ports walk: system scalars, HC counters, errors/discards, status and speed, plus
   the 32-bit counter columns when with_lo, plus identity columns when with_identity. */
void poller_walk_ports(poller_walkdef_t *d, bool with_lo, bool with_identity);

/* Builds the host walk (hrProcessorLoad, hrStorage type/descr/units/size/used). */
void poller_walk_host(poller_walkdef_t *d);

/* Resets poll for a new poll of device_id (keeps the ports buffer). */
void poller_poll_reset(poller_poll_t *poll, uint64_t device_id, int64_t start_ms);

/* Frees the ports buffer. */
void poller_poll_free(poller_poll_t *poll);

/* Stores one walked value: def says what column col is. Unknown types are ignored. */
void poller_poll_take(poller_poll_t *poll, const poller_walkdef_t *def, int col, const oid *idx,
                      size_t idx_len, const netsnmp_variable_list *v, int64_t at_ms);

/* Port of if_index (NULL if absent / add: created, keeping order; NULL on OOM). */
poller_port_t *poller_poll_port(poller_poll_t *poll, uint32_t if_index, bool add);

/* HC-vs-32-bit selection: the 64-bit value when the port has that HC column, else the
   32-bit one, else false. bits gets 64 or 32. */
bool poller_port_counter(const poller_port_t *p, int ctr, uint64_t *value, int *bits);

/* Bitmask of counters read from 64-bit columns (the ports.ifHC column). */
uint16_t poller_port_hc_mask(const poller_port_t *p);

/* Speed in bits/s: ifHighSpeed * 1e6 when non-zero, else ifSpeed, else 0. */
uint64_t poller_port_speed(const poller_port_t *p);

/* True when every port read every counter from HC columns (the 32-bit columns can be skipped
   next time). False with no ports. */
bool poller_poll_all_hc(const poller_poll_t *poll);

/* Names for DB columns: "ifInOctets", ...; ifAdminStatus/ifOperStatus values ("up", ...);
   ifType ("ethernetCsmacd" or the number in buf). Static strings / buf. */
const char *poller_ctr_column(int ctr);

/* The previous sample of a port from the DB. */
typedef struct {
    bool valid;       /* a row with a poll_time exists */
    int64_t at_ms;    /* poll_time */
    uint16_t hc_mask; /* ifHC */
    uint64_t value[POLLER_CTR_COUNT];
    uint16_t have; /* bit per counter: value not NULL */
} poller_prev_t;

/* One counter's row values; NULL columns are have_* false. */
typedef struct {
    bool have_value, have_prev, have_rate;
    uint64_t value, prev, delta;
    double rate;
    poller_counter_status_t status;
} poller_rate_t;

/* Deltas and rates of every counter of p against prev (bits from the HC masks: a counter that
   changed width since prev gets no rate); octets above the port speed are discarded;
   rebooted: counters restarted, no rates. */
void poller_port_rates(const poller_prev_t *prev, const poller_port_t *p, int64_t at_ms,
                       bool rebooted, poller_rate_t out[POLLER_CTR_COUNT]);

/* Builds the DS definition strings ("INOCTETS:DERIVE:600:0:12500000000") of every RRD kind for
   step_s (heartbeat 2 x step). Call once before threads (again on a step change, no thread
   building metrics). Returns 0 or -1. */
int poller_metrics_init(int step_s);

/* The 15 PORT values of p in rrdwriter_def order: raw counters (the 32-bit value where HC is
   missing, NUCAST = multicast + broadcast mod 2^64 when both read), NaN when unknown; values
   stay below 2^64 as doubles. */
void poller_port_rrd_values(const poller_port_t *p, double out[15]);

/* Builds METRICS for a poll that succeeded: port-id<port_id>.rrd for each port with a port_id,
   poller-perf, uptime, processor-hr-<index>, storage-hrstorage-<descr> (disks) and
   mempool-hrstorage-<index> (RAM, virtual memory). ts = poll->at_ms (the sample time the DB's
   rates use) rounded to the second; cycle_ts when at_ms is 0. Returns a new message (caller
   owns) or NULL with err (bad hostname). */
dp_msg_t *poller_metrics_build(const poller_poll_t *poll, const char *hostname, uint64_t epoch,
                               uint64_t job_id, int64_t cycle_ts, double took_s, dp_err_t *err);

#endif
