/*  discoverer_ports.h - what one discovery walks and how the values become inventory rows
    Three walks: "system" (sysDescr, sysObjectID, sysUpTime, sysContact, sysName, sysLocation
    as non-repeaters), "ports" (IF-MIB ifTable + ifXTable identity columns and the eight ifXTable
    HC counter columns, whose presence per port gives the ports.ifHC mask) and "host"
    (hrProcessorTable, hrDeviceDescr, hrStorageTable). Walk callbacks store values straight into
    a discoverer_inv_t. Then the walked ports are compared with the DB rows: new rows inserted,
    vanished ones marked deleted, returning ones undeleted. Pure code (no I/O), thread-safe.
    SPDX-License-Identifier: MIT */
#ifndef DISCOVERER_PORTS_H
#define DISCOVERER_PORTS_H

#include "dp_snmp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISCOVERER_TEXT_MAX  256  /* ifName, ifDescr, ifAlias, sysName, descr columns */
#define DISCOVERER_DESCR_MAX 1024 /* sysDescr */
#define DISCOVERER_OID_TEXT  160  /* sysObjectID as ".1.3.6..." (devices.sysObjectID) */
#define DISCOVERER_MAC_TEXT  33   /* ifPhysAddress as hex, up to 16 bytes */
#define DISCOVERER_HOST_MAX  1024 /* processor, storage and hrDevice rows kept */

/* ifHC bits, in the poller's poller_ctr_t order (a bit per counter read from a 64-bit column):
   in/out octets 0/1, in/out unicast 2/3, in/out multicast 9/10, in/out broadcast 11/12. */
#define DISCOVERER_HC_IN_OCTETS  (1u << 0)
#define DISCOVERER_HC_OUT_OCTETS (1u << 1)
#define DISCOVERER_HC_IN_UCAST   (1u << 2)
#define DISCOVERER_HC_OUT_UCAST  (1u << 3)
#define DISCOVERER_HC_IN_MCAST   (1u << 9)
#define DISCOVERER_HC_OUT_MCAST  (1u << 10)
#define DISCOVERER_HC_IN_BCAST   (1u << 11)
#define DISCOVERER_HC_OUT_BCAST  (1u << 12)

/* Which values a port row got (bits of discoverer_port_t.have). */
enum {
    DISCOVERER_HAVE_DESCR = 1 << 0,
    DISCOVERER_HAVE_NAME = 1 << 1,
    DISCOVERER_HAVE_ALIAS = 1 << 2,
    DISCOVERER_HAVE_TYPE = 1 << 3,
    DISCOVERER_HAVE_MTU = 1 << 4,
    DISCOVERER_HAVE_SPEED = 1 << 5,
    DISCOVERER_HAVE_HIGH = 1 << 6,
    DISCOVERER_HAVE_MAC = 1 << 7,
};

/* One interface as walked. */
typedef struct {
    uint32_t if_index;
    uint16_t have;       /* DISCOVERER_HAVE_* */
    uint16_t hc_mask;    /* DISCOVERER_HC_* of the HC columns present */
    int if_type;         /* IANAifType */
    uint32_t mtu;        /* ifMtu */
    uint64_t if_speed;   /* ifSpeed, bits/s */
    uint32_t high_speed; /* ifHighSpeed, Mbit/s */
    uint8_t admin, oper; /* ifAdminStatus / ifOperStatus, 0 = not read */
    char mac[DISCOVERER_MAC_TEXT];
    char descr[DISCOVERER_TEXT_MAX];
    char name[DISCOVERER_TEXT_MAX];
    char alias[DISCOVERER_TEXT_MAX];
} discoverer_port_t;

typedef struct {
    uint32_t index; /* hrDeviceIndex */
    int load;       /* hrProcessorLoad, percent */
} discoverer_proc_t;

typedef struct {
    uint32_t index;      /* hrStorageIndex */
    int type;            /* last sub-id of hrStorageType (2 RAM, 3 virtual, 4 disk, ...) */
    uint32_t units;      /* bytes per allocation unit */
    uint64_t size, used; /* in units */
    uint8_t have;        /* bits: 1 type, 2 units, 4 size, 8 used, 16 descr */
    char descr[DISCOVERER_TEXT_MAX];
} discoverer_stor_t;

