/*  biller_sample.h - fresh SNMP reads of billed ports' octet counters
    One synchronous net-snmp single session per device and call (snmp_sess_synch_response):
    sysUpTime.0 plus ifHCInOctets/ifHCOutOctets of each port, falling back per port to the
    32-bit ifInOctets/ifOutOctets when the HC columns are missing (SNMPv1 asks 32-bit only).
    v1, v2c and v3 (USM auth/priv from the devices row). No shared state besides net-snmp's
    library init; a call blocks for at most timeout x (retries + 1) per request.
    SPDX-License-Identifier: MIT */
#ifndef BILLER_SAMPLE_H
#define BILLER_SAMPLE_H

#include "dp_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BILLER_SAMPLE_STR_MAX   256 /* host, community and v3 fields, bytes incl. NUL */
#define BILLER_SAMPLE_PORTS_PDU 16  /* ports per GET request */

/* How to reach one device (a devices row). Empty strings mean unset. */
typedef struct {
    uint64_t device_id;
    char host[BILLER_SAMPLE_STR_MAX];       /* overwrite_ip or hostname */
    int port;                               /* UDP/TCP port */
    char transport[16];                     /* udp, tcp, udp6, tcp6 */
    char snmpver[4];                        /* v1, v2c, v3 */
    char community[BILLER_SAMPLE_STR_MAX];  /* v1/v2c */
    char authlevel[16];                     /* noAuthNoPriv, authNoPriv, authPriv */
    char authname[BILLER_SAMPLE_STR_MAX];   /* v3 user */
    char authpass[BILLER_SAMPLE_STR_MAX];   /* v3 auth passphrase */
    char authalgo[16];                      /* MD5, SHA, SHA-224 .. SHA-512 */
    char cryptopass[BILLER_SAMPLE_STR_MAX]; /* v3 priv passphrase */
    char cryptoalgo[16];                    /* DES, AES, AES-192, AES-256 */
    int timeout_ms;                         /* per attempt */
    int retries;                            /* after the first attempt */
} biller_device_t;

/* One port to read and what was read. */
typedef struct {
    uint32_t if_index; /* in */
    bool ok;           /* out: both counters read */
    int bits;          /* out: 64 (HC) or 32 */
    uint64_t in;       /* out: in octets */
    uint64_t out;      /* out: out octets */
} biller_port_read_t;

/* Initialises net-snmp once per process (no MIB files, no persistent state). Call from main. */
void biller_sample_init(void);

/* Reads the n ports of dev. Sets *uptime_cs / *has_uptime from sysUpTime.0 and *at_ms to the
   wall time of the (first) answer. Returns 0 when the device answered (ports whose counters
   are missing stay ok = false), or -1 with err (DP_ERR_TIMEOUT, DP_ERR_UNREACHABLE, DP_ERR_AUTH,
   DP_ERR_CONFIG for bad v3 settings, DP_ERR_PROTO for an error status) and every port not ok. */
int biller_sample_read(const biller_device_t *dev, biller_port_read_t *ports, size_t n,
                       uint32_t *uptime_cs, bool *has_uptime, int64_t *at_ms, dp_err_t *err);

#endif
