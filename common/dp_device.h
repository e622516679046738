/*  dp_device.h - a `devices` row as the SNMP workers (poller, discoverer) read it
    The row's columns (DP_DEVICE_COLUMNS, selected first and in this order) become a
    dp_snmp_target_t whose strings point at copies the row owns. SNMPv3 keys are derived once
    when the row is read and the passphrases are not kept.
    SPDX-License-Identifier: MIT */
#ifndef DP_DEVICE_H
#define DP_DEVICE_H

#include "dp_db.h"
#include "dp_err.h"
#include "dp_snmp.h"

#include <stdbool.h>
#include <stdint.h>

#define DP_DEVICE_HOST_MAX 128

/* The columns dp_device_fetch reads, for "SELECT " DP_DEVICE_COLUMNS " FROM devices WHERE ...". */
#define DP_DEVICE_COLUMNS                                                                          \
    "device_id, hostname, overwrite_ip, port, snmpver, community, authlevel, authname,"            \
    " authpass, authalgo, cryptopass, cryptoalgo, timeout, retries, disabled"

typedef struct {
    uint64_t device_id;
    char hostname[DP_DEVICE_HOST_MAX + 1];
    char addr[DP_DEVICE_HOST_MAX + 1]; /* overwrite_ip, else hostname */
    bool disabled;
    dp_snmp_target_t target; /* strings point at the owned copies below */
    char *community, *sec_name, *auth_proto, *priv_proto;
} dp_device_t;

/* Reads the first row of a query run on DP_DEVICE_COLUMNS into *out (previous contents
   freed), derives the SNMPv3 keys and drops the passphrases, then reads the query to its end.
   Returns 1 with *out (key_err, not NULL, is set when the v3 keys could not be derived: the
   row is kept, its requests fail), or 0 when there is no row. */
int dp_device_fetch(dp_db_stmt_t *q, dp_device_t *out, dp_err_t *key_err);

/* Frees the strings of a row and zeroes it. NULL-safe. */
void dp_device_clear(dp_device_t *d);

#endif