typedef struct {
    uint32_t index;
    char descr[DISCOVERER_TEXT_MAX];
} discoverer_hrdev_t;

/* Everything one discovery walked. */
typedef struct {
    uint8_t have_sys; /* bit per system column: 1 descr 2 objectid 4 uptime 8 contact
                         16 name 32 location */
    char sys_descr[DISCOVERER_DESCR_MAX];
    char sys_object_id[DISCOVERER_OID_TEXT];
    uint32_t uptime_cs; /* sysUpTime, TimeTicks */
    char sys_contact[DISCOVERER_TEXT_MAX];
    char sys_name[DISCOVERER_TEXT_MAX];
    char sys_location[DISCOVERER_TEXT_MAX];
    discoverer_port_t *ports; /* sorted by if_index */
    int nports, cap_ports;
    discoverer_proc_t *procs; /* in walk order */
    int nprocs, cap_procs;
    discoverer_stor_t *stor; /* sorted by index */
    int nstor, cap_stor;
    discoverer_hrdev_t *devs; /* hrDeviceDescr, sorted by index */
    int ndevs, cap_devs;
} discoverer_inv_t;

/* A walk's columns with their meanings (static tables; borrowed by dp_snmp_walk). */
typedef struct {
    const dp_snmp_col_t *cols;
    const uint8_t *kind;
    int n;
} discoverer_walkdef_t;

typedef enum {
    DISCOVERER_WALK_SYSTEM,
    DISCOVERER_WALK_PORTS,
    DISCOVERER_WALK_HOST
} discoverer_walk_t;

/* The static definition of a walk. */
const discoverer_walkdef_t *discoverer_walkdef(discoverer_walk_t which);

/* Empties inv for a new discovery (keeps its buffers). */
void discoverer_inv_reset(discoverer_inv_t *inv);

/* Frees the buffers. */
void discoverer_inv_free(discoverer_inv_t *inv);

/* Stores one walked value of column col of walk def. Values of unexpected types, rows beyond
   the limits and malformed indexes are ignored. Never fails (OOM aborts). */
void discoverer_inv_take(discoverer_inv_t *inv, const discoverer_walkdef_t *def, int col,
                         const oid *idx, size_t idx_len, const netsnmp_variable_list *v);

/* Speed in bits/s: ifHighSpeed * 1e6 when non-zero, else ifSpeed, else 0. */
uint64_t discoverer_port_speed(const discoverer_port_t *p);

/* Number of ports with at least one HC counter column. */
int discoverer_inv_hc_ports(const discoverer_inv_t *inv);

/* Names shared with the poller (same spelling, so the two never flip a column): ifType
   ("ethernetCsmacd" or the number in buf), if status ("up", ... or NULL), hrStorageType
   ("hrStorageFixedDisk"). */

/* Makes s safe for a utf8mb4 column in place: invalid UTF-8 bytes and control characters
   become '?', trailing spaces are cut. */
void discoverer_text_clean(char *s);

/* Cleans every text of inv (system, ports, storage, hrDevice) with discoverer_text_clean. */
void discoverer_inv_clean(discoverer_inv_t *inv);

/* Formats bytes as lowercase hex without separators (LibreNMS ifPhysAddress). */
void discoverer_mac_text(const uint8_t *bytes, size_t len, char *out, size_t size);

/* Formats an OID as ".1.3.6.1..." into out (truncated to size). */
void discoverer_oid_text(const oid *o, size_t len, char *out, size_t size);

/* A ports row already in the DB. */
typedef struct {
    uint32_t if_index;
    uint32_t port_id;
    bool deleted;
} discoverer_known_t;

typedef struct {
    int added;     /* walked, no row yet */
    int undeleted; /* walked, row marked deleted */
    int updated;   /* walked, live row */
    int deleted;   /* live row, not walked any more */
} discoverer_diff_t;

/* Compares DB rows (sorted by if_index) with the walked ports (sorted by if_index): counts
   into out, and gone[i] = true for each known[i] that is live and was not walked. */
void discoverer_ports_diff(const discoverer_known_t *known, int nknown,
                           const discoverer_port_t *ports, int nports, bool *gone,
                           discoverer_diff_t *out);

#endif
