/*  dp_ifmib.h - IF-MIB and HOST-RESOURCES-MIB value names, as stored in MariaDB
    One table for the poller and the discoverer, so both write the same text for a value.
    Pure functions; thread-safe.
    SPDX-License-Identifier: MIT */
#ifndef DP_IFMIB_H
#define DP_IFMIB_H

#include <stddef.h>

/* ifType name ("ethernetCsmacd"); an unnamed type is written into buf as its number.
   Returns a static string or buf. */
const char *dp_ifmib_type_name(int type, char *buf, size_t size);

/* ifAdminStatus / ifOperStatus name ("up", "lowerLayerDown"); NULL when out of range. */
const char *dp_ifmib_status_name(int status);

/* hrStorageType name from the last sub-id of its OID ("hrStorageFixedDisk"); unknown types
   are "hrStorageOther". Static string. */
const char *dp_ifmib_storage_type_name(int type);

#endif
